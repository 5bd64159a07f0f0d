/**
 * Security facts of an ELF file, as checksec reports them, read without running or disassembling
 * anything. Sources: gABI 4.1 ch. 5 (program headers, dynamic section); the GNU extensions
 * PT_GNU_STACK / PT_GNU_RELRO (LSB Core 5.0 §10.2/§11.1, binutils include/elf/common.h),
 * DT_BIND_NOW / DT_FLAGS DF_BIND_NOW / DT_FLAGS_1 DF_1_NOW, DF_1_PIE; GNU program properties
 * (x86-64 psABI 1.0 §5.1.3: GNU_PROPERTY_X86_FEATURE_1_AND, GNU_PROPERTY_X86_FEATURE_2_USED);
 * the RISC-V ELF psABI (e_flags EF_RISCV_FLOAT_ABI); glibc's _FORTIFY_SOURCE `__*_chk` entry
 * points and GCC/Clang's stack protector runtime (`__stack_chk_fail`, `__stack_chk_guard`).
 * What cannot be known from the file is reported as `unknown`, never guessed (audit/README.md).
 */
import {
  PF_W,
  PF_X,
  PT_GNU_RELRO,
  PT_GNU_STACK,
  PT_INTERP,
  PT_LOAD,
  SHT_NOBITS,
  type ElfFile,
  type ElfSymbol,
} from '../formats/elf/index.js';
import { viewOf } from '../formats/io/bytes.js';

const DT_NEEDED = 1;
const DT_BIND_NOW = 24;
const DT_FLAGS = 30;
const DT_FLAGS_1 = 0x6ffffffb;
const DF_BIND_NOW = 0x8;
const DF_1_NOW = 0x1;
const DF_1_PIE = 0x08000000;
const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_386 = 3;
const EM_X86_64 = 62;
const EM_RISCV = 243;
const GNU_PROPERTY_X86_FEATURE_1_AND = 0xc0000002;
const GNU_PROPERTY_X86_FEATURE_2_USED = 0xc0010001;
const GNU_PROPERTY_AARCH64_FEATURE_1_AND = 0xc0000000;
/** FEATURE_2_USED bits that mean the FPU/SIMD register file is used: X87, MMX, XMM, YMM, ZMM, FXSR, XSAVE*, TMM, MASK. */
const X86_FPU_BITS: Record<number, string> = {
  2: 'x87',
  4: 'MMX',
  8: 'XMM',
  16: 'YMM',
  32: 'ZMM',
  64: 'FXSR',
  128: 'XSAVE',
  256: 'XSAVEOPT',
  512: 'XSAVEC',
  1024: 'TMM',
  2048: 'MASK',
};

/** glibc functions that _FORTIFY_SOURCE replaces by a `__<name>_chk` variant. */
export const FORTIFIABLE_FUNCTIONS: readonly string[] = [
  'memcpy',
  'mempcpy',
  'memmove',
  'memset',
  'strcpy',
  'stpcpy',
  'strncpy',
  'stpncpy',
  'strcat',
  'strncat',
  'sprintf',
  'vsprintf',
  'snprintf',
  'vsnprintf',
  'printf',
  'vprintf',
  'fprintf',
  'vfprintf',
  'dprintf',
  'vdprintf',
  'asprintf',
  'vasprintf',
  'syslog',
  'vsyslog',
  'read',
  'pread',
  'pread64',
  'recv',
  'recvfrom',
  'readlink',
  'readlinkat',
  'getcwd',
  'getwd',
  'gets',
  'fgets',
  'fgets_unlocked',
  'fread',
  'fread_unlocked',
  'realpath',
  'confstr',
  'getgroups',
  'ttyname_r',
  'getlogin_r',
  'gethostname',
  'getdomainname',
  'wcscpy',
  'wcsncpy',
  'wcscat',
  'wcsncat',
  'wmemcpy',
  'wmemmove',
  'wmemset',
  'swprintf',
  'wprintf',
  'fwprintf',
  'mbstowcs',
  'wcstombs',
  'wcrtomb',
  'ptsname_r',
  'poll',
  'ppoll',
];

