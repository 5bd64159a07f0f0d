// Conversions cost what an image holds, not what its disk declares (issue #15 item 7): a VDI or
// VMDK of a 1 TiB disk is converted by reading only its stored blocks/grains, and a raw output
// stays sparse. Cost is asserted as bytes requested from the virtual disk (no timing assertions);
// the wall-clock figures are in the README's Security section.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { convertImageFile, type ImageFormat } from '../../src/formats/convert.js';
import { FileSource } from '../../src/formats/io/block-source.js';
import { VdiImage, openVdi } from '../../src/formats/vdi/read.js';
import { VmdkImage, openVmdk } from '../../src/formats/vmdk/read.js';
import { runKiln, tempDir, tool } from '../_helpers.js';
import { blockByte, sparseVdi } from './io/_hostile.js';

const TIB = 2 ** 40;
const MIB = 1 << 20;
const dir = tempDir('kiln-sparse-');
const LAST = TIB / MIB - 1;
const STORED = [0, 524_287, LAST];

/** Bytes a conversion asked of the virtual disk (VdiImage / VmdkImage `read`). */
function countDiskReads(): { bytes: () => number } {
  let total = 0;
  for (const cls of [VdiImage, VmdkImage]) {
    const original = cls.prototype.read;
    vi.spyOn(cls.prototype, 'read').mockImplementation(function (
      this: VdiImage & VmdkImage,
      offset: number,
      length: number,
    ) {
      total += length;
      return original.call(this, offset, length);
    });
  }
  return { bytes: () => total };
}

/** Allocated bytes of a file (st_blocks are 512-byte units). */
const allocated = (path: string): number => statSync(path).blocks * 512;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('sparse-aware conversion of a 1 TiB disk', () => {
  it('an empty 1 TiB VDI converts to raw, VDI and VMDK without reading a byte of its disk; the raw output is all holes', async () => {
    const input = join(dir, 'empty.vdi');
    sparseVdi(input, TIB, []);
    expect(statSync(input).size).toBeLessThan(6 * MIB);
    for (const format of ['raw', 'vdi', 'vmdk'] as ImageFormat[]) {
      const reads = countDiskReads();
      const output = join(dir, `empty-out.${format}`);
      const result = await convertImageFile(input, output, { format });
      expect(result.diskSize, format).toBe(TIB);
      expect(reads.bytes(), format).toBe(0);
      vi.restoreAllMocks();
    }
    // qemu-img reads the outputs as the same empty disk (compare of two 1 TiB sparse images is slow in
    // qemu-img itself: the raw one, which it reads by SEEK_DATA, stands for the three).
    const check = tool(['qemu-img', 'compare', '-f', 'vdi', '-F', 'raw', input, join(dir, 'empty-out.raw')]);
    expect(check.stdout + check.stderr).toMatch(/Images are identical/);
    for (const format of ['vdi', 'vmdk']) {
      const info = tool(['qemu-img', 'info', '--output=json', '-f', format, join(dir, `empty-out.${format}`)]);
      expect(JSON.parse(info.stdout), format).toMatchObject({ 'virtual-size': TIB, format });
    }
    expect(statSync(join(dir, 'empty-out.raw')).size).toBe(TIB);
    expect(allocated(join(dir, 'empty-out.raw'))).toBe(0);
    expect(allocated(join(dir, 'empty-out.vmdk'))).toBeLessThan(8 * MIB); // grain tables of zeros are holes too
  });

  it('three stored blocks (first, middle, last): only they are read, the bytes match, the raw output allocates about 3 MiB', async () => {
    const input = join(dir, 'three.vdi');
    sparseVdi(input, TIB, STORED);
    const reads = countDiskReads();
    const raw = join(dir, 'three.raw');
    await convertImageFile(input, raw, { format: 'raw' });
    expect(reads.bytes()).toBe(STORED.length * MIB);
    expect(allocated(raw)).toBeGreaterThanOrEqual(3 * MIB);
    expect(allocated(raw)).toBeLessThan(4 * MIB);
    const source = await FileSource.open(raw);
    try {
      for (const b of STORED)
        expect((await source.read(b * MIB + 4096, 16)).every((x) => x === blockByte(b))).toBe(true);
      expect((await source.read(MIB, 16)).every((x) => x === 0)).toBe(true);
    } finally {
      await source.close();
    }
    vi.restoreAllMocks();
    // Through VMDK and back: the VMDK reader lists its grains the same way.
    const vmdk = join(dir, 'three.vmdk');
    await convertImageFile(input, vmdk, { format: 'vmdk' });
    const again = countDiskReads();
    const back = join(dir, 'three-back.vdi');
    await convertImageFile(vmdk, back, { format: 'vdi' });
    expect(again.bytes()).toBe(STORED.length * MIB);
    vi.restoreAllMocks();
    const vdi = await openVdi(await FileSource.open(back));
    try {
      expect(vdi.header.blocksAllocated).toBe(STORED.length);
    } finally {
      await vdi.close();
    }
    for (const [a, fa, b, fb] of [
      [input, 'vdi', raw, 'raw'],
      [back, 'vdi', raw, 'raw'],
    ] as const) {
      const check = tool(['qemu-img', 'compare', '-f', fa, '-F', fb, a, b]);
      expect(check.stdout + check.stderr, `${a} vs ${b}`).toMatch(/Images are identical/);
    }
  });

  it('kiln image convert: the empty 1 TiB VDI to a raw file that stays sparse', () => {
    const input = join(dir, 'cli.vdi');
    sparseVdi(input, TIB, []);
    const output = join(dir, 'cli.img');
    const r = runKiln(['image', 'convert', input, output, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, format: 'raw', inputFormat: 'vdi', diskSize: TIB });
    expect(statSync(output).size).toBe(TIB);
    expect(allocated(output)).toBe(0);
  });
});

describe('VDI and VMDK reader errors name the file (#15 item 10)', () => {
  it('in the library (a FileSource) and through kiln image convert / ls', async () => {
    const vdi = join(dir, 'named.vdi');
    sparseVdi(vdi, TIB, []);
    const vmdk = join(dir, 'named.vmdk');
    await convertImageFile(vdi, vmdk, { format: 'vmdk' });
    const cutVdi = join(dir, 'cut.vdi');
    writeFileSync(cutVdi, readFileSync(vdi).subarray(0, MIB));
    const cutVmdk = join(dir, 'cut.vmdk');
    writeFileSync(cutVmdk, readFileSync(vmdk).subarray(0, 600_000));
    for (const [file, open, code] of [
      [cutVdi, openVdi, 'VDI_TRUNCATED'],
      [cutVmdk, openVmdk, 'VMDK_TRUNCATED'],
    ] as const) {
      const source = await FileSource.open(file);
      try {
        await expect(open(source)).rejects.toMatchObject({ code, location: { file, offset: expect.any(Number) } });
      } finally {
        await source.close();
      }
      for (const args of [
        ['image', 'convert', file, join(dir, 'never.img')],
        ['image', 'ls', file],
      ]) {
        const r = runKiln(args);
        expect(r.status, args.join(' ')).toBe(1);
        expect(r.stderr).toMatch(
          new RegExp(
            `^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: offset 0x[0-9a-f]+ \\(\\d+\\): v(di|mdk): `,
          ),
        );
        expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
      }
    }
  });
});
