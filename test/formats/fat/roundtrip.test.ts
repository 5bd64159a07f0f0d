// Write → kiln's own reader → the same tree, for FAT12, FAT16 and FAT32; reproducibility; errors.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KilnError } from '../../../src/errors.js';
import { MemorySink, SubSink } from '../../../src/formats/io/block-writer.js';
import { MemorySource } from '../../../src/formats/io/block-source.js';
import { buildTree, type FileTree } from '../../../src/formats/io/tree.js';
import {
  esp,
  fatFiller,
  openFat,
  planFat,
  writeFat,
  type FatOptions,
  type FatType,
} from '../../../src/formats/fat/index.js';
import { bytesFor, treeArb } from './_trees.js';

const SIZES: Record<FatType, number> = { 12: 4 << 20, 16: 16 << 20, 32: 40 << 20 };

async function write(tree: FileTree, size: number, options: FatOptions = {}): Promise<MemorySink> {
  const sink = new MemorySink(size);
  await writeFat(sink, tree, { epoch: 1_700_000_000, ...options });
  return sink;
}

// Files are compared by SHA-256 (deep equality of large byte arrays is slow in vitest).
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function readBack(bytes: Uint8Array): Promise<Map<string, string>> {
  const volume = await openFat(new MemorySource(bytes));
  const out = new Map<string, string>();
  for (const e of await volume.list())
    out.set(e.path, e.kind === 'dir' ? 'dir' : digest(await volume.readFileBytes(e)));
  return out;
}

function expected(tree: FileTree): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, e] of tree)
    out.set(path, e.kind === 'dir' ? 'dir' : digest((e as { content: Uint8Array }).content));
  return out;
}

describe.each([12, 16, 32] as const)('FAT%i round trip', (type) => {
  test('a tree with long, unicode, colliding and 8.3 names', async () => {
    const tree = buildTree({
      'EFI/BOOT/BOOTX64.EFI': bytesFor(70_000, 1),
      'readme.txt': 'hello',
      'Long File Name One.txt': bytesFor(3000, 2),
      'Long File Name Two.txt': bytesFor(5000, 3),
      'LONGFI~1.TXT': 'taken',
      'ÜNICODE ☃ 😀.md': 'u',
      'dir/sub/empty.bin': new Uint8Array(0),
      'dir/sub/zeros.bin': new Uint8Array(9000),
      'Mixed.Txt': 'm',
      emptydir: { kind: 'dir' },
    });
    const sink = await write(tree, SIZES[type], { type, label: 'kiln test' });
    const volume = await openFat(new MemorySource(sink.bytes));
    expect(volume.info.type).toBe(type);
    expect(volume.info.label).toBe('KILN TEST');
    expect(await readBack(sink.bytes)).toEqual(expected(tree));
    const entries = await volume.list();
    expect(entries.find((e) => e.path === 'LONGFI~1.TXT')!.shortName).toBe('LONGFI~1.TXT');
    expect(entries.find((e) => e.path === 'Long File Name One.txt')!.shortName).toBe('LONGFI~2.TXT');
    expect(entries.find((e) => e.path === 'readme.txt')!.shortName).toBe('README.TXT');
    for (const e of entries) expect(e.mtime).toBe(1_700_000_000);
    if (type === 32) {
      expect(volume.info.fsInfoFree).toBe(await volume.countFree());
      expect(volume.info.backupBootSector).toBe(6);
      expect(sink.bytes.subarray(0, 512)).toEqual(sink.bytes.subarray(6 * 512, 7 * 512));
      expect(sink.bytes.subarray(512, 1024)).toEqual(sink.bytes.subarray(7 * 512, 8 * 512));
    }
  });

  test('property: random trees read back identically', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb(20), async ({ tree }) => {
        const sink = await write(tree, SIZES[type], { type });
        expect(await readBack(sink.bytes)).toEqual(expected(tree));
      }),
      { numRuns: Number(process.env.KILN_PROPERTY_RUNS ?? 40) },
    );
  });
});

