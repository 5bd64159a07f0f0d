/**
 * Byte helpers shared by every format: a bounds-checked reading cursor and explicit-endian
 * writers. Endianness is always passed (`le`), never assumed.
 */
import { FormatError } from '../../errors.js';

/** A DataView over exactly the bytes of `bytes` (respecting byteOffset/byteLength). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Writes one byte at `offset`. */
export function writeU8(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value & 0xff;
}
/** Writes a u16 at `offset`, little-endian when `le`. */
export function writeU16(buf: Uint8Array, offset: number, value: number, le: boolean): void {
  viewOf(buf).setUint16(offset, value, le);
}
/** Writes a u32 at `offset`, little-endian when `le`. */
export function writeU32(buf: Uint8Array, offset: number, value: number, le: boolean): void {
  viewOf(buf).setUint32(offset, value >>> 0, le);
}
/** Writes a u64 (number or bigint) at `offset`, little-endian when `le`. */
export function writeU64(buf: Uint8Array, offset: number, value: number | bigint, le: boolean): void {
  viewOf(buf).setBigUint64(offset, BigInt(value), le);
}
/** ISO9660-style both-endian 16-bit (LE then BE), 4 bytes. */
export function writeU16Both(buf: Uint8Array, offset: number, value: number): void {
  writeU16(buf, offset, value, true);
  writeU16(buf, offset + 2, value, false);
}
/** ISO9660-style both-endian 32-bit (LE then BE), 8 bytes. */
export function writeU32Both(buf: Uint8Array, offset: number, value: number): void {
  writeU32(buf, offset, value, true);
  writeU32(buf, offset + 4, value, false);
}
/** Reads a u16 at `offset`, little-endian when `le`. */
export function readU16(buf: Uint8Array, offset: number, le: boolean): number {
  return viewOf(buf).getUint16(offset, le);
}
/** Reads a u32 at `offset`, little-endian when `le`. */
export function readU32(buf: Uint8Array, offset: number, le: boolean): number {
  return viewOf(buf).getUint32(offset, le);
}
/** Reads a u64 as a number; throws RangeError above 2^53. */
export function readU64(buf: Uint8Array, offset: number, le: boolean): number {
  const value = viewOf(buf).getBigUint64(offset, le);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`u64 at ${offset} exceeds 2^53: ${value}`);
  return Number(value);
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** UTF-8 bytes of `text`. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
/** Text of UTF-8 `bytes` (invalid sequences become U+FFFD). */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}
/** Writes ASCII `text` at `offset`, padded with `pad` up to `width` bytes (text longer than width throws). */
export function writeAscii(buf: Uint8Array, offset: number, text: string, width = text.length, pad = 0x20): void {
  if (text.length > width) throw new RangeError(`"${text}" is longer than ${width} bytes`);
  for (let i = 0; i < width; i++) {
    const c = i < text.length ? text.charCodeAt(i) : pad;
    if (c > 0x7f) throw new RangeError(`"${text}" is not ASCII`);
    buf[offset + i] = c;
  }
}
/** `length` bytes at `offset` as Latin-1 text (trailing padding kept). */
export function readAscii(buf: Uint8Array, offset: number, length: number): string {
  return latin1.decode(buf.subarray(offset, offset + length));
}
/** The parts one after another in a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
/** Zeros to compare against (native memcmp through Buffer.equals is ~20x faster than a JS loop). */
const ZEROS = Buffer.alloc(64 * 1024);
/** True when every byte is 0 (compared natively, 64 KiB at a time). */
export function isAllZero(bytes: Uint8Array): boolean {
  const n = bytes.length;
  if (n < 64) {
    for (let i = 0; i < n; i++) if (bytes[i] !== 0) return false;
    return true;
  }
  // A non-zero byte is usually near the start: check a few before the native compare.
  if (bytes[0] !== 0 || bytes[n >>> 1] !== 0 || bytes[n - 1] !== 0) return false;
  for (let at = 0; at < n; at += ZEROS.length) {
    const len = Math.min(ZEROS.length, n - at);
    if (!Buffer.from(bytes.buffer, bytes.byteOffset + at, len).equals(ZEROS.subarray(0, len))) return false;
  }
  return true;
}
/**
 * Lower-case hex of the bytes.
 * @example toHex(new Uint8Array([0xde, 0xad])) // 'dead'
 */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
