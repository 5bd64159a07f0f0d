/**
 * ELF notes. Spec: gABI 4.1 chapter 5 § "Note Section" (namesz, descsz, type, name and desc
 * padded to the note alignment: 4, or 8 for SHT_NOTE/PT_NOTE aligned to 8 as GNU property notes
 * in ELF64 are — the rule binutils' readelf applies); GNU notes from the Linux Standard Base Core
 * 5.0 §10.8 "Note Sections" and binutils include/elf/common.h (NT_GNU_ABI_TAG 1, NT_GNU_BUILD_ID 3,
 * NT_GNU_PROPERTY_TYPE_0 5); program properties from the "Linux Extensions to gABI" and the x86-64
 * psABI 1.0 §5.1.3 / AArch64 ELF ABI "GNU_PROPERTY_AARCH64_FEATURE_1_AND"; Xen notes from
 * xen/include/public/elfnote.h (XEN_ELFNOTE_PHYS32_ENTRY = 18, the PVH entry QEMU -kernel uses).
 */
import { FormatError } from '../../errors.js';
import { decodeUtf8, viewOf, writeU32 } from '../io/bytes.js';
import { noteTypeName } from './_constants.js';

/** One GNU program property (inside an NT_GNU_PROPERTY_TYPE_0 note). */
export interface GnuProperty {
  type: number;
  /** `x86 feature: IBT, SHSTK`, `AArch64 feature: BTI, PAC`, `stack size: 0x...`, or the type in hex. */
  description: string;
  data: Uint8Array;
}

/** One note (Elf_Nhdr + name + desc). */
export interface ElfNote {
  /** The note's owner (name without the NUL): `GNU`, `Xen`, `Linux`, ... */
  owner: string;
  type: number;
  /** `NT_GNU_BUILD_ID`, `XEN_ELFNOTE_PHYS32_ENTRY`, ... or the type in hex. */
  typeName: string;
  /** The descriptor bytes (a view into the file). */
  desc: Uint8Array;
  /** File offset of the note header. */
  offset: number;
  /** File offset of the descriptor. */
  descOffset: number;
  /** The note alignment used (4 or 8). */
  align: 4 | 8;
  /** Where it came from: a section name or `segment N`. */
  source: string;
  /** Numeric Xen notes (entry points, addresses): the descriptor as an unsigned integer. */
  value?: bigint;
  /** String-valued Xen notes (guest OS, loader, features...). */
  text?: string;
  /** NT_GNU_ABI_TAG: OS and minimum kernel version. */
  abiTag?: { os: string; version: string };
  /** NT_GNU_PROPERTY_TYPE_0: the properties. */
  properties?: GnuProperty[];
}

const ABI_OS = ['Linux', 'Hurd', 'Solaris', 'FreeBSD', 'NetBSD', 'Syllable', 'NaCl'];
const XEN_STRING_NOTES = new Set([5, 6, 7, 8, 9, 10]);

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/**
 * Parses the notes in `data` (the contents of one SHT_NOTE section or PT_NOTE segment).
 * `fileOffset` is where `data` starts in the file, for offsets and errors.
 *
 * @example parseNotes(section.data, true, true, 4, section.offset, section.name)
 */
export function parseNotes(
  data: Uint8Array,
  le: boolean,
  is64: boolean,
  align: 4 | 8,
  fileOffset: number,
  source: string,
): ElfNote[] {
  const view = viewOf(data);
  const notes: ElfNote[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 12 > data.length) {
      throw new FormatError(
        'elf',
        'ELF_BAD_NOTE',
        `${source}: a note header at offset ${at} needs 12 bytes, ${data.length - at} left`,
        { offset: fileOffset + at },
      );
    }
    const namesz = view.getUint32(at, le);
    const descsz = view.getUint32(at + 4, le);
    const type = view.getUint32(at + 8, le);
    const descAt = alignUp(at + 12 + namesz, align);
    const next = alignUp(descAt + descsz, align);
    if (descAt + descsz > data.length) {
      throw new FormatError(
        'elf',
        'ELF_BAD_NOTE',
        `${source}: a note with namesz ${namesz} and descsz ${descsz} runs past the end of the ${data.length}-byte note area`,
        {
          offset: fileOffset + at,
          hint: 'the note section is truncated or corrupt',
        },
      );
    }
    let nameBytes = data.subarray(at + 12, at + 12 + namesz);
    const nul = nameBytes.indexOf(0);
    if (nul >= 0) nameBytes = nameBytes.subarray(0, nul);
    const owner = decodeUtf8(nameBytes);
    const desc = data.subarray(descAt, descAt + descsz);
    const note: ElfNote = {
      owner,
      type,
      typeName: noteTypeName(owner, type),
      desc,
      offset: fileOffset + at,
      descOffset: fileOffset + descAt,
      align,
      source,
    };
    decodeNote(note, le, is64);
    notes.push(note);
    at = Math.max(next, at + 12);
  }
  return notes;
}

