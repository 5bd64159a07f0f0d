/**
 * Schema validation and normalization: turns a user-written {@link AbiSchema} (TypeScript object,
 * JSON or TOML) into a {@link NormalizedAbi} with every default filled in, every integer a bigint,
 * every type reference resolved, syscall numbers assigned, and every name checked against the
 * keywords of C17, Rust, Zig and TypeScript. Errors are KilnErrors naming the schema path
 * (`syscalls.cap_grant.number`).
 */
import { KilnError, type ErrorLocation } from '../errors.js';
import { languagesReserving, RUST_TYPE_KEYWORDS } from './_keywords.js';
import { camel, cNames, RESERVED_CONST_NAMES, RESERVED_TYPE_NAMES, upper } from './_names.js';
import type { AbiSchema, FlagWidth, IntType, ScalarType } from './types.js';

/** A resolved field type. */
export type AbiType =
  | { kind: 'scalar'; name: ScalarType }
  | { kind: 'enum'; name: string }
  | { kind: 'flags'; name: string }
  | { kind: 'struct'; name: string }
  | { kind: 'array'; element: AbiType; length: number };

/** The schema's semantic version, parsed. */
export interface AbiVersion {
  major: number;
  minor: number;
  patch: number;
  /** As written, e.g. `1.2.0` or `1.2.0-rc.1`. */
  text: string;
}
/** A syscall with its number (given in the schema or assigned by kiln). */
export interface NormalizedSyscall {
  name: string;
  number: number;
  /** True when the number was assigned by kiln (from the lock file or the next free number). */
  auto: boolean;
  doc?: string;
}
/** An enum with its integer type and values. */
export interface NormalizedEnum {
  name: string;
  type: IntType;
  values: Array<{ name: string; value: bigint; doc?: string }>;
  doc?: string;
}
/** A flag set: named bits of an unsigned integer of `width` bits, and the bits reserved. */
export interface NormalizedFlags {
  name: string;
  width: FlagWidth;
  bits: Array<{ name: string; bit: number }>;
  reserved: number[];
  doc?: string;
}
/** The type of an ABI constant: an integer type or a string. */
export type ConstantType = IntType | 'usize' | 'isize' | 'string';
/** A named constant (an integer as bigint, or a string). */
export interface NormalizedConstant {
  name: string;
  type: ConstantType;
  value: bigint | string;
  doc?: string;
}
/** A struct field with its parsed type. */
export interface NormalizedField {
  name: string;
  type: AbiType;
  /** The type as written, normalized (`u8[16]`). */
  typeText: string;
  doc?: string;
}
/** A struct with its fields in declaration order. */
export interface NormalizedStruct {
  name: string;
  fields: NormalizedField[];
  doc?: string;
}

/** A validated schema: defaults applied, integers as bigint, syscall numbers assigned. */
export interface NormalizedAbi {
  name: string;
  version: AbiVersion;
  doc?: string;
  /** Sorted by number. */
  syscalls: NormalizedSyscall[];
  /** In declaration order. */
  enums: NormalizedEnum[];
  flags: NormalizedFlags[];
  /** Error codes (an enum named `error`), if any. */
  errors?: NormalizedEnum;
  constants: NormalizedConstant[];
  /** Dependencies first (a struct after every struct it contains), otherwise declaration order. */
  structs: NormalizedStruct[];
}

/** Options of `normalizeAbi`: numbers already locked, and the file name for errors. */
export interface NormalizeOptions {
  /** Syscall numbers already assigned (from `abi.lock.json`): auto-assigned syscalls keep them. */
  lockedSyscalls?: Record<string, number>;
  /** The schema file, for error locations. */
  file?: string;
}

const IDENT = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const INT_TYPES: readonly IntType[] = ['u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64'];
const SCALARS: readonly ScalarType[] = [...INT_TYPES, 'usize', 'isize', 'bool', 'ptr'];
const MAX_SYSCALL = 0x7fff_ffff;
const MAX_ARRAY = 1 << 24;

/**
 * Range of values an integer type holds (usize/isize: 64-bit, both targets are LP64).
 *
 * @example
 * ```ts
 * intRange('i8'); // { min: -128n, max: 127n, bits: 8, signed: true }
 * ```
 */
export function intRange(type: IntType | 'usize' | 'isize'): {
  min: bigint;
  max: bigint;
  bits: number;
  signed: boolean;
} {
  const t = type === 'usize' ? 'u64' : type === 'isize' ? 'i64' : type;
  const bits = Number(t.slice(1));
  const signed = t.startsWith('i');
  return signed
    ? { min: -(1n << BigInt(bits - 1)), max: (1n << BigInt(bits - 1)) - 1n, bits, signed }
    : { min: 0n, max: (1n << BigInt(bits)) - 1n, bits, signed };
}

