/**
 * FAT12/16/32 formatter: writes a whole FAT volume holding a FileTree into a BlockSink.
 *
 * Spec: Microsoft "FAT: General Overview of On-Disk Format" v1.03 (fatgen103): "Boot Sector and
 * BPB", "FAT Data Structure" (FAT[0] = media, FAT[1] = end of chain with the clean-shutdown bits,
 * chains ended by EOC), "FAT32 FSInfo Sector Structure and Backup Boot Sector", "FAT Directory
 * Structure" (`.`/`..` in subdirectories, `..` = 0 for the root) and "FAT Long Directory Entries".
 * Geometry as dosfstools mkfs.fat picks it (see _geometry.ts).
 *
 * Two phases: layout (names, directory sizes, every cluster allocated, contiguously, in tree
 * order) and emit (directories and file data in cluster order through a write-combining buffer:
 * each file is read with one synchronous read straight to its place in the buffer, and the buffer
 * goes to the sink in multi-megabyte writes; then FATs, root directory, boot sector, FSInfo and
 * their FAT32 backups at sectors 6 and 7). The sink must start zero-filled (every kiln sink does):
 * free clusters and the unused tail of each FAT are never written, so the image stays sparse.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { KilnError } from '../../errors.js';
import { resolveEpoch } from '../../util/epoch.js';
import { formatSize, parseSize, type SizeLike } from '../../util/size.js';
import type { BlockSink } from '../io/block-writer.js';
import { type Content, contentSize } from '../io/content.js';
import { writeU32 } from '../io/bytes.js';
import { buildTree, type FileTree, type TreeSpec } from '../io/tree.js';
import {
  computeGeometry,
  type FatType,
  type Geometry,
  type GeometryOptions,
  SECTOR_SIZE,
  MIN_CLUST_32,
} from './_geometry.js';
import {
  assignShortNames,
  checkLongName,
  longEntryCount,
  shortNameChecksum,
  writeLongEntries,
  type ShortName,
} from './_names.js';
import {
  ATTR_ARCHIVE,
  ATTR_DIRECTORY,
  ATTR_READ_ONLY,
  ATTR_VOLUME_ID,
  FAT_MAX_DEPTH,
  FAT_MAX_DIR_ENTRIES,
  buildBootSector,
  buildFsInfo,
  checkBootSector,
  normalizeLabel,
  writeShortEntry,
} from './_structures.js';

export type { FatType, Geometry } from './_geometry.js';

/** Options of {@link writeFat}. Everything is optional. */
export interface FatOptions extends GeometryOptions {
  /** Size of the volume (default: the whole sink). `'64M'`, `'2G'` or bytes. */
  size?: SizeLike;
  /** Volume label, up to 11 characters (stored upper-case). Default: none (`NO NAME`). */
  label?: string;
  /** Volume serial number. Default: derived from the volume's content (a hash of the layout, every directory, and the first and last 512 bytes of every file). */
  volumeId?: number;
  /** Time for entries without their own mtime, seconds since 1970. Default: SOURCE_DATE_EPOCH or 1980-01-01. */
  epoch?: number;
  /** Sectors before the volume on its disk (the partition's start LBA), BPB_HiddSec. Default 0. */
  hiddenSectors?: number;
  /** A 512-byte boot sector (ending in 0x55AA) whose jump and code area replace kiln's; the BPB stays kiln's. */
  bootCode?: Uint8Array;
  /** BS_OEMName, 8 ASCII characters at most. Default `MSWIN4.1` (fatgen103's recommendation). */
  oemName?: string;
  /** BS_DrvNum. Default 0x80 for media 0xF8, else 0x00. */
  driveNumber?: number;
}

/** What {@link writeFat} wrote. */
export interface FatResult {
  type: FatType;
  /** Bytes covered by the volume (total sectors × 512); at most the size given. */
  size: number;
  clusterSize: number;
  clusterCount: number;
  freeClusters: number;
  volumeId: number;
  label: string | undefined;
  geometry: Geometry;
}

