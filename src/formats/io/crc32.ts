/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as used by GPT (UEFI 2.10 §5.3), VMDK
 * stream markers, CPIO is not (it uses a byte sum) and zlib. Backed by node:zlib's native crc32.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** CRC-32 of `data`, continuing from `previous` (default 0). Returns an unsigned 32-bit number. */
export function crc32(data: Uint8Array, previous = 0): number {
  return zlibCrc32(data, previous) >>> 0;
}
