// VMDK writer and reader (monolithicSparse and streamOptimized): qemu-img accepts kiln's images
// (check, compare, info with the create type), kiln reads qemu-img's, round trips,
// reproducibility, layout (header, descriptor, GD/GT, markers, footer) and errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../../src/errors.js';
import { FileSource, MemorySource } from '../../../src/formats/io/block-source.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { readU32 } from '../../../src/formats/io/bytes.js';
import {
  openVmdk,
  parseDescriptor,
  planVmdk,
  vmdkToRaw,
  writeVmdk,
  writeVmdkFile,
  type VmdkSubformat,
} from '../../../src/formats/vmdk/index.js';
import { tempDir } from '../../_helpers.js';
import { diskSpec, makeDisk, padToSector, qemuImg, sameBytes, writeFile } from '../vdi/_disks.js';

const dir = tempDir('kiln-vmdk-');
let counter = 0;
const SUBFORMATS: VmdkSubformat[] = ['monolithicSparse', 'streamOptimized'];

async function toVmdkBytes(disk: Uint8Array, options: Parameters<typeof planVmdk>[1] = {}): Promise<Uint8Array> {
  const source = new MemorySource(disk);
  const plan = await planVmdk(source, options);
  const sink = new MemorySink(plan.fileSize);
  await writeVmdk(source, sink, plan);
  return sink.bytes;
}

async function vmdkToBytes(vmdk: Uint8Array): Promise<Uint8Array> {
  const image = await openVmdk(new MemorySource(vmdk, 'vmdk'));
  const sink = new MemorySink(image.size);
  await vmdkToRaw(image, sink);
  return sink.bytes;
}

describe.each(SUBFORMATS)('VMDK %s checked by qemu-img', (subformat) => {
  it('random sparse disks: qemu-img check passes, compare says identical, info shows size and create type; kiln reads them back; reproducible', async () => {
    await fc.assert(
      fc.asyncProperty(diskSpec, async (spec) => {
        const disk = makeDisk(spec);
        const n = counter++;
        const raw = writeFile(dir, `r${n}.img`, disk);
        const out = join(dir, `r${n}.vmdk`);
        const source = await FileSource.open(raw);
        const { plan } = await writeVmdkFile(source, out, { subformat });
        await source.close();

        const check = qemuImg('check', out);
        expect(check.status, check.stdout + check.stderr).toBe(0);
        expect(check.stdout).toContain('No errors were found on the image.');
        const compare = qemuImg('compare', '-f', 'raw', '-F', 'vmdk', raw, out);
        expect(compare.status, compare.stdout + compare.stderr).toBe(0);
        expect(compare.stdout).toContain('Images are identical.');
        const info = JSON.parse(qemuImg('info', '--output=json', out).stdout) as {
          'virtual-size': number;
          format: string;
          'format-specific': {
            type: string;
            data: {
              'create-type': string;
              cid: number;
              'parent-cid': number;
              extents: Array<{ compressed?: boolean; 'cluster-size': number }>;
            };
          };
        };
        expect(info.format).toBe('vmdk');
        expect(info['virtual-size']).toBe(Math.ceil(disk.length / 512) * 512);
        expect(info['format-specific'].data['create-type']).toBe(subformat);
        expect(info['format-specific'].data['parent-cid']).toBe(0xffffffff);
        expect(info['format-specific'].data.extents[0]!['cluster-size']).toBe(65536);
        expect(info['format-specific'].data.extents[0]!.compressed ?? false).toBe(subformat === 'streamOptimized');

        const bytes = new Uint8Array(readFileSync(out));
        expect(bytes.length).toBe(plan.fileSize);
        expect(sameBytes(await vmdkToBytes(bytes), padToSector(disk))).toBe('same');
        expect(sameBytes(await toVmdkBytes(disk, { subformat, fileName: `r${n}.vmdk` }), bytes)).toBe('same');
      }),
      { numRuns: 20 },
    );
  });

  it(`reads images written by qemu-img convert -O vmdk -o subformat=${subformat}`, async () => {
    await fc.assert(
      fc.asyncProperty(diskSpec, async (spec) => {
        const disk = makeDisk(spec);
        const n = counter++;
        const raw = writeFile(dir, `q${n}.img`, disk);
        const out = join(dir, `q${n}.vmdk`);
        const conv = qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, raw, out);
        expect(conv.status, conv.stderr).toBe(0);
        const source = await FileSource.open(out);
        const image = await openVmdk(source);
        expect(image.createType).toBe(subformat);
        expect(image.size).toBe(Math.ceil(disk.length / 512) * 512);
        const sink = new MemorySink(image.size);
        await vmdkToRaw(image, sink);
        await source.close();
        expect(sameBytes(sink.bytes, padToSector(disk))).toBe('same');
      }),
      { numRuns: 10 },
    );
  });
});