class Ctx {
  constructor(readonly file: string | undefined) {}
  fail(code: string, path: string, message: string, hint?: string): never {
    const location: ErrorLocation = { configPath: path };
    if (this.file) location.file = this.file;
    throw new KilnError(code, message, { location, exitCode: 2, ...(hint ? { hint } : {}) });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing (the key is missing)';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
function expectRecord(ctx: Ctx, value: unknown, path: string): Record<string, unknown> {
  if (!isRecord(value)) ctx.fail('ABI_SCHEMA_INVALID', path, `expected an object (table), found ${describe(value)}`);
  return value;
}
function onlyKeys(ctx: Ctx, value: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const shown = /^[A-Za-z0-9_]+$/.test(key) ? key : JSON.stringify(key);
      ctx.fail(
        'ABI_SCHEMA_INVALID',
        `${path ? `${path}.` : ''}${shown}`,
        `unknown key ${JSON.stringify(key)}`,
        `allowed keys here: ${allowed.join(', ')}`,
      );
    }
  }
}
function optionalDoc(ctx: Ctx, value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') ctx.fail('ABI_SCHEMA_INVALID', path, `expected a string, found ${describe(value)}`);
  if (value.includes('*/'))
    ctx.fail('ABI_SCHEMA_INVALID', path, 'a doc comment must not contain "*/"', 'reword the comment');
  return value;
}

/** Parses an {@link IntegerLiteral}; throws at `path` when it is not an integer. */
function parseInteger(ctx: Ctx, value: unknown, path: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      ctx.fail(
        'ABI_SCHEMA_INVALID',
        path,
        `expected an integer, found ${value}`,
        Number.isInteger(value)
          ? 'integers above 2^53 must be written as a string, e.g. "0xffff_ffff_ffff_ffff"'
          : undefined,
      );
    }
    return BigInt(value);
  }
  if (typeof value === 'string') {
    const m = /^(-?)(0x[0-9a-f]+(?:_[0-9a-f]+)*|0o[0-7]+(?:_[0-7]+)*|0b[01]+(?:_[01]+)*|[0-9]+(?:_[0-9]+)*)$/i.exec(
      value.trim(),
    );
    if (m) {
      const magnitude = BigInt(
        m[2]!.replaceAll('_', '').replace(/^0O/, '0o').replace(/^0X/, '0x').replace(/^0B/, '0b'),
      );
      return m[1] ? -magnitude : magnitude;
    }
  }
  return ctx.fail(
    'ABI_SCHEMA_INVALID',
    path,
    `expected an integer (number, bigint, or a "0x..." string), found ${describe(value)}`,
  );
}

function checkRange(ctx: Ctx, value: bigint, type: IntType | 'usize' | 'isize', path: string): void {
  const { min, max } = intRange(type);
  if (value < min || value > max)
    ctx.fail(
      'ABI_VALUE_OUT_OF_RANGE',
      path,
      `${value} does not fit in ${type} (${min}..${max})`,
      'choose a wider type or a smaller value',
    );
}

/** Languages in which a name appears as written (not prefixed, upper-cased or CamelCased). */
type Lang = 'C' | 'Rust' | 'Zig' | 'TypeScript';
const ALL_LANGS: readonly Lang[] = ['C', 'Rust', 'Zig', 'TypeScript'];

function checkIdent(ctx: Ctx, name: string, path: string, what: string, rawIn: readonly Lang[] = ALL_LANGS): void {
  if (!IDENT.test(name)) {
    ctx.fail(
      'ABI_BAD_IDENTIFIER',
      path,
      `${what} name "${name}" is not lower snake_case ([a-z][a-z0-9]*, words joined by single "_")`,
      `rename it, e.g. "${
        name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '_')
          .replace(/^_+|_+$/g, '')
          .replace(/^(\d)/, 'n$1') || 'name'
      }"; emitters convert to each language's style`,
    );
  }
  const langs = languagesReserving(name).filter((l) => (rawIn as readonly string[]).includes(l));
  if (langs.length)
    ctx.fail(
      'ABI_RESERVED_IDENTIFIER',
      path,
      `${what} name "${name}" is a keyword or reserved name in ${langs.join(', ')}`,
      'rename it (e.g. add a word: "kind" instead of "type", "obj_ref" instead of "ref")',
    );
}
function checkTypeName(ctx: Ctx, name: string, path: string, what: string): void {
  checkIdent(ctx, name, path, what, []);
  const cam = camel(name);
  if (RUST_TYPE_KEYWORDS.has(cam) || RESERVED_TYPE_NAMES.has(cam)) {
    ctx.fail(
      'ABI_RESERVED_IDENTIFIER',
      path,
      `${what} name "${name}" becomes "${cam}", which the generated Rust/Zig/TypeScript code reserves`,
      'rename it',
    );
  }
  if ((SCALARS as readonly string[]).includes(name))
    ctx.fail('ABI_RESERVED_IDENTIFIER', path, `${what} name "${name}" is a built-in field type`, 'rename it');
}

