/**
 * Zig file emitter, for Zig 0.11. Implements the Zig 0.11 Language Reference § "extern struct"
 * (C ABI layout), § "packed struct" (backing integer, fields from the least significant bit) and
 * § "enum" (explicit tag type; non-exhaustive `_` so any raw value from the other side is valid),
 * with `comptime` blocks that `@compileError` when `@sizeOf`, `@alignOf`, `@offsetOf` or
 * `@bitOffsetOf` differ from kiln's computed layout.
 */
import {
  RUST_ZIG_SCALARS,
  bannerLines,
  bitsMask,
  constantLines,
  docLines,
  flagsMask,
  intLiteral,
  quotedString,
  slashDocs,
  type EmitContext,
} from './_emit.js';
import { camel, upper } from './_names.js';
import type { AbiType, NormalizedEnum, NormalizedFlags } from './normalize.js';

/** The Zig spelling of a field type. */
export function zigType(type: AbiType): string {
  switch (type.kind) {
    case 'scalar':
      return RUST_ZIG_SCALARS[type.name];
    case 'enum':
    case 'flags':
    case 'struct':
      return camel(type.name);
    case 'array':
      return `[${type.length}]${zigType(type.element)}`;
  }
}

function emitEnum(e: NormalizedEnum, typeName: string, title: string): string[] {
  const out = slashDocs([`${title} Non-exhaustive: every raw value is representable.`, ...docLines(e.doc)]);
  out.push(`pub const ${typeName} = enum(${e.type}) {`);
  for (const v of e.values) {
    out.push(...slashDocs(docLines(v.doc), '    '));
    out.push(`    ${v.name} = ${v.value},`);
  }
  out.push(
    '    _,',
    '};',
    `comptime {`,
    `    if (@sizeOf(${typeName}) != ${Number(e.type.slice(1)) / 8}) @compileError("${typeName}: size");`,
    '}',
    '',
  );
  return out;
}

function emitFlags(f: NormalizedFlags): string[] {
  const name = camel(f.name);
  const t = `u${f.width}`;
  const out = slashDocs([
    `Flag set ${f.name} (${f.width}-bit): one bool per bit, least significant first.`,
    ...docLines(f.doc),
  ]);
  out.push(`pub const ${name} = packed struct(${t}) {`);
  const byBit = new Map(f.bits.map((b) => [b.bit, b.name]));
  let bit = 0;
  while (bit < f.width) {
    const flag = byBit.get(bit);
    if (flag !== undefined) {
      out.push(`    ${flag}: bool = false,`);
      bit++;
      continue;
    }
    const reserved = f.reserved.includes(bit);
    let end = bit + 1;
    while (end < f.width && !byBit.has(end) && f.reserved.includes(end) === reserved) end++;
    out.push(`    _${reserved ? 'reserved' : 'unused'}${bit}: u${end - bit} = 0,`);
    bit = end;
  }
  out.push('');
  for (const b of f.bits) out.push(`    pub const ${upper(b.name)}: ${t} = 1 << ${b.bit};`);
  out.push(`    pub const ALL: ${t} = ${intLiteral(flagsMask(f.bits))};`);
  out.push(`    pub const RESERVED: ${t} = ${intLiteral(bitsMask(f.reserved))};`);
  out.push(`    pub fn toInt(self: ${name}) ${t} {`, '        return @bitCast(self);', '    }');
  out.push(`    pub fn fromInt(bits: ${t}) ${name} {`, '        return @bitCast(bits);', '    }');
  out.push(
    `    pub fn contains(self: ${name}, other: ${name}) bool {`,
    '        return self.toInt() & other.toInt() == other.toInt();',
    '    }',
  );
  out.push(
    `    pub fn unionWith(self: ${name}, other: ${name}) ${name} {`,
    '        return fromInt(self.toInt() | other.toInt());',
    '    }',
  );
  out.push(
    `    pub fn intersect(self: ${name}, other: ${name}) ${name} {`,
    '        return fromInt(self.toInt() & other.toInt());',
    '    }',
  );
  out.push(
    `    pub fn without(self: ${name}, other: ${name}) ${name} {`,
    '        return fromInt(self.toInt() & ~other.toInt());',
    '    }',
  );
  out.push('};', 'comptime {');
  out.push(`    if (@sizeOf(${name}) != ${f.width / 8}) @compileError("${name}: size");`);
  for (const b of f.bits)
    out.push(`    if (@bitOffsetOf(${name}, "${b.name}") != ${b.bit}) @compileError("${name}.${b.name}: bit");`);
  out.push('}', '');
  return out;
}

/**
 * Emits the Zig file for an ABI (`const abi = @import("kozo_abi.zig");`).
 *
 * @example
 * ```ts
 * const abi = normalizeAbi(schema);
 * const zig = emitZig({ abi, layout: computeLayout(abi, 'aarch64'), hash: abiHash(abi) });
 * ```
 */
export function emitZig(ctx: EmitContext, fileName = `${ctx.abi.name}_abi.zig`): string {
  const { abi } = ctx;
  const out: string[] = [];
  out.push(...bannerLines(ctx, fileName).map((l) => `//! ${l}`));
  out.push(...docLines(abi.doc).map((l) => `//! ${l}`.trimEnd()), '');
  out.push(...constantLines(ctx, (name, text) => `pub const ${name} = ${quotedString(text)};`));
  for (const e of abi.enums) out.push(...emitEnum(e, camel(e.name), `enum ${e.name}.`));
  if (abi.errors) out.push(...emitEnum(abi.errors, 'Error', 'Error codes.'));
  for (const f of abi.flags) out.push(...emitFlags(f));

  for (const s of ctx.layout.structs) {
    const name = camel(s.name);
    out.push(...slashDocs([`struct ${s.name}: ${s.size} bytes, align ${s.align}.`, ...docLines(s.doc)]));
    out.push(`pub const ${name} = extern struct {`);
    for (const m of s.members) {
      if (m.kind === 'padding')
        out.push(
          `    /// Padding (offset ${m.offset}): must be zero.`,
          `    ${m.name}: [${m.size}]u8 = [_]u8{0} ** ${m.size},`,
        );
      else {
        const note =
          m.type.kind === 'scalar' && m.type.name === 'bool'
            ? ' bool: 0 or 1.'
            : m.type.kind === 'scalar' && m.type.name === 'ptr'
              ? ' User pointer (address).'
              : '';
        out.push(
          ...slashDocs(
            [...docLines(m.doc), `Offset ${m.offset}, ${m.size} byte${m.size === 1 ? '' : 's'}.${note}`],
            '    ',
          ),
        );
        out.push(`    ${m.name}: ${zigType(m.type)},`);
      }
    }
    out.push('};', 'comptime {');
    out.push(`    if (@sizeOf(${name}) != ${s.size}) @compileError("${name}: size");`);
    out.push(`    if (@alignOf(${name}) != ${s.align}) @compileError("${name}: alignment");`);
    for (const m of s.members)
      out.push(`    if (@offsetOf(${name}, "${m.name}") != ${m.offset}) @compileError("${name}.${m.name}: offset");`);
    out.push('}', '');
  }
  return out.join('\n');
}
