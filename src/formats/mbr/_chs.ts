/**
 * Cylinder/head/sector addresses in MBR partition entries (the IBM PC partition table layout; see
 * UEFI 2.10 §5.2.1 "Legacy Master Boot Record", Table 5-2). kiln uses the conventional
 * 255 heads × 63 sectors geometry that fdisk/sfdisk assume for images; addresses beyond cylinder
 * 1023 are stored as the maximum 1023/254/63 (bytes FE FF FF), as every partitioning tool does.
 */
export const HEADS = 255;
export const SECTORS_PER_TRACK = 63;

/** Encodes an LBA as the 3 CHS bytes [head, sector | cylinder bits 8-9 << 6, cylinder bits 0-7].
 * @example lbaToChs(2048) // [32, 33, 0]: head 32, sector 33, cylinder 0
 */
export function lbaToChs(lba: number): [number, number, number] {
  const cylinder = Math.floor(lba / (HEADS * SECTORS_PER_TRACK));
  if (cylinder > 1023) return [0xfe, 0xff, 0xff];
  const head = Math.floor(lba / SECTORS_PER_TRACK) % HEADS;
  const sector = (lba % SECTORS_PER_TRACK) + 1;
  return [head, (sector & 0x3f) | ((cylinder >> 2) & 0xc0), cylinder & 0xff];
}

/** Decodes 3 CHS bytes.
 * @example decodeChs(sector, 446 + 1) // starting CHS of partition 1
 */
export function decodeChs(bytes: Uint8Array, offset: number): { cylinder: number; head: number; sector: number } {
  const head = bytes[offset]!;
  const s = bytes[offset + 1]!;
  const c = bytes[offset + 2]!;
  return { cylinder: c | ((s & 0xc0) << 2), head, sector: s & 0x3f };
}
