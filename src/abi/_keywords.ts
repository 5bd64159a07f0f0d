/**
 * Reserved words of every language kiln emits, so a schema identifier can be refused before it
 * produces code that does not compile. Sources: ISO/IEC 9899:2018 §6.4.1 (C17 keywords, plus
 * C23's new keywords), The Rust Reference "Keywords" (strict, reserved and weak), the Zig 0.11
 * language reference "Keyword Reference" and primitive types, ECMAScript 2023 §12.7.2 reserved
 * words plus TypeScript's contextual type keywords.
 */

export const C_KEYWORDS: ReadonlySet<string> = new Set([
  'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double', 'else', 'enum',
  'extern', 'float', 'for', 'goto', 'if', 'inline', 'int', 'long', 'register', 'restrict',
  'return', 'short', 'signed', 'sizeof', 'static', 'struct', 'switch', 'typedef', 'union',
  'unsigned', 'void', 'volatile', 'while',
  // C23 keywords and common macros from stdbool.h / stdint.h / stddef.h
  'alignas', 'alignof', 'bool', 'true', 'false', 'nullptr', 'static_assert', 'thread_local',
  'typeof', 'typeof_unqual', 'constexpr', 'null', 'offsetof',
  'int8_t', 'int16_t', 'int32_t', 'int64_t', 'uint8_t', 'uint16_t', 'uint32_t', 'uint64_t',
  'intptr_t', 'uintptr_t', 'size_t', 'ptrdiff_t', 'errno', 'assert',
  // object-like macros GCC and clang predefine in the default gnu dialects
  'linux', 'unix', 'i386',
]);

export const RUST_KEYWORDS: ReadonlySet<string> = new Set([
  'as', 'break', 'const', 'continue', 'crate', 'else', 'enum', 'extern', 'false', 'fn', 'for',
  'if', 'impl', 'in', 'let', 'loop', 'match', 'mod', 'move', 'mut', 'pub', 'ref', 'return',
  'self', 'static', 'struct', 'super', 'trait', 'true', 'type', 'unsafe', 'use', 'where',
  'while', 'async', 'await', 'dyn', 'abstract', 'become', 'box', 'do', 'final', 'macro',
  'override', 'priv', 'typeof', 'unsized', 'virtual', 'yield', 'try', 'gen', 'union',
  // primitive type names (legal as fields, confusing and illegal as type names)
  'u8', 'u16', 'u32', 'u64', 'u128', 'i8', 'i16', 'i32', 'i64', 'i128', 'usize', 'isize',
  'bool', 'char', 'str', 'f32', 'f64',
]);
/** Rust identifiers that cannot be used even in CamelCase form. */
export const RUST_TYPE_KEYWORDS: ReadonlySet<string> = new Set(['Self']);

export const ZIG_KEYWORDS: ReadonlySet<string> = new Set([
  'addrspace', 'align', 'allowzero', 'and', 'anyframe', 'anytype', 'asm', 'async', 'await',
  'break', 'callconv', 'catch', 'comptime', 'const', 'continue', 'defer', 'else', 'enum',
  'errdefer', 'error', 'export', 'extern', 'fn', 'for', 'if', 'inline', 'linksection',
  'noalias', 'noinline', 'nosuspend', 'opaque', 'or', 'orelse', 'packed', 'pub', 'resume',
  'return', 'struct', 'suspend', 'switch', 'test', 'threadlocal', 'try', 'union',
  'unreachable', 'usingnamespace', 'var', 'volatile', 'while',
  // primitive values and types (cannot be shadowed)
  'true', 'false', 'null', 'undefined', 'bool', 'void', 'noreturn', 'type', 'anyerror',
  'anyopaque', 'comptime_int', 'comptime_float', 'usize', 'isize', 'f16', 'f32', 'f64', 'f80',
  'f128', 'c_char', 'c_short', 'c_ushort', 'c_int', 'c_uint', 'c_long', 'c_ulong', 'c_longlong',
  'c_ulonglong', 'c_longdouble', 'std', 'builtin',
]);
/** Zig treats `u<N>` / `i<N>` for any N as primitive integer types. */
export function isZigPrimitiveInt(name: string): boolean {
  return /^[ui]\d+$/.test(name);
}

export const TS_KEYWORDS: ReadonlySet<string> = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do',
  'else', 'enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import',
  'in', 'instanceof', 'new', 'null', 'return', 'super', 'switch', 'this', 'throw', 'true', 'try',
  'typeof', 'var', 'void', 'while', 'with', 'implements', 'interface', 'let', 'package',
  'private', 'protected', 'public', 'static', 'yield', 'await', 'any', 'boolean', 'number',
  'string', 'symbol', 'bigint', 'never', 'unknown', 'object', 'undefined', 'constructor',
  'prototype', '__proto__', 'arguments', 'eval',
]);

/** Which languages reserve `name` as written (raw lower-case identifier). */
export function languagesReserving(name: string): string[] {
  const langs: string[] = [];
  if (C_KEYWORDS.has(name)) langs.push('C');
  if (RUST_KEYWORDS.has(name)) langs.push('Rust');
  if (ZIG_KEYWORDS.has(name) || isZigPrimitiveInt(name)) langs.push('Zig');
  if (TS_KEYWORDS.has(name)) langs.push('TypeScript');
  return langs;
}
