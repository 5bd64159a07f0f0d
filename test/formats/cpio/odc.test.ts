// The old portable ASCII cpio format (odc, 070707): kiln writes it, reads it, GNU cpio agrees.
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpioToTree, layoutCpio, readCpio, writeCpio, writeCpioFile } from '../../../src/formats/cpio/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { buildTree, sortedPaths, type FileTree } from '../../../src/formats/io/tree.js';
import { KilnError } from '../../../src/errors.js';
import { tempDir, tool } from '../../_helpers.js';
import { describeTree, treeArb } from './_tree.js';

async function toBytes(tree: FileTree, epoch: number): Promise<Uint8Array> {
  const layout = layoutCpio(tree, { format: 'odc', epoch });
  const sink = new MemorySink(layout.size);
  await writeCpio(sink, tree, { format: 'odc', epoch });
  return sink.bytes;
}

/** Random trees squeezed into odc's limits (6-digit octal ids, rdev = major << 8 | minor in 18 bits). */
const odcTreeArb = treeArb.map((tree) => {
  for (const e of tree.values()) {
    if (e.uid !== undefined) e.uid %= 0o777777;
    if (e.gid !== undefined) e.gid %= 0o777777;
    if (e.kind === 'char' || e.kind === 'block') {
      e.major %= 1024;
      e.minor %= 256;
    }
  }
  return tree;
});

describe('cpio odc (070707)', () => {
  it('lays out a 76-byte octal header with no padding before or after the data', async () => {
    const bytes = await toBytes(
      buildTree({ hello: { kind: 'file', content: new TextEncoder().encode('hi!'), mode: 0o644 } }),
      0o1234,
    );
    const text = new TextDecoder('latin1').decode(bytes.subarray(0, 76 + 6 + 3));
    // magic dev ino mode uid gid nlink rdev mtime namesize filesize, name+NUL, data
    expect(text).toBe(
      '070707' +
        '000000' +
        '000001' +
        '100644' +
        '000000' +
        '000000' +
        '000001' +
        '000000' +
        '00000001234' +
        '000006' +
        '00000000003' +
        'hello\0hi!',
    );
    expect(new TextDecoder().decode(bytes.subarray(85, 85 + 6))).toBe('070707');
    expect(bytes.length % 512).toBe(0);
  });

  it('round-trips random trees through its own reader (property)', async () => {
    await fc.assert(
      fc.asyncProperty(odcTreeArb, fc.integer({ min: 0, max: 0o77777777777 }), async (tree, epoch) => {
        const bytes = await toBytes(tree, epoch);
        const archive = await readCpio(bytes);
        expect(archive.format).toBe('odc');
        expect(await describeTree(await cpioToTree(bytes))).toEqual(await describeTree(tree, { mtime: epoch }));
      }),
      { numRuns: 150 },
    );
  });

  it('refuses values odc cannot store, naming the field', async () => {
    const big = buildTree({ f: { kind: 'file', content: new Uint8Array(1), uid: 0o1000000 } });
    expect(() => layoutCpio(big, { format: 'odc' })).toThrow(KilnError);
    expect(() => layoutCpio(big, { format: 'odc' })).toThrow(/uid .* odc stores whole numbers from 0 to 262143/);
    const dev = buildTree({ d: { kind: 'char', major: 1, minor: 300 } });
    expect(() => layoutCpio(dev, { format: 'odc' })).toThrow(/minor/);
    // The same values are fine in newc.
    expect(() => layoutCpio(big, { format: 'newc' })).not.toThrow();
  });

  it('GNU cpio -itv lists and -idm extracts kiln odc archives', async () => {
    const dir = tempDir();
    const tree = buildTree({
      init: { kind: 'file', content: new Uint8Array(70001).map((_, i) => (i * 3) & 0xff), mode: 0o755 },
      'etc/motd': 'odc\n',
      'bin/sh': { kind: 'symlink', target: '../init' },
      'dev/console': { kind: 'char', major: 5, minor: 1, mode: 0o600 },
      'dev/sda': { kind: 'block', major: 8, minor: 3, mode: 0o660 },
      'run/fifo': { kind: 'fifo' },
    });
    const archive = join(dir, 'a.cpio');
    await writeCpioFile(archive, tree, { format: 'odc', epoch: 1600000000 });
    const listing = tool(['cpio', '-itv', '--quiet', '-F', archive]);
    expect(listing.stderr).toBe('');
    expect(listing.status).toBe(0);
    const lines = listing.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.slice(l.indexOf(' 2020 ') + 6))).toEqual(
      sortedPaths(tree).map((p) => (p === 'bin/sh' ? 'bin/sh -> ../init' : p)),
    );
    expect(lines.find((l) => l.endsWith(' dev/sda'))).toMatch(/^brw-rw----\s+1 root\s+root\s+8,\s+3 /);
    expect(lines.find((l) => l.endsWith(' init'))).toMatch(/^-rwxr-xr-x .* 70001 Sep 13\s+2020 init$/);
    const out = join(dir, 'x');
    mkdirSync(out);
    const ex = tool(['cpio', '-idm', '--quiet', '-F', archive], { cwd: out });
    expect(ex.status).toBe(0);
    expect(
      Buffer.compare(readFileSync(join(out, 'init')), Buffer.from(new Uint8Array(70001).map((_, i) => (i * 3) & 0xff))),
    ).toBe(0);
    expect(readlinkSync(join(out, 'bin/sh'))).toBe('../init');
    expect(lstatSync(join(out, 'run/fifo')).isFIFO()).toBe(true);
  });

  it('reads find | cpio -o -H odc', async () => {
    const dir = tempDir();
    const src = join(dir, 'src');
    mkdirSync(join(src, 'a/b'), { recursive: true });
    writeFileSync(
      join(src, 'a/b/data.bin'),
      new Uint8Array(10001).map((_, i) => (i * 13) & 0xff),
    );
    writeFileSync(join(src, 'a/odd'), 'x');
    symlinkSync('b/data.bin', join(src, 'a/link'));
    chmodSync(join(src, 'a/odd'), 0o640);
    const list = tool(['find', '.'], { cwd: src }).stdout.split('\n').filter(Boolean).sort().join('\n') + '\n';
    const r = tool(['cpio', '-o', '-H', 'odc', '--quiet', '-F', join(dir, 'gnu.cpio')], { cwd: src, input: list });
    expect(r.status).toBe(0);
    const bytes = new Uint8Array(readFileSync(join(dir, 'gnu.cpio')));
    const archive = await readCpio(bytes);
    expect(archive.format).toBe('odc');
    expect(archive.entries.map((e) => e.path)).toEqual(['', 'a', 'a/b', 'a/b/data.bin', 'a/link', 'a/odd']);
    const d = (await describeTree(await cpioToTree(bytes))) as Record<
      string,
      { content?: string; target?: string; mode: number }
    >;
    expect(d['a/b/data.bin']!.content).toBe(Buffer.from(readFileSync(join(src, 'a/b/data.bin'))).toString('hex'));
    expect(d['a/link']!.target).toBe('b/data.bin');
    expect(d['a/odd']!.mode).toBe(0o640);
  });
});
