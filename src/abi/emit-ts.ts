/**
 * TypeScript emitter: the ABI's constants and, for every struct, an interface and a DataView
 * codec (`encodeX(value): Uint8Array`, `decodeX(bytes, offset?): X`, plus `writeX`/`readX` on a
 * DataView for composition). Byte order is explicit little-endian (both targets are LE); 64-bit
 * integers (u64, i64, usize, isize, ptr) are bigints, narrower ones numbers, bool a boolean stored
 * as one byte. Encoders check ranges and array lengths and throw RangeError; padding is written
 * as zero. The file depends on nothing (ECMAScript 2020 DataView BigInt accessors, §25.3.4).
 */
import { bannerLines, docLines, flagsMask, hashU64Hex, bitsMask, type EmitContext } from './_emit.js';
import { camel, upper } from './_names.js';
import { ARCHES, underlyingInt, type ArchInfo, type StructLayout } from './layout.js';
import { intRange, type AbiType, type NormalizedAbi, type NormalizedEnum, type NormalizedFlags } from './normalize.js';
import type { IntType, ScalarType } from './types.js';

type Repr = { kind: 'int'; type: IntType } | { kind: 'bool' };

function scalarRepr(name: ScalarType): Repr {
  if (name === 'bool') return { kind: 'bool' };
  if (name === 'usize' || name === 'ptr') return { kind: 'int', type: 'u64' };
  if (name === 'isize') return { kind: 'int', type: 'i64' };
  return { kind: 'int', type: name };
}
function is64(t: IntType): boolean {
  return t === 'u64' || t === 'i64';
}
function tsLiteral(value: bigint, type: IntType | 'usize' | 'isize'): string {
  const big = type === 'u64' || type === 'i64' || type === 'usize' || type === 'isize';
  const abs = value < 0n ? -value : value;
  const lit = `${value < 0n ? '-' : ''}${abs >= 10n ? `0x${abs.toString(16)}` : abs.toString()}`;
  return big ? `${lit}n` : lit;
}
function tsString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
function jsdoc(lines: string[], indent = ''): string[] {
  if (!lines.length) return [];
  if (lines.length === 1) return [`${indent}/** ${lines[0]} */`];
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l}`.trimEnd()), `${indent} */`];
}
const ACCESSOR: Record<IntType, string> = {
  u8: 'Uint8',
  u16: 'Uint16',
  u32: 'Uint32',
  u64: 'BigUint64',
  i8: 'Int8',
  i16: 'Int16',
  i32: 'Int32',
  i64: 'BigInt64',
};

/**
 * Emits the TypeScript constants and codecs for an ABI.
 *
 * @example
 * ```ts
 * const abi = normalizeAbi(schema);
 * const ts = emitTs({ abi, layout: computeLayout(abi, 'x86_64'), hash: abiHash(abi) });
 * // generated: encodeIpcMsg({ tag: 1n, ... }) → Uint8Array; decodeIpcMsg(bytes) → IpcMsg
 * ```
 */
export function emitTs(ctx: EmitContext, fileName = `${ctx.abi.name}_abi.ts`): string {
  const { abi } = ctx;
  const out = [...headerLines(ctx, fileName), ...syscallLines(abi), ...tsConstantLines(abi)];
  for (const e of abi.enums) out.push(...enumLines(e, camel(e.name), `enum ${e.name} (${e.type})`));
  if (abi.errors) out.push(...enumLines(abi.errors, 'AbiError', `Error codes (${abi.errors.type})`));
  for (const f of abi.flags) out.push(...flagLines(f));
  const em: StructEmit = { ctx, info: ARCHES[ctx.layout.arch], used: new Set() };
  const body = ctx.layout.structs.flatMap((s) => structLines(em, s));
  out.push(...runtimeCheckLines(em.used), ...body);
  return out.join('\n');
}

// ---- Constants, enums and flags.

function headerLines(ctx: EmitContext, fileName: string): string[] {
  const { abi } = ctx;
  return [
    ...bannerLines(ctx, fileName).map((l) => `// ${l}`),
    ...docLines(abi.doc).map((l) => `// ${l}`.trimEnd()),
    '',
    `export const ABI_NAME = ${tsString(abi.name)};`,
    `export const ABI_VERSION = ${tsString(abi.version.text)};`,
    `export const ABI_VERSION_MAJOR = ${abi.version.major};`,
    `export const ABI_VERSION_MINOR = ${abi.version.minor};`,
    `export const ABI_VERSION_PATCH = ${abi.version.patch};`,
    '/** SHA-256 of the canonical schema. */',
    `export const ABI_HASH = ${tsString(ctx.hash)};`,
    `export const ABI_HASH_U64 = ${hashU64Hex(ctx)}n;`,
    '',
  ];
}

