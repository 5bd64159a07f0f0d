import { KilnError } from '../errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** A size as a number of bytes or a string like `16M`, `512K`, `1.5G`, `4096`. Units are binary. */
export type SizeLike = number | string;

/**
 * Parses a size (`16M` = 16 MiB; units K, M, G, T, case-insensitive, optional `B`/`iB`).
 * @example parseSize('32M') // 33554432
 */
export function parseSize(value: SizeLike, what = 'size'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new KilnError('SIZE_INVALID', `${what}: expected a non-negative whole number of bytes, got ${value}`);
    }
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new KilnError(
      'SIZE_INVALID',
      `${what}: expected a size like 512, 64K, 16M or 2G, got ${JSON.stringify(value)}`,
      {
        hint: 'units are K, M, G, T (powers of 1024)',
      },
    );
  }
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes)) {
    throw new KilnError('SIZE_INVALID', `${what}: ${JSON.stringify(value)} is not a whole number of bytes`);
  }
  return bytes;
}

/** 33554432 → "32 MiB"; 1536 → "1.5 KiB". */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const text = i === 0 ? String(value) : value.toFixed(value < 10 ? 2 : 1).replace(/\.?0+$/, '');
  return `${text} ${units[i]}`;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
