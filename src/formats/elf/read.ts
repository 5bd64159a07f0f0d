/**
 * ELF reader. Spec: System V ABI, Generic ABI (gABI) 4.1 chapter 4 "Object Files" — ELF header
 * (§ "ELF Header", e_ident, extended numbering via section 0: e_shnum = 0, SHN_XINDEX, PN_XNUM),
 * section header table (§ "Sections"), string tables, symbol table (§ "Symbol Table",
 * SHT_SYMTAB_SHNDX) — and chapter 5 "Program Loading and Dynamic Linking" — program header
 * (§ "Program Header"), note sections/segments (§ "Note Section"), dynamic section
 * (§ "Dynamic Section"); "ELF-64 Object File Format" version 1.5 for the ELF64 layouts.
 * ELF32 and ELF64, little and big endian (EI_DATA decides, nothing is assumed).
 *
 * Everything read from the file is untrusted: every offset, size and count is checked against
 * the file size (and entry sizes against the structure they must hold) before it is used, and
 * failures are FormatErrors carrying the byte offset of the field at fault.
 */
import { FormatError } from '../../errors.js';
import { decodeUtf8, toHex, viewOf } from '../io/bytes.js';
import {
  DT_NEEDED,
  DT_NULL,
  DT_RPATH,
  DT_RUNPATH,
  DT_SONAME,
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  PN_XNUM,
  PT_DYNAMIC,
  PT_INTERP,
  PT_LOAD,
  PT_NOTE,
  PT_NULL,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_DYNAMIC,
  SHT_DYNSYM,
  SHT_NOBITS,
  SHT_NOTE,
  SHT_GNU_VERDEF,
  SHT_GNU_VERNEED,
  SHT_GNU_VERSYM,
  SHT_NULL,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  dynamicTagName,
  fileTypeName,
  machineName,
  sectionFlagLetters,
  sectionTypeName,
  segmentFlagLetters,
  segmentTypeName,
  symbolBindName,
  symbolTypeName,
  symbolVisibilityName,
} from './_constants.js';
import { parseNotes, type ElfNote } from './notes.js';

/** The FormatError `format` used by every ELF error. */
export const ELF_FORMAT = 'elf';

/** The ELF file header (e_ident + Elf32_Ehdr/Elf64_Ehdr), with extended numbering resolved. */
export interface ElfHeader {
  /** 32 or 64 (EI_CLASS). */
  class: 32 | 64;
  /** EI_DATA: true for ELFDATA2LSB. */
  littleEndian: boolean;
  /** EI_VERSION (1). */
  identVersion: number;
  /** EI_OSABI. */
  osabi: number;
  /** EI_ABIVERSION. */
  abiVersion: number;
  /** e_type (ET_REL 1, ET_EXEC 2, ET_DYN 3, ET_CORE 4). */
  type: number;
  /** e_machine (EM_X86_64 62, EM_AARCH64 183, EM_386 3, EM_RISCV 243, ...). */
  machine: number;
  /** e_version. */
  version: number;
  entry: bigint;
  phoff: number;
  shoff: number;
  flags: number;
  ehsize: number;
  phentsize: number;
  /** Number of program headers (PN_XNUM resolved through section 0's sh_info). */
  phnum: number;
  shentsize: number;
  /** Number of section headers (e_shnum = 0 resolved through section 0's sh_size). */
  shnum: number;
  /** Index of the section-name string table (SHN_XINDEX resolved through section 0's sh_link). */
  shstrndx: number;
  /** The raw e_phnum / e_shnum / e_shstrndx fields, as stored. */
  raw: { phnum: number; shnum: number; shstrndx: number };
}

/** One program header (Elf32_Phdr / Elf64_Phdr). */
export interface ElfSegment {
  index: number;
  /** p_type (PT_LOAD 1, PT_NOTE 4, PT_GNU_STACK, ...). */
  type: number;
  /** readelf's name: `LOAD`, `NOTE`, `GNU_STACK`, ... */
  typeName: string;
  /** p_flags (PF_X 1, PF_W 2, PF_R 4). */
  flags: number;
  /** `RWE` letters as readelf prints them. */
  flagsText: string;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: bigint;
  align: bigint;
  /** File offset of this program header entry. */
  headerOffset: number;
}

