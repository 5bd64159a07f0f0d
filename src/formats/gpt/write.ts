/**
 * GPT disks: UEFI Specification 2.10, chapter 5 "GUID Partition Table (GPT) Disk Layout":
 * §5.2.3 protective MBR (one 0xEE record from LBA 1 over the disk, capped at 0xFFFFFFFF sectors,
 * CHS 000200..FFFFFF), §5.3.2 GPT header (Table 5-5: "EFI PART", revision 1.0, 92-byte header,
 * CRC32 of the header with its CRC field zeroed, MyLBA/AlternateLBA, usable LBAs, disk GUID,
 * entry array LBA/count/size/CRC32), §5.3.3 partition entries (Table 5-6: type GUID, unique GUID,
 * starting/ending LBA inclusive, attributes, 36 UTF-16LE name characters). The primary header is at
 * LBA 1 with its entry array from LBA 2; the backup entry array ends just before the backup
 * header at the last LBA.
 *
 * Two phases: `layoutGpt` places partitions (1 MiB aligned by default) and checks that they and
 * their content fit; `writeGpt` writes the metadata sectors and streams every partition's content
 * (or runs its `fill` callback on a SubSink) through a BlockSink, so a 4 GiB disk with 10 MiB of
 * content writes about 10 MiB.
 */
import { createHash } from 'node:crypto';
import { KilnError } from '../../errors.js';
import { type BlockSink, writeImageFile } from '../io/block-writer.js';
import { writeU16, writeU32, writeU64 } from '../io/bytes.js';
import { contentSize } from '../io/content.js';
import { crc32 } from '../io/crc32.js';
import { type Guid, deriveGuid, guidToBytes, isGuid } from '../io/guid.js';
import { type SizeLike, formatSize, parseSize } from '../../util/size.js';
import { encodeMbrSector } from '../mbr/write.js';
import { type RegionFill, checkContentFits, fillRegion } from '../mbr/_region.js';
import { GPT_ATTRIBUTES, GPT_TYPES, type GptAttributeName, type GptTypeName } from './_types.js';

export const GPT_SECTOR_SIZE = 512;
export const GPT_HEADER_SIZE = 92;
export const GPT_ENTRY_SIZE = 128;
export const GPT_REVISION = 0x00010000;
/** Longest partition name, in UTF-16 code units. */
export const GPT_NAME_UNITS = 36;

/** A partition to create. */
export interface GptPartitionSpec extends RegionFill {
  /** Type by name (`esp`, `linux`, `linux-root-x86_64`, `bios-boot`, `basic-data`, ...) or a GUID. */
  type?: GptTypeName | Guid;
  /** The type as a GUID (what `esp()` from formats/fat returns); used when `type` is not given. */
  typeGuid?: Guid;
  /** Partition name (at most 36 UTF-16 code units). Default: the type name. */
  name?: string;
  /** Size (`32M`, bytes). Default: the content's size; for the last partition without content, the rest of the disk. */
  size?: SizeLike;
  /** First LBA; default: the next aligned LBA after the previous partition. */
  startLba?: number;
  /** Unique partition GUID; default: deriveGuid(seed, `partition/<n>`). */
  guid?: Guid;
  /** Attribute bits: a number/bigint, or names and bit numbers (`['required', 60]`). */
  attributes?: number | bigint | Array<GptAttributeName | number>;
}

/** Options of `writeGpt` / `layoutGpt`: disk size, partitions, GUID seed. */
export interface GptOptions {
  /** Disk size (`64M`, bytes), a multiple of 512. */
  size: SizeLike;
  partitions: GptPartitionSpec[];
  /** Seed for the disk and partition GUIDs. Default: derived from the layout (types, names, sizes). */
  seed?: string;
  /** Disk GUID; default deriveGuid(seed, 'disk'). */
  diskGuid?: Guid;
  /** Partition start alignment. Default 1 MiB. */
  alignment?: SizeLike;
  /** Number of partition entries (at least 128, so the array has the 16 KiB minimum). Default 128. */
  entryCount?: number;
  /** Boot code for the protective MBR (at most 440 bytes), e.g. for a BIOS boot loader. */
  bootCode?: Uint8Array;
}

