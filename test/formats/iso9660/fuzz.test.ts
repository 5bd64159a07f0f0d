// Fuzzes the ISO9660 reader: mutated and truncated images must give a result or a KilnError
// (FormatError with a code), never another exception or a hang.
// KILN_FUZZ_RUNS sets the count (100,000 for the full campaign).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KilnError } from '../../../src/errors.js';
import { buildTree } from '../../../src/formats/io/tree.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { MemorySource } from '../../../src/formats/io/block-source.js';
import { planIso, writeIso, readIso, readIsoFileBytes } from '../../../src/formats/iso9660/index.js';

const RUNS = Number(process.env.KILN_FUZZ_RUNS ?? 15_000);

async function baseImage(): Promise<Uint8Array> {
  const boot = new Uint8Array(4096).fill(0x90);
  const tree = buildTree({
    'boot/boot.img': boot,
    'boot/grub/grub.cfg': 'set timeout=0\n',
    'a/b/c.txt': 'c',
    'long-symlink': { kind: 'symlink', target: 'x/'.repeat(150) + 'y' },
    'dev/null': { kind: 'char', major: 1, minor: 3 },
    'Ünïcödé name.txt': 'u',
    empty: new Uint8Array(0),
  });
  const plan = await planIso(tree, {
    epoch: 0,
    boot: {
      entries: [
        { platform: 'bios', image: 'boot/boot.img', bootInfoTable: true },
        { platform: 'efi', image: new Uint8Array(2048).fill(1) },
      ],
    },
  });
  const sink = new MemorySink(plan.size);
  await writeIso(sink, plan);
  return sink.bytes;
}

async function readAll(bytes: Uint8Array): Promise<void> {
  const source = new MemorySource(bytes);
  for (const namespace of ['auto', 'joliet', 'iso9660'] as const) {
    try {
      const iso = await readIso(source, { namespace, maxEntries: 10_000 });
      for (const e of iso.entries) if (e.kind === 'file' && e.size < 1 << 20) await readIsoFileBytes(source, e);
    } catch (error) {
      if (!(error instanceof KilnError)) throw error;
      expect(error.code).toMatch(/^[A-Z_]+$/);
    }
  }
}

describe('ISO9660 reader fuzzing', () => {
  it(`survives ${RUNS} mutated images`, async () => {
    const base = await baseImage();
    const metadataEnd = 40 * 2048; // descriptors, catalog, path tables, directories, CE areas
    const work = base.slice();
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: metadataEnd - 1 }), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat({ max: base.length }), { freq: 8 }),
        async (mutations, truncate) => {
          for (const m of mutations) work[m.at] = m.value;
          try {
            await readAll(truncate === null ? work : work.subarray(0, truncate));
          } finally {
            for (const m of mutations) work[m.at] = base[m.at]!;
          }
        },
      ),
      { numRuns: RUNS },
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`iso9660 fuzz: ${RUNS} cases in ${seconds.toFixed(1)} s (${Math.round(RUNS / seconds)}/s)`);
  }, 600_000);

  it('refuses a directory that contains itself (a loop) and absurd sizes', async () => {
    const base = await baseImage();
    const source = new MemorySource(base);
    const iso = await readIso(source);
    expect(iso.entries.length).toBeGreaterThan(5);
    // Point the first subdirectory record of the root at the root's own extent.
    const bytes = base.slice();
    const view = new DataView(bytes.buffer);
    const rootLba = view.getUint32(16 * 2048 + 156 + 2, true);
    let at = rootLba * 2048;
    at += bytes[at]!; // .
    at += bytes[at]!; // ..
    while (!(bytes[at + 25]! & 2)) at += bytes[at]!;
    view.setUint32(at + 2, rootLba, true);
    view.setUint32(at + 6, rootLba, false);
    await expect(readIso(new MemorySource(bytes))).rejects.toMatchObject({ code: 'DIRECTORY_LOOP' });
    await expect(readIso(new MemorySource(base.subarray(0, 16 * 2048)))).rejects.toMatchObject({ code: 'TRUNCATED' });
    await expect(readIso(new MemorySource(new Uint8Array(40 * 2048)))).rejects.toMatchObject({ code: 'BAD_MAGIC' });
  });
});
