// VDI writer and reader: qemu-img accepts kiln's images (check, compare, info), kiln reads
// qemu-img's, round trips, reproducibility, layout, and clear errors on bad input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError, KilnError } from '../../../src/errors.js';
import { FileSource, MemorySource } from '../../../src/formats/io/block-source.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { readU32 } from '../../../src/formats/io/bytes.js';
import { openVdi, planVdi, vdiToRaw, writeVdi, writeVdiFile, VDI_BLOCK_FREE } from '../../../src/formats/vdi/index.js';
import { tempDir } from '../../_helpers.js';
import { diskSpec, makeDisk, padToSector, qemuImg, sameBytes, writeFile } from './_disks.js';

const dir = tempDir('kiln-vdi-');
let counter = 0;

async function toVdiBytes(disk: Uint8Array, options = {}): Promise<Uint8Array> {
  const source = new MemorySource(disk);
  const plan = await planVdi(source, options);
  const sink = new MemorySink(plan.fileSize);
  await writeVdi(source, sink, plan);
  return sink.bytes;
}

async function vdiToBytes(vdi: Uint8Array): Promise<Uint8Array> {
  const image = await openVdi(new MemorySource(vdi, 'vdi'));
  const sink = new MemorySink(image.size);
  await vdiToRaw(image, sink);
  return sink.bytes;
}

describe('VDI writer checked by qemu-img', () => {
  it('random sparse disks: qemu-img check passes, compare says identical, info reads the size; kiln reads them back; output is reproducible', async () => {
    await fc.assert(
      fc.asyncProperty(diskSpec, async (spec) => {
        const disk = makeDisk(spec);
        const n = counter++;
        const raw = writeFile(dir, `r${n}.img`, disk);
        const out = join(dir, `r${n}.vdi`);
        const source = await FileSource.open(raw);
        const { plan } = await writeVdiFile(source, out);
        await source.close();

        const check = qemuImg('check', out);
        expect(check.status, check.stdout + check.stderr).toBe(0);
        expect(check.stdout).toContain('No errors were found on the image.');
        // qemu-img sees a raw file of odd size padded to a sector, as kiln does.
        const compare = qemuImg('compare', '-f', 'raw', '-F', 'vdi', raw, out);
        expect(compare.status, compare.stdout + compare.stderr).toBe(0);
        expect(compare.stdout).toContain('Images are identical.');
        const info = JSON.parse(qemuImg('info', '--output=json', out).stdout) as {
          'virtual-size': number;
          format: string;
          'cluster-size': number;
        };
        expect(info.format).toBe('vdi');
        expect(info['virtual-size']).toBe(Math.ceil(disk.length / 512) * 512);
        expect(info['cluster-size']).toBe(1 << 20);

        const bytes = new Uint8Array(readFileSync(out));
        expect(bytes.length).toBe(plan.fileSize);
        expect(sameBytes(await vdiToBytes(bytes), padToSector(disk))).toBe('same');
        // Bit-identical when written again (UUIDs derive from the content).
        expect(sameBytes(await toVdiBytes(disk), bytes)).toBe('same');
      }),
      { numRuns: 25 },
    );
  });

  it('reads images written by qemu-img convert -O vdi (the oracle in the other direction)', async () => {
    await fc.assert(
      fc.asyncProperty(diskSpec, async (spec) => {
        const disk = makeDisk(spec);
        const n = counter++;
        const raw = writeFile(dir, `q${n}.img`, disk);
        const out = join(dir, `q${n}.vdi`);
        const conv = qemuImg('convert', '-f', 'raw', '-O', 'vdi', raw, out);
        expect(conv.status, conv.stderr).toBe(0);
        const source = await FileSource.open(out);
        const image = await openVdi(source);
        expect(image.header.diskSize).toBe(Math.ceil(disk.length / 512) * 512);
        const sink = new MemorySink(image.size);
        await vdiToRaw(image, sink);
        await source.close();
        expect(sameBytes(sink.bytes, padToSector(disk))).toBe('same');
      }),
      { numRuns: 15 },
    );
  });
});

