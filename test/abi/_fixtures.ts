// A KOZO-style ABI schema exercising every feature: used by the compiler, codec and lock tests.
import { defineAbi } from '../../src/abi/index.js';

export const kozoSchema = defineAbi({
  name: 'kozo',
  version: '1.2.0',
  doc: 'KOZO microkernel ABI (test fixture).',
  syscalls: {
    yield: { number: 0, doc: 'Give up the CPU.' },
    cap_grant: 3,
    cap_revoke: 'auto',
    ipc_send: {},
    ipc_recv: { doc: 'Receive a message.' },
    debug_putc: 64,
  },
  enums: {
    obj_type: {
      type: 'u32',
      values: ['untyped', 'cnode', 'endpoint', 'frame', 'page_table'],
      doc: 'Kernel object types.',
    },
    tiny: { type: 'u8', values: { a: 0, b: 255 } },
    wide: { type: 'u64', values: { zero: 0, big: '0xffff_ffff_ffff_ffff' } },
    signed_wide: { type: 'i64', values: { min: '-9223372036854775808', max: '9223372036854775807', minus_one: -1 } },
    small_signed: { type: 'i16', values: { neg: -32768, pos: 32767 } },
  },
  flags: {
    cap_rights: {
      width: 32,
      bits: { read: 0, write: 1, grant: 2, revoke: 3 },
      reserved: [30, 31],
      doc: 'Capability rights.',
    },
    page_flags: { width: 8, bits: { present: 0, writable: 1, user: 2, no_exec: 7 }, reserved: [5] },
    irq_mask: { width: 16, bits: { timer: 0, uart: 15 } },
    feature_set: { width: 64, bits: { fpu: 0, simd: 1, top: 63 }, reserved: [32, 33, 34] },
  },
  errors: { type: 'i32', values: { ok: 0, invalid_cap: -1, no_memory: -2, would_block: -3, denied: -4 } },
  constants: {
    PAGE_SIZE: { value: 4096, type: 'usize', doc: 'Bytes per page.' },
    max_caps: { value: 255, type: 'u8' },
    u64_max: { value: '0xffff_ffff_ffff_ffff', type: 'u64' },
    i64_min: { value: '-9223372036854775808', type: 'i64' },
    i32_min: { value: -2147483648, type: 'i32' },
    minus_ten: -10,
    magic: 'KOZO "abi" \\ v1',
    plain: 7,
  },
  structs: {
    cap_ref: {
      fields: [
        { name: 'slot', type: 'u32' },
        { name: 'rights', type: 'cap_rights' },
      ],
    },
    ipc_msg: {
      doc: 'One IPC message.',
      fields: [
        { name: 'tag', type: 'u8', doc: 'Message tag.' },
        { name: 'label', type: 'u64' },
        { name: 'kind', type: 'obj_type' },
        { name: 'caps', type: 'cap_ref[3]' },
        { name: 'flag', type: 'bool' },
        { name: 'words', type: 'u16[2][3]' },
        { name: 'buffer', type: 'ptr' },
        { name: 'page', type: 'page_flags' },
        { name: 'delta', type: 'i32' },
      ],
    },
    all_scalars: {
      fields: {
        a_u8: 'u8',
        a_i8: 'i8',
        a_u16: 'u16',
        a_i16: 'i16',
        a_u32: 'u32',
        a_i32: 'i32',
        a_u64: 'u64',
        a_i64: 'i64',
        a_usize: 'usize',
        a_isize: 'isize',
        a_bool: 'bool',
        a_ptr: 'ptr',
        a_tiny: 'tiny',
        a_wide: 'wide',
        a_signed: 'signed_wide',
        a_small: 'small_signed',
        a_irq: 'irq_mask',
        a_feat: 'feature_set',
        tail: 'u8',
      },
    },
    outer: { fields: { inner: 'ipc_msg', count: 'u8', list: 'cap_ref[2]', end: 'u16' } },
    bytes_only: { fields: { data: 'u8[5]' } },
  },
});

import fc from 'fast-check';
import type { AbiSchema, IntType } from '../../src/abi/index.js';

const INTS: IntType[] = ['u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64'];
const SCALARS = [...INTS, 'usize', 'isize', 'bool', 'ptr'];

/** Random valid schemas: enums and flags of every width, structs of scalars, arrays and earlier structs. */
export function arbitrarySchema(name: string): fc.Arbitrary<AbiSchema> {
  return fc
    .record({
      enumTypes: fc.array(fc.constantFrom(...INTS), { minLength: 1, maxLength: 3 }),
      flagWidths: fc.array(fc.constantFrom(8, 16, 32, 64) as fc.Arbitrary<8 | 16 | 32 | 64>, {
        minLength: 1,
        maxLength: 3,
      }),
      structs: fc.array(
        fc.array(fc.record({ base: fc.nat(1000), dims: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 2 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        { minLength: 1, maxLength: 5 },
      ),
      explicitSyscalls: fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 5 }),
      autoSyscalls: fc.nat(4),
    })
    .map(({ enumTypes, flagWidths, structs, explicitSyscalls, autoSyscalls }) => {
      const enums = Object.fromEntries(
        enumTypes.map((type, i) => [
          `e${i}`,
          { type, values: { first: 0, second: 1, third: type.startsWith('i') ? -1 : 2 } },
        ]),
      );
      const flags = Object.fromEntries(
        flagWidths.map((width, i) => [
          `f${i}`,
          { width, bits: { low: 0, high: width - 1 }, reserved: width > 8 ? [1] : [] },
        ]),
      );
      const structDefs: Record<string, { fields: Array<{ name: string; type: string }> }> = {};
      structs.forEach((fields, si) => {
        const choices = [...SCALARS, ...Object.keys(enums), ...Object.keys(flags), ...Object.keys(structDefs)];
        structDefs[`s${si}`] = {
          fields: fields.map((f, fi) => ({
            name: `m${fi}`,
            type: `${choices[f.base % choices.length]}${f.dims.map((d) => `[${d}]`).join('')}`,
          })),
        };
      });
      const sys: Record<string, number | Record<string, never>> = {};
      explicitSyscalls.forEach((n, i) => (sys[`call${i}`] = n));
      for (let i = 0; i < autoSyscalls; i++) sys[`auto${i}`] = {};
      return {
        name,
        version: '1.0.0',
        syscalls: sys,
        enums,
        flags,
        structs: structDefs,
        constants: { k0: 1, k1: -2, k2: 'text' },
      } satisfies AbiSchema;
    });
}
