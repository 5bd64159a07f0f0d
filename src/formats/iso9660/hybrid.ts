/**
 * Hybrid ISO system area: a Master Boot Record (UEFI 2.10 §5.2.1 legacy MBR, §5.2.3 protective MBR)
 * and a GUID Partition Table (UEFI 2.10 §5.3: header at LBA 1, 128 entries of 128 bytes at LBA 2,
 * backup entries and header at the end of the disk, CRC32 over header and entries), written into
 * the first 32 KiB of the ISO (ECMA-119 6.2.1 leaves sectors 0-15 to the system) and its last
 * sectors, so the same file boots from a USB stick: the BIOS runs the MBR boot code (GRUB's
 * boot_hybrid.img or a syslinux isohdpfx-style MBR, patched as `xorriso --grub2-mbr` /
 * `isohybrid` do) and UEFI firmware finds the ESP through the GPT.
 */
import { KilnError } from '../../errors.js';
import { crc32 } from '../io/crc32.js';
import { deriveGuid, guidToBytes, type Guid } from '../io/guid.js';
import { writeU32, writeU64, encodeUtf8 } from '../io/bytes.js';

/** GPT partition type of an EFI System Partition (UEFI 2.10 §5.3.3). */
export const GPT_ESP_TYPE: Guid = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';

/** How the MBR boot code learns where to load from. */
export type MbrPatch = 'grub2' | 'isohdpfx' | 'none';

/** Hybrid (USB) options of an ISO. */
export interface HybridSpec {
  /** MBR boot code: at most 440 bytes are used (a 512-byte boot_hybrid.img or isohdpfx.bin is fine). */
  mbrCode?: Uint8Array;
  /**
   * `grub2`: u64 at 0x1B0 = BIOS boot image LBA × 4 + 4 (xorriso `--grub2-mbr`);
   * `isohdpfx`: u32 at 0x1B0 = boot image LBA × 4 (isohybrid); `none`. Default: `grub2` when
   * `mbrCode` is given and the BIOS entry has `grub2BootInfo`, else `none`.
   */
  mbrPatch?: MbrPatch;
  /** Write a GPT (protective MBR + GPT with the ESP). Default true. Without it, an MBR with an 0xEF entry. */
  gpt?: boolean;
  /** Seed for the disk GUID, partition GUIDs and MBR signature (default: the volume id). */
  seed?: string;
}

/** Backup GPT at the end of a hybrid image: 32 sectors of entries + the header. */
export const GPT_TAIL_BYTES = 33 * 512;

interface MbrEntry {
  active: boolean;
  type: number;
  start: number;
  count: number;
}

function chs(lba: number): [number, number, number] {
  const heads = 255;
  const spt = 63;
  const c = Math.floor(lba / (heads * spt));
  if (c > 1023) return [0xfe, 0xff, 0xff];
  const h = Math.floor(lba / spt) % heads;
  const s = (lba % spt) + 1;
  return [h, ((c >> 2) & 0xc0) | s, c & 0xff];
}

function writeMbrEntry(buf: Uint8Array, index: number, e: MbrEntry): void {
  const at = 446 + index * 16;
  buf[at] = e.active ? 0x80 : 0;
  buf.set(chs(e.start), at + 1);
  buf[at + 4] = e.type;
  buf.set(chs(e.start + e.count - 1), at + 5);
  writeU32(buf, at + 8, e.start, true);
  writeU32(buf, at + 12, e.count, true);
}

/** Inputs for the hybrid areas, all in 512-byte sectors unless said. */
export interface HybridLayout {
  /** Total image size in bytes (a multiple of 2048; includes the GPT tail when `gpt`). */
  totalBytes: number;
  /** The ESP image's extent, if there is one. */
  esp?: { start: number; count: number };
  /** LBA (2048-byte sectors) of the BIOS boot image, for the MBR patch. */
  biosBootLba?: number;
  spec: HybridSpec;
  seed: string;
}

/** The bytes to place at offset 0 (head, up to 32 KiB) and at the end of the image (tail). */
export interface HybridAreas {
  head: Uint8Array;
  tail?: { offset: number; bytes: Uint8Array };
}

function partitionName(name: string): Uint8Array {
  const out = new Uint8Array(72);
  for (let i = 0; i < Math.min(36, name.length); i++) {
    out[2 * i] = name.charCodeAt(i) & 0xff;
    out[2 * i + 1] = name.charCodeAt(i) >> 8;
  }
  return out;
}

