/**
 * Fixed-LBA raw disk layouts, as Portix's build.py assembles them (seed "Portix: Disk Layout":
 * LBA 0 boot sector of exactly 512 bytes ending in 0x55AA, LBA 1-64 stage 2 (at most 64 sectors),
 * LBA 65+ kernel, the kernel's LBA patched into stage 2, an optional FAT32 partition filling the
 * rest of a disk of at least 8 MB). The partition record follows UEFI 2.10 §5.2.1 "Legacy Master
 * Boot Record" (Table 5-2), written into bytes 446..509 of the boot sector.
 *
 * Two phases: `layoutRaw` checks every limit (exact sizes, sector limits, minimum LBAs, overlaps,
 * patch ranges and values, the disk's minimum size) and says by how many bytes something is off;
 * `writeRaw` then writes the regions (patched in memory when they carry patches), the partition
 * record, and the partition's content through a BlockSink.
 */
import { KilnError } from '../../errors.js';
import { type BlockSink, writeImageFile } from '../io/block-writer.js';
import { isAllZero, writeU16, writeU32, writeU64 } from '../io/bytes.js';
import { type Content, contentSize, loadContent } from '../io/content.js';
import { type SizeLike, formatSize, parseSize } from '../../util/size.js';
import { type MbrTypeName, mbrTypeByte, writePartitionRecords } from '../mbr/write.js';
import { type RegionFill, fillRegion } from '../mbr/_region.js';

export const RAW_SECTOR_SIZE = 512;

/** A piece of the disk at a fixed LBA. */
export interface RawRegionSpec {
  /** Name used in errors and patches (`stage1`, `stage2`, `kernel`). */
  name: string;
  /** First sector. */
  lba: number;
  content: Content;
  /** The content must be exactly this many bytes (stage1: 512). */
  exactSize?: number;
  /** The content may take at most this many sectors (stage2: 64). */
  maxSectors?: number;
  /** The region may not start before this LBA (kernel: 65). */
  minLba?: number;
  /**
   * `true`: bytes 510..511 must be 0x55 0xAA (a BIOS boot sector). `'write'`: the content is a boot
   * block of at most 510 bytes that kiln pads with zeros to 510 and signs with 0x55 0xAA (what a
   * Makefile's signing script does); more than 510 bytes is refused with the size.
   */
  bootSignature?: boolean | 'write';
  /** Byte offsets of named symbols inside the region, for patches (e.g. from `nasm -l` or a map file). */
  symbols?: Record<string, number>;
}

/** A value to patch: a number, or a fact about a region computed by the layout. */
export type RawPatchValue = number | bigint | { lbaOf: string } | { sectorsOf: string } | { sizeOf: string };

/** Writes a little- (default) or big-endian integer into a region. */
export interface RawPatchSpec {
  region: string;
  /** Byte offset inside the region, or a symbol of the region's `symbols`. */
  at: number | { symbol: string };
  type: 'u8' | 'u16' | 'u32' | 'u64';
  value: RawPatchValue;
  /** Default `le`. */
  endian?: 'le' | 'be';
}

/** A partition after the regions, registered in the MBR partition table of the LBA-0 region. */
export interface RawPartitionSpec extends RegionFill {
  /** MBR type byte or name. Default `fat32` (0x0C, FAT32 with LBA). */
  type?: number | MbrTypeName;
  /** First sector; default: the first `alignment` boundary after the last region. */
  startLba?: number;
  /** Size; default: the rest of the disk. */
  size?: SizeLike;
  /** Alignment of the default start. Default 1 MiB. */
  alignment?: SizeLike;
  bootable?: boolean;
  /** Partition table slot 1..4. Default 1. */
  slot?: number;
}

/** Options of `writeRaw` / `layoutRaw`: disk size, regions at fixed LBAs, patches, an optional partition. */
export interface RawOptions {
  /** Disk size (`8M`). */
  size: SizeLike;
  /** Smallest allowed disk size. Default: none (Portix: 8 MiB). */
  minSize?: SizeLike;
  regions: RawRegionSpec[];
  patches?: RawPatchSpec[];
  partition?: RawPartitionSpec;
}

/** A region placed on the disk: its LBA, size and sector count. */
export interface RawRegionLayout {
  name: string;
  lba: number;
  /** Content size in bytes. */
  size: number;
  sectors: number;
  content: Content;
}

