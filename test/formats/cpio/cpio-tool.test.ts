// The reference tool (GNU cpio) accepts kiln's archives and kiln reads GNU cpio's.
import { mkdirSync, readFileSync, readlinkSync, lstatSync, writeFileSync, symlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpioToTree, readCpio, writeCpioFile } from '../../../src/formats/cpio/index.js';
import { buildTree, sortedPaths, type FileTree } from '../../../src/formats/io/tree.js';
import { loadContent } from '../../../src/formats/io/content.js';
import { tempDir, tool } from '../../_helpers.js';
import { describeTree, treeArb } from './_tree.js';

const modeString = (kind: string, mode: number): string => {
  const t = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p' }[kind]!;
  const rwx = (bits: number, special: number, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return t + rwx(mode >> 6, mode & 0o4000, 's') + rwx(mode >> 3, mode & 0o2000, 's') + rwx(mode, mode & 0o1000, 't');
};

/** Checks `cpio -itv` lists exactly the tree (type+mode string, size, name, link target) and `cpio -idm` extracts the same files. */
async function checkWithGnuCpio(tree: FileTree, dir: string, format: 'newc' | 'crc'): Promise<void> {
  const archive = join(dir, `a-${format}.cpio`);
  await writeCpioFile(archive, tree, { epoch: 1600000000, format });
  const listing = tool(['cpio', '-itv', '--quiet', '-F', archive]);
  expect(listing.stderr).toBe('');
  expect(listing.status).toBe(0);
  const lines = listing.stdout.trimEnd().split('\n').filter(Boolean);
  const paths = sortedPaths(tree);
  expect(lines).toHaveLength(paths.length);
  lines.forEach((line, i) => {
    const path = paths[i]!;
    const e = tree.get(path)!;
    const mode = (e.mode ?? (e.kind === 'dir' ? 0o755 : e.kind === 'symlink' ? 0o777 : 0o644)) & 0o7777;
    expect(line.startsWith(modeString(e.kind, mode))).toBe(true);
    if (e.kind === 'symlink') expect(line.endsWith(` ${path} -> ${e.target}`)).toBe(true);
    else expect(line.endsWith(` ${path}`)).toBe(true);
    if (e.kind === 'char' || e.kind === 'block') expect(line).toContain(` ${e.major},`);
  });
  const out = join(dir, `x-${format}`);
  mkdirSync(out);
  const ex = tool(['cpio', '-idm', '--quiet', '--no-absolute-filenames', '-F', archive], { cwd: out });
  expect(ex.stderr).toBe('');
  expect(ex.status).toBe(0);
  for (const path of paths) {
    const e = tree.get(path)!;
    const st = lstatSync(join(out, path));
    if (e.kind === 'file') {
      expect(st.isFile()).toBe(true);
      expect(Buffer.from(readFileSync(join(out, path))).equals(Buffer.from(await loadContent(e.content)))).toBe(true);
      expect(st.mtimeMs).toBe((e.mtime ?? 1600000000) * 1000);
    } else if (e.kind === 'symlink') {
      expect(readlinkSync(join(out, path))).toBe(e.target);
    } else if (e.kind === 'dir') {
      expect(st.isDirectory()).toBe(true);
    } else if (e.kind === 'fifo') {
      expect(st.isFIFO()).toBe(true);
    } else if (process.getuid?.() === 0) {
      expect(e.kind === 'char' ? st.isCharacterDevice() : st.isBlockDevice()).toBe(true);
    }
  }
}

describe('GNU cpio accepts kiln archives', () => {
  it('lists and extracts a KOZO-style initrd (newc and crc)', async () => {
    const dir = tempDir();
    const tree = buildTree({
      init: { kind: 'file', content: new Uint8Array(70000).map((_, i) => i & 0xff), mode: 0o755 },
      'services/vfs': new Uint8Array(3).fill(1),
      'etc/kozo.conf': 'mode=release\n',
      'bin/sh': { kind: 'symlink', target: '../init' },
      'dev/console': { kind: 'char', major: 5, minor: 1, mode: 0o600 },
      'dev/vda': { kind: 'block', major: 254, minor: 0, mode: 0o660 },
      'run/fifo': { kind: 'fifo', mode: 0o644 },
      tmp: { kind: 'dir', mode: 0o1777 },
      'é/中文 name': 'utf8',
    });
    await checkWithGnuCpio(tree, dir, 'newc');
    await checkWithGnuCpio(tree, dir, 'crc');
  });

  it('lists and extracts random trees', async () => {
    const dir = tempDir();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(treeArb, async (tree) => {
        // cpio -idm cannot restore read-only dirs' contents as non-root, and setuid bits depend on the user: keep modes ordinary.
        for (const e of tree.values())
          e.mode = e.kind === 'dir' ? 0o755 : ((e.mode ?? 0o644) & 0o777) | (e.kind === 'file' ? 0o600 : 0);
        const sub = join(dir, String(n++));
        mkdirSync(sub);
        await checkWithGnuCpio(tree, sub, n % 2 ? 'newc' : 'crc');
      }),
      { numRuns: 25 },
    );
  });
});

describe('kiln reads GNU cpio archives', () => {
  for (const format of ['newc', 'crc'] as const) {
    it(`reads find | cpio -o -H ${format}`, async () => {
      const dir = tempDir();
      const src = join(dir, 'src');
      mkdirSync(join(src, 'a/b'), { recursive: true });
      writeFileSync(
        join(src, 'a/b/data.bin'),
        new Uint8Array(10001).map((_, i) => (i * 13) & 0xff),
      );
      writeFileSync(join(src, 'a/empty'), '');
      symlinkSync('b/data.bin', join(src, 'a/link'));
      chmodSync(join(src, 'a/empty'), 0o640);
      const list = tool(['find', '.'], { cwd: src }).stdout.split('\n').filter(Boolean).sort().join('\n') + '\n';
      const r = tool(['cpio', '-o', '-H', format, '--quiet', '-F', join(dir, 'gnu.cpio')], { cwd: src, input: list });
      expect(r.status).toBe(0);
      const archive = await readCpio(new Uint8Array(readFileSync(join(dir, 'gnu.cpio'))));
      expect(archive.format).toBe(format);
      expect(archive.entries.map((e) => e.path)).toEqual(['', 'a', 'a/b', 'a/b/data.bin', 'a/empty', 'a/link']);
      const tree = await cpioToTree(new Uint8Array(readFileSync(join(dir, 'gnu.cpio'))));
      const d = (await describeTree(tree)) as Record<string, { content?: string; target?: string; mode: number }>;
      expect(d['a/b/data.bin']!.content).toBe(Buffer.from(readFileSync(join(src, 'a/b/data.bin'))).toString('hex'));
      expect(d['a/link']!.target).toBe('b/data.bin');
      expect(d['a/empty']!.mode).toBe(0o640);
    });
  }
});