/** One section header (Elf32_Shdr / Elf64_Shdr) with its name and contents. */
export interface ElfSection {
  index: number;
  name: string;
  /** sh_name: offset of the name in the section-name string table. */
  nameOffset: number;
  type: number;
  /** readelf's name: `PROGBITS`, `NOBITS`, `SYMTAB`, ... */
  typeName: string;
  flags: number;
  /** readelf's flag letters: `WAX`, `MS`, ... */
  flagsText: string;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** File offset of this section header entry. */
  headerOffset: number;
  /** The contents as a view into the input (empty for SHT_NOBITS and SHT_NULL). Do not mutate. */
  data: Uint8Array;
}

/** One symbol of `.symtab` or `.dynsym`. */
export interface ElfSymbol {
  index: number;
  name: string;
  value: bigint;
  size: bigint;
  /** STB_LOCAL 0, STB_GLOBAL 1, STB_WEAK 2, ... */
  bind: number;
  bindName: string;
  /** STT_NOTYPE 0, STT_OBJECT 1, STT_FUNC 2, STT_SECTION 3, STT_FILE 4, ... */
  type: number;
  typeName: string;
  /** st_other & 3: STV_DEFAULT 0, INTERNAL 1, HIDDEN 2, PROTECTED 3. */
  visibility: number;
  visibilityName: string;
  other: number;
  /** Section index (SHN_XINDEX resolved through SHT_SYMTAB_SHNDX); SHN_UNDEF 0, SHN_ABS 0xfff1, SHN_COMMON 0xfff2. */
  shndx: number;
  /** Name of the section `shndx` refers to, when it is a real section. */
  sectionName: string | undefined;
  /** `.dynsym` only: the symbol version (GNU symbol versioning, `.gnu.version` + `.gnu.version_r`/`_d`), e.g. `GLIBC_2.34`. */
  version?: string;
  /** `.dynsym` only: true for a hidden (non-default) version, printed `name@VER` rather than `name@@VER`. */
  versionHidden?: boolean;
}

/** One entry of the dynamic section. */
export interface ElfDynamicEntry {
  tag: number;
  /** readelf's name without `DT_`: `NEEDED`, `FLAGS_1`, ... */
  tagName: string;
  value: bigint;
  /** For NEEDED, SONAME, RPATH, RUNPATH: the string from the linked string table. */
  text?: string;
}

/** A parsed ELF file: raw structures plus the facts a build tool needs. */
export interface ElfFile {
  /** The input bytes (not copied). */
  bytes: Uint8Array;
  header: ElfHeader;
  is64: boolean;
  littleEndian: boolean;
  machine: number;
  /** `x86_64`, `aarch64`, `i386`, `riscv64`, `ppc64`, `mips`, `mips64`, ... (class-aware, see machineName) */
  machineName: string;
  /** `REL`, `EXEC`, `DYN`, `CORE`. */
  typeName: string;
  segments: ElfSegment[];
  sections: ElfSection[];
  /** `.symtab` symbols (index 0, the null symbol, included, as readelf lists it). */
  symbols: ElfSymbol[];
  /** `.dynsym` symbols. */
  dynamicSymbols: ElfSymbol[];
  /** Notes from SHT_NOTE sections, or from PT_NOTE segments when the file has no section headers. */
  notes: ElfNote[];
  dynamic: ElfDynamicEntry[];
  /** e_entry. */
  entry: bigint;
  /** Lowest p_paddr of the PT_LOAD segments (where a loader or `objcopy -O binary` places the image). */
  loadAddress: bigint | undefined;
  /** Lowest p_vaddr of the PT_LOAD segments. */
  loadVirtualAddress: bigint | undefined;
  /** Index (into `segments`) of the PT_LOAD whose [vaddr, vaddr+memsz) holds the entry point. */
  entrySegment: number | undefined;
  /** The entry point translated to a physical address through that segment (p_paddr + entry - p_vaddr): where a loader jumps with paging off. */
  entryPhysical: bigint | undefined;
  /** Name of the allocated section holding the entry point. */
  entrySection: string | undefined;
  /** GNU build id (NT_GNU_BUILD_ID) as lowercase hex. */
  buildId: string | undefined;
  /** PVH entry (Xen note XEN_ELFNOTE_PHYS32_ENTRY, type 18), what `qemu-system-x86_64 -kernel` jumps to. */
  pvhEntry: bigint | undefined;
  /** PT_INTERP contents (the dynamic loader path). */
  interpreter: string | undefined;
}

