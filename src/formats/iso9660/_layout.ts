/**
 * The ISO writer's layout phase (ECMA-119 §6 volume space, §8 descriptors, §9.1 records, §9.4 path
 * tables; El Torito; hybrid MBR/GPT): `planIso` computes every structure's size and every extent before
 * a byte is written.
 */
import { encodeUtf8 } from '../io/bytes.js';
import { crc32 } from '../io/crc32.js';
import { type Content, contentSize, loadContent, readContent } from '../io/content.js';
import type { FileTree } from '../io/tree.js';
import { normalizeImagePath } from '../../util/paths.js';
import { resolveEpoch } from '../../util/epoch.js';
import {
  SECTOR,
  SYSTEM_AREA_SECTORS,
  directoryRecordLength,
  pathTableRecordLength,
  volumeDateDigits,
} from './_encode.js';
import type { IsoLevel } from './names.js';
import {
  CE_LENGTH,
  erEntry,
  nmEntries,
  pnEntry,
  posixEntriesLength,
  pxEntry,
  slEntries,
  spEntry,
  tfEntry,
} from './rock-ridge.js';
import {
  type ElToritoSpec,
  type CatalogEntry,
  MEDIA_HARD_DISK,
  MEDIA_NO_EMULATION,
  checkHddImage,
  entryPlatform,
  patchBootInfoTable,
  patchGrub2BootInfo,
} from './eltorito.js';
// hybrid.js (node:zlib for CRC-32, node:crypto for GUIDs: ~5 ms to load) is imported when an image is hybrid.
import type { HybridSpec, HybridAreas } from './hybrid.js';
import {
  type Extent,
  type SystemUse,
  type Node,
  type DirectSystemUse,
  type DirNode,
  type LeafNode,
  type RecordPlan,
  type ContinuationArea,
  NO_SYSTEM_USE,
  RR_ENTRIES,
  RR_BARE,
  RR_NAMED,
  NO_AREAS,
  isFiller,
  MAX_EXTENT,
  fail,
  modeOf,
  isAscii,
  dchars,
  hiddenLeaf,
  byIsoKey,
  byJolietKey,
  buildNodes,
  checkReadable,
  checkDirectorySize,
  nameChildren,
  pathTableOrder,
} from './_tree.js';

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

/** SU bytes a directory record with an identifier of `idLength` bytes can hold (even, ECMA-119 9.1.13). */
function systemUseRoom(idLength: number): number {
  const available = 255 - directoryRecordLength(idLength, 0);
  return available - (available & 1);
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
  return `KILN_${crc32(encodeUtf8(parts.join('')))
    .toString(16)
    .padStart(8, '0')
    .toUpperCase()}`;
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

/** Rock Ridge entries of a node (symlink entries, or an SU length for one whose entries are written at emit). */
function rockRidgeOf(n: Node, name: string | null, epoch: number): SystemUse {
  const e = n.entry;
  const entries = [
    pxEntry(modeOf(e), e.kind === 'dir' ? 2 + (n as DirNode).subdirs : 1, e.uid ?? 0, e.gid ?? 0, n.serial),
    tfEntry(e.mtime ?? epoch),
  ];
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
  n.rr =
    e.kind !== 'symlink' && n.name.length <= 250 && length <= systemUseRoom(n.isoId.length) && isAscii(n.name)
      ? { entries: null, length }
      : rockRidgeOf(n, n.name, epoch);
}

/** Rock Ridge of every directory's `.` and `..` records (PX, TF), written at emit time. */
const BARE_ROCK_RIDGE: DirectSystemUse = { entries: null, length: posixEntriesLength(false, -1) };

/** A directory record: its SU split between the record and continuation areas when it does not fit. */
function makeRecord(
  node: Node,
  part: number,
  identifier: string,
  idLength: number,
  rr: number,
  su: SystemUse | DirectSystemUse,
): RecordPlan {
  const room = systemUseRoom(idLength);
  if (su.entries === null || su.length <= room) {
    return {
      node,
      part,
      identifier,
      idLength,
      rr,
      suInline: su.entries ?? NO_SYSTEM_USE.entries,
      areas: NO_AREAS,
      length: directoryRecordLength(idLength, su.length),
    };
  }
  const { inline, areas } = placeSystemUse(su.entries, room);
  let suLength = 0;
  for (const e of inline) suLength += e.length;
  return {
    node,
    part,
    identifier,
    idLength,
    rr,
    suInline: inline,
    areas,
    length: directoryRecordLength(idLength, suLength),
  };
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
    for (let p = 0; p < parts; p++)
      dir.isoRecords.push(makeRecord(child, p, child.isoId, child.isoId.length, rr, child.rr));
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
    for (let p = 0; p < parts; p++)
      dir.jolietRecords.push(
        makeRecord(child, p, child.jolietId, child.jolietId.length * 2, RR_ENTRIES, NO_SYSTEM_USE),
      );
  }
  dir.jolietSize = extentSize(dir.jolietRecords);
}