/** What a directory entry says about a file or directory (one object per entry: thousands of them). */
interface PlannedEntry {
  path: string;
  /** Long name (the last part of the path; '' for the root). */
  name: string;
  short: ShortName;
  mtime: number;
  attr: number;
  firstCluster: number;
  clusters: number;
}
interface PlannedFile extends PlannedEntry {
  kind: 'file';
  content: Content;
  size: number;
}
interface PlannedDir extends PlannedEntry {
  kind: 'dir';
  parent: PlannedDir | undefined;
  /** In name order (the tree's paths are sorted before they are attached). */
  children: Array<PlannedDir | PlannedFile>;
  /** 32-byte entries it holds. */
  entries: number;
}

/** A complete layout: geometry plus every directory and file placed on clusters. */
export interface FatPlan {
  geometry: Geometry;
  label: string | undefined;
  epoch: number;
  /** Clusters used (directories + files), including the FAT32 root. */
  usedClusters: number;
  /** Objects in allocation (cluster) order. @internal */
  objects: Array<PlannedDir | PlannedFile>;
  /** The root directory's plan. @internal */
  root: PlannedDir;
}

const MAX_FILE_SIZE = 0xffffffff;
/** Placeholder until the directory's short names are assigned (all at once, per directory). */
const NO_SHORT_NAME: ShortName = { raw: '', caseBits: 0, needsLong: false };

function plannedDir(path: string, name: string, mtime: number): PlannedDir {
  return {
    kind: 'dir',
    path,
    name,
    short: NO_SHORT_NAME,
    mtime,
    attr: ATTR_DIRECTORY,
    firstCluster: 0,
    clusters: 0,
    parent: undefined,
    children: [],
    entries: 0,
  };
}

/** Refuses a directory nested deeper than the reader reads (FAT_MAX_DEPTH path components). */
function checkDepth(dirPath: string): void {
  let depth = 1;
  for (let at = dirPath.indexOf('/'); at >= 0; at = dirPath.indexOf('/', at + 1)) depth++;
  if (depth <= FAT_MAX_DEPTH) return;
  const shown = dirPath.length > 80 ? `${dirPath.slice(0, 40)}…${dirPath.slice(-40)}` : dirPath;
  throw new KilnError(
    'FAT_TOO_DEEP',
    `directory ${JSON.stringify(shown)} is nested ${depth} levels deep; kiln writes and reads FAT trees up to ${FAT_MAX_DEPTH}`,
    {
      hint: "flatten the tree (kiln's reader refuses deeper FAT trees, as a hostile image could nest without end)",
    },
  );
}

/**
 * Lays out a FAT volume of `size` bytes for `tree` without writing anything: validates names,
 * picks short names, sizes directories, computes the geometry and allocates every cluster.
 * Throws FAT_DOES_NOT_FIT (saying how many bytes over), FAT_NAME_INVALID, FAT_TOO_SMALL, ...
 * @example planFat(buildTree({ 'EFI/BOOT/BOOTX64.EFI': bytes }), 64 * 1024 * 1024, { type: 32 }).geometry.clusterCount
 */
