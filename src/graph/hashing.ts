/**
 * File hashing with a stat index: a file whose (size, mtime, inode) did not change since it was
 * last hashed is not read again (ninja keeps the same promise with its log). Hashes are branded
 * strings so a file hash cannot be passed where an action key is expected.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { sha256Hex } from '../util/hash.js';

export type FileHash = string & { readonly __brand: 'FileHash' };
export type ActionKey = string & { readonly __brand: 'ActionKey' };
/** SHA-256 of a value's stable JSON encoding (an option set, an env var's value). */
export type ValueHash = string & { readonly __brand: 'ValueHash' };

/** [size, mtimeMs, ino, hash] */
export type StatEntry = [size: number, mtimeMs: number, ino: number, hash: FileHash];

export function statMatches(entry: StatEntry | undefined, s: Stats): boolean {
  return entry !== undefined && entry[0] === s.size && entry[1] === s.mtimeMs && entry[2] === s.ino;
}

const BUFFER = Buffer.allocUnsafe(1 << 20);

/** SHA-256 of a file's content, read in 1 MiB chunks. */
export function hashFileSync(path: string): FileHash {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, BUFFER, 0, BUFFER.length, null);
      if (n === 0) break;
      h.update(BUFFER.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex') as FileHash;
}

export class StatIndex {
  readonly entries: Map<string, StatEntry>;
  hashed = 0;
  /** Entries were added, changed or removed since loading. */
  dirty = false;

  constructor(entries: Record<string, StatEntry> = {}) {
    this.entries = new Map(Object.entries(entries));
  }

  /** Hash of the file at `path`, from the index when its stat is unchanged. Undefined if missing. */
  hash(path: string): FileHash | undefined {
    let s: Stats;
    try {
      s = statSync(path);
    } catch {
      if (this.entries.delete(path)) this.dirty = true;
      return undefined;
    }
    if (!s.isFile()) return undefined;
    const entry = this.entries.get(path);
    if (statMatches(entry, s)) return entry![3];
    const hash = hashFileSync(path);
    this.hashed++;
    // A file modified within the last 10 ms may change again in the same mtime tick: do not trust it.
    if (Date.now() - s.mtimeMs > 10) {
      this.entries.set(path, [s.size, s.mtimeMs, s.ino, hash]);
      this.dirty = true;
    }
    return hash;
  }

  /** Records a file kiln just wrote with a known hash. */
  record(path: string, hash: FileHash): StatEntry | undefined {
    try {
      const s = statSync(path);
      const entry: StatEntry = [s.size, s.mtimeMs, s.ino, hash];
      this.entries.set(path, entry);
      this.dirty = true;
      return entry;
    } catch {
      return undefined;
    }
  }

  toJSON(): Record<string, StatEntry> {
    return Object.fromEntries(this.entries);
  }
}

/**
 * An object's keys in the order stableStringify writes them: sorted, except that keys which are
 * array indexes ("0", "17") come first in numeric order (JavaScript enumerates a sorted copy that way).
 */
export function stableKeys(value: object): string[] {
  const keys = Object.keys(value).sort();
  if (!keys.some(startsWithDigit)) return keys;
  const indexes = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return indexes.length ? [...indexes, ...keys.filter((k) => !isArrayIndex(k))] : keys;
}

function startsWithDigit(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57;
}

function isArrayIndex(key: string): boolean {
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 4294967295;
}

/** A stable JSON encoding (sorted object keys) for fingerprints. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (v instanceof RegExp) return `/${v.source}/${v.flags}`;
      if (v instanceof Uint8Array) return { bytes: createHash('sha256').update(v).digest('hex'), length: v.length };
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    if (typeof v === 'function') return `[function ${(v as { name?: string }).name ?? ''}]`;
    if (typeof v === 'bigint') return `${v}n`;
    return v;
  });
}

function digest(value: unknown): string {
  return sha256Hex(stableStringify(value));
}

/** The hash of a value's stable encoding (an option set, an env var's value). */
export function hashValue(value: unknown): ValueHash {
  return digest(value) as ValueHash;
}

/** The hash of text that already is a stable encoding (what hashValue gives for the value it encodes). */
export function hashText(text: string): ValueHash {
  return sha256Hex(text) as ValueHash;
}

/** The action key of a fingerprint: the hash of its stable encoding. */
export function hashKey(value: unknown): ActionKey {
  return digest(value) as ActionKey;
}