/** Records emitted names per language namespace and refuses collisions. */
class NameTable {
  private readonly seen = new Map<string, string>();
  constructor(private readonly ctx: Ctx) {}
  claim(namespace: string, emitted: string, path: string): void {
    const key = `${namespace}\u0000${emitted}`;
    const previous = this.seen.get(key);
    if (previous !== undefined) {
      this.ctx.fail(
        'ABI_DUPLICATE_NAME',
        path,
        previous === '(generated)'
          ? `emits the name "${emitted}" (${namespace}), which kiln's generated code defines itself`
          : `emits the name "${emitted}" (${namespace}), already used by ${previous}`,
        'rename one of the two',
      );
    }
    this.seen.set(key, path);
  }
}

function parseVersion(ctx: Ctx, value: unknown): AbiVersion {
  if (typeof value !== 'string')
    return ctx.fail('ABI_SCHEMA_INVALID', 'version', `expected a semver string like "1.0.0", found ${describe(value)}`);
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$/.exec(value);
  if (!m)
    return ctx.fail(
      'ABI_SCHEMA_INVALID',
      'version',
      `"${value}" is not a semantic version MAJOR.MINOR.PATCH`,
      'write e.g. "1.0.0"',
    );
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: value };
}

function parseIntType(ctx: Ctx, value: unknown, path: string, fallback: IntType): IntType {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(INT_TYPES as readonly string[]).includes(value)) {
    ctx.fail('ABI_SCHEMA_INVALID', path, `expected one of ${INT_TYPES.join(', ')}, found ${describe(value)}`);
  }
  return value as IntType;
}

function parseEnum(
  ctx: Ctx,
  names: NameTable,
  name: string,
  raw: unknown,
  path: string,
  fallbackType: IntType,
): NormalizedEnum {
  const def = expectRecord(ctx, raw, path);
  onlyKeys(ctx, def, path, ['type', 'values', 'doc']);
  const type = parseIntType(ctx, def.type, `${path}.type`, fallbackType);
  const values: NormalizedEnum['values'] = [];
  const entries: Array<[string, unknown]> = Array.isArray(def.values)
    ? Array.from(def.values as unknown[]).map((v, i): [string, unknown] => {
        if (typeof v !== 'string')
          ctx.fail('ABI_SCHEMA_INVALID', `${path}.values.${i}`, `expected a variant name, found ${describe(v)}`);
        return [v, BigInt(i)];
      })
    : Object.entries(expectRecord(ctx, def.values, `${path}.values`));
  if (entries.length === 0) ctx.fail('ABI_SCHEMA_INVALID', `${path}.values`, 'an enum needs at least one value');
  const byValue = new Map<bigint, string>();
  for (const [variant, v] of entries) {
    const vpath = `${path}.values.${variant}`;
    if (values.some((x) => x.name === variant))
      ctx.fail('ABI_DUPLICATE_NAME', vpath, `variant "${variant}" appears twice`);
    checkIdent(ctx, variant, vpath, 'variant', ['Zig']);
    names.claim(`Rust variant of ${name}`, camel(variant), vpath);
    const value = parseInteger(ctx, v, vpath);
    checkRange(ctx, value, type, vpath);
    const other = byValue.get(value);
    if (other !== undefined)
      ctx.fail(
        'ABI_DUPLICATE_NUMBER',
        vpath,
        `value ${value} is already used by "${other}"`,
        'give each variant its own value',
      );
    byValue.set(value, variant);
    values.push({ name: variant, value });
  }
  const doc = optionalDoc(ctx, def.doc, `${path}.doc`);
  return { name, type, values, ...(doc !== undefined ? { doc } : {}) };
}

function parseTypeExpr(
  ctx: Ctx,
  text: unknown,
  path: string,
  kinds: Map<string, 'enum' | 'flags' | 'struct'>,
): { type: AbiType; text: string } {
  if (typeof text !== 'string')
    return ctx.fail(
      'ABI_SCHEMA_INVALID',
      path,
      `expected a type such as "u32", "u8[16]" or a struct name, found ${describe(text)}`,
    );
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*((?:\[\s*[^\]]*\s*\]\s*)*)$/.exec(text);
  if (!m)
    return ctx.fail(
      'ABI_UNKNOWN_TYPE',
      path,
      `cannot parse type "${text}"`,
      'write a scalar (u8..u64, i8..i64, usize, isize, bool, ptr), a schema type name, optionally with [N] dimensions',
    );
  const base = m[1]!;
  const dims = [...m[2]!.matchAll(/\[\s*([^\]]*?)\s*\]/g)].map((d) => {
    const n = /^\d+$/.test(d[1]!) ? Number(d[1]) : NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_ARRAY)
      ctx.fail(
        'ABI_SCHEMA_INVALID',
        path,
        `array length "${d[1]}" in "${text}" must be an integer from 1 to ${MAX_ARRAY}`,
      );
    return n;
  });
  let type: AbiType;
  if ((SCALARS as readonly string[]).includes(base)) type = { kind: 'scalar', name: base as ScalarType };
  else {
    const kind = kinds.get(base);
    if (!kind) {
      const known = [...SCALARS, ...kinds.keys()];
      const near = known.find(
        (k) =>
          k.toLowerCase() === base.toLowerCase() || k.replaceAll('_', '') === base.replaceAll('_', '').toLowerCase(),
      );
      return ctx.fail(
        'ABI_UNKNOWN_TYPE',
        path,
        `unknown type "${base}"`,
        near
          ? `did you mean "${near}"?`
          : `use a scalar (${SCALARS.join(', ')}) or a type declared in enums, flags or structs`,
      );
    }
    type = { kind, name: base };
  }
  for (let i = dims.length - 1; i >= 0; i--) type = { kind: 'array', element: type, length: dims[i]! };
  return { type, text: base + dims.map((d) => `[${d}]`).join('') };
}

