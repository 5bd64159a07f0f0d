/**
 * Random-access input for readers: an image file (read on demand, never loaded whole) or bytes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FormatError, KilnError } from '../../errors.js';

export interface BlockSource {
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; reading past the end is a FormatError. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

function checkRead(format: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new FormatError(format, 'TRUNCATED', `needs ${length} bytes at offset ${offset}, the input has ${size}`, { offset });
  }
}

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
  async close(): Promise<void> {}
}

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

  static async open(path: string, format = 'image'): Promise<FileSource> {
    const fd = openSync(path, 'r');
    const stats = fstatSync(fd);
    if (!stats.isFile() && !stats.isBlockDevice()) {
      closeSync(fd);
      throw new KilnError('INPUT_NOT_A_FILE', `is ${stats.isDirectory() ? 'a folder' : 'not a regular file'}, not an image file`, {
        location: { file: path },
        hint: 'give the path of an image file',
      });
    }
    return new FileSource(path, fd, stats.size, format);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRead(this.format, this.size, offset, length);
    if (this.fd === undefined) throw new Error(`${this.path}: read after close`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const bytesRead = readSync(this.fd, out, done, length - done, offset + done);
      if (bytesRead === 0) throw new FormatError(this.format, 'TRUNCATED', `file ended at ${offset + done}`, { offset: offset + done });
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }
}

/** A window of another source (a partition), with offsets relative to it. */
export class SubSource implements BlockSource {
  readonly size: number;
  private readonly parent: BlockSource;
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
  async close(): Promise<void> {}
}

/** Opens a file, or wraps bytes, as a BlockSource. */
export async function openSource(input: string | Uint8Array, format = 'image'): Promise<BlockSource> {
  return typeof input === 'string' ? FileSource.open(input, format) : new MemorySource(input, format);
}
