/**
 * Safe extraction of an archive or file system image into a folder: the one implementation every
 * format's `extract` uses (cpio, FAT, ISO9660 in each namespace).
 *
 * The rules are a careful archiver's (bsdtar's defaults, not GNU tar's):
 * - a name is relative and has no `..` segment, NUL byte or empty component (absolute names and
 *   `..` are refused, never rewritten, unless the caller strips them first);
 * - every existing path component in the destination is checked with `lstat`: a symlink already in
 *   the destination is never followed (a file under it is refused, whatever `overwrite` says);
 * - files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`, so the final component is never a
 *   symlink that gets written through, even if one appears between the check and the open;
 * - nothing that exists is replaced unless `overwrite` is set; then a file or symlink is unlinked
 *   (the link itself, never its target) and created anew; a directory is never replaced by a file;
 * - symlinks of the archive are created last, after every file and directory, and a name that
 *   passes through a symlink of the same archive is refused, so nothing is written through them;
 * - a file that fails half-way is removed; permissions (setuid/setgid dropped) and times are applied
 *   at the end, directories deepest first.
 * Every refusal is a FormatError naming the entry, the destination and the entry's byte offset.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import {
  chmod,
  lstat,
  lutimes,
  mkdir,
  open,
  readlink,
  symlink,
  unlink,
  utimes,
  type FileHandle,
} from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FormatError, KilnError } from '../../errors.js';
import { describeSystemError } from '../../util/system-errors.js';

/** One member to extract, as a format reader describes it. `offset` is where the member is recorded (for errors). */
export type ExtractEntry =
  | { kind: 'dir'; path: string; mode?: number; mtime?: number; offset?: number }
  | {
      kind: 'file';
      path: string;
      mode?: number;
      mtime?: number;
      offset?: number;
      /** The file's bytes, read when the entry is extracted. */
      content: () => AsyncIterable<Uint8Array>;
    }
  | { kind: 'symlink'; path: string; target: string; mtime?: number; offset?: number }
  | { kind: 'skip'; path: string; what: string; reason: string; offset?: number };

/** Options every format's extraction accepts. */
export interface ExtractOptions {
  /** Replace existing files and symlinks (never directories, never through a symlink). Default false. */
  overwrite?: boolean;
  /** Apply permission bits from the archive (setuid/setgid dropped). Default true. */
  preserveMode?: boolean;
  /** Apply modification times from the archive. Default true. */
  preserveTimes?: boolean;
}

/** Who is extracting: the format name and the prefix of its error codes (`cpio`, `CPIO`). */
export interface ExtractFormat {
  format: string;
  codePrefix: string;
}

/** What an extraction created, in order, and what it skipped. */
export interface ExtractSummary {
  extracted: Array<{ path: string; kind: 'dir' | 'file' | 'symlink' }>;
  skipped: Array<{ path: string; what: string; reason: string }>;
}

const WRITE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
const OVERWRITE_HINT =
  'extract into an empty folder, or pass --force (library: overwrite: true) to replace files and symlinks';
const SYMLINK_HINT = 'kiln never follows a symlink while extracting: remove it, or extract into an empty folder';

/**
 * Splits a member name into its components, refusing absolute names, `..`, NUL bytes and names
 * that are only separators. `''` (the archive root, `.`) yields no component.
 */