/** Largest counts accepted before any allocation (far above any real file). */
const MAX_SEGMENTS = 1 << 16;
const MAX_SECTIONS = 1 << 20;

function fail(code: string, message: string, offset: number, hint?: string): never {
  throw new FormatError(ELF_FORMAT, code, message, { offset, ...(hint ? { hint } : {}) });
}

/** Field reader over the whole file: explicit endianness and class, bounds-checked. */
class Fields {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
    readonly is64: boolean,
  ) {
    this.view = viewOf(bytes);
  }
  need(at: number, length: number, what: string): void {
    if (at < 0 || length < 0 || at + length > this.bytes.length) {
      fail(
        'ELF_TRUNCATED',
        `${what}: needs ${length} bytes at offset ${at}, the file has ${this.bytes.length}`,
        Math.max(0, Math.min(at, this.bytes.length)),
        'the file is truncated or the field is corrupt',
      );
    }
  }
  u8(at: number): number {
    return this.bytes[at]!;
  }
  u16(at: number): number {
    return this.view.getUint16(at, this.le);
  }
  u32(at: number): number {
    return this.view.getUint32(at, this.le);
  }
  /** A u32 in ELF32 or a u64 in ELF64, as bigint. */
  word(at: number): bigint {
    return this.is64 ? this.view.getBigUint64(at, this.le) : BigInt(this.view.getUint32(at, this.le));
  }
  /** A u32/u64 that must fit a JS number (offsets, sizes): larger is a FormatError. */
  num(at: number, what: string): number {
    if (!this.is64) return this.view.getUint32(at, this.le);
    const v = this.view.getBigUint64(at, this.le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      fail('ELF_VALUE_TOO_LARGE', `${what} = 0x${v.toString(16)} is too large`, at);
    return Number(v);
  }
}

/**
 * Reads a NUL-terminated string at `offset` of a string table section (FormatError when out of range).
 * @example readStringAt(strtab.data, symbolNameOffset, strtab.offset, 'symbol 3')
 */
export function readStringAt(table: Uint8Array, offset: number, tableFileOffset: number, what: string): string {
  if (offset >= table.length) {
    if (offset === 0) return '';
    fail(
      'ELF_BAD_STRING_OFFSET',
      `${what}: string offset ${offset} is outside the ${table.length}-byte string table`,
      tableFileOffset,
      'the string table or the name field is corrupt',
    );
  }
  const end = table.indexOf(0, offset);
  if (end < 0)
    fail(
      'ELF_UNTERMINATED_STRING',
      `${what}: string at offset ${offset} has no terminating NUL`,
      tableFileOffset + offset,
    );
  if (end === offset) return '';
  return decodeUtf8(table.subarray(offset, end));
}

/**
 * Parses an ELF file (ELF32/ELF64, either endianness).
 *
 * @example
 * const elf = readElf(new Uint8Array(readFileSync('kernel.elf')));
 * elf.machineName;                              // 'x86_64'
 * elf.loadAddress;                              // 0x100000n
 * elf.sections.find((s) => s.name === '.text')?.size;
 * elf.buildId;                                  // 'a1b2...'
 */
export function readElf(bytes: Uint8Array): ElfFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected a Uint8Array');
  const { is64, le } = readIdent(bytes);
  const f = new Fields(bytes, le, is64);
  const header = readHeader(f);
  const { machine, entry } = header;
  const segments = readSegments(f, header);
  const sections = readSections(f, header);
  const { symbols, dynamicSymbols } = readSymbolTables(f, sections);
  const notes = collectNotes(f, sections, segments);
  const dynamic = readDynamic(f, sections, segments);
  const { loadAddress, loadVirtualAddress, entrySegment } = loadFacts(segments, entry);
  const entrySection = entrySectionOf(header.type === 1 ? [] : sections, entry);
  const buildNote = notes.find((n) => n.owner === 'GNU' && n.type === 3);
  const pvhNote = notes.find((n) => n.owner === 'Xen' && n.type === 18);
  const interpreter = interpreterOf(bytes, segments);
  return {
    bytes,
    header,
    is64,
    littleEndian: le,
    machine,
    machineName: machineName(machine, is64 ? 64 : 32),
    typeName: fileTypeName(header.type),
    segments,
    sections,
    symbols,
    dynamicSymbols,
    notes,
    dynamic,
    entry,
    loadAddress,
    loadVirtualAddress,
    entrySegment,
    entrySection,
    entryPhysical:
      entrySegment === undefined ? undefined : segments[entrySegment]!.paddr + (entry - segments[entrySegment]!.vaddr),
    buildId: buildNote ? toHex(buildNote.desc) : undefined,
    pvhEntry: pvhNote && typeof pvhNote.value === 'bigint' ? pvhNote.value : undefined,
    interpreter,
  };
}

