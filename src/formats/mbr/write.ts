/**
 * Classic MBR disks: UEFI 2.10 §5.2.1 "Legacy Master Boot Record" (Table 5-1 MBR layout:
 * 440 bytes of boot code, the 4-byte unique disk signature at 440, 2 reserved bytes, four 16-byte
 * partition records at 446, signature 0x55 0xAA at 510; Table 5-2 partition record: boot
 * indicator, starting CHS, OS type, ending CHS, starting LBA, size in LBA).
 *
 * Two phases: `layoutMbr` places up to four primary partitions (1 MiB aligned by default) and
 * checks that they and their content fit; `writeMbr` writes sector 0 and streams each partition's
 * content (or runs its fill callback) through a BlockSink.
 */
import { createHash } from 'node:crypto';
import { KilnError } from '../../errors.js';
import { type BlockSink, writeImageFile } from '../io/block-writer.js';
import { writeU32 } from '../io/bytes.js';
import { contentSize } from '../io/content.js';
import { deriveGuid, guidToBytes } from '../io/guid.js';
import { type SizeLike, formatSize, parseSize } from '../../util/size.js';
import { lbaToChs } from './_chs.js';
import { type RegionFill, checkContentFits, fillRegion } from './_region.js';

export const SECTOR_SIZE = 512;
/** Bytes of boot code before the disk signature. */
export const MBR_BOOT_CODE_SIZE = 440;
const MAX_LBA = 0xffffffff;

/** Partition type bytes by name. */
export const MBR_TYPES = {
  empty: 0x00,
  fat12: 0x01,
  'fat16-small': 0x04,
  extended: 0x05,
  fat16: 0x06,
  ntfs: 0x07,
  exfat: 0x07,
  'fat32-chs': 0x0b,
  fat32: 0x0c,
  'fat16-lba': 0x0e,
  'extended-lba': 0x0f,
  'linux-swap': 0x82,
  linux: 0x83,
  'linux-lvm': 0x8e,
  freebsd: 0xa5,
  'gpt-protective': 0xee,
  efi: 0xef,
} as const;
/** A partition type byte known by name (a key of `MBR_TYPES`). */
export type MbrTypeName = keyof typeof MBR_TYPES;

/** A primary partition to create. */
export interface MbrPartitionSpec extends RegionFill {
  /** Type byte or name (`fat32`, `linux`, `efi`, ...). */
  type?: number | MbrTypeName;
  /** The type byte (what `esp()` from formats/fat returns as `mbrType`); used when `type` is not given. */
  mbrType?: number;
  /** Size (`32M`, bytes). Default: the content's size; for the last partition without content, the rest of the disk. */
  size?: SizeLike;
  /** First sector; default: the next aligned sector after the previous partition. */
  startLba?: number;
  /** Sets the boot indicator (0x80). */
  bootable?: boolean;
}

/** Options of `writeMbr` / `layoutMbr`: disk size, partitions, boot code, disk signature. */
export interface MbrOptions {
  /** Disk size (`64M`, bytes); a multiple of 512. */
  size: SizeLike;
  /** Up to four primary partitions, in table order. */
  partitions: MbrPartitionSpec[];
  /** Boot code for bytes 0..439 (at most 440 bytes). Default: zeros. */
  bootCode?: Uint8Array;
  /** The 32-bit disk signature. Default: derived from `seed`. */
  diskSignature?: number;
  /** Seed for the derived disk signature. Default: derived from the layout itself. */
  seed?: string;
  /** Partition start alignment. Default 1 MiB. */
  alignment?: SizeLike;
}

export interface MbrPartitionLayout extends RegionFill {
  /** Table slot, 1..4. */
  index: number;
  type: number;
  bootable: boolean;
  startLba: number;
  sectors: number;
}

/** Where every partition lands (LBA, CHS), computed before any byte is written. */
export interface MbrLayout {
  size: number;
  diskSignature: number;
  bootCode?: Uint8Array;
  partitions: MbrPartitionLayout[];
}

/** Resolves a type name or byte.
 * @example mbrTypeByte('linux') // 0x83
 */
export function mbrTypeByte(type: number | string, where = 'partition type'): number {
  if (typeof type === 'number') {
    if (!Number.isInteger(type) || type < 0 || type > 0xff)
      throw new KilnError('MBR_BAD_TYPE', `${where}: ${type} is not a byte (0..255)`);
    return type;
  }
  const byName = (MBR_TYPES as Record<string, number>)[type.toLowerCase()];
  if (byName !== undefined) return byName;
  if (/^(0x)?[0-9a-f]{1,2}$/i.test(type)) return parseInt(type.replace(/^0x/i, ''), 16);
  throw new KilnError('MBR_BAD_TYPE', `${where}: unknown MBR partition type ${JSON.stringify(type)}`, {
    hint: `use a byte (0x83) or one of: ${Object.keys(MBR_TYPES).join(', ')}`,
  });
}