describe('VMDK reader on other qemu-img variants', () => {
  it('reads monolithicSparse images with zeroed-grain entries (-o zeroed_grain=on) and random access', async () => {
    const disk = makeDisk({ size: 3 << 20, extents: [{ at: 70_000, length: 200_000, seed: 4, constant: false }] });
    const raw = writeFile(dir, 'zg.img', disk);
    const out = join(dir, 'zg.vmdk');
    expect(qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'zeroed_grain=on', raw, out).status).toBe(0);
    // Mark a stored grain as a zeroed grain (GTE 1) the way QEMU does for write-zeroes, and zero it in the expectation.
    const bytes = new Uint8Array(readFileSync(out));
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(8, true) & 4).toBe(4);
    const gd = Number(view.getBigUint64(56, true));
    const gt = view.getUint32(gd * 512, true);
    expect(view.getUint32(gt * 512 + 2 * 4, true)).not.toBe(0); // grain 2 holds data
    view.setUint32(gt * 512 + 2 * 4, 1, true);
    const rgd = Number(view.getBigUint64(48, true));
    view.setUint32(view.getUint32(rgd * 512, true) * 512 + 2 * 4, 1, true);
    const expected = disk.slice();
    expected.fill(0, 2 * 65536, 3 * 65536);
    const zg = writeFile(dir, 'zg2.vmdk', bytes);
    expect(qemuImg('compare', '-f', 'raw', writeFile(dir, 'zg2.img', expected), zg).stdout).toContain(
      'Images are identical.',
    );
    const image = await openVmdk(new MemorySource(bytes));
    const sink = new MemorySink(image.size);
    await vmdkToRaw(image, sink);
    expect(sameBytes(sink.bytes, expected)).toBe('same');
    expect(sameBytes(await image.read(60_000, 300_000), expected.subarray(60_000, 360_000))).toBe('same');
  });
});