/** Struct names a type refers to (through arrays). */
function structRef(type: AbiType): string | undefined {
  if (type.kind === 'struct') return type.name;
  if (type.kind === 'array') return structRef(type.element);
  return undefined;
}

/**
 * Validates `schema` and returns its normalized form.
 *
 * @example
 * ```ts
 * const abi = normalizeAbi({ name: 'kozo', version: '1.0.0', syscalls: { yield: 0, send: {} } });
 * abi.syscalls; // [{ name: 'yield', number: 0, auto: false }, { name: 'send', number: 1, auto: true }]
 * ```
 */
export function normalizeAbi(schema: AbiSchema | unknown, options: NormalizeOptions = {}): NormalizedAbi {
  const ctx: Ctx = new Ctx(options.file);
  const root = expectRecord(ctx, schema, '(root)');
  onlyKeys(ctx, root, '', ROOT_KEYS);
  const name = parseAbiName(ctx, root.name);
  const version = parseVersion(ctx, root.version);
  const scope: Scope = { ctx, names: claimGeneratedNames(ctx, name), abi: name };
  const kinds = declareTypes(scope, root);
  const syscalls = parseSyscalls(scope, root.syscalls, options.lockedSyscalls ?? {});
  const enums = parseEnums(scope, root.enums);
  const errors = parseErrors(scope, root.errors);
  const flags = parseFlagSets(scope, root.flags);
  const constants = parseConstants(scope, root.constants);
  const structs = orderStructs(ctx, parseStructs(scope, root.structs, kinds));
  const doc = optionalDoc(ctx, root.doc, 'doc');
  return {
    name,
    version,
    ...(doc !== undefined ? { doc } : {}),
    syscalls,
    enums,
    flags,
    ...(errors ? { errors } : {}),
    constants,
    structs,
  };
}

/** What every section parser needs: the error context, the emitted names so far, the ABI's name (C prefix). */
interface Scope {
  ctx: Ctx;
  names: NameTable;
  abi: string;
}
/** Declared type names and their kinds (fields may refer to types declared later in the schema). */
type TypeKinds = Map<string, 'enum' | 'flags' | 'struct'>;

const ROOT_KEYS = ['name', 'version', 'doc', 'syscalls', 'enums', 'flags', 'errors', 'constants', 'structs'];
/** C macros kiln's generated header defines itself (each prefixed with the ABI's name). */
const GENERATED_C_MACROS = [
  'abi_name',
  'abi_version',
  'abi_version_major',
  'abi_version_minor',
  'abi_version_patch',
  'abi_hash',
  'abi_hash_u64',
  'abi_static_assert',
  'abi_alignof',
  'sys_count',
];
const TYPE_SECTIONS = [
  ['enums', 'enum'],
  ['flags', 'flags'],
  ['structs', 'struct'],
] as const;
const KIND_WORDS = { struct: 'a struct', enum: 'an enum', flags: 'a flag set' } as const;
const FLAG_WIDTHS: readonly FlagWidth[] = [8, 16, 32, 64];

function parseAbiName(ctx: Ctx, value: unknown): string {
  if (typeof value !== 'string')
    ctx.fail('ABI_SCHEMA_INVALID', 'name', `expected the ABI name (lower snake_case string), found ${describe(value)}`);
  checkIdent(ctx, value, 'name', 'ABI', []);
  return value;
}

/** A name table holding every name kiln's generated code defines itself. */
function claimGeneratedNames(ctx: Ctx, abi: string): NameTable {
  const names = new NameTable(ctx);
  for (const reserved of RESERVED_CONST_NAMES) names.claim('constant', reserved, '(generated)');
  for (const reserved of RESERVED_TYPE_NAMES) names.claim('type', reserved, '(generated)');
  for (const generated of GENERATED_C_MACROS) names.claim('C', cNames.macro(abi, generated), '(generated)');
  return names;
}

// ---- Type names: declared first, so fields can refer to types declared later.