export interface GptPartitionLayout extends RegionFill {
  /** 1-based entry number. */
  index: number;
  name: string;
  typeGuid: Guid;
  guid: Guid;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  /** Size in bytes. */
  size: number;
  attributes: bigint;
}

/** Where the protective MBR, both headers, both entry arrays and every partition land on the disk. */
export interface GptLayout {
  size: number;
  totalSectors: number;
  diskGuid: Guid;
  entryCount: number;
  /** Sectors taken by one entry array. */
  entrySectors: number;
  firstUsableLba: number;
  lastUsableLba: number;
  backupEntriesLba: number;
  partitions: GptPartitionLayout[];
  bootCode?: Uint8Array;
}

/** Resolves a type name or GUID to a GUID.
 * @example gptTypeGuid('linux') // '0fc63daf-8483-4772-8e79-3d69d8477de4'
 */
export function gptTypeGuid(type: string, where = 'partition type'): Guid {
  const byName = (GPT_TYPES as Record<string, string>)[type.toLowerCase()];
  if (byName) return byName;
  if (isGuid(type)) return type.toLowerCase();
  throw new KilnError('GPT_BAD_TYPE', `${where}: unknown GPT partition type ${JSON.stringify(type)}`, {
    hint: `use a type GUID or one of: ${Object.keys(GPT_TYPES).join(', ')}`,
  });
}

function resolveAttributes(value: GptPartitionSpec['attributes'], where: string): bigint {
  if (value === undefined) return 0n;
  if (typeof value === 'bigint' || typeof value === 'number') {
    const bits = BigInt(value);
    if (bits < 0n || bits >= 1n << 64n)
      throw new KilnError('GPT_BAD_ATTRIBUTES', `${where}: attributes ${value} do not fit in 64 bits`);
    return bits;
  }
  let bits = 0n;
  for (const item of value) {
    const bit = typeof item === 'number' ? item : GPT_ATTRIBUTES[item];
    if (bit === undefined || !Number.isInteger(bit) || bit < 0 || bit > 63) {
      throw new KilnError('GPT_BAD_ATTRIBUTES', `${where}: unknown attribute ${JSON.stringify(item)}`, {
        hint: `use ${Object.keys(GPT_ATTRIBUTES).join(', ')} or a bit number 0..63 (48-63 are type-specific)`,
      });
    }
    bits |= 1n << BigInt(bit);
  }
  return bits;
}

/**
 * Places the partitions and checks everything fits (no byte is written).
 * @example
 * const layout = layoutGpt({ size: '64M', seed: 'kozo', partitions: [{ type: 'esp', size: '32M', content: esp }, { type: 'linux' }] });
 */
