/**
 * Rust module emitter. Implements The Rust Reference, "Type layout" § "The C Representation"
 * (`#[repr(C)]` structs: fields in order, each at the next multiple of its alignment) and
 * § "Primitive representations" (`#[repr(u32)]` field-less enums), using only `core` so the module
 * works under `#![no_std]`.
 *
 * Layout checks compile on Rust 1.63 (Debian) and later: `const _: () = assert!(...)` (const
 * panics are stable since 1.57) on `size_of`/`align_of` of every struct and field type.
 * `core::mem::offset_of!` (1.77+) cannot be used on 1.63 and a version test is unstable
 * (`cfg(version)`), so the `offset_of!` asserts are emitted behind `#[cfg(kiln_abi_offset_of)]`
 * (pass `--cfg kiln_abi_offset_of` on 1.77+), and by default offsets are proven another way: every padding byte is an explicit `_padN`
 * field, and the emitted assert checks that the struct's size equals the sum of its field sizes.
 * A `repr(C)` struct with no implicit padding places each field right after the previous one, so
 * the offsets are exactly the running sums of the (individually asserted) field sizes — the ones
 * kiln computed.
 *
 * Enum-typed and bool fields are stored as their raw integer (`u32`, `u8`): an out-of-range value
 * from the other side of the ABI would be undefined behaviour in a Rust enum or bool. Convert with
 * `ObjType::from_raw(msg.kind)` / `TryFrom`.
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
import { underlyingInt } from './layout.js';
import type { AbiType, NormalizedEnum } from './normalize.js';
import type { IntType } from './types.js';

/** The Rust spelling of a field type. */
export function rustType(ctx: EmitContext, type: AbiType): string {
  switch (type.kind) {
    case 'scalar':
      return RUST_ZIG_SCALARS[type.name];
    case 'enum':
      return underlyingInt(ctx.abi, type)!;
    case 'flags':
    case 'struct':
      return camel(type.name);
    case 'array':
      return `[${rustType(ctx, type.element)}; ${type.length}]`;
  }
}

function emitEnum(e: NormalizedEnum, typeName: string, title: string): string[] {
  const out: string[] = [];
  out.push(...slashDocs([title, ...docLines(e.doc)]));
  out.push(`#[repr(${e.type})]`, '#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]', `pub enum ${typeName} {`);
  for (const v of e.values) {
    out.push(...slashDocs(docLines(v.doc), '    '));
    out.push(`    ${camel(v.name)} = ${v.value},`);
  }
  out.push('}', `impl ${typeName} {`);
  out.push(`    /// The variant with raw value \`raw\`, or \`None\` for a value this ABI does not define.`);
  out.push(`    pub const fn from_raw(raw: ${e.type}) -> core::option::Option<Self> {`, '        match raw {');
  for (const v of e.values) out.push(`            ${v.value} => core::option::Option::Some(Self::${camel(v.name)}),`);
  out.push('            _ => core::option::Option::None,', '        }', '    }');
  out.push(
    `    /// The raw value.`,
    `    pub const fn to_raw(self) -> ${e.type} {`,
    `        self as ${e.type}`,
    '    }',
    '}',
  );
  out.push(`impl core::convert::TryFrom<${e.type}> for ${typeName} {`, `    type Error = ${e.type};`);
  out.push(
    `    fn try_from(raw: ${e.type}) -> core::result::Result<Self, ${e.type}> {`,
    '        match Self::from_raw(raw) {',
    '            core::option::Option::Some(v) => core::result::Result::Ok(v),',
    '            core::option::Option::None => core::result::Result::Err(raw),',
    '        }',
    '    }',
    '}',
  );
  out.push(
    `impl core::convert::From<${typeName}> for ${e.type} {`,
    `    fn from(value: ${typeName}) -> ${e.type} {`,
    `        value as ${e.type}`,
    '    }',
    '}',
  );
  out.push(`const _: () = assert!(core::mem::size_of::<${typeName}>() == ${Number(e.type.slice(1)) / 8});`, '');
  return out;
}

/**
 * Emits the Rust module for an ABI (use it with `mod kozo_abi;` or `include!`).
 *
 * @example
 * ```ts
 * const abi = normalizeAbi(schema);
 * const rs = emitRust({ abi, layout: computeLayout(abi, 'x86_64'), hash: abiHash(abi) });
 * ```
 */