function declareTypes(scope: Scope, root: Record<string, unknown>): TypeKinds {
  const kinds: TypeKinds = new Map();
  for (const [section, kind] of TYPE_SECTIONS) {
    if (root[section] === undefined) continue;
    const table = expectRecord(scope.ctx, root[section], section);
    for (const typeName of Object.keys(table)) declareType(scope, kinds, kind, typeName, `${section}.${typeName}`);
  }
  return kinds;
}

function declareType(
  { ctx, names, abi }: Scope,
  kinds: TypeKinds,
  kind: 'enum' | 'flags' | 'struct',
  typeName: string,
  path: string,
): void {
  checkTypeName(ctx, typeName, path, kind);
  if (typeName === 'error' || typeName === 'syscall')
    ctx.fail(
      'ABI_RESERVED_IDENTIFIER',
      path,
      `"${typeName}" is the name of the generated ${typeName === 'error' ? 'error-code' : 'syscall'} type`,
      'rename it',
    );
  const previous = kinds.get(typeName);
  if (previous)
    ctx.fail(
      'ABI_DUPLICATE_NAME',
      path,
      `type "${typeName}" is already declared as ${KIND_WORDS[previous]}`,
      'type names share one namespace: rename one',
    );
  kinds.set(typeName, kind);
  names.claim('type', camel(typeName), path);
  if (kind === 'struct') names.claim('type', `${camel(typeName)}Layout`, path);
  names.claim('C', cNames.type(abi, typeName), path);
}

// ---- Syscalls.

/** A syscall entry as written: its number (undefined or 'auto': kiln assigns one) and doc. */
interface SyscallEntry {
  number: unknown;
  /** Where errors about the number point. */
  numberPath: string;
  doc?: string;
}
/** A syscall waiting for an automatic number. */
interface PendingSyscall {
  name: string;
  path: string;
  doc?: string;
}

function parseSyscalls(scope: Scope, raw: unknown, locked: Record<string, number>): NormalizedSyscall[] {
  if (raw === undefined) return [];
  const { ctx, names, abi } = scope;
  const table = expectRecord(ctx, raw, 'syscalls');
  const explicit = new Map<number, string>();
  const pending: PendingSyscall[] = [];
  const syscalls: NormalizedSyscall[] = [];
  for (const [sys, value] of Object.entries(table)) {
    const path = `syscalls.${sys}`;
    checkIdent(ctx, sys, path, 'syscall', []);
    names.claim('constant', `SYS_${upper(sys)}`, path);
    names.claim('C', cNames.macro(abi, 'sys', sys), path);
    const entry = readSyscallEntry(ctx, value, path);
    const doc = entry.doc !== undefined ? { doc: entry.doc } : {};
    if (entry.number === undefined || entry.number === 'auto') {
      pending.push({ name: sys, path, ...doc });
      continue;
    }
    const n = explicitSyscallNumber(ctx, entry, explicit);
    explicit.set(n, sys);
    syscalls.push({ name: sys, number: n, auto: false, ...doc });
  }
  syscalls.push(...assignSyscallNumbers(ctx, pending, explicit, locked));
  return syscalls.sort((a, b) => a.number - b.number);
}

function readSyscallEntry(ctx: Ctx, raw: unknown, path: string): SyscallEntry {
  if (raw === 'auto') return { number: undefined, numberPath: path };
  if (!isRecord(raw)) return { number: raw, numberPath: path };
  onlyKeys(ctx, raw, path, ['number', 'doc']);
  const doc = optionalDoc(ctx, raw.doc, `${path}.doc`);
  return { number: raw.number, numberPath: `${path}.number`, ...(doc !== undefined ? { doc } : {}) };
}

/** The number written for a syscall, checked for range and against the numbers already used. */
function explicitSyscallNumber(ctx: Ctx, entry: SyscallEntry, explicit: Map<number, string>): number {
  const n = parseInteger(ctx, entry.number, entry.numberPath);
  if (n < 0n || n > BigInt(MAX_SYSCALL))
    ctx.fail('ABI_VALUE_OUT_OF_RANGE', entry.numberPath, `syscall number ${n} is outside 0..${MAX_SYSCALL}`);
  const other = explicit.get(Number(n));
  if (other !== undefined)
    ctx.fail(
      'ABI_DUPLICATE_NUMBER',
      entry.numberPath,
      `syscall number ${n} is already used by syscalls.${other}`,
      'give each syscall its own number, or omit "number" to auto-assign one',
    );
  return Number(n);
}

/**
 * Numbers for the syscalls written without one: the lock's, else the lowest number no explicit
 * syscall uses and the lock never gave out (a removed syscall's number is not reused, so an old
 * binary cannot call the wrong one).
 */