/** A patch resolved to its byte offset and value. */
export interface RawPatchLayout {
  region: string;
  /** Offset inside the region. */
  offset: number;
  type: RawPatchSpec['type'];
  endian: 'le' | 'be';
  value: bigint;
}

export interface RawPartitionLayout extends RegionFill {
  slot: number;
  type: number;
  bootable: boolean;
  startLba: number;
  sectors: number;
}

/** Where every region, patch and partition lands, computed before any byte is written. */
export interface RawLayout {
  size: number;
  regions: RawRegionLayout[];
  patches: RawPatchLayout[];
  partition?: RawPartitionLayout;
}

const WIDTH = { u8: 1, u16: 2, u32: 4, u64: 8 } as const;

function fail(code: string, message: string, hint?: string, details?: Record<string, unknown>): never {
  throw new KilnError(code, `raw: ${message}`, { ...(hint ? { hint } : {}), ...(details ? { details } : {}) });
}

/**
 * Pads a boot block of at most 510 bytes to 510 and appends the BIOS boot signature 0x55 0xAA.
 * @example signBootSector(new Uint8Array([0xeb, 0xfe])).length // 512
 */
export function signBootSector(block: Uint8Array, name = 'boot sector'): Uint8Array {
  if (block.length > 510) {
    fail(
      'RAW_BOOT_SECTOR_TOO_LARGE',
      `${name} is ${block.length} bytes; a boot block signed by kiln holds at most 510 (${block.length - 510} bytes over)`,
      'shrink the boot code (-Os, move work to a second stage), or sign it yourself and use bootSignature: true',
      { size: block.length, limit: 510 },
    );
  }
  const sector = new Uint8Array(512);
  sector.set(block, 0);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

function sectorsOf(bytes: number): number {
  return Math.ceil(bytes / RAW_SECTOR_SIZE);
}

/**
 * Checks the layout and resolves patches and the partition (reads the content of regions that need
 * a boot-signature or partition-table check, so it is async).
 * @example
 * const layout = await layoutRaw(portixLayout({ stage1: boot, stage2, kernel }));
 */
export async function layoutRaw(options: RawOptions): Promise<RawLayout> {
  const size = diskSize(options);
  const regions: RawRegionLayout[] = [];
  const names = new Set<string>();
  for (const given of options.regions) regions.push(await layoutRegion(given, names, size));
  checkRegionOverlaps(regions);
  const region = regionLookup(regions);
  const specByName = new Map(options.regions.map((r) => [r.name, r]));
  const patches: RawPatchLayout[] = [];
  for (const [i, p] of (options.patches ?? []).entries())
    patches.push(layoutPatch(p, `patch ${i + 1}`, region, specByName.get(p.region)?.symbols, patches));
  const partition = options.partition ? await layoutPartition(options.partition, size, regions, patches) : undefined;
  return { size, regions, patches, ...(partition ? { partition } : {}) };
}

/** The disk size in bytes: whole sectors, and at least the minimum size when one is given. */
function diskSize(options: RawOptions): number {
  const size = parseSize(options.size, 'disk size');
  if (size % RAW_SECTOR_SIZE !== 0)
    fail(
      'RAW_SIZE_NOT_SECTOR',
      `disk size ${size} is not a multiple of 512 bytes`,
      `round it to ${Math.ceil(size / 512) * 512}`,
    );
  if (options.minSize !== undefined) {
    const min = parseSize(options.minSize, 'minimum size');
    if (size < min) {
      fail(
        'RAW_DISK_TOO_SMALL',
        `the disk is ${formatSize(size)} (${size} bytes), ${min - size} bytes below the minimum of ${formatSize(min)}`,
        `give a size of at least ${Math.ceil(min / 1048576)}M`,
        { size, min },
      );
    }
  }
  return size;
}

/** One region, signed when asked to, checked against its limits and the disk (`names` gathers the names). */
async function layoutRegion(given: RawRegionSpec, names: Set<string>, size: number): Promise<RawRegionLayout> {
  const spec =
    given.bootSignature === 'write'
      ? { ...given, content: signBootSector(await loadContent(given.content), given.name), bootSignature: true }
      : given;
  if (names.has(spec.name)) fail('RAW_DUPLICATE_REGION', `two regions are named ${JSON.stringify(spec.name)}`);
  names.add(spec.name);
  if (!Number.isInteger(spec.lba) || spec.lba < 0)
    fail('RAW_BAD_LBA', `${spec.name}: LBA ${spec.lba} is not a sector number`);
  const bytes = contentSize(spec.content);
  const sectors = sectorsOf(bytes);
  checkRegionSize(spec, bytes, sectors);
  if (spec.minLba !== undefined && spec.lba < spec.minLba)
    fail('RAW_BAD_LBA', `${spec.name} starts at LBA ${spec.lba}; it may not start before LBA ${spec.minLba}`);
  const end = spec.lba * RAW_SECTOR_SIZE + bytes;
  if (end > size) {
    fail(
      'RAW_DOES_NOT_FIT',
      `${spec.name} (LBA ${spec.lba}, ${bytes} bytes) ends ${end - size} bytes past the end of the ${formatSize(size)} disk`,
      'make the disk larger (--size)',
      { over: end - size },
    );
  }
  if (spec.bootSignature) await checkBootSignature(spec);
  return { name: spec.name, lba: spec.lba, size: bytes, sectors, content: spec.content };
}

/** A region's `exactSize` and `maxSectors`. */
function checkRegionSize(spec: RawRegionSpec, bytes: number, sectors: number): void {
  if (spec.exactSize !== undefined && bytes !== spec.exactSize) {
    fail(
      'RAW_REGION_SIZE',
      `${spec.name} is ${bytes} bytes; it must be exactly ${spec.exactSize} (${bytes > spec.exactSize ? `${bytes - spec.exactSize} bytes over` : `${spec.exactSize - bytes} bytes short`})`,
      spec.bootSignature ? 'a boot sector is assembled with `times 510-($-$$) db 0` and `dw 0xAA55`' : undefined,
      { size: bytes, expected: spec.exactSize },
    );
  }
  if (spec.maxSectors !== undefined && sectors > spec.maxSectors) {
    const limit = spec.maxSectors * RAW_SECTOR_SIZE;
    fail(
      'RAW_REGION_TOO_LARGE',
      `${spec.name} is ${bytes} bytes (${sectors} sectors), ${bytes - limit} bytes over its limit of ${spec.maxSectors} sectors (${limit} bytes)`,
      `shrink ${spec.name}, or raise its sector limit and move what follows it (and the LBA constants in the loader)`,
      { size: bytes, limit, over: bytes - limit },
    );
  }
}

async function checkBootSignature(spec: RawRegionSpec): Promise<void> {
  const head = await loadContent(spec.content);
  if (head.length < 512 || head[510] !== 0x55 || head[511] !== 0xaa) {
    fail(
      'RAW_NO_BOOT_SIGNATURE',
      `${spec.name} does not end in the boot signature 0x55 0xAA at bytes 510-511${head.length >= 512 ? ` (found ${head[510]!.toString(16).padStart(2, '0')} ${head[511]!.toString(16).padStart(2, '0')})` : ''}`,
      'end the boot sector with `dw 0xAA55`',
    );
  }
}

function checkRegionOverlaps(regions: readonly RawRegionLayout[]): void {
  const sorted = [...regions].sort((a, b) => a.lba - b.lba);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    const prevEnd = prev.lba * RAW_SECTOR_SIZE + prev.size;
    if (prevEnd > cur.lba * RAW_SECTOR_SIZE) {
      fail(
        'RAW_OVERLAP',
        `${prev.name} (LBA ${prev.lba}, ${prev.size} bytes) runs ${prevEnd - cur.lba * RAW_SECTOR_SIZE} bytes into ${cur.name} at LBA ${cur.lba}`,
        `move ${cur.name} to LBA ${sectorsOf(prevEnd)} or later, or shrink ${prev.name}`,
        { over: prevEnd - cur.lba * RAW_SECTOR_SIZE },
      );
    }
  }
}

