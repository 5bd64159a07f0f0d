/**
 * CPIO "new ASCII" (newc, magic 070701) and "new CRC" (magic 070702) headers, as specified in
 * cpio(5) (libarchive's "cpio — format of cpio archive files", section "New ASCII Format") and as
 * written by GNU cpio `-H newc` / `-H crc` and read by the Linux kernel
 * (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * A header is 110 ASCII bytes: the 6-byte magic then 13 fields of 8 upper-case hex digits:
 * ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
 * namesize (including the NUL), check. The NUL-terminated name follows, then padding to a multiple
 * of 4 bytes (counted from the start of the header), then the data, padded to 4 bytes again.
 */

/** Size of the fixed header in bytes. */
export const CPIO_HEADER_SIZE = 110;
/** Magic of the "new ASCII" format (`newc`, what Linux initramfs uses). */
export const MAGIC_NEWC = '070701';
/** Magic of the "new CRC" format (`crc`: `newc` plus a sum of each file's bytes). */
export const MAGIC_CRC = '070702';
/** The name of the entry that ends an archive. */
export const TRAILER_NAME = 'TRAILER!!!';
/** Longest name (bytes, without the NUL) kiln writes or accepts: Linux's PATH_MAX - 1. */
export const MAX_NAME_BYTES = 4095;
/** Largest value of a header field (8 hex digits). */
export const MAX_FIELD = 0xffffffff;

/** File type bits of `mode` (sys/stat.h). */
export const S_IFMT = 0o170000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFDIR = 0o040000;
export const S_IFBLK = 0o060000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** The kind of a cpio entry, from its mode's file-type bits. */
export type CpioKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export const KIND_BITS: Record<CpioKind, number> = {
  file: S_IFREG,
  dir: S_IFDIR,
  symlink: S_IFLNK,
  char: S_IFCHR,
  block: S_IFBLK,
  fifo: S_IFIFO,
};

export function kindOfMode(mode: number): CpioKind | undefined {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    case S_IFCHR:
      return 'char';
    case S_IFBLK:
      return 'block';
    case S_IFIFO:
      return 'fifo';
    default:
      return undefined;
  }
}

/** The 13 numeric fields of a header, in on-disk order. */
export interface CpioHeaderFields {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  namesize: number;
  check: number;
}

export const FIELD_ORDER: ReadonlyArray<keyof CpioHeaderFields> = [
  'ino',
  'mode',
  'uid',
  'gid',
  'nlink',
  'mtime',
  'filesize',
  'devMajor',
  'devMinor',
  'rdevMajor',
  'rdevMinor',
  'namesize',
  'check',
];

const HEX = '0123456789ABCDEF';

/** Serializes a header into `buf` at `offset` (110 bytes). Values must be integers in [0, 2^32). */
export function writeHeaderInto(buf: Uint8Array, offset: number, magic: string, fields: CpioHeaderFields): void {
  for (let i = 0; i < 6; i++) buf[offset + i] = magic.charCodeAt(i);
  let at = offset + 6;
  for (const key of FIELD_ORDER) {
    let value = fields[key];
    for (let d = 7; d >= 0; d--) {
      buf[at + d] = HEX.charCodeAt(value & 0xf);
      value = Math.floor(value / 16);
    }
    at += 8;
  }
}

/** Rounds up to the next multiple of 4 (newc alignment). */
export function pad4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/**
 * The old portable ASCII format ("odc", magic 070707): cpio(5) section "Portable ASCII Format" and
 * POSIX.1-1988 / SUSv2 `cpio` "cpio Interchange Format". A 76-byte header of octal fields: magic[6]
 * dev[6] ino[6] mode[6] uid[6] gid[6] nlink[6] rdev[6] mtime[11] namesize[6] filesize[11]; the
 * NUL-terminated name and the data follow with no padding at all.
 */
export const MAGIC_ODC = '070707';
export const ODC_HEADER_SIZE = 76;
/** Largest value of a 6-digit octal field. */
export const ODC_MAX_SMALL = 0o777777;
/** Largest value of an 11-digit octal field (mtime, filesize). */
export const ODC_MAX_LARGE = 0o77777777777;

/** odc field widths in on-disk order (after the magic). */
export const ODC_FIELDS: ReadonlyArray<readonly [string, number]> = [
  ['dev', 6],
  ['ino', 6],
  ['mode', 6],
  ['uid', 6],
  ['gid', 6],
  ['nlink', 6],
  ['rdev', 6],
  ['mtime', 11],
  ['namesize', 6],
  ['filesize', 11],
];

/** Serializes an odc header (76 bytes) into `buf` at `offset`; rdev is `(major << 8) | minor` as GNU cpio stores it. */
export function writeOdcHeaderInto(buf: Uint8Array, offset: number, f: CpioHeaderFields): void {
  const values: Record<string, number> = {
    dev: 0,
    ino: f.ino,
    mode: f.mode,
    uid: f.uid,
    gid: f.gid,
    nlink: f.nlink,
    rdev: f.rdevMajor * 256 + f.rdevMinor,
    mtime: f.mtime,
    namesize: f.namesize,
    filesize: f.filesize,
  };
  for (let i = 0; i < 6; i++) buf[offset + i] = MAGIC_ODC.charCodeAt(i);
  let at = offset + 6;
  for (const [name, width] of ODC_FIELDS) {
    const digits = values[name]!.toString(8).padStart(width, '0');
    for (let i = 0; i < width; i++) buf[at + i] = digits.charCodeAt(i);
    at += width;
  }
}