describe('layout', () => {
  test('files are contiguous and allocated in tree order; FSInfo next-free follows the last one', async () => {
    const tree = buildTree({ 'a.bin': bytesFor(5000, 1), 'b.bin': bytesFor(100, 2), 'd/c.bin': bytesFor(2000, 3) });
    const sink = await write(tree, 40 << 20, { type: 32 });
    const v = await openFat(new MemorySource(sink.bytes));
    const entries = await v.list();
    const a = entries.find((e) => e.path === 'a.bin')!;
    expect(await v.chain(a.firstCluster, 100, 'a')).toEqual(Array.from({ length: 10 }, (_, i) => a.firstCluster + i));
    expect(entries.find((e) => e.path === 'b.bin')!.firstCluster).toBe(a.firstCluster + 10);
    expect(v.info.fsInfoNextFree).toBe(2 + 1 + 10 + 1 + 1 + 4); // root, a, b, d, c
  });
  test('the FAT12/16 root directory grows past 512 entries when needed', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < 700; i++) spec[`root file number ${i}.txt`] = String(i);
    const tree = buildTree(spec);
    const sink = await write(tree, 16 << 20);
    const v = await openFat(new MemorySource(sink.bytes));
    expect(v.info.type).toBe(16);
    expect(v.info.rootEntries).toBeGreaterThanOrEqual(700 * 3);
    expect((await v.list()).length).toBe(700);
  });
  test('a directory of 3000 long names spans many clusters and reads back', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) spec[`big/A rather long file name number ${i}.text`] = String(i);
    const sink = await write(buildTree(spec), 40 << 20, { type: 32 });
    const back = await readBack(sink.bytes);
    expect(back.size).toBe(3001);
    expect(back.get('big/A rather long file name number 2999.text')).toBe(digest(new TextEncoder().encode('2999')));
  });
  test('times: epoch before 1980 clamps to 1980-01-01, per-entry mtime wins, odd seconds kept via CrtTimeTenth only', async () => {
    const tree = buildTree({
      'old.txt': 'x',
      'new.txt': { kind: 'file', content: new Uint8Array(1), mtime: 1_600_000_001 },
    });
    const sink = await write(tree, 4 << 20, { epoch: 0 });
    const entries = await (await openFat(new MemorySource(sink.bytes))).list();
    expect(entries.find((e) => e.path === 'old.txt')!.mtime).toBe(315532800);
    expect(entries.find((e) => e.path === 'new.txt')!.mtime).toBe(1_600_000_000);
  });
});

describe('reproducible output', () => {
  test('same inputs and epoch → bit-identical image; content decides the volume id', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb(10, 5000), async ({ tree }) => {
        const a = await write(tree, 4 << 20);
        const b = await write(tree, 4 << 20);
        expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
      }),
      { numRuns: 20 },
    );
    const one = await write(buildTree({ 'f.bin': bytesFor(1000, 1) }), 4 << 20);
    const other = await write(buildTree({ 'f.bin': bytesFor(1000, 2) }), 4 << 20);
    const later = await write(buildTree({ 'f.bin': bytesFor(1000, 1) }), 4 << 20, { epoch: 1_800_000_000 });
    const id = async (s: MemorySink): Promise<number | undefined> =>
      (await openFat(new MemorySource(s.bytes))).info.volumeId;
    expect(await id(one)).not.toBe(await id(other));
    expect(await id(one)).not.toBe(await id(later));
    // A large file: its first and its last bytes both count (the id samples each file's head and tail).
    const big = bytesFor(100_000, 3);
    const edited = (at: number): Uint8Array => {
      const copy = big.slice();
      copy[at] = copy[at]! ^ 1;
      return copy;
    };
    const ids = await Promise.all(
      [big, edited(0), edited(99_999)].map(async (data) => id(await write(buildTree({ 'f.bin': data }), 4 << 20))),
    );
    expect(new Set(ids).size).toBe(3);
    expect(
      (await openFat(new MemorySource((await write(new Map(), 4 << 20, { volumeId: 0x1234abcd })).bytes))).info
        .volumeId,
    ).toBe(0x1234abcd);
  });
});

