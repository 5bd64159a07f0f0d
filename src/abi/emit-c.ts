/**
 * C header emitter. Targets ISO/IEC 9899:2018 (C17): `<stdint.h>` exact-width types (§7.20.1.1)
 * and `INTn_C`/`UINTn_C` constant macros (§7.20.4), `_Static_assert` (§6.7.10) on the size,
 * alignment (`_Alignof`, §6.5.3.4) and `offsetof` (§7.19) of every field. Enums and flag sets are
 * typedefs of their exact-width integer with `#define`d values (C17 enumeration constants are
 * `int`, too narrow for u64). Every padding byte is an explicit `_padN` member, so a compiler's
 * `-Wpadded` has nothing to report.
 */
import { bannerLines, bitsMask, docLines, flagsMask, hashU64Hex, hex, type EmitContext } from './_emit.js';
import { cNames } from './_names.js';
import { intRange, type AbiType, type ConstantType } from './normalize.js';
import type { IntType, ScalarType } from './types.js';

const C_SCALARS: Record<ScalarType, string> = {
  u8: 'uint8_t',
  u16: 'uint16_t',
  u32: 'uint32_t',
  u64: 'uint64_t',
  i8: 'int8_t',
  i16: 'int16_t',
  i32: 'int32_t',
  i64: 'int64_t',
  usize: 'size_t',
  isize: 'ptrdiff_t',
  ptr: 'uintptr_t',
  bool: 'uint8_t',
};

/** A C integer constant expression of `type` usable in `#if` (no casts). */
export function cIntLiteral(value: bigint, type: Exclude<ConstantType, 'string'>): string {
  const t: IntType = type === 'usize' ? 'u64' : type === 'isize' ? 'i64' : type;
  const macro = `${t.startsWith('u') ? 'UINT' : 'INT'}${t.slice(1)}_C`;
  const { min } = intRange(t);
  if (t.startsWith('i') && value === min) return `(-${macro}(${-(value + 1n)}) - 1)`;
  if (value < 0n) return `(-${macro}(${-value}))`;
  return `${macro}(${value >= 10n ? hex(value) : value})`;
}

function cString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\?/g, '\\?')}"`;
}

function comment(lines: string[], indent = ''): string[] {
  if (lines.length === 0) return [];
  if (lines.length === 1) return [`${indent}/* ${lines[0]} */`];
  return [`${indent}/*`, ...lines.map((l) => `${indent} * ${l}`.trimEnd()), `${indent} */`];
}

/**
 * Emits the C header for an ABI.
 *
 * @example
 * ```ts
 * const abi = normalizeAbi(schema);
 * const header = emitC({ abi, layout: computeLayout(abi, 'x86_64'), hash: abiHash(abi) });
 * ```
 */
