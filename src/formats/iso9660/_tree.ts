/**
 * The ISO writer's model of the image (ECMA-119 §9.1 records, §9.4 path tables; RRIP/SUSP system use):
 * nodes built from a FileTree, their ISO9660 and Joliet identifiers (§7.5, §10 levels; Joliet UCS-2),
 * the record and continuation-area shapes the layout fills in. Pure data: no offsets yet.
 */
import { KilnError } from '../../errors.js';
import { type Content, contentSize } from '../io/content.js';
import type { FileTree, TreeEntry } from '../io/tree.js';
import { ISO_MAX_DEPTH, ISO_MAX_DIRECTORY_BYTES, ISO_MAX_ENTRIES } from './_encode.js';
import {
  type IsoLevel,
  identifierSortKey,
  isoIdentifier,
  isoStemLimit,
  jolietIdentifier,
  jolietStemLimit,
  uniqueIdentifiers,
} from './names.js';
import type { RegionFiller } from './eltorito.js';

/** A run of sectors holding (part of) a file: first LBA and length in bytes. @inline */
export type Extent = { lba: number; length: number };

/** System Use entries (SUSP/RRIP) of a record and their total length. */
export interface SystemUse {
  entries: Uint8Array[];
  length: number;
}
export const NO_SYSTEM_USE: SystemUse = { entries: [], length: 0 };
/** RecordPlan.rr: the record's SU is `suInline` (or empty). */
export const RR_ENTRIES = 0;
/** RecordPlan.rr: PX and TF of the node (`.` and `..` records). */
export const RR_BARE = 1;
/** RecordPlan.rr: PX, TF, PN (devices) and NM of the node. */
export const RR_NAMED = 2;
export const NO_AREAS: ContinuationArea[] = [];

export interface Node {
  path: string;
  name: string;
  entry: TreeEntry;
  parent: DirNode | null;
  isoId: string;
  jolietId: string;
  /** `identifierSortKey` of isoId and jolietId: ECMA-119 9.3 order by plain string comparison. */
  isoKey: string;
  jolietKey: string;
  serial: number;
  /**
   * Rock Ridge of the record naming this node in its parent (with NM): `entries` null means the
   * common form (PX, TF, PN for devices, one NM with an ASCII name) written from the node's fields
   * at emit time, with no bytes kept per node; else the entries (symlinks, long or non-ASCII names).
   */
  rr: SystemUse | DirectSystemUse;
}
/** Rock Ridge written by `writePosixEntries` at emit time. */
export interface DirectSystemUse {
  entries: null;
  length: number;
}
export interface DirNode extends Node {
  entry: TreeEntry & { kind: 'dir' };
  children: Node[];
  /** Child directories (for the RR link count). */
  subdirs: number;
  number: number; // path table number (1-based)
  jolietNumber: number;
  isoRecords: RecordPlan[];
  jolietRecords: RecordPlan[];
  isoLba: number;
  isoSize: number;
  jolietLba: number;
  jolietSize: number;
}
export interface LeafNode extends Node {
  content: Content | undefined;
  size: number;
  extents: Extent[];
  /** Hidden boot images have no directory record. */
  hidden: boolean;
  /** Bytes to write instead of content (patched boot images). */
  patched: Uint8Array | undefined;
  /** Hidden boot images written in place by a filler. */
  filler: RegionFiller | undefined;
}

export function isFiller(value: unknown): value is RegionFiller {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    typeof (value as RegionFiller).fill === 'function'
  );
}

export interface RecordPlan {
  node: Node;
  /** Extent index for multi-extent files. */
  part: number;
  /** `\0` for `.`, `\x01` for `..`, else the identifier: ASCII (ISO9660) or UCS-2 code units (Joliet). */
  identifier: string;
  /** Bytes of the identifier field: 1 for `.` and `..`, else the identifier's length (ISO9660) or twice it (Joliet). */
  idLength: number;
  /** Rock Ridge written at emit time from the node's fields: RR_BARE (PX, TF), RR_NAMED (also PN, NM); else RR_ENTRIES. */
  rr: number;
  /** SU bytes in the record, CE placeholder included (filled at emit time). */
  suInline: Uint8Array[];
  /** Continuation areas this record needs (each ≤ 2048 bytes). */
  areas: ContinuationArea[];
  length: number;
}
export interface ContinuationArea {
  entries: Uint8Array[];
  length: number;
  block: number;
  offset: number;
}

