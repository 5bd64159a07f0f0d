/**
 * Which format a file holds, from its magic bytes: the one detector behind `kiln image ls`,
 * `kiln image convert` (input format) and the QEMU drive format. Container formats (QCOW2, VDI,
 * VMDK) are checked first: their headers are definitive, whatever the data inside them looks like.
 */
import { readAscii, readU32 } from './io/bytes.js';
import { VDI_SIGNATURE } from './vdi/_header.js';

export type DetectedFormat = 'qcow2' | 'vdi' | 'vmdk' | 'iso' | 'elf' | 'cpio' | 'gpt' | 'fat' | 'mbr' | 'unknown';

/** How many leading bytes `detectFormat` looks at (an ISO's volume descriptor sits at 0x8001). */
export const DETECT_HEAD_BYTES = 0x9000;

/**
 * The format of a file whose first bytes are `head` (up to DETECT_HEAD_BYTES; fewer are fine).
 * @example detectFormat(readFileSync('disk.img').subarray(0, DETECT_HEAD_BYTES)) // 'gpt'
 */
export function detectFormat(head: Uint8Array): DetectedFormat {
  const at = (offset: number, text: string): boolean =>
    head.length >= offset + text.length && readAscii(head, offset, text.length) === text;
  if (at(0, 'QFI\xfb')) return 'qcow2';
  if (head.length >= 0x44 && readU32(head, 0x40, true) === VDI_SIGNATURE) return 'vdi';
  if (at(0, 'KDMV') || at(0, '# Disk DescriptorFile')) return 'vmdk';
  if (at(0x8001, 'CD001')) return 'iso'; // a hybrid ISO also carries an MBR/GPT: the ISO is the content
  if (at(0, '\x7fELF')) return 'elf';
  if (at(0, '070701') || at(0, '070702') || at(0, '070707')) return 'cpio';
  if (at(512, 'EFI PART')) return 'gpt';
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) {
    // A FAT boot sector also ends in 55AA: it has a BPB with a plausible bytes-per-sector.
    const bps = head[11]! | (head[12]! << 8);
    const fatName = at(54, 'FAT') || at(82, 'FAT32');
    return (bps === 512 || bps === 1024 || bps === 2048 || bps === 4096) && fatName ? 'fat' : 'mbr';
  }
  return 'unknown';
}

/** An ELF file (`\x7fELF`)? */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}
