// Test programs in C, Rust and Zig that print what their compiler made of a generated ABI file
// (sizes, alignments, offsets, constants, enum values, flag masks), and the same report computed
// from kiln's own model. A test asserts the two are equal, line by line.
import { camel, upper } from '../../src/abi/_names.js';
import type { AbiLayout, NormalizedAbi } from '../../src/abi/index.js';
import { abiHash } from '../../src/abi/index.js';

export interface AbiUnit {
  abi: NormalizedAbi;
  layout: AbiLayout;
}

/** The report every language's program must print, from kiln's model. */
export function expectedReport(units: AbiUnit[]): string {
  const out: string[] = [];
  for (const { abi, layout } of units) {
    out.push(`abi ${abi.name} ${abi.version.text} ${abiHash(abi)}`);
    for (const s of abi.syscalls) out.push(`sys ${s.name} ${s.number}`);
    for (const c of abi.constants) out.push(`const ${c.name} ${c.value}`);
    for (const e of abi.enums) for (const v of e.values) out.push(`enum ${e.name}.${v.name} ${v.value}`);
    if (abi.errors) for (const v of abi.errors.values) out.push(`error ${v.name} ${v.value}`);
    for (const f of abi.flags) for (const b of f.bits) out.push(`flag ${f.name}.${b.name} ${1n << BigInt(b.bit)}`);
    for (const s of layout.structs) {
      out.push(`struct ${s.name} ${s.size} ${s.align}`);
      for (const m of s.members) out.push(`member ${s.name}.${m.name} ${m.offset} ${m.size}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** A C17 program including every header and printing the report. */
export function cProgram(units: AbiUnit[]): string {
  const out = ['#include <inttypes.h>', '#include <stdio.h>'];
  for (const { abi } of units) out.push(`#include "${abi.name}_abi.h"`);
  out.push('int main(void) {');
  for (const { abi, layout } of units) {
    const M = (...p: string[]) => [abi.name, ...p].map(upper).join('_');
    const T = (n: string) => `${abi.name}_${n}_t`;
    const int = (expr: string, signed: boolean) =>
      signed ? `printf("%" PRId64 "\\n", (int64_t)(${expr}));` : `printf("%" PRIu64 "\\n", (uint64_t)(${expr}));`;
    out.push(`  printf("abi %s %s %s\\n", ${M('abi_name')}, ${M('abi_version')}, ${M('abi_hash')});`);
    for (const s of abi.syscalls) out.push(`  printf("sys ${s.name} "); ${int(M('sys', s.name), false)}`);
    for (const c of abi.constants) {
      if (c.type === 'string') out.push(`  printf("const ${c.name} %s\\n", ${M(c.name)});`);
      else out.push(`  printf("const ${c.name} "); ${int(M(c.name), c.type.startsWith('i'))}`);
    }
    for (const e of abi.enums)
      for (const v of e.values)
        out.push(`  printf("enum ${e.name}.${v.name} "); ${int(M(e.name, v.name), e.type.startsWith('i'))}`);
    if (abi.errors)
      for (const v of abi.errors.values)
        out.push(`  printf("error ${v.name} "); ${int(M('error', v.name), abi.errors.type.startsWith('i'))}`);
    for (const f of abi.flags)
      for (const b of f.bits) out.push(`  printf("flag ${f.name}.${b.name} "); ${int(M(f.name, b.name), false)}`);
    for (const s of layout.structs) {
      out.push(`  printf("struct ${s.name} %zu %zu\\n", sizeof(${T(s.name)}), _Alignof(${T(s.name)}));`);
      for (const m of s.members)
        out.push(
          `  printf("member ${s.name}.${m.name} %zu %zu\\n", offsetof(${T(s.name)}, ${m.name}), sizeof(((${T(s.name)} *)0)->${m.name}));`,
        );
    }
  }
  out.push('  return 0;', '}', '');
  return out.join('\n');
}

/** A Rust 2021 program (`mod` per ABI file) printing the report; runtime offsets via a zeroed value. */
export function rustProgram(units: AbiUnit[], dir: string): string {
  const out = ['#![allow(clippy::all)]'];
  for (const { abi } of units)
    out.push(`#[path = ${JSON.stringify(`${dir}/${abi.name}_abi.rs`)}]`, `mod ${abi.name}_abi;`);
  out.push('fn main() {');
  for (const { abi, layout } of units) {
    const m = `${abi.name}_abi`;
    out.push(`  println!("abi {} {} {}", ${m}::ABI_NAME, ${m}::ABI_VERSION, ${m}::ABI_HASH);`);
    for (const s of abi.syscalls) out.push(`  println!("sys ${s.name} {}", ${m}::SYS_${upper(s.name)});`);
    for (const c of abi.constants) out.push(`  println!("const ${c.name} {}", ${m}::${upper(c.name)});`);
    for (const e of abi.enums)
      for (const v of e.values)
        out.push(`  println!("enum ${e.name}.${v.name} {}", ${m}::${camel(e.name)}::${camel(v.name)} as ${e.type});`);
    if (abi.errors)
      for (const v of abi.errors.values)
        out.push(`  println!("error ${v.name} {}", ${m}::Error::${camel(v.name)} as ${abi.errors.type});`);
    for (const f of abi.flags)
      for (const b of f.bits)
        out.push(`  println!("flag ${f.name}.${b.name} {}", ${m}::${camel(f.name)}::${upper(b.name)}.bits());`);
    for (const s of layout.structs) {
      const t = `${m}::${camel(s.name)}`;
      out.push(
        '  {',
        `    let v: ${t} = unsafe { core::mem::zeroed() };`,
        `    let base = &v as *const ${t} as usize;`,
      );
      out.push(`    println!("struct ${s.name} {} {}", core::mem::size_of::<${t}>(), core::mem::align_of::<${t}>());`);
      for (const mem of s.members)
        out.push(
          `    println!("member ${s.name}.${mem.name} {} {}", (&v.${mem.name} as *const _ as usize) - base, core::mem::size_of_val(&v.${mem.name}));`,
        );
      out.push('  }');
    }
  }
  out.push('}', '');
  return out.join('\n');
}

/** A Zig 0.11 program printing the report (comptime @offsetOf/@sizeOf). */
export function zigProgram(units: AbiUnit[]): string {
  const out = ['const std = @import("std");'];
  for (const { abi } of units) out.push(`const ${abi.name}_abi = @import("${abi.name}_abi.zig");`);
  out.push('pub fn main() !void {', '    const w = std.io.getStdOut().writer();');
  for (const { abi, layout } of units) {
    const m = `${abi.name}_abi`;
    out.push(`    try w.print("abi {s} {s} {s}\\n", .{ ${m}.ABI_NAME, ${m}.ABI_VERSION, ${m}.ABI_HASH });`);
    for (const s of abi.syscalls) out.push(`    try w.print("sys ${s.name} {d}\\n", .{${m}.SYS_${upper(s.name)}});`);
    for (const c of abi.constants)
      out.push(`    try w.print("const ${c.name} {${c.type === 'string' ? 's' : 'd'}}\\n", .{${m}.${upper(c.name)}});`);
    for (const e of abi.enums)
      for (const v of e.values)
        out.push(
          `    try w.print("enum ${e.name}.${v.name} {d}\\n", .{@intFromEnum(${m}.${camel(e.name)}.${v.name})});`,
        );
    if (abi.errors)
      for (const v of abi.errors.values)
        out.push(`    try w.print("error ${v.name} {d}\\n", .{@intFromEnum(${m}.Error.${v.name})});`);
    for (const f of abi.flags)
      for (const b of f.bits)
        out.push(`    try w.print("flag ${f.name}.${b.name} {d}\\n", .{${m}.${camel(f.name)}.${upper(b.name)}});`);
    for (const s of layout.structs) {
      const t = `${m}.${camel(s.name)}`;
      out.push(`    try w.print("struct ${s.name} {d} {d}\\n", .{ @sizeOf(${t}), @alignOf(${t}) });`);
      for (const mem of s.members)
        out.push(
          `    try w.print("member ${s.name}.${mem.name} {d} {d}\\n", .{ @offsetOf(${t}, "${mem.name}"), @sizeOf(@TypeOf(@field(@as(${t}, undefined), "${mem.name}"))) });`,
        );
    }
  }
  out.push('}', '');
  return out.join('\n');
}

import { cIntLiteral } from '../../src/abi/emit-c.js';
import type { AbiType, IntType } from '../../src/abi/index.js';
import { intRange } from '../../src/abi/index.js';

function leafInt(abi: NormalizedAbi, type: AbiType): IntType | 'bool' | undefined {
  if (type.kind === 'scalar')
    return type.name === 'bool'
      ? 'bool'
      : type.name === 'usize' || type.name === 'ptr'
        ? 'u64'
        : type.name === 'isize'
          ? 'i64'
          : type.name;
  if (type.kind === 'enum') return abi.enums.find((e) => e.name === type.name)!.type;
  if (type.kind === 'flags') return `u${abi.flags.find((f) => f.name === type.name)!.width}` as IntType;
  return undefined;
}

/**
 * A deterministic value for struct `name` (every leaf different), as a TS object for the generated
 * codec and as C assignment statements to `target` (an lvalue of the struct type).
 */
export function sampleValue(
  abi: NormalizedAbi,
  name: string,
  target: string,
): { value: Record<string, unknown>; cLines: string[] } {
  let counter = 0;
  const cLines: string[] = [];
  const leaf = (type: AbiType, lvalue: string): unknown => {
    const t = leafInt(abi, type);
    if (t === 'bool') {
      const b = counter++ % 2 === 0;
      cLines.push(`${lvalue} = ${b ? 1 : 0};`);
      return b;
    }
    if (t) {
      const { min, max, bits, signed } = intRange(t);
      const k = BigInt(++counter);
      let v = (0x9e3779b97f4a7c15n * k + 0x0123456789abcdefn * (k & 3n)) & ((1n << BigInt(bits)) - 1n);
      if (signed && v > max) v -= 1n << BigInt(bits);
      if (v < min || v > max) throw new Error('sample out of range');
      cLines.push(`${lvalue} = ${cIntLiteral(v, t)};`);
      return bits === 64 ? v : Number(v);
    }
    if (type.kind === 'array')
      return Array.from({ length: type.length }, (_, i) => leaf(type.element, `${lvalue}[${i}]`));
    if (type.kind === 'struct') return struct(type.name, lvalue);
    throw new Error('unreachable');
  };
  const struct = (structName: string, lvalue: string): Record<string, unknown> => {
    const s = abi.structs.find((x) => x.name === structName)!;
    const out: Record<string, unknown> = {};
    for (const f of s.fields) out[f.name] = leaf(f.type, `${lvalue}.${f.name}`);
    return out;
  };
  const value = struct(name, target);
  return { value, cLines };
}
