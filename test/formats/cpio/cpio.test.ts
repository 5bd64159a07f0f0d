import {
  mkdirSync,
  readFileSync,
  readdirSync,
  lstatSync,
  readlinkSync,
  writeFileSync,
  statSync,
  existsSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cpioToTree,
  extractCpio,
  layoutCpio,
  readCpio,
  writeCpio,
  writeCpioFile,
} from '../../../src/formats/cpio/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { FileSource } from '../../../src/formats/io/block-source.js';
import { fileContent } from '../../../src/formats/io/content.js';
import { buildTree, treeFromDirectory, type FileTree, type TreeEntry } from '../../../src/formats/io/tree.js';
import { FormatError, KilnError } from '../../../src/errors.js';
import { tempDir } from '../../_helpers.js';
import { describeTree, treeArb } from './_tree.js';

async function toBytes(tree: FileTree, options: Parameters<typeof layoutCpio>[1] = {}): Promise<Uint8Array> {
  const layout = layoutCpio(tree, options);
  const sink = new MemorySink(layout.size);
  await writeCpio(sink, tree, options);
  return sink.bytes;
}

const sample = () =>
  buildTree({
    init: { kind: 'file', content: new TextEncoder().encode('#!/bin/sh\necho hi\n'), mode: 0o755 },
    'etc/motd': 'hello kozo\n',
    'bin/sh': { kind: 'symlink', target: 'busybox' },
    'bin/busybox': { kind: 'file', content: new Uint8Array(5000).map((_, i) => (i * 7) & 0xff), mode: 0o755 },
    'dev/console': { kind: 'char', major: 5, minor: 1, mode: 0o600 },
    'dev/sda': { kind: 'block', major: 8, minor: 0, mode: 0o660, gid: 6 },
    'run/initctl': { kind: 'fifo', mode: 0o600 },
    empty: new Uint8Array(0),
    tmp: { kind: 'dir', mode: 0o1777 },
  });

