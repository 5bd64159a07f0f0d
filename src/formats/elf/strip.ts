/**
 * Strip with a separate debug file. Spec: gABI 4.1 chapter 4 § "Sections", § "Symbol Table"
 * (locals first, sh_info = one past the last local) and § "Relocation" (r_info symbol index:
 * ELF32 r_info >> 8, ELF64 r_info >> 32); the debug-file convention of GDB's manual § 18.3
 * "Debugging Information in Separate Files": `.gnu_debuglink` holds the debug file's name, NUL,
 * padding to 4, then the CRC-32 (the zlib/IEEE polynomial) of the whole debug file in the target's
 * byte order; the debug file keeps every section header, with the contents of allocated sections
 * dropped (SHT_NOBITS), like `objcopy --only-keep-debug`.
 */
import { crc32 } from '../io/crc32.js';
import { encodeUtf8, viewOf, writeU16, writeU32, writeU64 } from '../io/bytes.js';
import {
  PT_INTERP,
  PT_LOAD,
  PT_PHDR,
  SHF_ALLOC,
  SHT_NOBITS,
  SHT_NULL,
  SHT_PROGBITS,
  SHT_REL,
  SHT_RELA,
  SHT_SYMTAB,
} from './_constants.js';
import { basePlan, fail, parseInput, rebuild, type ElfInput, type PlanSection } from './_layout.js';
import { removeSections } from './write.js';

/** Options of `strip`: what to remove and whether to link the debug file. */
export interface StripOptions {
  /** `all`: debug sections and the symbol table; `debug`: debug sections only (symbols kept). */
  mode: 'all' | 'debug';
  /** File name recorded in `.gnu_debuglink` (the debug file's base name); `false` adds no link. Default `debug`. */
  debugLink?: string | false;
}

/** The stripped ELF and its separate debug file. */
export interface StripResult {
  /** The stripped file (with `.gnu_debuglink` unless `debugLink: false`). */
  stripped: Uint8Array;
  /** The separate debug file (`objcopy --only-keep-debug` equivalent). */
  debug: Uint8Array;
  /** Names of the sections removed from the stripped file. */
  removed: string[];
}

/** Debugging sections as GNU strip --strip-debug recognizes them. */
export function isDebugSectionName(name: string): boolean {
  return (
    name.startsWith('.debug') ||
    name.startsWith('.zdebug') ||
    name.startsWith('.gnu.debuglto_') ||
    name === '.line' ||
    name.startsWith('.stab') ||
    name === '.gdb_index' ||
    name.startsWith('.gnu.linkonce.wi.')
  );
}

/**
 * Strips debug sections (and with `mode: 'all'` the symbol table), returning the stripped file
 * and a separate debug file; the stripped file gets a `.gnu_debuglink` naming the debug file.
 *
 * @example
 * const { stripped, debug } = strip(bytes, { mode: 'all', debugLink: 'kernel.debug' });
 * // write stripped as kernel.elf and debug as kernel.debug next to it: gdb finds it by the link
 */
export function strip(elf: ElfInput, options: StripOptions): StripResult {
  if (!options || (options.mode !== 'all' && options.mode !== 'debug'))
    throw new TypeError('"mode" expected "all" or "debug"');
  const file = parseInput(elf);
  const debug = onlyKeepDebug(file);
  const remove = new Set<number>();
  const byIndex = (i: number) => file.sections[i];
  for (const s of file.sections) {
    if (s.index === 0 || s.flags & SHF_ALLOC) continue;
    if (isDebugSectionName(s.name) || s.name === '.gnu_debuglink') remove.add(s.index);
  }
  if (options.mode === 'all') {
    for (const s of file.sections) {
      if (s.type !== SHT_SYMTAB) continue;
      remove.add(s.index);
      const strtab = byIndex(s.link);
      if (strtab && s.link !== file.header.shstrndx && s.link !== 0 && !(strtab.flags & SHF_ALLOC)) {
        const usedElsewhere = file.sections.some(
          (o) => o.index !== s.index && !remove.has(o.index) && o.link === s.link && o.type !== SHT_NULL,
        );
        if (!usedElsewhere) remove.add(s.link);
      }
    }
  }
  // Relocations for removed sections go with them; relocations that need a removed symbol table cannot.
  for (const s of file.sections) {
    if ((s.type === SHT_REL || s.type === SHT_RELA) && !(s.flags & SHF_ALLOC) && s.info !== 0 && remove.has(s.info))
      remove.add(s.index);
  }
  for (const s of file.sections) {
    if (remove.has(s.index) || (s.type !== SHT_REL && s.type !== SHT_RELA)) continue;
    if (remove.has(s.link) && byIndex(s.link)?.type === SHT_SYMTAB && !(s.flags & SHF_ALLOC)) {
      fail(
        'ELF_STRIP_RELOCATABLE',
        `${s.name} needs the symbol table that --strip-all would remove`,
        'strip a relocatable object with mode "debug", or strip the linked file',
      );
    }
  }
  const replaced = new Map<number, PlanSection>();
  // One pass: removal and the new .gnu_debuglink (a non-allocated PROGBITS section, aligned 4).
  const link: PlanSection[] =
    options.debugLink === false
      ? []
      : [
          {
            name: '.gnu_debuglink',
            type: SHT_PROGBITS,
            flags: 0,
            addr: 0n,
            link: 0,
            info: 0,
            addralign: 4,
            entsize: 0,
            size: 0,
            data: debugLinkContents(options.debugLink ?? 'debug', debug, file.littleEndian),
            unchanged: false,
          },
        ];
  const stripped = removeSections(file, remove, replaced, true, link);
  const removed = [...remove].sort((a, b) => a - b).map((i) => file.sections[i]!.name);
  return { stripped, debug, removed };
}

