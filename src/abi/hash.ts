/**
 * The ABI hash: SHA-256 (FIPS 180-4) of a canonical JSON form of the normalized schema (object keys
 * sorted, integers as decimal strings, doc comments left out). Two schemas that describe the same
 * binary interface hash the same however their keys were ordered; any change to a number, a
 * value, a type or a field order changes it. Emitted into every generated file so a kernel can
 * refuse a service built against another ABI.
 */
import { sha256Hex } from '../util/hash.js';
import { normalizeAbi, type NormalizedAbi, type NormalizeOptions } from './normalize.js';
import type { AbiSchema } from './types.js';

/**
 * JSON with object keys sorted at every level and bigints as decimal strings.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1n, a: [true] }); // '{"a":[true],"b":"1"}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`"value" cannot be serialized canonically: ${typeof value}`);
}

/**
 * The hashed content: everything that affects the binary interface, nothing else (no docs).
 *
 * @example
 * ```ts
 * canonicalJson(canonicalAbi(normalizeAbi(schema))); // what abiHash hashes
 * ```
 */
export function canonicalAbi(abi: NormalizedAbi): unknown {
  const enumForm = (e: NonNullable<NormalizedAbi['errors']>) => ({
    type: e.type,
    values: Object.fromEntries(e.values.map((v) => [v.name, v.value])),
  });
  return {
    hashVersion: 1,
    name: abi.name,
    version: abi.version.text,
    syscalls: Object.fromEntries(abi.syscalls.map((s) => [s.name, s.number])),
    enums: Object.fromEntries(abi.enums.map((e) => [e.name, enumForm(e)])),
    flags: Object.fromEntries(
      abi.flags.map((f) => [
        f.name,
        { width: f.width, bits: Object.fromEntries(f.bits.map((b) => [b.name, b.bit])), reserved: f.reserved },
      ]),
    ),
    errors: abi.errors ? enumForm(abi.errors) : null,
    constants: Object.fromEntries(abi.constants.map((c) => [c.name, { type: c.type, value: c.value }])),
    structs: Object.fromEntries(abi.structs.map((s) => [s.name, s.fields.map((f) => [f.name, f.typeText])])),
  };
}

function isNormalized(value: unknown): value is NormalizedAbi {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NormalizedAbi).version === 'object' &&
    Array.isArray((value as NormalizedAbi).syscalls)
  );
}

/**
 * SHA-256 hex of the canonical ABI. Accepts a schema (normalized first, with `options`) or an
 * already normalized ABI.
 *
 * @example
 * ```ts
 * abiHash({ name: 'kozo', version: '1.0.0', syscalls: { yield: 0 } }); // '3f1c…' (64 hex digits)
 * ```
 */
export function abiHash(schema: AbiSchema | NormalizedAbi, options: NormalizeOptions = {}): string {
  const abi = isNormalized(schema) ? schema : normalizeAbi(schema, options);
  return sha256Hex(canonicalJson(canonicalAbi(abi)));
}

/**
 * The first 8 bytes of the ABI hash as a big-endian u64, for cheap comparison at run time
 * (emitted as `ABI_HASH_U64`).
 *
 * @example
 * ```ts
 * abiHashU64(abiHash(schema)); // 0x58f7ca9527adf97dn
 * ```
 */
export function abiHashU64(hash: string): bigint {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new TypeError(`"hash" expected 64 lower-case hex digits, got ${hash}`);
  return BigInt(`0x${hash.slice(0, 16)}`);
}
