/**
 * ISO9660 writer: ECMA-119 4th edition (2019) §6 (volume space, system area), §8.4 Primary Volume
 * Descriptor, §8.5 Supplementary Volume Descriptor (Joliet: escape sequence `%/E`, UCS-2 level 3),
 * §8.3 Volume Descriptor Set Terminator, §9.1 directory records, §9.3 record ordering, §9.4 path
 * tables (L and M), §10 interchange levels 1-3 (level 3: files of 4 GiB and more as multi-extent
 * files, §6.5.1 + §9.1.6 bit 7). Rock Ridge (RRIP 1.12) over SUSP 1.12 (see rock-ridge.ts),
 * El Torito (eltorito.ts) and hybrid MBR/GPT (hybrid.ts).
 *
 * Two phases: `planIso` computes every structure's size and every extent; `writeIso` emits the
 * image front to back in sector order through one large buffer (_stream.ts): metadata serialized
 * straight into it, file contents read into it, the sink handed a few multi-megabyte writes.
 */
import { KilnError } from '../../errors.js';
import { encodeUtf8, writeAscii, writeU16, writeU16Both, writeU32, writeU32Both } from '../io/bytes.js';
import { crc32 } from '../io/crc32.js';
import { type Content, contentSize, loadContent, readContent } from '../io/content.js';
import { type BlockSink, SubSink, writeImageFile } from '../io/block-writer.js';
import type { FileTree, TreeEntry } from '../io/tree.js';
import { normalizeImagePath } from '../../util/paths.js';
import { resolveEpoch } from '../../util/epoch.js';
import {
  SECTOR, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, directoryRecordLength, writeDirectoryRecord, writeDirectoryRecordHeader, writeVolumeDate,
  pathTableRecordLength, volumeDateDigits, ISO_MAX_DEPTH, ISO_MAX_DIRECTORY_BYTES, ISO_MAX_ENTRIES,
} from './_encode.js';
import {
  type IsoLevel, encodeUcs2, identifierSortKey, isoIdentifier, isoStemLimit, jolietIdentifier, jolietStemLimit, uniqueIdentifiers,
} from './names.js';
import { ImageStream } from './_stream.js';
import {
  CE_LENGTH, ceEntry, erEntry, nmEntries, pnEntry, posixEntriesLength, pxEntry, slEntries, spEntry, tfEntry, writePosixEntries,
} from './rock-ridge.js';
import {
  type ElToritoSpec, type CatalogEntry, type RegionFiller, EL_TORITO_ID, MEDIA_HARD_DISK, MEDIA_NO_EMULATION, buildBootCatalog, checkHddImage,
  entryPlatform, patchBootInfoTable, patchGrub2BootInfo,
} from './eltorito.js';
// hybrid.js (node:zlib for CRC-32, node:crypto for GUIDs: ~5 ms to load) is imported when an image is hybrid.
import type { HybridSpec, HybridAreas } from './hybrid.js';

/** Options of the ISO writer. */
export interface IsoOptions {
  /** Interchange level (ECMA-119 §10). Default 3. Levels 1-2 refuse files of 4 GiB or more. */
  level?: IsoLevel;
  /** Rock Ridge (POSIX names, modes, times, symlinks, devices). Default true. */
  rockRidge?: boolean;
  /** Joliet (UCS-2 names for Windows). Default true. */
  joliet?: boolean;
  /** Seconds since 1970 for volume dates and for entries without an mtime. Default: SOURCE_DATE_EPOCH or 1980-01-01. */
  epoch?: number;
  /** Volume identifier (d-characters, at most 32). Default: `KILN_` + 8 hex digits derived from the tree. */
  volumeId?: string;
  publisherId?: string;
  preparerId?: string;
  applicationId?: string;
  systemId?: string;
  volumeSetId?: string;
  /** El Torito boot entries. */
  boot?: ElToritoSpec;
  /** Make the image bootable from a USB disk too (MBR + GPT). `true` = defaults. */
  hybrid?: HybridSpec | boolean;
  /** Bytes to place at offset 0 (at most 32 KiB); the hybrid MBR/GPT, if any, is written over them. */
  systemArea?: Uint8Array;
}

/** A run of sectors holding (part of) a file: first LBA and length in bytes. @inline */
type Extent = { lba: number; length: number };

/** System Use entries (SUSP/RRIP) of a record and their total length. */
interface SystemUse {
  entries: Uint8Array[];
  length: number;
}
const NO_SYSTEM_USE: SystemUse = { entries: [], length: 0 };
/** RecordPlan.rr: the record's SU is `suInline` (or empty). */
const RR_ENTRIES = 0;
/** RecordPlan.rr: PX and TF of the node (`.` and `..` records). */
const RR_BARE = 1;
/** RecordPlan.rr: PX, TF, PN (devices) and NM of the node. */
const RR_NAMED = 2;
const NO_AREAS: ContinuationArea[] = [];

