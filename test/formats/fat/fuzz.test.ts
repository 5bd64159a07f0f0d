// Fuzzing the FAT reader: mutated FAT12/16/32 images (BPB, FSInfo, FATs, directories, long
// names) and random bytes must give a result or a KilnError, never another exception or a hang.
// Runs: KILN_FUZZ_RUNS (default keeps this file under ~20 s on the 2-core CI machine).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KilnError } from '../../../src/errors.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { MemorySource } from '../../../src/formats/io/block-source.js';
import { buildTree } from '../../../src/formats/io/tree.js';
import { openFat, writeFat, type FatType } from '../../../src/formats/fat/index.js';
import { bytesFor } from './_trees.js';

const RUNS = Number(process.env.KILN_FUZZ_RUNS ?? 15000);
const SIZES: Record<FatType, number> = { 12: 1 << 20, 16: 4 << 20, 32: 34 << 20 };

interface Base {
  bytes: Uint8Array;
  /** [start, end) byte ranges holding metadata: boot sectors, FATs, root and subdirectories. */
  hot: Array<[number, number]>;
}

async function base(type: FatType): Promise<Base> {
  const tree = buildTree({
    'EFI/BOOT/BOOTX64.EFI': bytesFor(5000, 1),
    'a long file name for the fuzzer.txt': bytesFor(1500, 2),
    'dir/sub/deeper/x.bin': bytesFor(700, 3),
    'dir/ÜNICODE ☃.md': 'u',
    'README.TXT': 'r',
    empty: new Uint8Array(0),
  });
  const sink = new MemorySink(SIZES[type]);
  await writeFat(sink, tree, { type, label: 'FUZZ', clusterSize: type === 16 ? 512 : undefined });
  const v = await openFat(new MemorySource(sink.bytes));
  const i = v.info;
  const fat = i.reservedSectors * 512;
  const hot: Array<[number, number]> = [
    [0, 512],
    [fat, fat + 2048],
    [fat + i.fatSectors * 512, fat + i.fatSectors * 512 + 2048],
  ];
  if (type === 32)
    hot.push(
      [512, 1024],
      [6 * 512, 8 * 512],
      [v.clusterOffset(i.rootCluster), v.clusterOffset(i.rootCluster) + i.clusterSize],
    );
  else hot.push([fat + 2 * i.fatSectors * 512, fat + 2 * i.fatSectors * 512 + i.rootEntries * 32]);
  for (const e of await v.list())
    if (e.kind === 'dir') hot.push([v.clusterOffset(e.firstCluster), v.clusterOffset(e.firstCluster) + i.clusterSize]);
  return { bytes: sink.bytes, hot };
}

/** Opens, lists and reads everything; returns normally or throws a KilnError. */
async function exercise(bytes: Uint8Array): Promise<void> {
  const v = await openFat(new MemorySource(bytes));
  for (const e of await v.list()) {
    if (e.kind === 'file' && e.size <= 1 << 20) await v.readFileBytes(e);
  }
  await v.stat('dir/sub/deeper/x.bin');
}

async function expectOnlyKilnErrors(bytes: Uint8Array): Promise<void> {
  try {
    await exercise(bytes);
  } catch (error) {
    if (!(error instanceof KilnError)) throw error;
    expect(error.code).toMatch(/^[A-Z_]+$/);
  }
}

const mutation = fc.record({
  range: fc.nat(),
  at: fc.nat(),
  kind: fc.constantFrom('byte', 'u16', 'u32', 'zero', 'ff'),
  value: fc.oneof(
    fc.nat(0xffffffff),
    fc.constantFrom(
      0,
      1,
      2,
      3,
      0xff,
      0xffff,
      0xfff7,
      0xfff8,
      0x0ffffff7,
      0x0ffffff8,
      0xffffffff,
      0x0f,
      0x40,
      0x41,
      0xe5,
    ),
  ),
});

