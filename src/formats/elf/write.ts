/**
 * ELF section editing: add, replace, remove. Spec: gABI 4.1 chapter 4 § "Sections" (section header
 * fields, special section indices, sh_link/sh_info) and chapter 5 § "Program Header" (what the loader
 * reads, which these operations never change). Every operation returns new bytes; program headers and
 * the contents of every segment stay byte-identical, so the file stays loadable.
 *
 * Replacing a section with data of the same size is done in place: the output equals the input
 * except for the section's bytes (and its header's type/flags/alignment when asked to change) —
 * the signing code relies on this to hash a file with its signature zeroed and then fill it in.
 */
import { writeU32, writeU64 } from '../io/bytes.js';
import { SHF_ALLOC, SHT_NOBITS, SHT_NULL, SHT_PROGBITS } from './_constants.js';
import {
  basePlan,
  fail,
  inSegment,
  keepSection,
  parseInput,
  rebuild,
  type ElfInput,
  type PlanSection,
} from './_layout.js';
import { findSection, type ElfFile, type ElfSection } from './read.js';
import { dropSymbolsOfRemovedSections } from './_symbols.js';

export type { ElfInput } from './_layout.js';

/** Header fields of an added or replaced section. */
export interface SectionOptions {
  /** sh_type; default SHT_PROGBITS (1) for a new section, the existing type for a replaced one. */
  type?: number;
  /** sh_flags; default 0 (not allocated) for a new section, the existing flags for a replaced one. */
  flags?: number;
  /** sh_addralign; default 1 for a new section (4 for SHT_NOTE), the existing alignment for a replaced one. */
  align?: number;
  /** sh_entsize; default 0. */
  entsize?: number;
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0'))
    throw new TypeError(`"name" expected a non-empty section name without NUL, got ${JSON.stringify(name)}`);
}
function checkData(data: Uint8Array): void {
  if (!(data instanceof Uint8Array)) throw new TypeError('"data" expected a Uint8Array');
}
function checkAlign(align: number | undefined): void {
  if (
    align !== undefined &&
    (!Number.isSafeInteger(align) || align < 0 || (align > 1 && (align & (align - 1)) !== 0))
  ) {
    throw new RangeError(`"align" expected 0, 1 or a power of two, got ${align}`);
  }
}

/**
 * Adds a non-allocated section (a manifest, a signature, any blob) after the last segment. The
 * section header table and `.shstrtab` are rewritten; loadable content is unchanged.
 *
 * @example
 * const out = addSection(bytes, '.kiln.manifest', manifest, { align: 8 });
 */
export function addSection(elf: ElfInput, name: string, data: Uint8Array, options: SectionOptions = {}): Uint8Array {
  checkName(name);
  checkData(data);
  checkAlign(options.align);
  const file = parseInput(elf);
  if (findSection(file, name))
    fail(
      'ELF_SECTION_EXISTS',
      `a section named ${name} already exists`,
      'use replaceSection (kiln elf add-section --replace) to change its contents',
    );
  const flags = options.flags ?? 0;
  if (flags & SHF_ALLOC) {
    fail(
      'ELF_ALLOC_SECTION',
      `cannot add ${name} as an allocated (SHF_ALLOC) section: that needs a new loadable segment`,
      'reserve the section in the linker script (e.g. `.sig : { . += 64; }`) and replace its contents with replaceSection',
    );
  }
  const type = options.type ?? SHT_PROGBITS;
  if (type === SHT_NULL) throw new RangeError('"type" expected a section type other than SHT_NULL');
  const plan = basePlan(file);
  plan.push({
    name,
    type,
    flags,
    addr: 0n,
    link: 0,
    info: 0,
    addralign: options.align ?? (type === 7 ? 4 : 1),
    entsize: options.entsize ?? 0,
    size: data.length,
    data,
    unchanged: false,
  });
  return rebuild(file, plan);
}

/**
 * Replaces the contents of section `name`. With data of the same size the file is patched in
 * place (every other byte identical); otherwise the section moves after the last segment, which
 * is only possible for a section outside every segment (an allocated section's size is fixed at
 * link time).
 *
 * @example
 * const signed = replaceSection(bytes, '.nonos.sig', signature); // 64 bytes over 64 reserved bytes
 */
