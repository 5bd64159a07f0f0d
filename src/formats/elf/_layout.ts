/**
 * The section-table rebuilder behind every ELF writer operation. Spec: gABI 4.1 chapter 4
 * (ELF header e_shoff/e_shnum/e_shstrndx with extended numbering through section 0, section header
 * table, string tables, symbol table st_shndx and SHT_SYMTAB_SHNDX, SHT_GROUP members, sh_link /
 * sh_info interpretation table "sh_link and sh_info Interpretation").
 *
 * Model: the bytes that a loader uses — the ELF header, the program header table and every
 * segment's file range — form a prefix that is copied unchanged. Sections inside that prefix keep
 * their offsets. Every other section (non-allocated ones: symbols, strings, debug info, comments,
 * added blobs) is laid out again after the prefix in its original file order, each at its own
 * alignment, new sections last; then the section header table. Layout first (every offset is known
 * before a byte is written), then emit.
 */
import { FormatError } from '../../errors.js';
import { viewOf, writeU16, writeU32, writeU64 } from '../io/bytes.js';
import {
  PN_XNUM,
  PT_NULL,
  SHF_INFO_LINK,
  SHN_LORESERVE,
  SHN_XINDEX,
  SHT_DYNSYM,
  SHT_GROUP,
  SHT_NOBITS,
  SHT_NULL,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
} from './_constants.js';
import { ELF_FORMAT, readElf, type ElfFile, type ElfSection } from './read.js';

/** What any writer accepts: bytes, or a file already parsed by readElf. */
export type ElfInput = Uint8Array | ElfFile;

export function parseInput(elf: ElfInput): ElfFile {
  if (elf instanceof Uint8Array) return readElf(elf);
  if (elf && typeof elf === 'object' && elf.bytes instanceof Uint8Array && elf.header) return elf;
  throw new TypeError('"elf" expected a Uint8Array or the result of readElf');
}

/** One section of the output, in output order. */
export interface PlanSection {
  /** The input section it comes from (undefined for an added section). */
  from?: ElfSection;
  name: string;
  type: number;
  flags: number;
  addr: bigint;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** Size in the header (for NOBITS: the memory size). */
  size: number;
  /** Contents (ignored for NOBITS / NULL). */
  data: Uint8Array;
  /** True when `data` is still the input's bytes, so a section inside the prefix can stay put. */
  unchanged: boolean;
  /** Output file offset (set by layout). */
  offset?: number;
}

export interface RebuildOptions {
  /** Bytes copied to the start of the output; default: header + program headers + all segment file ranges. */
  prefix?: Uint8Array;
  /** Lay out every section after the prefix (the debug-file case). */
  relayoutAll?: boolean;
  /** Zero, in the copied prefix, the old bytes of sections that were removed and lie outside every segment. */
  zeroRemoved?: boolean;
}

export function fail(code: string, message: string, hint?: string, offset?: number): never {
  throw new FormatError(ELF_FORMAT, code, message, {
    ...(hint ? { hint } : {}),
    ...(offset !== undefined ? { offset } : {}),
  });
}

/** The null section (index 0) of a plan. */
function nullSection(): PlanSection {
  return {
    name: '',
    type: SHT_NULL,
    flags: 0,
    addr: 0n,
    link: 0,
    info: 0,
    addralign: 0,
    entsize: 0,
    size: 0,
    data: new Uint8Array(0),
    unchanged: true,
  };
}

/** A plan entry that keeps an input section as it is. */
export function keepSection(s: ElfSection): PlanSection {
  // Section 0 is always the null section (its extended-numbering fields are rewritten on emit).
  if (s.index === 0) return { from: s, ...nullSection() };
  return {
    from: s,
    name: s.name,
    type: s.type,
    flags: s.flags,
    addr: s.addr,
    link: s.link,
    info: s.info,
    addralign: s.addralign,
    entsize: s.entsize,
    size: s.size,
    data: s.data,
    unchanged: true,
  };
}

