/**
 * ELF constants and display names. Spec: System V ABI, Generic ABI (gABI) 4.1 with the
 * 2013 updates, chapter 4 "Object Files" (ELF header §4.1, sections §4.3, symbol table §4.5)
 * and chapter 5 "Program Loading and Dynamic Linking" (program header §5.2, notes §5.3,
 * dynamic section §5.6); "ELF-64 Object File Format" 1.5 for the 64-bit layouts; the GNU
 * extensions (SHT_GNU_*, NT_GNU_*, DT_GNU_*) as documented in the Linux Standard Base Core
 * Specification 5.0 §10 and binutils' include/elf/common.h; Xen's public/elfnote.h.
 */

/** EI_CLASS: 32-bit objects (ELF32 layouts). */
export const ELFCLASS32 = 1;
/** EI_CLASS: 64-bit objects (ELF64 layouts). */
export const ELFCLASS64 = 2;
/** EI_DATA: little-endian (two's complement). */
export const ELFDATA2LSB = 1;
/** EI_DATA: big-endian (two's complement). */
export const ELFDATA2MSB = 2;

// e_type
/** e_type: no file type. */
export const ET_NONE = 0;
/** e_type: relocatable object (`.o`). */
export const ET_REL = 1;
/** e_type: executable at fixed addresses (a typical kernel). */
export const ET_EXEC = 2;
/** e_type: shared object or position-independent executable. */
export const ET_DYN = 3;
/** e_type: core dump. */
export const ET_CORE = 4;

// Special section indices.
/** Section index of undefined symbols (and "no section"). */
export const SHN_UNDEF = 0;
/** First reserved section index. */
export const SHN_LORESERVE = 0xff00;
/** Section index of absolute symbols (not relocated). */
export const SHN_ABS = 0xfff1;
/** Section index of common (tentative) symbols. */
export const SHN_COMMON = 0xfff2;
/** Escape: the real section index is in SHT_SYMTAB_SHNDX (or section 0 for e_shstrndx). */
export const SHN_XINDEX = 0xffff;
/** e_phnum value meaning "the real count is in section 0's sh_info". */
export const PN_XNUM = 0xffff;

// sh_type
/** sh_type: inactive section header. */
export const SHT_NULL = 0;
/** sh_type: program-defined contents (code, data). */
export const SHT_PROGBITS = 1;
/** sh_type: the full symbol table. */
export const SHT_SYMTAB = 2;
/** sh_type: a string table. */
export const SHT_STRTAB = 3;
/** sh_type: relocations with explicit addends. */
export const SHT_RELA = 4;
/** sh_type: SysV symbol hash table. */
export const SHT_HASH = 5;
/** sh_type: dynamic linking information. */
export const SHT_DYNAMIC = 6;
/** sh_type: notes (build ID, PVH entry, ...). */
export const SHT_NOTE = 7;
/** sh_type: occupies no file space (`.bss`). */
export const SHT_NOBITS = 8;
/** sh_type: relocations without addends. */
export const SHT_REL = 9;
/** sh_type: reserved, unspecified semantics. */
export const SHT_SHLIB = 10;
/** sh_type: the dynamic linking symbol table. */
export const SHT_DYNSYM = 11;
/** sh_type: array of initialization function pointers. */
export const SHT_INIT_ARRAY = 14;
/** sh_type: array of termination function pointers. */
export const SHT_FINI_ARRAY = 15;
/** sh_type: array of pre-initialization function pointers. */
export const SHT_PREINIT_ARRAY = 16;
/** sh_type: a section group (COMDAT). */
export const SHT_GROUP = 17;
/** sh_type: extended section indices of a symbol table. */
export const SHT_SYMTAB_SHNDX = 18;
/** sh_type: compact relative relocations. */
export const SHT_RELR = 19;
/** sh_type: GNU-style symbol hash table. */
export const SHT_GNU_HASH = 0x6ffffff6;
/** sh_type: GNU symbol version definitions. */
export const SHT_GNU_VERDEF = 0x6ffffffd;
/** sh_type: GNU symbol version requirements. */
export const SHT_GNU_VERNEED = 0x6ffffffe;
/** sh_type: GNU symbol version table. */
export const SHT_GNU_VERSYM = 0x6fffffff;

