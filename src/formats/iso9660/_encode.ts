/**
 * ECMA-119 (4th edition, 2019) shared encodings: 7.1-7.3 numerical values (both-endian), 8.4.26.1
 * 17-byte volume dates, 9.1.5 7-byte recording dates, 9.1 directory records, 9.4 path table records.
 */

/** Both-endian u32 (ECMA-119 7.3.3), written byte by byte (no DataView: this runs per record). */
export function putU32Both(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 16) & 0xff;
  buf[offset + 3] = (value >>> 24) & 0xff;
  buf[offset + 4] = (value >>> 24) & 0xff;
  buf[offset + 5] = (value >>> 16) & 0xff;
  buf[offset + 6] = (value >>> 8) & 0xff;
  buf[offset + 7] = value & 0xff;
}

/**
 * Limits kiln's reader applies to untrusted images by default, and its writer to the trees it is
 * given, so that kiln reads every ISO it writes: directory levels (the root is level 1, so a
 * directory with N path components is level N + 1), entries, and bytes of one directory extent.
 */
export const ISO_MAX_DEPTH = 255;
export const ISO_MAX_ENTRIES = 1_000_000;
export const ISO_MAX_DIRECTORY_BYTES = 64 << 20;

/** Logical sector and block size (ECMA-119 6.1.2, 6.2.2: we always use 2048). */
export const SECTOR = 2048;
/** The System Area is logical sectors 0-15 (ECMA-119 6.2.1). */
export const SYSTEM_AREA_SECTORS = 16;

export const FLAG_HIDDEN = 0x01;
export const FLAG_DIRECTORY = 0x02;
export const FLAG_MULTI_EXTENT = 0x80;

/** Splits a time (seconds since 1970, UTC) into calendar fields, clamped to what ISO9660 can hold. */
function fields(seconds: number): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const min = Date.UTC(1900, 0, 1) / 1000;
  const max = Date.UTC(2155, 11, 31, 23, 59, 59) / 1000;
  const clamped = Math.min(max, Math.max(min, Math.floor(seconds)));
  const t = new Date(clamped * 1000);
  return {
    y: t.getUTCFullYear(),
    mo: t.getUTCMonth() + 1,
    d: t.getUTCDate(),
    h: t.getUTCHours(),
    mi: t.getUTCMinutes(),
    s: t.getUTCSeconds(),
  };
}

/** Recording dates by time: most records of an image carry the same few (the last one is checked first). */
const recordingDates = new Map<number, Uint8Array>();
let lastSeconds = NaN;
let lastDate: Uint8Array = new Uint8Array(7);

/** The 7-byte recording date of a time (ECMA-119 9.1.5): years since 1900, month, day, hour, minute, second, GMT offset (0). */
function recordingDate(seconds: number): Uint8Array {
  const cached = recordingDates.get(seconds);
  if (cached) return cached;
  const f = fields(seconds);
  const date = new Uint8Array([f.y - 1900, f.mo, f.d, f.h, f.mi, f.s, 0]);
  if (recordingDates.size < 4096) recordingDates.set(seconds, date);
  return date;
}

/** Writes the recording date of a time (ECMA-119 9.1.5) at `offset`. */
export function writeRecordingDate(buf: Uint8Array, offset: number, seconds: number): void {
  if (seconds !== lastSeconds) {
    lastDate = recordingDate(seconds);
    lastSeconds = seconds;
  }
  buf.set(lastDate, offset);
}

export function readRecordingDate(buf: Uint8Array, offset: number): number {
  const y = buf[offset]! + 1900;
  const tz = (buf[offset + 6]! << 24) >> 24; // signed, 15-minute units
  const ms = Date.UTC(
    y,
    Math.max(0, buf[offset + 1]! - 1),
    Math.max(1, buf[offset + 2]!),
    buf[offset + 3]!,
    buf[offset + 4]!,
    buf[offset + 5]!,
  );
  return Math.floor(ms / 1000) - tz * 15 * 60;
}