/**
 * `.gnu_debuglink` contents: name, NUL, zero padding to 4, CRC-32 of the debug file.
 * @example debugLinkContents('kernel.debug', debugBytes, true)
 */
export function debugLinkContents(name: string, debugFile: Uint8Array, le: boolean): Uint8Array {
  if (!name || name.includes('/') || name.includes('\0'))
    throw new TypeError(`"debugLink" expected a file base name, got ${JSON.stringify(name)}`);
  const nameBytes = encodeUtf8(name);
  const at = Math.ceil((nameBytes.length + 1) / 4) * 4;
  const out = new Uint8Array(at + 4);
  out.set(nameBytes, 0);
  writeU32(out, at, crc32(debugFile), le);
  return out;
}

/**
 * Reads `.gnu_debuglink`: the debug file name and its expected CRC-32.
 * @example readDebugLink(readElf(bytes)) // { name: 'kernel.debug', crc: 0x1234abcd }
 */
export function readDebugLink(elf: ElfInput): { name: string; crc: number } | undefined {
  const file = parseInput(elf);
  const s = file.sections.find((x) => x.name === '.gnu_debuglink');
  if (!s || s.data.length < 8) return undefined;
  const nul = s.data.indexOf(0);
  if (nul < 0) return undefined;
  const at = Math.ceil((nul + 1) / 4) * 4;
  if (at + 4 > s.data.length) return undefined;
  return {
    name: new TextDecoder().decode(s.data.subarray(0, nul)),
    crc: viewOf(s.data).getUint32(at, file.littleEndian),
  };
}

/**
 * The debug file: same ELF header and program headers (with no file contents), every section
 * header kept at the same index; allocated sections become SHT_NOBITS except notes (so the build
 * id stays), non-allocated sections (debug info, symbols, strings, comments) keep their contents.
 *
 * @example const debugFile = onlyKeepDebug(bytes);
 */
export function onlyKeepDebug(elf: ElfInput): Uint8Array {
  const file = parseInput(elf);
  const le = file.littleEndian;
  const is64 = file.is64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phnum = file.segments.length;
  const phsize = phnum * phentsize;
  // Keep the program header table where it was when that is near the start (PT_PHDR then stays
  // right), else put it after the ELF header.
  const orig = file.header.phoff;
  const phoff =
    phnum === 0 ? 0 : orig >= ehsize && orig + phsize <= 1 << 16 && file.header.phentsize === phentsize ? orig : ehsize;
  // PT_INTERP keeps its string (readelf insists on finding it), copied after the program headers.
  const interp = file.segments.find((p) => p.type === PT_INTERP && p.filesz > 0 && p.filesz <= 4096);
  const headEnd = Math.max(ehsize, phoff + phsize);
  const prefix = new Uint8Array(headEnd + (interp?.filesz ?? 0));
  if (interp) prefix.set(file.bytes.subarray(interp.offset, interp.offset + interp.filesz), headEnd);
  prefix.set(file.bytes.subarray(0, ehsize), 0);
  if (phoff === orig && phnum > 0) prefix.set(file.bytes.subarray(orig, orig + phsize), orig);
  if (is64) writeU64(prefix, 32, BigInt(phoff), le);
  else writeU32(prefix, 28, phoff, le);
  writeU16(prefix, is64 ? 54 : 42, phnum > 0 ? phentsize : file.header.phentsize, le);
  // The segment that held the program headers still covers them (readelf checks that a LOAD covers PT_PHDR).
  const phdrHolder = file.segments.find(
    (p) => p.type === PT_LOAD && p.offset <= orig && orig + phsize <= p.offset + p.filesz,
  );
  for (const p of file.segments) {
    const at = phoff + p.index * phentsize;
    let offset = 0;
    let filesz = 0;
    if (p === interp) {
      offset = headEnd;
      filesz = p.filesz;
    } else if (p.type === PT_PHDR && phoff === orig) {
      offset = p.offset;
      filesz = p.filesz;
    } else if (p === phdrHolder && phoff === orig) {
      offset = p.offset;
      filesz = Math.min(p.filesz, headEnd - p.offset);
    }
    writeU32(prefix, at, p.type, le);
    if (is64) {
      writeU32(prefix, at + 4, p.flags, le);
      writeU64(prefix, at + 8, BigInt(offset), le);
      writeU64(prefix, at + 16, p.vaddr, le);
      writeU64(prefix, at + 24, p.paddr, le);
      writeU64(prefix, at + 32, BigInt(filesz), le);
      writeU64(prefix, at + 40, p.memsz, le);
      writeU64(prefix, at + 48, p.align, le);
    } else {
      writeU32(prefix, at + 4, offset, le);
      writeU32(prefix, at + 8, Number(p.vaddr), le);
      writeU32(prefix, at + 12, Number(p.paddr), le);
      writeU32(prefix, at + 16, filesz, le);
      writeU32(prefix, at + 20, Number(p.memsz), le);
      writeU32(prefix, at + 24, p.flags, le);
      writeU32(prefix, at + 28, Number(p.align), le);
    }
  }
  const plan = basePlan(file);
  for (const s of plan) {
    if (s.type === SHT_NULL || s.type === SHT_NOBITS) continue;
    if (s.flags & SHF_ALLOC && s.type !== 7) {
      s.type = SHT_NOBITS;
      s.data = new Uint8Array(0);
      s.unchanged = false;
    }
    if (s.name === '.gnu_debuglink') {
      s.type = SHT_NOBITS;
      s.data = new Uint8Array(0);
    }
  }
  return rebuild(file, plan, { prefix, relayoutAll: true });
}