/** Finds a region by name for a patch (`what`), or fails naming the regions there are. */
type RegionLookup = (name: string, what: string) => RawRegionLayout;

function regionLookup(regions: readonly RawRegionLayout[]): RegionLookup {
  const byName = new Map(regions.map((r) => [r.name, r]));
  return (name, what) =>
    byName.get(name) ??
    fail(
      'RAW_UNKNOWN_REGION',
      `${what} names region ${JSON.stringify(name)}, which does not exist`,
      `regions: ${[...byName.keys()].join(', ')}`,
    );
}

/** One patch: its offset (a number or a symbol of the region), its value, and no overlap with `earlier`. */
function layoutPatch(
  p: RawPatchSpec,
  what: string,
  region: RegionLookup,
  symbols: Record<string, number> | undefined,
  earlier: readonly RawPatchLayout[],
): RawPatchLayout {
  const target = region(p.region, what);
  const width = WIDTH[p.type];
  if (!width) fail('RAW_BAD_PATCH', `${what}: type ${JSON.stringify(p.type)} is not u8, u16, u32 or u64`);
  const offset = typeof p.at === 'number' ? p.at : symbolOffset(p, p.at.symbol, what, symbols ?? {});
  if (!Number.isInteger(offset) || offset < 0 || offset + width > target.size) {
    fail(
      'RAW_PATCH_OUTSIDE',
      `${what}: a ${p.type} at offset ${offset} of ${p.region} ends ${offset + width - target.size} bytes past its ${target.size} bytes`,
      'check the offset or symbol',
    );
  }
  const value = patchValue(p.value, what, region);
  if (value < 0n || value >= 1n << BigInt(8 * width)) {
    fail('RAW_PATCH_OVERFLOW', `${what}: value ${value} does not fit in a ${p.type}`, 'use a wider type');
  }
  for (const q of earlier) {
    if (q.region === p.region && offset < q.offset + WIDTH[q.type] && q.offset < offset + width)
      fail('RAW_PATCH_OVERLAP', `${what} overlaps another patch of ${p.region} at offset ${q.offset}`);
  }
  return { region: p.region, offset, type: p.type, endian: p.endian ?? 'le', value };
}

