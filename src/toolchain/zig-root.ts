/**
 * Path independence for Zig 0.11, which has no path-prefix map. What it writes of the folders it
 * runs in (measured: two checkouts of examples/kozo, section by section) is DWARF only — the
 * folders of the project's files, of generated modules in the build folder, of its standard library
 * and of `builtin.zig` in its global cache (`o/<hash>`, a hash that includes the root folder and
 * the `-femit-bin` path) — while code and data (`@src()`, panic messages) are already the same.
 *
 * Zig resolves a relative path with realpath but keeps an absolute one as given. So kiln hands it
 * every path through a canonical folder of symbolic links, the same on every machine:
 * ```
 * /tmp/kiln-zig/<zig version>/lib          → Zig's lib folder (the standard library, compiler_rt)
 * /tmp/kiln-zig/<zig version>/cache        (a folder) kiln's Zig cache, global and local: a private
 *                                            one, so that compiler_rt is built under these names too
 * /tmp/kiln-zig/<zig version>/<key>/src    → the project folder
 * /tmp/kiln-zig/<zig version>/<key>/build  → the target's build folder (generated modules, objects)
 * /tmp/kiln-zig/<zig version>/<key>/out    → where the step writes its output
 * ```
 * `<key>` is the start of the step's action key, itself free of absolute paths: two checkouts that
 * build the same sources with the same Zig write the same bytes. The key's folder is held under a
 * lock while Zig runs (two builds of the same key on one machine take turns) and removed after.
 * gdb maps the names back with `set substitute-path` (`kiln run --gdb` prints it).
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { acquireLock } from '../util/lock.js';
import { run } from '../util/process.js';

/** Where the canonical folders live: a fixed absolute path, so every machine writes the same names. */
export const ZIG_ROOT_BASE = '/tmp/kiln-zig';

/** The folders one Zig run sees. */
export interface ZigRootDirs {
  /** The project folder. */
  readonly projectDir: string;
  /** The target's build folder. */
  readonly buildDir: string;
  /** The folder the step's output is written to (its staging folder). */
  readonly outDir: string;
}

/** A canonical folder held for one Zig run. */
export interface ZigRoot {
  /** `path` (absolute) as Zig should be given it: under the canonical folder when it is in one of the linked ones. */
  map(path: string): string;
  /** `--zig-lib-dir`, `--global-cache-dir` and `--cache-dir` through the canonical folder. */
  readonly args: readonly string[];
  /** `--zig-lib-dir` alone (for a compile that brings its own caches). */
  readonly libArgs: readonly string[];
  /** The project folder's canonical name. */
  readonly src: string;
  /** Removes the key's folder and lets another build of the same key in. */
  release(): void;
}

interface ZigEnv {
  version: string;
  libDir: string;
}

const zigEnvs = new Map<string, Promise<ZigEnv | undefined>>();

/** `zig env`'s version and lib folder, once per Zig per process. */
function zigEnv(zig: string, env: NodeJS.ProcessEnv): Promise<ZigEnv | undefined> {
  let found = zigEnvs.get(zig);
  if (!found) {
    found = run([zig, 'env'], { env, timeoutMs: 30_000 }).then((r) => {
      if (r.code !== 0) return undefined;
      try {
        const parsed = JSON.parse(r.stdout) as { version?: unknown; lib_dir?: unknown };
        const { version, lib_dir: libDir } = parsed;
        const ok = typeof version === 'string' && /^[\w.+-]+$/.test(version) && typeof libDir === 'string';
        return ok ? { version, libDir } : undefined;
      } catch {
        return undefined;
      }
    });
    zigEnvs.set(zig, found);
  }
  return found;
}