// sh_flags
/** sh_flags: writable at run time (W). */
export const SHF_WRITE = 0x1;
/** sh_flags: occupies memory at run time (A). */
export const SHF_ALLOC = 0x2;
/** sh_flags: executable instructions (X). */
export const SHF_EXECINSTR = 0x4;
/** sh_flags: mergeable contents (M). */
export const SHF_MERGE = 0x10;
/** sh_flags: NUL-terminated strings (S). */
export const SHF_STRINGS = 0x20;
/** sh_flags: sh_info holds a section index (I). */
export const SHF_INFO_LINK = 0x40;
/** sh_flags: ordering requirement linked to sh_link (L). */
export const SHF_LINK_ORDER = 0x80;
/** sh_flags: needs OS-specific processing (O). */
export const SHF_OS_NONCONFORMING = 0x100;
/** sh_flags: member of a section group (G). */
export const SHF_GROUP = 0x200;
/** sh_flags: thread-local storage (T). */
export const SHF_TLS = 0x400;
/** sh_flags: compressed contents (C). */
export const SHF_COMPRESSED = 0x800;
/** sh_flags: kept by the linker's garbage collection (R). */
export const SHF_GNU_RETAIN = 0x200000;
/** sh_flags: excluded from the link output (E). */
export const SHF_EXCLUDE = 0x80000000;

// p_type
/** p_type: unused program header. */
export const PT_NULL = 0;
/** p_type: loadable segment. */
export const PT_LOAD = 1;
/** p_type: dynamic linking information. */
export const PT_DYNAMIC = 2;
/** p_type: path of the program interpreter. */
export const PT_INTERP = 3;
/** p_type: notes. */
export const PT_NOTE = 4;
/** p_type: reserved, unspecified semantics. */
export const PT_SHLIB = 5;
/** p_type: the program header table itself. */
export const PT_PHDR = 6;
/** p_type: thread-local storage template. */
export const PT_TLS = 7;
/** p_type: the `.eh_frame_hdr` unwind table. */
export const PT_GNU_EH_FRAME = 0x6474e550;
/** p_type: stack permissions (no PF_X = non-executable stack). */
export const PT_GNU_STACK = 0x6474e551;
/** p_type: read-only after relocation. */
export const PT_GNU_RELRO = 0x6474e552;
/** p_type: the `.note.gnu.property` note (IBT, SHSTK, BTI, ...). */
export const PT_GNU_PROPERTY = 0x6474e553;

// p_flags
/** p_flags: executable. */
export const PF_X = 1;
/** p_flags: writable. */
export const PF_W = 2;
/** p_flags: readable. */
export const PF_R = 4;

// Symbol binding, type, visibility (st_info / st_other).
/** Symbol binding: local to the object. */
export const STB_LOCAL = 0;
/** Symbol binding: visible to every object. */
export const STB_GLOBAL = 1;
/** Symbol binding: global with lower precedence. */
export const STB_WEAK = 2;
/** Symbol binding (GNU): unique in the process. */
export const STB_GNU_UNIQUE = 10;
/** Symbol type: unspecified. */
export const STT_NOTYPE = 0;
/** Symbol type: a data object. */
export const STT_OBJECT = 1;
/** Symbol type: a function. */
export const STT_FUNC = 2;
/** Symbol type: a section. */
export const STT_SECTION = 3;
/** Symbol type: the source file name. */
export const STT_FILE = 4;
/** Symbol type: a common data object. */
export const STT_COMMON = 5;
/** Symbol type: a thread-local data object. */
export const STT_TLS = 6;
/** Symbol type (GNU): an indirect function. */
export const STT_GNU_IFUNC = 10;

// Note types.
/** Note type of owner GNU: the ABI tag (OS and version). */
export const NT_GNU_ABI_TAG = 1;
/** Note type of owner GNU: hardware capabilities. */
export const NT_GNU_HWCAP = 2;
/** Note type of owner GNU: the build ID. */
export const NT_GNU_BUILD_ID = 3;
/** Note type of owner GNU: the gold linker version. */
export const NT_GNU_GOLD_VERSION = 4;
/** Note type of owner GNU: program properties. */
export const NT_GNU_PROPERTY_TYPE_0 = 5;
/** Xen public/elfnote.h: the 32-bit protected-mode entry used by PVH boots (QEMU -kernel). */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

