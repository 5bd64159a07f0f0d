// ELF writer operations on real toolchain output: results accepted by readelf -a and llvm-objdump -d
// without a word on stderr, loadable bytes unchanged, executables still run, stripped objects still link.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../../src/errors.js';
import { crc32 } from '../../../src/formats/io/crc32.js';
import {
  addSection,
  findSection,
  objcopyBinary,
  readBuildId,
  readDebugLink,
  readElf,
  removeSection,
  replaceSection,
  setBuildId,
  setSection,
  strip,
  type ElfFile,
} from '../../../src/formats/elf/index.js';
import { tool } from '../../_helpers.js';
import { FIXTURE_NAMES, fixture, scratch } from './_fixtures.js';
import { clean } from './_oracle.js';

/** readelf -a and llvm-objdump -d accept the file: exit 0, nothing on stderr. */
function accepted(path: string): string {
  const text = clean(['readelf', '-a', '--wide', path]);
  clean(['llvm-objdump', '-d', path]);
  return text;
}

/** The ELF header's loader fields, the program header table and every segment's bytes are identical. */
function expectLoadableUnchanged(before: ElfFile, afterBytes: Uint8Array): void {
  const after = readElf(afterBytes);
  // The ELF header may itself lie in the first PT_LOAD: compare with the section-table fields
  // (e_shoff, e_shentsize, e_shnum, e_shstrndx), which the loader never reads, taken from the input.
  const b = before.bytes.slice();
  const w = before.is64 ? 8 : 4;
  b.set(afterBytes.subarray(24 + 2 * w, 24 + 3 * w), 24 + 2 * w);
  b.set(afterBytes.subarray(24 + 3 * w + 10, 24 + 3 * w + 16), 24 + 3 * w + 10);
  expect(afterBytes.subarray(0, 24 + 2 * w)).toEqual(b.subarray(0, 24 + 2 * w)); // ident .. e_phoff
  const tail = 24 + 3 * w;
  expect(afterBytes.subarray(tail, tail + 10)).toEqual(b.subarray(tail, tail + 10)); // e_flags .. e_phnum
  const h = before.header;
  expect(afterBytes.subarray(h.phoff, h.phoff + h.phnum * h.phentsize)).toEqual(
    b.subarray(h.phoff, h.phoff + h.phnum * h.phentsize),
  );
  for (const p of before.segments)
    expect(afterBytes.subarray(p.offset, p.offset + p.filesz)).toEqual(b.subarray(p.offset, p.offset + p.filesz));
  expect(after.segments.map((p) => [p.type, p.offset, p.vaddr, p.filesz])).toEqual(
    before.segments.map((p) => [p.type, p.offset, p.vaddr, p.filesz]),
  );
  // Every allocated section keeps its address, offset and contents.
  for (const s of before.sections.filter((x) => x.flags & 2)) {
    const t = findSection(after, s.name)!;
    if (before.header.type !== 1) expect([t.addr, t.offset, t.size]).toEqual([s.addr, s.offset, s.size]);
    else expect([t.addr, t.size]).toEqual([s.addr, s.size]);
    expect(t.data).toEqual(s.data);
  }
}

function expectRuns(name: string, path: string): void {
  const f = fixture(name);
  if (!f.runs) return;
  const r = tool([path]);
  expect({ stdout: r.stdout, code: r.status }).toEqual(f.runs);
}

/**
 * readelf --debug-dump=info prints the same DIEs for the debug file as for the original. (readelf
 * itself warns about some relocation types of RISC-V and MIPS objects: the same warnings are then
 * expected for both files.)
 */
