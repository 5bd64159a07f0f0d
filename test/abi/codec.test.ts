// The generated TypeScript codec: encode/decode round trips (fast-check) for every struct of the
// fixture and of random schemas, padding written as zero, range and length errors, and a fuzz of
// the decoders with random bytes and offsets (a value or a RangeError, nothing else).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { camel } from '../../src/abi/_names.js';
import {
  computeLayout,
  generateAbi,
  intRange,
  normalizeAbi,
  type AbiLayout,
  type AbiType,
  type NormalizedAbi,
} from '../../src/abi/index.js';
import { tempDir } from '../_helpers.js';
import { arbitrarySchema, kozoSchema } from './_fixtures.js';

type Codec = Record<string, (...args: never[]) => unknown>;
const dir = tempDir('kiln-abi-codec-');

async function load(abi: NormalizedAbi): Promise<Codec> {
  const sub = join(dir, abi.name);
  mkdirSync(sub, { recursive: true });
  const file = generateAbi(abi, { langs: ['ts'] })[0]!;
  writeFileSync(join(sub, file.path), file.contents);
  return (await import(join(sub, file.path))) as Codec;
}

function arbitraryOf(abi: NormalizedAbi, type: AbiType): fc.Arbitrary<unknown> {
  const int = (t: string): fc.Arbitrary<unknown> => {
    const name = t === 'usize' || t === 'ptr' ? 'u64' : t === 'isize' ? 'i64' : t;
    const { min, max, bits } = intRange(name as 'u8');
    return bits === 64 ? fc.bigInt({ min, max }) : fc.integer({ min: Number(min), max: Number(max) });
  };
  switch (type.kind) {
    case 'scalar':
      return type.name === 'bool' ? fc.boolean() : int(type.name);
    case 'enum':
      return int(abi.enums.find((e) => e.name === type.name)!.type);
    case 'flags':
      return int(`u${abi.flags.find((f) => f.name === type.name)!.width}`);
    case 'array':
      return fc.array(arbitraryOf(abi, type.element), { minLength: type.length, maxLength: type.length });
    case 'struct': {
      const s = abi.structs.find((x) => x.name === type.name)!;
      return fc.record(Object.fromEntries(s.fields.map((f) => [f.name, arbitraryOf(abi, f.type)])));
    }
  }
}

/** Byte positions that do not round-trip from arbitrary bytes: padding (written 0) and bools (written 0/1). */
function normalizedBytes(abi: NormalizedAbi, layout: AbiLayout, name: string, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  const visit = (type: AbiType, at: number): void => {
    if (type.kind === 'scalar' && type.name === 'bool') out[at] = out[at] ? 1 : 0;
    else if (type.kind === 'array') {
      const elem = sizeOf(type.element);
      for (let i = 0; i < type.length; i++) visit(type.element, at + i * elem);
    } else if (type.kind === 'struct') struct(type.name, at);
  };
  const sizeOf = (type: AbiType): number => {
    if (type.kind === 'array') return sizeOf(type.element) * type.length;
    if (type.kind === 'struct') return layout.structs.find((s) => s.name === type.name)!.size;
    if (type.kind === 'scalar')
      return { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4 }[type.name as 'u8'] ?? 8;
    const t =
      type.kind === 'enum'
        ? abi.enums.find((e) => e.name === type.name)!.type
        : `u${abi.flags.find((f) => f.name === type.name)!.width}`;
    return Number(t.slice(1)) / 8;
  };
  const struct = (n: string, at: number) => {
    for (const m of layout.structs.find((s) => s.name === n)!.members) {
      if (m.kind === 'padding') out.fill(0, at + m.offset, at + m.offset + m.size);
      else visit(m.type, at + m.offset);
    }
  };
  struct(name, 0);
  return out;
}

async function roundTrips(abi: NormalizedAbi, runs: number): Promise<void> {
  const codec = await load(abi);
  const layout = computeLayout(abi);
  for (const s of layout.structs) {
    const encode = codec[`encode${camel(s.name)}`] as (v: unknown) => Uint8Array;
    const decode = codec[`decode${camel(s.name)}`] as (b: Uint8Array, o?: number) => unknown;
    fc.assert(
      fc.property(arbitraryOf(abi, { kind: 'struct', name: s.name }), (value) => {
        const bytes = encode(value);
        expect(bytes.length).toBe(s.size);
        expect(decode(bytes)).toEqual(value);
        for (const m of s.members)
          if (m.kind === 'padding')
            expect([...bytes.subarray(m.offset, m.offset + m.size)].every((b) => b === 0)).toBe(true);
      }),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: s.size, maxLength: s.size }), (bytes) => {
        expect(encode(decode(bytes))).toEqual(normalizedBytes(abi, layout, s.name, bytes));
      }),
      { numRuns: runs },
    );
  }
}

