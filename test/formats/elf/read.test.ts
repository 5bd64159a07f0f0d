// kiln's ELF reader against binutils readelf and llvm-readobj, on fixtures built here from source
// for x86_64, i386, aarch64, riscv64, ppc64 (big endian), mips (32-bit big endian) and nasm objects.
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../../src/errors.js';
import { findMultiboot, findSection, readElf, segmentOfSection, type ElfFile } from '../../../src/formats/elf/index.js';
import { FIXTURE_NAMES, fixture } from './_fixtures.js';
import {
  clean,
  llvmBlocks,
  num,
  readelfDynamic,
  readelfHeader,
  readelfNotes,
  readelfSections,
  readelfSegments,
  readelfSymbols,
} from './_oracle.js';

const GENERIC_FLAG_LETTERS = /[^WAXMSILOGTCER]/g;

function specialIndex(ndx: string): number | undefined {
  if (/^\d+$/.test(ndx)) return Number(ndx);
  return ({ UND: 0, ABS: 0xfff1, COM: 0xfff2 } as Record<string, number>)[ndx];
}

function compareWithTools(path: string, elf: ElfFile): void {
  // readelf -h
  const h = readelfHeader(clean(['readelf', '-h', '--wide', path]));
  expect(h['Magic']).toBe(Array.from(elf.bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' '));
  expect(h['Class']).toBe(elf.is64 ? 'ELF64' : 'ELF32');
  expect(h['Data']).toContain(elf.littleEndian ? 'little endian' : 'big endian');
  expect(h['Type']!.startsWith(elf.typeName)).toBe(true);
  expect(BigInt(h['Entry point address']!)).toBe(elf.entry);
  expect(num(h['Version']!)).toBe(BigInt(elf.header.version));
  expect(Number(h['ABI Version'])).toBe(elf.header.abiVersion);
  expect(Number.parseInt(h['Start of program headers']!, 10)).toBe(elf.header.phoff);
  expect(Number.parseInt(h['Start of section headers']!, 10)).toBe(elf.header.shoff);
  expect(BigInt(h['Flags']!.split(',')[0]!)).toBe(BigInt(elf.header.flags));
  expect(Number.parseInt(h['Size of this header']!, 10)).toBe(elf.header.ehsize);
  expect(Number.parseInt(h['Size of program headers']!, 10)).toBe(elf.header.phentsize);
  expect(Number.parseInt(h['Number of program headers']!, 10)).toBe(elf.header.phnum);
  expect(Number.parseInt(h['Size of section headers']!, 10)).toBe(elf.header.shentsize);
  expect(Number.parseInt(h['Number of section headers']!, 10)).toBe(elf.header.shnum);
  expect(Number.parseInt(h['Section header string table index']!, 10)).toBe(elf.header.shstrndx);

  // llvm-readobj --file-headers: machine, OS/ABI, numbers
  const fh = llvmBlocks(clean(['llvm-readobj', '--file-headers', path]), 'ElfHeader')[0]!;
  expect(num(fh['Machine']!)).toBe(BigInt(elf.machine));
  expect(num(fh['Type']!)).toBe(BigInt(elf.header.type));
  expect(num(fh['OS/ABI']!)).toBe(BigInt(elf.header.osabi));
  expect(num(fh['ABIVersion']!)).toBe(BigInt(elf.header.abiVersion));
  expect(num(fh['FileVersion']!)).toBe(BigInt(elf.header.identVersion));

  // Sections: readelf -S --wide and llvm-readobj --sections
  const rs = readelfSections(clean(['readelf', '-S', '--wide', path]));
  expect(rs.length).toBe(elf.sections.length);
  const ls = llvmBlocks(clean(['llvm-readobj', '--sections', path]), 'Section');
  expect(ls.length).toBe(elf.sections.length);
  for (const s of elf.sections) {
    const r = rs[s.index]!;
    expect({
      i: s.index,
      name: s.name,
      addr: s.addr,
      off: s.offset,
      size: s.size,
      es: s.entsize,
      lk: s.link,
      inf: s.info,
      al: s.addralign,
      flags: s.flagsText,
    }).toEqual({
      i: r.index,
      name: r.name,
      addr: r.addr,
      off: r.off,
      size: r.size,
      es: r.es,
      lk: r.lk,
      inf: r.inf,
      al: r.al,
      flags: r.flags.replace(GENERIC_FLAG_LETTERS, ''),
    });
    if (!s.typeName.startsWith('0x') && !/^LO(OS|PROC)\+/.test(r.type)) expect(s.typeName).toBe(r.type);
    const l = ls[s.index]!;
    expect(num(l['Type']!)).toBe(BigInt(s.type));
    expect(num(l['Flags']!)).toBe(BigInt(s.flags));
    expect(l['Name']!.replace(/ \(\d+\)$/, '')).toBe(s.name);
  }

  // Segments: readelf -l --wide and llvm-readobj --program-headers
  if (elf.segments.length > 0) {
    const rp = readelfSegments(clean(['readelf', '-l', '--wide', path]));
    expect(rp.length).toBe(elf.segments.length);
    const lp = llvmBlocks(clean(['llvm-readobj', '--program-headers', path]), 'ProgramHeader');
    for (const p of elf.segments) {
      const r = rp[p.index]!;
      expect({
        off: p.offset,
        vaddr: p.vaddr,
        paddr: p.paddr,
        filesz: p.filesz,
        memsz: p.memsz,
        flags: p.flagsText,
        align: p.align,
      }).toEqual({
        off: r.offset,
        vaddr: r.vaddr,
        paddr: r.paddr,
        filesz: r.filesz,
        memsz: r.memsz,
        flags: r.flags,
        align: r.align,
      });
      if (!p.typeName.startsWith('0x')) expect(p.typeName).toBe(r.type);
      expect(num(lp[p.index]!['Type']!)).toBe(BigInt(p.type));
      expect(num(lp[p.index]!['Flags']!)).toBe(BigInt(p.flags));
    }
    const loads = rp.filter((p) => p.type === 'LOAD');
    if (loads.length)
      expect(elf.loadAddress).toBe(loads.reduce((m, p) => (p.paddr < m ? p.paddr : m), loads[0]!.paddr));
  } else {
    expect(clean(['readelf', '-l', '--wide', path])).toContain('no program headers');
  }

  // Symbols: readelf -s --wide
  const syms = readelfSymbols(clean(['readelf', '-s', '--wide', path]));
  const symtab = findSection(elf, '.symtab');
  const dynsym = findSection(elf, '.dynsym');
  const check = (table: string, mine: ElfFile['symbols']) => {
    const theirs = syms.filter((s) => s.table === table);
    expect(mine.length).toBe(theirs.length);
    for (const t of theirs) {
      const m = mine[t.index]!;
      expect({ value: m.value, size: m.size, type: m.typeName, bind: m.bindName, vis: m.visibilityName }).toEqual({
        value: t.value,
        size: t.size,
        type: t.type,
        bind: t.bind,
        vis: t.vis,
      });
      // readelf shows a section symbol's section name.
      expect(m.type === 3 && m.name === '' ? m.sectionName : m.name).toBe(t.name);
      if (table === '.dynsym') {
        // (readelf prints a version's own definition symbol, e.g. KILN_1.0 in ABS, without a suffix.)
        const printed =
          m.version === undefined || m.version === m.name
            ? m.name
            : `${m.name}${m.versionHidden || m.shndx === 0 ? '@' : '@@'}${m.version}`;
        expect(printed).toBe(t.printed);
      }
      const ndx = specialIndex(t.ndx);
      if (ndx !== undefined) expect(m.shndx).toBe(ndx);
    }
  };
  if (symtab) check('.symtab', elf.symbols);
  else expect(elf.symbols).toEqual([]);
  if (dynsym) check('.dynsym', elf.dynamicSymbols);

  // Notes: readelf -n --wide
  const notes = readelfNotes(clean(['readelf', '-n', '--wide', path]));
  expect(elf.notes.map((n) => ({ owner: n.owner, size: n.desc.length }))).toEqual(
    notes.map((n) => ({ owner: n.owner, size: n.size })),
  );
  for (const [i, n] of notes.entries()) {
    const data = /description data: ((?:[0-9a-f]{2} ?)+)/.exec(n.description);
    if (data)
      expect(Array.from(elf.notes[i]!.desc, (b) => b.toString(16).padStart(2, '0')).join(' ')).toBe(data[1]!.trim());
  }
  const id = notes.find((n) => n.buildId)?.buildId;
  expect(elf.buildId).toBe(id);

  // Dynamic section: readelf -d --wide
  const dyn = readelfDynamic(clean(['readelf', '-d', '--wide', path]));
  expect(elf.dynamic.map((d) => BigInt(d.tag))).toEqual(dyn.map((d) => d.tag));
  for (const [i, d] of dyn.entries()) {
    if (!elf.dynamic[i]!.tagName.startsWith('0x')) expect(elf.dynamic[i]!.tagName).toBe(d.name);
    const text = elf.dynamic[i]!.text;
    if (text !== undefined) expect(d.value).toContain(`[${text}]`);
  }
}