function symbolOffset(p: RawPatchSpec, symbol: string, what: string, symbols: Record<string, number>): number {
  const found = symbols[symbol];
  if (found === undefined)
    fail(
      'RAW_UNKNOWN_SYMBOL',
      `${what}: ${p.region} has no symbol ${JSON.stringify(symbol)}`,
      `known symbols: ${Object.keys(symbols).join(', ') || '(none given)'}`,
    );
  return found;
}

/** A number, or a region's LBA, sector count or size. */
function patchValue(v: RawPatchValue, what: string, region: RegionLookup): bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v);
  if ('lbaOf' in v) return BigInt(region(v.lbaOf, what).lba);
  if ('sectorsOf' in v) return BigInt(region(v.sectorsOf, what).sectors);
  return BigInt(region(v.sizeOf, what).size);
}

/** The partition: its slot, start and size on the disk, clear of every region and of the MBR's code. */
async function layoutPartition(
  spec: RawPartitionSpec,
  size: number,
  regions: readonly RawRegionLayout[],
  patches: readonly RawPatchLayout[],
): Promise<RawPartitionLayout> {
  const totalSectors = size / RAW_SECTOR_SIZE;
  const slot = spec.slot ?? 1;
  if (![1, 2, 3, 4].includes(slot)) fail('RAW_BAD_PARTITION', `partition slot ${slot} is not 1..4`);
  const align = parseSize(spec.alignment ?? '1M', 'alignment') / RAW_SECTOR_SIZE;
  const lastEnd = Math.max(1, ...regions.map((r) => r.lba + r.sectors));
  const startLba = spec.startLba ?? Math.ceil(lastEnd / Math.max(1, align)) * Math.max(1, align);
  const sectors = spec.size !== undefined ? sectorsOf(parseSize(spec.size, 'partition size')) : totalSectors - startLba;
  if (sectors < 1 || startLba + sectors > totalSectors) {
    const over = (startLba + Math.max(sectors, 1) - totalSectors) * RAW_SECTOR_SIZE;
    fail(
      'RAW_DOES_NOT_FIT',
      `the partition (LBA ${startLba}, ${Math.max(sectors, 0)} sectors) is ${over} bytes past the end of the ${formatSize(size)} disk`,
      'make the disk larger (--size)',
      { over },
    );
  }
  for (const r of regions) {
    if (r.lba < startLba + sectors && startLba < r.lba + r.sectors) {
      fail(
        'RAW_OVERLAP',
        `the partition (LBA ${startLba}..${startLba + sectors - 1}) overlaps ${r.name} (LBA ${r.lba}..${r.lba + r.sectors - 1})`,
        'start the partition after the last region',
      );
    }
  }
  if (startLba + sectors - 1 > 0xffffffff)
    fail('RAW_TOO_LARGE', 'the partition ends past sector 2^32, which an MBR cannot address');
  if (spec.content && contentSize(spec.content) > sectors * RAW_SECTOR_SIZE) {
    const over = contentSize(spec.content) - sectors * RAW_SECTOR_SIZE;
    fail(
      'RAW_CONTENT_TOO_LARGE',
      `the partition content is ${over} bytes over the ${sectors * RAW_SECTOR_SIZE}-byte partition`,
      'make the disk larger',
    );
  }
  const mbr = regions.find((r) => r.lba === 0);
  if (mbr) await checkTableFree(mbr, patches);
  return {
    slot,
    type: mbrTypeByte(spec.type ?? 'fat32', 'partition type'),
    bootable: spec.bootable ?? false,
    startLba,
    sectors,
    ...(spec.content ? { content: spec.content } : {}),
    ...(spec.fill ? { fill: spec.fill } : {}),
  };
}

