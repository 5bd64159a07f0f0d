/**
 * El Torito Bootable CD-ROM Format Specification 1.0 (Phoenix/IBM, 1995): §2.0 Boot Record
 * Volume Descriptor, §2.1 validation entry (checksum), §2.2 initial/default entry, §2.3 section
 * header, §2.4 section entry; media types 0 (no emulation) and 4 (hard disk emulation, §2.5 / §3.0),
 * platform 0x00 (80x86) and 0xEF (UEFI 2.10 §13.3.2.1). Also the boot information table that
 * mkisofs/xorriso patch into no-emulation boot images (`-boot-info-table`: bytes 8-63) and GRUB 2's
 * `--grub2-boot-info` patch (byte 2548).
 */
import { FormatError, KilnError } from '../../errors.js';
import { readU16, readU32, writeAscii, writeU16, writeU32, writeU64, readAscii } from '../io/bytes.js';
import type { Content } from '../io/content.js';
import type { BlockSink } from '../io/block-writer.js';

/**
 * A boot image written in place by a filler (e.g. kiln's FAT writer making the ESP straight into
 * the ISO, never held in memory): its size, and a function filling a sink of exactly that size.
 */
export interface RegionFiller {
  /** Size of the region in bytes. */
  size: number;
  /** Writes the region into `sink` (exactly `size` bytes, offsets from 0). */
  fill(sink: BlockSink): Promise<void>;
}

/** Boot System Identifier of the Boot Record Volume Descriptor (§2.0). */
export const EL_TORITO_ID = 'EL TORITO SPECIFICATION';
/** Platform ID 0x00: 80x86 BIOS (§2.1). */
export const PLATFORM_X86 = 0x00;
/** Platform ID 0xEF: UEFI (UEFI 2.10 §13.3.2.1). */
export const PLATFORM_EFI = 0xef;
/** Boot media type 0: no emulation (§2.2). */
export const MEDIA_NO_EMULATION = 0;
/** Boot media type 4: hard disk emulation (§2.2). */
export const MEDIA_HARD_DISK = 4;

/** One El Torito boot entry as kiln is asked to make it. */
export interface BootEntrySpec {
  /** `bios` (platform 0x00, 80x86) or `efi` (platform 0xEF). */
  platform: 'bios' | 'efi';
  /**
   * `none` (no emulation: the BIOS loads `loadSectors` 512-byte sectors and jumps to them) or `hdd`
   * (hard-disk emulation: the image is a whole MBR disk the BIOS serves as drive 0x80). EFI: `none`.
   */
  emulation?: 'none' | 'hdd';
  /** A path of a file in the ISO tree, or content (or a filler) stored in a hidden extent. */
  image: string | Content | RegionFiller;
  /** 512-byte sectors loaded (no emulation). Default: BIOS 4, EFI the whole image (0 when over 32 MiB), HDD 1. */
  loadSectors?: number;
  /** Real-mode segment to load at (0 = the default 0x07C0). */
  loadSegment?: number;
  /** Patch the boot information table into bytes 8-63 of the image (`-boot-info-table`). */
  bootInfoTable?: boolean;
  /** Patch GRUB 2's core.img block list at byte 2548 (`--grub2-boot-info`), for hybrid USB boot. */
  grub2BootInfo?: boolean;
  /**
   * Hard-disk emulation only: when the image's MBR has no partition entry, write one covering the
   * image (16 heads × 63 sectors geometry) into the copy on the ISO so the BIOS can derive the
   * geometry. Boot code (bytes 0-445) is never changed. Default true.
   */
  addPartitionEntry?: boolean;
}

/** Boot options of an ISO. */
export interface ElToritoSpec {
  /** Entries; the first is the initial/default entry, the rest are grouped into sections by platform. */
  entries: BootEntrySpec[];
}

/** A catalog entry with its final location (what goes into the catalog). */
export interface CatalogEntry {
  platform: number;
  media: number;
  bootable: boolean;
  loadSegment: number;
  systemType: number;
  sectorCount: number;
  lba: number;
}

function platformByte(p: 'bios' | 'efi'): number {
  return p === 'efi' ? PLATFORM_EFI : PLATFORM_X86;
}

/** The platform byte for a spec (0x00 BIOS, 0xEF UEFI). @example entryPlatform({ platform: 'efi', image: 'efi.img' }) // 0xef */
export function entryPlatform(spec: BootEntrySpec): number {
  return platformByte(spec.platform);
}

function writeEntry(buf: Uint8Array, at: number, e: CatalogEntry): void {
  buf.fill(0, at, at + 32);
  buf[at] = e.bootable ? 0x88 : 0x00;
  buf[at + 1] = e.media;
  writeU16(buf, at + 2, e.loadSegment, true);
  buf[at + 4] = e.systemType;
  writeU16(buf, at + 6, e.sectorCount, true);
  writeU32(buf, at + 8, e.lba, true);
}