/** The input's sections as an unchanged plan (index 0 first; a file without sections gets a null section). */
export function basePlan(file: ElfFile): PlanSection[] {
  if (file.sections.length === 0) return [nullSection()];
  return file.sections.map(keepSection);
}

/** End of the loader-visible prefix: ELF header, program header table and segment file ranges. */
export function prefixEnd(elf: ElfFile): number {
  const h = elf.header;
  let end = elf.is64 ? 64 : 52;
  if (h.phnum > 0) end = Math.max(end, h.phoff + h.phnum * h.phentsize);
  for (const p of elf.segments) if (p.type !== PT_NULL && p.filesz > 0) end = Math.max(end, p.offset + p.filesz);
  return Math.min(end, elf.bytes.length);
}

/** True when the section's file bytes lie inside some segment (they are loaded or otherwise used at run time). */
export function inSegment(elf: ElfFile, s: { offset: number; size: number; type: number }): boolean {
  if (s.type === SHT_NOBITS || s.size === 0) return false;
  return elf.segments.some(
    (p) => p.type !== PT_NULL && s.offset >= p.offset && s.offset + s.size <= p.offset + p.filesz,
  );
}

function alignUp(value: number, align: number): number {
  const a = align > 1 && align <= 1 << 24 ? align : 1;
  return Math.ceil(value / a) * a;
}

/** Builds a string table: "\0" then each distinct name. Returns bytes and name -> offset. */
function buildStrtab(names: string[]): { bytes: Uint8Array; offsets: Map<string, number> } {
  const enc = new TextEncoder();
  const offsets = new Map<string, number>([['', 0]]);
  const parts: Uint8Array[] = [new Uint8Array(1)];
  let size = 1;
  for (const name of names) {
    if (offsets.has(name)) continue;
    const b = enc.encode(name);
    offsets.set(name, size);
    parts.push(b, new Uint8Array(1));
    size += b.length + 1;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, offsets };
}

/** Rewrites section indices inside symbol tables, SHT_SYMTAB_SHNDX and groups after a renumbering. */
function remapContents(elf: ElfFile, plan: PlanSection[], remap: (old: number) => number | undefined): void {
  const le = elf.littleEndian;
  const symSize = elf.is64 ? 24 : 16;
  const shndxAt = elf.is64 ? 6 : 14;
  for (const s of plan) {
    if (s.type === SHT_SYMTAB || s.type === SHT_DYNSYM) {
      if (s.entsize < symSize) continue;
      const count = Math.floor(s.data.length / s.entsize);
      let copy: Uint8Array | undefined;
      for (let i = 0; i < count; i++) {
        const at = i * s.entsize + shndxAt;
        const old = viewOf(s.data).getUint16(at, le);
        if (old === 0 || old >= SHN_LORESERVE) continue;
        const now = remap(old);
        if (now === old) continue;
        if (now === undefined)
          fail(
            'ELF_SECTION_REFERENCED',
            `symbol ${i} of ${s.name} refers to a removed section (${old})`,
            'remove the symbols first (strip), or keep the section',
          );
        if (now >= SHN_LORESERVE)
          fail(
            'ELF_TOO_MANY_SECTIONS',
            'renumbered section index needs SHN_XINDEX, which kiln does not write into symbol tables',
          );
        copy ??= s.data.slice();
        writeU16(copy, at, now, le);
      }
      if (copy) {
        s.data = copy;
        s.unchanged = false;
      }
    } else if (s.type === SHT_SYMTAB_SHNDX || s.type === SHT_GROUP) {
      const first = s.type === SHT_GROUP ? 1 : 0;
      const count = Math.floor(s.data.length / 4);
      let copy: Uint8Array | undefined;
      for (let i = first; i < count; i++) {
        const old = viewOf(s.data).getUint32(i * 4, le);
        if (old === 0) continue;
        const now = remap(old);
        if (now === old) continue;
        if (now === undefined) {
          if (s.type === SHT_GROUP)
            fail(
              'ELF_SECTION_REFERENCED',
              `group ${s.name} has a removed section (${old}) as member`,
              'remove the whole group',
            );
          continue;
        }
        copy ??= s.data.slice();
        writeU32(copy, i * 4, now, le);
      }
      if (copy) {
        s.data = copy;
        s.unchanged = false;
      }
    }
  }
}