describe('VMDK layout', () => {
  // 40 MiB + 3 sectors: grains 0 and 600 (GT 1) hold data, the partial last grain too; GT 0 and 1 used.
  const disk = new Uint8Array(40 * (1 << 20) + 1536);
  disk[0] = 0xfa;
  disk.fill(0x33, 600 * 65536, 600 * 65536 + 700);
  disk[disk.length - 1] = 0x55;

  it('monolithicSparse: KDMV header, embedded descriptor, redundant and primary GD/GT, only non-zero grains', async () => {
    const vmdk = await toVmdkBytes(disk, { fileName: 'portix.vmdk' });
    const view = new DataView(vmdk.buffer);
    expect(Buffer.from(vmdk.subarray(0, 4)).toString('latin1')).toBe('KDMV');
    expect(readU32(vmdk, 4, true)).toBe(1);
    expect(readU32(vmdk, 8, true)).toBe(3); // newline test + redundant grain table
    const capacity = Number(view.getBigUint64(12, true));
    expect(capacity).toBe(disk.length / 512);
    expect(Number(view.getBigUint64(20, true))).toBe(128);
    expect(Number(view.getBigUint64(28, true))).toBe(1);
    expect(readU32(vmdk, 44, true)).toBe(512);
    expect([...vmdk.subarray(73, 77)]).toEqual([0x0a, 0x20, 0x0d, 0x0a]);
    const rgd = Number(view.getBigUint64(48, true));
    const gd = Number(view.getBigUint64(56, true));
    const overHead = Number(view.getBigUint64(64, true));
    expect(overHead % 128).toBe(0);
    const grains = Math.ceil(capacity / 128);
    const gts = Math.ceil(grains / 512);
    expect(gts).toBe(2);
    const desc = Buffer.from(vmdk.subarray(512, 512 * 21))
      .toString('utf8')
      .replace(/\0+$/, '');
    const parsed = parseDescriptor(desc);
    expect(parsed.createType).toBe('monolithicSparse');
    expect(parsed.parentCid).toBe(0xffffffff);
    expect(parsed.extents).toEqual([{ access: 'RW', sectors: capacity, type: 'SPARSE', fileName: 'portix.vmdk' }]);
    expect(parsed.ddb['ddb.uuid']).toMatch(/^([0-9a-f]{2} ){7}[0-9a-f]{2}-([0-9a-f]{2} ){7}[0-9a-f]{2}$/);
    expect(parsed.ddb['ddb.geometry.heads']).toBe('16');
    for (const dirSector of [rgd, gd]) {
      const gt0 = readU32(vmdk, dirSector * 512, true);
      const gt1 = readU32(vmdk, dirSector * 512 + 4, true);
      expect(gt1).toBe(gt0 + 4);
      expect(readU32(vmdk, gt0 * 512, true)).toBe(overHead); // grain 0 first
      expect(readU32(vmdk, gt0 * 512 + 4, true)).toBe(0); // grain 1 is zero: not stored
      expect(readU32(vmdk, gt1 * 512 + (600 - 512) * 4, true)).toBe(overHead + 128);
      expect(readU32(vmdk, gt1 * 512 + (grains - 1 - 512) * 4, true)).toBe(overHead + 256);
    }
    expect(vmdk.length).toBe((overHead + 3 * 128) * 512);
    expect(vmdk[overHead * 512]).toBe(0xfa);
    expect(vmdk[(overHead + 128) * 512 + 699]).toBe(0x33);
  });

  it('streamOptimized: grain markers with LBA and size, GT/GD markers, footer with the GD offset, end-of-stream marker', async () => {
    const vmdk = await toVmdkBytes(disk, { subformat: 'streamOptimized' });
    const view = new DataView(vmdk.buffer);
    expect(readU32(vmdk, 4, true)).toBe(3);
    expect(readU32(vmdk, 8, true)).toBe(0x30001);
    expect(view.getBigUint64(56, true)).toBe(0xffffffffffffffffn); // GD at end
    expect(view.getUint16(77, true)).toBe(1); // deflate
    const overHead = Number(view.getBigUint64(64, true));
    const desc = Buffer.from(vmdk.subarray(512, 512 * 21)).toString('utf8');
    expect(desc).toContain('createType="streamOptimized"');
    // First grain marker at overHead: LBA 0.
    let at = overHead * 512;
    expect(view.getBigUint64(at, true)).toBe(0n);
    const size0 = view.getUint32(at + 8, true);
    const grain0 = inflateSync(vmdk.subarray(at + 12, at + 12 + size0));
    expect(grain0.length).toBe(65536);
    expect(grain0[0]).toBe(0xfa);
    // Walk the stream: grains, GT marker after the grains of GT 0, ..., GD marker, footer, EOS.
    const seen: string[] = [];
    let footerGd = -1;
    while (at < vmdk.length) {
      const value = view.getBigUint64(at, true);
      const size = view.getUint32(at + 8, true);
      if (size !== 0) {
        seen.push(`grain@${value}`);
        at += Math.ceil((12 + size) / 512) * 512;
        continue;
      }
      const type = view.getUint32(at + 12, true);
      seen.push(['eos', 'gt', 'gd', 'footer'][type]!);
      if (type === 3) footerGd = Number(view.getBigUint64(at + 512 + 56, true));
      at += 512 + Number(value) * 512;
      if (type === 0) break;
    }
    expect(seen).toEqual([
      'grain@0',
      'gt',
      'grain@76800',
      `grain@${(Math.ceil(disk.length / 65536) - 1) * 128}`,
      'gt',
      'gd',
      'footer',
      'eos',
    ]);
    expect(at).toBe(vmdk.length);
    expect(Buffer.from(vmdk.subarray(vmdk.length - 1024, vmdk.length - 1020)).toString('latin1')).toBe('KDMV');
    expect(readU32(vmdk, (footerGd - 1) * 512 + 12, true)).toBe(2); // GD marker right before the GD
  });

  it('CID and UUIDs derive from the content or the seed', async () => {
    const d1 = parseDescriptor(Buffer.from((await toVmdkBytes(disk)).subarray(512, 512 * 21)).toString());
    const d2 = parseDescriptor(Buffer.from((await toVmdkBytes(disk.slice())).subarray(512, 512 * 21)).toString());
    const other = disk.slice();
    other[5] = 1;
    const d3 = parseDescriptor(Buffer.from((await toVmdkBytes(other)).subarray(512, 512 * 21)).toString());
    expect(d1.cid).toBe(d2.cid);
    expect(d1.ddb['ddb.uuid']).toBe(d2.ddb['ddb.uuid']);
    expect(d1.cid).not.toBe(d3.cid);
    expect(d1.ddb['ddb.uuid.image']).not.toBe(d3.ddb['ddb.uuid.image']);
    const s1 = parseDescriptor(
      Buffer.from((await toVmdkBytes(disk, { seed: 's' })).subarray(512, 512 * 21)).toString(),
    );
    const s2 = parseDescriptor(
      Buffer.from((await toVmdkBytes(other, { seed: 's' })).subarray(512, 512 * 21)).toString(),
    );
    expect(s1.cid).toBe(s2.cid);
  });

  it('the streamOptimized output does not depend on the compression cache size', async () => {
    const a = await toVmdkBytes(disk, { subformat: 'streamOptimized' });
    const b = await toVmdkBytes(disk, { subformat: 'streamOptimized', cacheBytes: 0 });
    expect(sameBytes(a, b)).toBe('same');
  });
});