/**
 * Builds the MBR (+ GPT) head and the backup GPT tail for a hybrid ISO.
 * @example buildHybridAreas({ totalBytes: iso.size, esp: { start: 400, count: 5760 }, biosBootLba: 30, spec: { mbrCode }, seed: 'KILN' })
 */
export function buildHybridAreas(layout: HybridLayout): HybridAreas {
  const { spec, totalBytes } = layout;
  if (totalBytes % 512 !== 0) throw new RangeError(`"totalBytes" expected a multiple of 512, got ${totalBytes}`);
  const sectors = totalBytes / 512;
  const useGpt = spec.gpt ?? true;
  const head = new Uint8Array(useGpt ? 34 * 512 : 512);
  const code = spec.mbrCode;
  if (code) {
    if (code.length > 512)
      throw new KilnError(
        'ISO_MBR_CODE_TOO_LARGE',
        `MBR boot code is ${code.length} bytes; at most 512 (of which 440 are used)`,
      );
    head.set(code.subarray(0, Math.min(440, code.length)), 0);
  }
  const patch = spec.mbrPatch ?? 'none';
  if (patch !== 'none') {
    if (layout.biosBootLba === undefined) {
      throw new KilnError(
        'ISO_HYBRID_NO_BIOS_IMAGE',
        `MBR patch "${patch}" needs a BIOS no-emulation boot entry to point at`,
        {
          hint: 'add a BIOS boot entry, or set hybrid.mbrPatch to "none"',
        },
      );
    }
    if (patch === 'grub2') writeU64(head, 0x1b0, layout.biosBootLba * 4 + 4, true);
    else {
      writeU32(head, 0x1b0, layout.biosBootLba * 4, true);
      writeU32(head, 0x1b4, 0, true);
    }
  }
  const sig = guidToBytes(deriveGuid(layout.seed, 'mbr-signature'));
  head.set(sig.subarray(0, 4), 440);
  head[444] = 0;
  head[445] = 0;
  head.fill(0, 446, 510);
  head[510] = 0x55;
  head[511] = 0xaa;
  const cap = (n: number) => Math.min(n, 0xffffffff);
  if (!useGpt) {
    writeMbrEntry(head, 0, { active: true, type: 0x17, start: 0, count: cap(sectors) });
    if (layout.esp)
      writeMbrEntry(head, 1, { active: false, type: 0xef, start: layout.esp.start, count: layout.esp.count });
    return { head };
  }
  writeMbrEntry(head, 0, { active: false, type: 0xee, start: 1, count: cap(sectors - 1) });
  // Partition entries.
  const entries = new Uint8Array(128 * 128);
  if (layout.esp) {
    const e = entries.subarray(0, 128);
    e.set(guidToBytes(GPT_ESP_TYPE), 0);
    e.set(guidToBytes(deriveGuid(layout.seed, 'gpt/esp')), 16);
    writeU64(e, 32, layout.esp.start, true);
    writeU64(e, 40, layout.esp.start + layout.esp.count - 1, true);
    writeU64(e, 48, 0, true);
    e.set(partitionName('EFI System'), 56);
    if (layout.esp.start < 34 || layout.esp.start + layout.esp.count > sectors - 33) {
      throw new RangeError(`ESP [${layout.esp.start}, +${layout.esp.count}) lies outside the GPT's usable sectors`);
    }
  }
  const entriesCrc = crc32(entries);
  const diskGuid = guidToBytes(deriveGuid(layout.seed, 'gpt/disk'));
  const header = (myLba: number, altLba: number, entriesLba: number): Uint8Array => {
    const h = new Uint8Array(512);
    h.set(encodeUtf8('EFI PART'), 0);
    writeU32(h, 8, 0x00010000, true);
    writeU32(h, 12, 92, true);
    writeU64(h, 24, myLba, true);
    writeU64(h, 32, altLba, true);
    writeU64(h, 40, 34, true);
    writeU64(h, 48, sectors - 34, true);
    h.set(diskGuid, 56);
    writeU64(h, 72, entriesLba, true);
    writeU32(h, 80, 128, true);
    writeU32(h, 84, 128, true);
    writeU32(h, 88, entriesCrc, true);
    writeU32(h, 16, crc32(h.subarray(0, 92)), true);
    return h;
  };
  head.set(header(1, sectors - 1, 2), 512);
  head.set(entries, 1024);
  const tail = new Uint8Array(GPT_TAIL_BYTES);
  tail.set(entries, 0);
  tail.set(header(sectors - 1, 1, sectors - 33), 32 * 512);
  return { head, tail: { offset: totalBytes - GPT_TAIL_BYTES, bytes: tail } };
}