/**
 * Writes a new file from `elf` and the output section list `plan` (plan[0] must be the null
 * section). Indices in sh_link/sh_info/st_shndx/groups are renumbered to the plan's order;
 * `.shstrtab` is regenerated (or appended to, when a symbol table shares it).
 */
export function rebuild(elf: ElfFile, plan: PlanSection[], options: RebuildOptions = {}): Uint8Array {
  if (plan.length === 0 || plan[0]!.type !== SHT_NULL) throw new RangeError('"plan" must start with the null section');
  renumber(elf, plan);
  const { shstrIndex, nameOffsets } = nameSections(elf, plan);
  const prefix = options.prefix ?? elf.bytes.subarray(0, prefixEnd(elf));
  const base = prefix.length;
  const shoff = placeSections(elf, plan, base, options);
  const shentsize = elf.is64 ? 64 : 40;
  const total = shoff + plan.length * shentsize;
  if (total > 0x7fffffff) fail('ELF_TOO_LARGE', `the output would be ${total} bytes`);

  // Emit.
  const out = new Uint8Array(total);
  out.set(prefix, 0);
  if (options.zeroRemoved) zeroRemoved(elf, plan, out, base);
  for (const s of plan) {
    if (s.type === SHT_NOBITS || s.type === SHT_NULL || s.data.length === 0) continue;
    const alreadyInPrefix =
      s.unchanged &&
      s.from !== undefined &&
      s.offset === s.from.offset &&
      s.offset + s.data.length <= base &&
      !options.prefix;
    if (!alreadyInPrefix) out.set(s.data, s.offset!);
  }
  writeSectionHeaders(elf, plan, out, shoff, nameOffsets, shstrIndex);
  return out;
}

/** Renumbering: section indices in contents, sh_link and sh_info follow the plan's order. */
function renumber(elf: ElfFile, plan: PlanSection[]): void {
  const newIndexOf = new Map<number, number>();
  plan.forEach((s, i) => {
    if (s.from) newIndexOf.set(s.from.index, i);
  });
  const identity = plan.every((s, i) => !s.from || s.from.index === i);
  const remap = (old: number): number | undefined => (identity && old < plan.length ? old : newIndexOf.get(old));
  remapContents(elf, plan, remap);
  for (const s of plan) {
    if (!s.from) continue;
    if (s.link !== 0 && s.type !== SHT_NULL) s.link = remap(s.link) ?? 0;
    if (s.info !== 0 && (s.flags & SHF_INFO_LINK || s.type === SHT_REL || s.type === SHT_RELA)) {
      const now = remap(s.info);
      if (now === undefined)
        fail('ELF_SECTION_REFERENCED', `${s.name} applies to a removed section (${s.info})`, `remove ${s.name} too`);
      s.info = now;
    }
  }
}

/** Section names: the index of `.shstrtab` in the plan (appended when missing) and each section's name offset. */
function nameSections(elf: ElfFile, plan: PlanSection[]): { shstrIndex: number; nameOffsets: number[] } {
  const oldShstrndx = elf.header.shstrndx;
  let shstrIndex = plan.findIndex((s) => s.from !== undefined && s.from.index === oldShstrndx && oldShstrndx !== 0);
  if (shstrIndex < 0) {
    plan.push({
      name: '.shstrtab',
      type: SHT_STRTAB,
      flags: 0,
      addr: 0n,
      link: 0,
      info: 0,
      addralign: 1,
      entsize: 0,
      size: 0,
      data: new Uint8Array(0),
      unchanged: false,
    });
    shstrIndex = plan.length - 1;
  }
  const shstr = plan[shstrIndex]!;
  const shared = plan.some((s) => (s.type === SHT_SYMTAB || s.type === SHT_DYNSYM) && s.link === shstrIndex);
  let nameOffsets: number[];
  if (shared) nameOffsets = appendNames(elf, plan, shstr);
  else {
    const table = buildStrtab(plan.map((s) => s.name));
    nameOffsets = plan.map((s) => table.offsets.get(s.name)!);
    shstr.data = table.bytes;
    shstr.unchanged = false;
  }
  shstr.size = shstr.data.length;
  return { shstrIndex, nameOffsets };
}

