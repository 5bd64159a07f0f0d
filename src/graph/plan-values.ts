/**
 * Config values (a step's validated options, the run and tests sections) as plain JSON for the
 * plan cache, and back. Step handles, artifact refs and `out()` placeholders are written as tagged
 * objects naming the step, and revived as the cached plan's own handles; strings, finite and
 * special numbers, booleans, null, undefined, arrays, plain objects, Uint8Array/Buffer and RegExp
 * round-trip. Anything else — a function, a class instance, a Map, a symbol, a cycle — cannot be
 * written: `encodeValue` says where, and the plan keeps that value on the slow path (the config).
 */
import {
  type ArtifactRef,
  type StepHandle,
  isArtifactRef,
  isOutputPlaceholder,
  isStepHandle,
  out as outputPlaceholder,
} from '../step.js';

/** The key marking a tagged object; a plain object of the config holding it cannot be written. */
const TAG = '\u0000kiln';

type Tagged =
  | { [TAG]: 'handle'; step: string }
  | { [TAG]: 'ref'; step: string; output?: string }
  | { [TAG]: 'out'; output: string }
  | { [TAG]: 'undefined' }
  | { [TAG]: 'number'; value: string }
  | { [TAG]: 'bigint'; value: string }
  | { [TAG]: 'bytes'; base64: string; buffer: boolean }
  | { [TAG]: 'regexp'; source: string; flags: string };

/** A value as encodeValue wrote it: JSON. */
export type EncodedValue = null | boolean | number | string | EncodedValue[] | { [key: string]: EncodedValue };

/** A value that cannot be written, and where (`options.data[2]`). */
export class UnserializableValue extends Error {
  constructor(
    readonly at: string,
    readonly what: string,
  ) {
    super(`${at} is ${what}`);
    this.name = 'UnserializableValue';
  }
}

/**
 * `value` as JSON, step handles and refs named by `nameOf` (the step's name in the plan).
 * Throws UnserializableValue for what JSON cannot carry back.
 */
export function encodeValue(value: unknown, nameOf: (handle: StepHandle) => string, at = 'options'): EncodedValue {
  const open = new Set<object>();
  const encode = (v: unknown, path: string): EncodedValue => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return encodeNumber(v);
    if (v === undefined) return tagged({ [TAG]: 'undefined' });
    if (typeof v === 'bigint') return tagged({ [TAG]: 'bigint', value: v.toString() });
    if (typeof v !== 'object') throw new UnserializableValue(path, `a ${typeof v}`);
    if (isStepHandle(v)) return tagged({ [TAG]: 'handle', step: nameOf(v) });
    if (isArtifactRef(v)) return encodeRef(v, nameOf);
    if (isOutputPlaceholder(v)) return tagged({ [TAG]: 'out', output: v.output });
    if (v instanceof Uint8Array) return encodeBytes(v, path);
    if (v instanceof RegExp) return tagged({ [TAG]: 'regexp', source: v.source, flags: v.flags });
    if (open.has(v)) throw new UnserializableValue(path, 'a cycle');
    open.add(v);
    try {
      return Array.isArray(v) ? encodeArray(v, path, encode) : encodeObject(v, path, encode);
    } finally {
      open.delete(v);
    }
  };
  return encode(value, at);
}

function tagged(t: Tagged): EncodedValue {
  return t as unknown as EncodedValue;
}

function encodeNumber(v: number): EncodedValue {
  if (Number.isFinite(v) && !Object.is(v, -0)) return v;
  return tagged({ [TAG]: 'number', value: Object.is(v, -0) ? '-0' : String(v) });
}

function encodeRef(ref: ArtifactRef, nameOf: (handle: StepHandle) => string): EncodedValue {
  return tagged({ [TAG]: 'ref', step: nameOf(ref.step), ...(ref.output !== undefined ? { output: ref.output } : {}) });
}

function encodeBytes(v: Uint8Array, path: string): EncodedValue {
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Uint8Array.prototype && proto !== Buffer.prototype)
    throw new UnserializableValue(path, 'a typed array');
  const base64 = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  return tagged({ [TAG]: 'bytes', base64, buffer: proto === Buffer.prototype });
}

type Encode = (v: unknown, path: string) => EncodedValue;

function encodeArray(v: unknown[], path: string, encode: Encode): EncodedValue {
  if (Object.getPrototypeOf(v) !== Array.prototype) throw new UnserializableValue(path, 'an array of a class');
  const items: EncodedValue[] = [];
  for (let i = 0; i < v.length; i++) items.push(encode(v[i], `${path}[${i}]`));
  return items;
}

function encodeObject(v: object, path: string, encode: Encode): EncodedValue {
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = (v as { constructor?: { name?: string } }).constructor?.name;
    throw new UnserializableValue(path, `an instance of ${name || 'a class'}`);
  }
  if (Object.getOwnPropertySymbols(v).length) throw new UnserializableValue(path, 'an object with symbol keys');
  if (Object.prototype.hasOwnProperty.call(v, TAG)) throw new UnserializableValue(path, 'an object kiln cannot tag');
  const out: Record<string, EncodedValue> = {};
  for (const [key, x] of Object.entries(v)) out[key] = encode(x, `${path}.${key}`);
  return out;
}

/**
 * The value `encoded` was written from, with each step named in it replaced by `handleOf(name)`
 * (or a ref to one of its outputs). Throws on a tag it does not know (a corrupt plan).
 */
export function reviveValue(encoded: EncodedValue, handleOf: (step: string) => StepHandle): unknown {
  const revive = (v: EncodedValue): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(revive);
    if (Object.prototype.hasOwnProperty.call(v, TAG)) return reviveTagged(v as unknown as Tagged, handleOf);
    const out: Record<string, unknown> = {};
    for (const [key, x] of Object.entries(v)) out[key] = revive(x);
    return out;
  };
  return revive(encoded);
}

function reviveTagged(t: Tagged, handleOf: (step: string) => StepHandle): unknown {
  switch (t[TAG]) {
    case 'handle':
      return handleOf(t.step);
    case 'ref':
      return t.output === undefined ? handleOf(t.step).out : handleOf(t.step).output(t.output);
    case 'out':
      return outputPlaceholder(t.output);
    case 'undefined':
      return undefined;
    case 'number':
      return t.value === '-0' ? -0 : Number(t.value);
    case 'bigint':
      return BigInt(t.value);
    case 'bytes': {
      const bytes = Buffer.from(t.base64, 'base64');
      return t.buffer ? bytes : new Uint8Array(bytes);
    }
    case 'regexp':
      return new RegExp(t.source, t.flags);
    default:
      throw new Error(`an unknown tagged value ${JSON.stringify((t as Record<string, unknown>)[TAG])}`);
  }
}
