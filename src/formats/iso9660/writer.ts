/**
 * ISO9660 writer: ECMA-119 4th edition (2019) §6 (volume space, system area), §8.4 Primary Volume
 * Descriptor, §8.5 Supplementary Volume Descriptor (Joliet: escape sequence `%/E`, UCS-2 level 3),
 * §8.3 Volume Descriptor Set Terminator, §9.1 directory records, §9.3 record ordering, §9.4 path
 * tables (L and M), §10 interchange levels 1-3 (level 3: files of 4 GiB and more as multi-extent
 * files, §6.5.1 + §9.1.6 bit 7). Rock Ridge (RRIP 1.12) over SUSP 1.12 (see rock-ridge.ts),
 * El Torito (eltorito.ts) and hybrid MBR/GPT (hybrid.ts).
 *
 * Two phases: `planIso` computes every structure's size and every extent; `writeIso` emits the
 * metadata and streams file contents into a BlockSink.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { KilnError } from '../../errors.js';
import { writeAscii, writeU16Both, writeU32, writeU32Both, encodeUtf8 } from '../io/bytes.js';
import { type Content, type FileContent, contentSize, loadContent, readContent } from '../io/content.js';
import { type BlockSink, SubSink, writeImageFile } from '../io/block-writer.js';
import { type FileTree, type TreeEntry } from '../io/tree.js';
import { normalizeImagePath } from '../../util/paths.js';
import { resolveEpoch } from '../../util/epoch.js';
import {
  SECTOR, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, directoryRecordLength, writeDirectoryRecord, writeVolumeDate,
  pathTableRecordLength, writePathTableRecord, volumeDateDigits,
} from './_encode.js';
import {
  type IsoLevel, compareIdentifiers, encodeUcs2, isoIdentifier, isoStemLimit, jolietIdentifier, jolietStemLimit, uniqueIdentifiers,
} from './names.js';
import { CE_LENGTH, ceEntry, erEntry, nmEntries, pnEntry, pxEntry, slEntries, spEntry, tfEntry } from './rock-ridge.js';
import {
  type ElToritoSpec, type CatalogEntry, type RegionFiller, EL_TORITO_ID, MEDIA_HARD_DISK, MEDIA_NO_EMULATION, buildBootCatalog, checkHddImage,
  entryPlatform, patchBootInfoTable, patchGrub2BootInfo,
} from './eltorito.js';
import { type HybridSpec, GPT_TAIL_BYTES, buildHybridAreas } from './hybrid.js';

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

type Extent = { lba: number; length: number };

interface Node {
  path: string;
  name: string;
  entry: TreeEntry;
  parent: DirNode | null;
  isoId: string;
  jolietId: string;
  serial: number;
  /** System Use entries of this node's record (RR). */
  su: Uint8Array[];
}
interface DirNode extends Node {
  entry: TreeEntry & { kind: 'dir' };
  children: Node[];
  depth: number;
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
  content?: Content;
  size: number;
  extents: Extent[];
  /** Hidden boot images have no directory record. */
  hidden?: boolean;
  /** Bytes to write instead of content (patched boot images). */
  patched?: Uint8Array;
  /** Hidden boot images written in place by a filler. */
  filler?: RegionFiller;
}

function isFiller(value: unknown): value is RegionFiller {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && typeof (value as RegionFiller).fill === 'function';
}

interface RecordPlan {
  node: Node;
  kind: 'self' | 'parent' | 'child';
  /** Extent index for multi-extent files. */
  part: number;
  identifier: Uint8Array;
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
  hybrid?: ReturnType<typeof buildHybridAreas>;
}

const MAX_EXTENT = 0xffffffff;
/** Per-extent length of a multi-extent file: the largest multiple of 2048 below 4 GiB. */
const MULTI_EXTENT_CHUNK = 0xfffff800;

function fail(code: string, message: string, hint?: string, path?: string): never {
  throw new KilnError(code, message, { ...(hint ? { hint } : {}), ...(path ? { location: { file: path } } : {}) });
}