export const MAX_EXTENT = 0xffffffff;
/** Per-extent length of a multi-extent file: the largest multiple of 2048 below 4 GiB. */
const MULTI_EXTENT_CHUNK = 0xfffff800;

export function fail(code: string, message: string, hint?: string, path?: string): never {
  throw new KilnError(code, message, { ...(hint ? { hint } : {}), ...(path ? { location: { file: path } } : {}) });
}

const FILE_TYPE_BITS: Record<TreeEntry['kind'], number> = {
  dir: 0o040000,
  file: 0o100000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

export function modeOf(entry: TreeEntry): number {
  const perm = entry.mode ?? (entry.kind === 'dir' ? 0o755 : entry.kind === 'symlink' ? 0o777 : 0o644);
  return FILE_TYPE_BITS[entry.kind] | (perm & 0o7777);
}

const ASCII = /^[\u0000-\u007f]*$/;

/** True when `text` is ASCII (one UTF-8 byte per character). */
export function isAscii(text: string): boolean {
  return ASCII.test(text);
}

export function dchars(text: string, width: number, what: string, aChars = false): string {
  const up = text.toUpperCase();
  const re = aChars ? /^[A-Z0-9_ !"%&'()*+,\-./:;<=>?]*$/ : /^[A-Z0-9_]*$/;
  if (!re.test(up))
    fail(
      'ISO_BAD_IDENTIFIER',
      `${what} ${JSON.stringify(text)} may only contain ${aChars ? 'a-characters' : 'A-Z, 0-9 and _'}`,
      'ECMA-119 7.4 restricts volume identifiers to these characters',
    );
  if (up.length > width)
    fail('ISO_BAD_IDENTIFIER', `${what} ${JSON.stringify(text)} is longer than ${width} characters`);
  return up;
}

/** A boot image stored without a directory record. */
export function hiddenLeaf(
  index: number,
  entryContent: Content,
  size: number,
  content: Content | undefined,
  filler: RegionFiller | undefined,
): LeafNode {
  return {
    path: `<boot image ${index}>`,
    name: '',
    entry: { kind: 'file', content: entryContent },
    parent: null,
    isoId: '',
    jolietId: '',
    isoKey: '',
    jolietKey: '',
    serial: 0,
    rr: NO_SYSTEM_USE,
    content,
    size,
    extents: [{ lba: 0, length: size }],
    hidden: true,
    patched: undefined,
    filler,
  };
}

/** An ISO identifier as readers compare names: without `;1` and a trailing `.`. */
function bareIsoIdentifier(id: string): string {
  let end = id.endsWith(';1') ? id.length - 2 : id.length;
  if (end > 0 && id.charCodeAt(end - 1) === 0x2e) end--;
  return end === id.length ? id : id.slice(0, end);
}

export const byIsoKey = (a: Node, b: Node): number => (a.isoKey < b.isoKey ? -1 : a.isoKey > b.isoKey ? 1 : 0);
export const byJolietKey = (a: Node, b: Node): number =>
  a.jolietKey < b.jolietKey ? -1 : a.jolietKey > b.jolietKey ? 1 : 0;

/** The node tree of a plan: directories (root first) and leaves, parents before children. */
interface Nodes {
  root: DirNode;
  allDirs: DirNode[];
  leaves: LeafNode[];
}

function newDirNode(
  path: string,
  name: string,
  entry: TreeEntry & { kind: 'dir' },
  parent: DirNode | null,
  serial: number,
): DirNode {
  return {
    path,
    name,
    entry,
    parent,
    isoId: '',
    jolietId: '',
    isoKey: '',
    jolietKey: '',
    serial,
    rr: NO_SYSTEM_USE,
    children: [],
    subdirs: 0,
    number: 0,
    jolietNumber: 0,
    isoRecords: [],
    jolietRecords: [],
    isoLba: 0,
    isoSize: 0,
    jolietLba: 0,
    jolietSize: 0,
  };
}

/**
 * Builds the node tree from the tree's paths (code-unit order): grouped by depth (a stable pass),
 * so parents come before children and each directory's children are in name order; serial numbers
 * (RR inode numbers) follow that order.
 *
 * The planning passes are small functions over one item each, rather than loops in planIso:
 * V8 optimizes small hot functions early, while one large function runs interpreted for the whole
 * (short) life of the CLI process.
 */
export function buildNodes(tree: FileTree, sortedPaths: readonly string[], rockRidge: boolean, level: IsoLevel): Nodes {
  const byDepth: string[][] = [];
  for (let i = 0; i < sortedPaths.length; i++) {
    const path = sortedPaths[i]!;
    const depth = depthOf(path);
    while (byDepth.length <= depth) byDepth.push([]);
    byDepth[depth]!.push(path);
  }
  const root = newDirNode('', '', { kind: 'dir', mode: 0o755 }, null, 1);
  const nodes: Nodes & { dirByPath: Map<string, DirNode>; serial: number } = {
    root,
    allDirs: [root],
    leaves: [],
    dirByPath: new Map([['', root]]),
    serial: 2,
  };
  for (let d = 0; d < byDepth.length; d++) {
    const paths = byDepth[d]!;
    for (let i = 0; i < paths.length; i++) addNode(nodes, paths[i]!, tree.get(paths[i]!)!, rockRidge, level);
  }
  return nodes;
}

/** Refuses trees kiln's reader would refuse by default: too many entries, directories nested too deep. */
export function checkReadable(tree: FileTree, sortedPaths: readonly string[]): void {
  if (tree.size > ISO_MAX_ENTRIES) {
    fail(
      'ISO_TOO_MANY_ENTRIES',
      `the tree has ${tree.size} entries; kiln writes and reads ISO images of up to ${ISO_MAX_ENTRIES}`,
      'split the content over several images',
    );
  }
  for (let i = 0; i < sortedPaths.length; i++) {
    const path = sortedPaths[i]!;
    const level = depthOf(path) + (tree.get(path)!.kind === 'dir' ? 2 : 1); // the root is level 1
    if (level > ISO_MAX_DEPTH) {
      const shown = path.length > 80 ? `${path.slice(0, 40)}…${path.slice(-40)}` : path;
      fail(
        'ISO_TOO_DEEP',
        `${JSON.stringify(shown)} lies ${level} directory levels deep; kiln writes and reads ISO trees up to ${ISO_MAX_DEPTH}`,
        "flatten the tree (kiln's reader refuses deeper ISO trees, as a hostile image could nest without end)",
      );
    }
  }
}

/** Refuses a directory whose extent is larger than kiln's reader reads by default. */
export function checkDirectorySize(dir: DirNode): void {
  const size = Math.max(dir.isoSize, dir.jolietSize);
  if (size > ISO_MAX_DIRECTORY_BYTES) {
    fail(
      'ISO_DIRECTORY_TOO_LARGE',
      `directory ${JSON.stringify(dir.path || '/')} needs ${size} bytes of records; kiln writes and reads directories of up to ${ISO_MAX_DIRECTORY_BYTES}`,
      'spread its entries over subdirectories',
    );
  }
}

/** Number of `/` in a path. */
function depthOf(path: string): number {
  let depth = 0;
  for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) depth++;
  return depth;
}

function addNode(
  nodes: Nodes & { dirByPath: Map<string, DirNode>; serial: number },
  path: string,
  entry: TreeEntry,
  rockRidge: boolean,
  level: IsoLevel,
): void {
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  const parent = nodes.dirByPath.get(slash < 0 ? '' : path.slice(0, slash));
  if (!parent)
    fail(
      'ISO_TREE_INVALID',
      `${JSON.stringify(path)} has no parent directory in the tree`,
      'build the tree with buildTree(), which adds parent directories',
    );
  if (entry.kind === 'dir') {
    const d = newDirNode(path, name, entry, parent, nodes.serial++);
    nodes.allDirs.push(d);
    parent.children.push(d);
    parent.subdirs++;
    nodes.dirByPath.set(path, d);
    return;
  }
  if (!rockRidge && entry.kind !== 'file') return; // not representable without Rock Ridge
  const size = entry.kind === 'file' ? contentSize(entry.content) : 0;
  if (size > MAX_EXTENT && level < 3) {
    fail(
      'ISO_FILE_TOO_LARGE',
      `${path} is ${size} bytes; ISO9660 level ${level} files must be under 4 GiB`,
      'use level 3 (the default), which stores large files as multi-extent files',
      path,
    );
  }
  const leaf: LeafNode = {
    path,
    name,
    entry,
    parent,
    isoId: '',
    jolietId: '',
    isoKey: '',
    jolietKey: '',
    serial: nodes.serial++,
    rr: NO_SYSTEM_USE,
    size,
    extents: extentsOf(size),
    content: entry.kind === 'file' ? entry.content : undefined,
    hidden: false,
    patched: undefined,
    filler: undefined,
  };
  parent.children.push(leaf);
  nodes.leaves.push(leaf);
}

/** A file's extents (lengths now, LBAs later): one, or several of MULTI_EXTENT_CHUNK bytes from 4 GiB up (level 3). */
function extentsOf(size: number): Extent[] {
  if (size <= MAX_EXTENT) return [{ lba: 0, length: size }];
  const extents: Extent[] = [];
  for (let at = 0; at < size; at += MULTI_EXTENT_CHUNK)
    extents.push({ lba: 0, length: Math.min(MULTI_EXTENT_CHUNK, size - at) });
  return extents;
}

/**
 * ISO9660 and Joliet identifiers of a directory's children, unique in it. The children are in name
 * order: a later name that collides (after mangling) with an earlier one gets the suffix.
 */
export function nameChildren(dir: DirNode, level: IsoLevel, joliet: boolean): void {
  const kids = dir.children;
  // One namespace per directory, compared without ";1" and a trailing "." (as readers show names).
  const usedIso = new Set<string>();
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i]!;
    const id = uniqueIsoIdentifier(k, level, usedIso);
    k.isoId = id;
    k.isoKey = identifierSortKey(id);
  }
  if (joliet) {
    const names: string[] = new Array(kids.length);
    for (let i = 0; i < kids.length; i++) names[i] = kids[i]!.name;
    const ids = uniqueIdentifiers(names, jolietIdentifier, 'joliet', jolietStemLimit);
    for (let i = 0; i < kids.length; i++) {
      kids[i]!.jolietId = ids[i]!;
      kids[i]!.jolietKey = identifierSortKey(ids[i]!);
    }
  }
}