/** A symbol table uses the same string table: keep every existing string, append the new names. */
function appendNames(elf: ElfFile, plan: readonly PlanSection[], shstr: PlanSection): number[] {
  const nameOffsets: number[] = [];
  const enc = new TextEncoder();
  const extra: Uint8Array[] = [];
  let size = shstr.data.length;
  const added = new Map<string, number>();
  for (const s of plan) {
    if (s.from && s.from.name === s.name && elf.header.shstrndx !== 0) {
      nameOffsets.push(s.from.nameOffset);
      continue;
    }
    let off = added.get(s.name);
    if (off === undefined) {
      off = size;
      added.set(s.name, off);
      const b = enc.encode(`${s.name}\0`);
      extra.push(b);
      size += b.length;
    }
    nameOffsets.push(off);
  }
  const bytes = new Uint8Array(size);
  bytes.set(shstr.data, 0);
  let at = shstr.data.length;
  for (const b of extra) {
    bytes.set(b, at);
    at += b.length;
  }
  if (extra.length > 0) {
    shstr.data = bytes;
    shstr.unchanged = false;
  }
  return nameOffsets;
}

/** Layout: every section's size and offset (kept in place where it can be, the rest after `base`); returns e_shoff. */
function placeSections(elf: ElfFile, plan: PlanSection[], base: number, options: RebuildOptions): number {
  const movable: PlanSection[] = [];
  for (const s of plan) {
    s.size = s.type === SHT_NOBITS || s.type === SHT_NULL ? s.size : s.data.length;
    const kept = s.type === SHT_NULL ? 0 : keptOffset(elf, s, base, options);
    if (kept === undefined) movable.push(s);
    else s.offset = kept;
  }
  const order = (s: PlanSection) => (s.from ? s.from.offset : Number.MAX_SAFE_INTEGER);
  const sorted = movable.map((s, i) => ({ s, i })).sort((a, b) => order(a.s) - order(b.s) || a.i - b.i);
  let cursor = base;
  for (const { s } of sorted) {
    cursor = alignUp(cursor, s.addralign);
    s.offset = cursor;
    if (s.type !== SHT_NOBITS) cursor += s.data.length;
  }
  return alignUp(cursor, elf.is64 ? 8 : 4);
}

/** The offset a section keeps (unchanged in the prefix, loaded, or a linked file's .bss), or undefined: it moves. */
function keptOffset(elf: ElfFile, s: PlanSection, base: number, options: RebuildOptions): number | undefined {
  const f = s.from;
  if (options.relayoutAll || !f) return undefined;
  if (s.unchanged && f.type === s.type && f.offset + (s.type === SHT_NOBITS ? 0 : f.size) <= base) return f.offset;
  if (f.type !== SHT_NOBITS && s.type !== SHT_NOBITS && inSegment(elf, f)) {
    // A loaded section keeps its place; only same-size contents may change.
    if (s.data.length !== f.size)
      fail('ELF_SECTION_IN_SEGMENT', `${s.name} is inside a segment; its size cannot change`);
    return f.offset;
  }
  // .bss and friends of a linked file: the offset the linker chose.
  if (s.type === SHT_NOBITS && f.type === SHT_NOBITS && f.flags & 2 && elf.segments.length > 0) return f.offset;
  return undefined;
}