/**
 * Serializes a boot catalog (one 2048-byte sector): validation entry, initial/default entry, then
 * one section per further platform (El Torito §2.1-2.4).
 * @example buildBootCatalog([{ platform: 0, media: 0, bootable: true, loadSegment: 0, systemType: 0, sectorCount: 4, lba: 30 }])
 */
export function buildBootCatalog(entries: CatalogEntry[]): Uint8Array {
  if (entries.length === 0) throw new RangeError('"entries" expected at least one boot entry');
  const buf = new Uint8Array(2048);
  // Validation entry.
  buf[0] = 1;
  buf[1] = entries[0]!.platform;
  writeAscii(buf, 4, '', 24, 0);
  buf[30] = 0x55;
  buf[31] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + readU16(buf, i, true)) & 0xffff;
  writeU16(buf, 28, (0x10000 - sum) & 0xffff, true);
  writeEntry(buf, 32, entries[0]!);
  // Sections: consecutive groups of the remaining entries with the same platform.
  const rest = entries.slice(1);
  const groups: CatalogEntry[][] = [];
  for (const e of rest) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.platform === e.platform) last.push(e);
    else groups.push([e]);
  }
  let at = 64;
  groups.forEach((group, gi) => {
    if (at + 32 * (group.length + 1) > 2048) throw new RangeError('boot catalog exceeds one sector');
    buf.fill(0, at, at + 32);
    buf[at] = gi === groups.length - 1 ? 0x91 : 0x90;
    buf[at + 1] = group[0]!.platform;
    writeU16(buf, at + 2, group.length, true);
    at += 32;
    for (const e of group) {
      writeEntry(buf, at, e);
      at += 32;
    }
  });
  return buf;
}

/** A parsed boot catalog. */
export interface BootCatalog {
  platform: number;
  idString: string;
  checksumValid: boolean;
  entries: CatalogEntry[];
}

/**
 * Parses a boot catalog sector (El Torito §2.1-2.4). Throws FormatError on a bad validation entry.
 * @example parseBootCatalog(sectorBytes, catalogLba * 2048).entries[0].lba
 */
export function parseBootCatalog(buf: Uint8Array, offset = 0): BootCatalog {
  if (buf.length < 64)
    throw new FormatError('el-torito', 'TRUNCATED', `boot catalog needs 64 bytes, got ${buf.length}`, { offset });
  if (buf[0] !== 1 || buf[30] !== 0x55 || buf[31] !== 0xaa) {
    throw new FormatError(
      'el-torito',
      'BAD_VALIDATION_ENTRY',
      'boot catalog does not start with a validation entry (header 01, key 55 AA)',
      {
        offset,
        hint: 'the Boot Record Volume Descriptor points at a sector that is not a boot catalog',
      },
    );
  }
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + readU16(buf, i, true)) & 0xffff;
  const read = (at: number): CatalogEntry => ({
    bootable: buf[at] === 0x88,
    media: buf[at + 1]! & 0x0f,
    loadSegment: readU16(buf, at + 2, true),
    systemType: buf[at + 4]!,
    sectorCount: readU16(buf, at + 6, true),
    lba: readU32(buf, at + 8, true),
    platform: buf[1]!,
  });
  const entries: CatalogEntry[] = [read(32)];
  let at = 64;
  let guard = 0;
  while (at + 32 <= buf.length && (buf[at] === 0x90 || buf[at] === 0x91) && guard++ < 64) {
    const last = buf[at] === 0x91;
    const platform = buf[at + 1]!;
    const count = readU16(buf, at + 2, true);
    at += 32;
    for (let i = 0; i < count && at + 32 <= buf.length; i++) {
      const e = read(at);
      e.platform = platform;
      entries.push(e);
      at += 32;
      // Skip extension entries (0x44) that follow an entry.
      while (at + 32 <= buf.length && buf[at] === 0x44) at += 32;
    }
    if (last) break;
  }
  return {
    platform: buf[1]!,
    idString: readAscii(buf, 4, 24).replace(/[\0 ]+$/, ''),
    checksumValid: sum === 0,
    entries,
  };
}

/**
 * Patches the boot information table (as mkisofs `-boot-info-table`): bytes 8-63 of a no-emulation
 * boot image get the PVD LBA, the image's LBA, its length and the 32-bit sum of its words from byte 64.
 * @example patchBootInfoTable(image, 16, 34)
 */
export function patchBootInfoTable(image: Uint8Array, pvdLba: number, imageLba: number): void {
  if (image.length < 64)
    throw new KilnError(
      'ISO_BOOT_IMAGE_TOO_SMALL',
      `a boot image with a boot information table needs at least 64 bytes, got ${image.length}`,
    );
  let sum = 0;
  const words = Math.floor((image.length - 64) / 4);
  for (let i = 0; i < words; i++) sum = (sum + readU32(image, 64 + i * 4, true)) >>> 0;
  // A trailing partial word counts as zero-padded.
  const tail = (image.length - 64) % 4;
  if (tail) {
    const last = new Uint8Array(4);
    last.set(image.subarray(image.length - tail));
    sum = (sum + readU32(last, 0, true)) >>> 0;
  }
  writeU32(image, 8, pvdLba, true);
  writeU32(image, 12, imageLba, true);
  writeU32(image, 16, image.length, true);
  writeU32(image, 20, sum, true);
  image.fill(0, 24, 64);
}