/** The ISO9660 identifier of `k`, with a number suffix when it collides with one in `used` (which it joins). */
function uniqueIsoIdentifier(k: Node, level: IsoLevel, used: Set<string>): string {
  const isDir = k.entry.kind === 'dir';
  const base = isoIdentifier(k.name, isDir, level);
  const bare = bareIsoIdentifier(base);
  if (!used.has(bare)) {
    used.add(bare);
    return base;
  }
  const dot = base.indexOf('.');
  const stem = dot >= 0 ? base.slice(0, dot) : base;
  const tail = dot >= 0 ? base.slice(dot) : '';
  const limit = isoStemLimit(base, isDir, level);
  let id = base;
  for (let n = 1; used.has(bareIsoIdentifier(id)); n++) {
    if (n > 1_000_000)
      fail(
        'ISO_NAME_COLLISION',
        `cannot give ${k.path} a unique ISO9660 name`,
        'rename some of the files whose names differ only in case or punctuation',
      );
    const suffix = String(n);
    id = stem.slice(0, Math.max(0, limit - suffix.length)) + suffix + tail;
  }
  used.add(bareIsoIdentifier(id));
  return id;
}

/** Path table order: by depth, then parent number, then identifier (BFS over sorted children); numbers them. */
export function pathTableOrder(root: DirNode, joliet: boolean): DirNode[] {
  const dirs: DirNode[] = [root];
  for (let i = 0; i < dirs.length; i++) {
    const d = dirs[i]!;
    if (joliet) d.jolietNumber = i + 1;
    else d.number = i + 1;
    if (i + 1 > 0xffff)
      fail('ISO_TOO_MANY_DIRECTORIES', `the tree has more than 65535 directories, the limit of ISO9660 path tables`);
    const start = dirs.length;
    for (let c = 0; c < d.children.length; c++)
      if (d.children[c]!.entry.kind === 'dir') dirs.push(d.children[c] as DirNode);
    if (joliet && dirs.length - start > 1) {
      const kids = dirs.splice(start).sort(byJolietKey);
      for (let k = 0; k < kids.length; k++) dirs.push(kids[k]!);
    }
  }
  return dirs;
}
