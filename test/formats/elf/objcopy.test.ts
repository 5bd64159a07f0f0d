// objcopyBinary against `objcopy -O binary` (GNU for x86 targets, llvm-objcopy for every target), byte for byte.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addSection, findSection, objcopyBinary, readElf, strip } from '../../../src/formats/elf/index.js';
import { tool } from '../../_helpers.js';
import { LINKED_FIXTURES, fixture, scratch } from './_fixtures.js';

function reference(objcopy: string, path: string): Uint8Array {
  const out = `${path}.${objcopy}.bin`;
  const r = tool([objcopy, '-O', 'binary', path, out]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return new Uint8Array(readFileSync(out));
}

describe('objcopyBinary equals objcopy -O binary', () => {
  for (const name of LINKED_FIXTURES) {
    it(name, () => {
      const f = fixture(name);
      const raw = objcopyBinary(f.bytes);
      const tools = f.objcopy === 'objcopy' ? ['objcopy', 'llvm-objcopy'] : ['llvm-objcopy'];
      for (const t of tools)
        expect(Buffer.from(raw.bytes).equals(Buffer.from(reference(t, f.path))), `${t} differs`).toBe(true);
      const elf = readElf(f.bytes);
      // The load address is the lowest LMA of an allocated section with contents.
      const lmas = elf.sections
        .filter((s) => s.flags & 2 && s.type !== 8 && s.size > 0)
        .map((s) => {
          const seg = elf.segments.find(
            (p) => p.type === 1 && s.offset >= p.offset && s.offset + s.size <= p.offset + p.filesz,
          );
          return seg ? seg.paddr + (s.addr - seg.vaddr) : s.addr;
        });
      expect(raw.loadAddress).toBe(lmas.reduce((a, b) => (b < a ? b : a)));
      expect(raw.entry).toBe(elf.entry);
      // Edits of non-loaded sections do not change the raw image.
      const edited = strip(addSection(f.bytes, '.kiln.sig', new Uint8Array(64)), { mode: 'all' }).stripped;
      expect(Buffer.from(objcopyBinary(edited).bytes).equals(Buffer.from(raw.bytes))).toBe(true);
      expect(Buffer.from(reference(tools[0]!, scratch(`${name}.edited`, edited))).equals(Buffer.from(raw.bytes))).toBe(
        true,
      );
    });
  }

  it('the PVH kernel: load address 1 MiB, entry offset inside the image points at the entry code', () => {
    const f = fixture('pvh-kernel');
    const raw = objcopyBinary(f.bytes);
    const elf = readElf(f.bytes);
    expect(raw.loadAddress).toBe(0x100000n);
    expect(raw.entryOffset).toBe(Number(elf.entry - 0x100000n));
    const text = findSection(elf, '.text')!;
    expect(raw.bytes.subarray(raw.entryOffset!, raw.entryOffset! + 8)).toEqual(text.data.subarray(0, 8));
  });

  it('without section headers the PT_LOAD segments are laid out by physical address', () => {
    const f = fixture('pvh-kernel');
    const path = scratch('pvh.bare', f.bytes);
    expect(tool(['llvm-objcopy', '--strip-sections', path, `${path}.out`]).status).toBe(0);
    const bare = new Uint8Array(readFileSync(`${path}.out`));
    // No tool to compare with here (GNU objcopy refuses such a file, llvm-objcopy writes 0 bytes);
    // for this kernel the segments hold exactly the sections, so the image equals the one from the full file.
    const raw = objcopyBinary(bare);
    expect(raw.loadAddress).toBe(0x100000n);
    expect(Buffer.from(raw.bytes).equals(Buffer.from(reference('objcopy', f.path)))).toBe(true);
  });

  it('refuses relocatable objects and absurd spans', () => {
    expect(() => objcopyBinary(fixture('nasm-elf64').bytes)).toThrow(/relocatable/);
    expect(() => objcopyBinary(fixture('x86_64-static').bytes, { maxSize: 16 })).toThrow(/would span/);
  });
});