/** How the file is linked. */
export type Linkage = 'pie' | 'static-pie' | 'exec' | 'static-exec' | 'shared-object' | 'relocatable' | 'other';

/** One PT_LOAD, summarized. */
export interface LoadSegmentFact {
  index: number;
  /** `R`, `RW`, `RX`, `RWX`. */
  flags: string;
  vaddr: bigint;
  memsz: bigint;
  writable: boolean;
  executable: boolean;
}

/** What the audit knows about one file. */
export interface ElfSecurityFacts {
  machine: string;
  elfClass: 32 | 64;
  type: string;
  linkage: Linkage;
  interpreter: string | undefined;
  needed: string[];
  loads: LoadSegmentFact[];
  /** Indices of PT_LOADs both writable and executable. */
  writableExecutable: number[];
  /** PT_GNU_STACK: `missing` (legacy executable stack on Linux), `rw`, `rwx`. */
  stack: 'missing' | 'rw' | 'rwx';
  relro: 'none' | 'partial' | 'full';
  bindNow: boolean;
  /** `yes` when a stack-protector symbol is referenced; `unknown` when there are no symbols to look at. */
  stackProtector: 'yes' | 'no' | 'unknown';
  stackProtectorSymbols: string[];
  /** `__*_chk` functions referenced, and plain fortifiable functions referenced. */
  fortified: string[];
  fortifiable: string[];
  /** No `.symtab`. */
  stripped: boolean;
  hasDynamicSymbols: boolean;
  /** `.debug_*` / `.zdebug_*` sections. */
  debugSections: string[];
  /** `.gnu_debuglink` target file name, when present. */
  debugLink: string | undefined;
  entry: bigint;
  /** Whether the entry point is in an executable PT_LOAD; undefined when the file has no entry (object, library). */
  entryInExecutableSegment: boolean | undefined;
  /** Lowest p_paddr / p_vaddr of the PT_LOADs. */
  loadAddress: bigint | undefined;
  loadVirtualAddress: bigint | undefined;
  /** PT_LOADs whose file range runs past the end of the file, or filesz > memsz. */
  badSegments: number[];
  /** FPU/SIMD use as far as the file says (see README: only a GNU property or the RISC-V float ABI can say it). */
  fpu: { status: 'none' | 'used' | 'unknown'; evidence: string };
  /** x86 IBT/SHSTK, AArch64 BTI/PAC from GNU properties. */
  cfiFeatures: string[];
  /** Stack-probe helper referenced (`__rust_probestack`, `__zig_probe_stack`, `__chkstk`, `___chkstk_ms`). */
  stackProbes: 'yes' | 'no' | 'unknown';
  /** Unwinding runtime referenced (`_Unwind_Resume`, `rust_eh_personality`, `__gxx_personality_v0`). */
  unwinding: 'yes' | 'no' | 'unknown';
  /** Section names (to look up signature sections). */
  sectionNames: string[];
}

function baseName(symbol: ElfSymbol): string {
  const at = symbol.name.indexOf('@');
  return at >= 0 ? symbol.name.slice(0, at) : symbol.name;
}

function flagText(flags: number): string {
  return `R${flags & PF_W ? 'W' : ''}${flags & PF_X ? 'X' : ''}`;
}

/**
 * Collects the security facts of a parsed ELF file.
 * @example
 * const facts = collectFacts(readElf(bytes));
 * facts.relro; // 'full'
 */
