// Fuzzing the VMDK reader: mutated monolithicSparse and streamOptimized images (kiln's and
// qemu-img's) must either read or fail with a KilnError — never another exception, never a hang.
// KILN_FUZZ_RUNS sets the number of cases per base image (default 25,000 x 4 bases = 100,000, about 10 s on an
// idle machine here at 6,000-15,000 cases/s).
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../../src/errors.js';
import { MemorySource } from '../../../src/formats/io/block-source.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { openVmdk, planVmdk, vmdkToRaw, writeVmdk, type VmdkSubformat } from '../../../src/formats/vmdk/index.js';
import { tempDir } from '../../_helpers.js';
import { DiscardSink, MutatedSource, mutationArb, qemuImg, writeFile } from '../vdi/_disks.js';

const RUNS = Number(process.env.KILN_FUZZ_RUNS ?? 25_000);
const dir = tempDir('kiln-vmdk-fuzz-');

function disk(): Uint8Array {
  const d = new Uint8Array(1 << 20);
  d.fill(0xa5, 100, 5000);
  for (let i = 0; i < 3000; i++) d[200_000 + i] = (i * 7919) & 0xff;
  d[d.length - 1] = 1;
  return d;
}

async function kilnBase(subformat: VmdkSubformat): Promise<Uint8Array> {
  const source = new MemorySource(disk());
  const plan = await planVmdk(source, { subformat });
  const sink = new MemorySink(plan.fileSize);
  await writeVmdk(source, sink, plan);
  return sink.bytes;
}

function qemuBase(subformat: VmdkSubformat): Uint8Array {
  const raw = writeFile(dir, `base-${subformat}.img`, disk());
  const out = join(dir, `base-${subformat}.vmdk`);
  expect(qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, raw, out).status).toBe(0);
  return new Uint8Array(readFileSync(out));
}

/** Header, the first descriptor lines, and the metadata: GD/GT area (sparse) or the whole stream. */
function hotRanges(base: Uint8Array): Array<[number, number]> {
  const view = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const overHead = Number(view.getBigUint64(64, true)) * 512;
  const stream = view.getBigUint64(56, true) === 0xffffffffffffffffn;
  return [[0, 80], [512, 640], stream ? [overHead, base.length] : [21 * 512, overHead]];
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
        const image = await openVmdk(new MutatedSource(base, m));
        await vmdkToRaw(image, new DiscardSink(image.size));
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

describe('VMDK reader fuzzing', () => {
  for (const subformat of ['monolithicSparse', 'streamOptimized'] as const) {
    it(
      `kiln ${subformat}: ${RUNS} mutated inputs read or fail with a KilnError`,
      async () => {
        const base = await kilnBase(subformat);
        const r = await readsOrFailsCleanly(base, hotRanges(base));
        console.log(
          `vmdk fuzz (kiln ${subformat}): ${RUNS} cases, ${r.ok} read, ${r.failed} refused, ${r.rate} cases/s`,
        );
        expect(r.failed).toBeGreaterThan(0);
      },
      Math.max(120_000, RUNS * 10),
    );

    it(
      `qemu-img ${subformat}: ${RUNS} mutated inputs read or fail with a KilnError`,
      async () => {
        const base = qemuBase(subformat);
        const r = await readsOrFailsCleanly(base, hotRanges(base));
        console.log(
          `vmdk fuzz (qemu-img ${subformat}): ${RUNS} cases, ${r.ok} read, ${r.failed} refused, ${r.rate} cases/s`,
        );
        expect(r.ok + r.failed).toBe(RUNS);
      },
      Math.max(120_000, RUNS * 10),
    );
  }
});