export function replaceSection(
  elf: ElfInput,
  name: string,
  data: Uint8Array,
  options: SectionOptions = {},
): Uint8Array {
  checkName(name);
  checkData(data);
  checkAlign(options.align);
  const file = parseInput(elf);
  const section = findSection(file, name);
  if (!section)
    fail(
      'ELF_NO_SUCH_SECTION',
      `no section named ${name}`,
      `add it with addSection, or list the sections with \`kiln elf info\``,
    );
  if (section.index === 0) fail('ELF_NO_SUCH_SECTION', 'the null section cannot be replaced');
  if (section.index === file.header.shstrndx)
    fail('ELF_SECTION_REFERENCED', `${name} holds the section names; kiln rewrites it itself`);
  const type = options.type ?? section.type;
  const flags = options.flags ?? section.flags;
  if (section.type !== SHT_NOBITS && type !== SHT_NOBITS && data.length === section.size) {
    return replaceInPlace(file, section, data, {
      type,
      flags,
      align: options.align ?? section.addralign,
      entsize: options.entsize ?? section.entsize,
    });
  }
  if (section.flags & SHF_ALLOC || inSegment(file, section)) {
    fail(
      'ELF_SECTION_IN_SEGMENT',
      `${name} is loaded (it lies inside a segment) and is ${section.size} bytes; the new contents are ${data.length} bytes`,
      `reserve exactly ${data.length} bytes for ${name} in the linker script, or give data of exactly ${section.size} bytes`,
      section.headerOffset,
    );
  }
  if ((flags & SHF_ALLOC) !== 0)
    fail('ELF_ALLOC_SECTION', `cannot make ${name} allocated: that needs a new loadable segment`);
  const plan = basePlan(file);
  const entry = plan[section.index]!;
  entry.type = type;
  entry.flags = flags;
  entry.addralign = options.align ?? section.addralign;
  entry.entsize = options.entsize ?? section.entsize;
  entry.data = type === SHT_NOBITS ? new Uint8Array(0) : data;
  entry.size = type === SHT_NOBITS ? data.length : data.length;
  entry.unchanged = false;
  return rebuild(file, plan);
}

/**
 * Replaces section `name` if it exists, adds it otherwise.
 * @example const out = setSection(bytes, '.kiln.manifest', manifest);
 */
export function setSection(elf: ElfInput, name: string, data: Uint8Array, options: SectionOptions = {}): Uint8Array {
  const file = parseInput(elf);
  return findSection(file, name) ? replaceSection(file, name, data, options) : addSection(file, name, data, options);
}

function replaceInPlace(
  file: ElfFile,
  section: ElfSection,
  data: Uint8Array,
  h: { type: number; flags: number; align: number; entsize: number },
): Uint8Array {
  const out = file.bytes.slice();
  out.set(data, section.offset);
  const le = file.littleEndian;
  const at = section.headerOffset;
  if (h.type !== section.type) writeU32(out, at + 4, h.type, le);
  if (file.is64) {
    if (h.flags !== section.flags) writeU64(out, at + 8, BigInt(h.flags), le);
    if (h.align !== section.addralign) writeU64(out, at + 48, BigInt(h.align), le);
    if (h.entsize !== section.entsize) writeU64(out, at + 56, BigInt(h.entsize), le);
  } else {
    if (h.flags !== section.flags) writeU32(out, at + 8, h.flags, le);
    if (h.align !== section.addralign) writeU32(out, at + 32, h.align, le);
    if (h.entsize !== section.entsize) writeU32(out, at + 36, h.entsize, le);
  }
  return out;
}

/**
 * Removes a section that is not loaded. Sections and symbols that refer to it make this fail
 * (remove them first, or use strip).
 *
 * @example const out = removeSection(bytes, '.comment');
 */
export function removeSection(elf: ElfInput, name: string): Uint8Array {
  checkName(name);
  const file = parseInput(elf);
  const section = findSection(file, name);
  if (!section || section.index === 0) fail('ELF_NO_SUCH_SECTION', `no section named ${name}`);
  return removeSections(file, new Set([section.index]));
}

/** Removes the sections with the given indices (internal: also used by strip). */
export function removeSections(
  file: ElfFile,
  remove: Set<number>,
  replaced: Map<number, PlanSection> = new Map(),
  zeroRemoved = true,
  append: PlanSection[] = [],
): Uint8Array {
  for (const index of remove) {
    const s = file.sections[index]!;
    if (index === file.header.shstrndx)
      fail('ELF_SECTION_REFERENCED', `${s.name} holds the section names and cannot be removed`);
    if (inSegment(file, s) || (s.flags & SHF_ALLOC && file.segments.length > 0)) {
      fail(
        'ELF_SECTION_IN_SEGMENT',
        `${s.name} is loaded (allocated or inside a segment) and cannot be removed without changing the program`,
        'change the linker script instead',
        s.headerOffset,
      );
    }
    for (const other of file.sections) {
      if (remove.has(other.index) || other.index === 0) continue;
      // A loaded relocation table's sh_link (to .symtab in static executables) is not used at run time: it becomes 0, as GNU strip does.
      const loadedRelocs = other.flags & SHF_ALLOC && (other.type === 4 || other.type === 9);
      if (other.link === index && other.type !== SHT_NULL && !loadedRelocs)
        fail('ELF_SECTION_REFERENCED', `${other.name} links to ${s.name} (sh_link)`, `remove ${other.name} too`);
      if (other.info === index && (other.flags & 0x40 || other.type === 4 || other.type === 9))
        fail('ELF_SECTION_REFERENCED', `${other.name} applies to ${s.name} (sh_info)`, `remove ${other.name} too`);
    }
  }
  // Symbols defined in removed sections (a relocatable object's section symbols) go with them.
  dropSymbolsOfRemovedSections(file, remove, replaced);
  const plan: PlanSection[] = file.sections.length === 0 ? basePlan(file) : [];
  for (const s of file.sections) {
    if (remove.has(s.index)) continue;
    plan.push(replaced.get(s.index) ?? keepSection(s));
  }
  plan.push(...append);
  return rebuild(file, plan, { zeroRemoved });
}
