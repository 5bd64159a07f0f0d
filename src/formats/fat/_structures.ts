/**
 * FAT on-disk structures: boot sector + BPB, FSInfo sector, 32-byte directory entries, DOS dates.
 *
 * Spec: Microsoft fatgen103 v1.03, "Boot Sector and BPB" (offsets 0..35 common, 36..61 FAT12/16,
 * 36..89 FAT32, signature 0x55 0xAA at 510), "FAT32 FSInfo Sector Structure" (lead signature
 * 0x41615252 at 0, struct signature 0x61417272 at 484, FSI_Free_Count at 488, FSI_Nxt_Free at 492,
 * trail signature 0xAA550000 at 508), "FAT Directory Structure" (DIR_Name .. DIR_FileSize) and
 * "Date and Time Formats" (date = years since 1980 << 9 | month << 5 | day, time = hours << 11 |
 * minutes << 5 | seconds / 2; CrtTimeTenth counts hundredths 0..199).
 */
import { KilnError } from '../../errors.js';
import { writeAscii, writeU16, writeU32 } from '../io/bytes.js';
import type { FatType, Geometry } from './_geometry.js';

/** fatgen103: a directory may not exceed 65,536 32-byte entries (2 MiB). The writer and the reader share it. */
export const FAT_MAX_DIR_ENTRIES = 65536;
/**
 * The deepest directory kiln writes and reads: one with this many path components. The reader
 * refuses deeper trees (a hostile image could nest without end); the writer refuses to make one.
 */
export const FAT_MAX_DEPTH = 512;

export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LONG_NAME = 0x0f;

/** Offset of the boot code area (just after the extended BPB) for each FAT type. */
export function bootCodeOffset(type: FatType): number {
  return type === 32 ? 90 : 62;
}

/** 1980-01-01T00:00:00Z and 2107-12-31T23:59:58Z: the range of a FAT timestamp. */
export const FAT_MIN_TIME = 315532800;
export const FAT_MAX_TIME = 4354819198;

/** Converts seconds since 1970 (UTC) to DOS date/time fields, clamped to 1980..2107. */
const dosTimeCache = new Map<number, { date: number; time: number; tenths: number }>();

export function dosDateTime(seconds: number): { date: number; time: number; tenths: number } {
  const cached = dosTimeCache.get(seconds);
  if (cached) return cached;
  const value = computeDosDateTime(seconds);
  if (dosTimeCache.size > 4096) dosTimeCache.clear();
  dosTimeCache.set(seconds, value);
  return value;
}

function computeDosDateTime(seconds: number): { date: number; time: number; tenths: number } {
  const clamped = Math.min(Math.max(Math.floor(seconds), FAT_MIN_TIME), FAT_MAX_TIME);
  const d = new Date(clamped * 1000);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  return { date, time, tenths: (d.getUTCSeconds() & 1) * 100 };
}

/** Converts DOS date/time (+ hundredths) to seconds since 1970, UTC; undefined if the date is invalid. */
export function fromDosDateTime(date: number, time: number, tenths = 0): number | undefined {
  const year = 1980 + (date >> 9);
  const month = (date >> 5) & 0x0f;
  const day = date & 0x1f;
  const hours = time >> 11;
  const minutes = (time >> 5) & 0x3f;
  const secs = (time & 0x1f) * 2 + (tenths >= 100 && tenths < 200 ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || hours > 23 || minutes > 59 || secs > 59) return undefined;
  return Date.UTC(year, month - 1, day, hours, minutes, secs) / 1000;
}

/**
 * Validates and upper-cases a volume label (at most 11 characters, printable ASCII, none of
 * `* ? . , ; : / \ | + = < > [ ] "`, not starting with a space).
 */