/**
 * GRUB 2 boot info (xorriso `--grub2-boot-info`): u64 at 2548 = image LBA in 512-byte sectors + 5,
 * the block list of core.img's second sector, read when the ISO boots as a disk.
 * @example patchGrub2BootInfo(eltoritoImg, 550)
 */
export function patchGrub2BootInfo(image: Uint8Array, imageLba: number): void {
  if (image.length < 2556)
    throw new KilnError(
      'ISO_BOOT_IMAGE_TOO_SMALL',
      `--grub2-boot-info needs a GRUB eltorito.img of at least 2556 bytes, got ${image.length}`,
    );
  writeU64(image, 2548, imageLba * 4 + 5, true);
}

/** Result of checking a hard-disk-emulation image. */
export interface HddImageInfo {
  /** Partition type of the single partition (the catalog's System Type byte). */
  systemType: number;
  /** The MBR sector to write instead of the image's own (a partition entry added), if any. */
  patchedMbr?: Uint8Array;
}

/**
 * Checks a hard-disk-emulation image (El Torito §3.0: an MBR with the 55 AA signature and one
 * partition; its type becomes the catalog's System Type). With `addPartitionEntry`, an empty
 * partition table gets one active entry (type 0x01, CHS geometry 16 heads × 63 sectors, from LBA 1
 * to the end of the last whole cylinder), from which BIOSes such as SeaBIOS derive the geometry.
 * @example checkHddImage(firstSector, imageSize, true, 'portix.img').systemType
 */
export function checkHddImage(
  mbr: Uint8Array,
  imageSize: number,
  addPartitionEntry: boolean,
  where: string,
): HddImageInfo {
  if (mbr.length < 512 || mbr[510] !== 0x55 || mbr[511] !== 0xaa) {
    throw new KilnError(
      'ISO_HDD_IMAGE_NO_MBR',
      `${where}: a hard-disk-emulation boot image must start with an MBR boot sector ending in 55 AA`,
      {
        hint: 'give a raw disk image whose first sector is a boot sector, or use no-emulation boot',
      },
    );
  }
  if (imageSize % 512 !== 0) {
    throw new KilnError(
      'ISO_HDD_IMAGE_SIZE',
      `${where}: a hard-disk-emulation image must be a whole number of 512-byte sectors, got ${imageSize} bytes`,
      {
        hint: 'pad the disk image to a multiple of 512 bytes',
      },
    );
  }
  const used: number[] = [];
  for (let i = 0; i < 4; i++) if (mbr[446 + i * 16 + 4] !== 0) used.push(i);
  if (used.length === 1) return { systemType: mbr[446 + used[0]! * 16 + 4]! };
  if (used.length > 1) {
    throw new KilnError(
      'ISO_HDD_IMAGE_PARTITIONS',
      `${where}: a hard-disk-emulation image must have exactly one partition, found ${used.length}`,
      {
        hint: 'El Torito hard-disk emulation serves a single-partition disk',
      },
    );
  }
  const table = mbr.subarray(446, 510);
  if (!addPartitionEntry || table.some((b) => b !== 0)) {
    throw new KilnError(
      'ISO_HDD_IMAGE_PARTITIONS',
      `${where}: the image's MBR has no partition entry, so the BIOS cannot derive a disk geometry`,
      {
        hint: 'add a partition to the image, or let kiln add one (addPartitionEntry: true, the default)',
      },
    );
  }
  const patched = mbr.slice(0, 512);
  const heads = 16;
  const spt = 63;
  const sectors = imageSize / 512;
  const cylinders = Math.max(1, Math.ceil(sectors / (heads * spt)));
  if (cylinders > 1024) {
    throw new KilnError(
      'ISO_HDD_IMAGE_TOO_LARGE',
      `${where}: ${imageSize} bytes is larger than a CHS-addressed emulated disk (about 504 MiB)`,
      {
        hint: 'use no-emulation boot for large images',
      },
    );
  }
  const chs = (lba: number): [number, number, number] => {
    const c = Math.floor(lba / (heads * spt));
    const h = Math.floor(lba / spt) % heads;
    const s = (lba % spt) + 1;
    return [h, ((c >> 2) & 0xc0) | s, c & 0xff];
  };
  const start = 1;
  const end = cylinders * heads * spt - 1;
  const e = 446;
  patched[e] = 0x80;
  patched.set(chs(start), e + 1);
  patched[e + 4] = 0x01; // FAT12-sized "other" partition: the BIOS only needs a type and a geometry
  patched.set(chs(end), e + 5);
  writeU32(patched, e + 8, start, true);
  writeU32(patched, e + 12, end - start + 1, true);
  return { systemType: 0x01, patchedMbr: patched };
}
