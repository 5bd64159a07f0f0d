/**
 * The ABI schema: one description of a kernel/user interface (syscall numbers, enums, bitflag
 * sets, error codes, constants and `#[repr(C)]`-style structs) from which kiln emits a C header,
 * a Rust module, a Zig file and a TypeScript codec, and against which `abi.lock.json` is checked.
 *
 * Layout rules implemented: System V AMD64 psABI 1.0 §3.1.2 "Data Representation" (x86_64) and
 * Procedure Call Standard for the Arm 64-bit Architecture (AAPCS64) §5.9 "Composite Types"
 * (aarch64): natural alignment of scalars, fields in declaration order at the next multiple of
 * their alignment, struct alignment = max field alignment, size rounded up to the alignment.
 */

/** Fixed-width integer types. */
export type IntType = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64';
/** Every scalar a struct field may have. `ptr` is a user pointer carried as an address (usize); `bool` is one byte (0 or 1). */
export type ScalarType = IntType | 'usize' | 'isize' | 'bool' | 'ptr';
/** Width in bits of a bitflag set. */
export type FlagWidth = 8 | 16 | 32 | 64;
/** Architectures whose layout kiln computes (both LP64). */
export type AbiArch = 'x86_64' | 'aarch64';
/** Languages kiln emits. */
export type AbiLang = 'c' | 'rust' | 'zig' | 'ts';

/**
 * An integer in a schema: a JS number (safe integer), a bigint, or a string holding a decimal,
 * `0x` hexadecimal or `0b` binary literal with optional `_` separators (for 64-bit values in
 * JSON/TOML files, e.g. `"0xffff_ffff_ffff_ffff"`).
 */
export type IntegerLiteral = number | bigint | string;

/**
 * A field type: a scalar (`u32`, `usize`, `ptr`, `bool`...), the name of an enum, flag set or
 * struct of the same schema, optionally followed by array dimensions C-style: `u8[16]`,
 * `cap_rights[4]`, `u32[2][3]` (2 arrays of 3).
 */
export type TypeExpr = string;

/** A syscall: an explicit number, or none for an automatically assigned one (stable once in the lock file). */
export interface SyscallDef {
  /** Syscall number; omit to auto-assign (the lowest number not used explicitly nor ever given out by the lock file). */
  number?: IntegerLiteral;
  doc?: string;
}

/** An enumeration with an explicit underlying integer type. */
export interface EnumDef {
  /** Underlying type; default `u32`. */
  type?: IntType;
  /** Variant values by name, or names in order (values 0, 1, 2...). */
  values: Record<string, IntegerLiteral> | string[];
  doc?: string;
}

/** A set of single-bit flags, e.g. capability rights. */
export interface FlagsDef {
  /** Width in bits; default 32. */
  width?: FlagWidth;
  /** Bit index (0 = least significant) of each flag. */
  bits: Record<string, number>;
  /** Bit indexes no flag may use (kept zero; reserved for future flags). */
  reserved?: number[];
  doc?: string;
}

/** Error codes: emitted as an enum named `error` (C `<abi>_error_t` + `<ABI>_ERROR_<NAME>`, Rust `Error`, Zig `Error`, TS `AbiError`). */
export interface ErrorsDef {
  /** Underlying type; default `i32`. */
  type?: IntType;
  values: Record<string, IntegerLiteral> | string[];
  doc?: string;
}

/** A constant: an integer with a type, or a string. */
export interface ConstantDef {
  value: IntegerLiteral;
  /** Integer type; default `u64` (`i64` for a negative value). Use `string` for a string constant. */
  type?: IntType | 'usize' | 'isize' | 'string';
  doc?: string;
}

/** One struct field. */
export interface FieldDef {
  name: string;
  type: TypeExpr;
  doc?: string;
}

/** A `#[repr(C)]` struct: fields in declaration order. */
export interface StructDef {
  /** Ordered fields: an array of `{ name, type }` or an object `{ name: type }` (declaration order). */
  fields: FieldDef[] | Record<string, TypeExpr>;
  doc?: string;
}

/**
 * The ABI schema as written by a user (in `kiln.config.ts` via {@link defineAbi}, or in a
 * `*.abi.toml` / `*.abi.json` file). Identifiers are lower snake_case (`cap_grant`); each emitter
 * converts them to its language's convention (`KOZO_SYS_CAP_GRANT`, `SYS_CAP_GRANT`, `CapRights`).
 */
export interface AbiSchema {
  /** ABI name, lower snake_case; prefixes C identifiers (`kozo` → `KOZO_`, `kozo_ipc_msg_t`). */
  name: string;
  /** Semantic version `MAJOR.MINOR.PATCH`; bump MAJOR for a breaking change (MINOR while MAJOR is 0). */
  version: string;
  doc?: string;
  /** Syscalls by name: a number, `"auto"`, or a {@link SyscallDef}. */
  syscalls?: Record<string, SyscallDef | IntegerLiteral | 'auto'>;
  enums?: Record<string, EnumDef>;
  flags?: Record<string, FlagsDef>;
  errors?: ErrorsDef;
  /** Constants by name: a number/bigint (u64, or i64 if negative), a string, or a {@link ConstantDef}. */
  constants?: Record<string, ConstantDef | number | bigint | string>;
  structs?: Record<string, StructDef>;
}

/**
 * Identity helper that gives editor completion and type checking for an ABI schema.
 *
 * @example
 * ```ts
 * import { defineAbi } from 'kiln/abi';
 * export const abi = defineAbi({
 *   name: 'kozo',
 *   version: '1.0.0',
 *   syscalls: { yield: 0, cap_grant: {} },
 *   flags: { cap_rights: { width: 32, bits: { read: 0, write: 1, grant: 2, revoke: 3 }, reserved: [31] } },
 *   structs: { ipc_msg: { fields: [{ name: 'tag', type: 'u64' }, { name: 'rights', type: 'cap_rights' }] } },
 * });
 * ```
 */
export function defineAbi<const T extends AbiSchema>(schema: T): T {
  return schema;
}