export function layoutGpt(options: GptOptions): GptLayout {
  const size = parseSize(options.size, 'disk size');
  if (size % GPT_SECTOR_SIZE !== 0) {
    throw new KilnError('GPT_SIZE_NOT_SECTOR', `gpt: disk size ${size} is not a multiple of ${GPT_SECTOR_SIZE} bytes`, {
      hint: `round it to ${Math.ceil(size / 512) * 512}`,
    });
  }
  const totalSectors = size / GPT_SECTOR_SIZE;
  const entryCount = options.entryCount ?? 128;
  if (!Number.isInteger(entryCount) || entryCount < 128 || entryCount > 16384) {
    throw new KilnError('GPT_BAD_ENTRY_COUNT', `gpt: entryCount ${entryCount} is outside 128..16384`, {
      hint: 'UEFI requires at least 16 KiB (128 entries) of entry array',
    });
  }
  const entrySectors = Math.ceil((entryCount * GPT_ENTRY_SIZE) / GPT_SECTOR_SIZE);
  const firstUsableLba = 2 + entrySectors;
  const lastUsableLba = totalSectors - 2 - entrySectors;
  const minSectors = 2 * (1 + entrySectors) + 1 + 1;
  if (totalSectors < minSectors + options.partitions.length) {
    throw new KilnError(
      'GPT_DISK_TOO_SMALL',
      `gpt: a ${size}-byte disk cannot hold the GPT structures (${minSectors * 512} bytes) and ${options.partitions.length} partition(s)`,
      {
        hint: 'give a larger --size',
      },
    );
  }
  const alignSectors = Math.max(1, parseSize(options.alignment ?? '1M', 'alignment') / GPT_SECTOR_SIZE);
  if (!Number.isInteger(alignSectors))
    throw new KilnError('GPT_BAD_ALIGNMENT', 'gpt: alignment must be a multiple of 512 bytes');
  if (options.partitions.length > entryCount) {
    throw new KilnError(
      'GPT_TOO_MANY_PARTITIONS',
      `gpt: ${options.partitions.length} partitions, but the table has ${entryCount} entries`,
      { hint: 'raise entryCount' },
    );
  }
  if (options.bootCode && options.bootCode.length > 440) {
    throw new KilnError(
      'GPT_BOOT_CODE_TOO_LARGE',
      `gpt: protective MBR boot code is ${options.bootCode.length} bytes, ${options.bootCode.length - 440} bytes over 440`,
    );
  }
  const placed: Array<Omit<GptPartitionLayout, 'guid'> & { guid?: Guid }> = [];
  let next = firstUsableLba;
  options.partitions.forEach((spec, i) => {
    const where = `partition ${i + 1}${spec.name ? ` (${spec.name})` : ''}`;
    const typeText = spec.type ?? spec.typeGuid;
    if (typeText === undefined)
      throw new KilnError('GPT_BAD_TYPE', `gpt: ${where} has no type`, {
        hint: `give type: one of ${Object.keys(GPT_TYPES).join(', ')}, or a GUID`,
      });
    const typeGuid = gptTypeGuid(typeText, where);
    if (typeGuid === '00000000-0000-0000-0000-000000000000')
      throw new KilnError('GPT_BAD_TYPE', `gpt: ${where} has the unused-entry type GUID`);
    const name = spec.name ?? (typeText in GPT_TYPES ? typeText : '');
    if (name.length > GPT_NAME_UNITS) {
      throw new KilnError(
        'GPT_NAME_TOO_LONG',
        `gpt: ${where} name is ${name.length} UTF-16 units; the limit is ${GPT_NAME_UNITS}`,
        { hint: 'shorten the name' },
      );
    }
    if (name.includes('\0')) throw new KilnError('GPT_BAD_NAME', `gpt: ${where} name contains a NUL character`);
    const firstLba = spec.startLba ?? Math.ceil(next / alignSectors) * alignSectors;
    if (!Number.isInteger(firstLba) || firstLba < firstUsableLba) {
      throw new KilnError(
        'GPT_BAD_START',
        `gpt: ${where} starts at LBA ${firstLba}, before the first usable LBA ${firstUsableLba}`,
      );
    }
    let sectors: number;
    if (spec.size !== undefined) sectors = Math.ceil(parseSize(spec.size, `${where} size`) / GPT_SECTOR_SIZE);
    // Sizes kiln chooses end on an alignment boundary too (sgdisk -v cautions about partitions that do not).
    else if (spec.content)
      sectors = Math.ceil(contentSize(spec.content) / (alignSectors * GPT_SECTOR_SIZE)) * alignSectors;
    else if (i === options.partitions.length - 1)
      sectors = Math.max(Math.floor((lastUsableLba + 1) / alignSectors) * alignSectors, firstLba + 1) - firstLba;
    else
      throw new KilnError('GPT_SIZE_MISSING', `gpt: ${where} has no size and no content`, {
        hint: 'only the last partition may take the rest of the disk',
      });
    if (sectors < 1) {
      throw new KilnError(
        'GPT_DOES_NOT_FIT',
        `gpt: ${where} would be empty: it starts at LBA ${firstLba} and the last usable LBA is ${lastUsableLba}`,
        { hint: 'make the disk larger' },
      );
    }
    const lastLba = firstLba + sectors - 1;
    if (lastLba > lastUsableLba) {
      const over = (lastLba - lastUsableLba) * GPT_SECTOR_SIZE;
      throw new KilnError(
        'GPT_DOES_NOT_FIT',
        `gpt: ${where} ends at LBA ${lastLba}, ${over} bytes (${formatSize(over)}) past the last usable LBA ${lastUsableLba} of the ${formatSize(size)} disk`,
        {
          hint: `make the disk at least ${formatSize(size + over)} or the partition smaller (the backup GPT takes the last ${(1 + entrySectors) * 512} bytes)`,
          details: { over },
        },
      );
    }
    for (const p of placed) {
      if (firstLba <= p.lastLba && p.firstLba <= lastLba) {
        throw new KilnError(
          'GPT_OVERLAP',
          `gpt: ${where} [LBA ${firstLba}..${lastLba}] overlaps partition ${p.index} [${p.firstLba}..${p.lastLba}]`,
          { hint: 'change startLba or the sizes' },
        );
      }
    }
    checkContentFits(spec.content, sectors * GPT_SECTOR_SIZE, `gpt: ${where}`, 'GPT_CONTENT_TOO_LARGE');
    if (spec.guid !== undefined && !isGuid(spec.guid))
      throw new KilnError('GPT_BAD_GUID', `gpt: ${where} guid ${JSON.stringify(spec.guid)} is not a GUID`);
    placed.push({
      index: i + 1,
      name,
      typeGuid,
      firstLba,
      lastLba,
      size: sectors * GPT_SECTOR_SIZE,
      attributes: resolveAttributes(spec.attributes, `gpt: ${where}`),
      ...(spec.guid ? { guid: spec.guid.toLowerCase() } : {}),
      ...(spec.content ? { content: spec.content } : {}),
      ...(spec.fill ? { fill: spec.fill } : {}),
    });
    next = lastLba + 1;
  });
  const seed =
    options.seed ??
    createHash('sha256')
      .update(JSON.stringify({ size, entryCount, p: placed.map((p) => [p.typeGuid, p.name, p.firstLba, p.lastLba]) }))
      .digest('hex');
  if (options.diskGuid !== undefined && !isGuid(options.diskGuid))
    throw new KilnError('GPT_BAD_GUID', `gpt: disk GUID ${JSON.stringify(options.diskGuid)} is not a GUID`);
  const partitions = placed.map((p) => ({ ...p, guid: p.guid ?? deriveGuid(seed, `partition/${p.index}`) }));
  const guids = new Set(partitions.map((p) => p.guid));
  if (guids.size !== partitions.length)
    throw new KilnError('GPT_DUPLICATE_GUID', 'gpt: two partitions have the same unique GUID', {
      hint: 'each partition needs its own GUID',
    });
  return {
    size,
    totalSectors,
    diskGuid: (options.diskGuid ?? deriveGuid(seed, 'disk')).toLowerCase(),
    entryCount,
    entrySectors,
    firstUsableLba,
    lastUsableLba,
    backupEntriesLba: totalSectors - 1 - entrySectors,
    partitions,
    ...(options.bootCode ? { bootCode: options.bootCode } : {}),
  };
}

