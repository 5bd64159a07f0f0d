/**
 * ISO9660 writer: ECMA-119 4th edition (2019) §6 (volume space, system area), §8.4 Primary Volume
 * Descriptor, §8.5 Supplementary Volume Descriptor (Joliet: escape sequence `%/E`, UCS-2 level 3),
 * §8.3 Volume Descriptor Set Terminator, §9.1 directory records, §9.3 record ordering, §9.4 path
 * tables (L and M), §10 interchange levels 1-3 (level 3: files of 4 GiB and more as multi-extent
 * files, §6.5.1 + §9.1.6 bit 7). Rock Ridge (RRIP 1.12) over SUSP 1.12 (see rock-ridge.ts),
 * El Torito (eltorito.ts) and hybrid MBR/GPT (hybrid.ts).
 *
 * Three parts: the tree (_tree.ts: nodes and their identifiers from a FileTree), the layout
 * (_layout.ts: `planIso` computes every structure's size and every extent) and the emitter (this file:
 * `writeIso` emits the image front to back in sector order through one large buffer (_stream.ts):
 * metadata serialized straight into it, file contents read into it, the sink handed a few
 * multi-megabyte writes).
 */
import { writeAscii, writeU16, writeU16Both, writeU32, writeU32Both } from '../io/bytes.js';
import { type BlockSink, SubSink, writeImageFile } from '../io/block-writer.js';
import type { FileTree } from '../io/tree.js';
import {
  SECTOR,
  SYSTEM_AREA_SECTORS,
  FLAG_DIRECTORY,
  FLAG_MULTI_EXTENT,
  writeDirectoryRecord,
  writeDirectoryRecordHeader,
  writeVolumeDate,
  pathTableRecordLength,
} from './_encode.js';
import { encodeUcs2, jolietIdentifier } from './names.js';
import { ImageStream } from './_stream.js';
import { ceEntry, writePosixEntries } from './rock-ridge.js';
import { EL_TORITO_ID, buildBootCatalog } from './eltorito.js';
import { type IsoOptions, type IsoPlan, planIso } from './_layout.js';
import {
  type DirNode,
  type LeafNode,
  type RecordPlan,
  type ContinuationArea,
  RR_ENTRIES,
  RR_NAMED,
  modeOf,
} from './_tree.js';

export { type IsoOptions, type IsoPlan, isoVolumeUuid, planIso } from './_layout.js';

function fillCe(placeholder: Uint8Array, area: ContinuationArea): void {
  placeholder.set(ceEntry(area.block, area.offset, area.length));
}

/**
 * Serializes a directory's records (ECMA-119 9.1; none crosses a sector boundary, 6.8.1.1) into
 * the stream, sector by sector, straight into its buffer; `size` is the directory's extent length.
 * The loops are in synchronous functions: V8 optimizes those while they run (on-stack
 * replacement), not loops in async functions, and this one runs once per record of the image.
 */
async function emitDirectory(
  s: ImageStream,
  records: RecordPlan[],
  size: number,
  joliet: boolean,
  epoch: number,
): Promise<void> {
  const end = s.position + size;
  let next = 0;
  while (next < records.length) {
    if (s.room < SECTOR) await s.flush();
    next = writeDirectorySectors(s, records, next, joliet, epoch);
  }
  await s.seek(end);
}

/** Fills sectors with records from `first` on while the buffer has room for a sector; returns the next record's index. */
function writeDirectorySectors(
  s: ImageStream,
  records: RecordPlan[],
  first: number,
  joliet: boolean,
  epoch: number,
): number {
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
    for (let i = 0; i + 1 < r.areas.length; i++)
      fillCe(r.areas[i]!.entries[r.areas[i]!.entries.length - 1]!, r.areas[i + 1]!);
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
    p = writePosixEntries(
      buf,
      p,
      modeOf(e),
      e.kind === 'dir' ? 2 + (n as DirNode).subdirs : 1,
      e.uid ?? 0,
      e.gid ?? 0,
      n.serial,
      e.mtime ?? epoch,
      device ? e.major : -1,
      device ? e.minor : 0,
      r.rr === RR_NAMED ? n.name : null,
    );
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
    } else
      writeAscii(
        buf,
        at,
        (value ?? '')
          .toUpperCase()
          .replace(/[^\x20-\x7e]/g, '_')
          .slice(0, width),
        width,
      );
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
async function emitPathTable(
  s: ImageStream,
  dirs: DirNode[],
  joliet: boolean,
  le: boolean,
  size: number,
): Promise<void> {
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
    const area = new Uint8Array(SYSTEM_AREA_SECTORS * SECTOR);
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
export async function isoFiller(
  tree: FileTree,
  options: IsoOptions = {},
): Promise<{
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