function syscallLines(abi: NormalizedAbi): string[] {
  if (!abi.syscalls.length) return [];
  const out = ['// Syscall numbers.'];
  for (const s of abi.syscalls) {
    out.push(...jsdoc(docLines(s.doc)));
    out.push(`export const SYS_${upper(s.name)} = ${s.number};`);
  }
  out.push('');
  return out;
}

function tsConstantLines(abi: NormalizedAbi): string[] {
  if (!abi.constants.length) return [];
  const out = ['// Constants.'];
  for (const c of abi.constants) {
    out.push(...jsdoc(docLines(c.doc)));
    out.push(
      `export const ${upper(c.name)} = ${c.type === 'string' ? tsString(c.value as string) : tsLiteral(c.value as bigint, c.type)};`,
    );
  }
  out.push('');
  return out;
}

function enumLines(e: NormalizedEnum, name: string, title: string): string[] {
  const out = [...jsdoc([title, ...docLines(e.doc)]), `export const ${name} = {`];
  for (const v of e.values) {
    out.push(...jsdoc(docLines(v.doc), '  '));
    out.push(`  ${upper(v.name)}: ${tsLiteral(v.value, e.type)},`);
  }
  out.push('} as const;', `export type ${name} = (typeof ${name})[keyof typeof ${name}];`, '');
  return out;
}

function flagLines(f: NormalizedFlags): string[] {
  const t = `u${f.width}` as IntType;
  const out = [...jsdoc([`Flag set ${f.name} (${f.width}-bit masks).`, ...docLines(f.doc)])];
  out.push(`export const ${camel(f.name)} = {`);
  for (const b of f.bits) out.push(`  ${upper(b.name)}: ${tsLiteral(1n << BigInt(b.bit), t)},`);
  out.push(
    `  EMPTY: ${tsLiteral(0n, t)},`,
    `  ALL: ${tsLiteral(flagsMask(f.bits), t)},`,
    `  RESERVED: ${tsLiteral(bitsMask(f.reserved), t)},`,
    '} as const;',
    '',
  );
  return out;
}

// ---- Field types: TypeScript type, size, DataView representation.

/** A runtime check the generated encoders call; emitted only when used. */
type RuntimeCheck = 'checkInt' | 'checkBigInt' | 'checkLength';
/** What the struct generators share: the ABI and its layout, the architecture, the checks used so far. */
interface StructEmit {
  ctx: EmitContext;
  info: ArchInfo;
  used: Set<RuntimeCheck>;
}

function tsType(abi: NormalizedAbi, type: AbiType): string {
  switch (type.kind) {
    case 'scalar': {
      const r = scalarRepr(type.name);
      return r.kind === 'bool' ? 'boolean' : is64(r.type) ? 'bigint' : 'number';
    }
    case 'enum':
    case 'flags':
      return is64(underlyingInt(abi, type)!) ? 'bigint' : 'number';
    case 'struct':
      return camel(type.name);
    case 'array': {
      const inner = tsType(abi, type.element);
      return `${/^\w+$/.test(inner) ? inner : `(${inner})`}[]`;
    }
  }
}

function sizeOf(em: StructEmit, type: AbiType): number {
  switch (type.kind) {
    case 'scalar':
      return em.info.scalars[type.name].size;
    case 'enum':
    case 'flags':
      return em.info.scalars[underlyingInt(em.ctx.abi, type)!].size;
    case 'struct':
      return em.ctx.layout.structs.find((s) => s.name === type.name)!.size;
    case 'array':
      return sizeOf(em, type.element) * type.length;
  }
}

