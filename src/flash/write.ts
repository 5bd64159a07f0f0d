/**
 * Writing a disk image to a block device and proving it arrived: the image's raw view (a raw
 * disk or hybrid ISO as it is; VDI and VMDK through kiln's own readers, converted while they
 * stream) is written front to back in 4 MiB pieces with `fdatasync` every 16 MiB (so progress
 * shows what reached the device, not the page cache), synced, the device's buffer cache dropped
 * (`blockdev --flushbufs`, the BLKFLSBUF ioctl), then read back and compared piece by piece by
 * SHA-256. The device is opened `O_EXCL`, so the kernel itself refuses it while a file system on
 * it is mounted (EBUSY), whatever the checks before saw.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fdatasyncSync, openSync, readSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { KilnError } from '../errors.js';
import { type DetectedFormat, DETECT_HEAD_BYTES, detectFormat } from '../formats/detect.js';
import { type ImageFormat, openDisk } from '../formats/convert.js';
import { type BlockSource, FileSource } from '../formats/io/block-source.js';
import { formatSize } from '../util/size.js';
import type { BlockDevice } from './devices.js';

/** Bytes per write and per read-back compare. */
export const FLASH_CHUNK = 4 << 20;
/**
 * Bytes written between two fdatasync calls: what a failure report cannot place more precisely
 * (a write lands in the page cache; the device's error comes with the next sync).
 */
const SYNC_EVERY = 16 << 20;

/** An image opened for flashing: its raw view and what it was. */
export interface FlashImage {
  readonly path: string;
  /** What the file is (`iso` for an ISO hybrid, `gpt`/`mbr`/`fat` for raw disks, `vdi`, `vmdk`). */
  readonly detected: DetectedFormat;
  /** How it is read: as it is (`raw`) or through kiln's VDI / VMDK reader. */
  readonly container: ImageFormat;
  /** Bytes that will be written (the virtual disk's size). */
  readonly size: number;
  readonly disk: BlockSource;
  close(): Promise<void>;
}

/** Where a flash is: writing, syncing or reading back. */
export interface FlashProgress {
  readonly phase: 'write' | 'verify';
  readonly bytes: number;
  readonly total: number;
  /** Since the phase began. */
  readonly elapsedMs: number;
}

/** What a flash did. */
export interface FlashResult {
  readonly device: string;
  readonly bytes: number;
  /** SHA-256 of the written range, as written and as read back (equal, or the flash failed). */
  readonly sha256: string;
  readonly writeMs: number;
  readonly verifyMs: number;
  /** How the device's cache was dropped before the read-back, or why it could not be. */
  readonly cacheNote: string;
}

const NOT_DISKS: Partial<Record<DetectedFormat, string>> = {
  qcow2: 'convert it first: qemu-img convert -O raw IMAGE disk.img (kiln reads raw, VDI and VMDK)',
  elf: 'an ELF is a kernel, not a disk: flash the image that boots it (a GRUB ISO or a disk from your config)',
  cpio: 'a CPIO archive is an initrd, not a disk: flash the image that boots it',
};

/**
 * Opens an image to flash; refuses files that are not disks (QCOW2, ELF, CPIO) and empty files.
 * @example const image = await openFlashImage('build/x86_64-debug/kosh.iso'); // detected 'iso'
 */
