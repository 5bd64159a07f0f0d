// SparseFileSink gathers writes in a buffer and leaves holes for zero blocks in places never
// written. These tests check that the file it commits always equals what the same writes give in
// memory (patches, overlaps, zeros over data, content larger than the buffer), and that holes stay holes.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemorySink, SparseFileSink, SubSink, writeImageFile } from '../../../src/formats/io/block-writer.js';
import type { Content } from '../../../src/formats/io/content.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Op = { offset: number; kind: 'bytes' | 'file'; data: Uint8Array; toString?: () => string };

/** Applies the same operations to a file sink and a memory sink; returns both results. */
async function apply(size: number, ops: Op[], name: string): Promise<{ file: Uint8Array; memory: Uint8Array }> {
  const memory = new MemorySink(size);
  const path = join(dir, name);
  let n = 0;
  const contentOf = (op: Op): Content => {
    if (op.kind === 'bytes') return op.data;
    const src = join(dir, `${name}.src${n++}`);
    writeFileSync(src, op.data);
    return { kind: 'file', path: src, size: op.data.length };
  };
  await writeImageFile(path, size, async (sink) => {
    for (const op of ops) {
      const content = contentOf(op);
      if (op.kind === 'bytes') {
        await sink.write(op.offset, op.data);
        await memory.write(op.offset, op.data);
      } else {
        await sink.writeContent(op.offset, content);
        await memory.writeContent(op.offset, content);
      }
    }
  });
  return { file: new Uint8Array(readFileSync(path)), memory: memory.bytes };
}

describe('SparseFileSink', () => {
  it('gives the same bytes as memory for random writes, patches, zeros over data and content larger than its buffer', async () => {
    const size = 6 << 20;
    const big = SparseFileSink.BUFFER_SIZE + 12345;
    const op = fc
      .record({
        offset: fc.integer({ min: 0, max: size - 1 }),
        kind: fc.constantFrom<'bytes' | 'file'>('bytes', 'file'),
        length: fc.oneof(fc.integer({ min: 0, max: 9000 }), fc.constant(big)),
        fill: fc.constantFrom('zero', 'random', 'mixed'),
        seed: fc.integer({ min: 1, max: 255 }),
      })
      .map(({ offset, kind, length, fill, seed }): Op => {
        const len = Math.min(length, size - offset);
        const data = new Uint8Array(len);
        if (fill !== 'zero')
          for (let i = 0; i < len; i++)
            data[i] = fill === 'mixed' && (i >> 12) % 2 === 0 ? 0 : (i * seed + 7) & 0xff || 1;
        // A short form for fast-check's report (the data itself is megabytes).
        return { offset, kind, data, toString: () => `${kind}@${offset}+${len}:${fill}/${seed}` };
      });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const { file, memory } = await apply(size, ops, `prop${run++}.img`);
        const differs = file.findIndex((b, i) => b !== memory[i]);
        if (differs >= 0) throw new Error(`byte ${differs} differs after ${ops.map(String).join(', ')}`);
      }),
      {
        numRuns: 60,
        reporter: (r) => {
          if (r.failed)
            throw new Error(
              `${String((r as { errorInstance?: unknown }).errorInstance)} (seed ${r.seed}, counterexample ${String(r.counterexample)})`,
            );
        },
      },
    );
  });

  it('writes zeros that overwrite earlier data (they are not mistaken for holes)', async () => {
    const ones = new Uint8Array(8192).fill(1);
    const zeros = new Uint8Array(8192);
    const { file } = await apply(
      1 << 20,
      [
        { offset: 4096, kind: 'bytes', data: ones },
        { offset: 4096 * 10, kind: 'bytes', data: ones },
        { offset: 4096, kind: 'file', data: zeros },
        { offset: 4096 * 10, kind: 'bytes', data: zeros },
      ],
      'zero-over.img',
    );
    expect(file.every((b) => b === 0)).toBe(true);
  });

  it('leaves a 1 GiB image with 4 MiB of data (and 64 MiB of written zeros) as holes, through a SubSink too', async () => {
    const path = join(dir, 'sparse.img');
    const data = new Uint8Array(4 << 20).fill(0xa5);
    const src = join(dir, 'zeros.src');
    writeFileSync(src, new Uint8Array(64 << 20));
    await writeImageFile(path, 1 << 30, async (sink) => {
      await sink.write(512 << 20, data);
      await new SubSink(sink, 1 << 20, 100 << 20).writeContent(0, { kind: 'file', path: src, size: 64 << 20 });
    });
    const st = statSync(path);
    expect(st.size).toBe(1 << 30);
    expect(st.blocks * 512).toBeLessThan(8 << 20);
  });

  it('leaves nothing behind when the fill fails', async () => {
    const path = join(dir, 'fails.img');
    await expect(
      writeImageFile(path, 1 << 20, async (sink) => {
        await sink.write(0, new Uint8Array(10).fill(1));
        await sink.write((1 << 20) - 2, new Uint8Array(10));
      }),
    ).rejects.toThrow(/outside the 1048576-byte image/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('fails.img'))).toEqual([]);
  });
});