/** A symbolic link at `path` to `target`, replaced atomically when it points elsewhere. */
function ensureLink(path: string, target: string): void {
  try {
    if (readlinkSync(path) === target) return;
  } catch {
    // missing (or not a link): made below
  }
  const temp = `${path}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  symlinkSync(target, temp);
  renameSync(temp, path);
}

/** A folder anyone may make entries in (as /tmp), made once. */
function ensureSharedDir(dir: string): void {
  try {
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** Why the folder of this Zig version cannot be used by this user, or undefined when it can. */
function versionDirProblem(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const uid = process.getuid?.();
  const owner = lstatSync(dir).uid;
  return uid !== undefined && owner !== uid ? `${dir} belongs to another user (uid ${owner})` : undefined;
}

function inside(path: string, dir: string): string | undefined {
  const rel = relative(dir, path);
  if (rel === '') return '';
  return rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep) ? undefined : rel;
}

/**
 * Takes the canonical folder of a step whose action key is `key` (hex), for `zig`. Resolves to
 * the reason when it cannot (the caller runs Zig on the real paths and says why).
 */
export async function openZigRoot(
  zig: string,
  key: string,
  dirs: ZigRootDirs,
  options: { env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<ZigRoot | { unavailable: string }> {
  const info = await zigEnv(zig, options.env);
  if (!info) return { unavailable: `\`${zig} env\` did not name its version and lib folder` };
  const base = join(ZIG_ROOT_BASE, info.version);
  let keyDir: string;
  try {
    ensureSharedDir(ZIG_ROOT_BASE);
    const problem = versionDirProblem(base);
    if (problem) return { unavailable: problem };
    ensureLink(join(base, 'lib'), info.libDir);
    // A folder, not a link to the user's cache: two builds with different cache settings must not
    // re-point it under each other (Zig's cache is safe for concurrent builds).
    mkdirSync(join(base, 'cache'), { recursive: true });
    keyDir = join(base, key.slice(0, 16));
  } catch (error) {
    return { unavailable: (error as Error).message };
  }
  const lock = await acquireLock(`${keyDir}.lock`, {
    wait: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    rmSync(keyDir, { recursive: true, force: true });
    mkdirSync(keyDir);
    symlinkSync(dirs.projectDir, join(keyDir, 'src'));
    symlinkSync(dirs.buildDir, join(keyDir, 'build'));
    symlinkSync(dirs.outDir, join(keyDir, 'out'));
    statSync(join(keyDir, 'out')); // the links resolve
  } catch (error) {
    lock.release();
    return { unavailable: (error as Error).message };
  }
  const links: Array<[real: string, name: string]> = [
    [dirs.outDir, join(keyDir, 'out')],
    [dirs.buildDir, join(keyDir, 'build')],
    [dirs.projectDir, join(keyDir, 'src')],
  ];
  return {
    map(path: string): string {
      for (const [real, name] of links) {
        const rel = inside(path, real);
        if (rel !== undefined) return rel ? join(name, rel) : name;
      }
      return path;
    },
    args: [
      '--zig-lib-dir',
      join(base, 'lib'),
      '--global-cache-dir',
      join(base, 'cache'),
      '--cache-dir',
      join(base, 'cache'),
    ],
    libArgs: ['--zig-lib-dir', join(base, 'lib')],
    src: join(keyDir, 'src'),
    release(): void {
      rmSync(keyDir, { recursive: true, force: true });
      lock.release();
    },
  };
}

/** A canonical key folder in bytes: `/tmp/kiln-zig/<version>/<16 hex>`. */
const ROOT_IN_BYTES = /\/tmp\/kiln-zig\/[\w.+-]+\/[0-9a-f]{16}(?=\/)/g;

/** The files whose debug info gdb reads for `symbols`: itself and the `*.debug` files beside it. */
function debugFiles(symbols: string): string[] {
  const dir = dirname(symbols);
  let siblings: string[] = [];
  try {
    siblings = readdirSync(dir).filter((f) => f.endsWith('.debug'));
  } catch {
    // no folder: no siblings
  }
  return [symbols, ...siblings.map((f) => join(dir, f))];
}

/** The target build folder holding `file`: the nearest folder above it with kiln's `.kiln/state.json`. */
function buildDirOf(file: string): string | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, '.kiln', 'state.json'))) return dir;
  }
  return undefined;
}

/**
 * gdb `-ex` arguments that map the canonical folders named in the debug info of `symbols` (and of
 * the `*.debug` files beside it) back to the project and its build folder.
 * @example zigSourceMaps('build/x86_64-debug/kernel.elf', '/home/me/os') // ['-ex', 'set substitute-path /tmp/kiln-zig/0.11.0/…/src /home/me/os', …]
 */
export function zigSourceMaps(symbols: string, sourceDir: string): string[] {
  const roots = new Set<string>();
  for (const file of debugFiles(symbols)) {
    try {
      for (const m of readFileSync(file).toString('latin1').matchAll(ROOT_IN_BYTES)) roots.add(m[0]);
    } catch {
      // unreadable: nothing to map
    }
  }
  const buildDir = buildDirOf(symbols);
  return [...roots]
    .sort()
    .flatMap((root) => [
      '-ex',
      `set substitute-path ${root}/src ${sourceDir}`,
      ...(buildDir ? ['-ex', `set substitute-path ${root}/build ${buildDir}`] : []),
    ]);
}
