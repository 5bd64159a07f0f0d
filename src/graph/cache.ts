/**
 * The local action cache: outputs stored by content hash (`cas/ab/<sha256>`) and action entries
 * (`actions/ab/<key>.json`) naming the outputs of an action key. Entries are written after their
 * objects, each atomically (temp + rename), and objects are verified by hash before use, so a
 * `kill -9` at any moment can never make a build use a corrupt entry.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ActionKey, type FileHash, hashFileSync } from './hashing.js';

export interface ActionEntry {
  /** Output path (relative to the target build folder) → content hash, size and mode. */
  outputs: Record<string, { hash: string; size: number; mode: number }>;
  createdAt: number;
}

let tempCounter = 0;
function tempName(path: string): string {
  return `${path}.${process.pid}.${++tempCounter}.tmp`;
}

/** Writes `data` to `path` atomically (temp file + rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = tempName(path);
  writeFileSync(temp, data, mode !== undefined ? { mode } : undefined);
  renameSync(temp, path);
}

/** Places a copy of `from` at `to` atomically, hard-linking when possible. */
export function placeFile(from: string, to: string, mode?: number): void {
  mkdirSync(dirname(to), { recursive: true });
  const temp = tempName(to);
  try {
    linkSync(from, temp);
  } catch {
    copyFileSync(from, temp);
  }
  if (mode !== undefined) chmodSync(temp, mode);
  renameSync(temp, to);
}

export class ActionCache {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  private objectPath(hash: string): string {
    return join(this.root, 'cas', hash.slice(0, 2), hash);
  }
  private entryPath(key: ActionKey): string {
    return join(this.root, 'actions', key.slice(0, 2), `${key}.json`);
  }

  get(key: ActionKey): ActionEntry | undefined {
    try {
      const entry = JSON.parse(readFileSync(this.entryPath(key), 'utf8')) as ActionEntry;
      return entry && typeof entry.outputs === 'object' ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores a file (already hashed) as an object. */
  putObject(path: string, hash: FileHash): void {
    const target = this.objectPath(hash);
    if (existsSync(target)) return;
    placeFile(path, target);
  }

  put(key: ActionKey, entry: ActionEntry): void {
    writeFileAtomic(this.entryPath(key), JSON.stringify(entry));
  }

  /**
   * Copies object `hash` to `to` after verifying its content. Returns false (and deletes the
   * object) when it is missing or corrupt.
   */
  restore(hash: string, to: string, mode: number): boolean {
    const object = this.objectPath(hash);
    try {
      statSync(object);
    } catch {
      return false;
    }
    if (hashFileSync(object) !== hash) {
      rmSync(object, { force: true });
      return false;
    }
    placeFile(object, to, mode);
    return true;
  }

  clear(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