/** A 32-bit value derived from (seed, label), never 0.
 * @example deriveDiskSignature('portix') // the same 32-bit value every time
 */
export function deriveDiskSignature(seed: string, label = 'mbr/disk-signature'): number {
  const bytes = guidToBytes(deriveGuid(seed, label));
  const value = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
  return value === 0 ? 1 : value;
}

function checkDiskSize(size: number, format: string): void {
  if (size % SECTOR_SIZE !== 0) {
    throw new KilnError(
      `${format}_SIZE_NOT_SECTOR`,
      `${format.toLowerCase()}: disk size ${size} is not a multiple of ${SECTOR_SIZE} bytes`,
      {
        hint: `round it to ${Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE}`,
      },
    );
  }
}

/**
 * Places the partitions and checks everything fits.
 * @example
 * const layout = layoutMbr({ size: '64M', partitions: [{ type: 'fat32', bootable: true, content: esp }] });
 */
export function layoutMbr(options: MbrOptions): MbrLayout {
  const size = parseSize(options.size, 'disk size');
  checkDiskSize(size, 'MBR');
  const totalSectors = size / SECTOR_SIZE;
  const alignSectors = Math.max(1, parseSize(options.alignment ?? '1M', 'alignment') / SECTOR_SIZE);
  if (!Number.isInteger(alignSectors))
    throw new KilnError('MBR_BAD_ALIGNMENT', 'mbr: alignment must be a multiple of 512 bytes');
  if (options.partitions.length > 4) {
    throw new KilnError(
      'MBR_TOO_MANY_PARTITIONS',
      `mbr: ${options.partitions.length} partitions given; a classic MBR holds 4 primary partitions`,
      {
        hint: 'use a GPT disk (kiln image gpt) for more partitions',
      },
    );
  }
  if (options.bootCode && options.bootCode.length > MBR_BOOT_CODE_SIZE) {
    throw new KilnError(
      'MBR_BOOT_CODE_TOO_LARGE',
      `mbr: boot code is ${options.bootCode.length} bytes, ${options.bootCode.length - MBR_BOOT_CODE_SIZE} bytes over the ${MBR_BOOT_CODE_SIZE} bytes before the disk signature`,
      {
        hint: 'the partition table follows the boot code; for a full 512-byte boot sector use a raw layout (kiln image raw)',
      },
    );
  }
  const partitions: MbrPartitionLayout[] = [];
  let next = alignSectors;
  options.partitions.forEach((spec, i) => {
    const where = `partition ${i + 1}`;
    const type = mbrTypeByte(spec.type ?? spec.mbrType ?? 0, where);
    if (type === 0)
      throw new KilnError('MBR_BAD_TYPE', `mbr: ${where} has type 0 (empty)`, {
        hint: 'give a partition type such as fat32 or linux',
      });
    const startLba = spec.startLba ?? Math.ceil(next / alignSectors) * alignSectors;
    if (!Number.isInteger(startLba) || startLba < 1)
      throw new KilnError('MBR_BAD_START', `mbr: ${where} starts at LBA ${startLba}; sector 0 holds the MBR`);
    let sectors: number;
    if (spec.size !== undefined) sectors = Math.ceil(parseSize(spec.size, `${where} size`) / SECTOR_SIZE);
    else if (spec.content) sectors = Math.ceil(contentSize(spec.content) / (alignSectors * SECTOR_SIZE)) * alignSectors;
    else if (i === options.partitions.length - 1) sectors = totalSectors - startLba;
    else
      throw new KilnError('MBR_SIZE_MISSING', `mbr: ${where} has no size and no content`, {
        hint: 'only the last partition may take the rest of the disk',
      });
    if (sectors < 1)
      throw new KilnError(
        'MBR_DOES_NOT_FIT',
        `mbr: ${where} would be empty (it starts at LBA ${startLba} of ${totalSectors})`,
      );
    const end = startLba + sectors;
    if (end > totalSectors) {
      const over = (end - totalSectors) * SECTOR_SIZE;
      throw new KilnError(
        'MBR_DOES_NOT_FIT',
        `mbr: ${where} ends at byte ${end * SECTOR_SIZE}, ${over} bytes (${formatSize(over)}) past the end of the ${formatSize(size)} disk`,
        {
          hint: 'make the disk larger or the partition smaller',
          details: { over },
        },
      );
    }
    if (end - 1 > MAX_LBA) {
      throw new KilnError('MBR_TOO_LARGE', `mbr: ${where} ends past sector 2^32; MBR addresses at most 2 TiB`, {
        hint: 'use a GPT disk',
      });
    }
    for (const p of partitions) {
      if (startLba < p.startLba + p.sectors && p.startLba < end) {
        throw new KilnError(
          'MBR_OVERLAP',
          `mbr: ${where} [${startLba}, ${end - 1}] overlaps partition ${p.index} [${p.startLba}, ${p.startLba + p.sectors - 1}]`,
          {
            hint: 'change startLba or the sizes',
          },
        );
      }
    }
    checkContentFits(spec.content, sectors * SECTOR_SIZE, `mbr: ${where}`, 'MBR_CONTENT_TOO_LARGE');
    partitions.push({
      index: i + 1,
      type,
      bootable: spec.bootable ?? false,
      startLba,
      sectors,
      ...(spec.content ? { content: spec.content } : {}),
      ...(spec.fill ? { fill: spec.fill } : {}),
    });
    next = end;
  });
  const seed =
    options.seed ??
    createHash('sha256')
      .update(JSON.stringify({ size, p: partitions.map((p) => [p.type, p.startLba, p.sectors, p.bootable]) }))
      .digest('hex');
  const diskSignature = options.diskSignature ?? deriveDiskSignature(seed);
  return {
    size,
    diskSignature: diskSignature >>> 0,
    partitions,
    ...(options.bootCode ? { bootCode: options.bootCode } : {}),
  };
}

