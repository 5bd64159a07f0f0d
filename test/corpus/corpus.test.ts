// Every reader over the hostile-input corpus (test/corpus/_cases.ts): no crash (only a KilnError,
// never a TypeError/RangeError or a hang), valid seeds accepted, refusals carry the byte offset, and
// the cost is bounded by the input's real data: bytes read from the input stay within a small
// multiple of its size (a 1 TiB VDI of 5 MiB included), counted, not timed.
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/errors.js';
import { readCpio, readCpioData } from '../../src/formats/cpio/index.js';
import { openFat } from '../../src/formats/fat/index.js';
import { readGpt } from '../../src/formats/gpt/index.js';
import { MemorySource, dataChunks, type BlockSource } from '../../src/formats/io/block-source.js';
import { readIso, readIsoFileBytes } from '../../src/formats/iso9660/index.js';
import { openVdi } from '../../src/formats/vdi/index.js';
import { openVmdk } from '../../src/formats/vmdk/index.js';
import { corpus, type CorpusCase, type CorpusFormat } from './_cases.js';

/** A source that counts what is read from it. */
class CountingSource implements BlockSource {
  bytesRead = 0;
  reads = 0;
  private readonly inner: MemorySource;
  constructor(bytes: Uint8Array, format: string) {
    this.inner = new MemorySource(bytes, format);
  }
  get size(): number {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.reads++;
    this.bytesRead += length;
    return this.inner.read(offset, length);
  }
  async close(): Promise<void> {}
}

/** Reads everything a user could ask of the input: listings, every file, every data range of a disk. */
const READERS: Record<CorpusFormat, (source: BlockSource) => Promise<void>> = {
  cpio: async (source) => {
    const archive = await readCpio(source);
    for (const e of archive.entries) if (e.kind === 'file') await readCpioData(source, e);
  },
  fat: async (source) => {
    const volume = await openFat(source);
    for (const e of await volume.list()) if (e.kind === 'file') await volume.readFileBytes(e);
  },
  iso9660: async (source) => {
    for (const namespace of ['auto', 'rockridge', 'joliet', 'iso9660'] as const) {
      let image;
      try {
        image = await readIso(source, { namespace });
      } catch (error) {
        if (namespace === 'auto' || !(error instanceof KilnError) || !/NO_(ROCK_RIDGE|JOLIET)/.test(error.code))
          throw error;
        continue;
      }
      for (const e of image.entries) if (e.kind === 'file') await readIsoFileBytes(source, e);
    }
  },
  vdi: async (source) => {
    const disk = await openVdi(source);
    for await (const { offset, length } of dataChunks(disk, 1 << 20, 4 << 20)) await disk.read(offset, length);
  },
  vmdk: async (source) => {
    const disk = await openVmdk(source);
    for await (const { offset, length } of dataChunks(disk, 64 << 10, 4 << 20)) await disk.read(offset, length);
  },
  gpt: async (source) => {
    await readGpt(source);
  },
};

describe('the hostile-input corpus', async () => {
  const cases = await corpus();

  it('has seeds and regression cases for every reader, and stays small', () => {
    const formats = new Set(cases.map((c) => c.format));
    expect([...formats].sort()).toEqual(['cpio', 'fat', 'gpt', 'iso9660', 'vdi', 'vmdk']);
    for (const f of formats)
      expect(
        cases.some((c) => c.format === f && c.valid),
        f,
      ).toBe(true);
    // Generated in memory at each run (nothing binary is committed); the copies of the seeds stay below 384 MiB.
    expect(cases.reduce((n, c) => n + c.bytes.length, 0)).toBeLessThan(384 << 20);
  });

  it.each(cases.map((c): [string, CorpusCase] => [c.name, c]))(
    '%s: accepted or refused with a KilnError at an offset; reads bounded by its size',
    async (_name, c) => {
      const source = new CountingSource(c.bytes, c.format);
      let failure: unknown;
      try {
        await READERS[c.format](source);
      } catch (error) {
        failure = error;
      }
      if (c.valid) expect(failure, String(failure)).toBeUndefined();
      if (failure !== undefined) {
        expect(failure, String((failure as Error)?.stack)).toBeInstanceOf(KilnError);
        const e = failure as KilnError;
        expect(e.code, e.message).toMatch(/^[A-Z0-9_]+$/);
        expect(e.location?.offset, `${e.code}: ${e.message}`).toEqual(expect.any(Number));
      }
      // Cost by real data: a reader never reads much more than the input holds (ISO reads each namespace: 4 passes).
      expect(source.bytesRead).toBeLessThanOrEqual(8 * c.bytes.length + (1 << 20));
    },
  );
});