export function normalizeLabel(label: string): string {
  const upper = label.toUpperCase();
  const fail = (why: string): never => {
    throw new KilnError('FAT_LABEL_INVALID', `volume label ${JSON.stringify(label)} ${why}`, {
      hint: 'a FAT label is 1..11 printable ASCII characters without * ? . , ; : / \\ | + = < > [ ] "',
    });
  };
  if (upper.length === 0 || upper.length > 11) fail(`has ${upper.length} characters, 1..11 fit`);
  if (upper.startsWith(' ')) fail('starts with a space');
  for (const c of upper) {
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) fail(`contains ${JSON.stringify(c)} (only printable ASCII fits)`);
    if ('*?.,;:/\\|+=<>[]"'.includes(c)) fail(`contains ${JSON.stringify(c)}`);
  }
  return upper;
}

/** A non-bootable boot program: prints a message, waits for a key, then tries the next boot device. */
function defaultBootCode(codeOffset: number): Uint8Array {
  const message =
    'This FAT volume was made by kiln and is not bootable.\r\nPress a key to try the next boot device.\r\n';
  const messageAt = 0x7c00 + codeOffset + 29;
  const code = [
    0x0e, // push cs
    0x1f, // pop ds
    0xbe,
    messageAt & 0xff,
    messageAt >> 8, // mov si, message
    0xac, // next: lodsb
    0x22,
    0xc0, // and al, al
    0x74,
    0x0b, // jz wait_key
    0x56, // push si
    0xb4,
    0x0e, // mov ah, 0x0e (teletype output)
    0xbb,
    0x07,
    0x00, // mov bx, 0x0007
    0xcd,
    0x10, // int 0x10
    0x5e, // pop si
    0xeb,
    0xf0, // jmp next
    0x32,
    0xe4, // wait_key: xor ah, ah
    0xcd,
    0x16, // int 0x16
    0xcd,
    0x19, // int 0x19 (bootstrap loader)
    0xeb,
    0xfe, // jmp $
  ];
  const out = new Uint8Array(code.length + message.length + 1);
  out.set(code);
  for (let i = 0; i < message.length; i++) out[code.length + i] = message.charCodeAt(i);
  return out;
}

export interface BootSectorFields {
  geometry: Geometry;
  oemName: string;
  hiddenSectors: number;
  volumeId: number;
  /** 11 characters, already normalized, or 'NO NAME    '. */
  label: string;
  driveNumber: number;
  /** A 512-byte boot sector whose jump and code area are used (the BPB is kiln's). */
  bootSector?: Uint8Array;
}

/** Checks a user boot sector: 512 bytes, 0x55AA at 510, a jump (EB xx / E9 xx xx) at 0. */
export function checkBootSector(bytes: Uint8Array): void {
  if (bytes.length !== 512) {
    throw new KilnError('FAT_BAD_BOOT_CODE', `the boot sector must be exactly 512 bytes, got ${bytes.length}`, {
      hint: 'assemble it as a whole sector (e.g. nasm -f bin with times 510-($-$$) db 0 / dw 0xAA55)',
    });
  }
  if (bytes[510] !== 0x55 || bytes[511] !== 0xaa) {
    throw new KilnError('FAT_BAD_BOOT_CODE', 'the boot sector does not end in the signature 0x55 0xAA', {
      location: { offset: 510 },
      hint: 'end it with dw 0xAA55',
    });
  }
  if (!(bytes[0] === 0xeb || bytes[0] === 0xe9)) {
    throw new KilnError(
      'FAT_BAD_BOOT_CODE',
      `the boot sector does not start with a jump over the BPB (EB xx 90 or E9 xx xx), found 0x${bytes[0]!.toString(16)}`,
      {
        location: { offset: 0 },
        hint: 'start it with jmp short start / nop and reserve space for the BPB',
      },
    );
  }
}