describe('generated TypeScript codec', () => {
  const abi = normalizeAbi(kozoSchema);

  it('round-trips every struct of the fixture (value → bytes → value, bytes → value → bytes)', async () => {
    await roundTrips(abi, 300);
  });

  it('round-trips random schemas', async () => {
    const schemas = fc.sample(arbitrarySchema('x'), { numRuns: 15, seed: 7 });
    for (const [i, schema] of schemas.entries()) await roundTrips(normalizeAbi({ ...schema, name: `rnd${i}` }), 30);
  });

  it('writes little-endian at the computed offsets, and exposes the layout', async () => {
    const codec = await load(abi);
    const encode = codec.encodeCapRef as (v: unknown) => Uint8Array;
    expect([...encode({ slot: 0x01020304, rights: 0x0a })]).toEqual([4, 3, 2, 1, 0x0a, 0, 0, 0]);
    expect(codec.IpcMsgLayout).toEqual({
      size: 80,
      align: 8,
      offsets: expect.objectContaining({ tag: 0, _pad0: 1, label: 8, delta: 76 }),
    });
    expect(codec.SYS_CAP_GRANT).toBe(3);
    expect(codec.U64_MAX).toBe(0xffff_ffff_ffff_ffffn);
    expect(codec.I64_MIN).toBe(-(2n ** 63n));
    expect(codec.PAGE_SIZE).toBe(4096n);
    expect(codec.MAGIC).toBe('KOZO "abi" \\ v1');
    expect(codec.CapRights).toEqual({
      READ: 1,
      WRITE: 2,
      GRANT: 4,
      REVOKE: 8,
      EMPTY: 0,
      ALL: 15,
      RESERVED: 0xc0000000,
    });
    expect(codec.AbiError).toMatchObject({ OK: 0, INVALID_CAP: -1 });
    expect(typeof codec.ABI_HASH).toBe('string');
  });

  it('decodes at an offset inside a larger buffer, and refuses short input', async () => {
    const codec = await load(abi);
    const encode = codec.encodeCapRef as (v: unknown) => Uint8Array;
    const decode = codec.decodeCapRef as (b: Uint8Array, o?: number) => unknown;
    const big = new Uint8Array(32);
    big.set(encode({ slot: 7, rights: 3 }), 20);
    expect(decode(big.subarray(4), 16)).toEqual({ slot: 7, rights: 3 });
    expect(() => decode(big, 25)).toThrow(RangeError);
    expect(() => decode(big, -1)).toThrow(/need 8 bytes/);
  });

  it('refuses out-of-range values and wrong array lengths with the field path', async () => {
    const codec = await load(abi);
    const encode = codec.encodeCapRef as (v: unknown) => Uint8Array;
    expect(() => encode({ slot: 2 ** 32, rights: 0 })).toThrow(/cap_ref\.slot: expected an integer in 0\.\.4294967295/);
    expect(() => encode({ slot: 1.5, rights: 0 })).toThrow(RangeError);
    const encodeBytes = codec.encodeBytesOnly as (v: unknown) => Uint8Array;
    expect(() => encodeBytes({ data: [1, 2, 3] })).toThrow(/bytes_only\.data: expected an array of 5, got 3/);
    const encodeAll = codec.encodeAllScalars as (v: unknown) => Uint8Array;
    const sample = fc.sample(arbitraryOf(abi, { kind: 'struct', name: 'all_scalars' }), {
      numRuns: 1,
      seed: 1,
    })[0] as Record<string, unknown>;
    expect(() => encodeAll({ ...sample, a_u64: -1n })).toThrow(/all_scalars\.a_u64/);
    expect(() => encodeAll({ ...sample, a_i64: 2n ** 63n })).toThrow(/all_scalars\.a_i64/);
  });

  it(
    'fuzz: decoders given random bytes and offsets return a value or throw RangeError',
    async () => {
      const codec = await load(abi);
      const decoders = computeLayout(abi).structs.map(
        (s) => codec[`decode${camel(s.name)}`] as (b: Uint8Array, o?: number) => unknown,
      );
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 200 }),
          fc.integer({ min: -4, max: 210 }),
          fc.nat(decoders.length - 1),
          (bytes, offset, which) => {
            try {
              decoders[which]!(bytes, offset);
            } catch (error) {
              expect(error).toBeInstanceOf(RangeError);
            }
          },
        ),
        { numRuns: Number(process.env.KILN_FUZZ_RUNS ?? 100_000) },
      );
    },
    Math.max(60_000, Number(process.env.KILN_FUZZ_RUNS ?? 0) * 2),
  );
});
