// Test helpers shared by the VDI, VMDK and conversion tests: random sparse raw disks, qemu-img,
// and a sink that discards (for fuzzing readers without allocating their virtual disk).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FormatError } from '../../../src/errors.js';
import type { BlockSink } from '../../../src/formats/io/block-writer.js';
import type { Content } from '../../../src/formats/io/content.js';
import { readContent } from '../../../src/formats/io/content.js';
import { tool } from '../../_helpers.js';

/** A random sparse disk description: size and a few extents of pseudo-random (or constant) data. */
export interface DiskSpec {
  size: number;
  extents: Array<{ at: number; length: number; seed: number; constant: boolean }>;
}

/** Disks up to ~10 MiB; sizes often not multiples of 1 MiB or 64 KiB, sometimes not of 512. */
export const diskSpec: fc.Arbitrary<DiskSpec> = fc
  .record({
    sectors: fc.oneof(fc.integer({ min: 1, max: 20480 }), fc.constantFrom(1, 127, 128, 129, 2047, 2048, 2049, 4096)),
    oddTail: fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 511 }) },
    ),
    extents: fc.array(
      fc.record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        length: fc.integer({ min: 1, max: 300_000 }),
        seed: fc.integer(),
        constant: fc.boolean(),
      }),
      { maxLength: 6 },
    ),
  })
  .map(({ sectors, oddTail, extents }) => {
    const size = oddTail ? (sectors - 1) * 512 + oddTail : sectors * 512;
    return {
      size,
      extents: extents.map((e) => {
        const at = Math.min(size - 1, Math.floor(e.at * size));
        return { at, length: Math.min(e.length, size - at), seed: e.seed, constant: e.constant };
      }),
    };
  });

/** Materializes a disk spec (xorshift bytes, or a constant non-zero byte). */
export function makeDisk(spec: DiskSpec): Uint8Array {
  const disk = new Uint8Array(spec.size);
  for (const e of spec.extents) {
    let x = (e.seed | 1) >>> 0;
    for (let i = 0; i < e.length; i++) {
      if (e.constant) {
        disk[e.at + i] = (e.seed & 0xff) | 1;
        continue;
      }
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      disk[e.at + i] = x & 0xff;
    }
  }
  return disk;
}

/** `bytes` padded with zeros to a multiple of 512 (what qemu-img and kiln present as the disk). */
export function padToSector(bytes: Uint8Array): Uint8Array {
  const size = Math.ceil(bytes.length / 512) * 512;
  if (size === bytes.length) return bytes;
  const out = new Uint8Array(size);
  out.set(bytes);
  return out;
}

export function writeFile(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Runs qemu-img; returns exit status and output. */
export function qemuImg(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = tool(['qemu-img', ...args], { timeoutMs: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A sink that discards what it receives (counts bytes); used to fuzz readers of huge virtual disks. */
export class DiscardSink implements BlockSink {
  readonly size: number;
  bytesWritten = 0;
  constructor(size: number) {
    this.size = size;
  }
  async write(offset: number, data: Uint8Array): Promise<void> {
    if (offset < 0 || offset + data.length > this.size)
      throw new RangeError(`write outside the sink: ${offset}+${data.length} > ${this.size}`);
    this.bytesWritten += data.length;
  }
  async writeContent(offset: number, content: Content): Promise<void> {
    let at = offset;
    for await (const chunk of readContent(content)) {
      await this.write(at, chunk);
      at += chunk.length;
    }
  }
}

/** Byte mutations for fuzzing: set bytes (biased to the `hot` byte ranges: headers, maps), then maybe truncate. */
export function mutationArb(
  length: number,
  hot: Array<[number, number]>,
): fc.Arbitrary<{ edits: Array<[number, number]>; cut: number | null }> {
  const ranges = hot
    .map(([from, to]) => [Math.min(from, length - 1), Math.min(to, length)] as const)
    .filter(([from, to]) => to > from);
  const pos = fc.oneof(
    ...ranges.map(([from, to]) => ({ weight: 3, arbitrary: fc.integer({ min: from, max: to - 1 }) })),
    { weight: 1, arbitrary: fc.integer({ min: 0, max: length - 1 }) },
  );
  return fc.record({
    edits: fc.array(
      fc.tuple(pos, fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80, 1))),
      { minLength: 1, maxLength: 8 },
    ),
    cut: fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: length }) },
    ),
  });
}

export function applyMutation(base: Uint8Array, m: { edits: Array<[number, number]>; cut: number | null }): Uint8Array {
  const bytes = base.slice(0, m.cut ?? base.length);
  for (const [at, value] of m.edits) if (at < bytes.length) bytes[at] = value;
  return bytes;
}

/** Fast byte equality (vitest's toEqual walks typed arrays element by element); reports the first difference. */
export function sameBytes(actual: Uint8Array, expected: Uint8Array): string {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  if (
    Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(
      Buffer.from(expected.buffer, expected.byteOffset, expected.length),
    )
  )
    return 'same';
  let i = 0;
  while (actual[i] === expected[i]) i++;
  return `first difference at ${i}: ${actual[i]} != ${expected[i]}`;
}

/**
 * A BlockSource over `base` with byte edits and a truncation applied lazily (no copy of the
 * whole image per fuzz case; ranges without edits are views of `base`).
 */
export class MutatedSource {
  readonly size: number;
  private readonly base: Uint8Array;
  private readonly edits: Array<[number, number]>;
  constructor(base: Uint8Array, m: { edits: Array<[number, number]>; cut: number | null }) {
    this.base = base;
    this.size = m.cut ?? base.length;
    this.edits = m.edits.filter(([at]) => at < this.size);
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      throw new FormatError(
        'image',
        'TRUNCATED',
        `needs ${length} bytes at offset ${offset}, the input has ${this.size}`,
        { offset },
      );
    }
    const hits = this.edits.filter(([at]) => at >= offset && at < offset + length);
    if (hits.length === 0) return this.base.subarray(offset, offset + length);
    const out = this.base.slice(offset, offset + length);
    for (const [at, value] of hits) out[at - offset] = value;
    return out;
  }
  async close(): Promise<void> {}
}
