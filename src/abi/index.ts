/**
 * kiln/abi: one ABI schema → C, Rust, Zig and TypeScript, with layouts for x86_64 and aarch64,
 * a stable hash, and a lock file that catches breaking changes. Pure library: no processes, no
 * CLI, no config loading.
 */
export { defineAbi } from './types.js';
export type {
  AbiSchema,
  AbiArch,
  AbiLang,
  IntType,
  ScalarType,
  FlagWidth,
  IntegerLiteral,
  TypeExpr,
  SyscallDef,
  EnumDef,
  FlagsDef,
  ErrorsDef,
  ConstantDef,
  FieldDef,
  StructDef,
} from './types.js';
export { normalizeAbi, intRange } from './normalize.js';
export type {
  NormalizedAbi,
  NormalizeOptions,
  AbiType,
  AbiVersion,
  NormalizedSyscall,
  NormalizedEnum,
  NormalizedFlags,
  NormalizedConstant,
  NormalizedStruct,
  NormalizedField,
  ConstantType,
} from './normalize.js';
export { computeLayout, ARCHES } from './layout.js';
export type { AbiLayout, StructLayout, FieldLayout, PaddingLayout, LayoutMember, ArchInfo } from './layout.js';
export { abiHash, abiHashU64, canonicalJson, canonicalAbi } from './hash.js';
export { emitC } from './emit-c.js';
export { emitRust } from './emit-rust.js';
export { emitZig } from './emit-zig.js';
export { emitTs } from './emit-ts.js';
export type { EmitContext } from './_emit.js';
export { generateAbi, ALL_LANGS } from './generate.js';
export type { GenerateAbiOptions, GeneratedFile } from './generate.js';
export { createAbiLock, serializeAbiLock, parseAbiLock, checkAbi } from './lock.js';
export type { AbiLock, AbiChange, AbiCheckResult, LockedEnum, LockedStruct } from './lock.js';
export { parseAbiJson, parseAbiToml, parseAbiSource } from './parse.js';