function decodeNote(note: ElfNote, le: boolean, is64: boolean): void {
  const view = viewOf(note.desc);
  if (note.owner === 'GNU') {
    if (note.type === 1 && note.desc.length >= 16) {
      const os = view.getUint32(0, le);
      note.abiTag = {
        os: ABI_OS[os] ?? `os-${os}`,
        version: `${view.getUint32(4, le)}.${view.getUint32(8, le)}.${view.getUint32(12, le)}`,
      };
    } else if (note.type === 5) {
      note.properties = decodeProperties(note.desc, le, is64);
    }
  } else if (note.owner === 'Xen') {
    if (XEN_STRING_NOTES.has(note.type)) {
      const nul = note.desc.indexOf(0);
      note.text = decodeUtf8(nul >= 0 ? note.desc.subarray(0, nul) : note.desc);
    } else if (note.desc.length === 4) {
      note.value = BigInt(view.getUint32(0, le));
    } else if (note.desc.length === 8) {
      note.value = view.getBigUint64(0, le);
    }
  }
}

function decodeProperties(desc: Uint8Array, le: boolean, is64: boolean): GnuProperty[] {
  const view = viewOf(desc);
  const align = is64 ? 8 : 4;
  const out: GnuProperty[] = [];
  let at = 0;
  while (at + 8 <= desc.length) {
    const type = view.getUint32(at, le);
    const size = view.getUint32(at + 4, le);
    if (at + 8 + size > desc.length) break; // readelf prints "<corrupt>"; we stop at the last whole property
    const data = desc.subarray(at + 8, at + 8 + size);
    out.push({ type, description: describeProperty(type, data, le), data });
    at = alignUp(at + 8 + size, align);
  }
  return out;
}

function bits(value: number, names: Record<number, string>): string {
  const parts: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const mask = 2 ** bit;
    if (Math.floor(value / mask) % 2 === 1) parts.push(names[mask] ?? `<unknown: ${mask.toString(16)}>`);
  }
  return parts.length ? parts.join(', ') : '<None>';
}

function describeProperty(type: number, data: Uint8Array, le: boolean): string {
  const u32 = data.length >= 4 ? viewOf(data).getUint32(0, le) : undefined;
  switch (type) {
    case 1:
      return `stack size: ${data.length === 8 ? `0x${viewOf(data).getBigUint64(0, le).toString(16)}` : u32 !== undefined ? `0x${u32.toString(16)}` : '<corrupt>'}`;
    case 2:
      return 'no copy on protected';
    case 0xc0000002:
      return `x86 feature: ${u32 === undefined ? '<corrupt>' : bits(u32, { 1: 'IBT', 2: 'SHSTK', 4: 'LAM_U48', 8: 'LAM_U57' })}`;
    case 0xc0008002:
      return `x86 ISA needed: ${u32 === undefined ? '<corrupt>' : bits(u32, { 1: 'x86-64-baseline', 2: 'x86-64-v2', 4: 'x86-64-v3', 8: 'x86-64-v4' })}`;
    case 0xc0010002:
      return `x86 ISA used: ${u32 === undefined ? '<corrupt>' : bits(u32, { 1: 'x86-64-baseline', 2: 'x86-64-v2', 4: 'x86-64-v3', 8: 'x86-64-v4' })}`;
    case 0xc0010001:
      return `x86 feature used: ${u32 === undefined ? '<corrupt>' : bits(u32, { 1: 'x86', 2: 'x87', 4: 'MMX', 8: 'XMM', 16: 'YMM', 32: 'ZMM', 64: 'FXSR', 128: 'XSAVE', 256: 'XSAVEOPT', 512: 'XSAVEC', 1024: 'TMM', 2048: 'MASK' })}`;
    case 0xc0000000:
      return `AArch64 feature: ${u32 === undefined ? '<corrupt>' : bits(u32, { 1: 'BTI', 2: 'PAC', 4: 'GCS' })}`;
    default:
      return `0x${type.toString(16)}`;
  }
}

/**
 * Encodes one note (header, name padded, desc padded) for `le` byte order and alignment `align`.
 *
 * @example encodeNote('GNU', 3, buildId, true) // an NT_GNU_BUILD_ID note
 */
export function encodeNote(owner: string, type: number, desc: Uint8Array, le: boolean, align: 4 | 8 = 4): Uint8Array {
  const name = new TextEncoder().encode(owner);
  const namesz = name.length + 1;
  const descAt = alignUp(12 + namesz, align);
  const total = alignUp(descAt + desc.length, align);
  const out = new Uint8Array(total);
  writeU32(out, 0, namesz, le);
  writeU32(out, 4, desc.length, le);
  writeU32(out, 8, type, le);
  out.set(name, 12);
  out.set(desc, descAt);
  return out;
}
