/**
 * The file tree every filesystem/archive writer takes (CPIO, FAT, ISO9660): normalized paths
 * (`dir/sub/file`, no leading slash) mapped to entries, with parent directories implied.
 * Config writes it as `{ '/EFI/BOOT/BOOTX64.EFI': loader, '/etc/motd': text('hi') }`.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { KilnError } from '../../errors.js';
import { normalizeImagePath } from '../../util/paths.js';
import type { Content } from './content.js';
import { encodeUtf8 } from './bytes.js';

interface Common {
  /** Permission bits (0o755...). Writers that cannot store them ignore them. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Modification time, seconds since 1970. Default: the build epoch. */
  mtime?: number;
}
/** A regular file of a {@link FileTree}: its content in memory or from a host file. */
export interface FileEntry extends Common {
  kind: 'file';
  content: Content;
}
/** A directory of a {@link FileTree}. */
export interface DirEntry extends Common {
  kind: 'dir';
}
/** A symbolic link of a {@link FileTree} (FAT and plain ISO9660 cannot hold one). */
export interface SymlinkEntry extends Common {
  kind: 'symlink';
  target: string;
}
/** A character or block device node (cpio and tar only). */
export interface DeviceEntry extends Common {
  kind: 'char' | 'block';
  major: number;
  minor: number;
}
/** A named pipe (cpio and tar only). */
export interface FifoEntry extends Common {
  kind: 'fifo';
}
/** Any entry of a {@link FileTree}. */
export type TreeEntry = FileEntry | DirEntry | SymlinkEntry | DeviceEntry | FifoEntry;

/**
 * Permission bits of an entry written without a `mode` (cpio and tar): files and fifos 0644,
 * folders 0755, symlinks 0777, devices 0600.
 * @example (entry.mode ?? DEFAULT_ENTRY_MODES[entry.kind]) & 0o7777
 */
export const DEFAULT_ENTRY_MODES: Readonly<Record<TreeEntry['kind'], number>> = {
  file: 0o644,
  dir: 0o755,
  symlink: 0o777,
  char: 0o600,
  block: 0o600,
  fifo: 0o644,
};

/** Normalized path → entry. Parents of every entry exist as `dir` entries. Root is implicit (not a key). */
export type FileTree = Map<string, TreeEntry>;

/** What callers may pass: content directly for plain files, or a full entry. */
export type TreeSpec = Record<string, Content | TreeEntry | string>;

function isEntry(value: unknown): value is TreeEntry {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    'kind' in value &&
    ['file', 'dir', 'symlink', 'char', 'block', 'fifo'].includes((value as { kind: string }).kind) &&
    !('path' in value && (value as { kind: string }).kind === 'file' && !('content' in value))
  );
}

/**
 * Builds a FileTree from a spec: strings are file text (UTF-8), Uint8Array/FileContent are file
 * content, entries are taken as they are. Paths are normalized; `..` is refused; the same path given
 * twice (after normalization) is an error; missing parent directories are added (mode 0o755).
 * @example buildTree({ '/EFI/BOOT/BOOTX64.EFI': await fileContent('loader.efi'), 'boot/cmdline': 'quiet' })
 */