// Dynamic tags.
/** Dynamic tag: end of the dynamic array. */
export const DT_NULL = 0;
/** Dynamic tag: name of a needed library. */
export const DT_NEEDED = 1;
/** Dynamic tag: address of the dynamic string table. */
export const DT_STRTAB = 5;
/** Dynamic tag: the shared object's name. */
export const DT_SONAME = 14;
/** Dynamic tag: library search path (deprecated). */
export const DT_RPATH = 15;
/** Dynamic tag: library search path. */
export const DT_RUNPATH = 29;

/**
 * e_machine numbers (gABI "Machine" table, registry at sco.com/developers/gabi/latest/ch4.eheader.html).
 * Constants below (ELFCLASS*, ET_*, SHN_*, SHT_*, SHF_*, PT_*, PF_*, STB_*, STT_*, NT_*, DT_*) are the
 * gABI / GNU values under their spec names.
 * @example readElf(bytes).machine === EM.X86_64
 */
export const EM = {
  NONE: 0,
  SPARC: 2,
  I386: 3,
  M68K: 4,
  MIPS: 8,
  PPC: 20,
  PPC64: 21,
  S390: 22,
  ARM: 40,
  SH: 42,
  SPARCV9: 43,
  IA_64: 50,
  X86_64: 62,
  AVR: 83,
  XTENSA: 94,
  AARCH64: 183,
  RISCV: 243,
  BPF: 247,
  LOONGARCH: 258,
} as const;

const MACHINE_NAMES: Record<number, string> = {
  0: 'none',
  2: 'sparc',
  3: 'i386',
  4: 'm68k',
  7: 'i860',
  8: 'mips',
  10: 'mips-rs3-le',
  15: 'parisc',
  20: 'ppc',
  21: 'ppc64',
  22: 's390',
  40: 'arm',
  42: 'sh',
  43: 'sparcv9',
  50: 'ia64',
  62: 'x86_64',
  83: 'avr',
  92: 'openrisc',
  94: 'xtensa',
  113: 'altera-nios2',
  164: 'hexagon',
  183: 'aarch64',
  188: 'microblaze',
  243: 'riscv',
  247: 'bpf',
  252: 'csky',
  258: 'loongarch',
};
const MACHINE_NAMES_64: Record<number, string> = { 8: 'mips64', 22: 's390x', 243: 'riscv64', 258: 'loongarch64' };
const MACHINE_NAMES_32: Record<number, string> = { 243: 'riscv32', 258: 'loongarch32' };

/**
 * A short machine name (`x86_64`, `aarch64`, `i386`, `riscv64`...) or `machine-<n>` for unknown
 * numbers. With the ELF class, machines shared by 32- and 64-bit code get their usual arch name.
 * @example machineName(EM.AARCH64) // 'aarch64'
 * @example machineName(EM.RISCV, 64) // 'riscv64'
 */
export function machineName(machine: number, elfClass?: 32 | 64): string {
  const specific =
    elfClass === 64 ? MACHINE_NAMES_64[machine] : elfClass === 32 ? MACHINE_NAMES_32[machine] : undefined;
  return specific ?? MACHINE_NAMES[machine] ?? `machine-${machine}`;
}

const TYPE_NAMES: Record<number, string> = { 0: 'NONE', 1: 'REL', 2: 'EXEC', 3: 'DYN', 4: 'CORE' };
/**
 * `REL`, `EXEC`, `DYN`, `CORE`, or the number in hex.
 * @example fileTypeName(ET_EXEC) // 'EXEC'
 */
export function fileTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}

const SECTION_TYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'PROGBITS',
  2: 'SYMTAB',
  3: 'STRTAB',
  4: 'RELA',
  5: 'HASH',
  6: 'DYNAMIC',
  7: 'NOTE',
  8: 'NOBITS',
  9: 'REL',
  10: 'SHLIB',
  11: 'DYNSYM',
  14: 'INIT_ARRAY',
  15: 'FINI_ARRAY',
  16: 'PREINIT_ARRAY',
  17: 'GROUP',
  18: 'SYMTAB_SHNDX',
  19: 'RELR',
  0x6ffffff5: 'GNU_ATTRIBUTES',
  0x6ffffff6: 'GNU_HASH',
  0x6ffffff7: 'GNU_LIBLIST',
  0x6ffffffd: 'VERDEF',
  0x6ffffffe: 'VERNEED',
  0x6fffffff: 'VERSYM',
  0x6fff4c00: 'LLVM_ODRTAB',
  0x6fff4c01: 'LLVM_LINKER_OPTIONS',
  0x6fff4c03: 'LLVM_ADDRSIG',
  0x6fff4c04: 'LLVM_DEPENDENT_LIBRARIES',
  0x6fff4c05: 'LLVM_SYMPART',
  0x6fff4c0c: 'LLVM_BB_ADDR_MAP',
};
/**
 * readelf's name for an sh_type (`PROGBITS`, `NOBITS`, ...); processor-specific types in hex.
 * @example sectionTypeName(SHT_NOBITS) // 'NOBITS'
 */
