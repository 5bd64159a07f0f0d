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
import { EM, PT_INTERP, PT_LOAD, PT_PHDR, SHF_ALLOC, SHN_LORESERVE, SHT_NOBITS, SHT_NULL, SHT_REL, SHT_RELA, SHT_SYMTAB } from './_constants.js';
import { fail, keepSection, parseInput, rebuild, type ElfInput, type PlanSection } from './_layout.js';
import type { ElfFile, ElfSection } from './read.js';
import { addSection, removeSections } from './write.js';

export interface StripOptions {
  /** `all`: debug sections and the symbol table; `debug`: debug sections only (symbols kept). */
  mode: 'all' | 'debug';
  /** File name recorded in `.gnu_debuglink` (the debug file's base name); `false` adds no link. Default `debug`. */
  debugLink?: string | false;
}

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
  return name.startsWith('.debug') || name.startsWith('.zdebug') || name.startsWith('.gnu.debuglto_') || name === '.line' ||
    name.startsWith('.stab') || name === '.gdb_index' || name.startsWith('.gnu.linkonce.wi.');
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
  if (!options || (options.mode !== 'all' && options.mode !== 'debug')) throw new TypeError('"mode" expected "all" or "debug"');
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
        const usedElsewhere = file.sections.some((o) => o.index !== s.index && !remove.has(o.index) && o.link === s.link && o.type !== SHT_NULL);
        if (!usedElsewhere) remove.add(s.link);
      }
    }
  }
  // Relocations for removed sections go with them; relocations that need a removed symbol table cannot.
  for (const s of file.sections) {
    if ((s.type === SHT_REL || s.type === SHT_RELA) && !(s.flags & SHF_ALLOC) && s.info !== 0 && remove.has(s.info)) remove.add(s.index);
  }
  for (const s of file.sections) {
    if (remove.has(s.index) || (s.type !== SHT_REL && s.type !== SHT_RELA)) continue;
    if (remove.has(s.link) && byIndex(s.link)?.type === SHT_SYMTAB && !(s.flags & SHF_ALLOC)) {
      fail('ELF_STRIP_RELOCATABLE', `${s.name} needs the symbol table that --strip-all would remove`, 'strip a relocatable object with mode "debug", or strip the linked file');
    }
  }
  const replaced = new Map<number, PlanSection>();
  if (options.mode === 'debug') dropSymbolsOfRemovedSections(file, remove, replaced);
  let stripped = removeSections(file, remove, replaced);
  if (options.debugLink !== false) {
    stripped = addSection(stripped, '.gnu_debuglink', debugLinkContents(options.debugLink ?? 'debug', debug, file.littleEndian), { align: 4 });
  }
  const removed = [...remove].sort((a, b) => a - b).map((i) => file.sections[i]!.name);
  return { stripped, debug, removed };
}

/**
 * `.gnu_debuglink` contents: name, NUL, zero padding to 4, CRC-32 of the debug file.
 * @example debugLinkContents('kernel.debug', debugBytes, true)
 */
export function debugLinkContents(name: string, debugFile: Uint8Array, le: boolean): Uint8Array {
  if (!name || name.includes('/') || name.includes('\0')) throw new TypeError(`"debugLink" expected a file base name, got ${JSON.stringify(name)}`);
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
  return { name: new TextDecoder().decode(s.data.subarray(0, nul)), crc: viewOf(s.data).getUint32(at, file.littleEndian) };
}

/** Removes from `.symtab` the symbols defined in removed sections and renumbers the relocations that use it. */
function dropSymbolsOfRemovedSections(file: ElfFile, remove: Set<number>, replaced: Map<number, PlanSection>): void {
  const symtab = file.sections.find((s) => s.type === SHT_SYMTAB && !remove.has(s.index));
  if (!symtab) return;
  const symbols = file.symbols;
  const keep = symbols.map((sym) => !(sym.index !== 0 && sym.shndx !== 0 && sym.shndx < SHN_LORESERVE && remove.has(sym.shndx)));
  if (keep.every(Boolean)) return;
  const relocs = file.sections.filter((s) => (s.type === SHT_REL || s.type === SHT_RELA) && s.link === symtab.index && !remove.has(s.index));
  if (relocs.length > 0 && file.is64 && file.machine === EM.MIPS) {
    fail('ELF_UNSUPPORTED', 'renumbering MIPS64 relocations (a different r_info layout) is not supported', 'strip the linked file instead');
  }
  const newIndex = new Int32Array(symbols.length).fill(-1);
  const parts: Uint8Array[] = [];
  let locals = 0;
  let n = 0;
  for (const sym of symbols) {
    if (!keep[sym.index]) continue;
    newIndex[sym.index] = n++;
    if (sym.index < symtab.info) locals = n;
    parts.push(symtab.data.subarray(sym.index * symtab.entsize, (sym.index + 1) * symtab.entsize));
  }
  const data = new Uint8Array(n * symtab.entsize);
  parts.forEach((p, i) => data.set(p, i * symtab.entsize));
  const entry = keepSection(symtab);
  entry.data = data;
  entry.size = data.length;
  entry.info = locals;
  entry.unchanged = false;
  replaced.set(symtab.index, entry);
  for (const r of relocs) replaced.set(r.index, renumberRelocations(file, r, newIndex));
}

function renumberRelocations(file: ElfFile, r: ElfSection, newIndex: Int32Array): PlanSection {
  const le = file.littleEndian;
  const entsize = r.entsize || (file.is64 ? (r.type === SHT_RELA ? 24 : 16) : r.type === SHT_RELA ? 12 : 8);
  const data = r.data.slice();
  const view = viewOf(data);
  const count = Math.floor(data.length / entsize);
  for (let i = 0; i < count; i++) {
    const at = i * entsize + (file.is64 ? 8 : 4);
    if (file.is64) {
      const info = view.getBigUint64(at, le);
      const sym = Number(info >> 32n);
      if (sym === 0) continue;
      const now = sym < newIndex.length ? newIndex[sym]! : -1;
      if (now < 0) fail('ELF_SECTION_REFERENCED', `relocation ${i} of ${r.name} uses symbol ${sym}, defined in a removed section`);
      writeU64(data, at, (BigInt(now) << 32n) | (info & 0xffffffffn), le);
    } else {
      const info = view.getUint32(at, le);
      const sym = info >>> 8;
      if (sym === 0) continue;
      const now = sym < newIndex.length ? newIndex[sym]! : -1;
      if (now < 0) fail('ELF_SECTION_REFERENCED', `relocation ${i} of ${r.name} uses symbol ${sym}, defined in a removed section`);
      writeU32(data, at, ((now << 8) | (info & 0xff)) >>> 0, le);
    }
  }
  const entry = keepSection(r);
  entry.data = data;
  entry.unchanged = false;
  return entry;
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
  const phoff = phnum === 0 ? 0 : orig >= ehsize && orig + phsize <= 1 << 16 && file.header.phentsize === phentsize ? orig : ehsize;
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
  const phdrHolder = file.segments.find((p) => p.type === PT_LOAD && p.offset <= orig && orig + phsize <= p.offset + p.filesz);
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
  const plan: PlanSection[] = file.sections.length > 0 ? file.sections.map(keepSection) : [];
  if (plan.length === 0) {
    plan.push({ name: '', type: SHT_NULL, flags: 0, addr: 0n, link: 0, info: 0, addralign: 0, entsize: 0, size: 0, data: new Uint8Array(0), unchanged: true });
  }
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