/**
 * Computes the layout of an ISO image for `tree`: every descriptor, path table, directory,
 * continuation area and file extent. Boot images are read (they are small) to check and patch them.
 * @example const plan = await planIso(buildTree({ 'boot/kernel': await fileContent('kernel.elf') }), { epoch: 0 });
 */
export async function planIso(tree: FileTree, options: IsoOptions = {}): Promise<IsoPlan> {
  const opts = resolveOptions(options);
  const { rockRidge, joliet, epoch } = opts;
  // Every path in code-unit order (the default sort: no comparator calls), then grouped by depth
  // (a stable counting pass), so parents come before children.
  const sortedPaths = [...tree.keys()].sort();
  const volumeId = dchars(options.volumeId ?? defaultVolumeId(tree, sortedPaths, epoch), 32, 'volume id');
  const trees = buildIsoTrees(tree, sortedPaths, opts);
  const { root, dirs, jolietDirs, leaves } = trees;
  const { boot, hiddenLeaves } = await planBootEntries(options.boot, leaves);
  planRecords(trees, rockRidge, epoch);

  // Volume space: descriptors, catalog, path tables, directories, continuation areas, then files.
  const { descriptors, catalogLba, next } = placeDescriptors(boot.length > 0, joliet);
  const placed = placePathTables(trees, joliet, next);
  const ceStart = placeIsoDirectories(dirs, placed.next);
  const ceRegion = placeContinuationAreas(dirs, ceStart);
  const jolietEnd = placeJolietDirectories(jolietDirs, ceStart + ceRegion.sectors);
  // Boot images stored hidden, then every file in tree order.
  const allLeaves = [...hiddenLeaves, ...leaves];
  const filesEnd = placeFiles(allLeaves, jolietEnd);
  const catalog = boot.length ? bootCatalog(boot) : undefined;
  await patchBootImages(boot, descriptors.pvd);
  const { hybrid, sectors } = await planHybrid(options.hybrid, boot, filesEnd, volumeId);
  if (options.systemArea && options.systemArea.length > SYSTEM_AREA_SECTORS * SECTOR)
    fail('ISO_SYSTEM_AREA_TOO_LARGE', `system area data is ${options.systemArea.length} bytes; at most 32768`);
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
      options: opts,
      root,
      dirs,
      jolietDirs,
      leaves: allLeaves,
      descriptors,
      boot,
      pathTable: placed.pathTable,
      ceRegion,
      sectors,
      ...(catalogLba !== undefined ? { catalogLba } : {}),
      ...(catalog ? { catalog } : {}),
      ...(hybrid ? { hybrid } : {}),
    },
  };
}

/** The options with their defaults filled in. */
function resolveOptions(options: IsoOptions): PlanInternal['options'] {
  const level = options.level ?? 3;
  if (![1, 2, 3].includes(level)) throw new RangeError(`"level" expected 1, 2 or 3, got ${level}`);
  const rockRidge = options.rockRidge ?? true;
  const joliet = options.joliet ?? true;
  const epoch = options.epoch ?? resolveEpoch();
  return { ...options, level, rockRidge, joliet, epoch };
}

/** The node trees: every directory, every file, and the directories in each tree's path-table order. */
interface IsoTrees {
  root: DirNode;
  allDirs: DirNode[];
  leaves: LeafNode[];
  /** ISO9660 directories in path-table order. */
  dirs: DirNode[];
  /** Joliet directories in path-table order (none without Joliet). */
  jolietDirs: DirNode[];
}

