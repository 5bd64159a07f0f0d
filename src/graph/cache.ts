/**
 * The action cache. A tier maps action keys to entries naming output objects by content hash,
 * and objects by hash to bytes — the shape of Bazel's remote cache (/ac + /cas), so a remote tier
 * implements the same CacheTier behind the local one.
 *
 * The local tier: objects in `cas/ab/<sha256>`, entries in `actions/ab/<key>.json`. Entries are
 * written after their objects, each atomically (temp + rename), and objects are verified by hash
 * before use, so a `kill -9` at any moment can never make a build use a corrupt entry.
 *
 * Objects and the outputs in `build/` never share storage: both directions copy (holes kept,
 * reflinked where the file system can, util/copy.ts). With hard links, a guest writing its disk or
 * a tool editing an output in place changed the cache's object too (kiln runs as root in CI, so
 * read-only objects would not have stopped it). Cost, measured for a 4 GiB sparse disk on ext4:
 * 19 ms per copy through `cp --sparse=always` (a hard link: 0.1 ms; Node's own copy: 48 s).
 */
import { chmodSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tempPathFor, writeFileAtomic } from '../util/atomic.js';
import { SPARSE_COPY_THRESHOLD, copyFileSparse } from '../util/copy.js';
import { type ActionKey, type FileHash, hashFileSync } from './hashing.js';

export interface CachedOutput {
  hash: FileHash;
  size: number;
  mode: number;
}

export interface ActionEntry {
  /** Output path (relative to the target build folder) → content hash, size and mode. */
  outputs: Record<string, CachedOutput>;
  createdAt: number;
  /** Files the step read (deps-log.ts names) and the digest of their contents: the entry holds only while they match. */
  reads?: string[];
  readsDigest?: string;
  /** On an entry found in a remote tier: the tail of the step's log where it ran (not kept locally). */
  log?: string;
}

/** What became of one object's restore: a corrupt object is deleted (and the step reruns, saying so). */
export type RestoreResult = 'restored' | 'missing' | 'corrupt';

/** How a step's result may travel beyond this machine (a remote tier reads it; the local one ignores it). */
export interface ShareOptions {
  /** False for a step whose outputs depend on the checkout's folder: never uploaded, never looked up remotely. */
  share?: boolean;
  /** The step's log, kept with a shared entry. */
  log?: string;
}

/** One tier of the action cache (asynchronous: a remote tier answers over the network). */
export interface CacheTier {
  /** The entry stored for `key`, if any. */
  lookup(key: ActionKey, options?: ShareOptions): Promise<ActionEntry | undefined>;
  /** Places object `hash` at `to` (with `mode`) after verifying it; says so when it is missing or corrupt. */
  restore(hash: FileHash, to: string, mode: number): Promise<RestoreResult>;
  /** Stores the outputs (output → absolute path of its file) as objects, then the entry naming them. */
  store(
    key: ActionKey,
    entry: ActionEntry,
    files: Readonly<Record<string, string>>,
    options?: ShareOptions,
  ): Promise<void>;
}

/** Places a copy of `from` at `to` atomically: never a hard link, so a write to one never reaches the other. */
export function placeFile(from: string, to: string, mode?: number): void {
  mkdirSync(dirname(to), { recursive: true });
  const temp = tempPathFor(to);
  try {
    copyFileSparse(from, temp);
    if (mode !== undefined) chmodSync(temp, mode);
    renameSync(temp, to);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** The local tier: a folder (default `<project>/.kiln/cache`). */
export class LocalCache implements CacheTier {
  constructor(readonly root: string) {}

  async lookup(key: ActionKey): Promise<ActionEntry | undefined> {
    try {
      const entry = JSON.parse(readFileSync(this.entryPath(key), 'utf8')) as ActionEntry;
      return entry && typeof entry.outputs === 'object' ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /** Copies the object to `to` after verifying its content; a corrupt object is deleted. */
  async restore(hash: FileHash, to: string, mode: number): Promise<RestoreResult> {
    const object = this.objectPath(hash);
    try {
      statSync(object);
    } catch {
      return 'missing';
    }
    if (hashFileSync(object) !== hash) {
      rmSync(object, { force: true });
      return 'corrupt';
    }
    placeFile(object, to, mode);
    return 'restored';
  }

  /** Stores the objects, then the entry: on Node's I/O threads (a build runs stores beside its steps). */
  async store(key: ActionKey, entry: ActionEntry, files: Readonly<Record<string, string>>): Promise<void> {
    for (const [rel, path] of Object.entries(files)) {
      const object = this.objectPath(entry.outputs[rel]!.hash);
      if (!existsSync(object)) await this.placeObject(path, object);
    }
    const target = this.entryPath(key);
    await this.folder(target);
    const temp = tempPathFor(target);
    try {
      await writeFile(temp, JSON.stringify(entry));
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** A copy of `from` at `object`, atomically (large files through placeFile's sparse copy). */
  private async placeObject(from: string, object: string): Promise<void> {
    if ((await stat(from)).size >= SPARSE_COPY_THRESHOLD) return placeFile(from, object);
    await this.folder(object);
    const temp = tempPathFor(object);
    try {
      await copyFile(from, temp, constants.COPYFILE_FICLONE);
      await rename(temp, object);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** Makes the folder of `path` once per cache (256 folders each for objects and entries). */
  private async folder(path: string): Promise<void> {
    const dir = dirname(path);
    if (this.folders.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.folders.add(dir);
  }

  private readonly folders = new Set<string>();

  /** Records an entry whose objects are already stored (a remote tier's download). */
  writeEntry(key: ActionKey, entry: ActionEntry): void {
    writeFileAtomic(this.entryPath(key), JSON.stringify(entry));
  }

  /** Where object `hash` is kept (it may not exist). */
  objectPath(hash: FileHash): string {
    return join(this.root, 'cas', hash.slice(0, 2), hash);
  }

  private entryPath(key: ActionKey): string {
    return join(this.root, 'actions', key.slice(0, 2), `${key}.json`);
  }
}