export function planFat(tree: FileTree, size: number, options: FatOptions = {}): FatPlan {
  const epoch = options.epoch ?? resolveEpoch();
  if (!Number.isFinite(epoch)) throw new RangeError(`"epoch" expected seconds since 1970, got ${epoch}`);
  const label = options.label === undefined || options.label === '' ? undefined : normalizeLabel(options.label);
  if (options.bootCode) checkBootSector(options.bootCode);

  const root = plannedDir('', '', epoch);
  const dirs = new Map<string, PlannedDir>([['', root]]);
  // Sorted, so parents come before children and each directory's children are attached in name order.
  const paths = [...tree.keys()].sort();
  const entries = paths.map((path) => tree.get(path)!);
  for (let i = 0; i < paths.length; i++) {
    const entry = entries[i]!;
    if (entry.kind === 'dir') {
      const path = paths[i]!;
      checkDepth(path);
      dirs.set(path, plannedDir(path, path.slice(path.lastIndexOf('/') + 1), entry.mtime ?? epoch));
    }
  }
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    const entry = entries[i]!;
    const slash = path.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : path.slice(0, slash);
    const name = slash < 0 ? path : path.slice(slash + 1);
    checkLongName(name, path);
    const parent = dirs.get(parentPath);
    if (!parent)
      throw new KilnError(
        'FAT_TREE_INVALID',
        `${JSON.stringify(path)} has no parent directory ${JSON.stringify(parentPath)} in the tree`,
        { hint: 'build the tree with buildTree(), which adds parent directories' },
      );
    let node: PlannedDir | PlannedFile;
    if (entry.kind === 'dir') {
      node = dirs.get(path)!;
      node.parent = parent;
    } else if (entry.kind === 'file') {
      const fileSize = contentSize(entry.content);
      if (fileSize > MAX_FILE_SIZE) {
        throw new KilnError(
          'FAT_FILE_TOO_LARGE',
          `${JSON.stringify(path)} is ${formatSize(fileSize)}; a FAT file holds at most 4 GiB - 1 byte`,
          { location: { file: path }, hint: 'split the file or use another filesystem' },
        );
      }
      const attr = ATTR_ARCHIVE | (entry.mode !== undefined && (entry.mode & 0o222) === 0 ? ATTR_READ_ONLY : 0);
      node = {
        kind: 'file',
        path,
        name,
        short: NO_SHORT_NAME,
        mtime: entry.mtime ?? epoch,
        attr,
        firstCluster: 0,
        clusters: 0,
        content: entry.content,
        size: fileSize,
      };
    } else {
      throw new KilnError(
        'FAT_UNSUPPORTED_ENTRY',
        `${JSON.stringify(path)} is a ${entry.kind}; FAT stores only files and directories`,
        {
          location: { file: path },
          hint:
            entry.kind === 'symlink'
              ? 'replace the symlink by a copy of its target, or leave it out of the tree'
              : 'leave it out of the tree',
        },
      );
    }
    parent.children.push(node);
  }
  for (const dir of dirs.values()) {
    const children = dir.children;
    const shorts = assignShortNames(
      children.map((c) => c.name),
      dir.path,
    );
    let count = dir === root ? (label ? 1 : 0) : 2;
    for (let i = 0; i < children.length; i++) {
      const c = children[i]!;
      c.short = shorts[i]!;
      count += c.short.needsLong ? 1 + longEntryCount(c.name) : 1;
    }
    if (count > FAT_MAX_DIR_ENTRIES) {
      throw new KilnError(
        'FAT_DIRECTORY_FULL',
        `directory ${JSON.stringify(dir.path || '/')} needs ${count} entries; a FAT directory holds at most ${FAT_MAX_DIR_ENTRIES}`,
        {
          location: { file: dir.path || '/' },
          hint: 'spread the files over subdirectories, or use shorter (8.3) names, which need one entry each',
        },
      );
    }
    dir.entries = count;
  }

  let geometry = computeGeometry(size, options);
  if (geometry.type !== 32 && root.entries > geometry.rootEntries) {
    if (options.rootEntries !== undefined) {
      throw new KilnError(
        'FAT_ROOT_FULL',
        `the root directory needs ${root.entries} entries but was given ${options.rootEntries}`,
        { hint: 'raise rootEntries, move files into a subdirectory, or use FAT32' },
      );
    }
    geometry = computeGeometry(size, { ...options, rootEntries: Math.min(0xfff0, Math.ceil(root.entries / 16) * 16) });
    if (root.entries > geometry.rootEntries) {
      throw new KilnError(
        'FAT_ROOT_FULL',
        `the root directory needs ${root.entries} entries; FAT${geometry.type} allows at most ${geometry.rootEntries}`,
        { hint: 'move files into a subdirectory or use FAT32' },
      );
    }
  }

  // Allocation: contiguous, in tree order (a directory's files, then each subdirectory and its contents).
  const cb = geometry.clusterBytes;
  const objects: Array<PlannedDir | PlannedFile> = [];
  let next = 2;
  const place = (node: PlannedDir | PlannedFile, clusters: number): void => {
    node.clusters = clusters;
    node.firstCluster = clusters > 0 ? next : 0;
    next += clusters;
    if (clusters > 0) objects.push(node);
  };
  if (geometry.type === 32) place(root, Math.max(1, Math.ceil((root.entries * 32) / cb)));
  const stack: PlannedDir[] = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const c of dir.children) if (c.kind === 'file') place(c, Math.ceil(c.size / cb));
    const subdirs: PlannedDir[] = [];
    for (const c of dir.children) {
      if (c.kind === 'dir') {
        place(c, Math.max(1, Math.ceil((c.entries * 32) / cb)));
        subdirs.push(c);
      }
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
  const used = next - 2;
  if (used > geometry.clusterCount) {
    const over = (used - geometry.clusterCount) * cb;
    throw new KilnError(
      'FAT_DOES_NOT_FIT',
      `the files need ${used} clusters of ${formatSize(cb)} but the FAT${geometry.type} volume has ${geometry.clusterCount}: ${formatSize(over)} (${over} bytes) over`,
      {
        hint: `make the volume at least ${formatSize(over)} larger, or leave files out`,
        details: { bytesOver: over, clustersNeeded: used, clustersAvailable: geometry.clusterCount },
      },
    );
  }
  return { geometry, label, epoch, usedClusters: used, objects, root };
}