/** Serializes the entry array (entryCount × 128 bytes, padded to whole sectors).
 * @example const entries = encodeGptEntries(layoutGpt(options)); // 16384 bytes for 128 entries
 */
export function encodeGptEntries(layout: GptLayout): Uint8Array {
  const out = new Uint8Array(layout.entrySectors * GPT_SECTOR_SIZE);
  for (const p of layout.partitions) {
    const at = (p.index - 1) * GPT_ENTRY_SIZE;
    out.set(guidToBytes(p.typeGuid), at);
    out.set(guidToBytes(p.guid), at + 16);
    writeU64(out, at + 32, p.firstLba, true);
    writeU64(out, at + 40, p.lastLba, true);
    writeU64(out, at + 48, p.attributes, true);
    for (let c = 0; c < p.name.length; c++) writeU16(out, at + 56 + 2 * c, p.name.charCodeAt(c), true);
  }
  return out;
}

/** Serializes a GPT header sector (primary when `backup` is false).
 * @example const primary = encodeGptHeader(layout, crc32(encodeGptEntries(layout)), false);
 */
export function encodeGptHeader(layout: GptLayout, entriesCrc: number, backup: boolean): Uint8Array {
  const sector = new Uint8Array(GPT_SECTOR_SIZE);
  sector.set(new TextEncoder().encode('EFI PART'), 0);
  writeU32(sector, 8, GPT_REVISION, true);
  writeU32(sector, 12, GPT_HEADER_SIZE, true);
  writeU32(sector, 16, 0, true);
  writeU32(sector, 20, 0, true);
  const last = layout.totalSectors - 1;
  writeU64(sector, 24, backup ? last : 1, true);
  writeU64(sector, 32, backup ? 1 : last, true);
  writeU64(sector, 40, layout.firstUsableLba, true);
  writeU64(sector, 48, layout.lastUsableLba, true);
  sector.set(guidToBytes(layout.diskGuid), 56);
  writeU64(sector, 72, backup ? layout.backupEntriesLba : 2, true);
  writeU32(sector, 80, layout.entryCount, true);
  writeU32(sector, 84, GPT_ENTRY_SIZE, true);
  writeU32(sector, 88, entriesCrc, true);
  writeU32(sector, 16, crc32(sector.subarray(0, GPT_HEADER_SIZE)), true);
  return sector;
}