export function memberComponents(name: string): { parts: string[] } | { refused: string } {
  if (name.includes('\0')) return { refused: 'contains a NUL byte' };
  if (name.startsWith('/')) return { refused: 'is an absolute path' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { refused: 'contains ".."' };
  return { parts };
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function kindOf(st: Stats): string {
  return st.isSymbolicLink()
    ? 'a symlink'
    : st.isDirectory()
      ? 'a directory'
      : st.isFile()
        ? 'a file'
        : 'a special file';
}

/** One extraction run: the destination, the options, the directories already checked. */
class Extraction {
  private readonly root: string;
  private readonly checkedDirs = new Set<string>(['']);
  private readonly dirAttrs: Array<{ full: string; depth: number; mode?: number; mtime?: number }> = [];
  readonly summary: ExtractSummary = { extracted: [], skipped: [] };

  constructor(
    private readonly destination: string,
    private readonly who: ExtractFormat,
    private readonly options: ExtractOptions,
  ) {
    this.root = resolve(destination);
  }

  private error(code: string, entry: ExtractEntry, message: string, hint: string): FormatError {
    return new FormatError(this.who.format, `${this.who.codePrefix}_${code}`, message, {
      ...(entry.offset !== undefined ? { offset: entry.offset } : {}),
      hint,
    });
  }

  escape(entry: ExtractEntry, why: string): FormatError {
    return this.error(
      'PATH_ESCAPES',
      entry,
      `${JSON.stringify(entry.path)} ${why}; refusing to extract it into ${this.destination}`,
      'the archive tries to write outside the target folder; list it first (`kiln image ... ls`)',
    );
  }

  private full(rel: string): string {
    return rel === '' ? this.root : join(this.root, ...rel.split('/'));
  }

  /** Makes (or checks) every directory above `parts`, refusing a component that is a symlink or not a directory. */
  private async ensureParents(entry: ExtractEntry, parts: string[]): Promise<void> {
    let rel = '';
    for (const part of parts) {
      rel = rel ? `${rel}/${part}` : part;
      if (this.checkedDirs.has(rel)) continue;
      const full = this.full(rel);
      let st = await lstatOrUndefined(full);
      if (!st) {
        await mkdir(full, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
        st = await lstat(full);
      }
      if (st.isSymbolicLink()) {
        const target = await readlink(full).catch(() => '?');
        throw this.error(
          'PATH_ESCAPES',
          entry,
          `${JSON.stringify(entry.path)} would be written through ${JSON.stringify(rel)}, a symlink in ${this.destination} (-> ${target}); refusing to follow it`,
          SYMLINK_HINT,
        );
      }
      if (!st.isDirectory()) {
        throw this.error(
          'CONFLICT',
          entry,
          `${JSON.stringify(entry.path)} needs ${JSON.stringify(rel)} to be a directory, but ${kindOf(st)} exists there in ${this.destination}`,
          'remove it, or extract into an empty folder',
        );
      }
      this.checkedDirs.add(rel);
    }
  }

  /** Clears the way for a new file or symlink at `full`: refuses an existing one unless overwriting. */
  private async makeRoom(entry: ExtractEntry, rel: string, full: string): Promise<void> {
    const existing = await lstatOrUndefined(full);
    if (!existing) return;
    if (existing.isDirectory()) {
      throw this.error(
        'CONFLICT',
        entry,
        `${JSON.stringify(rel)} is a ${entry.kind} in the archive but a directory exists there in ${this.destination}`,
        'a directory is never replaced; remove it or extract into an empty folder',
      );
    }
    if (!this.options.overwrite) {
      throw this.error(
        'EXISTS',
        entry,
        `${JSON.stringify(rel)} already exists in ${this.destination} (${kindOf(existing)}); refusing to overwrite it`,
        OVERWRITE_HINT,
      );
    }
    await unlink(full); // the link itself, never what it points at
  }

  async directory(entry: Extract<ExtractEntry, { kind: 'dir' }>, parts: string[]): Promise<void> {
    await this.ensureParents(entry, parts.slice(0, -1));
    const rel = parts.join('/');
    const full = this.full(rel);
    const existing = await lstatOrUndefined(full);
    if (existing && !existing.isDirectory()) {
      if (!this.options.overwrite || !(existing.isSymbolicLink() || existing.isFile())) {
        const link = existing.isSymbolicLink() ? ` (-> ${await readlink(full).catch(() => '?')}; never followed)` : '';
        throw this.error(
          'EXISTS',
          entry,
          `${JSON.stringify(rel)} is a directory in the archive but ${kindOf(existing)} exists there in ${this.destination}${link}`,
          `${OVERWRITE_HINT}: the link or file is then replaced by a directory`,
        );
      }
      await unlink(full); // the link itself, never what it points at
    }
    if (!existing || !existing.isDirectory()) await mkdir(full, { mode: 0o755 });
    this.checkedDirs.add(rel);
    this.dirAttrs.push({
      full,
      depth: parts.length,
      ...(entry.mode !== undefined ? { mode: entry.mode } : {}),
      ...(entry.mtime !== undefined ? { mtime: entry.mtime } : {}),
    });
    this.summary.extracted.push({ path: rel, kind: 'dir' });
  }

  async file(entry: Extract<ExtractEntry, { kind: 'file' }>, parts: string[]): Promise<void> {
    await this.ensureParents(entry, parts.slice(0, -1));
    const rel = parts.join('/');
    const full = this.full(rel);
    await this.makeRoom(entry, rel, full);
    const handle = await open(full, WRITE_FLAGS, 0o600);
    try {
      await writeAll(handle, entry.content());
      const mode = this.options.preserveMode === false || entry.mode === undefined ? 0o644 : entry.mode & 0o1777;
      await handle.chmod(mode);
      if (this.options.preserveTimes !== false && entry.mtime !== undefined)
        await handle.utimes(entry.mtime, entry.mtime);
    } catch (error) {
      await handle.close();
      await unlink(full).catch(() => undefined); // nothing half-written
      throw error;
    }
    await handle.close();
    this.summary.extracted.push({ path: rel, kind: 'file' });
  }

  async symlink(entry: Extract<ExtractEntry, { kind: 'symlink' }>, parts: string[]): Promise<void> {
    await this.ensureParents(entry, parts.slice(0, -1));
    const rel = parts.join('/');
    const full = this.full(rel);
    await this.makeRoom(entry, rel, full);
    await symlink(entry.target, full);
    if (this.options.preserveTimes !== false && entry.mtime !== undefined)
      await lutimes(full, entry.mtime, entry.mtime);
    this.summary.extracted.push({ path: rel, kind: 'symlink' });
  }

  /** Modes and times of the archive's directories, deepest first (a read-only directory would block its own contents). */
  async finishDirectories(): Promise<void> {
    const ordered = [...this.dirAttrs].sort((a, b) => b.depth - a.depth);
    for (const d of ordered) {
      if (this.options.preserveMode !== false && d.mode !== undefined) await chmod(d.full, d.mode & 0o1777);
      if (this.options.preserveTimes !== false && d.mtime !== undefined) await utimes(d.full, d.mtime, d.mtime);
    }
  }
}

async function writeAll(handle: FileHandle, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  let at = 0;
  for await (const chunk of chunks) {
    let done = 0;
    while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done, at + done)).bytesWritten;
    at += chunk.length;
  }
}

/** The first proper prefix of `parts` that is one of the archive's own symlinks, if any. */
function symlinkPrefix(parts: string[], symlinks: Set<string>): string | undefined {
  let rel = '';
  for (const part of parts.slice(0, -1)) {
    rel = rel ? `${rel}/${part}` : part;
    if (symlinks.has(rel)) return rel;
  }
  return undefined;
}

/** Turns an operating-system error (EACCES, ENOSPC, a file where the folder should be) into a KilnError naming the path. */
function ioError(error: unknown, destination: string, entry: ExtractEntry | undefined): unknown {
  if (error instanceof KilnError) return error;
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string') return error;
  const words = describeSystemError(e) ?? e.message;
  const what = entry ? ` (extracting ${JSON.stringify(entry.path)} into ${destination})` : '';
  return new KilnError('EXTRACT_FAILED', `${words}${what}`, {
    location: { file: e.path ?? destination },
    cause: error,
  });
}

/**
 * Extracts `entries` into `destination` (created if missing) with the rules above. Entries are
 * created in the order given (parents first), symlinks after everything else.
 * @example
 * await extractEntries([{ kind: 'file', path: 'a.txt', content: async function* () { yield bytes; } }], 'out',
 *   { format: 'cpio', codePrefix: 'CPIO' });
 */
export async function extractEntries(
  entries: Iterable<ExtractEntry>,
  destination: string,
  who: ExtractFormat,
  options: ExtractOptions = {},
): Promise<ExtractSummary> {
  const run = new Extraction(destination, who, options);
  const planned: Array<{ entry: ExtractEntry; parts: string[] }> = [];
  for (const entry of entries) {
    const split = memberComponents(entry.path);
    if ('refused' in split) throw run.escape(entry, split.refused);
    if (split.parts.length === 0 && (entry.kind === 'file' || entry.kind === 'symlink'))
      throw run.escape(entry, 'names the target folder itself');
    planned.push({ entry, parts: split.parts });
  }
  const symlinks = new Set(planned.filter((p) => p.entry.kind === 'symlink').map((p) => p.parts.join('/')));
  for (const { entry, parts } of planned) {
    const through = symlinkPrefix(parts, symlinks);
    if (through !== undefined)
      throw run.escape(entry, `passes through ${JSON.stringify(through)}, a symlink in the same archive`);
  }
  let current: ExtractEntry | undefined;
  try {
    await mkdir(destination, { recursive: true });
    for (const { entry, parts } of planned) {
      current = entry;
      if (entry.kind === 'skip')
        run.summary.skipped.push({ path: parts.join('/'), what: entry.what, reason: entry.reason });
      else if (parts.length === 0)
        continue; // the archive's root (`.`)
      else if (entry.kind === 'dir') await run.directory(entry, parts);
      else if (entry.kind === 'file') await run.file(entry, parts);
    }
    for (const { entry, parts } of planned) {
      current = entry;
      if (entry.kind === 'symlink' && parts.length > 0) await run.symlink(entry, parts);
    }
    current = undefined;
    await run.finishDirectories();
  } catch (error) {
    throw ioError(error, destination, current);
  }
  return run.summary;
}