export function sectionTypeName(type: number): string {
  return SECTION_TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}

const SEGMENT_TYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'LOAD',
  2: 'DYNAMIC',
  3: 'INTERP',
  4: 'NOTE',
  5: 'SHLIB',
  6: 'PHDR',
  7: 'TLS',
  0x6474e550: 'GNU_EH_FRAME',
  0x6474e551: 'GNU_STACK',
  0x6474e552: 'GNU_RELRO',
  0x6474e553: 'GNU_PROPERTY',
  0x65a3dbe6: 'OPENBSD_RANDOMIZE',
  0x65a3dbe7: 'OPENBSD_WXNEEDED',
  0x65a41be6: 'OPENBSD_BOOTDATA',
};
/**
 * readelf's name for a p_type (`LOAD`, `NOTE`, `GNU_STACK`, ...); others in hex.
 * @example segmentTypeName(PT_GNU_STACK) // 'GNU_STACK'
 */
export function segmentTypeName(type: number): string {
  return SEGMENT_TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}

const BIND_NAMES: Record<number, string> = { 0: 'LOCAL', 1: 'GLOBAL', 2: 'WEAK', 10: 'UNIQUE' };
const SYMBOL_TYPE_NAMES: Record<number, string> = {
  0: 'NOTYPE',
  1: 'OBJECT',
  2: 'FUNC',
  3: 'SECTION',
  4: 'FILE',
  5: 'COMMON',
  6: 'TLS',
  10: 'IFUNC',
};
const VISIBILITY_NAMES = ['DEFAULT', 'INTERNAL', 'HIDDEN', 'PROTECTED'] as const;
/**
 * readelf's name for a symbol binding.
 * @example symbolBindName(STB_WEAK) // 'WEAK'
 */
export function symbolBindName(bind: number): string {
  return BIND_NAMES[bind] ?? `<${bind}>`;
}
/**
 * readelf's name for a symbol type.
 * @example symbolTypeName(STT_FUNC) // 'FUNC'
 */
export function symbolTypeName(type: number): string {
  return SYMBOL_TYPE_NAMES[type] ?? `<${type}>`;
}
/**
 * readelf's name for a symbol visibility (st_other & 3).
 * @example symbolVisibilityName(2) // 'HIDDEN'
 */
export function symbolVisibilityName(visibility: number): string {
  return VISIBILITY_NAMES[visibility & 3]!;
}

const FLAG_LETTERS: Array<[number, string]> = [
  [SHF_WRITE, 'W'],
  [SHF_ALLOC, 'A'],
  [SHF_EXECINSTR, 'X'],
  [SHF_MERGE, 'M'],
  [SHF_STRINGS, 'S'],
  [SHF_INFO_LINK, 'I'],
  [SHF_LINK_ORDER, 'L'],
  [SHF_OS_NONCONFORMING, 'O'],
  [SHF_GROUP, 'G'],
  [SHF_TLS, 'T'],
  [SHF_COMPRESSED, 'C'],
  [SHF_EXCLUDE, 'E'],
  [SHF_GNU_RETAIN, 'R'],
];
/**
 * readelf's flag letters for sh_flags (W A X M S I L O G T C E R), in readelf's order.
 * @example sectionFlagLetters(0x6) // 'AX'
 */
export function sectionFlagLetters(flags: number): string {
  let out = '';
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) out += letter; // & works on the low 32 bits, where every flag lives
  return out;
}

/**
 * `RWE`-style segment flags as readelf prints them (`R E`, `RW `).
 * @example segmentFlagLetters(PF_R | PF_X) // 'R E'
 */
export function segmentFlagLetters(flags: number): string {
  return `${flags & PF_R ? 'R' : ' '}${flags & PF_W ? 'W' : ' '}${flags & PF_X ? 'E' : ' '}`;
}