interface Node {
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
interface DirectSystemUse {
  entries: null;
  length: number;
}
interface DirNode extends Node {
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
interface LeafNode extends Node {
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

function isFiller(value: unknown): value is RegionFiller {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && typeof (value as RegionFiller).fill === 'function';
}

interface RecordPlan {
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
interface ContinuationArea {
  entries: Uint8Array[];
  length: number;
  block: number;
  offset: number;
}

interface BootPlan {
  spec: ElToritoSpec['entries'][number];
  node: LeafNode;
  media: number;
  systemType: number;
  sectorCount: number;
}

/** The computed layout of an ISO image: pass it to `writeIso`. */
export interface IsoPlan {
  /** Total image size in bytes. */
  readonly size: number;
  readonly volumeId: string;
  /** GRUB's view of the volume UUID (`search --fs-uuid`), from the modification date. */
  readonly uuid: string;
  /** Extent of every file by image path (for callers that patch or point at files). */
  readonly extents: ReadonlyMap<string, readonly Extent[]>;
  /** @internal */
  readonly internal: PlanInternal;
}
interface PlanInternal {
  options: Required<Pick<IsoOptions, 'level' | 'rockRidge' | 'joliet' | 'epoch'>> & IsoOptions;
  root: DirNode;
  dirs: DirNode[];
  jolietDirs: DirNode[];
  leaves: LeafNode[];
  descriptors: { pvd: number; bootRecord?: number; svd?: number; terminator: number };
  catalogLba?: number;
  catalog?: CatalogEntry[];
  boot: BootPlan[];
  pathTable: { size: number; l: number; m: number; jSize: number; jl: number; jm: number };
  ceRegion: { lba: number; sectors: number; areas: ContinuationArea[] };
  sectors: number;
  hybrid?: HybridAreas;
}

const MAX_EXTENT = 0xffffffff;
/** Per-extent length of a multi-extent file: the largest multiple of 2048 below 4 GiB. */
const MULTI_EXTENT_CHUNK = 0xfffff800;

function fail(code: string, message: string, hint?: string, path?: string): never {
  throw new KilnError(code, message, { ...(hint ? { hint } : {}), ...(path ? { location: { file: path } } : {}) });
}

const FILE_TYPE_BITS: Record<TreeEntry['kind'], number> = { dir: 0o040000, file: 0o100000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000 };

function modeOf(entry: TreeEntry): number {
  const perm = entry.mode ?? (entry.kind === 'dir' ? 0o755 : entry.kind === 'symlink' ? 0o777 : 0o644);
  return FILE_TYPE_BITS[entry.kind] | (perm & 0o7777);
}

const ASCII = /^[\u0000-\u007f]*$/;

/** True when `text` is ASCII (one UTF-8 byte per character). */
function isAscii(text: string): boolean {
  return ASCII.test(text);
}

/** SU bytes a directory record with an identifier of `idLength` bytes can hold (even, ECMA-119 9.1.13). */
function systemUseRoom(idLength: number): number {
  const available = 255 - directoryRecordLength(idLength, 0);
  return available - (available & 1);
}

function dchars(text: string, width: number, what: string, aChars = false): string {
  const up = text.toUpperCase();
  const re = aChars ? /^[A-Z0-9_ !"%&'()*+,\-./:;<=>?]*$/ : /^[A-Z0-9_]*$/;
  if (!re.test(up)) fail('ISO_BAD_IDENTIFIER', `${what} ${JSON.stringify(text)} may only contain ${aChars ? 'a-characters' : 'A-Z, 0-9 and _'}`, 'ECMA-119 7.4 restricts volume identifiers to these characters');
  if (up.length > width) fail('ISO_BAD_IDENTIFIER', `${what} ${JSON.stringify(text)} is longer than ${width} characters`);
  return up;
}

/** Splits a record's SU entries between the record (up to `available` bytes) and continuation areas. */
function placeSystemUse(entries: Uint8Array[], available: number): { inline: Uint8Array[]; areas: ContinuationArea[] } {
  const total = entries.reduce((n, e) => n + e.length, 0);
  if (total <= available) return { inline: entries, areas: [] };
  const inline: Uint8Array[] = [];
  let used = 0;
  let i = 0;
  while (i < entries.length && used + entries[i]!.length + CE_LENGTH <= available) {
    used += entries[i]!.length;
    inline.push(entries[i++]!);
  }
  inline.push(new Uint8Array(CE_LENGTH)); // placeholder, filled at emit
  const areas: ContinuationArea[] = [];
  while (i < entries.length) {
    const area: ContinuationArea = { entries: [], length: 0, block: 0, offset: 0 };
    let rest = 0;
    for (let j = i; j < entries.length; j++) rest += entries[j]!.length;
    const room = rest <= SECTOR ? SECTOR : SECTOR - CE_LENGTH;
    while (i < entries.length && area.length + entries[i]!.length <= room) {
      area.length += entries[i]!.length;
      area.entries.push(entries[i++]!);
    }
    if (i < entries.length) {
      area.entries.push(new Uint8Array(CE_LENGTH));
      area.length += CE_LENGTH;
    }
    areas.push(area);
  }
  return { inline, areas };
}

/**
 * A deterministic default volume id from the tree's paths and sizes; `sortedPaths` are the tree's
 * paths in code-unit order. The CRC-32 of them as one string (one native call): a label, not a
 * digest, and node:zlib loads in a fraction of the ~5 ms node:crypto takes on the CLI's start-up.
 */
function defaultVolumeId(tree: FileTree, sortedPaths: readonly string[], epoch: number): string {
  const parts = [`kiln-iso\0${epoch}\0`];
  for (let i = 0; i < sortedPaths.length; i++) {
    const path = sortedPaths[i]!;
    const entry = tree.get(path)!;
    parts.push(`${path}\0${entry.kind}\0${entry.kind === 'file' ? contentSize(entry.content) : ''}\0`);
  }
  return `KILN_${crc32(encodeUtf8(parts.join(''))).toString(16).padStart(8, '0').toUpperCase()}`;
}

/** A boot image stored without a directory record. */
function hiddenLeaf(index: number, entryContent: Content, size: number, content: Content | undefined, filler: RegionFiller | undefined): LeafNode {
  return {
    path: `<boot image ${index}>`, name: '', entry: { kind: 'file', content: entryContent }, parent: null, isoId: '', jolietId: '', isoKey: '', jolietKey: '',
    serial: 0, rr: NO_SYSTEM_USE, content, size, extents: [{ lba: 0, length: size }], hidden: true, patched: undefined, filler,
  };
}

/** An ISO identifier as readers compare names: without `;1` and a trailing `.`. */
function bareIsoIdentifier(id: string): string {
  let end = id.endsWith(';1') ? id.length - 2 : id.length;
  if (end > 0 && id.charCodeAt(end - 1) === 0x2e) end--;
  return end === id.length ? id : id.slice(0, end);
}

const byIsoKey = (a: Node, b: Node): number => (a.isoKey < b.isoKey ? -1 : a.isoKey > b.isoKey ? 1 : 0);
const byJolietKey = (a: Node, b: Node): number => (a.jolietKey < b.jolietKey ? -1 : a.jolietKey > b.jolietKey ? 1 : 0);

/**
 * The volume UUID GRUB derives from an ISO's modification date (`search --fs-uuid`), which kiln
 * sets from the epoch: `YYYY-MM-DD-HH-MM-SS-00`.
 * @example isoVolumeUuid(1700000000) // '2023-11-14-22-13-20-00'
 */
export function isoVolumeUuid(epoch: number): string {
  const d = volumeDateDigits(epoch);
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}-${d.slice(8, 10)}-${d.slice(10, 12)}-${d.slice(12, 14)}-${d.slice(14, 16)}`;
}

/** The node tree of a plan: directories (root first) and leaves, parents before children. */
interface Nodes {
  root: DirNode;
  allDirs: DirNode[];
  leaves: LeafNode[];
}

function newDirNode(path: string, name: string, entry: TreeEntry & { kind: 'dir' }, parent: DirNode | null, serial: number): DirNode {
  return {
    path, name, entry, parent, isoId: '', jolietId: '', isoKey: '', jolietKey: '', serial, rr: NO_SYSTEM_USE, children: [], subdirs: 0,
    number: 0, jolietNumber: 0, isoRecords: [], jolietRecords: [], isoLba: 0, isoSize: 0, jolietLba: 0, jolietSize: 0,
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
function buildNodes(tree: FileTree, sortedPaths: readonly string[], rockRidge: boolean, level: IsoLevel): Nodes {
  const byDepth: string[][] = [];
  for (let i = 0; i < sortedPaths.length; i++) {
    const path = sortedPaths[i]!;
    const depth = depthOf(path);
    while (byDepth.length <= depth) byDepth.push([]);
    byDepth[depth]!.push(path);
  }
  const root = newDirNode('', '', { kind: 'dir', mode: 0o755 }, null, 1);
  const nodes: Nodes & { dirByPath: Map<string, DirNode>; serial: number } = {
    root, allDirs: [root], leaves: [], dirByPath: new Map([['', root]]), serial: 2,
  };
  for (let d = 0; d < byDepth.length; d++) {
    const paths = byDepth[d]!;
    for (let i = 0; i < paths.length; i++) addNode(nodes, paths[i]!, tree.get(paths[i]!)!, rockRidge, level);
  }
  return nodes;
}

/** Refuses trees kiln's reader would refuse by default: too many entries, directories nested too deep. */
function checkReadable(tree: FileTree, sortedPaths: readonly string[]): void {
  if (tree.size > ISO_MAX_ENTRIES) {
    fail('ISO_TOO_MANY_ENTRIES', `the tree has ${tree.size} entries; kiln writes and reads ISO images of up to ${ISO_MAX_ENTRIES}`, 'split the content over several images');
  }
  for (let i = 0; i < sortedPaths.length; i++) {
    const path = sortedPaths[i]!;
    const level = depthOf(path) + (tree.get(path)!.kind === 'dir' ? 2 : 1); // the root is level 1
    if (level > ISO_MAX_DEPTH) {
      const shown = path.length > 80 ? `${path.slice(0, 40)}…${path.slice(-40)}` : path;
      fail('ISO_TOO_DEEP', `${JSON.stringify(shown)} lies ${level} directory levels deep; kiln writes and reads ISO trees up to ${ISO_MAX_DEPTH}`,
        'flatten the tree (kiln\'s reader refuses deeper ISO trees, as a hostile image could nest without end)');
    }
  }
}

/** Refuses a directory whose extent is larger than kiln's reader reads by default. */
function checkDirectorySize(dir: DirNode): void {
  const size = Math.max(dir.isoSize, dir.jolietSize);
  if (size > ISO_MAX_DIRECTORY_BYTES) {
    fail('ISO_DIRECTORY_TOO_LARGE', `directory ${JSON.stringify(dir.path || '/')} needs ${size} bytes of records; kiln writes and reads directories of up to ${ISO_MAX_DIRECTORY_BYTES}`,
      'spread its entries over subdirectories');
  }
}

/** Number of `/` in a path. */
function depthOf(path: string): number {
  let depth = 0;
  for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) depth++;
  return depth;
}

function addNode(nodes: Nodes & { dirByPath: Map<string, DirNode>; serial: number }, path: string, entry: TreeEntry, rockRidge: boolean, level: IsoLevel): void {
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  const parent = nodes.dirByPath.get(slash < 0 ? '' : path.slice(0, slash));
  if (!parent) fail('ISO_TREE_INVALID', `${JSON.stringify(path)} has no parent directory in the tree`, 'build the tree with buildTree(), which adds parent directories');
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
    fail('ISO_FILE_TOO_LARGE', `${path} is ${size} bytes; ISO9660 level ${level} files must be under 4 GiB`, 'use level 3 (the default), which stores large files as multi-extent files', path);
  }
  const leaf: LeafNode = {
    path, name, entry, parent, isoId: '', jolietId: '', isoKey: '', jolietKey: '', serial: nodes.serial++, rr: NO_SYSTEM_USE, size, extents: extentsOf(size),
    content: entry.kind === 'file' ? entry.content : undefined, hidden: false, patched: undefined, filler: undefined,
  };
  parent.children.push(leaf);
  nodes.leaves.push(leaf);
}

/** A file's extents (lengths now, LBAs later): one, or several of MULTI_EXTENT_CHUNK bytes from 4 GiB up (level 3). */
function extentsOf(size: number): Extent[] {
  if (size <= MAX_EXTENT) return [{ lba: 0, length: size }];
  const extents: Extent[] = [];
  for (let at = 0; at < size; at += MULTI_EXTENT_CHUNK) extents.push({ lba: 0, length: Math.min(MULTI_EXTENT_CHUNK, size - at) });
  return extents;
}

function extentsByPath(leaves: LeafNode[]): Map<string, Extent[]> {
  const extents = new Map<string, Extent[]>();
  for (let i = 0; i < leaves.length; i++) extents.set(leaves[i]!.path, leaves[i]!.extents);
  return extents;
}

/** Gives each file's extents consecutive LBAs from `lba` (empty files keep LBA 0); returns the next free LBA. */
function placeFiles(leaves: LeafNode[], lba: number): number {
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i]!;
    if (leaf.size === 0) continue;
    for (let e = 0; e < leaf.extents.length; e++) {
      leaf.extents[e]!.lba = lba;
      lba += Math.ceil(leaf.extents[e]!.length / SECTOR);
    }
  }
  return lba;
}

/**
 * ISO9660 and Joliet identifiers of a directory's children, unique in it. The children are in name
 * order: a later name that collides (after mangling) with an earlier one gets the suffix.
 */
function nameChildren(dir: DirNode, level: IsoLevel, joliet: boolean): void {
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
    if (n > 1_000_000) fail('ISO_NAME_COLLISION', `cannot give ${k.path} a unique ISO9660 name`, 'rename some of the files whose names differ only in case or punctuation');
    const suffix = String(n);
    id = stem.slice(0, Math.max(0, limit - suffix.length)) + suffix + tail;
  }
  used.add(bareIsoIdentifier(id));
  return id;
}

/** Path table order: by depth, then parent number, then identifier (BFS over sorted children); numbers them. */
function pathTableOrder(root: DirNode, joliet: boolean): DirNode[] {
  const dirs: DirNode[] = [root];
  for (let i = 0; i < dirs.length; i++) {
    const d = dirs[i]!;
    if (joliet) d.jolietNumber = i + 1;
    else d.number = i + 1;
    if (i + 1 > 0xffff) fail('ISO_TOO_MANY_DIRECTORIES', `the tree has more than 65535 directories, the limit of ISO9660 path tables`);
    const start = dirs.length;
    for (let c = 0; c < d.children.length; c++) if (d.children[c]!.entry.kind === 'dir') dirs.push(d.children[c] as DirNode);
    if (joliet && dirs.length - start > 1) {
      const kids = dirs.splice(start).sort(byJolietKey);
      for (let k = 0; k < kids.length; k++) dirs.push(kids[k]!);
    }
  }
  return dirs;
}

/** Rock Ridge entries of a node (symlink entries, or an SU length for one whose entries are written at emit). */
function rockRidgeOf(n: Node, name: string | null, epoch: number): SystemUse {
  const e = n.entry;
  const entries = [pxEntry(modeOf(e), e.kind === 'dir' ? 2 + (n as DirNode).subdirs : 1, e.uid ?? 0, e.gid ?? 0, n.serial), tfEntry(e.mtime ?? epoch)];
  if (e.kind === 'char' || e.kind === 'block') entries.push(pnEntry(e.major, e.minor));
  if (name !== null) entries.push(...nmEntries(name));
  if (e.kind === 'symlink') entries.push(...slEntries(e.target));
  let length = 0;
  for (const x of entries) length += x.length;
  return { entries, length };
}

/**
 * Rock Ridge of the record naming a node: most are written at emit time from the node's fields
 * (no bytes per node); symlinks and names that are long or not ASCII keep their entries.
 */
function setRockRidge(n: Node, epoch: number): void {
  const e = n.entry;
  const length = posixEntriesLength(e.kind === 'char' || e.kind === 'block', n.name.length);
  n.rr = e.kind !== 'symlink' && n.name.length <= 250 && length <= systemUseRoom(n.isoId.length) && isAscii(n.name) ? { entries: null, length } : rockRidgeOf(n, n.name, epoch);
}

/** Rock Ridge of every directory's `.` and `..` records (PX, TF), written at emit time. */
const BARE_ROCK_RIDGE: DirectSystemUse = { entries: null, length: posixEntriesLength(false, -1) };

/** A directory record: its SU split between the record and continuation areas when it does not fit. */
function makeRecord(node: Node, part: number, identifier: string, idLength: number, rr: number, su: SystemUse | DirectSystemUse): RecordPlan {
  const room = systemUseRoom(idLength);
  if (su.entries === null || su.length <= room) {
    return { node, part, identifier, idLength, rr, suInline: su.entries ?? NO_SYSTEM_USE.entries, areas: NO_AREAS, length: directoryRecordLength(idLength, su.length) };
  }
  const { inline, areas } = placeSystemUse(su.entries, room);
  let suLength = 0;
  for (const e of inline) suLength += e.length;
  return { node, part, identifier, idLength, rr, suInline: inline, areas, length: directoryRecordLength(idLength, suLength) };
}

/** Bytes of a directory's extent: records never cross a sector boundary (ECMA-119 6.8.1.1). */
function extentSize(records: RecordPlan[]): number {
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const length = records[i]!.length;
    if ((at % SECTOR) + length > SECTOR) at += SECTOR - (at % SECTOR);
    at += length;
  }
  return Math.max(SECTOR, Math.ceil(at / SECTOR) * SECTOR);
}

const partsOf = (n: Node): number => (n.entry.kind === 'dir' ? 1 : (n as LeafNode).extents.length);

/** The records (`.`, `..`, children; one per extent of multi-extent files) and size of a directory of the ISO9660 tree. */
function planIsoDirectory(dir: DirNode, rockRidge: boolean, epoch: number): void {
  const parent = dir.parent ?? dir;
  if (!rockRidge) {
    dir.isoRecords.push(makeRecord(dir, 0, '\0', 1, RR_ENTRIES, NO_SYSTEM_USE));
    dir.isoRecords.push(makeRecord(parent, 0, '\x01', 1, RR_ENTRIES, NO_SYSTEM_USE));
  } else {
    if (dir.parent === null) {
      // The root's `.` record opens the SUSP area (SP) and names the extension (ER, which needs a continuation area).
      const entries = [spEntry(), ...rockRidgeOf(dir, null, epoch).entries, erEntry()];
      let length = 0;
      for (const e of entries) length += e.length;
      dir.isoRecords.push(makeRecord(dir, 0, '\0', 1, RR_ENTRIES, { entries, length }));
    } else dir.isoRecords.push(makeRecord(dir, 0, '\0', 1, RR_BARE, BARE_ROCK_RIDGE));
    dir.isoRecords.push(makeRecord(parent, 0, '\x01', 1, RR_BARE, BARE_ROCK_RIDGE));
  }
  for (let c = 0; c < dir.children.length; c++) {
    const child = dir.children[c]!;
    const parts = partsOf(child);
    const rr = rockRidge && child.rr.entries === null ? RR_NAMED : RR_ENTRIES;
    for (let p = 0; p < parts; p++) dir.isoRecords.push(makeRecord(child, p, child.isoId, child.isoId.length, rr, child.rr));
  }
  dir.isoSize = extentSize(dir.isoRecords);
}

/** The records and size of a directory of the Joliet tree (directories and files only, in Joliet order). */
function planJolietDirectory(dir: DirNode): void {
  const parent = dir.parent ?? dir;
  dir.jolietRecords.push(makeRecord(dir, 0, '\0', 1, RR_ENTRIES, NO_SYSTEM_USE));
  dir.jolietRecords.push(makeRecord(parent, 0, '\x01', 1, RR_ENTRIES, NO_SYSTEM_USE));
  const kids = dir.children.filter((c) => c.entry.kind === 'dir' || c.entry.kind === 'file').sort(byJolietKey);
  for (let c = 0; c < kids.length; c++) {
    const child = kids[c]!;
    const parts = partsOf(child);
    for (let p = 0; p < parts; p++) dir.jolietRecords.push(makeRecord(child, p, child.jolietId, child.jolietId.length * 2, RR_ENTRIES, NO_SYSTEM_USE));
  }
  dir.jolietSize = extentSize(dir.jolietRecords);
}

/**
 * Computes the layout of an ISO image for `tree`: every descriptor, path table, directory,
 * continuation area and file extent. Boot images are read (they are small) to check and patch them.
 * @example const plan = await planIso(buildTree({ 'boot/kernel': await fileContent('kernel.elf') }), { epoch: 0 });
 */
export async function planIso(tree: FileTree, options: IsoOptions = {}): Promise<IsoPlan> {
  const level = options.level ?? 3;
  if (![1, 2, 3].includes(level)) throw new RangeError(`"level" expected 1, 2 or 3, got ${level}`);
  const rockRidge = options.rockRidge ?? true;
  const joliet = options.joliet ?? true;
  const epoch = options.epoch ?? resolveEpoch();
  const opts = { ...options, level, rockRidge, joliet, epoch };
  // Every path in code-unit order (the default sort: no comparator calls), then grouped by depth
  // (a stable counting pass), so parents come before children.
  const sortedPaths = [...tree.keys()].sort();
  const volumeId = dchars(options.volumeId ?? defaultVolumeId(tree, sortedPaths, epoch), 32, 'volume id');

  checkReadable(tree, sortedPaths);
  const { root, allDirs, leaves } = buildNodes(tree, sortedPaths, rockRidge, level);
  for (let d = 0; d < allDirs.length; d++) nameChildren(allDirs[d]!, level, joliet);
  // Children in ECMA-119 9.3 order for each tree.
  for (let d = 0; d < allDirs.length; d++) allDirs[d]!.children.sort(byIsoKey);
  const dirs = pathTableOrder(root, false);
  const jolietDirs = joliet ? pathTableOrder(root, true) : [];

  // Boot entries: resolve images, check and patch.
  const boot: BootPlan[] = [];
  const hiddenLeaves: LeafNode[] = [];
  if (options.boot) {
    if (options.boot.entries.length === 0) fail('ISO_NO_BOOT_ENTRY', 'boot was given without entries', 'give at least one El Torito entry (bios or efi)');
    for (const [index, spec] of options.boot.entries.entries()) {
      let node: LeafNode;
      if (typeof spec.image === 'string') {
        const path = normalizeImagePath(spec.image, 'boot image path');
        const found = leaves.find((leaf) => leaf.path === path); // once per boot entry: no map of every path
        if (!found || found.entry.kind !== 'file') {
          fail('ISO_BOOT_IMAGE_MISSING', `boot image ${JSON.stringify(spec.image)} is not a file in the ISO tree`, 'add the boot image to the tree at that path, or pass its content instead of a path');
        }
        node = found;
      } else if (isFiller(spec.image)) {
        const filler = spec.image;
        if (!Number.isSafeInteger(filler.size) || filler.size < 0 || filler.size > MAX_EXTENT) throw new RangeError(`"boot image size" expected 0..4294967295, got ${filler.size}`);
        if (spec.bootInfoTable || spec.grub2BootInfo || spec.emulation === 'hdd') {
          fail('ISO_BOOT_ENTRY_INVALID', `boot image ${index} is written by a filler: it cannot be patched or used for hard-disk emulation`, 'pass the image as content instead');
        }
        node = hiddenLeaf(index, new Uint8Array(0), filler.size, undefined, filler);
        hiddenLeaves.push(node);
      } else {
        const size = contentSize(spec.image);
        node = hiddenLeaf(index, spec.image, size, spec.image, undefined);
        hiddenLeaves.push(node);
      }
      if (node.size === 0) fail('ISO_BOOT_IMAGE_EMPTY', `boot image ${node.path} is empty`);
      const emulation = spec.emulation ?? 'none';
      if (spec.platform === 'efi' && emulation !== 'none') fail('ISO_BOOT_ENTRY_INVALID', 'UEFI boot entries must use no emulation');
      let sectorCount = spec.loadSectors ?? (spec.platform === 'efi' ? (Math.ceil(node.size / 512) > 0xffff ? 0 : Math.ceil(node.size / 512)) : emulation === 'hdd' ? 1 : 4);
      if (!Number.isInteger(sectorCount) || sectorCount < 0 || sectorCount > 0xffff) throw new RangeError(`"loadSectors" expected 0..65535, got ${sectorCount}`);
      let systemType = 0;
      if (emulation === 'hdd') {
        const head = await loadHead(node.content!, 512);
        const info = checkHddImage(head, node.size, spec.addPartitionEntry ?? true, node.path);
        systemType = info.systemType;
        if (info.patchedMbr) node.patched = info.patchedMbr; // only the first sector changes
        sectorCount = spec.loadSectors ?? 1;
      }
      boot.push({ spec, node, media: emulation === 'hdd' ? MEDIA_HARD_DISK : MEDIA_NO_EMULATION, systemType, sectorCount });
    }
  }

  if (rockRidge) {
    for (let i = 1; i < allDirs.length; i++) setRockRidge(allDirs[i]!, epoch); // allDirs[0] is the root
    for (let i = 0; i < leaves.length; i++) setRockRidge(leaves[i]!, epoch);
  }
  for (let d = 0; d < dirs.length; d++) planIsoDirectory(dirs[d]!, rockRidge, epoch);
  for (let d = 0; d < jolietDirs.length; d++) planJolietDirectory(jolietDirs[d]!);
  for (let d = 0; d < dirs.length; d++) checkDirectorySize(dirs[d]!);

  // Path table sizes.
  const ptSize = dirs.reduce((n, d) => n + pathTableRecordLength(d === root ? 1 : d.isoId.length), 0);
  const jptSize = joliet ? jolietDirs.reduce((n, d) => n + pathTableRecordLength(d === root ? 1 : d.jolietId.length * 2), 0) : 0;
  const sectorsOf = (bytes: number) => Math.ceil(bytes / SECTOR);

  // Assign LBAs.
  let lba = 16;
  const descriptors: PlanInternal['descriptors'] = { pvd: lba++, terminator: 0 };
  if (boot.length) descriptors.bootRecord = lba++;
  if (joliet) descriptors.svd = lba++;
  descriptors.terminator = lba++;
  let catalogLba: number | undefined;
  if (boot.length) catalogLba = lba++;
  const pathTable = { size: ptSize, l: 0, m: 0, jSize: jptSize, jl: 0, jm: 0 };
  pathTable.l = lba; lba += sectorsOf(ptSize);
  pathTable.m = lba; lba += sectorsOf(ptSize);
  if (joliet) {
    pathTable.jl = lba; lba += sectorsOf(jptSize);
    pathTable.jm = lba; lba += sectorsOf(jptSize);
  }
  for (const dir of dirs) {
    dir.isoLba = lba;
    lba += dir.isoSize / SECTOR;
  }
  // Continuation areas, packed into whole sectors.
  const areas: ContinuationArea[] = [];
  for (let d = 0; d < dirs.length; d++) {
    const records = dirs[d]!.isoRecords;
    for (let i = 0; i < records.length; i++) if (records[i]!.areas.length) areas.push(...records[i]!.areas);
  }
  const ceStart = lba;
  let ceAt = 0;
  for (const area of areas) {
    if ((ceAt % SECTOR) + area.length > SECTOR) ceAt += SECTOR - (ceAt % SECTOR);
    area.block = ceStart + Math.floor(ceAt / SECTOR);
    area.offset = ceAt % SECTOR;
    ceAt += area.length;
  }
  const ceSectors = sectorsOf(ceAt);
  lba += ceSectors;
  if (joliet) {
    for (const dir of jolietDirs) {
      dir.jolietLba = lba;
      lba += dir.jolietSize / SECTOR;
    }
  }
  // Boot images stored hidden, then every file in tree order.
  const allLeaves = [...hiddenLeaves, ...leaves];
  lba = placeFiles(allLeaves, lba);
  // Boot catalog entries and patches now that LBAs are known.
  let catalog: CatalogEntry[] | undefined;
  if (boot.length) {
    catalog = boot.map((b) => ({
      platform: entryPlatform(b.spec), media: b.media, bootable: true, loadSegment: b.spec.loadSegment ?? 0,
      systemType: b.systemType, sectorCount: b.sectorCount, lba: b.node.extents[0]!.lba,
    }));
    for (const b of boot) {
      if (b.spec.bootInfoTable || b.spec.grub2BootInfo) {
        if (b.node.size > 64 << 20) fail('ISO_BOOT_IMAGE_TOO_LARGE', `${b.node.path}: boot images patched with a boot information table must be under 64 MiB`);
        const bytes = (await loadContent(b.node.content!)).slice();
        if (b.spec.bootInfoTable) patchBootInfoTable(bytes, descriptors.pvd, b.node.extents[0]!.lba);
        if (b.spec.grub2BootInfo) patchGrub2BootInfo(bytes, b.node.extents[0]!.lba);
        b.node.patched = bytes;
      }
    }
  }
  // Hybrid areas.
  let hybrid: PlanInternal['hybrid'];
  const hybridSpec = options.hybrid === true ? {} : options.hybrid || undefined;
  let sectors = lba;
  if (hybridSpec) {
    const useGpt = hybridSpec.gpt ?? true;
    const { GPT_TAIL_BYTES, buildHybridAreas } = await import('./hybrid.js');
    if (useGpt) sectors += sectorsOf(GPT_TAIL_BYTES);
    const efi = boot.find((b) => b.spec.platform === 'efi');
    const bios = boot.find((b) => b.spec.platform === 'bios' && b.media === MEDIA_NO_EMULATION);
    const grubDefault = hybridSpec.mbrCode && bios?.spec.grub2BootInfo ? 'grub2' : 'none';
    hybrid = buildHybridAreas({
      totalBytes: sectors * SECTOR,
      ...(efi ? { esp: { start: efi.node.extents[0]!.lba * 4, count: Math.ceil(efi.node.size / 512) } } : {}),
      ...(bios ? { biosBootLba: bios.node.extents[0]!.lba } : {}),
      spec: { ...hybridSpec, mbrPatch: hybridSpec.mbrPatch ?? grubDefault },
      seed: hybridSpec.seed ?? volumeId,
    });
  }
  if (options.systemArea && options.systemArea.length > 16 * SECTOR) fail('ISO_SYSTEM_AREA_TOO_LARGE', `system area data is ${options.systemArea.length} bytes; at most 32768`);
  if (sectors > 0xffffffff) fail('ISO_TOO_LARGE', 'the image exceeds 2^32 sectors (8 TiB)');

  const uuid = isoVolumeUuid(epoch);
  let extents: Map<string, Extent[]> | undefined;
  return {
    size: sectors * SECTOR,
    volumeId,
    uuid,
    /** Built on first use (writing the image does not need it). */
    get extents() {
      return (extents ??= extentsByPath(leaves));
    },
    internal: {
      options: opts, root, dirs, jolietDirs, leaves: allLeaves, descriptors, boot, pathTable,
      ceRegion: { lba: ceStart, sectors: ceSectors, areas }, sectors,
      ...(catalogLba !== undefined ? { catalogLba } : {}), ...(catalog ? { catalog } : {}), ...(hybrid ? { hybrid } : {}),
    },
  };
}

/** The first `length` bytes of content (fewer if it is shorter). */
async function loadHead(content: Content, length: number): Promise<Uint8Array> {
  if (content instanceof Uint8Array) return content.subarray(0, length);
  for await (const chunk of readContent(content, length)) return chunk.slice(0, length);
  return new Uint8Array(0);
}

function fillCe(placeholder: Uint8Array, area: ContinuationArea): void {
  placeholder.set(ceEntry(area.block, area.offset, area.length));
}

/**
 * Serializes a directory's records (ECMA-119 9.1; none crosses a sector boundary, 6.8.1.1) into
 * the stream, sector by sector, straight into its buffer; `size` is the directory's extent length.
 * The loops are in synchronous functions: V8 optimizes those while they run (on-stack
 * replacement), not loops in async functions, and this one runs once per record of the image.
 */
async function emitDirectory(s: ImageStream, records: RecordPlan[], size: number, joliet: boolean, epoch: number): Promise<void> {
  const end = s.position + size;
  let next = 0;
  while (next < records.length) {
    if (s.room < SECTOR) await s.flush();
    next = writeDirectorySectors(s, records, next, joliet, epoch);
  }
  await s.seek(end);
}

/** Fills sectors with records from `first` on while the buffer has room for a sector; returns the next record's index. */
function writeDirectorySectors(s: ImageStream, records: RecordPlan[], first: number, joliet: boolean, epoch: number): number {
  const buf = s.bytes;
  let i = first;
  while (i < records.length && s.room >= SECTOR) {
    const sector = s.claim(SECTOR);
    buf.fill(0, sector, sector + SECTOR);
    let used = 0;
    while (i < records.length && used + records[i]!.length <= SECTOR) {
      writeRecord(s, sector + used, records[i]!, joliet, epoch);
      used += records[i]!.length;
      i++;
    }
  }
  return i;
}

/** Writes one planned directory record at index `at` of the stream's buffer (zero-filled). */
function writeRecord(s: ImageStream, at: number, r: RecordPlan, joliet: boolean, epoch: number): void {
  const buf = s.bytes;
  if (r.areas.length) {
    fillCe(r.suInline[r.suInline.length - 1]!, r.areas[0]!);
    for (let i = 0; i + 1 < r.areas.length; i++) fillCe(r.areas[i]!.entries[r.areas[i]!.entries.length - 1]!, r.areas[i + 1]!);
  }
  const n = r.node;
  const e = n.entry;
  let extent: number;
  let dataLength: number;
  let flags: number;
  if (e.kind === 'dir') {
    const d = n as DirNode;
    extent = joliet ? d.jolietLba : d.isoLba;
    dataLength = joliet ? d.jolietSize : d.isoSize;
    flags = FLAG_DIRECTORY;
  } else {
    const leaf = n as LeafNode;
    const ext = leaf.extents[r.part]!;
    extent = ext.length === 0 ? 0 : ext.lba;
    dataLength = ext.length;
    flags = r.part === leaf.extents.length - 1 ? 0 : FLAG_MULTI_EXTENT;
  }
  writeDirectoryRecordHeader(buf, at, r.length, extent, dataLength, e.mtime ?? epoch, flags, r.idLength);
  // The identifier: `.` and `..` (one byte), ASCII (ISO9660) or UCS-2 (Joliet), a store per byte
  // (measured faster than Buffer or TextEncoder string writes, whose wrappers cost more than the
  // loop for these short strings); then the padding byte (already zero).
  const id = r.identifier;
  let p = at + 33;
  if (r.idLength === id.length) {
    for (let i = 0; i < id.length; i++) buf[p++] = id.charCodeAt(i);
  } else {
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      buf[p++] = c >> 8;
      buf[p++] = c & 0xff;
    }
  }
  if ((r.idLength & 1) === 0) p++;
  if (r.rr !== RR_ENTRIES) {
    const device = e.kind === 'char' || e.kind === 'block';
    p = writePosixEntries(buf, p, modeOf(e), e.kind === 'dir' ? 2 + (n as DirNode).subdirs : 1, e.uid ?? 0, e.gid ?? 0, n.serial, e.mtime ?? epoch,
      device ? e.major : -1, device ? e.minor : 0, r.rr === RR_NAMED ? n.name : null);
  }
  for (let j = 0; j < r.suInline.length; j++) {
    buf.set(r.suInline[j]!, p);
    p += r.suInline[j]!.length;
  }
  if (p - at > r.length) throw new Error(`internal: record of ${p - at} bytes, planned ${r.length}`);
}

function volumeDescriptor(plan: IsoPlan, type: 1 | 2): Uint8Array {
  const { options, root, pathTable, sectors } = plan.internal;
  const joliet = type === 2;
  const buf = new Uint8Array(SECTOR);
  buf[0] = type;
  writeAscii(buf, 1, 'CD001');
  buf[6] = 1;
  const text = (at: number, value: string | undefined, width: number) => {
    if (joliet) {
      const bytes = encodeUcs2(jolietIdentifier(value ?? '').slice(0, width / 2));
      for (let i = 0; i < width; i += 2) {
        buf[at + i] = 0;
        buf[at + i + 1] = 0x20;
      }
      buf.set(bytes.subarray(0, width), at);
    } else writeAscii(buf, at, (value ?? '').toUpperCase().replace(/[^\x20-\x7e]/g, '_').slice(0, width), width);
  };
  text(8, options.systemId ?? '', 32);
  text(40, plan.volumeId, 32);
  writeU32Both(buf, 80, sectors);
  if (joliet) writeAscii(buf, 88, '%/E', 3); // UCS-2 level 3
  writeU16Both(buf, 120, 1);
  writeU16Both(buf, 124, 1);
  writeU16Both(buf, 128, SECTOR);
  writeU32Both(buf, 132, joliet ? pathTable.jSize : pathTable.size);
  writeU32(buf, 140, joliet ? pathTable.jl : pathTable.l, true);
  writeU32(buf, 144, 0, true);
  writeU32(buf, 148, joliet ? pathTable.jm : pathTable.m, false);
  writeU32(buf, 152, 0, false);
  writeDirectoryRecord(buf, 156, {
    extent: joliet ? root.jolietLba : root.isoLba,
    dataLength: joliet ? root.jolietSize : root.isoSize,
    mtime: root.entry.mtime ?? options.epoch,
    flags: FLAG_DIRECTORY,
    identifier: new Uint8Array([0]),
    systemUse: new Uint8Array(0),
  });
  text(190, options.volumeSetId ?? '', 128);
  text(318, options.publisherId ?? '', 128);
  text(446, options.preparerId ?? 'KILN', 128);
  text(574, options.applicationId ?? 'KILN', 128);
  text(702, '', 37);
  text(739, '', 37);
  text(776, '', 37);
  writeVolumeDate(buf, 813, options.epoch);
  writeVolumeDate(buf, 830, options.epoch);
  writeVolumeDate(buf, 847, undefined);
  writeVolumeDate(buf, 864, undefined);
  buf[881] = 1;
  return buf;
}

/**
 * Places files from `first` on while each (and the gap before it) fits the stream's buffer; returns
 * the index of the first one that needs the general path (or `leaves.length`).
 */
function placeFilesSync(s: ImageStream, leaves: LeafNode[], first: number): number {
  for (let i = first; i < leaves.length; i++) {
    const leaf = leaves[i]!;
    if (leaf.size === 0) continue;
    if (leaf.patched || !leaf.content || !s.placeSync(leaf.extents[0]!.lba * SECTOR, leaf.content, leaf.size)) return i;
  }
  return leaves.length;
}

/** Serializes a path table (ECMA-119 9.4) into the stream; the caller seeks to its sector first. */
async function emitPathTable(s: ImageStream, dirs: DirNode[], joliet: boolean, le: boolean, size: number): Promise<void> {
  const end = s.position + Math.ceil(size / SECTOR) * SECTOR;
  const buf = s.bytes;
  for (let i = 0; i < dirs.length; i++) {
    const d = dirs[i]!;
    const id = d.parent === null ? '\0' : joliet ? d.jolietId : d.isoId;
    const idLength = d.parent === null ? 1 : joliet ? id.length * 2 : id.length;
    const length = pathTableRecordLength(idLength);
    if (s.room < length) await s.flush();
    const at = s.claim(length);
    buf[at] = idLength;
    buf[at + 1] = 0;
    writeU32(buf, at + 2, joliet ? d.jolietLba : d.isoLba, le);
    writeU16(buf, at + 6, d.parent === null ? 1 : joliet ? d.parent.jolietNumber : d.parent.number, le);
    let p = at + 8;
    if (joliet && d.parent !== null) {
      for (let i = 0; i < id.length; i++) {
        const c = id.charCodeAt(i);
        buf[p++] = c >> 8;
        buf[p++] = c & 0xff;
      }
    } else {
      for (let i = 0; i < id.length; i++) buf[p++] = id.charCodeAt(i);
    }
    if (p < at + length) buf[p] = 0; // padding byte
  }
  await s.seek(end);
}

/** A volume descriptor header (ECMA-119 8.1): type, `CD001`, version 1. */
function descriptorSector(type: number): Uint8Array {
  const buf = new Uint8Array(SECTOR);
  buf[0] = type;
  writeAscii(buf, 1, 'CD001');
  buf[6] = 1;
  return buf;
}

/** Options of `writeIso`. */
export interface WriteIsoOptions {
  /** Size of the emission buffer, at least 2048 (default 4 MiB). The bytes written do not depend on it. */
  bufferBytes?: number;
}

/**
 * Writes the planned ISO into `sink` (sized at least `plan.size`) front to back: system area
 * (hybrid MBR/GPT), volume descriptors, boot catalog, path tables, directories, continuation
 * areas, then file contents, all through one buffer (ImageStream) that the sink receives in large
 * pieces; boot images made by a filler are written by it in place.
 * @example await writeIso(sink, await planIso(tree, { boot: { entries: [{ platform: 'bios', image: 'boot/boot.img', bootInfoTable: true }] } }));
 */
export async function writeIso(sink: BlockSink, plan: IsoPlan, { bufferBytes }: WriteIsoOptions = {}): Promise<void> {
  const p = plan.internal;
  if (sink.size < plan.size) throw new RangeError(`sink is ${sink.size} bytes; the ISO needs ${plan.size}`);
  const { options } = p;
  const s = new ImageStream(sink, bufferBytes);
  // System area.
  if (options.systemArea || p.hybrid) {
    const area = new Uint8Array(16 * SECTOR);
    if (options.systemArea) area.set(options.systemArea);
    if (p.hybrid) area.set(p.hybrid.head, 0);
    await s.copy(area);
  }
  // Volume descriptors.
  await s.seek(p.descriptors.pvd * SECTOR);
  await s.copy(volumeDescriptor(plan, 1));
  if (p.descriptors.bootRecord !== undefined) {
    const br = descriptorSector(0);
    writeAscii(br, 7, EL_TORITO_ID, 32, 0);
    writeU32(br, 0x47, p.catalogLba!, true);
    await s.seek(p.descriptors.bootRecord * SECTOR);
    await s.copy(br);
  }
  if (p.descriptors.svd !== undefined) {
    await s.seek(p.descriptors.svd * SECTOR);
    await s.copy(volumeDescriptor(plan, 2));
  }
  await s.seek(p.descriptors.terminator * SECTOR);
  await s.copy(descriptorSector(255));
  if (p.catalog) {
    await s.seek(p.catalogLba! * SECTOR);
    await s.copy(buildBootCatalog(p.catalog));
  }
  // Path tables.
  await s.seek(p.pathTable.l * SECTOR);
  await emitPathTable(s, p.dirs, false, true, p.pathTable.size);
  await s.seek(p.pathTable.m * SECTOR);
  await emitPathTable(s, p.dirs, false, false, p.pathTable.size);
  if (options.joliet) {
    await s.seek(p.pathTable.jl * SECTOR);
    await emitPathTable(s, p.jolietDirs, true, true, p.pathTable.jSize);
    await s.seek(p.pathTable.jm * SECTOR);
    await emitPathTable(s, p.jolietDirs, true, false, p.pathTable.jSize);
  }
  // Directories, continuation areas, Joliet directories.
  for (const dir of p.dirs) {
    await s.seek(dir.isoLba * SECTOR);
    await emitDirectory(s, dir.isoRecords, dir.isoSize, false, options.epoch);
  }
  for (const area of p.ceRegion.areas) {
    await s.seek(area.block * SECTOR + area.offset);
    for (const e of area.entries) await s.copy(e);
  }
  if (options.joliet) {
    for (const dir of p.jolietDirs) {
      await s.seek(dir.jolietLba * SECTOR);
      await emitDirectory(s, dir.jolietRecords, dir.jolietSize, true, options.epoch);
    }
  }
  // File contents, in extent order: read straight into the stream's buffer, synchronously while
  // they fit (placeFilesSync); a file that does not, a filler or a patched image takes this loop.
  for (let i = placeFilesSync(s, p.leaves, 0); i < p.leaves.length; i = placeFilesSync(s, p.leaves, i + 1)) {
    const leaf = p.leaves[i]!;
    if (leaf.size === 0) continue;
    const start = leaf.extents[0]!.lba * SECTOR;
    if (leaf.filler) {
      await s.seek(start);
      await s.flush();
      await leaf.filler.fill(new SubSink(sink, start, leaf.size));
      s.resumeAt(start + leaf.size); // never write over what the filler wrote
      continue;
    }
    if (!leaf.content) continue;
    await s.seek(start);
    if (leaf.patched) {
      await s.copy(leaf.patched);
      // A patched first sector (hdd MBR) is followed by the rest of the image.
      if (leaf.patched.length < leaf.size) await s.copyContent(leaf.content, leaf.patched.length);
    } else {
      await s.copyContent(leaf.content);
    }
  }
  if (p.hybrid?.tail) {
    await s.seek(p.hybrid.tail.offset);
    await s.copy(p.hybrid.tail.bytes);
  }
  await s.flush();
}

/**
 * Plans and writes an ISO file atomically (sparse temporary file renamed into place).
 * @example const plan = await writeIsoFile('out.iso', await treeFromDirectory('iso-root'), { hybrid: true });
 */
export async function writeIsoFile(path: string, tree: FileTree, options: IsoOptions = {}): Promise<IsoPlan> {
  const plan = await planIso(tree, options);
  await writeImageFile(path, plan.size, (sink) => writeIso(sink, plan));
  return plan;
}

/**
 * An ISO as a region filler for other images: `{ size, fill(sink) }`.
 * @example const { size, fill } = await isoFiller(tree); await writeImageFile('out.iso', size, fill);
 */
export async function isoFiller(tree: FileTree, options: IsoOptions = {}): Promise<{
  /** The ISO's size in bytes. */
  size: number;
  /** Where everything lands. */
  plan: IsoPlan;
  /** Writes the ISO into a sink of exactly `size` bytes. */
  fill: (sink: BlockSink) => Promise<void>;
}> {
  const plan = await planIso(tree, options);
  return { size: plan.size, plan, fill: (sink) => writeIso(sink, plan) };
}