/** Serializes a directory's entries into `buf` (which must be zero-filled). */
function writeDirectory(buf: Uint8Array, dir: PlannedDir, label: string | undefined): void {
  let at = 0;
  if (dir.parent === undefined) {
    if (label) {
      writeShortEntry(buf, 0, {
        raw: label.padEnd(11, ' '),
        attr: ATTR_VOLUME_ID,
        caseBits: 0,
        firstCluster: 0,
        size: 0,
        mtime: dir.mtime,
      });
      at = 32;
    }
  } else {
    writeShortEntry(buf, 0, {
      raw: '.          ',
      attr: ATTR_DIRECTORY,
      caseBits: 0,
      firstCluster: dir.firstCluster,
      size: 0,
      mtime: dir.mtime,
    });
    const parentCluster = dir.parent.parent === undefined ? 0 : dir.parent.firstCluster;
    writeShortEntry(buf, 32, {
      raw: '..         ',
      attr: ATTR_DIRECTORY,
      caseBits: 0,
      firstCluster: parentCluster,
      size: 0,
      mtime: dir.parent.mtime,
    });
    at = 64;
  }
  for (const c of dir.children) {
    if (c.short.needsLong) at += writeLongEntries(buf, at, c.name, shortNameChecksum(c.short.raw));
    writeShortEntry(buf, at, {
      raw: c.short.raw,
      attr: c.attr,
      caseBits: c.short.caseBits,
      firstCluster: c.firstCluster,
      size: c.kind === 'file' ? c.size : 0,
      mtime: c.mtime,
    });
    at += 32;
  }
}

/**
 * Write-combining buffer over the sink: consecutive pieces (directory clusters, files and the zero
 * slack between them) are gathered and handed to the sink in writes of up to its capacity. (The
 * sink leaves all-zero blocks of never-written places as holes.)
 */
class Combiner {
  private readonly buf: Uint8Array;
  private start = 0;
  private length = 0;
  constructor(
    private readonly sink: BlockSink,
    capacity: number,
  ) {
    this.buf = new Uint8Array(capacity);
  }
  private get end(): number {
    return this.start + this.length;
  }
  async flush(): Promise<void> {
    if (this.length === 0) return;
    await this.sink.write(this.start, this.buf.subarray(0, this.length));
    this.start += this.length;
    this.length = 0;
  }
  /** Whether `length` bytes for `offset` can be taken without a flush. */
  fits(offset: number, length: number): boolean {
    if (this.length === 0) return length <= this.buf.length;
    const gap = offset - this.end;
    return gap >= 0 && gap <= 65536 && this.length + gap + length <= this.buf.length;
  }
  /** Returns a writable view of `length` bytes for `offset` (flushing first if needed); `length` <= capacity. */
  async reserve(offset: number, length: number): Promise<Uint8Array> {
    if (!this.fits(offset, length)) await this.flush();
    return this.take(offset, length);
  }
  /** Like reserve, synchronously: only after fits() said yes (or flush()). */
  take(offset: number, length: number): Uint8Array {
    const gap = offset - this.end;
    if (this.length === 0) {
      this.start = offset;
    } else if (gap > 0) {
      this.buf.fill(0, this.length, this.length + gap);
      this.length += gap;
    }
    const view = this.buf.subarray(this.length, this.length + length);
    this.length += length;
    return view;
  }
  get capacity(): number {
    return this.buf.length;
  }
}

