/**
 * Path independence: the absolute folders a build runs in must not reach its outputs (debug info,
 * `__FILE__`, file symbols), or two checkouts of one project produce different bytes and share no
 * cache. Every toolchain step maps them to stable names with its compiler's own flag:
 * gcc/clang `-ffile-prefix-map`, rustc `--remap-path-prefix`, CMake through the `_FLAGS_INIT`
 * variables; nasm gets source paths relative to the project folder (it has no map flag).
 *
 * The project folder becomes `/kiln/src` and a build folder outside it `/kiln/build` (as rustup's
 * standard library is written as `/rustc/<hash>`). An absolute stand-in, not `.`: a compiler run
 * from a subfolder (CMake's build folder) joins a relative file name to its mapped working folder,
 * which would point debuggers at the wrong file. `kiln run --gdb` prints the `set substitute-path`
 * that maps it back. More specific prefixes come last: gcc and rustc apply the last matching
 * mapping, clang the longest.
 */
import { homedir } from 'node:os';
import { join, relative, sep } from 'node:path';

/** One prefix mapping: paths starting with `from` are written as starting with `to`. */
export interface PathMapping {
  readonly from: string;
  readonly to: string;
}

/** The stable name of the project folder in outputs. */
export const PROJECT_PREFIX = '/kiln/src';
/** The stable name of a build folder that lies outside the project folder. */
export const BUILD_PREFIX = '/kiln/build';

function isInside(dir: string, parent: string): boolean {
  const rel = relative(parent, dir);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

/** The mappings for a step: the project folder, and the build folder when it is elsewhere. */
export function pathMappings(projectDir: string, buildDir: string): PathMapping[] {
  const mappings: PathMapping[] = [{ from: projectDir, to: PROJECT_PREFIX }];
  if (!isInside(buildDir, projectDir)) mappings.push({ from: buildDir, to: BUILD_PREFIX });
  return mappings;
}

/** gcc/clang: `-ffile-prefix-map` covers debug info, `__FILE__` and coverage paths. */
export function ccPrefixMapFlags(mappings: readonly PathMapping[]): string[] {
  return mappings.map((m) => `-ffile-prefix-map=${m.from}=${m.to}`);
}

/**
 * rustc: the project and build folders, and cargo's registry sources (a per-user folder), which
 * are written as `/cargo` the way rustup's standard library is written as `/rustc/<hash>`.
 */
export function rustRemapFlags(mappings: readonly PathMapping[], env: NodeJS.ProcessEnv): string[] {
  const cargoHome = env.CARGO_HOME ?? join(homedir(), '.cargo');
  const all: PathMapping[] = [{ from: cargoHome, to: '/cargo' }, ...mappings];
  return all.flatMap((m) => ['--remap-path-prefix', `${m.from}=${m.to}`]);
}

/** CMake: initial flags of the C, C++ and assembler languages (the first configure reads them). */
export function cmakePrefixMapDefines(mappings: readonly PathMapping[]): string[] {
  const flags = ccPrefixMapFlags(mappings).join(' ');
  return ['C', 'CXX', 'ASM'].map((lang) => `-DCMAKE_${lang}_FLAGS_INIT=${flags}`);
}

/** A path as a tool should see it to keep outputs path-independent: relative to the project when inside. */
export function projectRelative(projectDir: string, path: string): string {
  return isInside(path, projectDir) ? relative(projectDir, path) || '.' : path;
}