/** e_ident: the magic, then the class and byte order every later field is read with. */
function readIdent(bytes: Uint8Array): { is64: boolean; le: boolean } {
  if (bytes.length < 16)
    fail('ELF_TRUNCATED', `the file is ${bytes.length} bytes, shorter than e_ident (16)`, 0, 'this is not an ELF file');
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    fail(
      'ELF_BAD_MAGIC',
      'no ELF magic (7f 45 4c 46) at offset 0',
      0,
      'this is not an ELF file (a raw binary? run `file` on it)',
    );
  }
  const elfClass = bytes[4]!;
  const data = bytes[5]!;
  if (elfClass !== ELFCLASS32 && elfClass !== ELFCLASS64)
    fail('ELF_BAD_CLASS', `EI_CLASS is ${elfClass}, expected 1 (ELF32) or 2 (ELF64)`, 4);
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB)
    fail('ELF_BAD_DATA', `EI_DATA is ${data}, expected 1 (little endian) or 2 (big endian)`, 5);
  return { is64: elfClass === ELFCLASS64, le: data === ELFDATA2LSB };
}

/** The counts that extended numbering may move into section 0. */
interface HeaderCounts {
  phnum: number;
  shnum: number;
  shstrndx: number;
}

/** The ELF header, with extended numbering resolved and both header tables checked against the file. */
function readHeader(f: Fields): ElfHeader {
  const { bytes, is64 } = f;
  f.need(0, is64 ? 64 : 52, 'ELF header');
  const w = is64 ? 8 : 4;
  const type = f.u16(16);
  const machine = f.u16(18);
  const version = f.u32(20);
  const entry = f.word(24);
  const phoff = f.num(24 + w, 'e_phoff');
  const shoff = f.num(24 + 2 * w, 'e_shoff');
  const tail = 24 + 3 * w;
  const flags = f.u32(tail);
  const ehsize = f.u16(tail + 4);
  const phentsize = f.u16(tail + 6);
  const raw: HeaderCounts = { phnum: f.u16(tail + 8), shnum: f.u16(tail + 12), shstrndx: f.u16(tail + 14) };
  const shentsize = f.u16(tail + 10);
  const { phnum, shnum, shstrndx } = resolveCounts(f, shoff, shentsize, raw, tail);
  const header: ElfHeader = {
    class: is64 ? 64 : 32,
    littleEndian: f.le,
    identVersion: bytes[6]!,
    osabi: bytes[7]!,
    abiVersion: bytes[8]!,
    type,
    machine,
    version,
    entry,
    phoff,
    shoff,
    flags,
    ehsize,
    phentsize,
    phnum,
    shentsize,
    shnum,
    shstrndx,
    raw,
  };
  checkTables(f, header, tail);
  return header;
}

/** Section 0 holds the real counts when they overflow the 16-bit header fields. */
function resolveCounts(f: Fields, shoff: number, shentsize: number, raw: HeaderCounts, tail: number): HeaderCounts {
  if (shoff === 0) return { phnum: raw.phnum, shnum: 0, shstrndx: raw.shstrndx === SHN_XINDEX ? 0 : raw.shstrndx };
  const w = f.is64 ? 8 : 4;
  const shdrMin = f.is64 ? 64 : 40;
  if (shentsize < shdrMin)
    fail('ELF_BAD_SHENTSIZE', `e_shentsize is ${shentsize}, a section header needs ${shdrMin} bytes`, tail + 10);
  f.need(shoff, shdrMin, 'section header 0');
  const shnum = raw.shnum === 0 ? f.num(shoff + 16 + 2 * w, 'section 0 sh_size (extended e_shnum)') : raw.shnum;
  const shstrndx = raw.shstrndx === SHN_XINDEX ? f.u32(shoff + 16 + 3 * w) : raw.shstrndx;
  const phnum = raw.phnum === PN_XNUM ? f.u32(shoff + 20 + 3 * w) : raw.phnum;
  return { phnum, shnum, shstrndx };
}

