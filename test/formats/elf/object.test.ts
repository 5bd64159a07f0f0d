// blob objects: kiln writes an ELF relocatable object for x86_64, aarch64 and i386 whose
// `_binary_<symbol>_*` symbols readelf, nm and kiln's reader agree on, that ld.lld links into a
// freestanding program, and that a host program linked with it prints the embedded bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  layoutBinaryObject,
  readElf,
  symbolForPath,
  writeBinaryObject,
  writeBinaryObjectFile,
  EM,
} from '../../../src/formats/elf/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { tempDir, tool } from '../../_helpers.js';
import { clean } from './_oracle.js';

const payload = new TextEncoder().encode('hello from a kiln blob\n');

const TARGETS = [
  {
    arch: 'x86_64',
    readelfMachine: 'Advanced Micro Devices X86-64',
    klass: 'ELF64',
    em: EM.X86_64,
    triple: 'x86_64-unknown-none-elf',
    emulation: 'elf_x86_64',
  },
  {
    arch: 'aarch64',
    readelfMachine: 'AArch64',
    klass: 'ELF64',
    em: EM.AARCH64,
    triple: 'aarch64-unknown-none-elf',
    emulation: 'aarch64elf',
  },
  {
    arch: 'i386',
    readelfMachine: 'Intel 80386',
    klass: 'ELF32',
    em: EM.I386,
    triple: 'i386-unknown-none-elf',
    emulation: 'elf_i386',
  },
] as const;

async function objectBytes(data: Uint8Array, arch: 'x86_64' | 'aarch64' | 'i386', symbol: string): Promise<Uint8Array> {
  const layout = layoutBinaryObject(data.length, { arch, symbol });
  const sink = new MemorySink(layout.size);
  await writeBinaryObject(sink, data, layout);
  return sink.bytes;
}

describe('binary objects (blob)', () => {
  for (const t of TARGETS) {
    it(`${t.arch}: readelf and nm see a clean relocatable object with the three symbols`, async () => {
      const dir = tempDir();
      const obj = join(dir, 'motd.o');
      await writeBinaryObjectFile(obj, payload, { arch: t.arch, symbol: 'etc_motd' });
      const header = clean(['readelf', '-h', obj]);
      expect(header).toMatch(new RegExp(`Class:\\s+${t.klass}`));
      expect(header).toMatch(/Type:\s+REL \(Relocatable file\)/);
      expect(header).toContain(t.readelfMachine);
      const nm = clean(['nm', obj]).trim().split('\n').sort();
      const width = t.klass === 'ELF64' ? 16 : 8;
      expect(nm).toEqual([
        `${'0'.repeat(width)} R _binary_etc_motd_start`,
        `${payload.length.toString(16).padStart(width, '0')} A _binary_etc_motd_size`,
        `${payload.length.toString(16).padStart(width, '0')} R _binary_etc_motd_end`,
      ]);
      const elf = readElf(new Uint8Array(readFileSync(obj)));
      expect(elf.header.machine).toBe(t.em);
      const rodata = elf.sections.find((s) => s.name === '.rodata')!;
      expect(Buffer.from(rodata.data!).toString()).toBe('hello from a kiln blob\n');
    });

    it(`${t.arch}: ld.lld links it into a freestanding program and the symbols span the data`, async () => {
      const dir = tempDir();
      await writeBinaryObjectFile(join(dir, 'motd.o'), payload, { arch: t.arch, symbol: 'etc_motd' });
      writeFileSync(
        join(dir, 'main.c'),
        `extern const char _binary_etc_motd_start[], _binary_etc_motd_end[], _binary_etc_motd_size[];
const char *volatile start = _binary_etc_motd_start; const char *volatile end = _binary_etc_motd_end;
unsigned long volatile size = (unsigned long)_binary_etc_motd_size;
void _start(void) { for (;;) {} }
`,
      );
      clean([
        'clang',
        `--target=${t.triple}`,
        '-ffreestanding',
        '-fno-pic',
        '-c',
        '-o',
        join(dir, 'main.o'),
        join(dir, 'main.c'),
      ]);
      clean([
        'ld.lld',
        '-m',
        t.emulation,
        '-static',
        '-e',
        '_start',
        '-Ttext=0x100000',
        '-o',
        join(dir, 'prog.elf'),
        join(dir, 'main.o'),
        join(dir, 'motd.o'),
      ]);
      const elf = readElf(new Uint8Array(readFileSync(join(dir, 'prog.elf'))));
      const sym = (name: string) => elf.symbols.find((s) => s.name === name)!;
      expect(Number(sym('_binary_etc_motd_end').value) - Number(sym('_binary_etc_motd_start').value)).toBe(
        payload.length,
      );
      expect(Number(sym('_binary_etc_motd_size').value)).toBe(payload.length);
      const bytes = readFileSync(join(dir, 'prog.elf'));
      expect(bytes.includes(Buffer.from(payload))).toBe(true);
    });
  }

  it('a host program linked with the object prints the embedded file', async () => {
    const dir = tempDir();
    const data = new Uint8Array(5000).map((_, i) => 0x41 + (i % 26));
    await writeBinaryObjectFile(join(dir, 'blob.o'), data, { arch: 'x86_64', symbol: 'letters' });
    writeFileSync(
      join(dir, 'main.c'),
      `#include <stdio.h>
extern const unsigned char _binary_letters_start[], _binary_letters_end[];
int main(void) { fwrite(_binary_letters_start, 1, _binary_letters_end - _binary_letters_start, stdout); return 0; }
`,
    );
    clean(['clang', '-no-pie', '-o', join(dir, 'prog'), join(dir, 'main.c'), join(dir, 'blob.o')]);
    const r = tool([join(dir, 'prog')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(Buffer.from(data).toString());
  });

  it('is the same bytes for the same data and symbol, whatever the path (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom('x86_64' as const, 'aarch64' as const, 'i386' as const),
        fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/),
        async (data, arch, symbol) => {
          const a = await objectBytes(data, arch, symbol);
          expect(Buffer.compare(a, await objectBytes(data, arch, symbol))).toBe(0);
          const elf = readElf(a);
          const start = elf.symbols.find((s) => s.name === `_binary_${symbol}_start`)!;
          const end = elf.symbols.find((s) => s.name === `_binary_${symbol}_end`)!;
          expect(Number(end.value) - Number(start.value)).toBe(data.length);
          const section = elf.sections[start.shndx]!;
          expect(Buffer.compare(Buffer.from(section.data!), Buffer.from(data))).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('derives the symbol from a path as ld -b binary does, and refuses names that are no C identifier', () => {
    expect(symbolForPath('initrd/root.tar')).toBe('initrd_root_tar');
    expect(() => layoutBinaryObject(1, { arch: 'x86_64', symbol: 'a-b' })).toThrow(TypeError);
  });
});