describe('readElf agrees with readelf and llvm-readobj', () => {
  for (const name of FIXTURE_NAMES) {
    it(name, () => {
      const f = fixture(name);
      const elf = readElf(f.bytes);
      compareWithTools(f.path, elf);
    });
  }
});

describe('readElf facts', () => {
  it('classes, byte orders and machines', () => {
    const expectations: Array<[string, number, boolean, string]> = [
      ['x86_64-static', 64, true, 'x86_64'],
      ['i386-obj', 32, true, 'i386'],
      ['aarch64-exe', 64, true, 'aarch64'],
      ['riscv64-exe', 64, true, 'riscv64'],
      ['ppc64-exe', 64, false, 'ppc64'],
      ['mips-exe', 32, false, 'mips'],
      ['nasm-elf32', 32, true, 'i386'],
    ];
    for (const [name, cls, le, machine] of expectations) {
      const elf = readElf(fixture(name).bytes);
      expect([name, elf.header.class, elf.littleEndian, elf.machineName]).toEqual([name, cls, le, machine]);
    }
  });

  it('load address, entry segment and entry section of a static executable', () => {
    const elf = readElf(fixture('x86_64-static').bytes);
    expect(elf.loadAddress).toBe(0x400000n);
    const seg = elf.segments[elf.entrySegment!]!;
    expect(seg.typeName).toBe('LOAD');
    expect(seg.flagsText).toBe('R E');
    expect(elf.entrySection).toBe('.text');
    const text = findSection(elf, '.text')!;
    expect(segmentOfSection(elf, text)?.index).toBe(elf.entrySegment);
    expect(elf.symbols.find((s) => s.name === 'add')?.typeName).toBe('FUNC');
    expect(elf.symbols.find((s) => s.name === '_start')?.value).toBe(elf.entry);
  });

  it('PIE: interpreter, dynamic section, GNU properties', () => {
    const elf = readElf(fixture('x86_64-pie').bytes);
    expect(elf.typeName).toBe('DYN');
    expect(elf.interpreter).toMatch(/ld-linux-x86-64\.so\.2$/);
    expect(elf.dynamic.find((d) => d.tagName === 'NEEDED')?.text).toBe('libc.so.6');
    expect(elf.dynamicSymbols.find((s) => s.name === 'printf')?.version).toMatch(/^GLIBC_2\./);
    expect(elf.dynamic.at(-1)?.tagName).toBe('NULL');
    expect(elf.notes.find((n) => n.typeName === 'NT_GNU_ABI_TAG')?.abiTag?.os).toBe('Linux');
    const props = elf.notes.find((n) => n.typeName === 'NT_GNU_PROPERTY_TYPE_0')?.properties ?? [];
    const readelfText = clean(['readelf', '-n', '--wide', fixture('x86_64-pie').path]);
    for (const p of props) {
      if (p.description.startsWith('0x')) continue;
      expect(readelfText).toContain(p.description);
    }
  });

  it('symbol versions of a shared library: default and hidden versions', () => {
    const elf = readElf(fixture('x86_64-so').bytes);
    const adds = elf.dynamicSymbols.filter((s) => s.name === 'add').map((s) => [s.version, s.versionHidden]);
    expect(adds).toEqual(
      expect.arrayContaining([
        ['KILN_1.0', true],
        ['KILN_2.0', false],
      ]),
    );
    expect(elf.dynamicSymbols.find((s) => s.name === 'helper')?.version).toBe('KILN_1.0');
  });

  it('a higher-half kernel: entry translated to its physical address through the segment', () => {
    const elf = readElf(fixture('higher-half').bytes);
    const vma = 0xffffffff80000000n;
    expect(elf.entry).toBe(elf.symbols.find((s) => s.name === '_start')!.value);
    expect(elf.entry >= vma + 0x100000n).toBe(true);
    expect(elf.loadAddress).toBe(0x100000n);
    expect(elf.loadVirtualAddress).toBe(vma + 0x100000n);
    expect(elf.entryPhysical).toBe(elf.entry - vma);
  });

  it('PVH note and multiboot2 header of the nasm kernel', () => {
    const f = fixture('pvh-kernel');
    const elf = readElf(f.bytes);
    const start = elf.symbols.find((s) => s.name === '_start')!;
    expect(elf.pvhEntry).toBe(start.value);
    expect(elf.entry).toBe(start.value);
    expect(elf.notes.find((n) => n.owner === 'Xen')?.typeName).toBe('XEN_ELFNOTE_PHYS32_ENTRY');
    const mb = findMultiboot(f.bytes);
    const multiboot = findSection(elf, '.multiboot')!;
    expect(mb).toEqual([
      expect.objectContaining({ version: 2, offset: multiboot.offset, architecture: 0, headerLength: 24 }),
    ]);
    expect(mb[0]!.version === 2 && mb[0]!.tags.map((t) => t.name)).toEqual(['end']);
    expect(elf.loadAddress).toBe(0x100000n);
  });

  it('finds a multiboot v1 header with the a.out kludge and skips a bad checksum', () => {
    const bytes = new Uint8Array(8192 + 64);
    const view = new DataView(bytes.buffer);
    view.setUint32(100, 0x1badb002, true); // wrong checksum: skipped
    view.setUint32(104, 0, true);
    view.setUint32(108, 1, true);
    const flags = 0x10003;
    view.setUint32(512, 0x1badb002, true);
    view.setUint32(516, flags, true);
    view.setUint32(520, -(0x1badb002 + flags) >>> 0, true);
    view.setUint32(524, 0x100000, true);
    view.setUint32(540, 0x100040, true);
    const found = findMultiboot(bytes);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      version: 1,
      offset: 512,
      flags,
      aout: { headerAddr: 0x100000, entryAddr: 0x100040 },
    });
    // Beyond 8 KiB a v1 header does not count.
    const late = new Uint8Array(16384);
    late.set(bytes.subarray(512, 560), 8192);
    expect(findMultiboot(late)).toEqual([]);
  });

  it('rejects non-ELF input with a FormatError carrying a code and an offset', () => {
    const cases: Array<[Uint8Array, string]> = [
      [new Uint8Array(4), 'ELF_TRUNCATED'],
      [new Uint8Array(64).fill(0x41), 'ELF_BAD_MAGIC'],
      [Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 3, 1, 1, ...new Array(60).fill(0)]), 'ELF_BAD_CLASS'],
      [Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 9, 1, ...new Array(60).fill(0)]), 'ELF_BAD_DATA'],
    ];
    for (const [bytes, code] of cases) {
      try {
        readElf(bytes);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(FormatError);
        expect((error as FormatError).code).toBe(code);
        expect((error as FormatError).offset).toBeTypeOf('number');
        expect((error as FormatError).hint ?? (error as FormatError).message).toBeTruthy();
      }
    }
  });

  it('a truncated file fails with the offset of the header that points past the end', () => {
    const f = fixture('x86_64-pie');
    const elf = readElf(f.bytes);
    const cut = f.bytes.subarray(0, elf.header.shoff + 10);
    expect(() => readElf(cut)).toThrow(FormatError);
    try {
      readElf(cut);
    } catch (error) {
      expect((error as FormatError).code).toBe('ELF_TRUNCATED');
    }
  });
});