describe.each([12, 16, 32] as const)('FAT%i reader under mutation', (type) => {
  test(
    `${Math.ceil(RUNS / 3)} mutated images: result or KilnError, never a crash or hang`,
    async () => {
      const b = await base(type);
      const original = new Uint8Array(b.bytes);
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), async (mutations) => {
          const touched: Array<[number, Uint8Array]> = [];
          for (const m of mutations) {
            const [start, end] = b.hot[m.range % b.hot.length]!;
            const at = start + (m.at % Math.max(1, end - start - 4));
            touched.push([at, b.bytes.slice(at, at + 4)]);
            const view = new DataView(b.bytes.buffer, b.bytes.byteOffset);
            if (m.kind === 'byte') b.bytes[at] = m.value & 0xff;
            else if (m.kind === 'u16') view.setUint16(at, m.value & 0xffff, true);
            else if (m.kind === 'u32') view.setUint32(at, m.value >>> 0, true);
            else b.bytes.fill(m.kind === 'zero' ? 0 : 0xff, at, at + 4);
          }
          try {
            await expectOnlyKilnErrors(b.bytes);
          } finally {
            for (const [at, saved] of touched.reverse()) b.bytes.set(saved, at); // undo, no copy of the image
          }
        }),
        { numRuns: Math.ceil(RUNS / 3) },
      );
      expect(Buffer.compare(b.bytes, original)).toBe(0);
    },
    Math.max(60_000, RUNS * 10),
  );
});

describe('reader: hostile structures', () => {
  test(
    'random bytes and truncated images',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4096 }), async (bytes) => {
          if (bytes.length >= 512) {
            bytes[510] = 0x55;
            bytes[511] = 0xaa;
            bytes[11] = 0;
            bytes[12] = 2;
          }
          await expectOnlyKilnErrors(bytes);
        }),
        { numRuns: Math.ceil(RUNS / 6) },
      );
      const b = await base(16);
      for (const cut of [100, 512, 4096, 70_000, 200_000]) await expectOnlyKilnErrors(b.bytes.slice(0, cut));
    },
    Math.max(60_000, RUNS * 5),
  );

  test('a cluster chain that loops is detected (CHAIN_LOOP), not followed forever', async () => {
    const b = await base(32);
    const v = await openFat(new MemorySource(b.bytes));
    const file = (await v.list()).find((e) => e.path === 'EFI/BOOT/BOOTX64.EFI')!;
    const fat = v.info.reservedSectors * 512;
    const view = new DataView(b.bytes.buffer, b.bytes.byteOffset);
    // Make the file 10 clusters long but point its 3rd cluster back at its 1st.
    view.setUint32(fat + (file.firstCluster + 2) * 4, file.firstCluster, true);
    const again = await openFat(new MemorySource(b.bytes));
    const entry = (await again.list()).find((e) => e.path === 'EFI/BOOT/BOOTX64.EFI')!;
    await expect(again.readFileBytes(entry)).rejects.toMatchObject({ code: 'CHAIN_LOOP' });
    // Directory chain looping onto itself.
    const dir = (await again.list()).find((e) => e.path === 'dir')!;
    view.setUint32(fat + dir.firstCluster * 4, dir.firstCluster, true);
    await expect((await openFat(new MemorySource(b.bytes))).list()).rejects.toMatchObject({ code: 'CHAIN_LOOP' });
  });

  test('a subdirectory pointing at its ancestor is a DIRECTORY_LOOP', async () => {
    const b = await base(16);
    const v = await openFat(new MemorySource(b.bytes));
    const entries = await v.list();
    const dir = entries.find((e) => e.path === 'dir')!;
    const sub = entries.find((e) => e.path === 'dir/sub')!;
    // Find the 'sub' entry inside dir's cluster and point it at dir.
    const at = v.clusterOffset(dir.firstCluster);
    for (let o = at; o < at + 512; o += 32) {
      if (
        b.bytes[o] === 'S'.charCodeAt(0) &&
        b.bytes[o + 1] === 'U'.charCodeAt(0) &&
        b.bytes[o + 2] === 'B'.charCodeAt(0)
      ) {
        b.bytes[o + 26] = dir.firstCluster & 0xff;
        b.bytes[o + 27] = dir.firstCluster >> 8;
      }
    }
    expect(sub.firstCluster).not.toBe(dir.firstCluster);
    await expect((await openFat(new MemorySource(b.bytes))).list()).rejects.toMatchObject({ code: 'DIRECTORY_LOOP' });
  });

  test('long names with a wrong checksum fall back to the short name', async () => {
    const b = await base(12);
    const v = await openFat(new MemorySource(b.bytes));
    const rootAt = (v.info.reservedSectors + 2 * v.info.fatSectors) * 512;
    for (let o = rootAt; o < rootAt + v.info.rootEntries * 32; o += 32)
      if (b.bytes[o + 11] === 0x0f) b.bytes[o + 13] = b.bytes[o + 13]! ^ 0x5a;
    const names = (await (await openFat(new MemorySource(b.bytes))).list())
      .filter((e) => !e.path.includes('/'))
      .map((e) => e.name);
    expect(names).toContain('ALONGF~1.TXT');
    expect(names).not.toContain('a long file name for the fuzzer.txt');
  });
});