function modeOf(entry: TreeEntry): number {
  const perm = entry.mode ?? (entry.kind === 'dir' ? 0o755 : entry.kind === 'symlink' ? 0o777 : 0o644);
  const type = { dir: 0o040000, file: 0o100000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000 }[entry.kind];
  return type | (perm & 0o7777);
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

/** A deterministic default volume id from the tree's paths and sizes. */
function defaultVolumeId(tree: FileTree, epoch: number): string {
  const h = createHash('sha256').update(`kiln-iso\0${epoch}\0`);
  for (const [path, entry] of [...tree.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    h.update(`${path}\0${entry.kind}\0${entry.kind === 'file' ? contentSize(entry.content) : ''}\0`);
  }
  return `KILN_${h.digest('hex').slice(0, 8).toUpperCase()}`;
}

/**
 * The volume UUID GRUB derives from an ISO's modification date (`search --fs-uuid`), which kiln
 * sets from the epoch: `YYYY-MM-DD-HH-MM-SS-00`.
 * @example isoVolumeUuid(1700000000) // '2023-11-14-22-13-20-00'
 */
export function isoVolumeUuid(epoch: number): string {
  const d = volumeDateDigits(epoch);
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}-${d.slice(8, 10)}-${d.slice(10, 12)}-${d.slice(12, 14)}-${d.slice(14, 16)}`;
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
  const volumeId = dchars(options.volumeId ?? defaultVolumeId(tree, epoch), 32, 'volume id');

  // Build the node tree.
  let serial = 1;
  const rootEntry: TreeEntry & { kind: 'dir' } = { kind: 'dir', mode: 0o755 };
  const newDir = (path: string, name: string, entry: TreeEntry & { kind: 'dir' }, parent: DirNode | null): DirNode => ({
    path, name, entry, parent, isoId: '', jolietId: '', serial: serial++, su: [], children: [], depth: parent ? parent.depth + 1 : 1,
    number: 0, jolietNumber: 0, isoRecords: [], jolietRecords: [], isoLba: 0, isoSize: 0, jolietLba: 0, jolietSize: 0,
  });
  const root = newDir('', '', rootEntry, null);
  const dirByPath = new Map<string, DirNode>([['', root]]);
  const leaves: LeafNode[] = [];
  const leafByPath = new Map<string, LeafNode>();
  const depthOf = (path: string) => {
    let n = 0;
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) n++;
    return n;
  };
  const paths = [...tree.keys()].map((path) => ({ path, depth: depthOf(path) }))
    .sort((a, b) => a.depth - b.depth || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((x) => x.path);
  for (const path of paths) {
    const entry = tree.get(path)!;
    const slash = path.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : path.slice(0, slash);
    const name = path.slice(slash + 1);
    const parent = dirByPath.get(parentPath);
    if (!parent) fail('ISO_TREE_INVALID', `${JSON.stringify(path)} has no parent directory in the tree`, 'build the tree with buildTree(), which adds parent directories');
    if (entry.kind === 'dir') {
      const d = newDir(path, name, entry, parent);
      parent.children.push(d);
      dirByPath.set(path, d);
    } else {
      if (!rockRidge && entry.kind !== 'file') continue; // not representable without Rock Ridge
      const size = entry.kind === 'file' ? contentSize(entry.content) : 0;
      if (size > MAX_EXTENT && level < 3) {
        fail('ISO_FILE_TOO_LARGE', `${path} is ${size} bytes; ISO9660 level ${level} files must be under 4 GiB`, 'use level 3 (the default), which stores large files as multi-extent files', path);
      }
      const leaf: LeafNode = {
        path, name, entry, parent, isoId: '', jolietId: '', serial: serial++, su: [], size, extents: [],
        ...(entry.kind === 'file' ? { content: entry.content } : {}),
      };
      parent.children.push(leaf);
      leaves.push(leaf);
      leafByPath.set(path, leaf);
    }
  }

  // Identifiers, unique per directory.
  const allDirs: DirNode[] = [];
  const queue: DirNode[] = [root];
  while (queue.length) {
    const dir = queue.shift()!;
    allDirs.push(dir);
    const kids = dir.children.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // One namespace per directory, compared without ";1" and a trailing "." (as readers show names).
    const usedIso = new Set<string>();
    const bare = (id: string) => id.replace(/;1$/, '').replace(/\.$/, '');
    for (const k of kids) {
      const isDir = k.entry.kind === 'dir';
      let id = isoIdentifier(k.name, isDir, level);
      for (let n = 1; usedIso.has(bare(id)); n++) {
        const dot = id.indexOf('.');
        const stem = dot >= 0 ? id.slice(0, dot) : id;
        const tail = dot >= 0 ? id.slice(dot) : '';
        const base = isoIdentifier(k.name, isDir, level);
        const baseStem = base.indexOf('.') >= 0 ? base.slice(0, base.indexOf('.')) : base;
        const suffix = String(n);
        id = baseStem.slice(0, Math.max(0, isoStemLimit(base, isDir, level) - suffix.length)) + suffix + tail;
        void stem;
        if (n > 1_000_000) fail('ISO_NAME_COLLISION', `cannot give ${k.path} a unique ISO9660 name`, 'rename some of the files whose names differ only in case or punctuation');
      }
      usedIso.add(bare(id));
      k.isoId = id;
    }
    const jIds = uniqueIdentifiers(kids.map((k) => k.name), jolietIdentifier, 'joliet', jolietStemLimit);
    kids.forEach((k, i) => {
      k.jolietId = jIds[i]!;
    });
    for (const k of kids) if (k.entry.kind === 'dir') queue.push(k as DirNode);
  }
  // Children in ECMA-119 9.3 order for each tree.
  for (const dir of allDirs) dir.children.sort((a, b) => compareIdentifiers(a.isoId, b.isoId));
  // Path table order: by depth, then parent number, then identifier (BFS over sorted children).
  const dirs: DirNode[] = [];
  const bfs: DirNode[] = [root];
  while (bfs.length) {
    const d = bfs.shift()!;
    dirs.push(d);
    d.number = dirs.length;
    if (d.number > 0xffff) fail('ISO_TOO_MANY_DIRECTORIES', `the tree has more than 65535 directories, the limit of ISO9660 path tables`);
    for (const c of d.children) if (c.entry.kind === 'dir') bfs.push(c as DirNode);
  }
  const jolietDirs: DirNode[] = [];
  if (joliet) {
    const jq: DirNode[] = [root];
    while (jq.length) {
      const d = jq.shift()!;
      jolietDirs.push(d);
      d.jolietNumber = jolietDirs.length;
      const kids = d.children.filter((c) => c.entry.kind === 'dir').sort((a, b) => compareIdentifiers(a.jolietId, b.jolietId));
      jq.push(...(kids as DirNode[]));
    }
  }

  // File sizes → extent counts (lengths now, LBAs later).
  for (const leaf of leaves) {
    if (leaf.size > MAX_EXTENT) {
      for (let at = 0; at < leaf.size; at += MULTI_EXTENT_CHUNK) leaf.extents.push({ lba: 0, length: Math.min(MULTI_EXTENT_CHUNK, leaf.size - at) });
    } else leaf.extents.push({ lba: 0, length: leaf.size });
  }

  // Boot entries: resolve images, check and patch.
  const boot: BootPlan[] = [];
  const hiddenLeaves: LeafNode[] = [];
  if (options.boot) {
    if (options.boot.entries.length === 0) fail('ISO_NO_BOOT_ENTRY', 'boot was given without entries', 'give at least one El Torito entry (bios or efi)');
    for (const [index, spec] of options.boot.entries.entries()) {
      let node: LeafNode;
      if (typeof spec.image === 'string') {
        const path = normalizeImagePath(spec.image, 'boot image path');
        const found = leafByPath.get(path);
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
        node = { path: `<boot image ${index}>`, name: '', entry: { kind: 'file', content: new Uint8Array(0) }, parent: null, isoId: '', jolietId: '', serial: 0, su: [], filler, size: filler.size, extents: [{ lba: 0, length: filler.size }], hidden: true };
        hiddenLeaves.push(node);
      } else {
        const size = contentSize(spec.image);
        node = { path: `<boot image ${index}>`, name: '', entry: { kind: 'file', content: spec.image }, parent: null, isoId: '', jolietId: '', serial: 0, su: [], content: spec.image, size, extents: [{ lba: 0, length: size }], hidden: true };
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

  // Rock Ridge entries.
  const mtimeOf = (e: TreeEntry) => e.mtime ?? epoch;
  const nlinkOf = (d: DirNode) => 2 + d.children.filter((c) => c.entry.kind === 'dir').length;
  const rrOf = (n: Node, name: string | null): Uint8Array[] => {
    const e = n.entry;
    const out = [pxEntry(modeOf(e), e.kind === 'dir' ? nlinkOf(n as DirNode) : 1, e.uid ?? 0, e.gid ?? 0, n.serial), tfEntry(mtimeOf(e))];
    if (e.kind === 'char' || e.kind === 'block') out.push(pnEntry(e.major, e.minor));
    if (name !== null) out.push(...nmEntries(name));
    if (e.kind === 'symlink') out.push(...slEntries(e.target));
    return out;
  };

  // Directory records (sizes) for the ISO tree.
  const makeRecord = (node: Node, kind: RecordPlan['kind'], part: number, identifier: Uint8Array, su: Uint8Array[]): RecordPlan => {
    const available = 255 - directoryRecordLength(identifier.length, 0);
    const { inline, areas } = placeSystemUse(su, available - (available & 1));
    const suLength = inline.reduce((n, e) => n + e.length, 0);
    return { node, kind, part, identifier, suInline: inline, areas, length: directoryRecordLength(identifier.length, suLength) };
  };
  const extentSize = (records: RecordPlan[]): number => {
    let at = 0;
    for (const r of records) {
      if ((at % SECTOR) + r.length > SECTOR) at += SECTOR - (at % SECTOR);
      at += r.length;
    }
    return Math.max(SECTOR, Math.ceil(at / SECTOR) * SECTOR);
  };
  for (const dir of dirs) {
    const parent = dir.parent ?? dir;
    const selfSu = rockRidge ? [...(dir === root ? [spEntry()] : []), ...rrOf(dir, null), ...(dir === root ? [erEntry()] : [])] : [];
    const parentSu = rockRidge ? rrOf(parent, null) : [];
    dir.isoRecords.push(makeRecord(dir, 'self', 0, new Uint8Array([0]), selfSu));
    dir.isoRecords.push(makeRecord(parent, 'parent', 0, new Uint8Array([1]), parentSu));
    for (const child of dir.children) {
      const id = encodeUtf8(child.isoId);
      const su = rockRidge ? rrOf(child, child.name) : [];
      const parts = child.entry.kind === 'dir' ? 1 : (child as LeafNode).extents.length;
      for (let p = 0; p < parts; p++) dir.isoRecords.push(makeRecord(child, 'child', p, id, su));
    }
    dir.isoSize = extentSize(dir.isoRecords);
  }
  if (joliet) {
    for (const dir of jolietDirs) {
      const parent = dir.parent ?? dir;
      dir.jolietRecords.push(makeRecord(dir, 'self', 0, new Uint8Array([0]), []));
      dir.jolietRecords.push(makeRecord(parent, 'parent', 0, new Uint8Array([1]), []));
      const kids = dir.children.filter((c) => c.entry.kind === 'dir' || c.entry.kind === 'file').sort((a, b) => compareIdentifiers(a.jolietId, b.jolietId));
      for (const child of kids) {
        const id = encodeUcs2(child.jolietId);
        const parts = child.entry.kind === 'dir' ? 1 : (child as LeafNode).extents.length;
        for (let p = 0; p < parts; p++) dir.jolietRecords.push(makeRecord(child, 'child', p, id, []));
      }
      dir.jolietSize = extentSize(dir.jolietRecords);
    }
  }

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
  for (const dir of dirs) for (const r of dir.isoRecords) areas.push(...r.areas);
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
  for (const leaf of [...hiddenLeaves, ...leaves]) {
    if (leaf.size === 0) continue;
    for (const ext of leaf.extents) {
      ext.lba = lba;
      lba += sectorsOf(ext.length);
    }
  }
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

  const extents = new Map<string, Extent[]>();
  for (const leaf of leaves) extents.set(leaf.path, leaf.extents);
  const uuid = isoVolumeUuid(epoch);
  return {
    size: sectors * SECTOR,
    volumeId,
    uuid,
    extents,
    internal: {
      options: opts, root, dirs, jolietDirs, leaves: [...hiddenLeaves, ...leaves], descriptors, boot, pathTable,
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

function serializeRecords(records: RecordPlan[], size: number, lbaOf: (r: RecordPlan) => { extent: number; length: number; flags: number; mtime: number }): Uint8Array {
  const buf = new Uint8Array(size);
  let at = 0;
  for (const r of records) {
    if ((at % SECTOR) + r.length > SECTOR) at += SECTOR - (at % SECTOR);
    if (r.areas.length) fillCe(r.suInline[r.suInline.length - 1]!, r.areas[0]!);
    r.areas.forEach((area, i) => {
      if (i + 1 < r.areas.length) fillCe(area.entries[area.entries.length - 1]!, r.areas[i + 1]!);
    });
    const su = new Uint8Array(r.suInline.reduce((n, e) => n + e.length, 0));
    let p = 0;
    for (const e of r.suInline) {
      su.set(e, p);
      p += e.length;
    }
    const f = lbaOf(r);
    const written = writeDirectoryRecord(buf, at, { extent: f.extent, dataLength: f.length, mtime: f.mtime, flags: f.flags, identifier: r.identifier, systemUse: su });
    if (written !== r.length) throw new Error(`internal: record length ${written} != planned ${r.length}`);
    at += r.length;
  }
  return buf;
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

function pathTableBytes(dirs: DirNode[], joliet: boolean, le: boolean, size: number): Uint8Array {
  const buf = new Uint8Array(Math.ceil(size / SECTOR) * SECTOR);
  let at = 0;
  for (const d of dirs) {
    const id = d.parent === null ? new Uint8Array([0]) : joliet ? encodeUcs2(d.jolietId) : encodeUtf8(d.isoId);
    const parent = d.parent === null ? 1 : joliet ? d.parent.jolietNumber : d.parent.number;
    at += writePathTableRecord(buf, at, id, joliet ? d.jolietLba : d.isoLba, parent, le);
  }
  return buf;
}

/**
 * Writes the planned ISO into `sink` (sized at least `plan.size`): system area (hybrid MBR/GPT),
 * volume descriptors, boot catalog, path tables, directories, continuation areas, then file
 * contents streamed from their sources.
 * @example await writeIso(sink, await planIso(tree, { boot: { entries: [{ platform: 'bios', image: 'boot/boot.img', bootInfoTable: true }] } }));
 */
export async function writeIso(sink: BlockSink, plan: IsoPlan): Promise<void> {
  const p = plan.internal;
  if (sink.size < plan.size) throw new RangeError(`sink is ${sink.size} bytes; the ISO needs ${plan.size}`);
  const { options } = p;
  // System area.
  if (options.systemArea || p.hybrid) {
    const area = new Uint8Array(16 * SECTOR);
    if (options.systemArea) area.set(options.systemArea);
    if (p.hybrid) area.set(p.hybrid.head, 0);
    await sink.write(0, area);
  }
  // Volume descriptors.
  await sink.write(p.descriptors.pvd * SECTOR, volumeDescriptor(plan, 1));
  if (p.descriptors.bootRecord !== undefined) {
    const br = new Uint8Array(SECTOR);
    br[0] = 0;
    writeAscii(br, 1, 'CD001');
    br[6] = 1;
    writeAscii(br, 7, EL_TORITO_ID, 32, 0);
    writeU32(br, 0x47, p.catalogLba!, true);
    await sink.write(p.descriptors.bootRecord * SECTOR, br);
  }
  if (p.descriptors.svd !== undefined) await sink.write(p.descriptors.svd * SECTOR, volumeDescriptor(plan, 2));
  const term = new Uint8Array(SECTOR);
  term[0] = 255;
  writeAscii(term, 1, 'CD001');
  term[6] = 1;
  await sink.write(p.descriptors.terminator * SECTOR, term);
  if (p.catalog) await sink.write(p.catalogLba! * SECTOR, buildBootCatalog(p.catalog));
  // Path tables.
  await sink.write(p.pathTable.l * SECTOR, pathTableBytes(p.dirs, false, true, p.pathTable.size));
  await sink.write(p.pathTable.m * SECTOR, pathTableBytes(p.dirs, false, false, p.pathTable.size));
  if (options.joliet) {
    await sink.write(p.pathTable.jl * SECTOR, pathTableBytes(p.jolietDirs, true, true, p.pathTable.jSize));
    await sink.write(p.pathTable.jm * SECTOR, pathTableBytes(p.jolietDirs, true, false, p.pathTable.jSize));
  }
  // Directories.
  const fieldsOf = (joliet: boolean) => (r: RecordPlan) => {
    const n = r.node;
    const mtime = n.entry.mtime ?? options.epoch;
    if (n.entry.kind === 'dir') {
      const d = n as DirNode;
      return { extent: joliet ? d.jolietLba : d.isoLba, length: joliet ? d.jolietSize : d.isoSize, flags: FLAG_DIRECTORY, mtime };
    }
    const leaf = n as LeafNode;
    const ext = leaf.extents[r.part]!;
    const last = r.part === leaf.extents.length - 1;
    return { extent: ext.length === 0 ? 0 : ext.lba, length: ext.length, flags: last ? 0 : FLAG_MULTI_EXTENT, mtime };
  };
  for (const dir of p.dirs) await sink.write(dir.isoLba * SECTOR, serializeRecords(dir.isoRecords, dir.isoSize, fieldsOf(false)));
  if (p.ceRegion.sectors) {
    const ce = new Uint8Array(p.ceRegion.sectors * SECTOR);
    for (const area of p.ceRegion.areas) {
      let at = (area.block - p.ceRegion.lba) * SECTOR + area.offset;
      for (const e of area.entries) {
        ce.set(e, at);
        at += e.length;
      }
    }
    await sink.write(p.ceRegion.lba * SECTOR, ce);
  }
  if (options.joliet) for (const dir of p.jolietDirs) await sink.write(dir.jolietLba * SECTOR, serializeRecords(dir.jolietRecords, dir.jolietSize, fieldsOf(true)));
  // File contents: small host files are read concurrently into one batch buffer covering their
  // consecutive extents and handed to the sink in one call (zero blocks still skipped); large
  // files and in-memory contents are streamed one by one.
  let batch: LeafNode[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const start = batch[0]!.extents[0]!.lba * SECTOR;
    const last = batch[batch.length - 1]!;
    const end = last.extents[0]!.lba * SECTOR + last.size;
    const buf = batchBuffer(end - start);
    for (const leaf of batch) readHostFile(leaf.content as FileContent, buf, leaf.extents[0]!.lba * SECTOR - start);
    await sink.writeContent(start, buf);
    batch = [];
  };
  for (const leaf of p.leaves) {
    if (leaf.filler && leaf.size > 0) {
      await flush();
      await leaf.filler.fill(new SubSink(sink, leaf.extents[0]!.lba * SECTOR, leaf.size));
      continue;
    }
    if (leaf.size === 0 || !leaf.content) continue;
    const start = leaf.extents[0]!.lba * SECTOR;
    const small = !(leaf.content instanceof Uint8Array) && leaf.size <= BATCH_FILE_LIMIT && !leaf.patched;
    if (small) {
      const first = batch[0];
      if (first && start + leaf.size - first.extents[0]!.lba * SECTOR > BATCH_BYTES) await flush();
      batch.push(leaf);
      continue;
    }
    await flush();
    if (leaf.patched && leaf.patched.length === leaf.size) {
      await sink.write(start, leaf.patched);
    } else {
      await sink.writeContent(start, leaf.content);
      if (leaf.patched) await sink.write(start, leaf.patched); // a patched first sector (hdd MBR)
    }
  }
  await flush();
  if (p.hybrid?.tail) await sink.write(p.hybrid.tail.offset, p.hybrid.tail.bytes);
}

const BATCH_BYTES = 4 << 20;
const BATCH_FILE_LIMIT = 1 << 20;
let sharedBatch: Uint8Array | undefined;

/** A zeroed buffer of `length` bytes (a view of one reused 4 MiB buffer). */
function batchBuffer(length: number): Uint8Array {
  if (!sharedBatch) sharedBatch = new Uint8Array(BATCH_BYTES);
  const view = sharedBatch.subarray(0, length);
  view.fill(0);
  return view;
}

/**
 * Reads a whole host file into `buf` at `at`; a file that changed size is an error. Synchronous on
 * purpose: batches hold small files (≤ 1 MiB, ≤ 4 MiB per batch), where three thread-pool round
 * trips per file cost more than the reads (about 3× the CPU time for the benchmark payload).
 */
function readHostFile(content: FileContent, buf: Uint8Array, at: number): void {
  const fd = openSync(content.path, 'r');
  try {
    let done = 0;
    while (done < content.size) {
      const bytesRead = readSync(fd, buf, at + done, content.size - done, done);
      if (bytesRead === 0) {
        throw new KilnError('ISO_INPUT_CHANGED', `${content.path}: file shrank while the image was written (expected ${content.size} bytes, got ${done})`, {
          location: { file: content.path },
          hint: 'do not modify the input folder while kiln writes the image',
        });
      }
      done += bytesRead;
    }
  } finally {
    closeSync(fd);
  }
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
export async function isoFiller(tree: FileTree, options: IsoOptions = {}): Promise<{ size: number; plan: IsoPlan; fill: (sink: BlockSink) => Promise<void> }> {
  const plan = await planIso(tree, options);
  return { size: plan.size, plan, fill: (sink) => writeIso(sink, plan) };
}