function expectSameDwarf(original: string, debugFile: string): void {
  const run = (p: string) => spawnSync('readelf', ['--debug-dump=info', p], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const a = run(original);
  const b = run(debugFile);
  expect(b.status).toBe(0);
  expect(b.stderr.replaceAll(debugFile, 'F')).toBe(a.stderr.replaceAll(original, 'F'));
  const dies = (t: string) =>
    t
      .split('\n')
      .filter((l) => /^\s*<\d+><[0-9a-f]+>|DW_AT_name/.test(l))
      .join('\n');
  expect(dies(b.stdout)).toBe(dies(a.stdout));
  expect(b.stdout).toContain('DW_TAG_compile_unit');
}

const manifest = new TextEncoder().encode('{"project":"kiln","version":"1.0.0"}');

describe('addSection / replaceSection / removeSection on every fixture', () => {
  for (const name of FIXTURE_NAMES) {
    it(name, () => {
      const f = fixture(name);
      const before = readElf(f.bytes);
      accepted(f.path); // the baseline is clean too

      const added = addSection(f.bytes, '.kiln.manifest', manifest, { align: 8 });
      const p1 = scratch(`${name}.added`, added);
      expect(accepted(p1)).toContain('.kiln.manifest');
      expectLoadableUnchanged(before, added);
      const a = readElf(added);
      expect(findSection(a, '.kiln.manifest')!.data).toEqual(manifest);
      expect(findSection(a, '.kiln.manifest')!.offset % 8).toBe(0);
      // Every section but the name table keeps its bytes (clang objects share .strtab for names: it only grows).
      for (const s of before.sections)
        if (s.index !== before.header.shstrndx && s.index !== 0) expect(findSection(a, s.name)!.data).toEqual(s.data);
      const names = before.sections[before.header.shstrndx]!;
      if (names.name === '.strtab') expect(findSection(a, '.strtab')!.data.subarray(0, names.size)).toEqual(names.data);
      expect(a.symbols.map((s) => [s.name, s.value, s.sectionName])).toEqual(
        before.symbols.map((s) => [s.name, s.value, s.sectionName]),
      );
      expectRuns(name, p1);

      // Same size: patched in place, every other byte identical.
      const sig = new Uint8Array(manifest.length).fill(0xab);
      const replaced = replaceSection(added, '.kiln.manifest', sig);
      const m = findSection(a, '.kiln.manifest')!;
      expect(replaced.length).toBe(added.length);
      expect(replaced.subarray(0, m.offset)).toEqual(added.subarray(0, m.offset));
      expect(replaced.subarray(m.offset + m.size)).toEqual(added.subarray(m.offset + m.size));
      expect(replaced.subarray(m.offset, m.offset + m.size)).toEqual(sig);

      // Other size: moved after the segments.
      const bigger = new Uint8Array(3000).map((_, i) => i & 0xff);
      const grown = replaceSection(added, '.kiln.manifest', bigger);
      const p2 = scratch(`${name}.grown`, grown);
      accepted(p2);
      expectLoadableUnchanged(before, grown);
      expect(findSection(readElf(grown), '.kiln.manifest')!.data).toEqual(bigger);
      expectRuns(name, p2);

      // Removing it gives back the original section list.
      const removed = removeSection(grown, '.kiln.manifest');
      const p3 = scratch(`${name}.removed`, removed);
      accepted(p3);
      const r = readElf(removed);
      const shape = (e: ElfFile) =>
        e.sections.map((s) => [s.name, s.type, s.index === e.header.shstrndx ? 'names' : s.size]);
      expect(shape(r)).toEqual(shape(before));
      expectRuns(name, p3);
    });
  }

  it('refuses to resize a loaded section, to add an allocated one, or to add a duplicate', () => {
    const f = fixture('x86_64-static');
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(FormatError);
        return (error as FormatError).code;
      }
      return 'no error';
    };
    expect(codeOf(() => replaceSection(f.bytes, '.text', new Uint8Array(4)))).toBe('ELF_SECTION_IN_SEGMENT');
    expect(codeOf(() => addSection(f.bytes, '.x', new Uint8Array(4), { flags: 2 }))).toBe('ELF_ALLOC_SECTION');
    expect(codeOf(() => addSection(f.bytes, '.comment', new Uint8Array(4)))).toBe('ELF_SECTION_EXISTS');
    expect(codeOf(() => removeSection(f.bytes, '.text'))).toBe('ELF_SECTION_IN_SEGMENT');
    expect(codeOf(() => removeSection(f.bytes, '.strtab'))).toBe('ELF_SECTION_REFERENCED');
    expect(codeOf(() => replaceSection(f.bytes, '.nope', new Uint8Array(4)))).toBe('ELF_NO_SUCH_SECTION');
  });

  it('replaces a loaded section of the same size in place and the program sees the new bytes', () => {
    const f = fixture('x86_64-static');
    const elf = readElf(f.bytes);
    const ro = findSection(elf, '.rodata')!;
    const at = ro.data.indexOf(0x6b); // 'k' of "kiln says hi"
    const needle = new TextEncoder().encode('kiln says hi');
    const index = Buffer.from(ro.data).indexOf(Buffer.from(needle));
    expect(index).toBeGreaterThanOrEqual(0);
    expect(at).toBeGreaterThanOrEqual(0);
    const data = ro.data.slice();
    // (The compiler folds the first letter into an immediate, so it stays as it is.)
    data.set(new TextEncoder().encode('kILN SAYS HI'), index);
    const out = replaceSection(f.bytes, '.rodata', data);
    let diff = 0;
    for (let i = 0; i < out.length; i++) if (out[i] !== f.bytes[i]) diff++;
    expect(diff).toBe(9); // ILN, SAYS, HI changed case

    const path = scratch('static.rodata', out);
    expect(tool([path]).stdout).toBe('kILN SAYS HI 7\n');
  });

  it('a file with no section headers gains a section table', () => {
    const f = fixture('pvh-kernel');
    const elf = readElf(f.bytes);
    // Drop the section header table the way `llvm-objcopy --strip-sections` does.
    const path = scratch('pvh.nosht', f.bytes);
    const r = tool(['llvm-objcopy', '--strip-sections', path, `${path}.out`]);
    expect(r.status).toBe(0);
    const bare = new Uint8Array(readFileSync(`${path}.out`));
    expect(readElf(bare).sections).toEqual([]);
    const out = addSection(bare, '.kiln.sig', new Uint8Array(64).fill(1));
    accepted(scratch('pvh.nosht.added', out));
    const o = readElf(out);
    expect(o.sections.map((s) => s.name)).toEqual(['', '.kiln.sig', '.shstrtab']);
    expect(o.pvhEntry).toBe(elf.pvhEntry);
  });
});

