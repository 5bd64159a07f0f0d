// Shared helpers for the cpio tests: random trees and a comparable view of a FileTree.
import fc from 'fast-check';
import { buildTree, type FileTree, type TreeEntry } from '../../../src/formats/io/tree.js';
import { loadContent } from '../../../src/formats/io/content.js';

/** A name segment: ASCII letters/digits/punctuation and some non-ASCII, never '.'/'..'. */
export const segment = fc
  .stringMatching(/^[A-Za-z0-9_\-+=,@ éß中]{1,12}$/)
  .filter((s) => s !== '.' && s !== '..' && s.trim() === s && s.length > 0);

const common = fc.record({
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 0xffffffff }),
  gid: fc.integer({ min: 0, max: 0xffffffff }),
  mtime: fc.integer({ min: 0, max: 0xffffffff }),
});

export const entryArb: fc.Arbitrary<TreeEntry> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(common, fc.uint8Array({ maxLength: 3000 }))
      .map(([c, content]) => ({ kind: 'file' as const, content, ...c })),
  },
  { weight: 2, arbitrary: common.map((c) => ({ kind: 'dir' as const, ...c })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(common, fc.stringMatching(/^[a-z./]{1,40}$/))
      .map(([c, target]) => ({ kind: 'symlink' as const, target, ...c })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        common,
        fc.constantFrom('char' as const, 'block' as const),
        fc.integer({ min: 0, max: 4095 }),
        fc.integer({ min: 0, max: 1 << 20 }),
      )
      .map(([c, kind, major, minor]) => ({ kind, major, minor, ...c })),
  },
  { weight: 1, arbitrary: common.map((c) => ({ kind: 'fifo' as const, ...c })) },
);

/** Random trees: 0..25 entries at depth 1..3; leaf paths never collide with implied directories. */
export const treeArb: fc.Arbitrary<FileTree> = fc
  .uniqueArray(fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), entryArb), {
    maxLength: 25,
    selector: ([parts]) => parts.join('/').toLowerCase(),
  })
  .map((pairs) => {
    // Drop entries whose path is a prefix directory of another entry unless they are dirs.
    const paths = pairs.map(([p]) => p.join('/'));
    const kept = pairs.filter(([p, e]) => e.kind === 'dir' || !paths.some((q) => q.startsWith(`${p.join('/')}/`)));
    return buildTree(kept.map(([p, e]) => [p.join('/'), e] as [string, TreeEntry]));
  });

/** Comparable plain object for a tree (content as hex). Implied dirs get mode 0o755. */
export async function describeTree(
  tree: FileTree,
  defaults: { mtime: number } = { mtime: 0 },
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [path, e] of [...tree.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const base = {
      kind: e.kind,
      mode: (e.mode ?? (e.kind === 'dir' ? 0o755 : e.kind === 'symlink' ? 0o777 : 0o644)) & 0o7777,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? defaults.mtime,
    };
    if (e.kind === 'file') out[path] = { ...base, content: Buffer.from(await loadContent(e.content)).toString('hex') };
    else if (e.kind === 'symlink') out[path] = { ...base, target: e.target };
    else if (e.kind === 'char' || e.kind === 'block') out[path] = { ...base, major: e.major, minor: e.minor };
    else out[path] = base;
  }
  return out;
}