describe('errors', () => {
  const code = async (fn: () => Promise<unknown> | unknown): Promise<KilnError> => {
    try {
      await fn();
    } catch (error) {
      expect(error).toBeInstanceOf(KilnError);
      return error as KilnError;
    }
    throw new Error('expected a KilnError');
  };
  test('files that do not fit say how many bytes over', async () => {
    const e = await code(() => write(buildTree({ 'big.bin': new Uint8Array(3 << 20) }), 2 << 20));
    expect(e.code).toBe('FAT_DOES_NOT_FIT');
    const plan = () => planFat(new Map(), 2 << 20, {});
    const g = plan().geometry;
    const needed = Math.ceil((3 << 20) / g.clusterBytes);
    expect(e.details!.bytesOver).toBe((needed - g.clusterCount) * g.clusterBytes);
    expect(e.message).toContain(`${e.details!.bytesOver} bytes) over`);
    expect(e.hint).toMatch(/larger/);
  });
  test('illegal names, unsupported entries, sizes below the minimum, bad labels and boot sectors', async () => {
    expect((await code(() => write(buildTree({ 'a:b.txt': 'x' }), 4 << 20))).code).toBe('FAT_NAME_INVALID');
    expect((await code(() => write(buildTree({ 'dir/x?': 'x' }), 4 << 20))).location?.file).toBe('dir/x?');
    expect((await code(() => write(buildTree({ README: 'a', readme: 'b' }), 4 << 20))).code).toBe('FAT_NAME_CONFLICT');
    expect((await code(() => write(buildTree({ link: { kind: 'symlink', target: 'x' } }), 4 << 20))).code).toBe(
      'FAT_UNSUPPORTED_ENTRY',
    );
    expect((await code(() => write(new Map(), 20 << 20, { type: 32 }))).code).toBe('FAT_TOO_SMALL');
    expect((await code(() => write(new Map(), 8 * 1024))).code).toBe('FAT_TOO_SMALL');
    expect((await code(() => write(new Map(), 4 << 20, { label: 'way too long label' }))).code).toBe(
      'FAT_LABEL_INVALID',
    );
    expect((await code(() => write(new Map(), 4 << 20, { label: 'a.b' }))).code).toBe('FAT_LABEL_INVALID');
    expect((await code(() => write(new Map(), 4 << 20, { bootCode: new Uint8Array(511) }))).code).toBe(
      'FAT_BAD_BOOT_CODE',
    );
    expect((await code(() => write(new Map(), 4 << 20, { bootCode: new Uint8Array(512) }))).message).toMatch(
      /0x55 0xAA/,
    );
    const sink = new MemorySink(1 << 20);
    expect((await code(() => writeFat(sink, new Map(), { size: '2M' }))).code).toBe('FAT_TOO_LARGE');
  });
});

describe('boot code, hidden sectors, fillers and ESPs', () => {
  test("boot code: jump and code area are the user's, the BPB is kiln's", async () => {
    for (const type of [16, 32] as const) {
      const boot = new Uint8Array(512).fill(0x90);
      boot.set([0xeb, type === 32 ? 0x58 : 0x3c, 0x90]);
      boot[510] = 0x55;
      boot[511] = 0xaa;
      const sink = await write(new Map(), SIZES[type], { type, bootCode: boot });
      const code = type === 32 ? 90 : 62;
      expect(sink.bytes.subarray(0, 3)).toEqual(boot.subarray(0, 3));
      expect(sink.bytes.subarray(code, 510)).toEqual(boot.subarray(code, 510));
      expect((await openFat(new MemorySource(sink.bytes))).info.type).toBe(type);
    }
  });
  test('fatFiller writes into a partition and records its start as hidden sectors', async () => {
    const disk = new MemorySink(10 << 20);
    const fill = fatFiller(buildTree({ 'EFI/BOOT/BOOTX64.EFI': 'efi' }), { label: 'EFI' });
    await fill(new SubSink(disk, 1 << 20, 8 << 20), { offset: 1 << 20 });
    const v = await openFat(new MemorySource(disk.bytes), { offset: 1 << 20 });
    expect(v.info.hiddenSectors).toBe(2048);
    expect(new TextDecoder().decode(await v.readFileBytes('EFI/BOOT/BOOTX64.EFI'))).toBe('efi');
    expect(new TextDecoder().decode(await v.readFileBytes('efi/boot/bootx64.efi'))).toBe('efi');
  });
  test('esp(): FAT32 from ~33 MiB, FAT16 and FAT12 below; overfull ESPs fail at once', async () => {
    const files = { '/EFI/BOOT/BOOTX64.EFI': bytesFor(1000, 9) };
    expect(esp({ size: '64M', files }).fatType).toBe(32);
    expect(esp({ size: '34M', files }).fatType).toBe(32);
    expect(esp({ size: '32M', files }).fatType).toBe(16);
    expect(esp({ size: '1M', files }).fatType).toBe(12);
    const part = esp({ size: '64M', files, label: 'ESP' });
    expect(part.typeGuid).toBe('c12a7328-f81f-11d2-ba4b-00a0c93ec93b');
    const sink = new MemorySink(part.size);
    await part.fill(sink);
    expect((await openFat(new MemorySource(sink.bytes))).info.label).toBe('ESP');
    expect(() => esp({ size: '1M', files: { 'big.bin': new Uint8Array(2 << 20) } })).toThrow(/over/);
  });
});
