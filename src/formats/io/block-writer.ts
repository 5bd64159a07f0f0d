/**
 * The one place images are written. A BlockSink receives metadata (`write`) and streamed file
 * content (`writeContent`) at absolute offsets. SparseFileSink writes a temporary file next to the
 * target, leaves holes where nothing (or only zeros) is written, and renames it into place on
 * `commit()`, so an interrupted build never leaves a half-written image.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Content, readContent } from './content.js';
import { isAllZero } from './bytes.js';
import { KilnError } from '../../errors.js';

/** Why the image at `path` cannot be created, named by the image (not its temporary twin). */
function cannotWrite(path: string, error: NodeJS.ErrnoException): Error {
  const folder = dirname(path);
  if (error.code === 'ENOENT') {
    return new KilnError('OUTPUT_DIR_MISSING', `${path}: cannot write: the folder ${folder} does not exist`, {
      hint: `create it first (mkdir -p ${folder}) or write somewhere else`,
      exitCode: 2,
      cause: error,
    });
  }
  if (error.code === 'ENOTDIR') {
    return new KilnError('OUTPUT_DIR_MISSING', `${path}: cannot write: ${folder} is not a folder`, { hint: 'write somewhere else', exitCode: 2, cause: error });
  }
  if (error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS') {
    return new KilnError('OUTPUT_NOT_WRITABLE', `${path}: cannot write: ${error.code === 'EROFS' ? 'read-only file system' : `no permission to create files in ${folder}`}`, {
      hint: 'write somewhere else',
      cause: error,
    });
  }
  return error;
}

export interface BlockSink {
  /** Total size of the image in bytes. */
  readonly size: number;
  /** Writes `data` at `offset`. Writes must stay inside [0, size). */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Streams `content` to `offset`; all-zero blocks are skipped (left as holes). */
  writeContent(offset: number, content: Content): Promise<void>;
  /** Bytes actually handed to the storage (zeros skipped), for tests and benchmarks. */
  readonly bytesWritten: number;
}

function checkRange(sink: BlockSink, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > sink.size) {
    throw new RangeError(`write of ${length} bytes at ${offset} is outside the ${sink.size}-byte image`);
  }
}

async function streamContent(sink: BlockSink, offset: number, content: Content, writeChunk: (at: number, chunk: Uint8Array) => Promise<void>): Promise<void> {
  let at = offset;
  for await (const chunk of readContent(content)) {
    checkRange(sink, at, chunk.length);
    // Skip whole zero 4 KiB blocks so sparse inputs stay sparse.
    const BLOCK = 4096;
    let start = 0;
    while (start < chunk.length) {
      const end = Math.min(chunk.length, start + BLOCK);
      const piece = chunk.subarray(start, end);
      if (!isAllZero(piece)) {
        // Extend the run of non-zero blocks to write them in one call.
        let runEnd = end;
        while (runEnd < chunk.length) {
          const next = chunk.subarray(runEnd, Math.min(chunk.length, runEnd + BLOCK));
          if (isAllZero(next)) break;
          runEnd += next.length;
        }
        await writeChunk(at + start, chunk.subarray(start, runEnd));
        start = runEnd;
      } else {
        start = end;
      }
    }
    at += chunk.length;
  }
}

/** Writes an image into a sparse file, atomically. */
export class SparseFileSink implements BlockSink {
  readonly size: number;
  readonly path: string;
  bytesWritten = 0;
  private readonly tempPath: string;
  private handle: FileHandle | undefined;

  private constructor(path: string, tempPath: string, size: number, handle: FileHandle) {
    this.path = path;
    this.tempPath = tempPath;
    this.size = size;
    this.handle = handle;
  }

  /** Creates `path`'s temporary twin, sized (sparse) to `size` bytes. */
  static async create(path: string, size: number): Promise<SparseFileSink> {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`"image size" expected a non-negative integer, got ${size}`);
    const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    const handle = await open(tempPath, 'w+').catch((error: NodeJS.ErrnoException) => {
      throw cannotWrite(path, error);
    });
    try {
      await handle.truncate(size);
    } catch (error) {
      await handle.close();
      await rm(tempPath, { force: true });
      throw error;
    }
    return new SparseFileSink(path, tempPath, size, handle);
  }

  private fh(): FileHandle {
    if (!this.handle) throw new Error('image writer is already closed');
    return this.handle;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.length);
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh().write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
    this.bytesWritten += data.length;
  }

  async writeContent(offset: number, content: Content): Promise<void> {
    await streamContent(this, offset, content, (at, chunk) => this.write(at, chunk));
  }

  /** Flushes and renames the temporary file to `path`. */
  async commit(): Promise<void> {
    const handle = this.fh();
    this.handle = undefined;
    await handle.close();
    await rename(this.tempPath, this.path);
  }

  /** Discards the temporary file. Safe to call after a failed write or twice. */
  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await handle.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }
}

/** An in-memory sink for small images and tests. */
export class MemorySink implements BlockSink {
  readonly size: number;
  readonly bytes: Uint8Array;
  bytesWritten = 0;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`"image size" expected a non-negative integer, got ${size}`);
    this.size = size;
    this.bytes = new Uint8Array(size);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.length);
    this.bytes.set(data, offset);
    this.bytesWritten += data.length;
  }

  async writeContent(offset: number, content: Content): Promise<void> {
    await streamContent(this, offset, content, (at, chunk) => this.write(at, chunk));
  }
}

/** A view of a region of another sink (a partition inside a disk), with offsets relative to it. */
export class SubSink implements BlockSink {
  readonly size: number;
  private readonly parent: BlockSink;
  private readonly base: number;

  constructor(parent: BlockSink, base: number, size: number) {
    if (base < 0 || size < 0 || base + size > parent.size) throw new RangeError(`region [${base}, ${base + size}) is outside the ${parent.size}-byte image`);
    this.parent = parent;
    this.base = base;
    this.size = size;
  }

  get bytesWritten(): number {
    return this.parent.bytesWritten;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.length);
    await this.parent.write(this.base + offset, data);
  }

  async writeContent(offset: number, content: Content): Promise<void> {
    await streamContent(this, offset, content, (at, chunk) => this.parent.write(this.base + at, chunk));
  }
}

/**
 * Creates a sparse file sink at `path`, runs `fill`, and commits; on any error the temporary
 * file is removed and nothing is left at `path`.
 */
export async function writeImageFile<T>(path: string, size: number, fill: (sink: BlockSink) => Promise<T>): Promise<T> {
  const sink = await SparseFileSink.create(path, size);
  try {
    const result = await fill(sink);
    await sink.commit();
    return result;
  } catch (error) {
    await sink.abort();
    throw error;
  }
}