const NOTE_TYPE_NAMES: Record<string, Record<number, string>> = {
  GNU: {
    1: 'NT_GNU_ABI_TAG',
    2: 'NT_GNU_HWCAP',
    3: 'NT_GNU_BUILD_ID',
    4: 'NT_GNU_GOLD_VERSION',
    5: 'NT_GNU_PROPERTY_TYPE_0',
  },
  Xen: {
    0: 'XEN_ELFNOTE_INFO',
    1: 'XEN_ELFNOTE_ENTRY',
    2: 'XEN_ELFNOTE_HYPERCALL_PAGE',
    3: 'XEN_ELFNOTE_VIRT_BASE',
    4: 'XEN_ELFNOTE_PADDR_OFFSET',
    5: 'XEN_ELFNOTE_XEN_VERSION',
    6: 'XEN_ELFNOTE_GUEST_OS',
    7: 'XEN_ELFNOTE_GUEST_VERSION',
    8: 'XEN_ELFNOTE_LOADER',
    9: 'XEN_ELFNOTE_PAE_MODE',
    10: 'XEN_ELFNOTE_FEATURES',
    11: 'XEN_ELFNOTE_BSD_SYMTAB',
    12: 'XEN_ELFNOTE_HV_START_LOW',
    13: 'XEN_ELFNOTE_L1_MFN_VALID',
    14: 'XEN_ELFNOTE_SUSPEND_CANCEL',
    15: 'XEN_ELFNOTE_INIT_P2M',
    16: 'XEN_ELFNOTE_MOD_START_PFN',
    17: 'XEN_ELFNOTE_SUPPORTED_FEATURES',
    18: 'XEN_ELFNOTE_PHYS32_ENTRY',
  },
  stapsdt: { 3: 'NT_STAPSDT' },
  FreeBSD: { 1: 'NT_FREEBSD_ABI_TAG' },
  Go: { 4: 'GO_BUILDID' },
};
/**
 * A note type's symbolic name for its owner (`NT_GNU_BUILD_ID`, `XEN_ELFNOTE_PHYS32_ENTRY`), or `0x..`.
 * @example noteTypeName('Xen', 18) // 'XEN_ELFNOTE_PHYS32_ENTRY'
 */
export function noteTypeName(owner: string, type: number): string {
  return NOTE_TYPE_NAMES[owner]?.[type] ?? `0x${type.toString(16).padStart(8, '0')}`;
}

const DYNAMIC_TAG_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'NEEDED',
  2: 'PLTRELSZ',
  3: 'PLTGOT',
  4: 'HASH',
  5: 'STRTAB',
  6: 'SYMTAB',
  7: 'RELA',
  8: 'RELASZ',
  9: 'RELAENT',
  10: 'STRSZ',
  11: 'SYMENT',
  12: 'INIT',
  13: 'FINI',
  14: 'SONAME',
  15: 'RPATH',
  16: 'SYMBOLIC',
  17: 'REL',
  18: 'RELSZ',
  19: 'RELENT',
  20: 'PLTREL',
  21: 'DEBUG',
  22: 'TEXTREL',
  23: 'JMPREL',
  24: 'BIND_NOW',
  25: 'INIT_ARRAY',
  26: 'FINI_ARRAY',
  27: 'INIT_ARRAYSZ',
  28: 'FINI_ARRAYSZ',
  29: 'RUNPATH',
  30: 'FLAGS',
  32: 'PREINIT_ARRAY',
  33: 'PREINIT_ARRAYSZ',
  34: 'SYMTAB_SHNDX',
  35: 'RELRSZ',
  36: 'RELR',
  37: 'RELRENT',
  0x6ffffef5: 'GNU_HASH',
  0x6ffffff0: 'VERSYM',
  0x6ffffff9: 'RELACOUNT',
  0x6ffffffa: 'RELCOUNT',
  0x6ffffffb: 'FLAGS_1',
  0x6ffffffc: 'VERDEF',
  0x6ffffffd: 'VERDEFNUM',
  0x6ffffffe: 'VERNEED',
  0x6fffffff: 'VERNEEDNUM',
};
/**
 * readelf's name for a d_tag (`NEEDED`, `FLAGS_1`, ...), or the number in hex.
 * @example dynamicTagName(DT_NEEDED) // 'NEEDED'
 */
export function dynamicTagName(tag: number): string {
  return DYNAMIC_TAG_NAMES[tag] ?? `0x${tag.toString(16)}`;
}
