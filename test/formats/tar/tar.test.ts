// ustar: kiln's writer round-trips through its reader, GNU tar and bsdtar list and extract what it
// writes, and kiln reads what GNU tar writes (long names via pax / GNU headers included).
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { layoutTar, readTar, tarToTree, writeTar, writeTarFile, splitName } from '../../../src/formats/tar/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { buildTree, sortedPaths, type FileTree } from '../../../src/formats/io/tree.js';
import { encodeUtf8 } from '../../../src/formats/io/bytes.js';
import { FormatError, KilnError } from '../../../src/errors.js';
import { tempDir, tool } from '../../_helpers.js';
import { describeTree, treeArb } from '../cpio/_tree.js';

async function toBytes(tree: FileTree, epoch: number): Promise<Uint8Array> {
  const layout = layoutTar(tree, { epoch });
  const sink = new MemorySink(layout.size);
  await writeTar(sink, tree, { epoch });
  return sink.bytes;
}

/** Random trees within ustar's limits (7-digit octal ids and device numbers, 11-digit mtimes). */
const ustarTreeArb = treeArb.map((tree) => {
  for (const e of tree.values()) {
    if (e.uid !== undefined) e.uid %= 0o7777777;
    if (e.gid !== undefined) e.gid %= 0o7777777;
    if (e.kind === 'char' || e.kind === 'block') {
      e.major %= 0o7777777;
      e.minor %= 0o7777777;
    }
  }
  return tree;
});

const sample = () =>
  buildTree({
    init: { kind: 'file', content: new Uint8Array(70001).map((_, i) => (i * 7) & 0xff), mode: 0o755 },
    'etc/motd': 'hello from ustar\n',
    'bin/sh': { kind: 'symlink', target: '../init' },
    'dev/console': { kind: 'char', major: 5, minor: 1, mode: 0o600 },
    'dev/sda': { kind: 'block', major: 8, minor: 3, mode: 0o660 },
    'run/fifo': { kind: 'fifo' },
    empty: new Uint8Array(0),
    [`deep/${'d'.repeat(90)}/${'n'.repeat(90)}`]: 'long name split into prefix and name\n',
  });