function assignSyscallNumbers(
  ctx: Ctx,
  pending: readonly PendingSyscall[],
  explicit: Map<number, string>,
  locked: Record<string, number>,
): NormalizedSyscall[] {
  const used = new Map(explicit);
  const taken = new Set<number>([...explicit.keys(), ...Object.values(locked)]);
  const assigned: NormalizedSyscall[] = [];
  let next = 0;
  for (const p of pending) {
    let n = Object.hasOwn(locked, p.name) ? locked[p.name] : undefined;
    if (n !== undefined && used.has(n)) {
      ctx.fail(
        'ABI_DUPLICATE_NUMBER',
        p.path,
        `abi.lock.json assigned number ${n} to "${p.name}", but syscalls.${used.get(n)} now uses it explicitly`,
        `give syscalls.${used.get(n)} another number, or write number = ${n} on one of them and bump the major version`,
      );
    }
    if (n === undefined) {
      while (taken.has(next)) next++;
      n = next;
      taken.add(n);
    }
    used.set(n, p.name);
    assigned.push({ name: p.name, number: n, auto: true, ...(p.doc !== undefined ? { doc: p.doc } : {}) });
  }
  return assigned;
}

// ---- Enums and error codes.

function parseEnums({ ctx, names, abi }: Scope, raw: unknown): NormalizedEnum[] {
  if (raw === undefined) return [];
  return Object.entries(expectRecord(ctx, raw, 'enums')).map(([enumName, def]) => {
    const e = parseEnum(ctx, names, enumName, def, `enums.${enumName}`, 'u32');
    for (const v of e.values)
      names.claim('C', cNames.macro(abi, enumName, v.name), `enums.${enumName}.values.${v.name}`);
    return e;
  });
}

function parseErrors({ ctx, names, abi }: Scope, raw: unknown): NormalizedEnum | undefined {
  if (raw === undefined) return undefined;
  const errors = parseEnum(ctx, names, 'error', raw, 'errors', 'i32');
  names.claim('C', cNames.type(abi, 'error'), 'errors');
  for (const v of errors.values) names.claim('C', cNames.macro(abi, 'error', v.name), `errors.values.${v.name}`);
  return errors;
}

// ---- Flag sets.

/** A flag set's name, path and width, known before its bits are read. */
interface FlagSetHead {
  name: string;
  path: string;
  width: FlagWidth;
  reserved: readonly number[];
}

function parseFlagSets(scope: Scope, raw: unknown): NormalizedFlags[] {
  if (raw === undefined) return [];
  return Object.entries(expectRecord(scope.ctx, raw, 'flags')).map(([flagsName, def]) =>
    parseFlagSet(scope, flagsName, def),
  );
}

function parseFlagSet(scope: Scope, flagsName: string, raw: unknown): NormalizedFlags {
  const { ctx } = scope;
  const path = `flags.${flagsName}`;
  const def = expectRecord(ctx, raw, path);
  onlyKeys(ctx, def, path, ['width', 'bits', 'reserved', 'doc']);
  const width = parseFlagWidth(ctx, def.width, path);
  const reserved = parseReservedBits(ctx, def.reserved, path, width);
  claimFlagHelpers(scope, flagsName);
  const bits = parseFlagBits(scope, { name: flagsName, path, width, reserved }, def.bits);
  const doc = optionalDoc(ctx, def.doc, `${path}.doc`);
  return { name: flagsName, width, bits, reserved, ...(doc !== undefined ? { doc } : {}) };
}

function parseFlagWidth(ctx: Ctx, value: unknown, path: string): FlagWidth {
  const width = value ?? 32;
  const known = FLAG_WIDTHS.find((w) => w === width);
  if (known === undefined)
    return ctx.fail('ABI_SCHEMA_INVALID', `${path}.width`, `expected 8, 16, 32 or 64, found ${describe(value)}`);
  return known;
}

/** The `reserved` bit indexes, sorted. */
function parseReservedBits(ctx: Ctx, value: unknown, path: string, width: number): number[] {
  const reserved: number[] = [];
  if (value === undefined) return reserved;
  if (!Array.isArray(value))
    ctx.fail('ABI_SCHEMA_INVALID', `${path}.reserved`, `expected an array of bit indexes, found ${describe(value)}`);
  Array.from(value as unknown[]).forEach((b, i) => {
    const rpath = `${path}.reserved.${i}`;
    if (typeof b !== 'number' || !Number.isInteger(b))
      ctx.fail('ABI_SCHEMA_INVALID', rpath, `expected a bit index, found ${describe(b)}`);
    if (b < 0 || b >= width)
      ctx.fail('ABI_FLAG_OUT_OF_RANGE', rpath, `reserved bit ${b} is outside the ${width}-bit width (0..${width - 1})`);
    if (reserved.includes(b)) ctx.fail('ABI_DUPLICATE_NUMBER', rpath, `bit ${b} is listed twice`);
    reserved.push(b);
  });
  return reserved.sort((a, b) => a - b);
}

