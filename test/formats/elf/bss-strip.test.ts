// Regression: a writable segment holding only .bss keeps an offset past the end of a stripped
// file; kiln's reader must accept what kiln's strip writes (readelf does).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readElf, strip } from '../../../src/formats/elf/index.js';
import { tempDir, tool } from '../../_helpers.js';

describe('strip of a .bss-only segment', () => {
  it('reads back with kiln and readelf', () => {
    const dir = tempDir('kiln-elf-bss-');
    writeFileSync(
      join(dir, 'k.asm'),
      'bits 64\nglobal _start\nsection .text\n_start: mov rax, [buf]\n jmp _start\nsection .bss\nbuf: resb 8192\n',
    );
    expect(tool(['nasm', '-f', 'elf64', '-g', '-F', 'dwarf', join(dir, 'k.asm'), '-o', join(dir, 'k.o')]).status).toBe(
      0,
    );
    // .bss in its own page-aligned segment: its file offset (8192) ends up past the stripped file's end.
    writeFileSync(
      join(dir, 'k.ld'),
      'ENTRY(_start)\nPHDRS { text PT_LOAD; bss PT_LOAD; }\nSECTIONS { . = 0x100000; .text : { *(.text*) } :text . = ALIGN(0x2000); .bss : { *(.bss*) } :bss }\n',
    );
    expect(
      tool(['ld.lld', '-static', '-T', join(dir, 'k.ld'), '-o', join(dir, 'k.elf'), join(dir, 'k.o')]).status,
    ).toBe(0);
    const { stripped } = strip(new Uint8Array(readFileSync(join(dir, 'k.elf'))), { mode: 'all' });
    const elf = readElf(stripped);
    const bss = elf.segments.find((s) => s.filesz === 0 && s.memsz >= 8192)!;
    expect(bss.offset).toBeGreaterThan(stripped.length);
    writeFileSync(join(dir, 'k.stripped'), stripped);
    const r = tool(['readelf', '-l', '-W', join(dir, 'k.stripped')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