export function buildTree(spec: TreeSpec | Iterable<[string, Content | TreeEntry | string]>): FileTree {
  const tree: FileTree = new Map();
  const pairs =
    Symbol.iterator in Object(spec) && !(typeof spec === 'object' && !Array.isArray(spec) && !(spec instanceof Map))
      ? (spec as Iterable<[string, Content | TreeEntry | string]>)
      : spec instanceof Map
        ? spec.entries()
        : Object.entries(spec as TreeSpec);
  for (const [rawPath, value] of pairs) {
    const path = normalizeImagePath(rawPath, 'image path');
    if (path === '')
      throw new KilnError(
        'PATH_INVALID',
        `image path ${JSON.stringify(rawPath)} names the root; give a file or directory below it`,
      );
    const entry: TreeEntry =
      typeof value === 'string'
        ? { kind: 'file', content: encodeUtf8(value) }
        : isEntry(value)
          ? value
          : { kind: 'file', content: value as Content };
    const existing = tree.get(path);
    if (existing && !(existing.kind === 'dir' && entry.kind === 'dir')) {
      throw new KilnError(
        'PATH_DUPLICATE',
        `image path ${JSON.stringify(rawPath)} is given twice (as ${JSON.stringify(path)})`,
      );
    }
    tree.set(path, entry);
  }
  // Add implied parents; a parent that is not a directory is an error.
  for (const path of [...tree.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const p = tree.get(parent);
      if (!p) tree.set(parent, { kind: 'dir', mode: 0o755 });
      else if (p.kind !== 'dir')
        throw new KilnError(
          'PATH_CONFLICT',
          `${JSON.stringify(parent)} is a ${p.kind} but ${JSON.stringify(path)} needs it to be a directory`,
        );
    }
  }
  return tree;
}

/** Component-wise order: parents before children, siblings in code-unit order. */
function comparePaths(pa: string[], pb: string[]): number {
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** Paths sorted so that parents come before children and siblings are in byte order. */
export function sortedPaths(tree: FileTree): string[] {
  const keys = [...tree.keys()];
  const parts = keys.map((path) => path.split('/'));
  // A tree read from a folder is already in this order: check in one pass before sorting.
  let sorted = true;
  for (let i = 1; i < parts.length && sorted; i++) sorted = comparePaths(parts[i - 1]!, parts[i]!) < 0;
  if (sorted) return keys;
  const order = keys.map((_, i) => i).sort((a, b) => comparePaths(parts[a]!, parts[b]!));
  return order.map((i) => keys[i]!);
}

/** Direct children names of `dir` ('' for the root), sorted. */
export function childrenOf(tree: FileTree, dir: string): string[] {
  const prefix = dir === '' ? '' : `${dir}/`;
  const out: string[] = [];
  for (const path of tree.keys()) {
    if (path.startsWith(prefix) && path.length > prefix.length && !path.slice(prefix.length).includes('/'))
      out.push(path.slice(prefix.length));
  }
  return out.sort();
}

/**
 * Reads a host directory into a FileTree (files streamed later, not loaded). Symlinks are kept as
 * symlinks; modes come from the host; times are left unset (the writer uses the build epoch).
 * The walk itself is synchronous ({@link treeFromDirectorySync}): one lstat per entry without a
 * promise round trip each was measured about 10x faster on a 2,000-file folder.
 * @example const tree = await treeFromDirectory('build/iso-root');
 */
export async function treeFromDirectory(root: string): Promise<FileTree> {
  return treeFromDirectorySync(root);
}

/**
 * The same as {@link treeFromDirectory}, synchronously: for command-line tools that read a folder
 * of thousands of small files before writing an image (one lstat per entry and no promise round
 * trips; measured about 10x faster than the async walk on a 2,000-file payload).
 * @example const tree = treeFromDirectorySync('build/esp');
 */
export function treeFromDirectorySync(root: string): FileTree {
  // Names from readdir are single components ("." and ".." never appear), so the tree is built
  // directly, in walk order (parents first, siblings sorted), without buildTree's normalization.
  const tree: FileTree = new Map();
  const walk = (dir: string, rel: string): void => {
    const names = readdirSync(dir).sort();
    for (const name of names) {
      const full = dir.endsWith('/') ? dir + name : `${dir}/${name}`; // (path.join showed up in profiles)
      const path = rel ? `${rel}/${name}` : name;
      const s = lstatSync(full);
      const mode = s.mode & 0o7777;
      if (s.isDirectory()) {
        tree.set(path, { kind: 'dir', mode });
        walk(full, path);
      } else if (s.isFile()) {
        tree.set(path, { kind: 'file', content: { kind: 'file', path: full, size: s.size }, mode });
      } else if (s.isSymbolicLink()) {
        tree.set(path, { kind: 'symlink', target: readlinkSync(full), mode: 0o777 });
      }
    }
  };
  walk(root, '');
  return tree;
}
