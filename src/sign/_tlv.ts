/**
 * The container both kiln records use (the manifest "KMAN" and detached signatures "KSIG"):
 * 4-byte magic, u16 version, u16 header size, u32 total size (little-endian), then entries of
 * u16 tag, u32 length, value. See src/sign/README.md.
 */
import { writeU16, writeU32 } from '../formats/io/bytes.js';

export interface TlvEntry {
  tag: number;
  value: Uint8Array;
}

/** Size of a record with these entries (layout before emit). */
export function tlvSize(headerSize: number, entries: readonly TlvEntry[]): number {
  let total = headerSize;
  for (const e of entries) total += 6 + e.value.length;
  return total;
}

/** Writes the record: header then entries, in the order given. */
export function encodeTlv(
  magic: string,
  version: number,
  headerSize: number,
  entries: readonly TlvEntry[],
): Uint8Array {
  const total = tlvSize(headerSize, entries);
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(magic), 0);
  writeU16(out, 4, version, true);
  writeU16(out, 6, headerSize, true);
  writeU32(out, 8, total, true);
  let at = headerSize;
  for (const e of entries) {
    writeU16(out, at, e.tag, true);
    writeU32(out, at + 2, e.value.length, true);
    out.set(e.value, at + 6);
    at += 6 + e.value.length;
  }
  return out;
}
