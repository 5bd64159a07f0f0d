import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { KilnError } from '../errors.js';

/**
 * Normalizes a path inside an image or archive to `a/b/c` (no leading slash, no `.`), refusing
 * `..` segments, NUL bytes and empty names. Used by every writer and by safe extraction.
 */
export function normalizeImagePath(path: string, what = 'path'): string {
  if (path.includes('\0')) throw new KilnError('PATH_INVALID', `${what} ${JSON.stringify(path)} contains a NUL byte`);
  const parts = path.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) {
    throw new KilnError('PATH_ESCAPES', `${what} ${JSON.stringify(path)} contains "..": paths in an image must stay inside it`, {
      hint: 'use a path relative to the image root without ".." segments',
    });
  }
  return parts.join('/');
}

/**
 * Joins `relativePath` under `root`, throwing if the result would leave `root` (`..`, absolute
 * paths, symlink-style escapes in the name). For extracting untrusted archives.
 */
export function resolveInside(root: string, relativePath: string): string {
  const cleaned = normalizeImagePath(relativePath.replace(/^\/+/, ''));
  const target = resolve(root, cleaned);
  const rel = relative(resolve(root), target);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
    throw new KilnError('PATH_ESCAPES', `${JSON.stringify(relativePath)} would be written outside ${root}`);
  }
  return target;
}

export { join, normalize };
