/**
 * Symbol-table surgery shared by section removal and strip. Spec: gABI 4.1 chapter 4 § "Symbol
 * Table" (local symbols first; the table's sh_info is one past the last local) and § "Relocation"
 * (the symbol index in r_info: ELF32 r_info >> 8, ELF64 r_info >> 32).
 */
import { viewOf, writeU32, writeU64 } from '../io/bytes.js';
import { EM, SHN_LORESERVE, SHT_REL, SHT_RELA, SHT_SYMTAB } from './_constants.js';
import { fail, keepSection, type PlanSection } from './_layout.js';
import type { ElfFile, ElfSection } from './read.js';

/** Removes from `.symtab` the symbols defined in removed sections and renumbers the relocations that use it. */
export function dropSymbolsOfRemovedSections(
  file: ElfFile,
  remove: Set<number>,
  replaced: Map<number, PlanSection>,
): void {
  const symtab = file.sections.find((s) => s.type === SHT_SYMTAB && !remove.has(s.index));
  if (!symtab) return;
  const symbols = file.symbols;
  const keep = symbols.map(
    (sym) => !(sym.index !== 0 && sym.shndx !== 0 && sym.shndx < SHN_LORESERVE && remove.has(sym.shndx)),
  );
  if (keep.every(Boolean)) return;
  const relocs = file.sections.filter(
    (s) => (s.type === SHT_REL || s.type === SHT_RELA) && s.link === symtab.index && !remove.has(s.index),
  );
  if (relocs.length > 0 && file.is64 && file.machine === EM.MIPS) {
    fail(
      'ELF_UNSUPPORTED',
      'renumbering MIPS64 relocations (a different r_info layout) is not supported',
      'strip the linked file instead',
    );
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
      if (now < 0)
        fail('ELF_SECTION_REFERENCED', `relocation ${i} of ${r.name} uses symbol ${sym}, defined in a removed section`);
      writeU64(data, at, (BigInt(now) << 32n) | (info & 0xffffffffn), le);
    } else {
      const info = view.getUint32(at, le);
      const sym = info >>> 8;
      if (sym === 0) continue;
      const now = sym < newIndex.length ? newIndex[sym]! : -1;
      if (now < 0)
        fail('ELF_SECTION_REFERENCED', `relocation ${i} of ${r.name} uses symbol ${sym}, defined in a removed section`);
      writeU32(data, at, ((now << 8) | (info & 0xff)) >>> 0, le);
    }
  }
  const entry = keepSection(r);
  entry.data = data;
  entry.unchanged = false;
  return entry;
}