export function emitRust(ctx: EmitContext, fileName = `${ctx.abi.name}_abi.rs`): string {
  const { abi } = ctx;
  const out: string[] = [];
  out.push(...bannerLines(ctx, fileName).map((l) => `//! ${l}`));
  out.push('//!', '//! Uses only `core` (works under `#![no_std]`). Layout checks compile on Rust 1.63+.');
  out.push(...docLines(abi.doc).map((l) => `//! ${l}`.trimEnd()));
  out.push(
    '//! Rust 1.77+: build with `--cfg kiln_abi_offset_of` to also assert every offset with `core::mem::offset_of!`.',
  );
  out.push('', '#![allow(unknown_lints)]', '#![allow(dead_code, unexpected_cfgs, clippy::unusual_byte_groupings)]', '');
  out.push(
    ...constantLines(
      ctx,
      (name, text) => `pub const ${name}: &str = ${quotedString(text)};`,
      'First 8 bytes of `ABI_HASH`, big-endian.',
    ),
  );

  for (const e of abi.enums) out.push(...emitEnum(e, camel(e.name), `enum ${e.name}`));
  if (abi.errors) out.push(...emitEnum(abi.errors, 'Error', 'Error codes.'));

  for (const f of abi.flags) {
    const t = `u${f.width}` as IntType;
    const name = camel(f.name);
    const all = flagsMask(f.bits);
    out.push(
      ...slashDocs([
        `Flag set ${f.name} (${f.width}-bit). Any bit pattern is a valid value; \`ALL\` holds the defined flags.`,
        ...docLines(f.doc),
      ]),
    );
    out.push(
      '#[repr(transparent)]',
      '#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]',
      `pub struct ${name}(pub ${t});`,
      `impl ${name} {`,
    );
    for (const b of f.bits) out.push(`    pub const ${upper(b.name)}: Self = Self(1 << ${b.bit});`);
    out.push(`    pub const EMPTY: Self = Self(0);`, `    pub const ALL: Self = Self(${intLiteral(all)});`);
    out.push(
      `    /// Bits reserved for future flags; they must be zero.`,
      `    pub const RESERVED: Self = Self(${intLiteral(bitsMask(f.reserved))});`,
    );
    out.push(
      `    const NAMES: [(&'static str, ${t}); ${f.bits.length}] = [${f.bits.map((b) => `(${quotedString(upper(b.name))}, 1 << ${b.bit})`).join(', ')}];`,
    );
    out.push(`    pub const fn bits(self) -> ${t} { self.0 }`);
    out.push(`    /// \`None\` if \`bits\` has a bit outside \`ALL\`.`);
    out.push(
      `    pub const fn from_bits(bits: ${t}) -> core::option::Option<Self> { if bits & !Self::ALL.0 == 0 { core::option::Option::Some(Self(bits)) } else { core::option::Option::None } }`,
    );
    out.push(`    pub const fn from_bits_truncate(bits: ${t}) -> Self { Self(bits & Self::ALL.0) }`);
    out.push(`    pub const fn from_bits_retain(bits: ${t}) -> Self { Self(bits) }`);
    out.push(`    pub const fn empty() -> Self { Self::EMPTY }`);
    out.push(`    pub const fn all() -> Self { Self::ALL }`);
    out.push(`    pub const fn is_empty(self) -> bool { self.0 == 0 }`);
    out.push(`    pub const fn is_all(self) -> bool { self.0 & Self::ALL.0 == Self::ALL.0 }`);
    out.push(`    pub const fn contains(self, other: Self) -> bool { self.0 & other.0 == other.0 }`);
    out.push(`    pub const fn intersects(self, other: Self) -> bool { self.0 & other.0 != 0 }`);
    out.push(`    pub const fn union(self, other: Self) -> Self { Self(self.0 | other.0) }`);
    out.push(`    pub const fn intersection(self, other: Self) -> Self { Self(self.0 & other.0) }`);
    out.push(`    pub const fn difference(self, other: Self) -> Self { Self(self.0 & !other.0) }`);
    out.push(`    pub const fn symmetric_difference(self, other: Self) -> Self { Self(self.0 ^ other.0) }`);
    out.push(`    pub const fn complement(self) -> Self { Self(!self.0 & Self::ALL.0) }`);
    out.push(`    pub fn insert(&mut self, other: Self) { self.0 |= other.0; }`);
    out.push(`    pub fn remove(&mut self, other: Self) { self.0 &= !other.0; }`);
    out.push(`    pub fn toggle(&mut self, other: Self) { self.0 ^= other.0; }`);
    out.push(
      `    pub fn set(&mut self, other: Self, value: bool) { if value { self.insert(other) } else { self.remove(other) } }`,
    );
    out.push('}');
    const op = (trait: string, method: string, expr: string) => {
      out.push(
        `impl core::ops::${trait} for ${name} {`,
        '    type Output = Self;',
        `    fn ${method}(self, rhs: Self) -> Self { ${expr} }`,
        '}',
      );
    };
    const opAssign = (trait: string, method: string, operator: string) => {
      out.push(
        `impl core::ops::${trait} for ${name} {`,
        `    fn ${method}(&mut self, rhs: Self) { self.0 ${operator} rhs.0; }`,
        '}',
      );
    };
    op('BitOr', 'bitor', 'Self(self.0 | rhs.0)');
    op('BitAnd', 'bitand', 'Self(self.0 & rhs.0)');
    op('BitXor', 'bitxor', 'Self(self.0 ^ rhs.0)');
    op('Sub', 'sub', 'Self(self.0 & !rhs.0)');
    opAssign('BitOrAssign', 'bitor_assign', '|=');
    opAssign('BitAndAssign', 'bitand_assign', '&=');
    opAssign('BitXorAssign', 'bitxor_assign', '^=');
    out.push(
      `impl core::ops::SubAssign for ${name} {`,
      '    fn sub_assign(&mut self, rhs: Self) { self.0 &= !rhs.0; }',
      '}',
    );
    out.push(
      `impl core::ops::Not for ${name} {`,
      '    type Output = Self;',
      '    fn not(self) -> Self { self.complement() }',
      '}',
    );
    out.push(
      `impl core::fmt::Debug for ${name} {`,
      "    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {",
    );
    out.push(
      `        f.write_str(${quotedString(`${name}(`)})?;`,
      '        let mut first = true;',
      '        for (flag, bit) in Self::NAMES.iter() {',
    );
    out.push(
      `            if self.0 & *bit != 0 {`,
      '                if !first { f.write_str(" | ")?; }',
      '                f.write_str(flag)?;',
      '                first = false;',
      '            }',
      '        }',
    );
    out.push(
      '        let extra = self.0 & !Self::ALL.0;',
      '        if extra != 0 {',
      '            if !first { f.write_str(" | ")?; }',
      '            write!(f, "{:#x}", extra)?;',
      '            first = false;',
      '        }',
      '        if first { f.write_str("empty")?; }',
      '        f.write_str(")")',
      '    }',
      '}',
    );
    out.push(`const _: () = assert!(core::mem::size_of::<${name}>() == ${f.width / 8});`, '');
  }

  for (const s of ctx.layout.structs) {
    const name = camel(s.name);
    out.push(...slashDocs([`struct ${s.name}: ${s.size} bytes, align ${s.align}.`, ...docLines(s.doc)]));
    out.push('#[repr(C)]', '#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]', `pub struct ${name} {`);
    for (const m of s.members) {
      if (m.kind === 'padding') {
        out.push(`    /// Padding (offset ${m.offset}): must be zero.`, `    pub ${m.name}: [u8; ${m.size}],`);
      } else {
        const notes: string[] = [`Offset ${m.offset}, ${m.size} byte${m.size === 1 ? '' : 's'}.`];
        if (m.type.kind === 'enum')
          notes.push(`Raw \`${camel(m.type.name)}\` value (convert with \`${camel(m.type.name)}::from_raw\`).`);
        if (m.type.kind === 'scalar' && m.type.name === 'bool') notes.push('bool: 0 or 1.');
        if (m.type.kind === 'scalar' && m.type.name === 'ptr') notes.push('User pointer (address).');
        out.push(...slashDocs([...docLines(m.doc), notes.join(' ')], '    '));
        out.push(`    pub ${m.name}: ${rustType(ctx, m.type)},`);
      }
    }
    out.push('}');
    out.push(`const _: () = assert!(core::mem::size_of::<${name}>() == ${s.size});`);
    out.push(`const _: () = assert!(core::mem::align_of::<${name}>() == ${s.align});`);
    for (const m of s.members) {
      const t = m.kind === 'padding' ? `[u8; ${m.size}]` : rustType(ctx, m.type);
      out.push(`const _: () = assert!(core::mem::size_of::<${t}>() == ${m.size}); // ${m.name} @ ${m.offset}`);
    }
    out.push(
      `// No implicit padding: the field sizes add up to the struct size, so each offset is the sum of the sizes before it.`,
    );
    const sum = s.members
      .map((m) => `core::mem::size_of::<${m.kind === 'padding' ? `[u8; ${m.size}]` : rustType(ctx, m.type)}>()`)
      .join('\n    + ');
    out.push(`const _: () = assert!(\n    ${sum}\n    == core::mem::size_of::<${name}>()\n);`);
    out.push(
      '// Direct offset checks where the toolchain has offset_of! (Rust 1.77+): rustc --cfg kiln_abi_offset_of',
      '#[cfg(kiln_abi_offset_of)]',
      'const _: () = {',
    );
    for (const m of s.members) out.push(`    assert!(core::mem::offset_of!(${name}, ${m.name}) == ${m.offset});`);
    out.push('};', '');
  }
  return out.join('\n');
}