/** Zeroes, in the copied prefix, the old bytes of removed sections that lie outside every segment. */
function zeroRemoved(elf: ElfFile, plan: readonly PlanSection[], out: Uint8Array, base: number): void {
  const kept = new Set(plan.map((s) => s.from?.index));
  for (const s of elf.sections) {
    if (kept.has(s.index) || s.type === SHT_NOBITS || s.type === SHT_NULL || inSegment(elf, s)) continue;
    const end = Math.min(s.offset + s.size, base);
    if (s.offset < end) out.fill(0, s.offset, end);
  }
}

/** The section header table at `shoff` (section 0 carrying the extended counts) and the ELF header's fields for it. */
function writeSectionHeaders(
  elf: ElfFile,
  plan: readonly PlanSection[],
  out: Uint8Array,
  shoff: number,
  nameOffsets: readonly number[],
  shstrndx: number,
): void {
  const { is64, littleEndian: le } = elf;
  const shentsize = is64 ? 64 : 40;
  const shnum = plan.length;
  const phnum = elf.header.phnum;
  plan.forEach((s, i) => {
    const at = shoff + i * shentsize;
    let size = s.size;
    let link = s.link;
    let info = s.info;
    if (i === 0) {
      size = shnum >= SHN_LORESERVE ? shnum : 0;
      link = shstrndx >= SHN_LORESERVE ? shstrndx : 0;
      info = phnum >= PN_XNUM ? phnum : 0;
    }
    writeShdr(out, at, is64, le, {
      name: nameOffsets[i]!,
      type: s.type,
      flags: s.flags,
      addr: s.addr,
      offset: i === 0 ? 0 : s.offset!,
      size,
      link,
      info,
      addralign: s.addralign,
      entsize: s.entsize,
    });
  });
  patchHeaderShdr(out, is64, le, shoff, shentsize, shnum, shstrndx);
}

export function writeShdr(
  out: Uint8Array,
  at: number,
  is64: boolean,
  le: boolean,
  h: {
    name: number;
    type: number;
    flags: number;
    addr: bigint;
    offset: number;
    size: number;
    link: number;
    info: number;
    addralign: number;
    entsize: number;
  },
): void {
  writeU32(out, at, h.name, le);
  writeU32(out, at + 4, h.type, le);
  if (is64) {
    writeU64(out, at + 8, BigInt(h.flags), le);
    writeU64(out, at + 16, h.addr, le);
    writeU64(out, at + 24, BigInt(h.offset), le);
    writeU64(out, at + 32, BigInt(h.size), le);
    writeU32(out, at + 40, h.link, le);
    writeU32(out, at + 44, h.info, le);
    writeU64(out, at + 48, BigInt(h.addralign), le);
    writeU64(out, at + 56, BigInt(h.entsize), le);
  } else {
    writeU32(out, at + 8, h.flags, le);
    writeU32(out, at + 12, Number(h.addr & 0xffffffffn), le);
    writeU32(out, at + 16, h.offset, le);
    writeU32(out, at + 20, h.size, le);
    writeU32(out, at + 24, h.link, le);
    writeU32(out, at + 28, h.info, le);
    writeU32(out, at + 32, h.addralign, le);
    writeU32(out, at + 36, h.entsize, le);
  }
}

function patchHeaderShdr(
  out: Uint8Array,
  is64: boolean,
  le: boolean,
  shoff: number,
  shentsize: number,
  shnum: number,
  shstrndx: number,
): void {
  if (is64) writeU64(out, 40, BigInt(shoff), le);
  else writeU32(out, 32, shoff, le);
  const tail = is64 ? 58 : 46;
  writeU16(out, tail, shentsize, le);
  writeU16(out, tail + 2, shnum >= SHN_LORESERVE ? 0 : shnum, le);
  writeU16(out, tail + 4, shstrndx >= SHN_LORESERVE ? SHN_XINDEX : shstrndx, le);
}
