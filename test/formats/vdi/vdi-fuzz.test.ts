// Fuzzing the VDI reader: mutated kiln and qemu-img images must either read or fail with a
// KilnError (FormatError with a code) — never another exception, never a hang.
// KILN_FUZZ_RUNS sets the number of cases per base image (default 50,000 x 2 bases = 100,000, about
// 4 s on an idle machine here, 24,000-28,000 cases/s).
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../../src/errors.js';
import { MemorySource } from '../../../src/formats/io/block-source.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { openVdi, planVdi, vdiToRaw, writeVdi } from '../../../src/formats/vdi/index.js';
import { tempDir } from '../../_helpers.js';
import { DiscardSink, MutatedSource, mutationArb, qemuImg, writeFile } from './_disks.js';

const RUNS = Number(process.env.KILN_FUZZ_RUNS ?? 50_000);
const dir = tempDir('kiln-vdi-fuzz-');

async function kilnBase(): Promise<Uint8Array> {
  const disk = new Uint8Array(3 << 20);
  disk.fill(0xa5, 100, 5000);
  disk.fill(0x11, (2 << 20) + 7, (2 << 20) + 900);
  const source = new MemorySource(disk);
  const plan = await planVdi(source, { dataAlignment: 512 });
  const sink = new MemorySink(plan.fileSize);
  await writeVdi(source, sink, plan);
  return sink.bytes;
}

function qemuBase(): Uint8Array {
  const disk = new Uint8Array(2 << 20);
  disk.fill(0x42, 1 << 20, (1 << 20) + 3000);
  const raw = writeFile(dir, 'base.img', disk);
  const out = join(dir, 'base.vdi');
  expect(qemuImg('convert', '-f', 'raw', '-O', 'vdi', raw, out).status).toBe(0);
  return new Uint8Array(readFileSync(out));
}

/** Header and block map. */
function hotRanges(base: Uint8Array): Array<[number, number]> {
  const view = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const offBlocks = view.getUint32(0x154, true);
  return [
    [0x40, 0x1d8],
    [offBlocks, offBlocks + view.getUint32(0x180, true) * 4],
  ];
}

async function readsOrFailsCleanly(
  base: Uint8Array,
  hot: Array<[number, number]>,
): Promise<{ ok: number; failed: number; rate: number }> {
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  await fc.assert(
    fc.asyncProperty(mutationArb(base.length, hot), async (m) => {
      try {
        const image = await openVdi(new MutatedSource(base, m));
        await vdiToRaw(image, new DiscardSink(image.size));
        ok++;
      } catch (error) {
        if (!(error instanceof KilnError)) throw error;
        expect(error.code).toMatch(/^[A-Z_]+$/);
        failed++;
      }
    }),
    { numRuns: RUNS },
  );
  return { ok, failed, rate: Math.round(RUNS / ((performance.now() - start) / 1000)) };
}

describe('VDI reader fuzzing', () => {
  it(
    `kiln images: ${RUNS} mutated inputs read or fail with a KilnError`,
    async () => {
      const base = await kilnBase();
      const r = await readsOrFailsCleanly(base, hotRanges(base));
      console.log(`vdi fuzz (kiln base): ${RUNS} cases, ${r.ok} read, ${r.failed} refused, ${r.rate} cases/s`);
      expect(r.failed).toBeGreaterThan(0);
    },
    Math.max(120_000, RUNS * 10),
  );

  it(
    `qemu-img images: ${RUNS} mutated inputs read or fail with a KilnError`,
    async () => {
      const base = qemuBase();
      const r = await readsOrFailsCleanly(base, hotRanges(base));
      console.log(`vdi fuzz (qemu-img base): ${RUNS} cases, ${r.ok} read, ${r.failed} refused, ${r.rate} cases/s`);
      expect(r.ok).toBeGreaterThan(0);
    },
    Math.max(120_000, RUNS * 10),
  );
});