function buildIsoTrees(tree: FileTree, sortedPaths: readonly string[], opts: PlanInternal['options']): IsoTrees {
  const { level, joliet } = opts;
  checkReadable(tree, sortedPaths);
  const { root, allDirs, leaves } = buildNodes(tree, sortedPaths, opts.rockRidge, level);
  for (let d = 0; d < allDirs.length; d++) nameChildren(allDirs[d]!, level, joliet);
  // Children in ECMA-119 9.3 order for each tree.
  for (let d = 0; d < allDirs.length; d++) allDirs[d]!.children.sort(byIsoKey);
  const dirs = pathTableOrder(root, false);
  const jolietDirs = joliet ? pathTableOrder(root, true) : [];
  return { root, allDirs, leaves, dirs, jolietDirs };
}

// ---- Boot entries: resolve images, check and patch.

type BootEntry = ElToritoSpec['entries'][number];

async function planBootEntries(
  spec: ElToritoSpec | undefined,
  leaves: readonly LeafNode[],
): Promise<{ boot: BootPlan[]; hiddenLeaves: LeafNode[] }> {
  const boot: BootPlan[] = [];
  const hiddenLeaves: LeafNode[] = [];
  if (!spec) return { boot, hiddenLeaves };
  if (spec.entries.length === 0)
    fail('ISO_NO_BOOT_ENTRY', 'boot was given without entries', 'give at least one El Torito entry (bios or efi)');
  for (const [index, entry] of spec.entries.entries()) {
    const { node, hidden } = bootImageNode(entry, index, leaves);
    if (hidden) hiddenLeaves.push(node);
    boot.push(await planBootEntry(entry, node));
  }
  return { boot, hiddenLeaves };
}

/** The node of a boot image: a file of the tree, or a hidden extent holding given content or a filler. */
function bootImageNode(
  spec: BootEntry,
  index: number,
  leaves: readonly LeafNode[],
): { node: LeafNode; hidden: boolean } {
  if (typeof spec.image === 'string') {
    const path = normalizeImagePath(spec.image, 'boot image path');
    const found = leaves.find((leaf) => leaf.path === path); // once per boot entry: no map of every path
    if (!found || found.entry.kind !== 'file') {
      fail(
        'ISO_BOOT_IMAGE_MISSING',
        `boot image ${JSON.stringify(spec.image)} is not a file in the ISO tree`,
        'add the boot image to the tree at that path, or pass its content instead of a path',
      );
    }
    return { node: found, hidden: false };
  }
  if (isFiller(spec.image)) {
    const filler = spec.image;
    if (!Number.isSafeInteger(filler.size) || filler.size < 0 || filler.size > MAX_EXTENT)
      throw new RangeError(`"boot image size" expected 0..4294967295, got ${filler.size}`);
    if (spec.bootInfoTable || spec.grub2BootInfo || spec.emulation === 'hdd') {
      fail(
        'ISO_BOOT_ENTRY_INVALID',
        `boot image ${index} is written by a filler: it cannot be patched or used for hard-disk emulation`,
        'pass the image as content instead',
      );
    }
    return { node: hiddenLeaf(index, new Uint8Array(0), filler.size, undefined, filler), hidden: true };
  }
  const size = contentSize(spec.image);
  return { node: hiddenLeaf(index, spec.image, size, spec.image, undefined), hidden: true };
}

/** Media, system type and sectors loaded of one entry; a hard-disk image's MBR is checked (and patched). */
async function planBootEntry(spec: BootEntry, node: LeafNode): Promise<BootPlan> {
  if (node.size === 0) fail('ISO_BOOT_IMAGE_EMPTY', `boot image ${node.path} is empty`);
  const emulation = spec.emulation ?? 'none';
  if (spec.platform === 'efi' && emulation !== 'none')
    fail('ISO_BOOT_ENTRY_INVALID', 'UEFI boot entries must use no emulation');
  let sectorCount = spec.loadSectors ?? defaultLoadSectors(spec.platform, emulation, node.size);
  if (!Number.isInteger(sectorCount) || sectorCount < 0 || sectorCount > 0xffff)
    throw new RangeError(`"loadSectors" expected 0..65535, got ${sectorCount}`);
  let systemType = 0;
  if (emulation === 'hdd') {
    const head = await loadHead(node.content!, 512);
    const info = checkHddImage(head, node.size, spec.addPartitionEntry ?? true, node.path);
    systemType = info.systemType;
    if (info.patchedMbr) node.patched = info.patchedMbr; // only the first sector changes
    sectorCount = spec.loadSectors ?? 1;
  }
  return {
    spec,
    node,
    media: emulation === 'hdd' ? MEDIA_HARD_DISK : MEDIA_NO_EMULATION,
    systemType,
    sectorCount,
  };
}