describe('VDI reader on other qemu-img variants', () => {
  it('reads a fixed (static) VDI written by qemu-img -o static=on', async () => {
    const disk = makeDisk({
      size: (3 << 20) + 4096,
      extents: [
        { at: 5000, length: 100_000, seed: 1, constant: false },
        { at: 3 << 20, length: 4096, seed: 2, constant: true },
      ],
    });
    const raw = writeFile(dir, 'static.img', disk);
    const out = join(dir, 'static.vdi');
    expect(qemuImg('convert', '-f', 'raw', '-O', 'vdi', '-o', 'static=on', raw, out).status).toBe(0);
    const image = await openVdi(new MemorySource(new Uint8Array(readFileSync(out))));
    expect(image.header.imageType).toBe(2);
    expect(image.header.headerSize).toBe(0x180);
    const sink = new MemorySink(image.size);
    await vdiToRaw(image, sink);
    expect(sameBytes(sink.bytes, disk)).toBe('same');
    // Random access through the BlockSource view matches too.
    expect(sameBytes(await image.read(4000, 200_000), disk.subarray(4000, 204_000))).toBe('same');
  });
});

describe('VDI layout', () => {
  // 5 MiB + 1 sector: data in blocks 0, 2 and in the partial last block 5; blocks 1, 3, 4 are zero.
  const disk = new Uint8Array(5 * (1 << 20) + 512);
  disk[10] = 0xeb;
  disk.fill(0x5a, 2 * (1 << 20) + 4096, 2 * (1 << 20) + 8192);
  disk[disk.length - 1] = 0x55;

  it('writes the VirtualBox 1.1 header, a block map with 0xffffffff for zero blocks, and only the non-zero blocks', async () => {
    const vdi = await toVdiBytes(disk);
    const text = Buffer.from(vdi.subarray(0, 64)).toString('latin1');
    expect(text.startsWith('<<< Oracle VM VirtualBox Disk Image >>>\n')).toBe(true);
    expect(readU32(vdi, 0x40, true)).toBe(0xbeda107f);
    expect(readU32(vdi, 0x44, true)).toBe(0x00010001);
    expect(readU32(vdi, 0x48, true)).toBe(0x190);
    expect(readU32(vdi, 0x4c, true)).toBe(1); // dynamic
    const offBlocks = readU32(vdi, 0x154, true);
    const offData = readU32(vdi, 0x158, true);
    expect(offBlocks).toBe(1 << 20);
    expect(offData).toBe(2 << 20);
    expect(readU32(vdi, 0x168, true)).toBe(512);
    expect(Number(new DataView(vdi.buffer).getBigUint64(0x170, true))).toBe(disk.length);
    expect(readU32(vdi, 0x178, true)).toBe(1 << 20);
    expect(readU32(vdi, 0x180, true)).toBe(6);
    expect(readU32(vdi, 0x184, true)).toBe(3);
    const map = [0, 1, 2, 3, 4, 5].map((i) => readU32(vdi, offBlocks + i * 4, true));
    expect(map).toEqual([0, VDI_BLOCK_FREE, 1, VDI_BLOCK_FREE, VDI_BLOCK_FREE, 2]);
    expect(vdi.length).toBe(offData + 3 * (1 << 20));
    expect(vdi[offData + 10]).toBe(0xeb);
    expect(vdi[offData + (1 << 20) + 4096]).toBe(0x5a);
    expect(vdi[offData + 2 * (1 << 20) + 511]).toBe(0x55);
  });

  it('derives UUIDs from the content (same disk, same UUIDs; other disk, other UUIDs) or from a seed', async () => {
    const a = await openVdi(new MemorySource(await toVdiBytes(disk)));
    const b = await openVdi(new MemorySource(await toVdiBytes(disk.slice())));
    const other = disk.slice();
    other[2 * (1 << 20) + 5000] = other[2 * (1 << 20) + 5000]! ^ 1;
    const c = await openVdi(new MemorySource(await toVdiBytes(other)));
    expect(a.header.uuidCreate).toBe(b.header.uuidCreate);
    expect(a.header.uuidCreate).not.toBe(c.header.uuidCreate);
    expect(a.header.uuidCreate).not.toBe(a.header.uuidModify);
    expect(a.header.uuidLinkage).toBe('00000000-0000-0000-0000-000000000000');
    const s1 = await openVdi(new MemorySource(await toVdiBytes(disk, { seed: 'portix' })));
    const s2 = await openVdi(new MemorySource(await toVdiBytes(other, { seed: 'portix' })));
    expect(s1.header.uuidCreate).toBe(s2.header.uuidCreate);
    expect(s1.header.uuidCreate).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('qemu-img reads the derived UUID', async () => {
    const out = writeFile(dir, 'uuid.vdi', await toVdiBytes(disk, { seed: 'uuid-test' }));
    const image = await openVdi(new MemorySource(new Uint8Array(readFileSync(out))));
    const check = qemuImg('check', out);
    expect(check.stdout).toContain('No errors were found');
    expect(image.header.uuidCreate).toBe(
      (await openVdi(new MemorySource(await toVdiBytes(disk, { seed: 'uuid-test' })))).header.uuidCreate,
    );
  });

  it('an all-zero disk stores no block; a compact alignment gives a small file', async () => {
    const zero = new Uint8Array(3 << 20);
    const vdi = await toVdiBytes(zero, { dataAlignment: 512 });
    expect(readU32(vdi, 0x184, true)).toBe(0);
    expect(vdi.length).toBe(1024);
    const out = writeFile(dir, 'zero.vdi', vdi);
    expect(qemuImg('check', out).status).toBe(0);
    expect(qemuImg('compare', '-f', 'raw', writeFile(dir, 'zero.img', zero), out).stdout).toContain('identical');
  });
});

describe('VDI reader errors', () => {
  async function expectError(bytes: Uint8Array, code: string): Promise<FormatError> {
    try {
      await vdiToBytes(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(FormatError);
      expect((error as FormatError).code).toBe(code);
      expect((error as FormatError).format).toBe('vdi');
      return error as FormatError;
    }
    throw new Error(`expected ${code}`);
  }
  const disk = new Uint8Array(3 << 20);
  disk.fill(7, 1 << 20, (1 << 20) + 100);

  it('refuses a non-VDI file, a truncated file, other versions, differencing images and a bad block map', async () => {
    const good = await toVdiBytes(disk);
    await expectError(new Uint8Array(1024), 'VDI_BAD_MAGIC');
    await expectError(good.slice(0, 100), 'VDI_TRUNCATED');
    const cut = await expectError(good.slice(0, good.length - 4096), 'VDI_TRUNCATED');
    expect(cut.hint).toMatch(/cut short/);
    const v = good.slice();
    v[0x44] = 0;
    await expectError(v, 'VDI_UNSUPPORTED_VERSION');
    const diff = good.slice();
    diff[0x4c] = 4;
    expect((await expectError(diff, 'VDI_DIFFERENCING')).hint).toMatch(/clonemedium/);
    const parent = good.slice();
    parent[0x1a8] = 1;
    await expectError(parent, 'VDI_DIFFERENCING');
    const map = good.slice();
    new DataView(map.buffer).setUint32((1 << 20) + 4 * 2, 0, true); // block 2 also in slot 0
    await expectError(map, 'VDI_BAD_BLOCK_MAP');
    const count = good.slice();
    count[0x184] = 2;
    await expectError(count, 'VDI_BAD_BLOCK_MAP');
    const bs = good.slice();
    new DataView(bs.buffer).setUint32(0x178, 3000, true);
    await expectError(bs, 'VDI_BAD_HEADER');
  });

  it('refuses to write an empty disk', async () => {
    await expect(planVdi(new MemorySource(new Uint8Array(0)))).rejects.toBeInstanceOf(KilnError);
  });
});
