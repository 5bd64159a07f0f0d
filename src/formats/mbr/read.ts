/**
 * MBR reader: UEFI 2.10 §5.2.1 "Legacy Master Boot Record" (Tables 5-1 and 5-2). Reads sector 0,
 * checks the 0x55AA signature and the boot indicators, lists the non-empty primary partition
 * records and reports records that run past the disk or overlap. Extended partitions are listed
 * as records; their logical partitions (EBR chain) are not followed.
 */
import { FormatError } from '../../errors.js';
import { type BlockSource, MemorySource } from '../io/block-source.js';
import { readU32 } from '../io/bytes.js';
import { decodeChs } from './_chs.js';
import { MBR_TYPES, SECTOR_SIZE } from './write.js';

/** One used slot of the partition table as read. */
export interface MbrPartitionInfo {
  /** Table slot, 1..4. */
  index: number;
  bootable: boolean;
  type: number;
  /** Name of the type byte when kiln knows it (`fat32`, `linux`, `gpt-protective`...). */
  typeName?: string;
  startLba: number;
  sectors: number;
  chsStart: { cylinder: number; head: number; sector: number };
  chsEnd: { cylinder: number; head: number; sector: number };
}

/** An MBR disk as read: signature, boot code, partitions and the problems found. */
export interface MbrInfo {
  size: number;
  diskSignature: number;
  bootCode: Uint8Array;
  partitions: MbrPartitionInfo[];
  /** True when a 0xEE record marks this as a GPT protective MBR. */
  protective: boolean;
  /** Inconsistencies that do not stop listing (records past the end, overlaps). */
  problems: string[];
}

const TYPE_NAMES = new Map<number, string>();
for (const [name, byte] of Object.entries(MBR_TYPES)) if (!TYPE_NAMES.has(byte)) TYPE_NAMES.set(byte, name);

/** Name of an MBR type byte, if known.
 * @example mbrTypeName(0x0c) // 'fat32'
 */
export function mbrTypeName(type: number): string | undefined {
  return TYPE_NAMES.get(type);
}

/**
 * Parses a 512-byte MBR sector. `diskSectors` enables the past-the-end checks.
 * @example const mbr = parseMbrSector(firstSector, fileSize / 512);
 */
export function parseMbrSector(sector: Uint8Array, diskSectors?: number, options: { strict?: boolean } = {}): MbrInfo {
  if (sector.length < SECTOR_SIZE)
    throw new FormatError('mbr', 'MBR_TRUNCATED', `needs a 512-byte sector, got ${sector.length} bytes`, { offset: 0 });
  if (sector[510] !== 0x55 || sector[511] !== 0xaa) {
    throw new FormatError(
      'mbr',
      'MBR_NO_SIGNATURE',
      `bytes 510-511 are ${hex(sector[510]!)} ${hex(sector[511]!)}, not 55 AA`,
      {
        offset: 510,
        hint: 'this is not an MBR-partitioned disk (or the boot sector is damaged)',
      },
    );
  }
  const problems: string[] = [];
  const partitions: MbrPartitionInfo[] = [];
  for (let i = 0; i < 4; i++) {
    const at = 446 + i * 16;
    const status = sector[at]!;
    const type = sector[at + 4]!;
    const startLba = readU32(sector, at + 8, true);
    const sectors = readU32(sector, at + 12, true);
    if (type === 0 && startLba === 0 && sectors === 0) continue;
    if (status !== 0x00 && status !== 0x80) {
      throw new FormatError(
        'mbr',
        'MBR_BAD_ENTRY',
        `partition ${i + 1} has boot indicator ${hex(status)} (only 00 and 80 are valid)`,
        {
          offset: at,
          hint: 'the partition table is damaged, or sector 0 is a boot sector without a partition table',
        },
      );
    }
    if (type === 0) {
      problems.push(`partition ${i + 1} has type 0 (empty) but a start or size`);
      continue;
    }
    const name = TYPE_NAMES.get(type);
    partitions.push({
      index: i + 1,
      bootable: status === 0x80,
      type,
      ...(name ? { typeName: name } : {}),
      startLba,
      sectors,
      chsStart: decodeChs(sector, at + 1),
      chsEnd: decodeChs(sector, at + 5),
    });
    if (sectors === 0) problems.push(`partition ${i + 1} has 0 sectors`);
    if (diskSectors !== undefined && type !== 0xee && startLba + sectors > diskSectors) {
      problems.push(
        `partition ${i + 1} ends at sector ${startLba + sectors - 1}, past the last sector ${diskSectors - 1}`,
      );
    }
    if (startLba === 0 && type !== 0xee) problems.push(`partition ${i + 1} starts at sector 0 (the MBR itself)`);
  }
  for (let a = 0; a < partitions.length; a++) {
    for (let b = a + 1; b < partitions.length; b++) {
      const p = partitions[a]!;
      const q = partitions[b]!;
      if (
        p.sectors > 0 &&
        q.sectors > 0 &&
        p.startLba < q.startLba + q.sectors &&
        q.startLba < p.startLba + p.sectors
      ) {
        problems.push(`partitions ${p.index} and ${q.index} overlap`);
      }
    }
  }
  if (options.strict && problems.length > 0) {
    throw new FormatError('mbr', 'MBR_INVALID', problems[0]!, {
      offset: 446,
      hint: problems.length > 1 ? `and ${problems.length - 1} more problem(s)` : 'repair the partition table',
    });
  }
  return {
    size: (diskSectors ?? 0) * SECTOR_SIZE,
    diskSignature: readU32(sector, 440, true),
    bootCode: sector.slice(0, 440),
    partitions,
    protective: partitions.some((p) => p.type === 0xee),
    problems,
  };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}

/**
 * Reads and validates the MBR of a disk image.
 * @example
 * const disk = await FileSource.open('disk.img');
 * const { partitions } = await readMbr(disk);
 */
export async function readMbr(input: BlockSource | Uint8Array, options: { strict?: boolean } = {}): Promise<MbrInfo> {
  const source = input instanceof Uint8Array ? new MemorySource(input, 'mbr') : input;
  if (source.size < SECTOR_SIZE)
    throw new FormatError('mbr', 'MBR_TRUNCATED', `the image is ${source.size} bytes; an MBR disk needs at least 512`, {
      offset: 0,
    });
  const info = parseMbrSector(await source.read(0, SECTOR_SIZE), Math.floor(source.size / SECTOR_SIZE), options);
  info.size = source.size;
  return info;
}