/** A partition record for `encodeMbrSector` / `writePartitionRecords`. */
export interface MbrRecord {
  bootable?: boolean;
  type: number;
  startLba: number;
  sectors: number;
  /** Override the CHS fields (the GPT protective record uses 000200 / FFFFFF). */
  chsStart?: [number, number, number];
  chsEnd?: [number, number, number];
}

/** Writes up to four 16-byte partition records at offset 446 of a 512-byte sector (other slots zeroed).
 * @example writePartitionRecords(bootSector, [{ type: 0x0c, startLba: 2048, sectors: 14336, bootable: true }]);
 */
export function writePartitionRecords(sector: Uint8Array, records: Array<MbrRecord | undefined>): void {
  if (records.length > 4) throw new RangeError(`"records" expected at most 4, got ${records.length}`);
  sector.fill(0, 446, 510);
  records.forEach((r, i) => {
    if (!r) return;
    const at = 446 + i * 16;
    sector[at] = r.bootable ? 0x80 : 0x00;
    sector.set(r.chsStart ?? lbaToChs(r.startLba), at + 1);
    sector[at + 4] = r.type;
    sector.set(r.chsEnd ?? lbaToChs(r.startLba + r.sectors - 1), at + 5);
    writeU32(sector, at + 8, r.startLba, true);
    writeU32(sector, at + 12, r.sectors, true);
  });
  sector[510] = 0x55;
  sector[511] = 0xaa;
}

/** Serializes an MBR sector: boot code, disk signature, records, 0x55AA.
 * @example const sector0 = encodeMbrSector({ diskSignature: 0x12345678, records: [{ type: 0x83, startLba: 2048, sectors: 4096 }] });
 */
export function encodeMbrSector(options: {
  bootCode?: Uint8Array;
  diskSignature: number;
  records: Array<MbrRecord | undefined>;
}): Uint8Array {
  const sector = new Uint8Array(SECTOR_SIZE);
  if (options.bootCode) sector.set(options.bootCode.subarray(0, MBR_BOOT_CODE_SIZE), 0);
  writeU32(sector, 440, options.diskSignature, true);
  writePartitionRecords(sector, options.records);
  return sector;
}

/**
 * Writes an MBR disk (sector 0 + partition contents) into `sink`, which must be the disk's size.
 * @example
 * const layout = layoutMbr({ size: '64M', partitions: [{ type: 'fat32', fill: (s) => writeFat(s, tree) }] });
 * await writeImageFile('disk.img', layout.size, (sink) => writeMbr(sink, layout));
 */
export async function writeMbr(sink: BlockSink, layout: MbrLayout): Promise<MbrLayout> {
  if (sink.size !== layout.size) throw new RangeError(`"sink" is ${sink.size} bytes; the disk is ${layout.size}`);
  await sink.write(
    0,
    encodeMbrSector({
      ...(layout.bootCode ? { bootCode: layout.bootCode } : {}),
      diskSignature: layout.diskSignature,
      records: layout.partitions,
    }),
  );
  for (const p of layout.partitions) await fillRegion(sink, p.startLba * SECTOR_SIZE, p.sectors * SECTOR_SIZE, p);
  return layout;
}

/**
 * Writes an MBR disk image file (sparse, atomic).
 * @example await writeMbrFile('disk.img', { size: '64M', partitions: [{ type: 'linux', bootable: true }] })
 */
export async function writeMbrFile(path: string, options: MbrOptions): Promise<MbrLayout> {
  const layout = layoutMbr(options);
  return writeImageFile(path, layout.size, (sink) => writeMbr(sink, layout));
}