/** The LBA-0 region leaves bytes 446..509 to the partition table: zeros there, and no patch. */
async function checkTableFree(mbr: RawRegionLayout, patches: readonly RawPatchLayout[]): Promise<void> {
  if (mbr.size < 512)
    fail(
      'RAW_BAD_PARTITION',
      `${mbr.name} at LBA 0 is ${mbr.size} bytes; the partition table needs a full 512-byte sector`,
    );
  const head = await loadContent(mbr.content);
  const table = head.subarray(446, 510);
  if (!isAllZero(table)) {
    fail(
      'RAW_PARTITION_TABLE_OCCUPIED',
      `${mbr.name} has non-zero bytes at 446..509, where the partition table goes`,
      'keep the boot code within the first 446 bytes and fill the rest with zeros (`times 510-($-$$) db 0`)',
    );
  }
  for (const p of patches) {
    if (p.region === mbr.name && p.offset < 510 && p.offset + WIDTH[p.type] > 446)
      fail('RAW_PATCH_OVERLAP', `a patch of ${mbr.name} at offset ${p.offset} overlaps the partition table (446..509)`);
  }
}

function applyPatch(bytes: Uint8Array, p: RawPatchLayout): void {
  const le = p.endian === 'le';
  switch (p.type) {
    case 'u8':
      bytes[p.offset] = Number(p.value);
      break;
    case 'u16':
      writeU16(bytes, p.offset, Number(p.value), le);
      break;
    case 'u32':
      writeU32(bytes, p.offset, Number(p.value), le);
      break;
    case 'u64':
      writeU64(bytes, p.offset, p.value, le);
      break;
  }
}

/**
 * Writes the regions (patched), the partition record and the partition's content.
 * @example
 * const layout = await layoutRaw(options);
 * await writeImageFile('portix.img', layout.size, (sink) => writeRaw(sink, layout));
 */
export async function writeRaw(sink: BlockSink, layout: RawLayout): Promise<RawLayout> {
  if (sink.size !== layout.size) throw new RangeError(`"sink" is ${sink.size} bytes; the disk is ${layout.size}`);
  if (layout.partition)
    await fillRegion(
      sink,
      layout.partition.startLba * RAW_SECTOR_SIZE,
      layout.partition.sectors * RAW_SECTOR_SIZE,
      layout.partition,
    );
  let mbrWritten = false;
  for (const r of layout.regions) {
    const patches = layout.patches.filter((p) => p.region === r.name);
    const isMbr = r.lba === 0 && layout.partition !== undefined;
    if (patches.length === 0 && !isMbr) {
      await sink.writeContent(r.lba * RAW_SECTOR_SIZE, r.content);
      continue;
    }
    const bytes = new Uint8Array(await loadContent(r.content));
    for (const p of patches) applyPatch(bytes, p);
    if (isMbr) {
      writeRecords(bytes, layout.partition!);
      mbrWritten = true;
    }
    await sink.write(r.lba * RAW_SECTOR_SIZE, bytes);
  }
  if (layout.partition && !mbrWritten) {
    const sector = new Uint8Array(RAW_SECTOR_SIZE);
    writeRecords(sector, layout.partition);
    await sink.write(0, sector);
  }
  return layout;
}

