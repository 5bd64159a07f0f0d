// Schema validation (errors name the schema path, with a code and a hint), normalization,
// syscall auto-numbering, LP64 layout known answers, hash stability, and a fuzz of the
// schema reader: any input either normalizes or throws a KilnError, never anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abiHash,
  computeLayout,
  defineAbi,
  normalizeAbi,
  parseAbiJson,
  parseAbiSource,
  type AbiSchema,
} from '../../src/abi/index.js';
import { KilnError } from '../../src/errors.js';
import { arbitrarySchema, kozoSchema } from './_fixtures.js';

function errorOf(schema: unknown, options = {}): KilnError {
  try {
    normalizeAbi(schema, options);
  } catch (error) {
    expect(error).toBeInstanceOf(KilnError);
    return error as KilnError;
  }
  throw new Error('expected normalizeAbi to throw');
}
const base = { name: 'kozo', version: '1.0.0' };

describe('schema errors name the path', () => {
  const cases: Array<[string, unknown, string, string, RegExp]> = [
    [
      'duplicate syscall number',
      { ...base, syscalls: { yield: 0, cap_grant: { number: 0 } } },
      'ABI_DUPLICATE_NUMBER',
      'syscalls.cap_grant.number',
      /already used by syscalls\.yield/,
    ],
    [
      'flag outside its width',
      { ...base, flags: { rights: { width: 8, bits: { read: 0, grant: 8 } } } },
      'ABI_FLAG_OUT_OF_RANGE',
      'flags.rights.bits.grant',
      /outside the 8-bit width/,
    ],
    [
      'flag on a reserved bit',
      { ...base, flags: { rights: { bits: { read: 0, revoke: 31 }, reserved: [31] } } },
      'ABI_FLAG_RESERVED',
      'flags.rights.bits.revoke',
      /reserved/,
    ],
    [
      'two flags on one bit',
      { ...base, flags: { rights: { bits: { read: 0, write: 0 } } } },
      'ABI_DUPLICATE_NUMBER',
      'flags.rights.bits.write',
      /already used by "read"/,
    ],
    [
      'unknown field type',
      { ...base, structs: { msg: { fields: { tag: 'u33' } } } },
      'ABI_UNKNOWN_TYPE',
      'structs.msg.fields.tag.type',
      /unknown type "u33"/,
    ],
    [
      'unknown type suggests',
      { ...base, structs: { msg: { fields: { r: 'caprights' } } }, flags: { cap_rights: { bits: { a: 0 } } } },
      'ABI_UNKNOWN_TYPE',
      'structs.msg.fields.r.type',
      /unknown type "caprights"/,
    ],
    [
      'recursive struct',
      { ...base, structs: { a: { fields: { b: 'b' } }, b: { fields: { a: 'a[2]' } } } },
      'ABI_RECURSIVE_STRUCT',
      'structs.a',
      /a → b → a/,
    ],
    [
      'self-recursive struct',
      { ...base, structs: { node: { fields: { next: 'node' } } } },
      'ABI_RECURSIVE_STRUCT',
      'structs.node',
      /node → node/,
    ],
    [
      'Rust keyword as field',
      { ...base, structs: { msg: { fields: { type: 'u32' } } } },
      'ABI_RESERVED_IDENTIFIER',
      'structs.msg.fields.type',
      /keyword .* in Rust, Zig/,
    ],
    [
      'C keyword as field',
      { ...base, structs: { msg: { fields: { int: 'u32' } } } },
      'ABI_RESERVED_IDENTIFIER',
      'structs.msg.fields.int',
      /C/,
    ],
    [
      'Zig keyword as enum variant',
      { ...base, enums: { state: { values: ['ok', 'errdefer'] } } },
      'ABI_RESERVED_IDENTIFIER',
      'enums.state.values.errdefer',
      /Zig/,
    ],
    [
      'Zig primitive as flag',
      { ...base, flags: { f: { bits: { u7: 0 } } } },
      'ABI_RESERVED_IDENTIFIER',
      'flags.f.bits.u7',
      /Zig/,
    ],
    [
      'TS keyword as field',
      { ...base, structs: { msg: { fields: { instanceof: 'u8' } } } },
      'ABI_RESERVED_IDENTIFIER',
      'structs.msg.fields.instanceof',
      /TypeScript/,
    ],
    [
      'type name that becomes Self',
      { ...base, structs: { self: { fields: { a: 'u8' } } } },
      'ABI_RESERVED_IDENTIFIER',
      'structs.self',
      /"Self"/,
    ],
    [
      'CamelCase',
      { ...base, structs: { IpcMsg: { fields: { a: 'u8' } } } },
      'ABI_BAD_IDENTIFIER',
      'structs.IpcMsg',
      /snake_case/,
    ],
    [
      'duplicate type name',
      { ...base, enums: { kind: { values: ['a'] } }, structs: { kind: { fields: { a: 'u8' } } } },
      'ABI_DUPLICATE_NAME',
      'structs.kind',
      /already declared as an enum/,
    ],
    [
      'names that collide once emitted',
      { ...base, structs: { v_2: { fields: { a: 'u8' } }, v2: { fields: { a: 'u8' } } } },
      'ABI_DUPLICATE_NAME',
      'structs.v2',
      /"V2"/,
    ],
    [
      'constant colliding with a syscall constant',
      { ...base, syscalls: { yield: 0 }, constants: { sys_yield: 1 } },
      'ABI_DUPLICATE_NAME',
      'constants.sys_yield',
      /SYS_YIELD/,
    ],
    [
      'constant colliding with generated code',
      { ...base, constants: { abi_hash: 1 } },
      'ABI_DUPLICATE_NAME',
      'constants.abi_hash',
      /generated code/,
    ],
    [
      'enum value out of range',
      { ...base, enums: { e: { type: 'u8', values: { big: 256 } } } },
      'ABI_VALUE_OUT_OF_RANGE',
      'enums.e.values.big',
      /does not fit in u8/,
    ],
    [
      'duplicate enum value',
      { ...base, enums: { e: { values: { a: 1, b: 1 } } } },
      'ABI_DUPLICATE_NUMBER',
      'enums.e.values.b',
      /already used by "a"/,
    ],
    [
      'constant out of range',
      { ...base, constants: { c: { value: -1, type: 'u32' } } },
      'ABI_VALUE_OUT_OF_RANGE',
      'constants.c.value',
      /does not fit in u32/,
    ],
    ['unsafe JS integer', { ...base, constants: { c: 2 ** 60 } }, 'ABI_SCHEMA_INVALID', 'constants.c', /integer/],
    ['bad version', { ...base, version: '1.0' }, 'ABI_SCHEMA_INVALID', 'version', /semantic version/],
    ['unknown key', { ...base, syscall: {} }, 'ABI_SCHEMA_INVALID', 'syscall', /unknown key "syscall"/],
    [
      'empty struct',
      { ...base, structs: { e: { fields: [] } } },
      'ABI_SCHEMA_INVALID',
      'structs.e.fields',
      /at least one field/,
    ],
    [
      'zero-length array',
      { ...base, structs: { e: { fields: { a: 'u8[0]' } } } },
      'ABI_SCHEMA_INVALID',
      'structs.e.fields.a.type',
      /array length/,
    ],
    [
      'flag width',
      { ...base, flags: { f: { width: 24, bits: {} } } },
      'ABI_SCHEMA_INVALID',
      'flags.f.width',
      /8, 16, 32 or 64/,
    ],
    ['syscall number negative', { ...base, syscalls: { a: -1 } }, 'ABI_VALUE_OUT_OF_RANGE', 'syscalls.a', /outside/],
    [
      'flag named like a generated helper',
      { ...base, flags: { f: { bits: { contains: 0 } } } },
      'ABI_DUPLICATE_NAME',
      'flags.f.bits.contains',
      /generated code/,
    ],
    [
      'flag named like a generated constant',
      { ...base, flags: { f: { bits: { all: 0 } } } },
      'ABI_DUPLICATE_NAME',
      'flags.f.bits.all',
      /ALL.*generated code/,
    ],
    [
      'field named like a GNU C predefined macro',
      { ...base, structs: { m: { fields: { linux: 'u8' } } } },
      'ABI_RESERVED_IDENTIFIER',
      'structs.m.fields.linux',
      /C/,
    ],
    ['doc closing a C comment', { ...base, doc: 'oops */' }, 'ABI_SCHEMA_INVALID', 'doc', /\*\//],
  ];
  for (const [title, schema, code, path, message] of cases) {
    it(title, () => {
      const e = errorOf(schema, { file: 'kozo.abi.json' });
      expect(e.code).toBe(code);
      expect(e.location?.configPath).toBe(path);
      expect(e.location?.file).toBe('kozo.abi.json');
      expect(e.message).toMatch(message);
      expect(e.toLine()).toContain(`kozo.abi.json: ${path}: `);
      expect(e.exitCode).toBe(2);
    });
  }
  it('every error carries a hint where one helps', () => {
    expect(errorOf(cases[0]![1]).hint).toMatch(/omit "number"/);
    expect(errorOf(cases[1]![1]).hint).toMatch(/0 to 7/);
    expect(errorOf(cases[5]![1]).hint).toMatch(/did you mean "cap_rights"/);
    expect(errorOf(cases[6]![1]).hint).toMatch(/ptr/);
  });
  it('a syscall named like a Rust keyword is fine (emitted as SYS_YIELD), a field is not', () => {
    expect(normalizeAbi({ ...base, syscalls: { yield: 0, async: 1 } }).syscalls.map((s) => s.name)).toEqual([
      'yield',
      'async',
    ]);
  });
});

describe('normalization', () => {
  it('fills defaults and converts integers', () => {
    const abi = normalizeAbi(kozoSchema);
    expect(abi.version).toEqual({ major: 1, minor: 2, patch: 0, text: '1.2.0' });
    expect(abi.enums.find((e) => e.name === 'obj_type')!.values.map((v) => [v.name, v.value])).toEqual([
      ['untyped', 0n],
      ['cnode', 1n],
      ['endpoint', 2n],
      ['frame', 3n],
      ['page_table', 4n],
    ]);
    expect(abi.enums.find((e) => e.name === 'wide')!.values[1]!.value).toBe(0xffff_ffff_ffff_ffffn);
    expect(abi.constants.find((c) => c.name === 'page_size')).toEqual({
      name: 'page_size',
      type: 'usize',
      value: 4096n,
      doc: 'Bytes per page.',
    });
    expect(abi.constants.find((c) => c.name === 'minus_ten')).toEqual({ name: 'minus_ten', type: 'i64', value: -10n });
    expect(abi.constants.find((c) => c.name === 'magic')!.type).toBe('string');
    expect(abi.errors!.type).toBe('i32');
    expect(abi.flags.find((f) => f.name === 'cap_rights')!.reserved).toEqual([30, 31]);
  });
  it('orders structs after the structs they contain', () => {
    const abi = normalizeAbi({
      ...base,
      structs: {
        outer: { fields: { i: 'inner[2]' } },
        inner: { fields: { x: 'leaf' } },
        leaf: { fields: { v: 'u8' } },
      },
    });
    expect(abi.structs.map((s) => s.name)).toEqual(['leaf', 'inner', 'outer']);
  });
  it('auto-assigns the lowest free syscall numbers, in declaration order', () => {
    const abi = normalizeAbi({ ...base, syscalls: { a: {}, b: 1, c: 'auto', d: 0, e: {} } });
    expect(Object.fromEntries(abi.syscalls.map((s) => [s.name, s.number]))).toEqual({ d: 0, b: 1, a: 2, c: 3, e: 4 });
    expect(abi.syscalls.find((s) => s.name === 'a')!.auto).toBe(true);
  });
  it('keeps auto numbers from the lock and never reuses a locked number', () => {
    const locked = { a: 5, gone: 0 };
    const abi = normalizeAbi({ ...base, syscalls: { fresh: {}, a: {}, b: 1 } }, { lockedSyscalls: locked });
    expect(Object.fromEntries(abi.syscalls.map((s) => [s.name, s.number]))).toEqual({ b: 1, fresh: 2, a: 5 });
  });
  it('refuses an explicit number taking a locked auto number', () => {
    const e = errorOf({ ...base, syscalls: { a: {}, b: 5 } }, { lockedSyscalls: { a: 5 } });
    expect(e.code).toBe('ABI_DUPLICATE_NUMBER');
    expect(e.location?.configPath).toBe('syscalls.a');
  });
  it('accepts upper-case constant names and fields as an ordered object or array', () => {
    const a = normalizeAbi({
      ...base,
      constants: { PAGE_SIZE: 4096 },
      structs: { m: { fields: { x: 'u8', y: 'u32' } } },
    });
    const b = normalizeAbi({
      ...base,
      constants: { page_size: 4096 },
      structs: {
        m: {
          fields: [
            { name: 'x', type: 'u8' },
            { name: 'y', type: 'u32' },
          ],
        },
      },
    });
    expect(abiHash(a)).toBe(abiHash(b));
  });
  it('defineAbi returns its argument', () => {
    const s = { ...base };
    expect(defineAbi(s)).toBe(s);
  });
});

describe('LP64 layout (System V AMD64 / AAPCS64)', () => {
  const layoutOf = (fields: Record<string, string>, extra: Partial<AbiSchema> = {}) => {
    const abi = normalizeAbi({ ...base, ...extra, structs: { ...(extra.structs ?? {}), t: { fields } } });
    return computeLayout(abi, 'aarch64').structs.find((s) => s.name === 't')!;
  };
  it('pads to natural alignment and rounds the size up (tail padding)', () => {
    const s = layoutOf({ a: 'u8', b: 'u64', c: 'u16' });
    expect([s.size, s.align]).toEqual([24, 8]);
    expect(s.members.map((m) => [m.name, m.offset, m.size])).toEqual([
      ['a', 0, 1],
      ['_pad0', 1, 7],
      ['b', 8, 8],
      ['c', 16, 2],
      ['_pad1', 18, 6],
    ]);
  });
  it('arrays align as their element; nested structs as their own alignment', () => {
    const s = layoutOf(
      { a: 'u8', b: 'inner[2]', c: 'u8[3]' },
      { structs: { inner: { fields: { x: 'u32', y: 'u8' } } } },
    );
    expect(s.members.map((m) => [m.name, m.offset, m.size])).toEqual([
      ['a', 0, 1],
      ['_pad0', 1, 3],
      ['b', 4, 16],
      ['c', 20, 3],
      ['_pad1', 23, 1],
    ]);
    expect(s.align).toBe(4);
  });
  it('enums and flags take their underlying width; bool 1, ptr/usize 8', () => {
    const s = layoutOf(
      { e: 'e8', f: 'f16', b: 'bool', p: 'ptr', z: 'isize' },
      { enums: { e8: { type: 'i8', values: ['x'] } }, flags: { f16: { width: 16, bits: { a: 0 } } } },
    );
    expect(s.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['e', 0, 1],
      ['f', 2, 2],
      ['b', 4, 1],
      ['p', 8, 8],
      ['z', 16, 8],
    ]);
    expect(s.size).toBe(24);
  });
  it('x86_64 and aarch64 agree', () => {
    const abi = normalizeAbi(kozoSchema);
    expect(computeLayout(abi, 'x86_64').structs).toEqual(computeLayout(abi, 'aarch64').structs);
  });
  it('members cover every byte exactly once, for random schemas', () => {
    fc.assert(
      fc.property(arbitrarySchema('p'), (schema) => {
        for (const s of computeLayout(normalizeAbi(schema)).structs) {
          let at = 0;
          for (const m of s.members) {
            expect(m.offset).toBe(at);
            at += m.size;
          }
          expect(at).toBe(s.size);
          expect(s.size % s.align).toBe(0);
          for (const f of s.fields) expect(f.offset % f.align).toBe(0);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('abi hash', () => {
  const shuffle = <T>(items: T[], seed: number): T[] => {
    const a = [...items];
    let x = seed || 1;
    for (let i = a.length - 1; i > 0; i--) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const j = x % (i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  const reorder = (value: unknown, seed: number, path = ''): unknown => {
    if (Array.isArray(value)) return value.map((v) => reorder(v, seed, path));
    if (value && typeof value === 'object') {
      // Key order is not semantic except for struct fields written as an object (declaration order).
      const keep = /\.fields$/.test(path);
      const entries = Object.entries(value as Record<string, unknown>);
      return Object.fromEntries(
        (keep ? entries : shuffle(entries, seed)).map(([k, v]) => [k, reorder(v, seed, `${path}.${k}`)]),
      );
    }
    return value;
  };
  it('is stable across key order', () => {
    const hash = abiHash(kozoSchema);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        // Syscall auto numbers follow declaration order, so pin them as the lock would.
        const locked = Object.fromEntries(normalizeAbi(kozoSchema).syscalls.map((s) => [s.name, s.number]));
        expect(abiHash(reorder(kozoSchema, seed) as AbiSchema, { lockedSyscalls: locked })).toBe(hash);
      }),
      { numRuns: 100 },
    );
  });
  it('ignores doc comments but changes with anything binary', () => {
    const h = abiHash(kozoSchema);
    expect(abiHash({ ...kozoSchema, doc: 'other words' })).toBe(h);
    expect(abiHash({ ...kozoSchema, version: '1.2.1' })).not.toBe(h);
    expect(abiHash({ ...kozoSchema, syscalls: { ...kozoSchema.syscalls, cap_grant: 5 } })).not.toBe(h);
    expect(
      abiHash({ ...kozoSchema, structs: { ...kozoSchema.structs, bytes_only: { fields: { data: 'u8[6]' } } } }),
    ).not.toBe(h);
    expect(
      abiHash({ ...kozoSchema, flags: { ...kozoSchema.flags, irq_mask: { width: 16, bits: { timer: 1, uart: 15 } } } }),
    ).not.toBe(h);
  });
  it('known answer (the canonical form is part of the ABI contract)', () => {
    expect(abiHash({ name: 'k', version: '1.0.0', syscalls: { yield: 0 } })).toBe(
      abiHash({ version: '1.0.0', syscalls: { yield: 0 }, name: 'k' }),
    );
    expect(abiHash({ name: 'k', version: '1.0.0', syscalls: { yield: 0 } })).toMatchInlineSnapshot(
      `"11fc235939e526f52851d78d5270a01154f04be1659e865e82a14cb40bbc4bb4"`,
    );
  });
});

describe('reading schema text', () => {
  it('parses JSON and reports syntax errors with a line', () => {
    expect(parseAbiJson('{"name":"k","version":"1.0.0"}').name).toBe('k');
    try {
      parseAbiJson('{\n  "name": "k",\n  oops\n}', 'k.abi.json');
      throw new Error('no error');
    } catch (error) {
      const e = error as KilnError;
      expect(e.code).toBe('ABI_SCHEMA_SYNTAX');
      expect(e.location?.file).toBe('k.abi.json');
      expect(e.location?.line).toBe(3);
    }
  });
  it('TOML needs smol-toml; without it the error says what to do', async () => {
    let available = true;
    try {
      await import('smol-' + 'toml');
    } catch {
      available = false;
    }
    const text = 'name = "k"\nversion = "1.0.0"\n[syscalls]\nyield = 0\n';
    if (available) {
      expect(normalizeAbi(await parseAbiSource(text, 'k.abi.toml')).syscalls[0]!.name).toBe('yield');
    } else {
      await expect(parseAbiSource(text, 'k.abi.toml')).rejects.toMatchObject({ code: 'ABI_TOML_UNAVAILABLE' });
    }
  });
});

describe('fuzz: the schema reader never crashes', () => {
  const runs = Number(process.env.KILN_FUZZ_RUNS ?? 15_000);
  it(
    `${runs} mutated schemas normalize or throw a KilnError`,
    () => {
      const seedJson = JSON.parse(JSON.stringify(kozoSchema)) as Record<string, unknown>;
      const leafValue = fc.oneof(
        fc.integer({ min: -5, max: 300 }),
        fc.constantFrom(
          'u8',
          'u64',
          'x[2]',
          'ipc_msg',
          'cap_ref[0]',
          '',
          '0xff',
          'auto',
          null,
          true,
          [],
          {},
          1.5,
          -1e20,
        ),
        fc.string({ maxLength: 6 }),
      );
      // Paths of the seed schema, to mutate one value (or key) somewhere inside it.
      const paths: string[][] = [];
      const walk = (v: unknown, p: string[]) => {
        paths.push(p);
        if (v && typeof v === 'object')
          for (const [k, c] of Object.entries(v as Record<string, unknown>)) walk(c, [...p, k]);
      };
      walk(seedJson, []);
      let threwKiln = 0;
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(paths.length - 1), leafValue, fc.boolean()), { minLength: 1, maxLength: 4 }),
          (mutations) => {
            const doc = structuredClone(seedJson);
            for (const [pi, value, renameKey] of mutations) {
              const p = paths[pi]!;
              if (p.length === 0) continue;
              let parent: Record<string, unknown> = doc;
              for (const k of p.slice(0, -1)) parent = (parent?.[k] ?? {}) as Record<string, unknown>;
              if (typeof parent !== 'object' || parent === null) continue;
              const key = p[p.length - 1]!;
              if (renameKey && typeof value === 'string') {
                parent[value] = parent[key];
                delete parent[key];
              } else parent[key] = value;
            }
            try {
              const abi = normalizeAbi(doc);
              computeLayout(abi);
              abiHash(abi);
            } catch (error) {
              if (!(error instanceof KilnError)) throw error;
              expect(error.location?.configPath).toBeTruthy();
              threwKiln++;
            }
          },
        ),
        { numRuns: runs },
      );
      expect(threwKiln).toBeGreaterThan(runs / 10);
    },
    Math.max(60_000, runs * 3),
  );
});
