/**
 * VMDK hosted sparse extent header and stream-optimized markers, per VMware "Virtual Disk Format
 * 5.0" (Hosted Sparse Extent Header; Stream-Optimized Compressed Sparse Extents: Grain, Metadata
 * and End-of-Stream Markers, the Footer) and as QEMU's block/vmdk.c reads them (VMDK4Header,
 * vmdk_open_vmdk4). All fields are little-endian; the magic reads "KDMV" on disk.
 *
 * SparseExtentHeader (512 bytes): 0 magicNumber, 4 version, 8 flags, 12 capacity (u64 sectors),
 * 20 grainSize (u64 sectors), 28 descriptorOffset, 36 descriptorSize, 44 numGTEsPerGT (u32),
 * 48 rgdOffset, 56 gdOffset, 64 overHead (u64 sectors), 72 uncleanShutdown (u8),
 * 73 singleEndLineChar '\n', 74 nonEndLineChar ' ', 75 doubleEndLineChar1 '\r',
 * 76 doubleEndLineChar2 '\n', 77 compressAlgorithm (u16), 79 pad[433].
 */
import { FormatError } from '../../errors.js';
import { readU32, writeU16, writeU32, writeU64 } from '../io/bytes.js';

export const SECTOR = 512;
/** 'VMDK' little-endian: the bytes "KDMV". */
export const VMDK_MAGIC = 0x564d444b;
export const FLAG_NL_DETECT = 1 << 0;
export const FLAG_RGD = 1 << 1;
export const FLAG_ZERO_GRAIN = 1 << 2;
export const FLAG_COMPRESSED = 1 << 16;
export const FLAG_MARKERS = 1 << 17;
export const COMPRESSION_NONE = 0;
export const COMPRESSION_DEFLATE = 1;
/** gdOffset of a stream-optimized header: the grain directory is found through the footer. */
export const GD_AT_END = 0xffffffffffffffffn;
/** Default grain: 128 sectors = 64 KiB. */
export const GRAIN_SECTORS = 128;
export const GTES_PER_GT = 512;
/** Reserved descriptor area, as QEMU (DESC_SIZE: 20 sectors). */
export const DESCRIPTOR_SECTORS = 20;

export const MARKER_EOS = 0;
export const MARKER_GT = 1;
export const MARKER_GD = 2;
export const MARKER_FOOTER = 3;

/** The decoded SparseExtentHeader. Offsets and sizes are in sectors. */
export interface SparseExtentHeader {
  version: number;
  flags: number;
  capacity: number;
  grainSize: number;
  descriptorOffset: number;
  descriptorSize: number;
  numGTEsPerGT: number;
  rgdOffset: number;
  /** Sector of the grain directory, or 'end' (GD_AT_END: see the footer). */
  gdOffset: number | 'end';
  overHead: number;
  uncleanShutdown: number;
  compressAlgorithm: number;
}

/**
 * Serializes a header into 512 bytes.
 * @example const sector0 = encodeSparseHeader(plan.header);
 */
export function encodeSparseHeader(
  h: SparseExtentHeader,
  buf: Uint8Array = new Uint8Array(SECTOR),
  at = 0,
): Uint8Array {
  buf.fill(0, at, at + SECTOR);
  writeU32(buf, at, VMDK_MAGIC, true);
  writeU32(buf, at + 4, h.version, true);
  writeU32(buf, at + 8, h.flags, true);
  writeU64(buf, at + 12, h.capacity, true);
  writeU64(buf, at + 20, h.grainSize, true);
  writeU64(buf, at + 28, h.descriptorOffset, true);
  writeU64(buf, at + 36, h.descriptorSize, true);
  writeU32(buf, at + 44, h.numGTEsPerGT, true);
  writeU64(buf, at + 48, h.rgdOffset, true);
  writeU64(buf, at + 56, h.gdOffset === 'end' ? GD_AT_END : BigInt(h.gdOffset), true);
  writeU64(buf, at + 64, h.overHead, true);
  buf[at + 72] = h.uncleanShutdown;
  buf[at + 73] = 0x0a;
  buf[at + 74] = 0x20;
  buf[at + 75] = 0x0d;
  buf[at + 76] = 0x0a;
  writeU16(buf, at + 77, h.compressAlgorithm, true);
  return buf;
}

function u64(view: DataView, at: number, what: string, base: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new FormatError('vmdk', 'VMDK_BAD_HEADER', `${what} = ${v} is too large`, { offset: base + at });
  return Number(v);
}

/**
 * True if `bytes` starts with the sparse extent magic "KDMV".
 * @example hasVmdkMagic(await source.read(0, 4))
 */
export function hasVmdkMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && readU32(bytes, 0, true) === VMDK_MAGIC;
}

/**
 * Decodes a 512-byte SparseExtentHeader at `at` of `buf` (`base` = its offset in the file, for errors).
 * @example decodeSparseHeader(await source.read(0, 512)).capacity
 */
export function decodeSparseHeader(buf: Uint8Array, at = 0, base = at): SparseExtentHeader {
  if (buf.length < at + SECTOR) {
    throw new FormatError(
      'vmdk',
      'VMDK_TRUNCATED',
      `a sparse extent header needs 512 bytes at ${base}, the input has ${Math.max(0, buf.length - at)}`,
      { offset: base },
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset + at, SECTOR);
  const magic = view.getUint32(0, true);
  if (magic !== VMDK_MAGIC) {
    throw new FormatError(
      'vmdk',
      'VMDK_BAD_MAGIC',
      `magic is 0x${magic.toString(16).padStart(8, '0')}, expected "KDMV"`,
      { offset: base, hint: 'the file is not a VMDK sparse extent' },
    );
  }
  const gdRaw = view.getBigUint64(56, true);
  return {
    version: view.getUint32(4, true),
    flags: view.getUint32(8, true),
    capacity: u64(view, 12, 'capacity', base),
    grainSize: u64(view, 20, 'grainSize', base),
    descriptorOffset: u64(view, 28, 'descriptorOffset', base),
    descriptorSize: u64(view, 36, 'descriptorSize', base),
    numGTEsPerGT: view.getUint32(44, true),
    rgdOffset: u64(view, 48, 'rgdOffset', base),
    gdOffset: gdRaw === GD_AT_END ? ('end' as const) : u64(view, 56, 'gdOffset', base),
    overHead: u64(view, 64, 'overHead', base),
    uncleanShutdown: view.getUint8(72),
    compressAlgorithm: view.getUint16(77, true),
  };
}

/**
 * A metadata marker sector (GT, GD, footer) or the end-of-stream marker.
 * @example encodeMarker(4, MARKER_GT) // precedes a 4-sector grain table
 */
export function encodeMarker(
  numSectors: number,
  type: number,
  buf: Uint8Array = new Uint8Array(SECTOR),
  at = 0,
): Uint8Array {
  buf.fill(0, at, at + SECTOR);
  writeU64(buf, at, numSectors, true);
  writeU32(buf, at + 8, 0, true);
  writeU32(buf, at + 12, type, true);
  return buf;
}