/** `YYYYMMDDHHMMSScc` digits for a time (ECMA-119 8.4.26.1), as GRUB also uses for the volume UUID. */
export function volumeDateDigits(seconds: number): string {
  const f = fields(seconds);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(f.y, 4)}${p(f.mo)}${p(f.d)}${p(f.h)}${p(f.mi)}${p(f.s)}00`;
}

/** ECMA-119 8.4.26.1: 16 ASCII digits and a GMT offset byte; `undefined` writes "not specified". */
export function writeVolumeDate(buf: Uint8Array, offset: number, seconds: number | undefined): void {
  const digits = seconds === undefined ? '0000000000000000' : volumeDateDigits(seconds);
  for (let i = 0; i < 16; i++) buf[offset + i] = digits.charCodeAt(i);
  buf[offset + 16] = 0;
}

export function readVolumeDate(buf: Uint8Array, offset: number): number | undefined {
  let digits = '';
  for (let i = 0; i < 16; i++) digits += String.fromCharCode(buf[offset + i]!);
  if (!/^\d{16}$/.test(digits) || /^0+$/.test(digits)) return undefined;
  const n = (a: number, b: number) => Number(digits.slice(a, b));
  const tz = (buf[offset + 16]! << 24) >> 24;
  const ms = Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14));
  return Number.isFinite(ms) ? Math.floor(ms / 1000) - tz * 15 * 60 : undefined;
}

export interface DirectoryRecordFields {
  extent: number;
  dataLength: number;
  mtime: number;
  flags: number;
  /** File identifier bytes (d-characters + separators, `\0` for `.`, `\1` for `..`, UCS-2 for Joliet). */
  identifier: Uint8Array;
  /** System Use field (SUSP entries), may be empty. */
  systemUse: Uint8Array;
}

/** Length of a directory record (ECMA-119 9.1.1), padded to an even number of bytes. */
export function directoryRecordLength(identifierLength: number, systemUseLength: number): number {
  const base = 33 + identifierLength + (identifierLength % 2 === 0 ? 1 : 0) + systemUseLength;
  return base + (base & 1);
}

/** Serializes a directory record (ECMA-119 9.1) at `offset`; returns its length. */
export function writeDirectoryRecord(buf: Uint8Array, offset: number, r: DirectoryRecordFields): number {
  const length = directoryRecordLength(r.identifier.length, r.systemUse.length);
  buf.fill(0, offset, offset + length);
  writeDirectoryRecordHeader(buf, offset, length, r.extent, r.dataLength, r.mtime, r.flags, r.identifier.length);
  buf.set(r.identifier, offset + 33);
  const suAt = offset + 33 + r.identifier.length + (r.identifier.length % 2 === 0 ? 1 : 0);
  buf.set(r.systemUse, suAt);
  return length;
}

/**
 * The fixed part of a directory record (ECMA-119 9.1.1-9.1.10, bytes 0-32) over zeroed bytes
 * (the zero fields are not written: the writer zero-fills each directory sector first): everything
 * but the identifier, its padding byte and the System Use field, which the caller writes after it.
 */
export function writeDirectoryRecordHeader(
  buf: Uint8Array,
  offset: number,
  length: number,
  extent: number,
  dataLength: number,
  mtime: number,
  flags: number,
  identifierLength: number,
): void {
  if (length > 255) throw new RangeError(`directory record of ${length} bytes exceeds 255`);
  buf[offset] = length; // byte 1, extended attribute record length: 0
  putU32Both(buf, offset + 2, extent);
  putU32Both(buf, offset + 10, dataLength);
  writeRecordingDate(buf, offset + 18, mtime);
  buf[offset + 25] = flags; // bytes 26-27, file unit size and interleave gap: 0
  buf[offset + 28] = 1; // volume sequence number 1, both-endian: 01 00 00 01
  buf[offset + 31] = 1;
  buf[offset + 32] = identifierLength;
}

/** Length of a path table record (ECMA-119 9.4). */
export function pathTableRecordLength(identifierLength: number): number {
  return 8 + identifierLength + (identifierLength & 1);
}