function reprOf(abi: NormalizedAbi, type: AbiType): Repr | undefined {
  if (type.kind === 'scalar') return scalarRepr(type.name);
  if (type.kind === 'enum' || type.kind === 'flags') return { kind: 'int', type: underlyingInt(abi, type)! };
  return undefined;
}

function offsetExpr(base: string, add: number): string {
  return add === 0 ? base : `${base} + ${add}`;
}

/** Statements writing `val` (of `type`) at `off`; nested arrays loop with counters named by `depth`. */
function genWrite(
  em: StructEmit,
  type: AbiType,
  off: string,
  val: string,
  what: string,
  depth: number,
  indent: string,
): string[] {
  const r = reprOf(em.ctx.abi, type);
  if (r?.kind === 'bool') return [`${indent}view.setUint8(${off}, ${val} ? 1 : 0);`];
  if (r?.kind === 'int') {
    const { min, max } = intRange(r.type);
    const le = r.type === 'u8' || r.type === 'i8' ? '' : ', true';
    if (is64(r.type)) {
      em.used.add('checkBigInt');
      return [`${indent}view.set${ACCESSOR[r.type]}(${off}, checkBigInt(${val}, ${min}n, ${max}n, ${what})${le});`];
    }
    em.used.add('checkInt');
    return [`${indent}view.set${ACCESSOR[r.type]}(${off}, checkInt(${val}, ${min}, ${max}, ${what})${le});`];
  }
  if (type.kind === 'struct') return [`${indent}write${camel(type.name)}(view, ${off}, ${val});`];
  if (type.kind === 'array') {
    em.used.add('checkLength');
    const es = sizeOf(em, type.element);
    const a = `a${depth}`;
    const i = `i${depth}`;
    return [
      `${indent}{`,
      `${indent}  const ${a} = checkLength(${val}, ${type.length}, ${what});`,
      `${indent}  for (let ${i} = 0; ${i} < ${type.length}; ${i}++) {`,
      ...genWrite(em, type.element, `${off} + ${i} * ${es}`, `${a}[${i}]!`, what, depth + 1, `${indent}    `),
      `${indent}  }`,
      `${indent}}`,
    ];
  }
  throw new Error('internal: unknown type');
}

/** An expression reading a value of `type` at `off`. */
function genRead(em: StructEmit, type: AbiType, off: string, depth: number): string {
  const r = reprOf(em.ctx.abi, type);
  if (r?.kind === 'bool') return `view.getUint8(${off}) !== 0`;
  if (r?.kind === 'int')
    return `view.get${ACCESSOR[r.type]}(${off}${r.type === 'u8' || r.type === 'i8' ? '' : ', true'})`;
  if (type.kind === 'struct') return `read${camel(type.name)}(view, ${off})`;
  if (type.kind === 'array') {
    const i = `i${depth}`;
    return `Array.from({ length: ${type.length} }, (_, ${i}) => ${genRead(em, type.element, `${off} + ${i} * ${sizeOf(em, type.element)}`, depth + 1)})`;
  }
  throw new Error('internal: unknown type');
}

// ---- One struct: interface, layout constant, writer, reader, encoder, decoder.

function structLines(em: StructEmit, s: StructLayout): string[] {
  return [
    ...interfaceLines(em.ctx.abi, s),
    ...layoutConstLines(s),
    ...writerLines(em, s),
    ...readerLines(em, s),
    ...codecLines(s),
  ];
}

function interfaceLines(abi: NormalizedAbi, s: StructLayout): string[] {
  const name = camel(s.name);
  const out = [...jsdoc([`struct ${s.name}: ${s.size} bytes, align ${s.align}.`, ...docLines(s.doc)])];
  out.push(`export interface ${name} {`);
  for (const f of s.fields) {
    const notes = [`Offset ${f.offset}, ${f.typeText}.`];
    if (f.type.kind === 'enum') notes.push(`Raw ${camel(f.type.name)} value.`);
    if (f.type.kind === 'flags') notes.push(`${camel(f.type.name)} bits.`);
    out.push(...jsdoc([...docLines(f.doc), notes.join(' ')], '  '));
    out.push(`  ${f.name}: ${tsType(abi, f.type)};`);
  }
  out.push('}');
  return out;
}

