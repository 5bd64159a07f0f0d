import { join, normalize } from 'node:path';
import { KilnError } from '../errors.js';

/**
 * Normalizes a path inside an image or archive to `a/b/c` (no leading slash, no `.`), refusing
 * `..` segments, NUL bytes and empty names. Used by every writer and the graph's output paths
 * (extraction has its own rules: src/formats/io/extract.ts).
 */
export function normalizeImagePath(path: string, what = 'path'): string {
  if (path.includes('\0')) throw new KilnError('PATH_INVALID', `${what} ${JSON.stringify(path)} contains a NUL byte`);
  const parts = path
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) {
    throw new KilnError(
      'PATH_ESCAPES',
      `${what} ${JSON.stringify(path)} contains "..": paths in an image must stay inside it`,
      {
        hint: 'use a path relative to the image root without ".." segments',
      },
    );
  }
  return parts.join('/');
}

export { join, normalize };