describe('VMDK reader errors', () => {
  async function expectError(bytes: Uint8Array, code: string): Promise<FormatError> {
    try {
      await vmdkToBytes(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(FormatError);
      expect((error as FormatError).code).toBe(code);
      return error as FormatError;
    }
    throw new Error(`expected ${code}`);
  }
  const disk = new Uint8Array(2 << 20);
  disk.fill(9, 70000, 80000);

  it('refuses other files, descriptor-only VMDKs, truncated and damaged images, and delta images', async () => {
    const sparse = await toVmdkBytes(disk);
    const stream = await toVmdkBytes(disk, { subformat: 'streamOptimized' });
    await expectError(new Uint8Array(2048), 'VMDK_BAD_MAGIC');
    const descOnly = new TextEncoder().encode(
      '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n',
    );
    expect((await expectError(descOnly, 'VMDK_DESCRIPTOR_ONLY')).hint).toMatch(/qemu-img convert/);
    await expectError(sparse.slice(0, 300), 'VMDK_TRUNCATED');
    await expectError(sparse.slice(0, sparse.length - 65536), 'VMDK_TRUNCATED');
    await expectError(stream.slice(0, stream.length - 512), 'VMDK_BAD_FOOTER');
    const version = sparse.slice();
    version[4] = 9;
    await expectError(version, 'VMDK_UNSUPPORTED_VERSION');
    const grain = sparse.slice();
    grain[20] = 3; // grain size 3 sectors
    await expectError(grain, 'VMDK_BAD_HEADER');
    const badData = stream.slice();
    const overHead = Number(new DataView(stream.buffer).getBigUint64(64, true));
    badData[overHead * 512 + 14] = badData[overHead * 512 + 14]! ^ 0xff; // inside the zlib stream of grain 1
    await expectError(badData, 'VMDK_BAD_GRAIN');
    const lba = stream.slice();
    lba[overHead * 512] = 7;
    await expectError(lba, 'VMDK_BAD_GRAIN');
    const child = sparse.slice();
    const text = 'parentCID=ffffffff';
    const at = Buffer.from(child).indexOf(text);
    child.set(new TextEncoder().encode('parentCID=12345678'), at);
    expect((await expectError(child, 'VMDK_DIFFERENCING')).hint).toMatch(/parent/);
  });
});