/**
 * The default volume id: a 32-bit hash of what identifies the volume, without reading its data
 * twice: the geometry and label, every directory (names, sizes, first clusters and times of all
 * entries) and a sample of every file's content, its first and last SAMPLE bytes (all of a file of
 * up to twice that), taken from the write buffer as the file passes through it. (A CRC-32 of every
 * data byte cost 13 ms of 140 on a 50 MB payload; node:zlib alone takes 2 ms to load.)
 *
 * The hash takes 32-bit little-endian words: h = (h ^ word) * M, then h ^= h >>> 15. Each step is a
 * bijection of h for a given word, so changing any one word always changes the result; other
 * changes collide with a chance of about 2^-32.
 */
class VolumeHash {
  static readonly SAMPLE = 512;
  private static readonly M = 0x5bd1e995;
  private h = 0x811c9dc5;
  /** One DataView over a whole buffer, reused for every view into it (the write buffer's files); reads stay inside each view's [byteOffset, byteOffset + length). */
  private words: DataView | undefined;
  add(bytes: Uint8Array): void {
    let words = this.words;
    if (words === undefined || words.buffer !== bytes.buffer) words = this.words = new DataView(bytes.buffer);
    const M = VolumeHash.M;
    let h = this.h;
    let at = bytes.byteOffset;
    const end = at + bytes.length;
    for (; at + 4 <= end; at += 4) {
      h = Math.imul(h ^ words.getUint32(at, true), M);
      h ^= h >>> 15;
    }
    for (; at < end; at++) {
      h = Math.imul(h ^ words.getUint8(at), M);
      h ^= h >>> 15;
    }
    this.h = h;
  }
  /** Adds the sampled parts of `view`, which holds bytes [position, position + view.length) of a file of `size` bytes. */
  addFile(view: Uint8Array, position: number, size: number): void {
    const sample = VolumeHash.SAMPLE;
    if (size <= 2 * sample && position === 0 && view.length === size) {
      this.add(view);
      return;
    }
    const headEnd = Math.min(size, sample);
    const tailStart = Math.max(headEnd, size - sample);
    const end = position + view.length;
    if (position < headEnd) this.add(view.subarray(0, Math.min(end, headEnd) - position));
    if (end > tailStart) this.add(view.subarray(Math.max(position, tailStart) - position));
  }
  /** The hash, finally mixed, as an unsigned 32-bit number. */
  get value(): number {
    let h = this.h;
    h ^= h >>> 13;
    h = Math.imul(h, VolumeHash.M);
    h ^= h >>> 15;
    return h >>> 0;
  }
}

/** Reads `length` bytes of an open file at `position` into `view` (all of them, or FAT_SOURCE_CHANGED). */
function readFully(fd: number, view: Uint8Array, position: number, path: string, size: number): void {
  let got = 0;
  while (got < view.length) {
    const r = readSync(fd, view, got, view.length - got, position + got);
    if (r === 0) {
      throw new KilnError(
        'FAT_SOURCE_CHANGED',
        `${path} shrank while being written into the image (expected ${size} bytes, ended at ${position + got})`,
        { location: { file: path } },
      );
    }
    got += r;
  }
}

