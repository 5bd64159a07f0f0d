/**
 * SD cards: QEMU 7.2 (hw/sd/sd.c, sd_realize) refuses a card whose size is not a power of two
 * ("Invalid SD card size"). kiln checks a raw card before QEMU starts, and on request boots a
 * copy padded with zeros (sparse) to the next power of two, leaving the built image as it is.
 */
import { copyFileSync, statSync, truncateSync } from 'node:fs';
import { basename, join } from 'node:path';
import { KilnError } from '../errors.js';
import { formatSize } from '../util/size.js';

/**
 * The next power of two at or above `n` (n ≥ 1).
 * @example nextPowerOfTwo(48 << 20) // 64 << 20
 */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The file to attach as an SD card: the image itself when its size is a power of two, else a padded
 * copy in `logDir` (with `pad`), else a KilnError naming the size and the next power of two.
 * @example fitSdCard('build/sd.img', { pad: true, logDir: 'build/logs', unit: 0, dryRun: false })
 */
export function fitSdCard(path: string, o: { pad: boolean; logDir: string; unit: number; dryRun: boolean }): string {
  const size = statSync(path).size;
  if (size > 0 && Number.isInteger(Math.log2(size))) return path;
  const next = nextPowerOfTwo(Math.max(size, 512));
  if (!o.pad) {
    throw new KilnError(
      'QEMU_SD_SIZE',
      `SD card ${path} is ${size} bytes (${formatSize(size)}); QEMU takes only a power-of-two size (next: ${formatSize(next)})`,
      {
        location: { file: path },
        hint: `give the image a power-of-two size (e.g. mbr({ size: '${formatSize(next)}' })), or set pad: true on the drive to boot a copy padded to ${formatSize(next)}`,
        exitCode: 2,
      },
    );
  }
  const copy = join(o.logDir, `sd${o.unit}-padded-${basename(path)}`);
  if (!o.dryRun) {
    copyFileSync(path, copy);
    truncateSync(copy, next);
  }
  return copy;
}