export async function openFlashImage(path: string): Promise<FlashImage> {
  let source: FileSource;
  try {
    source = await FileSource.open(path);
  } catch (error) {
    if (error instanceof KilnError) throw error;
    throw new KilnError(
      'FLASH_NO_IMAGE',
      `cannot open the image: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        location: { file: path },
        hint: 'build it first (kiln build), or check the path',
        exitCode: 2,
      },
    );
  }
  try {
    const detected = detectFormat(await source.read(0, Math.min(source.size, DETECT_HEAD_BYTES)));
    const why = NOT_DISKS[detected];
    if (why)
      throw new KilnError(
        'FLASH_NOT_A_DISK_IMAGE',
        `is ${detected === 'elf' ? 'an ELF' : `a ${detected.toUpperCase()}`} file, not a disk image`,
        { location: { file: path }, hint: why, exitCode: 2 },
      );
    if (source.size === 0)
      throw new KilnError('FLASH_NOT_A_DISK_IMAGE', 'the image is empty', {
        location: { file: path },
        hint: 'build it first (kiln build)',
        exitCode: 2,
      });
    const { format, disk } = await openDisk(source);
    return { path, detected, container: format, size: disk.size, disk, close: () => source.close() };
  } catch (error) {
    await source.close();
    throw error;
  }
}

function openDevice(device: BlockDevice, flags: number): number {
  try {
    return openSync(device.path, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EBUSY') {
      throw new KilnError(
        'FLASH_DEVICE_BUSY',
        `${device.path} is in use (the kernel refused an exclusive open: EBUSY)`,
        {
          location: { file: device.path },
          hint: 'something has it open or mounted (a file system, a partition, swap, device-mapper): unmount or close it first',
        },
      );
    }
    throw new KilnError('FLASH_OPEN_FAILED', `cannot open ${device.path}: ${code ?? (error as Error).message}`, {
      location: { file: device.path },
      hint:
        code === 'EACCES' || code === 'EPERM'
          ? 'writing a disk needs root (sudo kiln flash ...) or membership of the disk group'
          : 'check that the drive is still plugged in',
    });
  }
}

const percent = (done: number, total: number): string => `${total ? Math.floor((done * 100) / total) : 100}%`;

/**
 * The error of a flash that stopped: where (`at`, or between the last confirmed byte `synced` and
 * `at` when the device reported the failure on a sync), and what is on the drive now.
 */
function stoppedAt(
  device: BlockDevice,
  at: number,
  synced: number,
  total: number,
  what: string,
  error: unknown,
): KilnError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  const where = synced < at ? `between byte ${synced} and byte ${at}` : `at byte ${at}`;
  return new KilnError(
    'FLASH_WRITE_FAILED',
    `${what} ${device.path} failed ${where} (${formatSize(at)} of ${formatSize(total)}, ${percent(at, total)}): ${code}`,
    {
      location: { file: device.path },
      hint:
        `the first ${synced} bytes are confirmed on the drive, nothing after byte ${at} was written: it holds a partial image and will not boot. ` +
        'A failing, full or removed drive gives EIO/ENOSPC/ENODEV: try again, or another drive',
      cause: error,
      details: { confirmed: synced, stoppedAt: at, total },
    },
  );
}

/** Writes all of `bytes` at `offset` (short writes continue). */
function writeAll(fd: number, bytes: Uint8Array, offset: number): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
}

/** Reads exactly `length` bytes at `offset` into `into` (a short device ends the read with an error). */
function readAll(fd: number, into: Uint8Array, offset: number): void {
  for (let done = 0; done < into.length;) {
    const got = readSync(fd, into, done, into.length - done, offset + done);
    if (got === 0) throw Object.assign(new Error('the device ended early'), { code: 'ESHORT' });
    done += got;
  }
}

/** fdatasync: bytes up to `offset` are on the device, or the error says since where they may not be. */
function syncTo(fd: number, device: BlockDevice, offset: number, synced: number, total: number): number {
  try {
    fdatasyncSync(fd);
    return offset;
  } catch (error) {
    throw stoppedAt(device, offset, synced, total, 'writing', error);
  }
}

/** Drops the device's buffer cache so the read-back reads the device (BLKFLSBUF through util-linux blockdev). */
function dropCache(device: BlockDevice): string {
  const r = spawnSync('blockdev', ['--flushbufs', device.path], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0) return 'buffer cache dropped (blockdev --flushbufs) before the read-back';
  const why = r.error
    ? `blockdev: ${(r.error as NodeJS.ErrnoException).code}`
    : r.stderr.trim() || `blockdev exit ${r.status}`;
  return `the buffer cache could not be dropped (${why}): the read-back may come from memory`;
}

/**
 * Writes `image` to `device`, syncs, reads it back and compares. Refusals are the caller's
 * (`refusalsOf`); this only opens the device `O_EXCL` (the kernel's own in-use check).
 * @example
 * const image = await openFlashImage('kosh.iso');
 * const result = await flashImage(image, resolveDevice('/dev/sdb'), { onProgress: (p) => render(p) });
 */
export async function flashImage(
  image: FlashImage,
  device: BlockDevice,
  options: { onProgress?: (p: FlashProgress) => void } = {},
): Promise<FlashResult> {
  const total = image.size;
  const chunks: string[] = [];
  const whole = createHash('sha256');
  const writeStart = performance.now();
  const fd = openDevice(device, constants.O_WRONLY | constants.O_EXCL);
  let offset = 0;
  let synced = 0;
  try {
    options.onProgress?.({ phase: 'write', bytes: 0, total, elapsedMs: 0 });
    while (offset < total) {
      const length = Math.min(FLASH_CHUNK, total - offset);
      const bytes = await image.disk.read(offset, length);
      chunks.push(createHash('sha256').update(bytes).digest('hex'));
      whole.update(bytes);
      try {
        writeAll(fd, bytes, offset);
      } catch (error) {
        throw stoppedAt(device, offset, synced, total, 'writing', error);
      }
      offset += length;
      if (offset - synced >= SYNC_EVERY) synced = syncTo(fd, device, offset, synced, total);
      options.onProgress?.({ phase: 'write', bytes: offset, total, elapsedMs: performance.now() - writeStart });
    }
    synced = syncTo(fd, device, offset, synced, total);
  } finally {
    closeSync(fd);
  }
  const writeMs = performance.now() - writeStart;
  const cacheNote = dropCache(device);
  const verifyMs = await verify(image, device, chunks, options.onProgress);
  return { device: device.path, bytes: total, sha256: whole.digest('hex'), writeMs, verifyMs, cacheNote };
}

/** Reads the written range back and compares it piece by piece; a difference names its first byte. */
async function verify(
  image: FlashImage,
  device: BlockDevice,
  chunks: readonly string[],
  onProgress?: (p: FlashProgress) => void,
): Promise<number> {
  const total = image.size;
  const start = performance.now();
  const fd = openDevice(device, constants.O_RDONLY);
  const buffer = new Uint8Array(FLASH_CHUNK);
  try {
    onProgress?.({ phase: 'verify', bytes: 0, total, elapsedMs: 0 });
    for (let i = 0, offset = 0; offset < total; i++, offset += FLASH_CHUNK) {
      const piece = buffer.subarray(0, Math.min(FLASH_CHUNK, total - offset));
      try {
        readAll(fd, piece, offset);
      } catch (error) {
        throw stoppedAt(device, offset, offset, total, 'reading back', error);
      }
      if (createHash('sha256').update(piece).digest('hex') !== chunks[i]) {
        const expected = await image.disk.read(offset, piece.length);
        const at = offset + piece.findIndex((b, j) => b !== expected[j]);
        throw new KilnError(
          'FLASH_VERIFY_FAILED',
          `read-back of ${device.path} differs from the image at byte ${at} (0x${at.toString(16)}; ${formatSize(at)} of ${formatSize(total)})`,
          {
            location: { file: device.path, offset: at },
            hint: 'the drive did not keep what was written (a fake-capacity or failing drive does this): try another drive',
          },
        );
      }
      onProgress?.({ phase: 'verify', bytes: offset + piece.length, total, elapsedMs: performance.now() - start });
    }
  } finally {
    closeSync(fd);
  }
  return performance.now() - start;
}