function writeRecords(sector: Uint8Array, p: RawPartitionLayout): void {
  const records = [undefined, undefined, undefined, undefined] as Array<
    { type: number; startLba: number; sectors: number; bootable: boolean } | undefined
  >;
  records[p.slot - 1] = p;
  writePartitionRecords(sector, records);
}

/**
 * Lays out and writes a raw disk image file (sparse, atomic).
 * @example await writeRawFile('build/portix.img', portixLayout({ stage1, stage2, kernel, size: '16M' }))
 */
export async function writeRawFile(path: string, options: RawOptions): Promise<RawLayout> {
  const layout = await layoutRaw(options);
  return writeImageFile(path, layout.size, (sink) => writeRaw(sink, layout));
}

/** Inputs of the Portix preset. */
export interface PortixOptions {
  /** boot.bin: exactly 512 bytes ending in 0x55AA, at LBA 0. */
  stage1: Content;
  /** stage2.bin: at most `stage2Sectors` sectors, from LBA 1. */
  stage2: Content;
  /** kernel.bin: at LBA 1 + stage2Sectors (65). */
  kernel: Content;
  /** Disk size. Default 8M; at least 8 MiB. */
  size?: SizeLike;
  /** Sectors reserved for stage 2. Default 64 (so the kernel is at LBA 65). */
  stage2Sectors?: number;
  /** Where stage 2 holds the kernel's start LBA (offset or symbol), patched as a u32. */
  kernelLbaAt?: number | { symbol: string };
  /** Where stage 2 holds the kernel's size in sectors (offset or symbol), patched as a u16 unless `kernelSectorsType` says otherwise. */
  kernelSectorsAt?: number | { symbol: string };
  kernelSectorsType?: 'u16' | 'u32';
  /** Symbol offsets inside stage2.bin. */
  stage2Symbols?: Record<string, number>;
  /** The FAT32 storage partition filling the rest of the disk. */
  partition?: RawPartitionSpec;
}

/**
 * Portix's disk (seed "Portix: Disk Layout"): boot.bin at LBA 0 (512 bytes, 0x55AA), stage2.bin at
 * LBA 1-64 (at most 64 sectors), kernel.bin at LBA 65+, the kernel's LBA (and sector count) patched
 * into stage 2, an optional FAT32 partition over the rest, 8 MiB minimum.
 * @example
 * await writeRawFile('build/portix.img', portixLayout({
 *   stage1: await fileContent('build/boot.bin'), stage2: await fileContent('build/stage2.bin'),
 *   kernel: await fileContent('build/kernel.bin'), kernelLbaAt: { symbol: 'kernel_lba' },
 *   stage2Symbols: { kernel_lba: 0x1f8 }, size: '16M',
 *   partition: { fill: (sink) => writeFat(sink, tree, { fatType: 32 }) },
 * }));
 */
export function portixLayout(options: PortixOptions): RawOptions {
  const stage2Sectors = options.stage2Sectors ?? 64;
  const kernelLba = 1 + stage2Sectors;
  const patches: RawPatchSpec[] = [];
  if (options.kernelLbaAt !== undefined)
    patches.push({ region: 'stage2', at: options.kernelLbaAt, type: 'u32', value: { lbaOf: 'kernel' } });
  if (options.kernelSectorsAt !== undefined)
    patches.push({
      region: 'stage2',
      at: options.kernelSectorsAt,
      type: options.kernelSectorsType ?? 'u16',
      value: { sectorsOf: 'kernel' },
    });
  return {
    size: options.size ?? '8M',
    minSize: '8M',
    regions: [
      { name: 'stage1', lba: 0, content: options.stage1, exactSize: 512, bootSignature: true },
      {
        name: 'stage2',
        lba: 1,
        content: options.stage2,
        maxSectors: stage2Sectors,
        ...(options.stage2Symbols ? { symbols: options.stage2Symbols } : {}),
      },
      { name: 'kernel', lba: kernelLba, content: options.kernel, minLba: kernelLba },
    ],
    patches,
    ...(options.partition ? { partition: options.partition } : {}),
  };
}
