/**
 * Atomic file writes: the data goes to a temporary file in the destination's folder, which is then
 * renamed over the destination — a reader (or a `kill -9`) never sees half a file.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** The file's mode (set exactly, whatever the umask). */
  mode?: number;
  /** Create missing parent folders (default true). */
  mkdir?: boolean;
}

let counter = 0;

/** A fresh temporary name next to `path` (same folder, so a rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.tmp`);
}

/**
 * Writes `data` to `path` atomically; the temporary file is removed if anything fails.
 * @example writeFileAtomic('build/.kiln/state.json', JSON.stringify(state))
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  if (options.mkdir ?? true) mkdirSync(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    writeFileSync(temp, data);
    if (options.mode !== undefined) chmodSync(temp, options.mode);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