describe('relocatable objects and extended numbering', () => {
  it('removing a section from an object drops its symbols; a section whose symbols relocations use is refused', () => {
    const f = fixture('nasm-elf64');
    const before = readElf(f.bytes);
    expect(before.symbols.some((s) => s.name === 'buffer')).toBe(true);
    const out = removeSection(f.bytes, '.bss');
    const path = scratch('nasm.nobss.o', out);
    accepted(path);
    const dump = clean(['llvm-objdump', '-d', '-r', path]);
    expect(dump).toMatch(/R_X86_64_32S?\s+value|R_X86_64_32S?\s+\.data/);
    const after = readElf(out);
    expect(after.symbols.some((s) => s.name === 'buffer')).toBe(false);
    expect(after.symbols.find((s) => s.name === 'value')?.sectionName).toBe('.data');
    expect(() => removeSection(f.bytes, '.data')).toThrow(/relocation|applies|symbol/);
  });

  it('65,300 sections: extended numbering (e_shnum = 0, SHN_XINDEX) read and written', () => {
    const dir = join(fixture('nasm-elf64').path, '..');
    const asm = Array.from({ length: 65300 }, (_, i) => `.section .s${i},"a",@progbits\n.byte ${i & 255}\n`).join('');
    const src = join(dir, 'many.s');
    writeFileSync(src, asm);
    const obj = join(dir, 'many.o');
    expect(tool(['clang', '-c', src, '-o', obj]).status).toBe(0);
    const bytes = new Uint8Array(readFileSync(obj));
    const elf = readElf(bytes);
    expect(elf.header.raw.shnum).toBe(0);
    expect(elf.sections.length).toBe(65304);
    expect(clean(['readelf', '-h', obj])).toContain(`Number of section headers:         0 (${elf.sections.length})`);
    expect(findSection(elf, '.s65299')!.data).toEqual(Uint8Array.of(65299 & 255));
    const out = addSection(elf, '.kiln.x', Uint8Array.of(1, 2, 3));
    const path = scratch('many.added.o', out);
    const header = clean(['readelf', '-h', path]);
    expect(header).toContain(`Number of section headers:         0 (${elf.sections.length + 1})`);
    clean(['readelf', '-S', '-s', '--wide', path]);
    expect(findSection(readElf(out), '.kiln.x')!.data).toEqual(Uint8Array.of(1, 2, 3));
  });
});

