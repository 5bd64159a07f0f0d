/**
 * A JSON-safe summary of an ELF file: what `readelf -h -l -S -n` print together, plus the facts a
 * boot flow needs (load address, the segment holding the entry, PVH note, multiboot headers).
 * Spec: see read.ts (gABI 4.1 ch. 4-5), notes.ts and multiboot.ts. Addresses are `0x…` strings
 * (64-bit values do not fit JSON numbers).
 */
import { findMultiboot, type MultibootHeader } from './multiboot.js';
import type { ElfFile } from './read.js';
import { toHex } from '../io/bytes.js';

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/** What `kiln elf` prints first: class, byte order, machine, type, entry, segments and sections in brief. */
export interface ElfSummary {
  class: 32 | 64;
  endian: 'little' | 'big';
  machine: string;
  machineNumber: number;
  type: string;
  osabi: number;
  flags: string;
  entry: string;
  entryPhysical: string | null;
  loadAddress: string | null;
  loadVirtualAddress: string | null;
  /** The PT_LOAD holding the entry: index, flags, and whether it is executable. */
  entrySegment: { index: number; flags: string; executable: boolean } | null;
  entrySection: string | null;
  buildId: string | null;
  pvhEntry: string | null;
  interpreter: string | null;
  multiboot: Array<{ version: 1 | 2; offset: number }>;
  segments: Array<{
    index: number;
    type: string;
    offset: number;
    vaddr: string;
    paddr: string;
    filesz: number;
    memsz: string;
    flags: string;
    align: string;
    sections: string[];
  }>;
  sections: Array<{
    index: number;
    name: string;
    type: string;
    flags: string;
    addr: string;
    offset: number;
    size: number;
    link: number;
    info: number;
    align: number;
    entsize: number;
  }>;
  symbols: { symtab: number; dynsym: number };
  notes: Array<{
    owner: string;
    type: string;
    size: number;
    source: string;
    value?: string;
    text?: string;
    description?: string;
  }>;
  dynamic: Array<{ tag: string; value: string; text?: string }>;
}

/**
 * Summarizes a parsed ELF file for printing or JSON.
 * @example console.log(JSON.stringify(summarizeElf(readElf(bytes)), null, 2));
 */
export function summarizeElf(elf: ElfFile): ElfSummary {
  const mb: MultibootHeader[] = findMultiboot(elf.bytes);
  const entrySeg = elf.entrySegment === undefined ? undefined : elf.segments[elf.entrySegment];
  return {
    class: elf.header.class,
    endian: elf.littleEndian ? 'little' : 'big',
    machine: elf.machineName,
    machineNumber: elf.machine,
    type: elf.typeName,
    osabi: elf.header.osabi,
    flags: hex(elf.header.flags),
    entry: hex(elf.entry),
    entryPhysical: elf.entryPhysical === undefined ? null : hex(elf.entryPhysical),
    loadAddress: elf.loadAddress === undefined ? null : hex(elf.loadAddress),
    loadVirtualAddress: elf.loadVirtualAddress === undefined ? null : hex(elf.loadVirtualAddress),
    entrySegment: entrySeg
      ? { index: entrySeg.index, flags: entrySeg.flagsText, executable: (entrySeg.flags & 1) !== 0 }
      : null,
    entrySection: elf.entrySection ?? null,
    buildId: elf.buildId ?? null,
    pvhEntry: elf.pvhEntry === undefined ? null : hex(elf.pvhEntry),
    interpreter: elf.interpreter ?? null,
    multiboot: mb.map((h) => ({ version: h.version, offset: h.offset })),
    segments: elf.segments.map((p) => ({
      index: p.index,
      type: p.typeName,
      offset: p.offset,
      vaddr: hex(p.vaddr),
      paddr: hex(p.paddr),
      filesz: p.filesz,
      memsz: hex(p.memsz),
      flags: p.flagsText,
      align: hex(p.align),
      sections: elf.sections
        .filter(
          (s) =>
            s.index !== 0 &&
            s.flags & 2 &&
            (s.type === 8
              ? s.addr >= p.vaddr && s.addr < p.vaddr + p.memsz
              : s.size > 0 && s.offset >= p.offset && s.offset + s.size <= p.offset + p.filesz),
        )
        .map((s) => s.name),
    })),
    sections: elf.sections.map((s) => ({
      index: s.index,
      name: s.name,
      type: s.typeName,
      flags: s.flagsText,
      addr: hex(s.addr),
      offset: s.offset,
      size: s.size,
      link: s.link,
      info: s.info,
      align: s.addralign,
      entsize: s.entsize,
    })),
    symbols: { symtab: elf.symbols.length, dynsym: elf.dynamicSymbols.length },
    notes: elf.notes.map((n) => ({
      owner: n.owner,
      type: n.typeName,
      size: n.desc.length,
      source: n.source,
      ...(n.owner === 'GNU' && n.type === 3 ? { value: toHex(n.desc) } : {}),
      ...(n.value !== undefined ? { value: hex(n.value) } : {}),
      ...(n.text !== undefined ? { text: n.text } : {}),
      ...(n.abiTag ? { description: `${n.abiTag.os} ${n.abiTag.version}` } : {}),
      ...(n.properties ? { description: n.properties.map((p) => p.description).join('; ') } : {}),
    })),
    dynamic: elf.dynamic.map((d) => ({
      tag: d.tagName,
      value: hex(d.value),
      ...(d.text !== undefined ? { text: d.text } : {}),
    })),
  };
}
