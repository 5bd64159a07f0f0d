/**
 * Random-access input for readers: an image file (read on demand, never loaded whole) or bytes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FormatError, KilnError } from '../../errors.js';

/** Random-access bytes an image reader reads from: a file, memory, a sparse image or a slice of another source. */
export interface BlockSource {
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; reading past the end is a FormatError. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the source (closes the file, if any). */
  close(): Promise<void>;
}

function checkRead(format: string, size: number, offset: number, length: number, file?: string): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new FormatError(format, 'TRUNCATED', `needs ${length} bytes at offset ${offset}, the input has ${size}`, {
      offset,
      ...(file ? { location: { file } } : {}),
    });
  }
}

/**
 * The file `source` reads (through windows of it too), if it reads one: for messages.
 * @example sourceFile(await FileSource.open('disk.vdi')) // 'disk.vdi'
 */
export function sourceFile(source: BlockSource): string | undefined {
  if (source instanceof FileSource) return source.path;
  if (source instanceof SubSource) return sourceFile(source.parent);
  return undefined;
}

/** A byte range of a source or disk. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * A source that knows where its data is (a VDI or VMDK disk): bytes outside the ranges it lists
 * read as zeros. Listing costs in proportion to the image file's metadata, not to the disk size,
 * so a reader or converter that follows the ranges costs what the image really holds.
 */
export interface SparseSource extends BlockSource {
  /** Ranges that may hold non-zero bytes, ascending and disjoint. */
  dataRanges(): AsyncIterable<ByteRange>;
}

/** Whether `source` lists its data ranges. */
export function isSparseSource(source: BlockSource): source is SparseSource {
  return typeof (source as Partial<SparseSource>).dataRanges === 'function';
}

/**
 * The pieces of `source` to read to see every byte that may be non-zero, in ascending order:
 * its data ranges widened to whole `unit`s (the last unit may be short) and merged, cut into
 * pieces of at most `chunk` bytes (a multiple of `unit`) that start on a unit boundary. A source
 * that does not list its ranges is read whole.
 * @example for await (const { offset, length } of dataChunks(disk, 1 << 20, 4 << 20)) await disk.read(offset, length);
 */
export async function* dataChunks(source: BlockSource, unit: number, chunk: number): AsyncGenerator<ByteRange> {
  const size = source.size;
  const step = Math.max(unit, Math.floor(chunk / unit) * unit);
  const cut = function* (start: number, end: number): Generator<ByteRange> {
    for (let at = start; at < end; at += step) yield { offset: at, length: Math.min(step, end - at) };
  };
  if (!isSparseSource(source)) {
    yield* cut(0, size);
    return;
  }
  let pending: { start: number; end: number } | undefined;
  for await (const range of source.dataRanges()) {
    if (range.length <= 0) continue;
    const start = Math.floor(range.offset / unit) * unit;
    const end = Math.min(size, Math.ceil((range.offset + range.length) / unit) * unit);
    if (pending && start <= pending.end) {
      pending.end = Math.max(pending.end, end);
      continue;
    }
    if (pending) yield* cut(pending.start, pending.end);
    pending = { start, end };
  }
  if (pending) yield* cut(pending.start, pending.end);
}

/** A {@link BlockSource} over bytes in memory. */
export class MemorySource implements BlockSource {
  readonly bytes: Uint8Array;
  readonly format: string;
  constructor(bytes: Uint8Array, format = 'image') {
    this.bytes = bytes;
    this.format = format;
  }
  get size(): number {
    return this.bytes.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRead(this.format, this.size, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
  /** Releases the source (closes the file, if any). */
  async close(): Promise<void> {}
}

/** A {@link BlockSource} over a file, read on demand (images larger than memory are fine). */
export class FileSource implements BlockSource {
  readonly size: number;
  readonly path: string;
  readonly format: string;
  /** Read with synchronous calls: readers issue many small reads, and a thread-pool round trip each costs more than the read. */
  private fd: number | undefined;

  private constructor(path: string, fd: number, size: number, format: string) {
    this.path = path;
    this.fd = fd;
    this.size = size;
    this.format = format;
  }

  /** Opens `path` for reading; `format` names the format in error messages. */
  static async open(path: string, format = 'image'): Promise<FileSource> {
    const fd = openSync(path, 'r');
    const stats = fstatSync(fd);
    if (!stats.isFile() && !stats.isBlockDevice()) {
      closeSync(fd);
      throw new KilnError(
        'INPUT_NOT_A_FILE',
        `is ${stats.isDirectory() ? 'a folder' : 'not a regular file'}, not an image file`,
        {
          location: { file: path },
          hint: 'give the path of an image file',
        },
      );
    }
    return new FileSource(path, fd, stats.size, format);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRead(this.format, this.size, offset, length, this.path);
    if (this.fd === undefined) throw new Error(`${this.path}: read after close`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const bytesRead = readSync(this.fd, out, done, length - done, offset + done);
      if (bytesRead === 0)
        throw new FormatError(this.format, 'TRUNCATED', `file ended at ${offset + done}`, {
          offset: offset + done,
          location: { file: this.path },
        });
      done += bytesRead;
    }
    return out;
  }

  /** Releases the source (closes the file, if any). */
  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }
}

/** A window of another source (a partition), with offsets relative to it. */
export class SubSource implements BlockSource {
  readonly size: number;
  readonly parent: BlockSource;
  private readonly base: number;
  constructor(parent: BlockSource, base: number, size: number) {
    checkRead('image', parent.size, base, size);
    this.parent = parent;
    this.base = base;
    this.size = size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRead('image', this.size, offset, length);
    return this.parent.read(this.base + offset, length);
  }
  /** Releases the source (closes the file, if any). */
  async close(): Promise<void> {}
}

/** Opens a file, or wraps bytes, as a BlockSource. */
export async function openSource(input: string | Uint8Array, format = 'image'): Promise<BlockSource> {
  return typeof input === 'string' ? FileSource.open(input, format) : new MemorySource(input, format);
}