/** 512-byte sectors loaded by default: EFI the whole image (0 when over 32 MiB), hard disk 1, BIOS 4. */
function defaultLoadSectors(platform: BootEntry['platform'], emulation: 'none' | 'hdd', size: number): number {
  if (platform === 'efi') return Math.ceil(size / 512) > 0xffff ? 0 : Math.ceil(size / 512);
  return emulation === 'hdd' ? 1 : 4;
}

/** The boot catalog's entries, now that the images' LBAs are known. */
function bootCatalog(boot: readonly BootPlan[]): CatalogEntry[] {
  return boot.map((b) => ({
    platform: entryPlatform(b.spec),
    media: b.media,
    bootable: true,
    loadSegment: b.spec.loadSegment ?? 0,
    systemType: b.systemType,
    sectorCount: b.sectorCount,
    lba: b.node.extents[0]!.lba,
  }));
}

/** Patches the boot information table and GRUB 2's block list into the images that ask for them. */
async function patchBootImages(boot: readonly BootPlan[], pvd: number): Promise<void> {
  for (const b of boot) {
    if (!b.spec.bootInfoTable && !b.spec.grub2BootInfo) continue;
    if (b.node.size > 64 << 20)
      fail(
        'ISO_BOOT_IMAGE_TOO_LARGE',
        `${b.node.path}: boot images patched with a boot information table must be under 64 MiB`,
      );
    const bytes = (await loadContent(b.node.content!)).slice();
    if (b.spec.bootInfoTable) patchBootInfoTable(bytes, pvd, b.node.extents[0]!.lba);
    if (b.spec.grub2BootInfo) patchGrub2BootInfo(bytes, b.node.extents[0]!.lba);
    b.node.patched = bytes;
  }
}

// ---- Directory records.

/** Rock Ridge of every named node, then the records and extent size of every directory of both trees. */
function planRecords(trees: IsoTrees, rockRidge: boolean, epoch: number): void {
  const { allDirs, leaves, dirs, jolietDirs } = trees;
  if (rockRidge) {
    for (let i = 1; i < allDirs.length; i++) setRockRidge(allDirs[i]!, epoch); // allDirs[0] is the root
    for (let i = 0; i < leaves.length; i++) setRockRidge(leaves[i]!, epoch);
  }
  for (let d = 0; d < dirs.length; d++) planIsoDirectory(dirs[d]!, rockRidge, epoch);
  for (let d = 0; d < jolietDirs.length; d++) planJolietDirectory(jolietDirs[d]!);
  for (let d = 0; d < dirs.length; d++) checkDirectorySize(dirs[d]!);
}

// ---- Logical blocks, in volume order.

function sectorsOf(bytes: number): number {
  return Math.ceil(bytes / SECTOR);
}

/** Volume descriptors from LBA 16 (primary, boot record, Joliet, terminator), then the boot catalog's LBA. */
function placeDescriptors(
  hasBoot: boolean,
  joliet: boolean,
): { descriptors: PlanInternal['descriptors']; catalogLba: number | undefined; next: number } {
  let lba = SYSTEM_AREA_SECTORS;
  const descriptors: PlanInternal['descriptors'] = { pvd: lba++, terminator: 0 };
  if (hasBoot) descriptors.bootRecord = lba++;
  if (joliet) descriptors.svd = lba++;
  descriptors.terminator = lba++;
  const catalogLba = hasBoot ? lba++ : undefined;
  return { descriptors, catalogLba, next: lba };
}