/** Counts under the limits, both header tables inside the file, e_shstrndx inside the section table. */
function checkTables(f: Fields, h: ElfHeader, tail: number): void {
  const { shnum, phnum, shstrndx } = h;
  if (shnum > MAX_SECTIONS)
    fail('ELF_TOO_MANY_SECTIONS', `${shnum} sections is above the limit of ${MAX_SECTIONS}`, tail + 12);
  if (phnum > MAX_SEGMENTS)
    fail('ELF_TOO_MANY_SEGMENTS', `${phnum} program headers is above the limit of ${MAX_SEGMENTS}`, tail + 8);
  if (shnum > 0) f.need(h.shoff, shnum * h.shentsize, `section header table (${shnum} x ${h.shentsize} bytes)`);
  if (phnum > 0) {
    const phdrMin = f.is64 ? 56 : 32;
    if (h.phentsize < phdrMin)
      fail('ELF_BAD_PHENTSIZE', `e_phentsize is ${h.phentsize}, a program header needs ${phdrMin} bytes`, tail + 6);
    f.need(h.phoff, phnum * h.phentsize, `program header table (${phnum} x ${h.phentsize} bytes)`);
  }
  if (shnum > 0 && shstrndx >= shnum) {
    fail(
      'ELF_BAD_SHSTRNDX',
      `e_shstrndx is ${shstrndx} but there are ${shnum} sections`,
      tail + 14,
      'the section header string table index is corrupt',
    );
  }
}

/** The fields of one program header (their order differs between Elf32_Phdr and Elf64_Phdr). */
type ProgramHeaderFields = Pick<
  ElfSegment,
  'type' | 'flags' | 'offset' | 'vaddr' | 'paddr' | 'filesz' | 'memsz' | 'align'
>;

function readProgramHeader(f: Fields, at: number): ProgramHeaderFields {
  if (f.is64) {
    return {
      type: f.u32(at),
      flags: f.u32(at + 4),
      offset: f.num(at + 8, 'p_offset'),
      vaddr: f.word(at + 16),
      paddr: f.word(at + 24),
      filesz: f.num(at + 32, 'p_filesz'),
      memsz: f.word(at + 40),
      align: f.word(at + 48),
    };
  }
  return {
    type: f.u32(at),
    offset: f.u32(at + 4),
    vaddr: f.word(at + 8),
    paddr: f.word(at + 12),
    filesz: f.u32(at + 16),
    memsz: f.word(at + 20),
    flags: f.u32(at + 24),
    align: f.word(at + 28),
  };
}

function readSegments(f: Fields, h: ElfHeader): ElfSegment[] {
  const segments: ElfSegment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const at = h.phoff + i * h.phentsize;
    const { type, flags, offset, vaddr, paddr, filesz, memsz, align } = readProgramHeader(f, at);
    // A segment with no file bytes (.bss only) may point past the end, as strip leaves it; readelf accepts it too.
    if (type !== PT_NULL && filesz > 0 && offset + filesz > f.bytes.length) {
      fail(
        'ELF_SEGMENT_OUT_OF_BOUNDS',
        `program header ${i} (${segmentTypeName(type)}) covers file bytes ${offset}..${offset + filesz}, past the end of the ${f.bytes.length}-byte file`,
        at,
        'the file is truncated or the program header is corrupt',
      );
    }
    segments.push({
      index: i,
      type,
      typeName: segmentTypeName(type),
      flags,
      flagsText: segmentFlagLetters(flags),
      offset,
      vaddr,
      paddr,
      filesz,
      memsz,
      align,
      headerOffset: at,
    });
  }
  return segments;
}

