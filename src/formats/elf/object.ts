/**
 * A relocatable ELF object that carries one file's bytes, like `ld -r -b binary` (or
 * `objcopy -I binary -O elf64-x86-64`) makes: one data section holding the bytes and three global
 * symbols, `_binary_<symbol>_start` and `_end` (at the first byte and just past the last) and
 * `_size` (absolute, its value the byte count). The symbol name is given, not taken from the
 * path, so the object is the same from any working directory.
 *
 * Spec: System V gABI 4.1 chapter 4 "Object Files": ELF header (e_ident, ET_REL, e_machine),
 * Sections (sh_type, sh_flags, sh_link/sh_info of SHT_SYMTAB: sh_info = index of the first
 * non-local symbol), String Table, Symbol Table (st_info = bind << 4 | type, SHN_ABS,
 * STT_SECTION), plus the GNU convention of an empty `.note.GNU-stack` (no executable stack); ELF-64 Object File Format 1.5 for the 64-bit layouts; psABI machine numbers
 * EM_386 (3), EM_X86_64 (62), EM_AARCH64 (183).
 *
 * Two phases: `layoutBinaryObject` computes every offset and builds the metadata (header, symbol
 * and string tables, section headers); `writeBinaryObject` streams the data into place between them.
 */
import { type BlockSink, writeImageFile } from '../io/block-writer.js';
import { encodeUtf8, writeU16, writeU32, writeU64 } from '../io/bytes.js';
import { type Content, contentSize } from '../io/content.js';
import {
  EM,
  ET_REL,
  SHF_ALLOC,
  SHF_WRITE,
  SHN_ABS,
  SHT_NULL,
  SHT_PROGBITS,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_GLOBAL,
  STB_LOCAL,
  STT_NOTYPE,
  STT_SECTION,
} from './_constants.js';

/** Targets kiln writes objects for: ELF class and machine. */
export const OBJECT_TARGETS = {
  x86_64: { class: 64, machine: EM.X86_64 },
  aarch64: { class: 64, machine: EM.AARCH64 },
  i386: { class: 32, machine: EM.I386 },
} as const;
/** The architectures `writeBinaryObject` makes relocatable objects for. */
export type ObjectArch = keyof typeof OBJECT_TARGETS;

/** Options of `writeBinaryObject`: the target and the symbol names the data gets. */
export interface BinaryObjectOptions {
  /** Target whose ELF class and machine the object gets. */
  arch: ObjectArch;
  /** Middle part of the symbol names: `_binary_<symbol>_start`. A C identifier. */
  symbol: string;
  /** Exact symbol names instead of `_binary_<symbol>_{start,end,size}`. */
  names?: { start?: string; end?: string; size?: string };
  /** Section holding the bytes. Default `.rodata` (read-only); `.data` is writable, as `ld -b binary` makes it. */
  section?: string;
  /** Alignment of the section (a power of two). Default 16. */
  align?: number;
}

/** The object file `writeBinaryObject` writes, in parts: head, the data's place, tail. */
export interface BinaryObjectLayout {
  /** ELF header + padding up to the data. */
  head: Uint8Array;
  dataOffset: number;
  dataSize: number;
  /** Symbol table, string tables and section headers, written at `tailOffset`. */
  tail: Uint8Array;
  tailOffset: number;
  size: number;
  symbols: { start: string; end: string; size: string };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const align = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * The `symbol` that `ld -b binary` derives from a path: every character that is not a letter or
 * digit becomes `_`.
 * @example symbolForPath('initrd/root.tar') // 'initrd_root_tar'
 */
export function symbolForPath(path: string): string {
  return path.replace(/[^A-Za-z0-9]/g, '_');
}

/** A string table from names; returns the bytes and each name's offset. */
function stringTable(names: string[]): { bytes: Uint8Array; offsets: number[] } {
  const parts: Uint8Array[] = [new Uint8Array(1)];
  const offsets: number[] = [];
  let at = 1;
  for (const name of names) {
    const b = encodeUtf8(name);
    offsets.push(at);
    parts.push(b, new Uint8Array(1));
    at += b.length + 1;
  }
  const bytes = new Uint8Array(at);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, offsets };
}

