/**
 * ustar headers: POSIX.1-2017 XCU `pax`, section "ustar Interchange Format" (header block layout,
 * Table "ustar Header Block"; octal numeric fields; the checksum computed with the chksum field as
 * eight spaces; typeflag values; name/prefix split at a slash).
 *
 * A header is one 512-byte block: name[100] mode[8] uid[8] gid[8] size[12] mtime[12] chksum[8]
 * typeflag[1] linkname[100] magic[6] version[2] uname[32] gname[32] devmajor[8] devminor[8]
 * prefix[155], then 12 bytes of padding.
 */

export const TAR_BLOCK = 512;
/** `ustar\0` + version `00` (POSIX); GNU tar's old format writes `ustar  \0` instead. */
export const USTAR_MAGIC = 'ustar\u0000';
export const USTAR_VERSION = '00';
export const NAME_SIZE = 100;
export const PREFIX_SIZE = 155;
/** Largest size/mtime in an 11-digit octal field. */
export const MAX_SIZE_FIELD = 0o77777777777;
/** Largest mode/uid/gid/devmajor/devminor in a 7-digit octal field. */
export const MAX_SMALL_FIELD = 0o7777777;

/** The kind of a tar entry, from its typeflag. */
export type TarKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'hardlink';

/** typeflag byte per kind ('0' regular, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo). */
export const TYPEFLAG: Record<TarKind, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export function kindOfTypeflag(flag: number): TarKind | undefined {
  switch (String.fromCharCode(flag)) {
    case '0':
    case '\u0000':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return undefined;
  }
}

/** Field offsets and widths within the header block. */
export const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

/** The numbers of a header. */
export interface TarHeaderFields {
  /** Name bytes (≤ 100) and prefix bytes (≤ 155), already split. */
  name: Uint8Array;
  prefix: Uint8Array;
  linkname: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  devmajor: number;
  devminor: number;
}

/** Writes `value` as zero-padded octal digits filling `width - 1` bytes, then a NUL (as GNU tar does). */
function writeOctal(buf: Uint8Array, at: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  for (let i = 0; i < width - 1; i++) buf[at + i] = digits.charCodeAt(i);
  buf[at + width - 1] = 0;
}

function writeBytes(buf: Uint8Array, at: number, width: number, bytes: Uint8Array | string): void {
  buf.fill(0, at, at + width);
  if (typeof bytes === 'string') for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes.charCodeAt(i);
  else buf.set(bytes, at);
}

/** Sum of the header's bytes with the chksum field counted as eight spaces (unsigned). */
export function headerChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** Serializes a header into a fresh 512-byte block (every byte written). */
export function encodeHeader(f: TarHeaderFields): Uint8Array {
  const block = new Uint8Array(TAR_BLOCK);
  writeBytes(block, 0, 100, f.name);
  writeOctal(block, 100, 8, f.mode);
  writeOctal(block, 108, 8, f.uid);
  writeOctal(block, 116, 8, f.gid);
  writeOctal(block, 124, 12, f.size);
  writeOctal(block, 136, 12, f.mtime);
  writeBytes(block, 148, 8, '        ');
  block[156] = f.typeflag.charCodeAt(0);
  writeBytes(block, 157, 100, f.linkname);
  writeBytes(block, 257, 6, USTAR_MAGIC);
  writeBytes(block, 263, 2, USTAR_VERSION);
  writeBytes(block, 265, 32, '');
  writeBytes(block, 297, 32, '');
  writeOctal(block, 329, 8, f.devmajor);
  writeOctal(block, 337, 8, f.devminor);
  writeBytes(block, 345, 155, f.prefix);
  block.fill(0, 500, 512);
  // chksum: six octal digits, NUL, space (the traditional form every reader accepts).
  const sum = headerChecksum(block);
  writeOctal(block, 148, 7, sum);
  block[155] = 0x20;
  return block;
}

/** Rounds up to a whole number of 512-byte blocks. */
export function padBlock(n: number): number {
  return Math.ceil(n / TAR_BLOCK) * TAR_BLOCK;
}