export function emitC(ctx: EmitContext, fileName = `${ctx.abi.name}_abi.h`): string {
  const { abi } = ctx;
  const M = (...parts: string[]) => cNames.macro(abi.name, ...parts);
  const T = (name: string) => cNames.type(abi.name, name);
  const guard = `${fileName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_INCLUDED`;
  const out: string[] = [];
  out.push(...comment(bannerLines(ctx, fileName)));
  out.push(
    `#ifndef ${guard}`,
    `#define ${guard}`,
    '',
    '#include <stdbool.h>',
    '#include <stddef.h>',
    '#include <stdint.h>',
    '',
  );
  out.push(
    '#ifdef __cplusplus',
    'extern "C" {',
    `#define ${M('abi_static_assert')}(cond, msg) static_assert(cond, msg)`,
    `#define ${M('abi_alignof')}(type) alignof(type)`,
    '#else',
    `#define ${M('abi_static_assert')}(cond, msg) _Static_assert(cond, msg)`,
    `#define ${M('abi_alignof')}(type) _Alignof(type)`,
    '#endif',
    '',
  );
  const SA = M('abi_static_assert');
  const AL = M('abi_alignof');
  out.push(...comment(docLines(abi.doc)));
  out.push(`#define ${M('abi_name')} ${cString(abi.name)}`);
  out.push(`#define ${M('abi_version')} ${cString(abi.version.text)}`);
  out.push(`#define ${M('abi_version_major')} ${abi.version.major}`);
  out.push(`#define ${M('abi_version_minor')} ${abi.version.minor}`);
  out.push(`#define ${M('abi_version_patch')} ${abi.version.patch}`);
  out.push(`/* SHA-256 of the canonical schema; compare at run time to refuse a mismatched peer. */`);
  out.push(`#define ${M('abi_hash')} ${cString(ctx.hash)}`);
  out.push(`#define ${M('abi_hash_u64')} UINT64_C(${hashU64Hex(ctx)})`, '');

  if (abi.syscalls.length) {
    out.push('/* Syscall numbers. */');
    for (const s of abi.syscalls) {
      out.push(...comment(docLines(s.doc)));
      out.push(`#define ${M('sys', s.name)} ${s.number}`);
    }
    out.push('/* One more than the highest syscall number: the size of a dispatch table. */');
    out.push(`#define ${M('sys_count')} ${Math.max(...abi.syscalls.map((s) => s.number)) + 1}`, '');
  }

  if (abi.constants.length) {
    out.push('/* Constants. */');
    for (const c of abi.constants) {
      out.push(...comment(docLines(c.doc)));
      out.push(
        `#define ${M(c.name)} ${c.type === 'string' ? cString(c.value as string) : cIntLiteral(c.value as bigint, c.type)}`,
      );
    }
    out.push('');
  }

  const enums = [...abi.enums, ...(abi.errors ? [abi.errors] : [])];
  for (const e of enums) {
    out.push(...comment([...(e === abi.errors ? ['Error codes.'] : [`enum ${e.name}`]), ...docLines(e.doc)]));
    out.push(`typedef ${C_SCALARS[e.type]} ${T(e.name)};`);
    for (const v of e.values) {
      out.push(...comment(docLines(v.doc)));
      out.push(`#define ${M(e.name, v.name)} ${cIntLiteral(v.value, e.type)}`);
    }
    out.push('');
  }

  for (const f of abi.flags) {
    const t = `u${f.width}` as IntType;
    out.push(...comment([`flags ${f.name} (${f.width}-bit)`, ...docLines(f.doc)]));
    out.push(`typedef ${C_SCALARS[t]} ${T(f.name)};`);
    for (const b of f.bits) out.push(`#define ${M(f.name, b.name)} ${cIntLiteral(1n << BigInt(b.bit), t)}`);
    out.push(`#define ${M(f.name, 'all')} ${cIntLiteral(flagsMask(f.bits), t)}`);
    out.push(`#define ${M(f.name, 'reserved')} ${cIntLiteral(bitsMask(f.reserved), t)}`, '');
  }

  const typeName = (type: AbiType): string => {
    switch (type.kind) {
      case 'scalar':
        return C_SCALARS[type.name];
      case 'enum':
      case 'flags':
      case 'struct':
        return T(type.name);
      case 'array':
        return typeName(type.element);
    }
  };
  const dimsOf = (type: AbiType): string => (type.kind === 'array' ? `[${type.length}]${dimsOf(type.element)}` : '');

  for (const s of ctx.layout.structs) {
    out.push(...comment([`struct ${s.name}: ${s.size} bytes, align ${s.align}`, ...docLines(s.doc)]));
    out.push(`typedef struct ${cNames.tag(abi.name, s.name)} {`);
    for (const m of s.members) {
      if (m.kind === 'padding') out.push(`    uint8_t ${m.name}[${m.size}]; /* padding, must be zero */`);
      else {
        const note = m.type.kind === 'scalar' && m.type.name === 'bool' ? ' /* bool: 0 or 1 */' : '';
        out.push(...comment(docLines(m.doc), '    '));
        out.push(`    ${typeName(m.type)} ${m.name}${dimsOf(m.type)};${note}`);
      }
    }
    out.push(`} ${T(s.name)};`);
    const tn = T(s.name);
    out.push(`${SA}(sizeof(${tn}) == ${s.size}, "${s.name}: size");`);
    out.push(`${SA}(${AL}(${tn}) == ${s.align}, "${s.name}: alignment");`);
    for (const m of s.members)
      out.push(`${SA}(offsetof(${tn}, ${m.name}) == ${m.offset}, "${s.name}.${m.name}: offset");`);
    out.push('');
  }

  out.push('#ifdef __cplusplus', '}', '#endif', '', `#endif /* ${guard} */`, '');
  return out.join('\n');
}