/** Copies a file's content into the combiner at `offset`, in pieces of at most the buffer's capacity. */
async function emitFile(out: Combiner, hash: VolumeHash, offset: number, file: PlannedFile): Promise<void> {
  const content = file.content;
  if (content instanceof Uint8Array) {
    for (let done = 0; done < content.length;) {
      const n = Math.min(out.capacity, content.length - done);
      const view = await out.reserve(offset + done, n);
      view.set(content.subarray(done, done + n));
      hash.addFile(view, done, file.size);
      done += n;
    }
    return;
  }
  const fd = openSync(content.path, 'r');
  try {
    for (let done = 0; done < file.size;) {
      const n = Math.min(out.capacity, file.size - done);
      const view = await out.reserve(offset + done, n);
      readFully(fd, view, done, content.path, file.size);
      hash.addFile(view, done, file.size);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

const EOC: Record<FatType, number> = { 12: 0xfff, 16: 0xffff, 32: 0x0fffffff };

/** Builds FAT entries [first, first + count) into bytes (12-bit entries: `first` and `count` even). */
function fatChunk(plan: FatPlan, first: number, count: number, cursor: { index: number }): Uint8Array {
  const g = plan.geometry;
  const type = g.type;
  const out = new Uint8Array(type === 32 ? count * 4 : type === 16 ? count * 2 : Math.ceil(count * 1.5));
  const view = new DataView(out.buffer);
  const set = (i: number, value: number): void => {
    if (type === 32) view.setUint32(i * 4, value, true);
    else if (type === 16) view.setUint16(i * 2, value, true);
    else {
      const at = (i * 3) >> 1;
      if ((i & 1) === 0) {
        out[at] = value & 0xff;
        out[at + 1] = (out[at + 1]! & 0xf0) | ((value >> 8) & 0x0f);
      } else {
        out[at] = (out[at]! & 0x0f) | ((value & 0x0f) << 4);
        out[at + 1] = (value >> 4) & 0xff;
      }
    }
  };
  const end = first + count;
  if (first === 0) {
    set(0, (EOC[type] & ~0xff) | g.media);
    set(1, EOC[type]);
  }
  // Objects are contiguous from cluster 2: every used cluster points to the next one (one tight
  // loop per type) ...
  const from = Math.max(first, 2);
  const to = Math.min(end, 2 + plan.usedClusters);
  if (type === 32) for (let c = from; c < to; c++) view.setUint32((c - first) * 4, c + 1, true);
  else if (type === 16) for (let c = from; c < to; c++) view.setUint16((c - first) * 2, c + 1, true);
  else for (let c = from; c < to; c++) set(c - first, c + 1);
  // ... and each object's last cluster ends its chain. Objects are in cluster order; `cursor`
  // remembers where the previous chunk stopped.
  while (cursor.index < plan.objects.length) {
    const o = plan.objects[cursor.index]!;
    const last = o.firstCluster + o.clusters - 1;
    if (last >= end) break;
    set(last - first, EOC[type]);
    cursor.index++;
  }
  return out;
}

/**
 * Writes a FAT volume holding `tree` into `sink` (from offset 0; the sink must be zero-filled and
 * at least `options.size` bytes). Returns what was made.
 * @example
 * const tree = buildTree({ 'EFI/BOOT/BOOTX64.EFI': await fileContent('loader.efi') });
 * await writeImageFile('esp.img', 64 << 20, (sink) => writeFat(sink, tree, { type: 32, label: 'ESP' }));
 */
export async function writeFat(sink: BlockSink, tree: FileTree, options: FatOptions = {}): Promise<FatResult> {
  const size = options.size === undefined ? sink.size : parseSize(options.size, 'FAT size');
  if (size > sink.size)
    throw new KilnError(
      'FAT_TOO_LARGE',
      `the FAT volume (${formatSize(size)}) is larger than its space (${formatSize(sink.size)})`,
      { hint: 'give a size that fits the partition or image' },
    );
  const hidden = options.hiddenSectors ?? 0;
  if (!Number.isInteger(hidden) || hidden < 0 || hidden > 0xffffffff)
    throw new KilnError('FAT_BAD_OPTION', `hidden sectors must be 0..4294967295, got ${hidden}`);
  const oemName = options.oemName ?? 'MSWIN4.1';
  if (!/^[\x20-\x7e]{0,8}$/.test(oemName))
    throw new KilnError(
      'FAT_BAD_OPTION',
      `OEM name must be at most 8 printable ASCII characters, got ${JSON.stringify(oemName)}`,
    );
  const plan = planFat(tree, size, options);
  const g = plan.geometry;
  const cb = g.clusterBytes;
  const dataStart = g.firstDataSector * SECTOR_SIZE;
  const clusterOffset = (cluster: number): number => dataStart + (cluster - 2) * cb;

  const hash = new VolumeHash();
  const header = new Uint8Array(32);
  writeU32(header, 0, g.totalSectors, true);
  writeU32(header, 4, g.clusterBytes, true);
  writeU32(header, 8, g.type, true);
  writeU32(header, 12, hidden, true);
  hash.add(new TextEncoder().encode(plan.label ?? ''));
  hash.add(header);

  // Data area, in cluster order.
  const out = new Combiner(sink, 4 << 20);
  for (const o of plan.objects) {
    const at = clusterOffset(o.firstCluster);
    if (o.kind === 'dir') {
      // A directory is at most 2 MiB + one cluster, less than the buffer: written whole.
      const view = await out.reserve(at, o.clusters * cb);
      view.fill(0);
      writeDirectory(view, o, plan.label);
      hash.add(view);
    } else if (o.content instanceof Uint8Array || !out.fits(at, o.size)) {
      await emitFile(out, hash, at, o);
    } else {
      // The common case, kept synchronous: a host file that fits the buffer as it is, read with
      // one call straight to its place (for thousands of small files this is several times faster
      // than fs/promises: no promise and thread-pool round trip per call).
      const view = out.take(at, o.size);
      const fd = openSync(o.content.path, 'r');
      try {
        readFully(fd, view, 0, o.content.path, o.size);
      } finally {
        closeSync(fd);
      }
      hash.addFile(view, 0, o.size);
    }
  }
  await out.flush();

  // FAT12/16 root directory region.
  if (g.type !== 32) {
    const rootBuf = new Uint8Array(g.rootDirSectors * SECTOR_SIZE);
    writeDirectory(rootBuf, plan.root, plan.label);
    await sink.write((g.reservedSectors + g.fats * g.fatSectors) * SECTOR_SIZE, rootBuf);
    hash.add(rootBuf);
  }

  // FATs: entries 0 .. last used cluster, generated in 1 MiB chunks (FAT32) written to every FAT
  // copy; the rest stays zero (free).
  const lastEntry = 2 + plan.usedClusters; // exclusive
  const chunkEntries = 1 << 18;
  const cursor = { index: 0 };
  for (let first = 0; first < lastEntry; first += chunkEntries) {
    const count = Math.min(chunkEntries, lastEntry - first + (g.type === 12 ? 1 : 0));
    const bytes = fatChunk(plan, first, count, cursor);
    const byteOffset = g.type === 32 ? first * 4 : g.type === 16 ? first * 2 : (first * 3) >> 1;
    const limit = g.fatSectors * SECTOR_SIZE;
    const data = bytes.subarray(0, Math.min(bytes.length, limit - byteOffset));
    for (let k = 0; k < g.fats; k++)
      await sink.write((g.reservedSectors + k * g.fatSectors) * SECTOR_SIZE + byteOffset, data);
  }

  const volumeId = options.volumeId ?? hash.value;
  if (!Number.isInteger(volumeId) || volumeId < 0 || volumeId > 0xffffffff)
    throw new KilnError('FAT_BAD_OPTION', `volume id must be a 32-bit unsigned number, got ${volumeId}`);
  const boot = buildBootSector({
    geometry: g,
    oemName,
    hiddenSectors: hidden,
    volumeId,
    label: (plan.label ?? 'NO NAME').padEnd(11, ' '),
    driveNumber: options.driveNumber ?? (g.media === 0xf8 ? 0x80 : 0x00),
    ...(options.bootCode ? { bootSector: options.bootCode } : {}),
  });
  const free = g.clusterCount - plan.usedClusters;
  if (g.type === 32) {
    // Sectors 0 (boot), 1 (FSInfo), 6 (backup boot), 7 (backup FSInfo); the others of the 32 reserved stay zero.
    const reserved = new Uint8Array(8 * SECTOR_SIZE);
    const fsInfo = buildFsInfo(free, free > 0 ? lastEntry : 0xffffffff);
    reserved.set(boot, 0);
    reserved.set(fsInfo, SECTOR_SIZE);
    reserved.set(boot, 6 * SECTOR_SIZE);
    reserved.set(fsInfo, 7 * SECTOR_SIZE);
    await sink.write(0, reserved);
  } else {
    await sink.write(0, boot);
  }
  return {
    type: g.type,
    size: g.totalSectors * SECTOR_SIZE,
    clusterSize: cb,
    clusterCount: g.clusterCount,
    freeClusters: free,
    volumeId,
    label: plan.label,
    geometry: g,
  };
}

/** Fills a region of a disk: what a GPT/MBR/raw partition calls with its SubSink. */
export type FatFiller = (sink: BlockSink, context?: { offset?: number }) => Promise<void>;

/**
 * A partition filler writing a FAT volume holding `tree` into the sink it is given (the whole sink
 * unless `options.size`). When the caller passes `context.offset` (the partition's byte offset on
 * the disk) and `hiddenSectors` is not set, BPB_HiddSec becomes offset / 512.
 * @example
 * const fill = fatFiller(buildTree({ 'EFI/BOOT/BOOTX64.EFI': loader }), { label: 'EFI' });
 * await fill(new SubSink(disk, 1 << 20, 64 << 20), { offset: 1 << 20 });
 */
export function fatFiller(tree: FileTree, options: FatOptions = {}): FatFiller {
  return async (sink, context) => {
    const hiddenSectors =
      options.hiddenSectors ?? (context?.offset !== undefined ? Math.floor(context.offset / SECTOR_SIZE) : undefined);
    await writeFat(sink, tree, { ...options, ...(hiddenSectors !== undefined ? { hiddenSectors } : {}) });
  };
}

/** The EFI System Partition type GUID (UEFI 2.10 §5.3.3, table 5.6). */
export const ESP_TYPE_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';

/** Options of {@link esp}. */
export interface EspOptions extends Omit<FatOptions, 'size'> {
  /** Partition size, e.g. `'64M'`. */
  size: SizeLike;
  /** Files of the partition, e.g. `{ '/EFI/BOOT/BOOTX64.EFI': loader }`, or a FileTree. */
  files: TreeSpec | FileTree;
  /** GPT partition name (default `EFI System Partition`). */
  name?: string;
}

/** An EFI System Partition ready for a GPT writer: its size, type GUID, name and filler. */
export interface EspPartition {
  kind: 'esp';
  /** Partition size in bytes. */
  size: number;
  /** GPT partition type GUID (`c12a7328-f81f-11d2-ba4b-00a0c93ec93b`). */
  typeGuid: string;
  /** MBR partition type: 0xEF. */
  mbrType: number;
  name: string;
  /** FAT type chosen for this size. */
  fatType: FatType;
  /** The files (normalized tree). */
  tree: FileTree;
  /** Writes the FAT volume into the partition's sink. */
  fill: FatFiller;
}

/**
 * Describes an EFI System Partition (UEFI 2.10 §13.3 "File System Format": FAT32 for system
 * partitions, FAT12/16 allowed on smaller media). kiln uses FAT32 whenever the size holds the
 * 65,525 clusters FAT32 needs (about 33 MiB and up; cluster size from Microsoft's table as
 * mkfs.fat does), and below that what mkfs.fat picks (FAT16, or FAT12 under about 2 MiB). A forced
 * `type` is honoured. The layout is checked at once: files that do not fit throw FAT_DOES_NOT_FIT.
 * @example gpt({ size: '64M', partitions: [esp({ size: '32M', files: { '/EFI/BOOT/BOOTX64.EFI': loader } })] })
 */
export function esp(options: EspOptions): EspPartition {
  const size = parseSize(options.size, 'ESP size');
  const tree = options.files instanceof Map ? options.files : buildTree(options.files);
  let type = options.type;
  if (type === undefined) {
    try {
      type = computeGeometry(size, { ...options, type: 32 }).clusterCount >= MIN_CLUST_32 ? 32 : undefined;
    } catch (error) {
      if (!(error instanceof KilnError)) throw error;
    }
  }
  const { files: _files, name: _name, size: _size, ...rest } = options;
  void _files;
  void _name;
  void _size;
  const fatOptions: FatOptions = { ...rest, ...(type !== undefined ? { type } : {}) };
  const plan = planFat(tree, size, fatOptions); // fail early, with the config's numbers
  return {
    kind: 'esp',
    size,
    typeGuid: ESP_TYPE_GUID,
    mbrType: 0xef,
    name: options.name ?? 'EFI System Partition',
    fatType: plan.geometry.type,
    tree,
    fill: fatFiller(tree, fatOptions),
  };
}