/** The section headers, with their names from the section-name string table. */
function readSections(f: Fields, h: ElfHeader): ElfSection[] {
  const sections: ElfSection[] = [];
  for (let i = 0; i < h.shnum; i++) sections.push(readSectionHeader(f, i, h.shoff + i * h.shentsize));
  if (h.shstrndx !== SHN_UNDEF && h.shnum > 0) {
    const strtab = sections[h.shstrndx]!;
    for (const s of sections)
      s.name = readStringAt(strtab.data, s.nameOffset, strtab.offset, `name of section ${s.index}`);
  }
  return sections;
}

function readSectionHeader(f: Fields, i: number, at: number): ElfSection {
  const { bytes } = f;
  const w = f.is64 ? 8 : 4;
  const nameOffset = f.u32(at);
  const type = f.u32(at + 4);
  const flags = f.num(at + 8, 'sh_flags');
  const addr = f.word(at + 8 + w);
  const offset = f.num(at + 8 + 2 * w, 'sh_offset');
  const size = f.num(at + 8 + 3 * w, 'sh_size');
  const link = f.u32(at + 8 + 4 * w);
  const info = f.u32(at + 12 + 4 * w);
  const addralign = f.num(at + 16 + 4 * w, 'sh_addralign');
  const entsize = f.num(at + 16 + 5 * w, 'sh_entsize');
  const hasData = type !== SHT_NOBITS && type !== SHT_NULL && i !== 0;
  if (hasData && offset + size > bytes.length) {
    fail(
      'ELF_SECTION_OUT_OF_BOUNDS',
      `section ${i} covers file bytes ${offset}..${offset + size}, past the end of the ${bytes.length}-byte file`,
      at,
      'the file is truncated or the section header is corrupt',
    );
  }
  return {
    index: i,
    name: '',
    nameOffset,
    type,
    typeName: sectionTypeName(type),
    flags,
    flagsText: sectionFlagLetters(flags),
    addr,
    offset,
    size,
    link,
    info,
    addralign,
    entsize,
    headerOffset: at,
    data: hasData ? bytes.subarray(offset, offset + size) : bytes.subarray(0, 0),
  };
}

/** The first `.symtab` and the first `.dynsym`, the latter with its GNU symbol versions. */
function readSymbolTables(f: Fields, sections: ElfSection[]): { symbols: ElfSymbol[]; dynamicSymbols: ElfSymbol[] } {
  const symbols: ElfSymbol[] = [];
  const dynamicSymbols: ElfSymbol[] = [];
  for (const s of sections) {
    if (s.type === SHT_SYMTAB && symbols.length === 0) symbols.push(...readSymbols(f, sections, s));
    else if (s.type === SHT_DYNSYM && dynamicSymbols.length === 0) dynamicSymbols.push(...readSymbols(f, sections, s));
  }
  if (dynamicSymbols.length > 0) readVersions(f, sections, dynamicSymbols);
  return { symbols, dynamicSymbols };
}

/** Notes: from the sections when the file has them (as readelf -n), otherwise from the PT_NOTE segments. */
function collectNotes(f: Fields, sections: readonly ElfSection[], segments: readonly ElfSegment[]): ElfNote[] {
  const { bytes, le, is64 } = f;
  const notes: ElfNote[] = [];
  const noteSections = sections.filter((s) => s.type === SHT_NOTE);
  if (noteSections.length > 0) {
    for (const s of noteSections)
      notes.push(...parseNotes(s.data, le, is64, s.addralign === 8 ? 8 : 4, s.offset, s.name));
    return notes;
  }
  for (const p of segments) {
    if (p.type !== PT_NOTE) continue;
    const data = bytes.subarray(p.offset, p.offset + p.filesz);
    notes.push(...parseNotes(data, le, is64, p.align === 8n ? 8 : 4, p.offset, `segment ${p.index}`));
  }
  return notes;
}

/** Lowest physical and virtual load addresses, and the PT_LOAD segment holding the entry point. */
function loadFacts(
  segments: readonly ElfSegment[],
  entry: bigint,
): Pick<ElfFile, 'loadAddress' | 'loadVirtualAddress' | 'entrySegment'> {
  let loadAddress: bigint | undefined;
  let loadVirtualAddress: bigint | undefined;
  let entrySegment: number | undefined;
  for (const p of segments) {
    if (p.type !== PT_LOAD) continue;
    if (loadAddress === undefined || p.paddr < loadAddress) loadAddress = p.paddr;
    if (loadVirtualAddress === undefined || p.vaddr < loadVirtualAddress) loadVirtualAddress = p.vaddr;
    if (entrySegment === undefined && entry >= p.vaddr && entry < p.vaddr + (p.memsz > 0n ? p.memsz : 1n))
      entrySegment = p.index;
  }
  return { loadAddress, loadVirtualAddress, entrySegment };
}

