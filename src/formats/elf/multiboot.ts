/**
 * Multiboot header search. Spec: "Multiboot Specification version 0.6.96" §3.1 "OS image format"
 * (magic 0x1BADB002, 32-bit aligned, wholly inside the first 8192 bytes; flags, checksum with
 * magic + flags + checksum = 0 mod 2^32; the a.out kludge address fields when flags bit 16 is set;
 * graphics fields when bit 2 is set) and "Multiboot2 Specification version 2.0" §3.1 (magic
 * 0xE85250D6, 64-bit aligned, inside the first 32768 bytes; architecture, header_length,
 * checksum; tags 8-byte aligned and ended by a type-0 tag of size 8). Multiboot is defined for
 * little-endian x86 (and MIPS for v2, still little endian as GRUB reads it).
 * These headers are not ELF notes: they are found by scanning the file's first bytes.
 */
import { viewOf } from '../io/bytes.js';

/** A multiboot (v1) header. */
export interface Multiboot1Header {
  version: 1;
  /** File offset of the magic. */
  offset: number;
  flags: number;
  checksum: number;
  /** Address fields (flags bit 16, the "a.out kludge"). */
  aout?: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number };
  /** Preferred video mode (flags bit 2). */
  video?: { modeType: number; width: number; height: number; depth: number };
}

/** One multiboot2 header tag. */
export interface Multiboot2Tag {
  type: number;
  /** `information request`, `address`, `entry address`, `console flags`, `framebuffer`, ... */
  name: string;
  flags: number;
  size: number;
  /** File offset of the tag. */
  offset: number;
}

/** A multiboot2 header. */
export interface Multiboot2Header {
  version: 2;
  offset: number;
  /** 0 = i386 protected mode, 4 = MIPS32. */
  architecture: number;
  headerLength: number;
  checksum: number;
  tags: Multiboot2Tag[];
  /** The entry address tag's value (type 3), when present. */
  entryAddr?: number;
}

/** A multiboot v1 or v2 header found in a kernel image (see `findMultiboot`). */
export type MultibootHeader = Multiboot1Header | Multiboot2Header;

const MB1_MAGIC = 0x1badb002;
const MB2_MAGIC = 0xe85250d6;
const MB2_TAG_NAMES: Record<number, string> = {
  0: 'end',
  1: 'information request',
  2: 'address',
  3: 'entry address',
  4: 'console flags',
  5: 'framebuffer',
  6: 'module align',
  7: 'EFI boot services',
  8: 'EFI i386 entry address',
  9: 'EFI amd64 entry address',
  10: 'relocatable',
};

/**
 * Finds the first valid multiboot v1 header (first 8 KiB, 4-aligned) and the first valid
 * multiboot2 header (first 32 KiB, 8-aligned) of a kernel file. A magic whose checksum does not
 * hold is skipped, as boot loaders do. Returns them in file order (zero, one or two headers).
 *
 * @example
 * const found = findMultiboot(bytes);
 * found.some((h) => h.version === 2); // GRUB's `multiboot2` command will accept this kernel
 */
export function findMultiboot(bytes: Uint8Array): MultibootHeader[] {
  const view = viewOf(bytes);
  const out: MultibootHeader[] = [];
  const end1 = Math.min(bytes.length, 8192);
  for (let at = 0; at + 12 <= end1; at += 4) {
    if (view.getUint32(at, true) !== MB1_MAGIC) continue;
    const flags = view.getUint32(at + 4, true);
    const checksum = view.getUint32(at + 8, true);
    if ((MB1_MAGIC + flags + checksum) >>> 0 !== 0) continue;
    const header: Multiboot1Header = { version: 1, offset: at, flags, checksum };
    if (flags & 0x10000 && at + 32 <= bytes.length) {
      header.aout = {
        headerAddr: view.getUint32(at + 12, true),
        loadAddr: view.getUint32(at + 16, true),
        loadEndAddr: view.getUint32(at + 20, true),
        bssEndAddr: view.getUint32(at + 24, true),
        entryAddr: view.getUint32(at + 28, true),
      };
    }
    if (flags & 0x4 && at + 48 <= bytes.length) {
      header.video = {
        modeType: view.getUint32(at + 32, true),
        width: view.getUint32(at + 36, true),
        height: view.getUint32(at + 40, true),
        depth: view.getUint32(at + 44, true),
      };
    }
    out.push(header);
    break;
  }
  const end2 = Math.min(bytes.length, 32768);
  for (let at = 0; at + 16 <= end2; at += 8) {
    if (view.getUint32(at, true) !== MB2_MAGIC) continue;
    const architecture = view.getUint32(at + 4, true);
    const headerLength = view.getUint32(at + 8, true);
    const checksum = view.getUint32(at + 12, true);
    if ((MB2_MAGIC + architecture + headerLength + checksum) >>> 0 !== 0) continue;
    const header: Multiboot2Header = { version: 2, offset: at, architecture, headerLength, checksum, tags: [] };
    const limit = Math.min(bytes.length, at + headerLength);
    let tagAt = at + 16;
    while (tagAt + 8 <= limit) {
      const type = view.getUint16(tagAt, true);
      const tagFlags = view.getUint16(tagAt + 2, true);
      const size = view.getUint32(tagAt + 4, true);
      header.tags.push({ type, name: MB2_TAG_NAMES[type] ?? `tag-${type}`, flags: tagFlags, size, offset: tagAt });
      if (type === 3 && size >= 12 && tagAt + 12 <= bytes.length) header.entryAddr = view.getUint32(tagAt + 8, true);
      if (type === 0 || size < 8) break;
      tagAt += Math.ceil(size / 8) * 8;
    }
    out.push(header);
    break;
  }
  return out.sort((a, b) => a.offset - b.offset);
}