/** The L and M path tables of the ISO9660 tree, then those of the Joliet tree. */
function placePathTables(
  trees: IsoTrees,
  joliet: boolean,
  lba: number,
): { pathTable: PlanInternal['pathTable']; next: number } {
  const { root, dirs, jolietDirs } = trees;
  const ptSize = dirs.reduce((n, d) => n + pathTableRecordLength(d === root ? 1 : d.isoId.length), 0);
  const jptSize = joliet
    ? jolietDirs.reduce((n, d) => n + pathTableRecordLength(d === root ? 1 : d.jolietId.length * 2), 0)
    : 0;
  const pathTable = { size: ptSize, l: 0, m: 0, jSize: jptSize, jl: 0, jm: 0 };
  pathTable.l = lba;
  lba += sectorsOf(ptSize);
  pathTable.m = lba;
  lba += sectorsOf(ptSize);
  if (joliet) {
    pathTable.jl = lba;
    lba += sectorsOf(jptSize);
    pathTable.jm = lba;
    lba += sectorsOf(jptSize);
  }
  return { pathTable, next: lba };
}

function placeIsoDirectories(dirs: readonly DirNode[], lba: number): number {
  for (const dir of dirs) {
    dir.isoLba = lba;
    lba += dir.isoSize / SECTOR;
  }
  return lba;
}

function placeJolietDirectories(jolietDirs: readonly DirNode[], lba: number): number {
  for (const dir of jolietDirs) {
    dir.jolietLba = lba;
    lba += dir.jolietSize / SECTOR;
  }
  return lba;
}

/** Continuation areas of every ISO9660 record, packed into whole sectors from `lba` (none crosses a sector). */
function placeContinuationAreas(dirs: readonly DirNode[], lba: number): PlanInternal['ceRegion'] {
  const areas: ContinuationArea[] = [];
  for (let d = 0; d < dirs.length; d++) {
    const records = dirs[d]!.isoRecords;
    for (let i = 0; i < records.length; i++) if (records[i]!.areas.length) areas.push(...records[i]!.areas);
  }
  let ceAt = 0;
  for (const area of areas) {
    if ((ceAt % SECTOR) + area.length > SECTOR) ceAt += SECTOR - (ceAt % SECTOR);
    area.block = lba + Math.floor(ceAt / SECTOR);
    area.offset = ceAt % SECTOR;
    ceAt += area.length;
  }
  return { lba, sectors: sectorsOf(ceAt), areas };
}

// ---- Hybrid MBR/GPT.

/** The hybrid areas (when asked for) and the image's sectors, which grow by the backup GPT. */
async function planHybrid(
  option: IsoOptions['hybrid'],
  boot: readonly BootPlan[],
  lba: number,
  volumeId: string,
): Promise<{ hybrid: HybridAreas | undefined; sectors: number }> {
  const hybridSpec = option === true ? {} : option || undefined;
  if (!hybridSpec) return { hybrid: undefined, sectors: lba };
  let sectors = lba;
  const useGpt = hybridSpec.gpt ?? true;
  const { GPT_TAIL_BYTES, buildHybridAreas } = await import('./hybrid.js');
  if (useGpt) sectors += sectorsOf(GPT_TAIL_BYTES);
  const efi = boot.find((b) => b.spec.platform === 'efi');
  const bios = boot.find((b) => b.spec.platform === 'bios' && b.media === MEDIA_NO_EMULATION);
  const grubDefault = hybridSpec.mbrCode && bios?.spec.grub2BootInfo ? 'grub2' : 'none';
  const hybrid = buildHybridAreas({
    totalBytes: sectors * SECTOR,
    ...(efi ? { esp: { start: efi.node.extents[0]!.lba * 4, count: Math.ceil(efi.node.size / 512) } } : {}),
    ...(bios ? { biosBootLba: bios.node.extents[0]!.lba } : {}),
    spec: { ...hybridSpec, mbrPatch: hybridSpec.mbrPatch ?? grubDefault },
    seed: hybridSpec.seed ?? volumeId,
  });
  return { hybrid, sectors };
}

/** The first `length` bytes of content (fewer if it is shorter). */
async function loadHead(content: Content, length: number): Promise<Uint8Array> {
  if (content instanceof Uint8Array) return content.subarray(0, length);
  for await (const chunk of readContent(content, length)) return chunk.slice(0, length);
  return new Uint8Array(0);
}
