// Fuzzes the cpio reader with mutated valid archives: every input either parses or fails with a
// FormatError (code + offset); never an uncaught exception, never a hang.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { layoutCpio, readCpio, writeCpio } from '../../../src/formats/cpio/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { buildTree } from '../../../src/formats/io/tree.js';
import { FormatError } from '../../../src/errors.js';

const RUNS = Number(process.env.KILN_FUZZ_RUNS ?? 80000);

async function seed(format: 'newc' | 'crc'): Promise<Uint8Array> {
  const tree = buildTree({
    init: new Uint8Array(300).map((_, i) => i & 0xff),
    'etc/motd': 'hi\n',
    'bin/sh': { kind: 'symlink', target: 'busybox' },
    'dev/console': { kind: 'char', major: 5, minor: 1 },
    run: { kind: 'dir' },
  });
  const layout = layoutCpio(tree, { format, epoch: 1, blockSize: 4 });
  const sink = new MemorySink(layout.size);
  await writeCpio(sink, tree, { format, epoch: 1, blockSize: 4 });
  return sink.bytes;
}

/** A mutation: flip/set bytes, write hex digits into header fields, truncate, or splice. */
const mutation = (length: number) =>
  fc.oneof(
    fc.record({
      op: fc.constant('set' as const),
      at: fc.nat({ max: length - 1 }),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({
      op: fc.constant('hex' as const),
      at: fc.nat({ max: length - 1 }),
      value: fc.constantFrom(...'0123456789ABCDEFfx'.split('').map((c) => c.charCodeAt(0))),
    }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat({ max: length }), value: fc.constant(0) }),
    fc.record({
      op: fc.constant('dup' as const),
      at: fc.nat({ max: length - 1 }),
      value: fc.integer({ min: 1, max: 300 }),
    }),
  );

function apply(base: Uint8Array, muts: Array<{ op: string; at: number; value: number }>): Uint8Array {
  let bytes = new Uint8Array(base);
  for (const m of muts) {
    if (m.op === 'cut') bytes = bytes.subarray(0, Math.min(m.at, bytes.length));
    else if (m.op === 'dup') {
      const at = Math.min(m.at, bytes.length);
      const piece = bytes.subarray(at, Math.min(bytes.length, at + m.value));
      const next = new Uint8Array(bytes.length + piece.length);
      next.set(bytes.subarray(0, at + piece.length));
      next.set(piece, at + piece.length);
      next.set(bytes.subarray(at + piece.length), at + 2 * piece.length);
      bytes = next;
    } else if (m.at < bytes.length) bytes[m.at] = m.value;
  }
  return bytes;
}

describe('cpio reader fuzz', () => {
  for (const format of ['newc', 'crc'] as const) {
    it(`survives ${RUNS / 2} mutated ${format} archives`, async () => {
      const base = await seed(format);
      let parsed = 0;
      let failed = 0;
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(fc.array(mutation(base.length), { minLength: 1, maxLength: 4 }), async (muts) => {
          const input = apply(base, muts);
          try {
            const archive = await readCpio(input);
            parsed++;
            for (const e of archive.entries) expect(e.dataOffset + e.size).toBeLessThanOrEqual(input.length);
          } catch (error) {
            failed++;
            if (!(error instanceof FormatError)) throw error;
            expect(error.code).toMatch(/^CPIO_|TRUNCATED/);
            expect(error.location?.offset).toBeTypeOf('number');
          }
        }),
        { numRuns: RUNS / 2 },
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `cpio fuzz ${format}: ${RUNS / 2} inputs in ${seconds.toFixed(1)} s (${Math.round(RUNS / 2 / seconds)}/s), ${parsed} parsed, ${failed} refused`,
      );
      expect(parsed).toBeGreaterThan(0);
      expect(failed).toBeGreaterThan(0);
    }, 120_000);
  }
});
