/** Pieces shared by the toolchain steps. */
import { dirname, posix } from 'node:path';
import type { DeclareContext, FileInput } from '../step.js';
import { findZig } from '../toolchain/tools.js';

/** Project-relative string inputs of a list (artifact refs are tracked by the graph). */
export function stringInputs(list: ReadonlyArray<FileInput | undefined> | undefined): string[] {
  return (list ?? []).filter((x): x is string => typeof x === 'string');
}

/** A glob of the source files next to `file` (includes, headers), for honest input declaration. */
export function siblingsGlob(file: string, extensions: string[]): string {
  const dir = dirname(file);
  const exts = extensions.length === 1 ? extensions[0] : `{${extensions.join(',')}}`;
  return posix.join(dir === '.' ? '' : dir, `**/*.${exts}`);
}

/**
 * The Zig a step runs, as a declared tool: its content hash enters the action key (where it is
 * installed, or an absolute `ZIG=`, does not).
 */
export function zigTools(ctx: Pick<DeclareContext, 'projectDir'>): string[] {
  const zig = findZig(process.env, ctx.projectDir);
  return zig ? [zig] : [];
}

/** Basename without extension: `boot/stage2.asm` → `stage2`. */
export function stem(file: string): string {
  return posix.basename(file).replace(/\.[^.]+$/, '');
}

/**
 * A step's default output name: `<name>.<ext>`, without doubling an extension the name already has.
 * @example withExtension('bootblock.elf', 'a', 'elf') // 'bootblock.elf'
 */
export function withExtension(name: string | undefined, fallback: string, ext: string): string {
  const base = name ?? fallback;
  return base.endsWith(`.${ext}`) ? base : `${base}.${ext}`;
}