/** The protective MBR sector for a layout (UEFI 2.10 §5.2.3, Table 5-4).
 * @example await sink.write(0, encodeProtectiveMbr(layout));
 */
export function encodeProtectiveMbr(layout: GptLayout): Uint8Array {
  return encodeMbrSector({
    ...(layout.bootCode ? { bootCode: layout.bootCode } : {}),
    diskSignature: 0,
    records: [
      {
        type: 0xee,
        startLba: 1,
        sectors: Math.min(layout.totalSectors - 1, 0xffffffff),
        chsStart: [0x00, 0x02, 0x00],
        chsEnd: [0xff, 0xff, 0xff],
      },
    ],
  });
}

/**
 * Writes a GPT disk into `sink` (which must be exactly the disk's size): protective MBR, both
 * headers and entry arrays, and every partition's content.
 * @example
 * const layout = layoutGpt({ size: '64M', partitions: [{ type: 'esp', size: '32M', fill: (sink) => writeFat(sink, tree) }] });
 * await writeImageFile('disk.img', layout.size, (sink) => writeGpt(sink, layout));
 */
export async function writeGpt(sink: BlockSink, layout: GptLayout): Promise<GptLayout> {
  if (sink.size !== layout.size) throw new RangeError(`"sink" is ${sink.size} bytes; the disk is ${layout.size}`);
  const entries = encodeGptEntries(layout);
  const entriesCrc = crc32(entries.subarray(0, layout.entryCount * GPT_ENTRY_SIZE));
  // Partition contents first: a fill callback can never overwrite the GPT structures written after it.
  for (const p of layout.partitions) await fillRegion(sink, p.firstLba * GPT_SECTOR_SIZE, p.size, p);
  await sink.write(0, encodeProtectiveMbr(layout));
  const primary = new Uint8Array(GPT_SECTOR_SIZE * (1 + layout.entrySectors));
  primary.set(encodeGptHeader(layout, entriesCrc, false), 0);
  primary.set(entries, GPT_SECTOR_SIZE);
  await sink.write(GPT_SECTOR_SIZE, primary);
  const backup = new Uint8Array(GPT_SECTOR_SIZE * (1 + layout.entrySectors));
  backup.set(entries, 0);
  backup.set(encodeGptHeader(layout, entriesCrc, true), entries.length);
  await sink.write(layout.backupEntriesLba * GPT_SECTOR_SIZE, backup);
  return layout;
}

/**
 * Lays out and writes a GPT disk image file (sparse, atomic).
 * @example await writeGptFile('disk.img', { size: '64M', seed: 'kozo', partitions: [{ type: 'esp', content: await fileContent('esp.img') }] })
 */
export async function writeGptFile(path: string, options: GptOptions): Promise<GptLayout> {
  const layout = layoutGpt(options);
  return writeImageFile(path, layout.size, (sink) => writeGpt(sink, layout));
}