interface SectionHeader {
  name: number;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

function writeSectionHeader(buf: Uint8Array, at: number, is64: boolean, h: SectionHeader): void {
  writeU32(buf, at, h.name, true);
  writeU32(buf, at + 4, h.type, true);
  if (is64) {
    writeU64(buf, at + 8, h.flags, true);
    writeU64(buf, at + 16, 0, true);
    writeU64(buf, at + 24, h.offset, true);
    writeU64(buf, at + 32, h.size, true);
    writeU32(buf, at + 40, h.link, true);
    writeU32(buf, at + 44, h.info, true);
    writeU64(buf, at + 48, h.align, true);
    writeU64(buf, at + 56, h.entsize, true);
  } else {
    writeU32(buf, at + 8, h.flags, true);
    writeU32(buf, at + 12, 0, true);
    writeU32(buf, at + 16, h.offset, true);
    writeU32(buf, at + 20, h.size, true);
    writeU32(buf, at + 24, h.link, true);
    writeU32(buf, at + 28, h.info, true);
    writeU32(buf, at + 32, h.align, true);
    writeU32(buf, at + 36, h.entsize, true);
  }
}

function writeSymbol(
  buf: Uint8Array,
  at: number,
  is64: boolean,
  s: { name: number; value: number; size: number; bind: number; type: number; shndx: number },
): void {
  writeU32(buf, at, s.name, true);
  const info = (s.bind << 4) | s.type;
  if (is64) {
    buf[at + 4] = info;
    buf[at + 5] = 0;
    writeU16(buf, at + 6, s.shndx, true);
    writeU64(buf, at + 8, s.value, true);
    writeU64(buf, at + 16, s.size, true);
  } else {
    writeU32(buf, at + 4, s.value, true);
    writeU32(buf, at + 8, s.size, true);
    buf[at + 12] = info;
    buf[at + 13] = 0;
    writeU16(buf, at + 14, s.shndx, true);
  }
}

/**
 * Lays out the object for `dataSize` bytes of data.
 * @example const layout = layoutBinaryObject(4096, { arch: 'aarch64', symbol: 'initrd_tar' }); layout.symbols.start // '_binary_initrd_tar_start'
 */
export function layoutBinaryObject(dataSize: number, options: BinaryObjectOptions): BinaryObjectLayout {
  const target = OBJECT_TARGETS[options.arch];
  if (!target)
    throw new TypeError(
      `"arch" expected ${Object.keys(OBJECT_TARGETS).join(', ')}, got ${JSON.stringify(options.arch)}`,
    );
  const symbols = {
    start: options.names?.start ?? `_binary_${options.symbol}_start`,
    end: options.names?.end ?? `_binary_${options.symbol}_end`,
    size: options.names?.size ?? `_binary_${options.symbol}_size`,
  };
  for (const name of Object.values(symbols))
    if (!IDENTIFIER.test(name)) throw new TypeError(`symbol name expected a C identifier, got ${JSON.stringify(name)}`);
  const is64 = target.class === 64;
  if (!is64 && dataSize > 0xffffffff)
    throw new RangeError(`"data" is ${dataSize} bytes; a 32-bit object holds at most 4 GiB`);
  const sectionAlign = options.align ?? 16;
  if (!Number.isInteger(sectionAlign) || sectionAlign < 1 || (sectionAlign & (sectionAlign - 1)) !== 0)
    throw new RangeError(`"align" expected a power of two, got ${sectionAlign}`);
  const sectionName = options.section ?? '.rodata';
  if (!/^\.?[A-Za-z0-9_.$]+$/.test(sectionName))
    throw new TypeError(`"section" expected a section name like .rodata, got ${JSON.stringify(sectionName)}`);

  const ehsize = is64 ? 64 : 52;
  const symSize = is64 ? 24 : 16;
  const shSize = is64 ? 64 : 40;
  const wordAlign = is64 ? 8 : 4;
  const dataOffset = align(ehsize, sectionAlign);
  const symtabOffset = align(dataOffset + dataSize, wordAlign);
  const symCount = 5;
  const strtab = stringTable([symbols.start, symbols.end, symbols.size]);
  const shstrtab = stringTable([sectionName, '.symtab', '.strtab', '.shstrtab', '.note.GNU-stack']);
  const strtabOffset = symtabOffset + symCount * symSize;
  const shstrtabOffset = strtabOffset + strtab.bytes.length;
  const shOffset = align(shstrtabOffset + shstrtab.bytes.length, wordAlign);
  const sectionCount = 6;
  const size = shOffset + sectionCount * shSize;

  const head = new Uint8Array(dataOffset);
  head.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1, 0]);
  writeU16(head, 16, ET_REL, true);
  writeU16(head, 18, target.machine, true);
  writeU32(head, 20, 1, true);
  if (is64) {
    writeU64(head, 24, 0, true); // e_entry
    writeU64(head, 32, 0, true); // e_phoff
    writeU64(head, 40, shOffset, true);
    writeU32(head, 48, 0, true); // e_flags
    writeU16(head, 52, ehsize, true);
    writeU16(head, 54, 0, true);
    writeU16(head, 56, 0, true);
    writeU16(head, 58, shSize, true);
    writeU16(head, 60, sectionCount, true);
    writeU16(head, 62, 4, true);
  } else {
    writeU32(head, 24, 0, true);
    writeU32(head, 28, 0, true);
    writeU32(head, 32, shOffset, true);
    writeU32(head, 36, 0, true);
    writeU16(head, 40, ehsize, true);
    writeU16(head, 42, 0, true);
    writeU16(head, 44, 0, true);
    writeU16(head, 46, shSize, true);
    writeU16(head, 48, sectionCount, true);
    writeU16(head, 50, 4, true);
  }

  const tailOffset = dataOffset + dataSize;
  const tail = new Uint8Array(size - tailOffset);
  const t = (absolute: number) => absolute - tailOffset;
  const syms = [
    { name: 0, value: 0, size: 0, bind: STB_LOCAL, type: STT_NOTYPE, shndx: 0 },
    { name: 0, value: 0, size: 0, bind: STB_LOCAL, type: STT_SECTION, shndx: 1 },
    { name: strtab.offsets[0]!, value: 0, size: 0, bind: STB_GLOBAL, type: STT_NOTYPE, shndx: 1 },
    { name: strtab.offsets[1]!, value: dataSize, size: 0, bind: STB_GLOBAL, type: STT_NOTYPE, shndx: 1 },
    { name: strtab.offsets[2]!, value: dataSize, size: 0, bind: STB_GLOBAL, type: STT_NOTYPE, shndx: SHN_ABS },
  ];
  syms.forEach((s, i) => writeSymbol(tail, t(symtabOffset) + i * symSize, is64, s));
  tail.set(strtab.bytes, t(strtabOffset));
  tail.set(shstrtab.bytes, t(shstrtabOffset));
  const writable = sectionName === '.data' || sectionName.startsWith('.data.');
  const headers: SectionHeader[] = [
    { name: 0, type: SHT_NULL, flags: 0, offset: 0, size: 0, link: 0, info: 0, align: 0, entsize: 0 },
    {
      name: shstrtab.offsets[0]!,
      type: SHT_PROGBITS,
      flags: SHF_ALLOC | (writable ? SHF_WRITE : 0),
      offset: dataOffset,
      size: dataSize,
      link: 0,
      info: 0,
      align: sectionAlign,
      entsize: 0,
    },
    {
      name: shstrtab.offsets[1]!,
      type: SHT_SYMTAB,
      flags: 0,
      offset: symtabOffset,
      size: symCount * symSize,
      link: 3,
      info: 2,
      align: wordAlign,
      entsize: symSize,
    },
    {
      name: shstrtab.offsets[2]!,
      type: SHT_STRTAB,
      flags: 0,
      offset: strtabOffset,
      size: strtab.bytes.length,
      link: 0,
      info: 0,
      align: 1,
      entsize: 0,
    },
    {
      name: shstrtab.offsets[3]!,
      type: SHT_STRTAB,
      flags: 0,
      offset: shstrtabOffset,
      size: shstrtab.bytes.length,
      link: 0,
      info: 0,
      align: 1,
      entsize: 0,
    },
    // An empty .note.GNU-stack: the object does not need an executable stack (GNU ld warns without it).
    {
      name: shstrtab.offsets[4]!,
      type: SHT_PROGBITS,
      flags: 0,
      offset: shOffset,
      size: 0,
      link: 0,
      info: 0,
      align: 1,
      entsize: 0,
    },
  ];
  headers.forEach((h, i) => writeSectionHeader(tail, t(shOffset) + i * shSize, is64, h));
  return { head, dataOffset, dataSize, tail, tailOffset, size, symbols };
}

