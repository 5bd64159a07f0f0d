/**
 * FAT volume geometry: FAT type, cluster size, reserved sectors, FAT length, root directory size.
 *
 * Spec: Microsoft fatgen103 v1.03, "Boot Sector and BPB", "FAT Type Determination" (a volume
 * with fewer than 4085 clusters is FAT12, fewer than 65525 FAT16, otherwise FAT32) and
 * "FAT32 default cluster sizes". The choices follow dosfstools 4.2 `mkfs.fat` (establish_params and
 * setup_tables) so that kiln picks what `mkfs.fat` picks for the same size: FAT32 from 512 MiB
 * up, cluster size from Microsoft's FAT32 table, otherwise the smallest cluster size (from 4
 * sectors up) for which FAT12 or FAT16 fits, preferring whichever gives more clusters; number of
 * sectors rounded down to whole tracks; reserved sectors, FATs and root directory aligned to the
 * cluster size (above 8192 sectors); CHS geometry from the SD card / LBA-assist tables.
 */
import { KilnError } from '../../errors.js';
import { formatSize } from '../../util/size.js';

/** FAT12, FAT16 or FAT32. */
export type FatType = 12 | 16 | 32;

export const SECTOR_SIZE = 512;
const MAX_CLUST_12 = 4084;
const MAX_CLUST_16 = 65524;
const MIN_CLUST_16 = 4087;
/**
 * fatgen103: a volume with at least 65525 clusters is FAT32; kiln never writes FAT32 with fewer.
 * @example computeGeometry(64 << 20, { type: 32 }).clusterCount >= MIN_CLUST_32 // true
 */
export const MIN_CLUST_32 = 65525;
const MAX_CLUST_32 = 268435446;

/** What may be forced when kiln picks a FAT volume's geometry (otherwise mkfs.fat's choices). */
export interface GeometryOptions {
  /** Force the FAT type (default: like mkfs.fat, FAT32 from 512 MiB, else FAT12/16). */
  type?: FatType;
  /** Cluster size in bytes (power of two, 512..65536). Default: mkfs.fat's choice. */
  clusterSize?: number;
  /** Number of FATs (default 2). */
  fats?: 1 | 2;
  /** Root directory entries for FAT12/16 (default 512, or 224/112 on floppy sizes). */
  rootEntries?: number;
  /** Reserved sectors (default 1 for FAT12/16, 32 for FAT32). */
  reservedSectors?: number;
  sectorsPerTrack?: number;
  heads?: number;
  /** Media descriptor (default 0xF8, or the floppy's). */
  media?: number;
}

/** A FAT volume's layout: type, sizes of sectors and clusters, where the FATs, root and data start. */
export interface Geometry {
  type: FatType;
  /** Sectors in the volume (BPB_TotSec16/32). May be less than the space given (whole tracks). */
  totalSectors: number;
  sectorsPerCluster: number;
  clusterBytes: number;
  reservedSectors: number;
  fats: number;
  /** Sectors of one FAT. */
  fatSectors: number;
  /** FAT12/16 root directory entries (0 on FAT32). */
  rootEntries: number;
  rootDirSectors: number;
  /** Number of data clusters (clusters 2 .. clusterCount + 1). */
  clusterCount: number;
  firstDataSector: number;
  media: number;
  sectorsPerTrack: number;
  heads: number;
}

const cdiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);

function tooSmall(bytes: number, what: string, hint: string): never {
  throw new KilnError('FAT_TOO_SMALL', `a ${formatSize(bytes)} (${bytes}-byte) volume is too small for ${what}`, {
    hint,
  });
}

/**
 * Computes the layout of a FAT volume of `bytes` bytes.
 * @example computeGeometry(64 * 1024 * 1024, { type: 32 }).clusterCount
 */