export function collectFacts(elf: ElfFile): ElfSecurityFacts {
  const le = elf.littleEndian;
  const loads = elf.segments
    .filter((s) => s.type === PT_LOAD)
    .map((s) => ({
      index: s.index,
      flags: flagText(s.flags),
      vaddr: s.vaddr,
      memsz: s.memsz,
      writable: (s.flags & PF_W) !== 0,
      executable: (s.flags & PF_X) !== 0,
    }));
  const gnuStack = elf.segments.find((s) => s.type === PT_GNU_STACK);
  const hasRelro = elf.segments.some((s) => s.type === PT_GNU_RELRO);
  const dyn = (tag: number) => elf.dynamic.filter((d) => d.tag === tag);
  const flags = dyn(DT_FLAGS).reduce((a, d) => a | Number(d.value & 0xffffffffn), 0);
  const flags1 = dyn(DT_FLAGS_1).reduce((a, d) => a | Number(d.value & 0xffffffffn), 0);
  const bindNow = dyn(DT_BIND_NOW).length > 0 || (flags & DF_BIND_NOW) !== 0 || (flags1 & DF_1_NOW) !== 0;
  const needed = dyn(DT_NEEDED).map((d) => d.text ?? `0x${d.value.toString(16)}`);
  const hasInterp = elf.segments.some((s) => s.type === PT_INTERP);

  let linkage: Linkage;
  const type = elf.header.type;
  if (type === ET_REL) linkage = 'relocatable';
  else if (type === ET_EXEC) linkage = hasInterp || needed.length ? 'exec' : 'static-exec';
  else if (type === ET_DYN) {
    if (hasInterp || (flags1 & DF_1_PIE) !== 0) linkage = hasInterp ? 'pie' : 'static-pie';
    else
      linkage =
        needed.length === 0 && elf.entry !== 0n && !elf.sections.some((s) => s.name === '.dynsym' && s.size > 0)
          ? 'static-pie'
          : 'shared-object';
  } else linkage = 'other';

  const symbols = [...elf.symbols, ...elf.dynamicSymbols].filter((s) => s.name !== '');
  const names = new Set(symbols.map(baseName));
  const haveSymbols = symbols.length > 0;
  const unknownIfNoSymbols = (found: boolean): 'yes' | 'no' | 'unknown' =>
    found ? 'yes' : haveSymbols ? 'no' : 'unknown';

  const stackProtectorSymbols = [...names]
    .filter((n) => /^__stack_chk_(fail|guard|fail_local)$/.test(n) || n === '__stack_smash_handler')
    .sort();
  const fortified = [...names].filter((n) => /^__\w+_chk$/.test(n) && !n.startsWith('__stack_chk')).sort();
  const undefinedNames = new Set(symbols.filter((s) => s.shndx === 0).map(baseName));
  const fortifiable = FORTIFIABLE_FUNCTIONS.filter((f) => undefinedNames.has(f));

  const debugSections = elf.sections.filter((s) => /^\.(z?debug_)/.test(s.name)).map((s) => s.name);
  const debugLinkSection = elf.sections.find((s) => s.name === '.gnu_debuglink' && s.type !== SHT_NOBITS);
  let debugLink: string | undefined;
  if (debugLinkSection) {
    const nul = debugLinkSection.data.indexOf(0);
    debugLink = Buffer.from(debugLinkSection.data.subarray(0, nul >= 0 ? nul : debugLinkSection.data.length)).toString(
      'utf8',
    );
  }

  const hasEntry =
    type === ET_EXEC || (type === ET_DYN && linkage !== 'shared-object') || (type === ET_DYN && elf.entry !== 0n);
  let entryInExecutableSegment: boolean | undefined;
  if (hasEntry) {
    entryInExecutableSegment = elf.segments.some(
      (s) => s.type === PT_LOAD && (s.flags & PF_X) !== 0 && elf.entry >= s.vaddr && elf.entry < s.vaddr + s.memsz,
    );
  }
  const badSegments = elf.segments
    .filter((s) => s.type === PT_LOAD && (s.offset + s.filesz > elf.bytes.length || BigInt(s.filesz) > s.memsz))
    .map((s) => s.index);

  // FPU / SIMD.
  const properties = elf.notes.flatMap((n) => (n.owner === 'GNU' && n.properties ? n.properties : []));
  const u32 = (data: Uint8Array) => (data.length >= 4 ? viewOf(data).getUint32(0, le) : 0);
  let fpu: ElfSecurityFacts['fpu'] = {
    status: 'unknown',
    evidence: 'the file carries no marker of FPU/SIMD use (see audit/README.md)',
  };
  if (elf.machine === EM_X86_64 || elf.machine === EM_386) {
    const used = properties.find((p) => p.type === GNU_PROPERTY_X86_FEATURE_2_USED);
    if (used) {
      const value = u32(used.data);
      const found = Object.entries(X86_FPU_BITS)
        .filter(([bit]) => (value & Number(bit)) !== 0)
        .map(([, name]) => name);
      fpu = found.length
        ? { status: 'used', evidence: `GNU property x86 feature used: ${found.join(', ')}` }
        : { status: 'none', evidence: 'GNU property x86 feature used lists no x87/MMX/SSE/AVX register use' };
    } else {
      fpu = {
        status: 'unknown',
        evidence:
          'no GNU_PROPERTY_X86_FEATURE_2_USED note (assemble with -mx86-used-note=yes to record it); SSE use cannot be seen without disassembly',
      };
    }
  } else if (elf.machine === EM_RISCV) {
    const abi = elf.header.flags & 0x6;
    fpu =
      abi === 0
        ? {
            status: 'none',
            evidence:
              'e_flags: soft-float ABI (EF_RISCV_FLOAT_ABI_SOFT); FP instructions may still appear but no FP registers cross calls',
          }
        : { status: 'used', evidence: `e_flags: hardware float ABI (EF_RISCV_FLOAT_ABI = ${abi})` };
  }
  const cfiFeatures: string[] = [];
  for (const p of properties) {
    const v = u32(p.data);
    if (p.type === GNU_PROPERTY_X86_FEATURE_1_AND) {
      if (v & 1) cfiFeatures.push('IBT');
      if (v & 2) cfiFeatures.push('SHSTK');
    } else if (p.type === GNU_PROPERTY_AARCH64_FEATURE_1_AND) {
      if (v & 1) cfiFeatures.push('BTI');
      if (v & 2) cfiFeatures.push('PAC');
    }
  }
  const has = (list: string[]) => list.some((n) => names.has(n));
  return {
    machine: elf.machineName,
    elfClass: elf.is64 ? 64 : 32,
    type: elf.typeName,
    linkage,
    interpreter: elf.interpreter,
    needed,
    loads,
    writableExecutable: loads.filter((l) => l.writable && l.executable).map((l) => l.index),
    stack: !gnuStack ? 'missing' : gnuStack.flags & PF_X ? 'rwx' : 'rw',
    relro: hasRelro ? (bindNow ? 'full' : 'partial') : 'none',
    bindNow,
    stackProtector: unknownIfNoSymbols(stackProtectorSymbols.length > 0),
    stackProtectorSymbols,
    fortified,
    fortifiable,
    stripped: !elf.sections.some((s) => s.name === '.symtab' && s.size > 0),
    hasDynamicSymbols: elf.dynamicSymbols.length > 1,
    debugSections,
    debugLink,
    entry: elf.entry,
    entryInExecutableSegment,
    loadAddress: elf.loadAddress,
    loadVirtualAddress: elf.loadVirtualAddress,
    badSegments,
    fpu,
    cfiFeatures,
    stackProbes: unknownIfNoSymbols(
      has(['__rust_probestack', '__zig_probe_stack', '__chkstk', '___chkstk_ms', '__chkstk_darwin', '__probestack']),
    ),
    unwinding: unknownIfNoSymbols(
      has(['_Unwind_Resume', 'rust_eh_personality', '__gxx_personality_v0', '_Unwind_RaiseException']),
    ),
    sectionNames: elf.sections.map((s) => s.name),
  };
}
