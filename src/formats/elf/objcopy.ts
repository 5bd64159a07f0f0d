/**
 * Raw binary extraction, the equivalent of GNU `objcopy -O binary`. Spec: gABI 4.1 chapter 5
 * § "Program Header" (PT_LOAD p_offset/p_vaddr/p_paddr/p_filesz) and chapter 4 § "Sections"
 * (SHF_ALLOC, SHT_NOBITS); the layout rule is BFD's binary back end (binutils bfd/binary.c): every
 * allocated section with file contents is placed at its load memory address (LMA = the section's
 * address translated through the PT_LOAD holding it: p_paddr + (sh_addr - p_vaddr)), the output
 * starts at the lowest LMA and gaps are zero-filled. Without section headers the PT_LOAD segments
 * with p_filesz > 0 are laid out by p_paddr the same way.
 */
import { PT_LOAD, SHF_ALLOC, SHT_NOBITS, SHT_NULL } from './_constants.js';
import { fail, parseInput, type ElfInput } from './_layout.js';
import type { ElfFile, ElfSegment } from './read.js';

/** Options of `objcopyBinary` (`objcopy -O binary`). */
export interface ObjcopyBinaryOptions {
  /** Refuse outputs larger than this (default 1 GiB): sections far apart make huge zero-filled files. */
  maxSize?: number;
  /** Only these sections (`objcopy -j .text -j .data`); each must exist. Default: every allocated section. */
  sections?: string[];
}

/** A flat binary made from an ELF's loadable sections, with its load address and entry. */
export interface RawBinary {
  /** The image: the loadable contents from `loadAddress` on, gaps zero-filled. */
  bytes: Uint8Array;
  /** Physical (load) address of bytes[0]. */
  loadAddress: bigint;
  /** e_entry (a virtual address). */
  entry: bigint;
  /** Offset of the entry point inside `bytes` (through the PT_LOAD holding it), when it lies inside. */
  entryOffset: number | undefined;
}

interface Piece {
  lma: bigint;
  data: Uint8Array;
}

function lmaOf(elf: ElfFile, vaddr: bigint, offset: number, size: number): bigint {
  // BFD assigns a section the LMA of the PT_LOAD whose file range holds it.
  for (const p of elf.segments) {
    if (p.type !== PT_LOAD || p.filesz === 0) continue;
    if (offset >= p.offset && offset + size <= p.offset + p.filesz) return p.paddr + (vaddr - p.vaddr);
  }
  return vaddr;
}

function loadSegmentOf(elf: ElfFile, vaddr: bigint): ElfSegment | undefined {
  return elf.segments.find((p) => p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.memsz);
}

/**
 * Extracts the raw loadable image of a linked ELF file (`objcopy -O binary` equivalent).
 *
 * @example
 * const { bytes, loadAddress } = objcopyBinary(readFileSync('kernel.elf'));
 * // write bytes to kernel.bin; the boot loader copies them to loadAddress (e.g. 0x100000)
 */
export function objcopyBinary(elf: ElfInput, options: ObjcopyBinaryOptions = {}): RawBinary {
  const file = parseInput(elf);
  const maxSize = options.maxSize ?? 1 << 30;
  if (file.header.type === 1)
    fail('ELF_NOT_LINKED', 'a relocatable object (.o) has no load addresses', 'link it first, then extract the binary');
  const pieces: Piece[] = [];
  const only = options.sections ? new Set(options.sections) : undefined;
  if (only) {
    if (file.sections.length <= 1)
      fail('ELF_NO_SECTIONS', 'sections were selected, but the file has no section headers');
    const missing = [...only].filter((name) => !file.sections.some((s) => s.name === name));
    if (missing.length)
      fail(
        'ELF_NO_SUCH_SECTION',
        `no section named ${missing.join(', ')} (the file has ${file.sections
          .filter((s) => s.flags & SHF_ALLOC)
          .map((s) => s.name)
          .join(', ')})`,
        'check the section names (readelf -S)',
      );
  }
  if (file.sections.length > 1) {
    for (const s of file.sections) {
      if (only && !only.has(s.name)) continue;
      if (s.type === SHT_NULL || s.type === SHT_NOBITS || !(s.flags & SHF_ALLOC) || s.size === 0) continue;
      pieces.push({ lma: lmaOf(file, s.addr, s.offset, s.size), data: s.data });
    }
  } else {
    for (const p of file.segments) {
      if (p.type !== PT_LOAD || p.filesz === 0) continue;
      pieces.push({ lma: p.paddr, data: file.bytes.subarray(p.offset, p.offset + p.filesz) });
    }
  }
  if (pieces.length === 0)
    fail('ELF_NOTHING_LOADABLE', 'the file has no loadable contents (no allocated section or PT_LOAD with file bytes)');
  let low = pieces[0]!.lma;
  let high = 0n;
  for (const p of pieces) {
    if (p.lma < low) low = p.lma;
    const end = p.lma + BigInt(p.data.length);
    if (end > high) high = end;
  }
  const size = high - low;
  if (size > BigInt(maxSize)) {
    fail(
      'ELF_BINARY_TOO_LARGE',
      `the raw image would span ${size} bytes (0x${low.toString(16)}..0x${high.toString(16)})`,
      'loadable sections are far apart; check the linker script (or raise maxSize)',
    );
  }
  const bytes = new Uint8Array(Number(size));
  // Later sections win where they overlap, as BFD writes them in section order.
  for (const p of pieces) bytes.set(p.data, Number(p.lma - low));
  let entryOffset: number | undefined;
  const seg = loadSegmentOf(file, file.entry);
  if (seg) {
    const lma = seg.paddr + (file.entry - seg.vaddr);
    if (lma >= low && lma < high) entryOffset = Number(lma - low);
  }
  return { bytes, loadAddress: low, entry: file.entry, entryOffset };
}