export function computeGeometry(bytes: number, options: GeometryOptions = {}): Geometry {
  if (options.type !== undefined && ![12, 16, 32].includes(options.type))
    throw new RangeError(`"type" expected 12, 16 or 32, got ${options.type}`);
  let forcedSpc = 0;
  if (options.clusterSize !== undefined) {
    const c = options.clusterSize;
    if (!Number.isInteger(c) || c < SECTOR_SIZE || c > 65536 || (c & (c - 1)) !== 0) {
      throw new KilnError('FAT_BAD_OPTION', `cluster size must be a power of two from 512 bytes to 64 KiB, got ${c}`);
    }
    forcedSpc = c / SECTOR_SIZE;
  }
  const fats = options.fats ?? 2;
  if (fats !== 1 && fats !== 2)
    throw new KilnError('FAT_BAD_OPTION', `number of FATs must be 1 or 2, got ${String(fats)}`);
  const total = Math.min(Math.floor(bytes / SECTOR_SIZE), 0xffffffff);
  if (total < 64) tooSmall(bytes, 'any FAT volume', 'give at least a few hundred KiB');

  // CHS geometry (dosfstools establish_params, no device geometry: SD card spec / LBA assist).
  let heads =
    total <= 524288
      ? total <= 32768
        ? 2
        : total <= 65536
          ? 4
          : total <= 262144
            ? 8
            : 16
      : total <= 16 * 63 * 1024
        ? 16
        : total <= 32 * 63 * 1024
          ? 32
          : total <= 64 * 63 * 1024
            ? 64
            : total <= 128 * 63 * 1024
              ? 128
              : 255;
  let spt = total <= 524288 ? (total <= 4096 ? 16 : 32) : 63;
  let media = 0xf8;
  let spc = 4;
  let defaultRoot = 512;
  const floppy: Record<number, [number, number, number, number, number]> = {
    // KiB: spt, heads, media, sectors per cluster, root entries
    360: [9, 2, 0xfd, 2, 112],
    720: [9, 2, 0xf9, 2, 112],
    1200: [15, 2, 0xf9, 1, 224],
    1440: [18, 2, 0xf0, 1, 224],
    2880: [36, 2, 0xf0, 2, 224],
  };
  const f = bytes % 1024 === 0 ? floppy[bytes / 1024] : undefined;
  if (f) [spt, heads, media, spc, defaultRoot] = f;
  let type: FatType | 0 = options.type ?? 0;
  if (!type && bytes >= 512 * 1024 * 1024) type = 32;
  if (type === 32) {
    spc =
      total > 32 * 1024 * 1024 * 2
        ? 64
        : total > 16 * 1024 * 1024 * 2
          ? 32
          : total > 8 * 1024 * 1024 * 2
            ? 16
            : total > 260 * 1024 * 2
              ? 8
              : 1;
  }
  if (options.sectorsPerTrack !== undefined) spt = options.sectorsPerTrack;
  if (options.heads !== undefined) heads = options.heads;
  if (!Number.isInteger(spt) || spt < 1 || spt > 0xffff)
    throw new KilnError('FAT_BAD_OPTION', `sectors per track must be 1..65535, got ${spt}`);
  if (!Number.isInteger(heads) || heads < 1 || heads > 0xffff)
    throw new KilnError('FAT_BAD_OPTION', `heads must be 1..65535, got ${heads}`);
  if (options.media !== undefined) {
    if (options.media !== 0xf0 && !(options.media >= 0xf8 && options.media <= 0xff))
      throw new KilnError(
        'FAT_BAD_OPTION',
        `media descriptor must be 0xF0 or 0xF8..0xFF, got 0x${options.media.toString(16)}`,
      );
    media = options.media;
  }
  let rootEntries = type === 32 ? 0 : (options.rootEntries ?? defaultRoot);
  if (!Number.isInteger(rootEntries) || rootEntries < 0 || rootEntries > 0xfff0)
    throw new KilnError('FAT_BAD_OPTION', `root directory entries must be 16..65520, got ${rootEntries}`);
  let reserved = options.reservedSectors ?? (type === 32 ? 32 : 1);
  if (
    options.reservedSectors !== undefined &&
    (!Number.isInteger(reserved) || reserved < (type === 32 ? 8 : 1) || reserved > 0xffff)
  ) {
    throw new KilnError('FAT_BAD_OPTION', `reserved sectors must be ${type === 32 ? 8 : 1}..65535, got ${reserved}`, {
      hint: 'FAT32 keeps the boot sector, FSInfo and their backups at sectors 0, 1, 6 and 7',
    });
  }

  const numSectors = Math.floor(total / spt) * spt;
  const align = numSectors > 8192;
  const alignObject = (sectors: number, clust: number): number => (align ? cdiv(sectors, clust) * clust : sectors);
  const rootDirSectors = cdiv(rootEntries * 32, SECTOR_SIZE);
  if (forcedSpc) spc = forcedSpc;
  const maxSpc = forcedSpc || 128;

  let clust12 = 0,
    clust16 = 0,
    clust32 = 0,
    len12 = 0,
    len16 = 0,
    len32 = 0;
  for (;;) {
    const data32 = numSectors - alignObject(reserved, spc);
    const data1216 = data32 - alignObject(rootDirSectors, spc);
    clust12 = Math.floor((2 * (data1216 * SECTOR_SIZE + fats * 3)) / (2 * spc * SECTOR_SIZE + fats * 3));
    len12 = alignObject(cdiv(((clust12 + 2) * 3 + 1) >> 1, SECTOR_SIZE), spc);
    clust12 = Math.floor((data1216 - fats * len12) / spc);
    const max12 = Math.min(Math.floor((len12 * 2 * SECTOR_SIZE) / 3), MAX_CLUST_12);
    if (clust12 > max12 || clust12 < 1) clust12 = 0;

    clust16 = Math.floor((data1216 * SECTOR_SIZE + fats * 4) / (spc * SECTOR_SIZE + fats * 2));
    len16 = alignObject(cdiv((clust16 + 2) * 2, SECTOR_SIZE), spc);
    clust16 = Math.floor((data1216 - fats * len16) / spc);
    const max16 = Math.min(Math.floor((len16 * SECTOR_SIZE) / 2), MAX_CLUST_16);
    if (clust16 > max16 || clust16 < MIN_CLUST_16) clust16 = 0;

    clust32 = Math.floor((data32 * SECTOR_SIZE + fats * 8) / (spc * SECTOR_SIZE + fats * 4));
    len32 = alignObject(cdiv((clust32 + 2) * 4, SECTOR_SIZE), spc);
    clust32 = Math.floor((data32 - fats * len32) / spc);
    const max32 = Math.min(Math.floor((len32 * SECTOR_SIZE) / 4), MAX_CLUST_32);
    if (clust32 > max32 || clust32 < MIN_CLUST_32) clust32 = 0;

    if (
      (clust12 && (type === 0 || type === 12)) ||
      (clust16 && (type === 0 || type === 16)) ||
      (clust32 && type === 32)
    )
      break;
    spc *= 2;
    if (spc > maxSpc) break;
  }
  if (!type) type = clust16 > clust12 ? 16 : 12;
  const count = type === 12 ? clust12 : type === 16 ? clust16 : clust32;
  const fatSectors = type === 12 ? len12 : type === 16 ? len16 : len32;
  if (!count) {
    const name = `FAT${type}`;
    if (forcedSpc) {
      throw new KilnError(
        'FAT_BAD_CLUSTER_SIZE',
        `a ${formatSize(bytes)} volume cannot be ${name} with ${formatSize(forcedSpc * SECTOR_SIZE)} clusters (too few or too many clusters)`,
        {
          hint: `${name} needs ${type === 12 ? '1 to 4084' : type === 16 ? '4085 to 65524' : 'at least 65525'} clusters; pick another cluster size or leave it out`,
        },
      );
    }
    if (type === 32)
      tooSmall(
        bytes,
        'FAT32',
        `FAT32 needs at least ${MIN_CLUST_32} clusters (about 33 MiB with 512-byte clusters); use a larger size or FAT16`,
      );
    if (type === 16)
      tooSmall(bytes, 'FAT16', 'FAT16 needs at least 4085 clusters (about 2.1 MiB with 512-byte clusters); use FAT12');
    throw new KilnError('FAT_TOO_LARGE', `a ${formatSize(bytes)} volume is too large for ${name}`, {
      hint: 'use FAT16 or FAT32',
    });
  }
  reserved = alignObject(reserved, spc);
  if (align && type !== 32) rootEntries = alignObject(rootDirSectors, spc) * (SECTOR_SIZE / 32);
  const finalRootSectors = cdiv(rootEntries * 32, SECTOR_SIZE);
  const firstDataSector = reserved + fats * fatSectors + finalRootSectors;
  if (numSectors < firstDataSector + 64) tooSmall(bytes, `FAT${type}`, 'give a larger size');
  return {
    type,
    totalSectors: numSectors,
    sectorsPerCluster: spc,
    clusterBytes: spc * SECTOR_SIZE,
    reservedSectors: reserved,
    fats,
    fatSectors,
    rootEntries,
    rootDirSectors: finalRootSectors,
    clusterCount: count,
    firstDataSector,
    media,
    sectorsPerTrack: spt,
    heads,
  };
}
