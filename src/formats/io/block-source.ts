/**
 * Random-access input for readers: an image file (read on demand, never loaded whole) or bytes.
 */
import { open, type FileHandle } from 'node:fs/promises';
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
  private readonly handle: FileHandle;

  private constructor(path: string, handle: FileHandle, size: number, format: string) {
    this.path = path;
    this.handle = handle;
    this.size = size;
    this.format = format;
  }

  static async open(path: string, format = 'image'): Promise<FileSource> {
    const handle = await open(path, 'r');
    const stats = await handle.stat();
    if (!stats.isFile() && !stats.isBlockDevice()) {
      await handle.close();
      throw new KilnError('INPUT_NOT_A_FILE', `is ${stats.isDirectory() ? 'a folder' : 'not a regular file'}, not an image file`, {
        location: { file: path },
        hint: 'give the path of an image file',
      });
    }
    return new FileSource(path, handle, stats.size, format);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRead(this.format, this.size, offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new FormatError(this.format, 'TRUNCATED', `file ended at ${offset + done}`, { offset: offset + done });
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
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
