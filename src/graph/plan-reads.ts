/**
 * What loading and planning a config read, recorded while it ran: the files it read (with the hash
 * of the bytes it got), the folders it listed, the paths it only checked, and the env vars it
 * looked at. A cached plan is valid while every one of them is unchanged (plan-cache.ts).
 *
 * Recording patches node:fs's synchronous calls (and syncs the ESM bindings) and wraps
 * `process.env` in a Proxy for the time of one call; both are restored afterwards. Paths under
 * kiln's own package are not recorded: kiln's version and build id stand for them.
 */
import fs, { type Dirent, type PathLike } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../util/hash.js';

/** A file read: its stat before the read (null when the read failed) and the hash of what was read. */
export interface FileRead {
  path: string;
  /** [size, mtimeMs, ino], taken before the read; absent when it was too fresh to trust. */
  stat?: [number, number, number];
  /** Hash of the bytes returned, or null when the file could not be read. */
  hash: string | null;
}

/** What a plan depended on besides kiln itself and the request. */
export interface PlanReads {
  files: FileRead[];
  /** Folder → hash of its sorted names (null: could not be listed). */
  dirs: Array<[path: string, listing: string | null]>;
  /** Path → its type as a stat or exists check saw it. */
  stats: Array<[path: string, type: PathType]>;
  /** Env var names read, or 'all' when the env was enumerated. */
  env: string[] | 'all';
}

/** `f` file, `d` folder, `o` anything else, `-` missing. */
export type PathType = 'f' | 'd' | 'o' | '-';

const kilnPackage = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** kiln itself, jiti's transform caches (content-addressed: they change nothing), kernel files. */
const IGNORED = [`${kilnPackage}/`, join(tmpdir(), 'jiti/'), '/proc/', '/sys/', '/dev/'];

let active: Recorder | undefined;

class Recorder {
  readonly files = new Map<string, FileRead>();
  readonly dirs = new Map<string, string | null>();
  readonly stats = new Map<string, PathType>();
  readonly env = new Set<string>();
  allEnv = false;

  toReads(): PlanReads {
    return {
      files: [...this.files.values()],
      dirs: [...this.dirs],
      stats: [...this.stats],
      env: this.allEnv ? 'all' : [...this.env].sort(),
    };
  }
}

function pathOf(p: unknown): string | undefined {
  if (typeof p === 'string') return resolve(p);
  if (p instanceof URL && p.protocol === 'file:') return fileURLToPath(p);
  if (Buffer.isBuffer(p)) return resolve(p.toString());
  return undefined;
}

function recorded(p: unknown): string | undefined {
  const path = pathOf(p);
  if (!active || path === undefined || IGNORED.some((prefix) => path.startsWith(prefix))) return undefined;
  if (path.includes('/node_modules/.cache/')) return undefined;
  return path;
}

/** The type of `path` now (lstat for `lstatSync`, stat otherwise). */
export function pathType(path: string, link = false): PathType {
  const s = link ? origLstat(path, { throwIfNoEntry: false }) : origStat(path, { throwIfNoEntry: false });
  if (!s) return '-';
  return s.isFile() ? 'f' : s.isDirectory() ? 'd' : 'o';
}

/** Hash of a folder listing (sorted names). */
export function listingHash(names: ReadonlyArray<string | Dirent>): string {
  return sha256Hex(
    names
      .map((n) => (typeof n === 'string' ? n : n.name))
      .sort()
      .join('\0'),
  );
}

/** The stat fields a file read is trusted by, unless the file changed in the last 10 ms. */
export function trustedStat(path: string): [number, number, number] | undefined {
  const s = origStat(path, { throwIfNoEntry: false });
  if (!s || Date.now() - s.mtimeMs <= 10) return undefined;
  return [s.size, s.mtimeMs, s.ino];
}

const origRead = fs.readFileSync;
const origReaddir = fs.readdirSync;
const origExists = fs.existsSync;
const origStat = fs.statSync;
const origLstat = fs.lstatSync;

function noteFile(path: string, stat: [number, number, number] | undefined, data: unknown): void {
  if (!active || active.files.has(path)) return;
  const hash = data === undefined ? null : sha256Hex(typeof data === 'string' ? data : (data as Uint8Array));
  active.files.set(path, { path, ...(stat ? { stat } : {}), hash });
}

const patched = {
  readFileSync(this: unknown, ...args: Parameters<typeof fs.readFileSync>): string | Buffer {
    const path = recorded(args[0]);
    if (path === undefined || active!.files.has(path)) return origRead.apply(this, args);
    const stat = trustedStat(path);
    try {
      const data = origRead.apply(this, args);
      noteFile(path, stat, data);
      return data;
    } catch (error) {
      noteFile(path, undefined, undefined);
      throw error;
    }
  },
  readdirSync(this: unknown, ...args: Parameters<typeof fs.readdirSync>): unknown {
    const path = recorded(args[0]);
    try {
      const names = origReaddir.apply(this, args) as unknown as Array<string | Dirent>;
      if (path !== undefined && !active!.dirs.has(path)) active!.dirs.set(path, listingHash(names));
      return names;
    } catch (error) {
      if (path !== undefined && !active!.dirs.has(path)) active!.dirs.set(path, null);
      throw error;
    }
  },
  existsSync(this: unknown, p: PathLike): boolean {
    const path = recorded(p);
    if (path !== undefined && !active!.stats.has(path)) active!.stats.set(path, pathType(path));
    return origExists.call(this, p);
  },
  statSync(this: unknown, ...args: Parameters<typeof fs.statSync>): unknown {
    const path = recorded(args[0]);
    if (path !== undefined && !active!.stats.has(path)) active!.stats.set(path, pathType(path));
    return origStat.apply(this, args);
  },
  lstatSync(this: unknown, ...args: Parameters<typeof fs.lstatSync>): unknown {
    const path = recorded(args[0]);
    if (path !== undefined && !active!.stats.has(`${path}\0l`)) active!.stats.set(`${path}\0l`, pathType(path, true));
    return origLstat.apply(this, args);
  },
};

function envProxy(env: NodeJS.ProcessEnv, recorder: Recorder): NodeJS.ProcessEnv {
  return new Proxy(env, {
    get(target, key, receiver) {
      if (typeof key === 'string' && active === recorder) recorder.env.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
    has(target, key) {
      if (typeof key === 'string' && active === recorder) recorder.env.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      if (active === recorder) recorder.allEnv = true;
      return Reflect.ownKeys(target);
    },
  });
}

/**
 * Runs `fn` (loading and planning a config) while recording what it reads. `fn` gets the env to
 * plan with (a recording view of `env`). One recording at a time: a nested call is refused.
 */
export async function recordPlanReads<T>(
  env: NodeJS.ProcessEnv,
  fn: (env: NodeJS.ProcessEnv) => Promise<T>,
): Promise<{ value: T; reads: PlanReads }> {
  if (active) throw new Error('recordPlanReads: already recording');
  const recorder = new Recorder();
  const savedEnv = process.env;
  const viewed = envProxy(env, recorder);
  active = recorder;
  Object.assign(fs, patched);
  syncBuiltinESMExports();
  if (env === savedEnv) process.env = viewed;
  try {
    const value = await fn(viewed);
    return { value, reads: recorder.toReads() };
  } finally {
    active = undefined;
    process.env = savedEnv;
    Object.assign(fs, {
      readFileSync: origRead,
      readdirSync: origReaddir,
      existsSync: origExists,
      statSync: origStat,
      lstatSync: origLstat,
    });
    syncBuiltinESMExports();
  }
}