describe('strip', () => {
  it('x86_64 static: mode all, debug file found by gdb through .gnu_debuglink, the program still runs', () => {
    const f = fixture('x86_64-static');
    const before = readElf(f.bytes);
    const { stripped, debug, removed } = strip(f.bytes, { mode: 'all', debugLink: 'app.debug' });
    expect(removed).toEqual(expect.arrayContaining(['.debug_info', '.debug_line', '.symtab', '.strtab']));
    const path = scratch('app', stripped);
    const debugPath = scratch('app.debug', debug);
    accepted(path);
    expectLoadableUnchanged(before, stripped);
    expectRuns('x86_64-static', path);
    const s = readElf(stripped);
    expect(s.sections.some((x) => x.name.startsWith('.debug') || x.name === '.symtab')).toBe(false);
    expect(readDebugLink(s)).toEqual({ name: 'app.debug', crc: crc32(debug) });
    expect(stripped.length).toBeLessThan(f.bytes.length);
    // Every removed section is in the debug file with the same bytes, at the same index.
    const dfile = readElf(debug);
    for (const name of removed) {
      const orig = findSection(before, name)!;
      const kept = dfile.sections[orig.index]!;
      expect([kept.name, kept.type]).toEqual([orig.name, orig.type]);
      expect(kept.data).toEqual(orig.data);
    }
    // The debug file: DWARF readable, symbols there, no loadable contents.
    const info = clean(['readelf', '--debug-dump=info', debugPath]);
    expect(info).toContain('DW_TAG_compile_unit');
    expect(info).toContain('DW_AT_name');
    const d = readElf(debug);
    expect(d.symbols.find((x) => x.name === 'main')?.value).toBe(before.symbols.find((x) => x.name === 'main')?.value);
    expect(findSection(d, '.text')?.typeName).toBe('NOBITS');
    expect(d.buildId).toBe(before.buildId);
    // gdb loads the separate debug file through the link (same folder) and knows the source lines.
    const gdb = tool(['gdb', '-batch', '-nx', '-ex', 'info line add', '-ex', 'ptype add', path]);
    expect(gdb.stdout).toMatch(/Line \d+ of "a\.c"/);
    expect(gdb.stdout).toContain('type = int (int, int)');
    expect(gdb.stdout + gdb.stderr).not.toMatch(/CRC mismatch/);
  });

  it('mode debug keeps the symbol table; a stripped object still links and runs', () => {
    const f = fixture('x86_64-obj');
    const { stripped, debug } = strip(f.bytes, { mode: 'debug', debugLink: false });
    const path = scratch('a-stripped.o', stripped);
    accepted(path);
    clean(['llvm-objdump', '-d', '-r', path]);
    const s = readElf(stripped);
    expect(s.sections.some((x) => x.name.startsWith('.debug') || x.name.startsWith('.rela.debug'))).toBe(false);
    expect(s.symbols.map((x) => x.name)).toEqual(expect.arrayContaining(['main', 'add', 'counter', 'message']));
    expect(s.symbols.every((x) => x.typeName !== 'SECTION' || !x.sectionName?.startsWith('.debug'))).toBe(true);
    expect(clean(['readelf', '--debug-dump=info', scratch('a.o.debug', debug)])).toContain('DW_TAG_compile_unit');
    const exe = join(path, '..', 'relinked');
    const link = tool(['gcc', path, '-o', exe]);
    expect(link.stderr).toBe('');
    expect(tool([exe]).stdout).toBe(fixture('x86_64-static').runs!.stdout);
    // strip --strip-all of a relocatable object would break its relocations: refused.
    expect(() => strip(f.bytes, { mode: 'all' })).toThrow(/symbol table/);
  });

  // The symbol table of a debug-stripped object is renumbered (section symbols of .debug_* go), so
  // every relocation is rewritten: linking the stripped object must give the very same program.
  for (const name of [
    'x86_64-clang-obj',
    'i386-obj',
    'aarch64-obj',
    'riscv64-obj',
    'ppc64-obj',
    'mips-obj',
    'nasm-elf32',
    'nasm-elf64',
  ]) {
    it(`${name}: a debug-stripped object links to the same program as the original`, () => {
      const f = fixture(name);
      const { stripped } = strip(f.bytes, { mode: 'debug', debugLink: false });
      const before = readElf(f.bytes);
      const after = readElf(stripped);
      expect(after.symbols.length).toBeLessThan(before.symbols.length);
      const path = scratch(`${name}.stripped.o`, stripped);
      accepted(path);
      const entry = name.startsWith('nasm') ? 'entry' : '_start';
      const link = (obj: string, out: string) => {
        const r = tool(['ld.lld', '-static', '-e', entry, '--build-id=none', obj, '-o', out]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        return readElf(new Uint8Array(readFileSync(out)));
      };
      const a = link(f.path, `${path}.orig.elf`);
      const b = link(path, `${path}.elf`);
      expect(b.entry).toBe(a.entry);
      expect(Buffer.from(objcopyBinary(b).bytes).equals(Buffer.from(objcopyBinary(a).bytes))).toBe(true);
    });
  }

  for (const name of [
    'x86_64-pie',
    'i386-exe',
    'aarch64-exe',
    'riscv64-exe',
    'ppc64-exe',
    'mips-exe',
    'pvh-kernel',
    'aarch64-obj',
    'riscv64-obj',
    'mips-obj',
    'nasm-elf32',
  ]) {
    it(`${name}: both modes accepted by readelf and llvm-objdump`, () => {
      const f = fixture(name);
      const before = readElf(f.bytes);
      for (const mode of ['all', 'debug'] as const) {
        if (mode === 'all' && before.header.type === 1) continue;
        const { stripped, debug } = strip(f.bytes, { mode, debugLink: `${name}.debug` });
        const path = scratch(`${name}.strip-${mode}`, stripped);
        accepted(path);
        expectLoadableUnchanged(before, stripped);
        expectRuns(name, path);
        const dpath = scratch(`${name}.debug`, debug);
        clean(['readelf', '-a', '--wide', dpath]);
        if (before.sections.some((s) => s.name === '.debug_info')) expectSameDwarf(f.path, dpath);
        expect(readDebugLink(stripped)?.crc).toBe(crc32(debug));
      }
    });
  }
});

describe('build id', () => {
  it('replaces an existing id in place and readelf shows it', () => {
    const f = fixture('x86_64-static');
    const id = '00112233445566778899aabbccddeeff00112233';
    const out = setBuildId(f.bytes, id);
    expect(out.length).toBe(f.bytes.length);
    let diff = 0;
    for (let i = 0; i < out.length; i++) if (out[i] !== f.bytes[i]) diff++;
    expect(diff).toBeLessThanOrEqual(20);
    const path = scratch('static.buildid', out);
    expect(accepted(path)).toContain(`Build ID: ${id}`);
    expect(readBuildId(out)).toBe(id);
    expectRuns('x86_64-static', path);
    // sha1 mode is deterministic and differs from the linker's (computed over different bytes).
    expect(setBuildId(f.bytes, 'sha1')).toEqual(setBuildId(f.bytes, 'sha1'));
    expect(() => setBuildId(f.bytes, 'aabb')).toThrow(FormatError);
  });

  it('adds a build id note to a file without one', () => {
    for (const name of ['nasm-elf64', 'mips-obj', 'ppc64-obj']) {
      const f = fixture(name);
      expect(readBuildId(f.bytes)).toBeUndefined();
      const out = setBuildId(f.bytes, 'sha1');
      const id = readBuildId(out)!;
      expect(id).toMatch(/^[0-9a-f]{40}$/);
      expect(accepted(scratch(`${name}.buildid`, out))).toContain(`Build ID: ${id}`);
    }
  });
});

describe('round-trip properties', () => {
  const sectionName = fc
    .stringMatching(/^\.[a-z][a-z0-9_.]{0,20}$/)
    .filter(
      (n) =>
        !['.text', '.data', '.bss', '.rodata', '.comment', '.symtab', '.strtab', '.shstrtab'].includes(n) &&
        !n.startsWith('.debug') &&
        !n.startsWith('.note') &&
        !n.startsWith('.rela') &&
        !n.startsWith('.eh'),
    );
  const data = fc.uint8Array({ minLength: 0, maxLength: 600 });
  const align = fc.constantFrom(1, 2, 4, 8, 16, 4096);

  it('added sections read back with their bytes, alignment and type; the rest is unchanged', () => {
    const bases = ['x86_64-static', 'ppc64-exe', 'mips-obj', 'nasm-elf32'].map((n) => fixture(n).bytes);
    fc.assert(
      fc.property(
        fc.constantFrom(...bases),
        fc.uniqueArray(fc.tuple(sectionName, data, align), { minLength: 1, maxLength: 4, selector: (t) => t[0] }),
        (base, adds) => {
          const before = readElf(base);
          let bytes = base;
          for (const [n, d, a] of adds) bytes = addSection(bytes, n, d, { align: a });
          const after = readElf(bytes);
          for (const [n, d, a] of adds) {
            const s = findSection(after, n)!;
            expect(s.data).toEqual(d);
            expect(s.addralign).toBe(a);
            expect(s.offset % a).toBe(0);
          }
          for (const s of before.sections)
            if (s.index !== before.header.shstrndx) expect(findSection(after, s.name)!.data).toEqual(s.data);
          // Removing them again restores the section list.
          for (const [n] of adds) bytes = removeSection(bytes, n);
          const shape = (e: ElfFile) =>
            e.sections.map((s) => [s.name, s.index === e.header.shstrndx ? 'names' : s.size, s.type, s.flags]);
          expect(shape(readElf(bytes))).toEqual(shape(before));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('setSection then replace with same size changes only that section', () => {
    const base = fixture('aarch64-exe').bytes;
    fc.assert(
      fc.property(
        data.filter((d) => d.length > 0),
        fc.nat(),
        (d, seed) => {
          const one = setSection(base, '.nonos.sig', d);
          const other = d.map((x, i) => (x + seed + i) & 0xff);
          const two = setSection(one, '.nonos.sig', other);
          const s = findSection(readElf(one), '.nonos.sig')!;
          expect(two.subarray(0, s.offset)).toEqual(one.subarray(0, s.offset));
          expect(two.subarray(s.offset + s.size)).toEqual(one.subarray(s.offset + s.size));
          expect(findSection(readElf(two), '.nonos.sig')!.data).toEqual(other);
        },
      ),
      { numRuns: 100 },
    );
  });
});