function layoutConstLines(s: StructLayout): string[] {
  const out = [`export const ${camel(s.name)}Layout = {`, `  size: ${s.size},`, `  align: ${s.align},`, '  offsets: {'];
  for (const m of s.members) out.push(`    ${m.name}: ${m.offset},`);
  out.push('  },', '} as const;');
  return out;
}

function writerLines(em: StructEmit, s: StructLayout): string[] {
  const name = camel(s.name);
  const out = [`/** Writes \`value\` at \`offset\` (${s.size} bytes, little-endian, padding zeroed). */`];
  out.push(`export function write${name}(view: DataView, offset: number, value: ${name}): void {`);
  for (const m of s.members) {
    const off = offsetExpr('offset', m.offset);
    if (m.kind === 'padding') out.push(`  for (let i = 0; i < ${m.size}; i++) view.setUint8(${off} + i, 0);`);
    else out.push(...genWrite(em, m.type, off, `value.${m.name}`, tsString(`${s.name}.${m.name}`), 0, '  '));
  }
  out.push('}');
  return out;
}

function readerLines(em: StructEmit, s: StructLayout): string[] {
  const name = camel(s.name);
  const out = [`/** Reads a ${name} at \`offset\` (little-endian; padding ignored). */`];
  out.push(`export function read${name}(view: DataView, offset: number): ${name} {`, '  return {');
  for (const f of s.fields) out.push(`    ${f.name}: ${genRead(em, f.type, offsetExpr('offset', f.offset), 0)},`);
  out.push('  };', '}');
  return out;
}

function codecLines(s: StructLayout): string[] {
  const name = camel(s.name);
  return [
    `/** Encodes a ${name} into ${s.size} new bytes. Throws RangeError on an out-of-range value or a wrong array length. */`,
    `export function encode${name}(value: ${name}): Uint8Array {`,
    `  const bytes = new Uint8Array(${s.size});`,
    `  write${name}(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, value);`,
    '  return bytes;',
    '}',
    `/** Decodes the ${name} at \`offset\` of \`bytes\`. Throws RangeError if fewer than ${s.size} bytes remain. */`,
    `export function decode${name}(bytes: Uint8Array, offset = 0): ${name} {`,
    `  if (!Number.isInteger(offset) || offset < 0 || bytes.byteLength - offset < ${s.size}) {`,
    `    throw new RangeError(\`${s.name}: need ${s.size} bytes at offset \${offset}, have \${bytes.byteLength - offset}\`);`,
    '  }',
    `  return read${name}(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);`,
    '}',
    '',
  ];
}

// ---- Runtime checks the encoders call.

const RUNTIME_CHECKS: Record<RuntimeCheck, readonly string[]> = {
  checkInt: [
    'function checkInt(value: number, min: number, max: number, what: string): number {',
    "  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {",
    '    throw new RangeError(`${what}: expected an integer in ${min}..${max}, got ${String(value)}`);',
    '  }',
    '  return value;',
    '}',
  ],
  checkBigInt: [
    'function checkBigInt(value: bigint, min: bigint, max: bigint, what: string): bigint {',
    "  if (typeof value !== 'bigint' || value < min || value > max) {",
    '    throw new RangeError(`${what}: expected a bigint in ${min}..${max}, got ${String(value)}`);',
    '  }',
    '  return value;',
    '}',
  ],
  checkLength: [
    'function checkLength<T>(value: readonly T[], length: number, what: string): readonly T[] {',
    '  if (!Array.isArray(value) || value.length !== length) {',
    '    throw new RangeError(`${what}: expected an array of ${length}, got ${Array.isArray(value) ? value.length : typeof value}`);',
    '  }',
    '  return value;',
    '}',
  ],
};

/** The checks used, in a fixed order, then a blank line (nothing when none is used). */
function runtimeCheckLines(used: ReadonlySet<RuntimeCheck>): string[] {
  const order: RuntimeCheck[] = ['checkInt', 'checkBigInt', 'checkLength'];
  const out = order.filter((c) => used.has(c)).flatMap((c) => RUNTIME_CHECKS[c]);
  if (used.size) out.push('');
  return out;
}