describe('cpio writer', () => {
  it('writes the exact newc bytes for a one-file archive', async () => {
    const bytes = await toBytes(buildTree({ a: 'x' }), { epoch: 0x5f5e1000, blockSize: 4 });
    const text = Buffer.from(bytes).toString('latin1');
    // ino 1, mode 100644, uid 0, gid 0, nlink 1, mtime, size 1, dev 0 0, rdev 0 0, namesize 2, check 0
    expect(text.slice(0, 110)).toBe(
      `070701${['00000001', '000081A4', '00000000', '00000000', '00000001', '5F5E1000', '00000001', '00000000', '00000000', '00000000', '00000000', '00000002', '00000000'].join('')}`,
    );
    expect(text.slice(110, 112)).toBe('a\0');
    expect(text.slice(112, 113)).toBe('x');
    expect(text.slice(116, 122)).toBe('070701');
    expect(text.slice(116 + 110, 116 + 121)).toBe('TRAILER!!!\0');
    expect(bytes.length % 4).toBe(0);
    expect(bytes.length).toBe(116 + 124);
  });

  it('pads to 512 bytes by default and lays out before writing', async () => {
    const layout = layoutCpio(sample(), { epoch: 1 });
    expect(layout.size % 512).toBe(0);
    expect(layout.entries.map((e) => e.name)).toEqual([
      'bin',
      'bin/busybox',
      'bin/sh',
      'dev',
      'dev/console',
      'dev/sda',
      'empty',
      'etc',
      'etc/motd',
      'init',
      'run',
      'run/initctl',
      'tmp',
    ]);
    expect(layout.entries.map((e) => e.fields.ino)).toEqual([...Array(13).keys()].map((i) => i + 1));
    for (const e of layout.entries) expect(e.headerOffset % 4).toBe(0);
  });

  it('round-trips every entry kind through its own reader', async () => {
    const tree = sample();
    const bytes = await toBytes(tree, { epoch: 1234 });
    expect(await describeTree(await cpioToTree(bytes))).toEqual(await describeTree(tree, { mtime: 1234 }));
    const archive = await readCpio(bytes);
    expect(archive.format).toBe('newc');
    const dev = archive.entries.find((e) => e.path === 'dev')!;
    expect(dev.nlink).toBe(2);
    expect(archive.entries.find((e) => e.path === 'dev/console')).toMatchObject({
      kind: 'char',
      rdevMajor: 5,
      rdevMinor: 1,
    });
  });

  it('writes 070702 with data sums and verifies them when reading', async () => {
    const bytes = await toBytes(sample(), { format: 'crc', epoch: 1 });
    expect(Buffer.from(bytes.subarray(0, 6)).toString()).toBe('070702');
    const archive = await readCpio(bytes);
    expect(archive.format).toBe('crc');
    const busybox = archive.entries.find((e) => e.path === 'bin/busybox')!;
    let sum = 0;
    for (let i = 0; i < 5000; i++) sum += (i * 7) & 0xff;
    expect(busybox.check).toBe(sum);
    const damaged = new Uint8Array(bytes);
    damaged[busybox.dataOffset + 10]! ^= 0xff;
    await expect(readCpio(damaged)).rejects.toMatchObject({ code: 'CPIO_BAD_CHECKSUM' });
  });

  it('round-trips random trees (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        treeArb,
        fc.constantFrom('newc' as const, 'crc' as const),
        fc.integer({ min: 0, max: 0xffffffff }),
        async (tree, format, epoch) => {
          const bytes = await toBytes(tree, { format, epoch });
          expect(await describeTree(await cpioToTree(bytes))).toEqual(await describeTree(tree, { mtime: epoch }));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is reproducible: the same tree and epoch give identical bytes', async () => {
    const a = await toBytes(sample(), { epoch: 99 });
    const b = await toBytes(sample(), { epoch: 99 });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const c = await toBytes(sample(), { epoch: 100 });
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('takes SOURCE_DATE_EPOCH when no epoch is given', async () => {
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    try {
      const archive = await readCpio(await toBytes(buildTree({ a: 'x' })));
      expect(archive.entries[0]!.mtime).toBe(1700000000);
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
  });

  it('streams host files and writes a file atomically', async () => {
    const dir = tempDir();
    const big = new Uint8Array(3 << 20).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
    writeFileSync(join(dir, 'big.bin'), big);
    const out = join(dir, 'out.cpio');
    const result = await writeCpioFile(
      out,
      buildTree({ 'boot/big.bin': await fileContent(join(dir, 'big.bin')), x: 'y' }),
      { epoch: 0, format: 'crc' },
    );
    expect(statSync(out).size).toBe(result.size);
    const source = await FileSource.open(out);
    try {
      const tree = await cpioToTree(source);
      const entry = tree.get('boot/big.bin');
      expect(entry?.kind === 'file' && Buffer.from(entry.content as Uint8Array).equals(Buffer.from(big))).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('refuses values newc cannot store, with codes and hints', async () => {
    expect(() => layoutCpio(buildTree({ a: { kind: 'file', content: new Uint8Array(1), mtime: -1 } }))).toThrow(
      expect.objectContaining({ code: 'CPIO_FIELD_RANGE' }),
    );
    expect(() => layoutCpio(buildTree({ a: { kind: 'file', content: new Uint8Array(1), uid: 2 ** 32 } }))).toThrow(
      /fits in 32 bits|0 to 4294967295/,
    );
    expect(() =>
      layoutCpio(buildTree({ a: { kind: 'file', content: { kind: 'file', path: '/dev/null', size: 2 ** 32 + 5 } } })),
    ).toThrow(/6 bytes over/);
    expect(() => layoutCpio(buildTree({ ['d/'.repeat(2100) + 'f']: 'x' }))).toThrow(
      expect.objectContaining({ code: 'CPIO_NAME_TOO_LONG' }),
    );
    expect(() => layoutCpio(buildTree({ l: { kind: 'symlink', target: '' } }))).toThrow(
      expect.objectContaining({ code: 'CPIO_BAD_SYMLINK' }),
    );
  });
});

describe('cpio reader', () => {
  it('refuses truncated archives, bad magic and old formats with offsets', async () => {
    const bytes = await toBytes(sample(), { epoch: 1, blockSize: 4 });
    const cut = bytes.subarray(0, bytes.length - 20);
    await expect(readCpio(cut)).rejects.toBeInstanceOf(FormatError);
    await expect(readCpio(cut)).rejects.toMatchObject({ code: expect.stringMatching(/TRUNCATED/) });
    await expect(readCpio(new Uint8Array([0xc7, 0x71, ...new Uint8Array(200)]))).rejects.toMatchObject({
      code: 'CPIO_BAD_MAGIC',
      hint: expect.stringMatching(/binary/),
    });
    const badHex = new Uint8Array(bytes);
    badHex[20] = 0x47; // 'G'
    await expect(readCpio(badHex)).rejects.toMatchObject({ code: 'CPIO_BAD_HEADER', location: { offset: 20 } });
  });

  it('extracts safely and identically', async () => {
    const dir = tempDir();
    const bytes = await toBytes(sample(), { epoch: 1000000 });
    const out = join(dir, 'x');
    const result = await extractCpio(bytes, out);
    expect(result.skipped.map((s) => s.path).sort()).toEqual(['dev/console', 'dev/sda', 'run/initctl']);
    expect(readFileSync(join(out, 'etc/motd'), 'utf8')).toBe('hello kozo\n');
    expect(readlinkSync(join(out, 'bin/sh'))).toBe('busybox');
    expect(statSync(join(out, 'init')).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, 'tmp')).mode & 0o1777).toBe(0o1777);
    expect(statSync(join(out, 'init')).mtimeMs).toBe(1000000 * 1000);
    await expect(extractCpio(bytes, out)).rejects.toMatchObject({ code: 'CPIO_EXISTS' });
  });

  it('refuses .., absolute names and paths through symlinks; writes nothing outside', async () => {
    const dir = tempDir();
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const hostile = async (names: Array<[string, string | { kind: 'symlink'; target: string }]>) => {
      // Build the archive by hand-editing names: the writer itself refuses '..'.
      const tree = buildTree(
        names.map(([n, v], i): [string, string | TreeEntry] => [
          `n${i}${'_'.repeat(Math.max(0, n.length - 1 - String(i).length))}`,
          v,
        ]),
      );
      const bytes = await toBytes(tree, { epoch: 1 });
      const archive = await readCpio(bytes);
      names.forEach(([n], i) => {
        const e = archive.entries[i]!;
        bytes.set(new TextEncoder().encode(n), e.headerOffset + 110);
      });
      return bytes;
    };
    const dotdot = await hostile([['../outside/pwned', 'x']]);
    expect((await readCpio(dotdot)).entries[0]!.name).toBe('../outside/pwned');
    await expect(extractCpio(dotdot, join(dir, 't1'))).rejects.toMatchObject({ code: 'CPIO_PATH_ESCAPES' });
    const abs = await hostile([[`${outside}/abs`.slice(0, 40), 'x']]);
    await expect(extractCpio(abs, join(dir, 't2'))).rejects.toMatchObject({ code: 'CPIO_PATH_ESCAPES' });
    const viaLink = await hostile([
      ['ln', { kind: 'symlink', target: outside }],
      ['ln/f', 'x'],
    ]);
    await expect(extractCpio(viaLink, join(dir, 't3'))).rejects.toMatchObject({ code: 'CPIO_PATH_ESCAPES' });
    // A pre-existing symlink at the final component is never followed.
    mkdirSync(join(dir, 't4'));
    symlinkSync(join(outside, 'target'), join(dir, 't4', 'f'));
    await expect(
      extractCpio(await toBytes(buildTree({ f: 'x' }), { epoch: 1 }), join(dir, 't4')),
    ).rejects.toMatchObject({ code: 'CPIO_EXISTS' });
    await extractCpio(await toBytes(buildTree({ f: 'x' }), { epoch: 1 }), join(dir, 't4'), { overwrite: true });
    expect(lstatSync(join(dir, 't4', 'f')).isFile()).toBe(true);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('reads a host directory into the same tree after extraction', async () => {
    const dir = tempDir();
    const bytes = await toBytes(sample(), { epoch: 5 });
    await extractCpio(bytes, join(dir, 'x'));
    const back = await treeFromDirectory(join(dir, 'x'));
    const original = sample();
    for (const k of ['dev/console', 'dev/sda', 'run/initctl']) original.delete(k);
    const strip = (d: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(d).map(([k, v]) => [k, { ...(v as object), mtime: 0, uid: 0, gid: 0 }]));
    expect(strip(await describeTree(back))).toEqual(strip(await describeTree(original)));
  });

  it('errors are KilnErrors, never crashes, on random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        try {
          await readCpio(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(KilnError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
