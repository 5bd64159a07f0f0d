/**
 * GUIDs derived deterministically (RFC 9562 UUIDv8 layout over SHA-256), and their on-disk
 * "mixed-endian" encoding used by GPT and UEFI (first three fields little-endian, UEFI 2.10 Appendix A).
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../../errors.js';

/** A GUID in canonical text form, lower case: `c12a7328-f81f-11d2-ba4b-00a0c93ec93b`. */
export type Guid = string;

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a GUID in its text form (`8-4-4-4-12` hex digits, any case). */
export function isGuid(text: string): boolean {
  return GUID_RE.test(text);
}

/**
 * A stable GUID for (`seed`, `label`): the same inputs always give the same GUID, different labels
 * give unrelated GUIDs. Version nibble 8 (custom), RFC 4122 variant.
 * @example deriveGuid('my-disk', 'partition/1')
 */
export function deriveGuid(seed: string | Uint8Array, label: string): Guid {
  const h = createHash('sha256').update('kiln-guid\0').update(seed).update('\0').update(label).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Encodes a GUID into 16 bytes in UEFI mixed-endian order. */
export function guidToBytes(guid: Guid): Uint8Array {
  if (!isGuid(guid))
    throw new RangeError(`"guid" expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, got ${JSON.stringify(guid)}`);
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  const out = new Uint8Array(16);
  out[0] = b[3]!;
  out[1] = b[2]!;
  out[2] = b[1]!;
  out[3] = b[0]!;
  out[4] = b[5]!;
  out[5] = b[4]!;
  out[6] = b[7]!;
  out[7] = b[6]!;
  out.set(b.subarray(8, 16), 8);
  return out;
}

/** Decodes 16 mixed-endian bytes at `offset` into canonical text. */
export function guidFromBytes(bytes: Uint8Array, offset = 0): Guid {
  if (offset < 0 || offset + 16 > bytes.length)
    throw new FormatError('guid', 'TRUNCATED', 'a GUID needs 16 bytes', { offset });
  const b = bytes.subarray(offset, offset + 16);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  const hex = order.map((i) => b[i]!.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