/** Serializes the boot sector (BPB + extended BPB + boot code + signature) into 512 bytes. */
export function buildBootSector(f: BootSectorFields): Uint8Array {
  const g = f.geometry;
  const b = new Uint8Array(512);
  const code = bootCodeOffset(g.type);
  if (f.bootSector) {
    checkBootSector(f.bootSector);
    b.set(f.bootSector.subarray(0, 3), 0);
    b.set(f.bootSector.subarray(code, 510), code);
  } else {
    b[0] = 0xeb;
    b[1] = code - 2;
    b[2] = 0x90;
    b.set(defaultBootCode(code), code);
  }
  writeAscii(b, 3, f.oemName, 8);
  writeU16(b, 11, 512, true);
  b[13] = g.sectorsPerCluster;
  writeU16(b, 14, g.reservedSectors, true);
  b[16] = g.fats;
  writeU16(b, 17, g.rootEntries, true);
  writeU16(b, 19, g.totalSectors < 0x10000 ? g.totalSectors : 0, true);
  b[21] = g.media;
  writeU16(b, 22, g.type === 32 ? 0 : g.fatSectors, true);
  writeU16(b, 24, g.sectorsPerTrack, true);
  writeU16(b, 26, g.heads, true);
  writeU32(b, 28, f.hiddenSectors, true);
  writeU32(b, 32, g.totalSectors < 0x10000 ? 0 : g.totalSectors, true);
  let ext = 36;
  if (g.type === 32) {
    writeU32(b, 36, g.fatSectors, true);
    writeU16(b, 40, 0, true); // ExtFlags: mirroring on
    writeU16(b, 42, 0, true); // FSVer 0.0
    writeU32(b, 44, 2, true); // root directory at cluster 2
    writeU16(b, 48, 1, true); // FSInfo at sector 1
    writeU16(b, 50, 6, true); // backup boot sector at 6
    b.fill(0, 52, 64);
    ext = 64;
  }
  b[ext] = f.driveNumber;
  b[ext + 1] = 0;
  b[ext + 2] = 0x29;
  writeU32(b, ext + 3, f.volumeId, true);
  writeAscii(b, ext + 7, f.label, 11);
  writeAscii(b, ext + 18, g.type === 32 ? 'FAT32' : g.type === 16 ? 'FAT16' : 'FAT12', 8);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

/** The FAT32 FSInfo sector. `nextFree` 0xFFFFFFFF means unknown/none. */
export function buildFsInfo(freeCount: number, nextFree: number): Uint8Array {
  const s = new Uint8Array(512);
  writeU32(s, 0, 0x41615252, true);
  writeU32(s, 484, 0x61417272, true);
  writeU32(s, 488, freeCount, true);
  writeU32(s, 492, nextFree, true);
  writeU32(s, 508, 0xaa550000, true);
  return s;
}

export interface ShortEntryFields {
  /** 11 bytes of DIR_Name. */
  raw: string;
  attr: number;
  caseBits: number;
  firstCluster: number;
  size: number;
  mtime: number;
}

/** Writes one 32-byte short directory entry at `at` (plain byte stores: it runs for every entry). */
export function writeShortEntry(buf: Uint8Array, at: number, e: ShortEntryFields): void {
  const raw = e.raw;
  for (let i = 0; i < 11; i++) buf[at + i] = raw.charCodeAt(i);
  buf[at + 11] = e.attr;
  buf[at + 12] = e.caseBits;
  const { date, time, tenths } = dosDateTime(e.mtime);
  buf[at + 13] = tenths;
  buf[at + 14] = time & 0xff; // DIR_CrtTime
  buf[at + 15] = time >>> 8;
  buf[at + 16] = date & 0xff; // DIR_CrtDate
  buf[at + 17] = date >>> 8;
  buf[at + 18] = date & 0xff; // DIR_LstAccDate
  buf[at + 19] = date >>> 8;
  const cluster = e.firstCluster;
  buf[at + 20] = (cluster >>> 16) & 0xff; // DIR_FstClusHI
  buf[at + 21] = (cluster >>> 24) & 0xff;
  buf[at + 22] = time & 0xff; // DIR_WrtTime
  buf[at + 23] = time >>> 8;
  buf[at + 24] = date & 0xff; // DIR_WrtDate
  buf[at + 25] = date >>> 8;
  buf[at + 26] = cluster & 0xff; // DIR_FstClusLO
  buf[at + 27] = (cluster >>> 8) & 0xff;
  const size = e.size;
  buf[at + 28] = size & 0xff; // DIR_FileSize
  buf[at + 29] = (size >>> 8) & 0xff;
  buf[at + 30] = (size >>> 16) & 0xff;
  buf[at + 31] = (size >>> 24) & 0xff;
}
