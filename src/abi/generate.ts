/**
 * One call from schema to files: normalize, lay out, hash, emit for each requested language.
 * This is what the graph's `abi()` step calls.
 */
import type { EmitContext } from './_emit.js';
import { emitC } from './emit-c.js';
import { emitRust } from './emit-rust.js';
import { emitTs } from './emit-ts.js';
import { emitZig } from './emit-zig.js';
import { abiHash } from './hash.js';
import { computeLayout } from './layout.js';
import type { AbiLock } from './lock.js';
import { normalizeAbi, type NormalizedAbi } from './normalize.js';
import type { AbiArch, AbiLang, AbiSchema } from './types.js';

/** Options of `generateAbi`: which languages, which architecture's layout, the lock file. */
export interface GenerateAbiOptions {
  /** Languages to emit; default all four. */
  langs?: readonly AbiLang[];
  /** Architecture whose layout the compile-time asserts check; default x86_64 (aarch64 is identical: both LP64). */
  arch?: AbiArch;
  /** The lock file, so auto-assigned syscall numbers stay what they were (ignored when `schema` is already normalized). */
  lock?: AbiLock;
  /** Schema file name, for error locations. */
  file?: string;
}
/** One generated source file (C header, Rust module, Zig file or TypeScript module). */
export interface GeneratedFile {
  /** Path relative to the output folder, e.g. `kozo_abi.h`. */
  path: string;
  contents: string;
}

/**
 * Every language kiln emits, in output order.
 *
 * @example
 * ```ts
 * generateAbi(schema, { langs: ALL_LANGS });
 * ```
 */
export const ALL_LANGS: readonly AbiLang[] = ['c', 'rust', 'zig', 'ts'];
const EXTENSIONS: Record<AbiLang, string> = { c: 'h', rust: 'rs', zig: 'zig', ts: 'ts' };

/**
 * Generates the ABI files for `langs`.
 *
 * @example
 * ```ts
 * for (const { path, contents } of generateAbi(schema, { langs: ['c', 'rust'], arch: 'x86_64' })) {
 *   writeFileSync(join(outDir, path), contents);
 * }
 * ```
 */
export function generateAbi(schema: AbiSchema | NormalizedAbi, options: GenerateAbiOptions = {}): GeneratedFile[] {
  const abi = isNormalized(schema)
    ? schema
    : normalizeAbi(schema, {
        ...(options.lock ? { lockedSyscalls: options.lock.syscalls } : {}),
        ...(options.file ? { file: options.file } : {}),
      });
  const arch = options.arch ?? 'x86_64';
  const ctx: EmitContext = { abi, layout: computeLayout(abi, arch), hash: abiHash(abi) };
  const langs = options.langs ?? ALL_LANGS;
  const files: GeneratedFile[] = [];
  for (const lang of ALL_LANGS) {
    if (!langs.includes(lang)) continue;
    const path = `${abi.name}_abi.${EXTENSIONS[lang]}`;
    const contents =
      lang === 'c'
        ? emitC(ctx, path)
        : lang === 'rust'
          ? emitRust(ctx, path)
          : lang === 'zig'
            ? emitZig(ctx, path)
            : emitTs(ctx, path);
    files.push({ path, contents });
  }
  for (const lang of langs)
    if (!ALL_LANGS.includes(lang)) throw new RangeError(`"langs" expected c, rust, zig or ts, got ${String(lang)}`);
  return files;
}

function isNormalized(value: unknown): value is NormalizedAbi {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NormalizedAbi).version === 'object' &&
    Array.isArray((value as NormalizedAbi).syscalls)
  );
}