/** Name of the first allocated (SHF_ALLOC) section holding the entry point. */
function entrySectionOf(sections: readonly ElfSection[], entry: bigint): string | undefined {
  for (const s of sections) {
    if (s.flags & 2 && s.size > 0 && entry >= s.addr && entry < s.addr + BigInt(s.size)) return s.name;
  }
  return undefined;
}

/** PT_INTERP's path, up to its NUL. */
function interpreterOf(bytes: Uint8Array, segments: readonly ElfSegment[]): string | undefined {
  const interp = segments.find((p) => p.type === PT_INTERP);
  if (!interp) return undefined;
  const raw = bytes.subarray(interp.offset, interp.offset + interp.filesz);
  const nul = raw.indexOf(0);
  return decodeUtf8(nul >= 0 ? raw.subarray(0, nul) : raw);
}

function readSymbols(f: Fields, sections: ElfSection[], table: ElfSection): ElfSymbol[] {
  const symSize = f.is64 ? 24 : 16;
  if (table.size === 0) return [];
  if (table.entsize < symSize)
    fail(
      'ELF_BAD_ENTSIZE',
      `${table.name || `section ${table.index}`}: sh_entsize ${table.entsize} is smaller than a symbol (${symSize})`,
      table.headerOffset,
    );
  const count = Math.floor(table.size / table.entsize);
  const strtabSection = table.link > 0 && table.link < sections.length ? sections[table.link]! : undefined;
  const strtab = strtabSection?.data ?? new Uint8Array(0);
  const strtabOffset = strtabSection?.offset ?? 0;
  const shndxSection = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === table.index);
  const out: ElfSymbol[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = table.offset + i * table.entsize;
    const nameOffset = f.u32(at);
    let value: bigint, size: bigint, info: number, other: number, shndx: number;
    if (f.is64) {
      info = f.u8(at + 4);
      other = f.u8(at + 5);
      shndx = f.u16(at + 6);
      value = f.word(at + 8);
      size = f.word(at + 16);
    } else {
      value = f.word(at + 4);
      size = f.word(at + 8);
      info = f.u8(at + 12);
      other = f.u8(at + 13);
      shndx = f.u16(at + 14);
    }
    if (shndx === SHN_XINDEX && shndxSection && i * 4 + 4 <= shndxSection.size)
      shndx = f.u32(shndxSection.offset + i * 4);
    const bind = info >> 4;
    const type = info & 0xf;
    const name = readStringAt(
      strtab,
      nameOffset,
      strtabOffset,
      `name of symbol ${i} in ${table.name || `section ${table.index}`}`,
    );
    const section =
      shndx !== SHN_UNDEF && (shndx < SHN_LORESERVE || shndxSection) && shndx < sections.length
        ? sections[shndx]
        : undefined;
    out[i] = {
      index: i,
      name,
      value,
      size,
      bind,
      bindName: symbolBindName(bind),
      type,
      typeName: symbolTypeName(type),
      visibility: other & 3,
      visibilityName: symbolVisibilityName(other),
      other,
      shndx,
      sectionName: section?.name,
    };
  }
  return out;
}

/**
 * GNU symbol versioning (LSB Core 5.0 §10.7 "Symbol Versioning"): `.gnu.version` holds one u16 per
 * dynamic symbol (bit 15 = hidden), indices name entries of `.gnu.version_d` (Verdef/Verdaux) or
 * `.gnu.version_r` (Verneed/Vernaux). Chains are followed at most as many steps as the section can
 * hold entries, so a cyclic vd_next/vn_next cannot hang the reader.
 */
