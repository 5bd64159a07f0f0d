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

/**
 * `join(dir, rel)` for an absolute, normalized `dir`, without path.join's normalizing when `rel` is a
 * plain relative path (`src/a.c`: no `.`, `..` or empty segment) — the same string at a fraction of
 * the cost; it runs for every input and output of every step of a no-op build.
 * @example joinPlain('/p', 'src/a.c') // '/p/src/a.c'
 */
export function joinPlain(dir: string, rel: string): string {
  return isPlainRelative(rel) && dir.length > 1 && !dir.endsWith('/') ? `${dir}/${rel}` : join(dir, rel);
}

function isPlainRelative(path: string): boolean {
  if (path === '' || path.charCodeAt(0) === 47 || path.endsWith('/') || path.includes('//')) return false;
  const dotted = `/${path}/`;
  return !dotted.includes('/./') && !dotted.includes('/../');
}

export { join, normalize };