/**
 * Bytes of a hex string (even length; throws on other characters).
 * @example fromHex('55aa') // Uint8Array [0x55, 0xaa]
 */
export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new RangeError('"hex" expected an even number of hex digits');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * A reading cursor over untrusted bytes. Every read is bounds-checked before it happens and
 * failures are FormatErrors naming the format and the absolute offset (`base` + position).
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly format: string;
  /** Absolute offset of bytes[0] in the original input, for error messages. */
  readonly base: number;
  position: number;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, format: string, options: { base?: number; position?: number } = {}) {
    this.bytes = bytes;
    this.format = format;
    this.base = options.base ?? 0;
    this.position = options.position ?? 0;
    this.view = viewOf(bytes);
  }

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  /** Throws a FormatError unless `length` bytes are available at `at` (default: current position). */
  need(length: number, what: string, at = this.position): void {
    if (!Number.isSafeInteger(length) || length < 0 || at < 0 || at + length > this.bytes.length) {
      throw new FormatError(
        this.format,
        'TRUNCATED',
        `${what}: needs ${length} bytes at offset ${this.base + at}, only ${Math.max(0, this.bytes.length - at)} left`,
        {
          offset: this.base + at,
        },
      );
    }
  }

  /** Throws a FormatError with this reader's format and the absolute offset `at`. */
  fail(code: string, message: string, at = this.position): never {
    throw new FormatError(this.format, code, message, { offset: this.base + at });
  }

  /** Moves to `position` (relative to this reader's start). */
  seek(position: number): this {
    if (position < 0 || position > this.bytes.length)
      this.fail('BAD_OFFSET', `offset ${position} is outside the ${this.bytes.length}-byte input`, 0);
    this.position = position;
    return this;
  }

  /** Moves `length` bytes forward. */
  skip(length: number): this {
    this.need(length, 'skip');
    this.position += length;
    return this;
  }

  /** Reads one byte; `what` names the field in an error. */
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.bytes[this.position++]!;
  }
  /** Reads a u16, little-endian when `le`. */
  u16(le: boolean, what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.position, le);
    this.position += 2;
    return v;
  }
  /** Reads a u32, little-endian when `le`. */
  u32(le: boolean, what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.position, le);
    this.position += 4;
    return v;
  }
  /** Reads a signed 32-bit integer, little-endian when `le`. */
  i32(le: boolean, what = 'i32'): number {
    this.need(4, what);
    const v = this.view.getInt32(this.position, le);
    this.position += 4;
    return v;
  }
  /** A u64 as bigint (never loses precision). */
  u64big(le: boolean, what = 'u64'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.position, le);
    this.position += 8;
    return v;
  }
  /** A u64 as a number; a value above 2^53 is a FormatError (no real image is that large). */
  u64(le: boolean, what = 'u64'): number {
    const at = this.position;
    const v = this.u64big(le, what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('VALUE_TOO_LARGE', `${what} = ${v} is too large`, at);
    return Number(v);
  }
  /** A view (not a copy) of the next `length` bytes. */
  bytesView(length: number, what = 'bytes'): Uint8Array {
    this.need(length, what);
    const out = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return out;
  }
  /** Reads `length` bytes as Latin-1 text. */
  ascii(length: number, what = 'text'): string {
    return readAscii(this.bytesView(length, what), 0, length);
  }
  /** A sub-reader over `length` bytes at `at`, sharing the same format and absolute offsets. */
  slice(at: number, length: number, what = 'region'): ByteReader {
    this.need(length, what, at);
    return new ByteReader(this.bytes.subarray(at, at + length), this.format, { base: this.base + at });
  }
}