function readVersions(f: Fields, sections: ElfSection[], symbols: ElfSymbol[]): void {
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  if (!versym) return;
  const names = new Map<number, string>();
  const strOf = (s: ElfSection) => (s.link > 0 && s.link < sections.length ? sections[s.link]! : undefined);
  for (const s of sections) {
    if (s.type !== SHT_GNU_VERDEF && s.type !== SHT_GNU_VERNEED) continue;
    const strtab = strOf(s);
    if (!strtab) continue;
    const maxSteps = Math.floor(s.size / 8) + 1;
    let at = 0;
    for (let n = 0; n < Math.min(s.info, maxSteps) && at + 16 <= s.size; n++) {
      const base = s.offset + at;
      if (s.type === SHT_GNU_VERDEF) {
        if (at + 20 > s.size) break;
        const ndx = f.u16(base + 4);
        const aux = f.u32(base + 12);
        const next = f.u32(base + 16);
        if (aux + 8 <= s.size - at)
          names.set(ndx, readStringAt(strtab.data, f.u32(base + aux), strtab.offset, 'version definition'));
        if (next === 0) break;
        at += next;
      } else {
        const cnt = f.u16(base + 2);
        let auxAt = at + f.u32(base + 8);
        for (let k = 0; k < Math.min(cnt, maxSteps) && auxAt + 16 <= s.size; k++) {
          const a = s.offset + auxAt;
          names.set(f.u16(a + 6), readStringAt(strtab.data, f.u32(a + 8), strtab.offset, 'needed version'));
          const nextAux = f.u32(a + 12);
          if (nextAux === 0) break;
          auxAt += nextAux;
        }
        const next = f.u32(base + 12);
        if (next === 0) break;
        at += next;
      }
    }
  }
  const count = Math.min(symbols.length, Math.floor(versym.size / 2));
  for (let i = 0; i < count; i++) {
    const raw = f.u16(versym.offset + i * 2);
    const index = raw & 0x7fff;
    if (index < 2) continue; // VER_NDX_LOCAL, VER_NDX_GLOBAL
    const name = names.get(index);
    if (name === undefined) continue;
    symbols[i]!.version = name;
    symbols[i]!.versionHidden = (raw & 0x8000) !== 0;
  }
}

function readDynamic(f: Fields, sections: ElfSection[], segments: ElfSegment[]): ElfDynamicEntry[] {
  const entSize = f.is64 ? 16 : 8;
  let start: number;
  let length: number;
  let strtab: ElfSection | undefined;
  const section = sections.find((s) => s.type === SHT_DYNAMIC);
  if (section) {
    start = section.offset;
    length = section.size;
    strtab = section.link > 0 && section.link < sections.length ? sections[section.link] : undefined;
  } else {
    const segment = segments.find((p) => p.type === PT_DYNAMIC);
    if (!segment) return [];
    start = segment.offset;
    length = segment.filesz;
  }
  const out: ElfDynamicEntry[] = [];
  const count = Math.floor(length / entSize);
  for (let i = 0; i < count; i++) {
    const at = start + i * entSize;
    const rawTag = f.is64 ? f.view.getBigInt64(at, f.le) : BigInt(f.view.getInt32(at, f.le));
    const tag = Number(rawTag);
    const value = f.word(at + entSize / 2);
    const entry: ElfDynamicEntry = { tag, tagName: dynamicTagName(tag), value };
    if (
      strtab &&
      (tag === DT_NEEDED || tag === DT_SONAME || tag === DT_RPATH || tag === DT_RUNPATH) &&
      value < BigInt(strtab.data.length)
    ) {
      entry.text = readStringAt(strtab.data, Number(value), strtab.offset, `dynamic entry ${i}`);
    }
    out.push(entry);
    if (tag === DT_NULL) break;
  }
  return out;
}

/**
 * The first section named `name`, or undefined.
 * @example const sig = findSection(readElf(bytes), '.nonos.sig');
 */
export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/**
 * The PT_LOAD segment whose file range holds `section` (undefined when the section is not loaded).
 * @example segmentOfSection(elf, findSection(elf, '.text')!)?.paddr
 */
export function segmentOfSection(elf: ElfFile, section: ElfSection): ElfSegment | undefined {
  if (section.type === SHT_NOBITS) {
    return elf.segments.find((p) => p.type === PT_LOAD && section.addr >= p.vaddr && section.addr < p.vaddr + p.memsz);
  }
  return elf.segments.find(
    (p) =>
      p.type === PT_LOAD &&
      section.size > 0 &&
      section.offset >= p.offset &&
      section.offset + section.size <= p.offset + p.filesz,
  );
}