/** Names every flag set's generated code defines (constants, C macros, Zig helper methods). */
function claimFlagHelpers({ names, abi }: Scope, flagsName: string): void {
  for (const fixed of ['all', 'empty', 'reserved', 'names']) {
    names.claim(`flags ${flagsName}`, upper(fixed), '(generated)');
    names.claim('C', cNames.macro(abi, flagsName, fixed), '(generated)');
  }
  // Zig: bits are fields of a packed struct that also declares these helpers.
  for (const helper of ['contains', 'without', 'intersect'])
    names.claim(`Zig flags ${flagsName}`, helper, '(generated)');
}

function parseFlagBits(scope: Scope, set: FlagSetHead, raw: unknown): NormalizedFlags['bits'] {
  const bitsTable = expectRecord(scope.ctx, raw, `${set.path}.bits`);
  const bits: NormalizedFlags['bits'] = [];
  const byBit = new Map<number, string>();
  for (const [bitName, b] of Object.entries(bitsTable)) {
    const bpath = `${set.path}.bits.${bitName}`;
    claimFlagBitName(scope, set.name, bitName, bpath);
    const bit = checkFlagBit(scope.ctx, set, b, bpath);
    const other = byBit.get(bit);
    if (other !== undefined) scope.ctx.fail('ABI_DUPLICATE_NUMBER', bpath, `bit ${bit} is already used by "${other}"`);
    byBit.set(bit, bitName);
    bits.push({ name: bitName, bit });
  }
  return bits;
}

function claimFlagBitName({ ctx, names, abi }: Scope, flagsName: string, bitName: string, bpath: string): void {
  checkIdent(ctx, bitName, bpath, 'flag', ['Zig']);
  names.claim('C', cNames.macro(abi, flagsName, bitName), bpath);
  names.claim(`flags ${flagsName}`, upper(bitName), bpath);
  names.claim(`Zig flags ${flagsName}`, bitName, bpath);
}

/** A bit index inside the set's width and not reserved. */
function checkFlagBit(ctx: Ctx, set: FlagSetHead, b: unknown, bpath: string): number {
  const { path, width, reserved } = set;
  if (typeof b !== 'number' || !Number.isInteger(b))
    return ctx.fail('ABI_SCHEMA_INVALID', bpath, `expected a bit index (integer), found ${describe(b)}`);
  if (b < 0 || b >= width)
    ctx.fail(
      'ABI_FLAG_OUT_OF_RANGE',
      bpath,
      `bit ${b} is outside the ${width}-bit width (0..${width - 1})`,
      `use a bit from 0 to ${width - 1}, or widen flags.${set.name}.width`,
    );
  if (reserved.includes(b))
    ctx.fail(
      'ABI_FLAG_RESERVED',
      bpath,
      `bit ${b} is reserved in ${path}.reserved`,
      `choose a free bit, or remove ${b} from ${path}.reserved`,
    );
  return b;
}

// ---- Constants.

/** A constant's type, value and doc, before its name is attached. */
interface ConstantValue {
  type: ConstantType;
  value: bigint | string;
  doc?: string;
}

function parseConstants(scope: Scope, raw: unknown): NormalizedConstant[] {
  if (raw === undefined) return [];
  return Object.entries(expectRecord(scope.ctx, raw, 'constants')).map(([rawName, def]) =>
    parseConstant(scope, rawName, def),
  );
}

function parseConstant({ ctx, names, abi }: Scope, rawName: string, raw: unknown): NormalizedConstant {
  const path = `constants.${rawName}`;
  const constName = /^[A-Z][A-Z0-9_]*$/.test(rawName) ? rawName.toLowerCase() : rawName;
  checkIdent(ctx, constName, path, 'constant', []);
  names.claim('constant', upper(constName), path);
  names.claim('C', cNames.macro(abi, constName), path);
  const { type, value, doc } = parseConstantValue(ctx, raw, path);
  if (typeof value === 'string' && !/^[\x20-\x7e]*$/.test(value))
    ctx.fail(
      'ABI_SCHEMA_INVALID',
      path,
      'string constants must be printable ASCII',
      'escape-free ASCII keeps the C, Rust, Zig and TS literals identical',
    );
  return { name: constName, type, value, ...(doc !== undefined ? { doc } : {}) };
}

/** A constant written as a string, an integer, or a `{ value, type, doc }` table. */
function parseConstantValue(ctx: Ctx, raw: unknown, path: string): ConstantValue {
  if (typeof raw === 'string') return { type: 'string', value: raw };
  if (typeof raw === 'number' || typeof raw === 'bigint') {
    const value = parseInteger(ctx, raw, path);
    return { type: value < 0n ? 'i64' : 'u64', value };
  }
  const def = expectRecord(ctx, raw, path);
  onlyKeys(ctx, def, path, ['value', 'type', 'doc']);
  const doc = optionalDoc(ctx, def.doc, `${path}.doc`);
  const docPart = doc !== undefined ? { doc } : {};
  if (
    def.type === 'string' ||
    (def.type === undefined && typeof def.value === 'string' && !/^-?(0x|0b|0o)?[0-9a-f_]+$/i.test(def.value))
  ) {
    if (typeof def.value !== 'string')
      ctx.fail('ABI_SCHEMA_INVALID', `${path}.value`, `expected a string, found ${describe(def.value)}`);
    return { type: 'string', value: def.value, ...docPart };
  }
  const value = parseInteger(ctx, def.value, `${path}.value`);
  let type: ConstantType;
  if (def.type === undefined) type = value < 0n ? 'i64' : 'u64';
  else if (def.type === 'usize' || def.type === 'isize') type = def.type;
  else type = parseIntType(ctx, def.type, `${path}.type`, 'u64');
  checkRange(ctx, value, type, `${path}.value`);
  return { type, value, ...docPart };
}