/**
 * Writes the object for `data` (bytes or a host file, streamed) into `sink`.
 * @example
 * const layout = layoutBinaryObject(bytes.length, { arch: 'x86_64', symbol: 'logo' });
 * const sink = new MemorySink(layout.size); await writeBinaryObject(sink, bytes, layout);
 */
export async function writeBinaryObject(sink: BlockSink, data: Content, layout: BinaryObjectLayout): Promise<void> {
  if (contentSize(data) !== layout.dataSize)
    throw new RangeError(`"data" is ${contentSize(data)} bytes; the layout is for ${layout.dataSize}`);
  await sink.write(0, layout.head);
  await sink.writeContent(layout.dataOffset, data);
  await sink.write(layout.tailOffset, layout.tail);
}

/**
 * Writes `data` as a relocatable object file at `path` (atomically).
 * @example await writeBinaryObjectFile('build/initrd.o', await fileContent('build/initrd.tar'), { arch: 'aarch64', symbol: 'initrd_tar' });
 */
export async function writeBinaryObjectFile(
  path: string,
  data: Content,
  options: BinaryObjectOptions,
): Promise<BinaryObjectLayout> {
  const layout = layoutBinaryObject(contentSize(data), options);
  await writeImageFile(path, layout.size, (sink) => writeBinaryObject(sink, data, layout));
  return layout;
}
