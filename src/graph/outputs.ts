/**
 * Output paths: normalized and checked when the graph is planned, and placed without following a
 * link when a step's output is moved (or restored from the cache) into the build folder.
 *
 * - `x/../same.txt` is `same.txt` (lexical normalization first, then the inside-the-folder check);
 *   `../x` and NUL bytes are refused; `logs/` and `.kiln` belong to kiln.
 * - Two outputs conflict when they are the same path, or when one is a folder of the other
 *   (`d` and `d/f.txt`): a path cannot be a file and a folder at once. Both config paths are named.
 * - A symlink (or a file) found inside the build folder where an output or one of its folders goes
 *   is replaced, never written through (every component checked with lstat).
 */
import { type Stats, lstatSync, mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, type ErrorLocation } from '../errors.js';

/**
 * `path` normalized to `a/b/c` (`\` as `/`, `.` and `..` resolved, a leading `/` dropped), or
 * undefined when it would leave the folder it is relative to (or is empty, or holds a NUL byte).
 * @example
 * normalizeOutputPath('x/../same.txt') // 'same.txt'
 * normalizeOutputPath('../etc/passwd') // undefined
 */
export function normalizeOutputPath(path: string): string | undefined {
  if (path.includes('\0')) return undefined;
  const parts: string[] = [];
  for (const part of path.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.length ? parts.join('/') : undefined;
}

interface Claim {
  step: string;
  configPath: string;
}

/** The outputs claimed so far while planning one target, with their owners. */
export class OutputClaims {
  private readonly files = new Map<string, Claim>();
  /** Every folder some output lies in → the first output that needs it. */
  private readonly folders = new Map<string, Claim & { path: string }>();

  constructor(private readonly file: string) {}

  /** Normalizes `raw` (an output of `step`), checks it against every earlier claim, and claims it. */
  add(raw: string, step: string, configPath: string): string {
    const location: ErrorLocation = { file: this.file, configPath };
    const path = normalizeOutputPath(raw);
    if (path === undefined) {
      throw new KilnError('OUTPUT_INVALID', `output ${JSON.stringify(raw)} must stay inside the build folder`, {
        location,
        hint: "outputs are paths relative to the target's build folder (build/<arch>-<profile>/)",
        exitCode: 2,
      });
    }
    if (path === 'logs' || path.startsWith('logs/') || path === '.kiln' || path.startsWith('.kiln/')) {
      throw new KilnError(
        'OUTPUT_INVALID',
        `output ${JSON.stringify(raw)} is reserved (logs/ and .kiln belong to kiln)`,
        { location, exitCode: 2 },
      );
    }
    const me = { step, configPath };
    const same = this.files.get(path);
    if (same) {
      throw new KilnError('OUTPUT_DUPLICATE', `${who(same)} and ${who(me)} both write ${path}`, {
        location,
        hint: 'give one of them another output name',
        exitCode: 2,
      });
    }
    const inside = this.folders.get(path);
    if (inside) throw conflict(path, me, inside.path, inside, location);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      const owner = this.files.get(folder);
      if (owner) throw conflict(folder, owner, path, me, location);
    }
    this.files.set(path, me);
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      if (!this.folders.has(folder)) this.folders.set(folder, { ...me, path });
    }
    return path;
  }
}

function who(claim: Claim): string {
  return `step "${claim.step}" (${claim.configPath})`;
}

function conflict(
  file: string,
  fileOwner: Claim,
  inner: string,
  innerOwner: Claim,
  location: ErrorLocation,
): KilnError {
  return new KilnError(
    'OUTPUT_CONFLICT',
    `${who(fileOwner)} writes the file ${file}, and ${who(innerOwner)} writes ${inner} inside it as a folder`,
    {
      location,
      hint: 'a path cannot be both a file and a folder: rename one of the two outputs',
      exitCode: 2,
    },
  );
}

/**
 * Makes the folders of output `rel` under `buildDir` real folders (a symlink or a file found there
 * is removed and replaced, never followed) and clears a folder standing where the file goes; returns
 * the output's absolute path, ready for a rename (which replaces a file or symlink there itself).
 */
export function prepareOutputPath(buildDir: string, rel: string): string {
  const parts = rel.split('/');
  let dir = buildDir;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    ensureRealFolder(dir);
  }
  const dest = join(buildDir, rel);
  const existing = lstatOrUndefined(dest);
  if (existing?.isDirectory()) rmSync(dest, { recursive: true, force: true });
  return dest;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function ensureRealFolder(dir: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = lstatOrUndefined(dir);
    if (info?.isDirectory()) return;
    if (info) unlinkSync(dir); // a symlink or a file where a folder of outputs belongs
    try {
      mkdirSync(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another step made it: check again
    }
  }
  throw new KilnError('OUTPUT_FOLDER', `could not make ${dir} a folder`, { location: { file: dir } });
}
