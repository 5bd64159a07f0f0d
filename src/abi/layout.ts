/**
 * Struct layout for LP64 targets.
 *
 * Implements System V Application Binary Interface, AMD64 Architecture Processor Supplement
 * (v1.0) §3.1.2 "Data Representation" (Figure 3.1 scalar sizes/alignments; "Aggregates and
 * Unions": alignment of the most strictly aligned component, size a multiple of the alignment)
 * and Procedure Call Standard for the Arm 64-bit Architecture (AAPCS64, 2023Q3) §5.1
 * "Fundamental Data Types" and §5.9 "Composite Types". Both give 1/2/4/8-byte integers their
 * natural alignment and 8-byte pointers; arrays align as their element; fields are placed in
 * declaration order at the next multiple of their alignment.
 */
import { KilnError } from '../errors.js';
import type { AbiType, NormalizedAbi } from './normalize.js';
import type { AbiArch, IntType, ScalarType } from './types.js';

/** Size and alignment of every scalar on an architecture. */
export interface ArchInfo {
  arch: AbiArch;
  pointerSize: 8;
  scalars: Record<ScalarType, { size: number; align: number }>;
}

function lp64(arch: AbiArch): ArchInfo {
  const n = (size: number) => ({ size, align: size });
  return {
    arch,
    pointerSize: 8,
    scalars: {
      u8: n(1),
      i8: n(1),
      bool: n(1),
      u16: n(2),
      i16: n(2),
      u32: n(4),
      i32: n(4),
      u64: n(8),
      i64: n(8),
      usize: n(8),
      isize: n(8),
      ptr: n(8),
    },
  };
}

/**
 * The architectures kiln computes layouts for, with their scalar sizes and alignments.
 *
 * @example
 * ```ts
 * ARCHES.aarch64.scalars.u64; // { size: 8, align: 8 }
 * ```
 */
export const ARCHES: Record<AbiArch, ArchInfo> = { x86_64: lp64('x86_64'), aarch64: lp64('aarch64') };

/** A struct field placed in memory: byte offset, size, alignment and its type as written in the schema. */
export interface FieldLayout {
  name: string;
  offset: number;
  size: number;
  align: number;
  type: AbiType;
  typeText: string;
  doc?: string;
}
/** Explicit padding kiln inserts (and names) so every byte of a struct belongs to a member. */
export interface PaddingLayout {
  /** `_pad0`, `_pad1`... in order of appearance (tail padding included). */
  name: string;
  offset: number;
  size: number;
}
/** A struct member in memory order: a field or explicit padding. */
export type LayoutMember = ({ kind: 'field' } & FieldLayout) | ({ kind: 'padding' } & PaddingLayout);

/** A struct's size, alignment and members under the C layout rules of the architecture. */
export interface StructLayout {
  name: string;
  size: number;
  align: number;
  fields: FieldLayout[];
  /** Fields and explicit padding in memory order, covering every byte of the struct exactly once. */
  members: LayoutMember[];
  doc?: string;
}
/** Every struct of an ABI laid out for one architecture. */
export interface AbiLayout {
  arch: AbiArch;
  /** Same order as `NormalizedAbi.structs` (dependencies first). */
  structs: StructLayout[];
}

const MAX_STRUCT_SIZE = 0x7fff_ffff;

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/** Underlying integer type of an enum, or the unsigned integer of a flag set's width. */
export function underlyingInt(abi: NormalizedAbi, type: AbiType): IntType | undefined {
  if (type.kind === 'enum') return abi.enums.find((e) => e.name === type.name)!.type;
  if (type.kind === 'flags') return `u${abi.flags.find((f) => f.name === type.name)!.width}` as IntType;
  return undefined;
}

/**
 * Computes the layout of every struct of `abi` for `arch`.
 *
 * @example
 * ```ts
 * const abi = normalizeAbi({ name: 'k', version: '1.0.0', structs: { m: { fields: { a: 'u8', b: 'u64' } } } });
 * computeLayout(abi, 'x86_64').structs[0]; // { size: 16, align: 8, members: [a@0, _pad0@1 (7), b@8] ... }
 * ```
 */
export function computeLayout(abi: NormalizedAbi, arch: AbiArch = 'x86_64'): AbiLayout {
  const info = ARCHES[arch];
  if (!info) throw new RangeError(`"arch" expected x86_64 or aarch64, got ${String(arch)}`);
  const done = new Map<string, StructLayout>();
  const sizeOf = (type: AbiType): { size: number; align: number } => {
    switch (type.kind) {
      case 'scalar':
        return info.scalars[type.name];
      case 'enum':
      case 'flags':
        return info.scalars[underlyingInt(abi, type)!];
      case 'struct': {
        const s = done.get(type.name);
        if (!s) throw new Error(`internal: struct ${type.name} laid out before its dependency`);
        return { size: s.size, align: s.align };
      }
      case 'array': {
        const e = sizeOf(type.element);
        return { size: e.size * type.length, align: e.align };
      }
    }
  };
  const structs: StructLayout[] = [];
  for (const s of abi.structs) {
    let offset = 0;
    let align = 1;
    let pads = 0;
    const fields: FieldLayout[] = [];
    const members: LayoutMember[] = [];
    for (const f of s.fields) {
      const { size, align: fa } = sizeOf(f.type);
      const at = alignUp(offset, fa);
      if (at > offset) members.push({ kind: 'padding', name: `_pad${pads++}`, offset, size: at - offset });
      const field: FieldLayout = {
        name: f.name,
        offset: at,
        size,
        align: fa,
        type: f.type,
        typeText: f.typeText,
        ...(f.doc !== undefined ? { doc: f.doc } : {}),
      };
      fields.push(field);
      members.push({ kind: 'field', ...field });
      offset = at + size;
      align = Math.max(align, fa);
      if (offset > MAX_STRUCT_SIZE) {
        throw new KilnError('ABI_STRUCT_TOO_LARGE', `struct is larger than ${MAX_STRUCT_SIZE} bytes`, {
          location: { configPath: `structs.${s.name}.fields.${f.name}` },
          hint: 'use smaller arrays',
          exitCode: 2,
        });
      }
    }
    const size = alignUp(offset, align);
    if (size > offset) members.push({ kind: 'padding', name: `_pad${pads++}`, offset, size: size - offset });
    const layout: StructLayout = {
      name: s.name,
      size,
      align,
      fields,
      members,
      ...(s.doc !== undefined ? { doc: s.doc } : {}),
    };
    done.set(s.name, layout);
    structs.push(layout);
  }
  return { arch, structs };
}