// ---- Structs.

/** A struct field as written (a list entry or a `name = type` table entry), not yet checked. */
interface FieldEntry {
  name: unknown;
  type: unknown;
  doc?: unknown;
  path: string;
}

function parseStructs(scope: Scope, raw: unknown, kinds: TypeKinds): NormalizedStruct[] {
  if (raw === undefined) return [];
  return Object.entries(expectRecord(scope.ctx, raw, 'structs')).map(([structName, def]) =>
    parseStruct(scope.ctx, structName, def, kinds),
  );
}

function parseStruct(ctx: Ctx, structName: string, raw: unknown, kinds: TypeKinds): NormalizedStruct {
  const path = `structs.${structName}`;
  const def = expectRecord(ctx, raw, path);
  onlyKeys(ctx, def, path, ['fields', 'doc']);
  const entries = fieldEntries(ctx, def.fields, path);
  if (entries.length === 0)
    ctx.fail(
      'ABI_SCHEMA_INVALID',
      `${path}.fields`,
      'a struct needs at least one field',
      'C has no empty structs; add a field (e.g. "reserved": "u8")',
    );
  const fields: NormalizedField[] = [];
  for (const e of entries) fields.push(parseField(ctx, e, fields, path, kinds));
  const doc = optionalDoc(ctx, def.doc, `${path}.doc`);
  return { name: structName, fields, ...(doc !== undefined ? { doc } : {}) };
}

function fieldEntries(ctx: Ctx, raw: unknown, path: string): FieldEntry[] {
  if (!Array.isArray(raw))
    return Object.entries(expectRecord(ctx, raw, `${path}.fields`)).map(([k, t]) => ({
      name: k,
      type: t,
      path: `${path}.fields.${k}`,
    }));
  return Array.from(raw as unknown[]).map((f, i) => {
    const fpath = `${path}.fields.${i}`;
    const fr = expectRecord(ctx, f, fpath);
    onlyKeys(ctx, fr, fpath, ['name', 'type', 'doc']);
    return {
      name: fr.name,
      type: fr.type,
      doc: fr.doc,
      path: typeof fr.name === 'string' ? `${path}.fields.${fr.name}` : fpath,
    };
  });
}

function parseField(
  ctx: Ctx,
  e: FieldEntry,
  earlier: readonly NormalizedField[],
  structPath: string,
  kinds: TypeKinds,
): NormalizedField {
  if (typeof e.name !== 'string')
    ctx.fail('ABI_SCHEMA_INVALID', e.path, `expected a field name, found ${describe(e.name)}`);
  const name = e.name;
  checkIdent(ctx, name, e.path, 'field');
  if (earlier.some((f) => f.name === name))
    ctx.fail('ABI_DUPLICATE_NAME', e.path, `field "${name}" appears twice in ${structPath}`);
  const t = parseTypeExpr(ctx, e.type, `${e.path}.type`, kinds);
  const doc = optionalDoc(ctx, e.doc, `${e.path}.doc`);
  return { name, type: t.type, typeText: t.text, ...(doc !== undefined ? { doc } : {}) };
}

/** Structs in dependency order (a struct after every struct it contains); refuses recursion, naming the cycle. */
function orderStructs(ctx: Ctx, declared: readonly NormalizedStruct[]): NormalizedStruct[] {
  const byName = new Map(declared.map((s) => [s.name, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: NormalizedStruct[] = [];
  const visit = (s: NormalizedStruct, chain: string[]): void => {
    const st = state.get(s.name);
    if (st === 'done') return;
    if (st === 'visiting') {
      const cycle = [...chain.slice(chain.indexOf(s.name)), s.name];
      ctx.fail(
        'ABI_RECURSIVE_STRUCT',
        `structs.${s.name}`,
        `struct contains itself: ${cycle.join(' → ')}`,
        'a struct cannot contain itself by value; refer to it through a "ptr" field instead',
      );
    }
    state.set(s.name, 'visiting');
    for (const f of s.fields) {
      const ref = structRef(f.type);
      if (ref) visit(byName.get(ref)!, [...chain, s.name]);
    }
    state.set(s.name, 'done');
    ordered.push(s);
  };
  for (const s of declared) visit(s, []);
  return ordered;
}
