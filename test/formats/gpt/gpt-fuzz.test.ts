// Fuzzes the GPT reader: mutated valid disks (some with CRCs recomputed so the field checks behind
// them are reached) either list or fail with a FormatError; never an uncaught exception or a hang.
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { layoutGpt, readGpt, writeGpt } from '../../../src/formats/gpt/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { FormatError } from '../../../src/errors.js';

const RUNS = Number(process.env.KILN_FUZZ_RUNS ?? 30000);

describe('gpt reader fuzz', () => {
  it(`survives ${RUNS} mutated disks`, async () => {
    const layout = layoutGpt({
      size: 160 * 512,
      alignment: 512,
      seed: 'fuzz',
      partitions: [
        { type: 'esp', size: 20 * 512, name: 'a' },
        { type: 'linux', name: 'b' },
      ],
    });
    const sink = new MemorySink(layout.size);
    await writeGpt(sink, layout);
    const base = sink.bytes;
    const total = base.length / 512;
    // Interesting places: protective MBR records, both headers, the first entries of both arrays.
    const spots = [
      446,
      462,
      512,
      512 + 92,
      1024,
      1024 + 256,
      (total - 33) * 512,
      (total - 33) * 512 + 256,
      (total - 1) * 512,
      (total - 1) * 512 + 92,
    ];
    const mutation = fc.record({
      spot: fc.constantFrom(...spots.map((s, i) => [s, i % 2 === 0 ? 16 : 256] as const)),
      delta: fc.nat({ max: 255 }),
      value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x80, 1)),
      reseal: fc.boolean(),
    });
    const work = new Uint8Array(base);
    let listed = 0;
    let refused = 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 5 }), fc.nat({ max: 3 }), async (muts, cut) => {
        // Mutate a working copy in place and restore the touched sectors afterwards (cheaper than copying the disk).
        const bytes = work;
        bytes.set(base.subarray(0, 33 * 512 + 1024), 0);
        bytes.set(base.subarray((total - 33) * 512), (total - 33) * 512);
        let reseal = false;
        for (const m of muts) {
          bytes[(m.spot[0] + (m.delta % m.spot[1])) % bytes.length] = m.value;
          reseal ||= m.reseal;
        }
        if (reseal) {
          const view = Buffer.from(bytes.buffer);
          for (const [h, arr] of [
            [512, 1024],
            [(total - 1) * 512, (total - 33) * 512],
          ] as const) {
            view.writeUInt32LE(zlibCrc32(bytes.subarray(arr, arr + 16384)) >>> 0, h + 88);
            view.writeUInt32LE(0, h + 16);
            view.writeUInt32LE(zlibCrc32(bytes.subarray(h, h + 92)) >>> 0, h + 16);
          }
        }
        const input = cut === 0 ? bytes.subarray(0, bytes.length - 512 * (1 + (muts[0]!.delta % 40))) : bytes;
        try {
          const info = await readGpt(input);
          listed++;
          for (const p of info.partitions) expect(p.lastLba).toBeGreaterThanOrEqual(p.firstLba);
        } catch (error) {
          refused++;
          if (!(error instanceof FormatError)) throw error;
          expect(error.code).toMatch(/^GPT_/);
        }
      }),
      { numRuns: RUNS },
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `gpt fuzz: ${RUNS} inputs in ${seconds.toFixed(1)} s (${Math.round(RUNS / seconds)}/s), ${listed} listed, ${refused} refused`,
    );
    expect(listed).toBeGreaterThan(0);
  }, 300_000);
});