describe('tar writer', () => {
  it('writes a POSIX ustar header with a valid checksum and pads to a 10240-byte record', async () => {
    const bytes = await toBytes(buildTree({ 'a.txt': 'hi' }), 0o1234);
    const latin = (a: number, b: number) => new TextDecoder('latin1').decode(bytes.subarray(a, b));
    expect(bytes.length).toBe(10240);
    expect(latin(0, 5)).toBe('a.txt');
    expect(latin(100, 108)).toBe('0000644\0');
    expect(latin(124, 136)).toBe('00000000002\0');
    expect(latin(136, 148)).toBe('00000001234\0');
    expect(latin(156, 157)).toBe('0');
    expect(latin(257, 265)).toBe('ustar\x0000');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : bytes[i]!;
    expect(latin(148, 156)).toBe(`${sum.toString(8).padStart(6, '0')}\0 `);
    expect(latin(512, 514)).toBe('hi');
    expect(bytes.subarray(514).every((b) => b === 0)).toBe(true);
  });

  it('round-trips random trees through its own reader (property)', async () => {
    await fc.assert(
      fc.asyncProperty(ustarTreeArb, fc.integer({ min: 0, max: 0xffffffff }), async (tree, epoch) => {
        const bytes = await toBytes(tree, epoch);
        expect(await describeTree(await tarToTree(bytes))).toEqual(await describeTree(tree, { mtime: epoch }));
      }),
      { numRuns: 150 },
    );
  });

  it('is reproducible: SOURCE_DATE_EPOCH is the default mtime and the same tree gives the same bytes', async () => {
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    try {
      const layout = layoutTar(sample());
      const a = new MemorySink(layout.size);
      await writeTar(a, sample());
      const b = new MemorySink(layout.size);
      await writeTar(b, sample());
      expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
      expect((await readTar(a.bytes)).entries.every((e) => e.mtime === 1700000000 && e.uid === 0 && e.gid === 0)).toBe(
        true,
      );
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
  });

  it('splits long names at a slash and refuses what ustar cannot store', () => {
    const split = splitName(encodeUtf8(`${'p'.repeat(150)}/${'n'.repeat(99)}`))!;
    expect(split.prefix.length).toBe(150);
    expect(split.name.length).toBe(99);
    expect(splitName(encodeUtf8('x'.repeat(101)))).toBeUndefined();
    expect(() => layoutTar(buildTree({ [`d/${'x'.repeat(101)}`]: 'a' }))).toThrow(
      expect.objectContaining({ code: 'TAR_NAME_TOO_LONG' }),
    );
    expect(() => layoutTar(buildTree({ l: { kind: 'symlink', target: 't'.repeat(101) } }))).toThrow(
      expect.objectContaining({ code: 'TAR_BAD_SYMLINK' }),
    );
    expect(() => layoutTar(buildTree({ f: { kind: 'file', content: new Uint8Array(1), uid: 0o10000000 } }))).toThrow(
      KilnError,
    );
  });
});

describe('host tools accept kiln tar archives', () => {
  for (const reader of ['tar', 'bsdtar'] as const) {
    it(`${reader} -tvf lists and -xf extracts them`, async () => {
      const dir = tempDir();
      const tree = sample();
      const archive = join(dir, 'a.tar');
      await writeTarFile(archive, tree, { epoch: 1600000000 });
      const listing = tool([reader, '-tvf', archive]);
      expect(listing.stderr).toBe('');
      expect(listing.status).toBe(0);
      const lines = listing.stdout.trimEnd().split('\n');
      const nameOf =
        reader === 'tar' ? /^\S+ \S+ +\S+ \d{4}-\d\d-\d\d \d\d:\d\d (.*)$/ : /^.*? [A-Z][a-z]{2} +\d+ +\d{4} (.*)$/;
      const names = lines.map((l) => nameOf.exec(l)?.[1] ?? l);
      const expected = sortedPaths(tree).map((p) =>
        tree.get(p)!.kind === 'dir' && reader === 'tar' ? `${p}/` : p === 'bin/sh' ? 'bin/sh -> ../init' : p,
      );
      expect(names.map((n) => n.replace(/\/$/, ''))).toEqual(expected.map((n) => n.replace(/\/$/, '')));
      expect(lines.find((l) => l.endsWith(' dev/sda'))).toMatch(/^brw-rw---- .* 8,3 /);
      const out = join(dir, 'x');
      mkdirSync(out);
      const ex = tool([reader, '-xf', archive, '--exclude', 'dev/*'], { cwd: out });
      expect(ex.stderr).toBe('');
      expect(ex.status).toBe(0);
      expect(
        Buffer.compare(
          readFileSync(join(out, 'init')),
          Buffer.from(new Uint8Array(70001).map((_, i) => (i * 7) & 0xff)),
        ),
      ).toBe(0);
      expect(lstatSync(join(out, 'init')).mtimeMs).toBe(1600000000 * 1000);
      expect(lstatSync(join(out, 'init')).mode & 0o777).toBe(0o755);
      expect(readlinkSync(join(out, 'bin/sh'))).toBe('../init');
      expect(lstatSync(join(out, 'run/fifo')).isFIFO()).toBe(true);
      expect(readFileSync(join(out, `deep/${'d'.repeat(90)}/${'n'.repeat(90)}`), 'utf8')).toBe(
        'long name split into prefix and name\n',
      );
    });
  }
});

describe('tar reader', () => {
  for (const format of ['ustar', 'pax', 'gnu'] as const) {
    it(`reads GNU tar --format=${format} archives`, async () => {
      const dir = tempDir();
      const src = join(dir, 'src');
      const long = format === 'ustar' ? 'short' : 'L'.repeat(150);
      mkdirSync(join(src, 'a/b'), { recursive: true });
      writeFileSync(
        join(src, 'a/b/data.bin'),
        new Uint8Array(10001).map((_, i) => (i * 13) & 0xff),
      );
      writeFileSync(join(src, `a/${long}`), 'x');
      symlinkSync('b/data.bin', join(src, 'a/link'));
      chmodSync(join(src, `a/${long}`), 0o640);
      const r = tool(['tar', `--format=${format}`, '--sort=name', '-cf', join(dir, 'gnu.tar'), 'a'], { cwd: src });
      expect(r.stderr).toBe('');
      const bytes = new Uint8Array(readFileSync(join(dir, 'gnu.tar')));
      const archive = await readTar(bytes);
      expect(archive.dialect).toBe(format === 'gnu' ? 'gnu' : 'ustar');
      expect(archive.entries.map((e) => e.path).sort()).toEqual(
        ['a', `a/${long}`, 'a/b', 'a/b/data.bin', 'a/link'].sort(),
      );
      const d = (await describeTree(await tarToTree(bytes))) as Record<
        string,
        { content?: string; target?: string; mode: number }
      >;
      expect(d['a/b/data.bin']!.content).toBe(Buffer.from(readFileSync(join(src, 'a/b/data.bin'))).toString('hex'));
      expect(d['a/link']!.target).toBe('b/data.bin');
      expect(d[`a/${long}`]!.mode).toBe(0o640);
    });
  }

  it('refuses damaged and truncated archives with a FormatError and an offset, never anything else (property)', async () => {
    const base = await toBytes(sample(), 1);
    const cut = base.subarray(0, 1000);
    await expect(readTar(cut)).rejects.toMatchObject({ code: 'TAR_TRUNCATED' });
    const bad = new Uint8Array(base);
    bad[10] = bad[10]! ^ 1;
    await expect(readTar(bad)).rejects.toMatchObject({ code: 'TAR_BAD_CHECKSUM', location: { offset: 148 } });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 4095 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: base.length }),
        async (muts, len) => {
          const input = new Uint8Array(base.subarray(0, Math.max(len, 1)));
          for (const [at, v] of muts) if (at < input.length) input[at] = v;
          try {
            await readTar(input);
          } catch (error) {
            expect(error).toBeInstanceOf(FormatError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
