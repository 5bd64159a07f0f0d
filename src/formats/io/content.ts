/**
 * File content for image writers: either bytes in memory or a file on disk that is streamed
 * straight to its place in the image (never loaded whole).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { KilnError } from '../../errors.js';

/** Content of a file placed into an image. */
export type Content = Uint8Array | FileContent;

/** Image content taken from a host file, read in chunks when the image is written (never loaded whole). */
export interface FileContent {
  readonly kind: 'file';
  /** Path of the source file on the host. */
  readonly path: string;
  /** Size in bytes, taken when the content was described; a file that changed size is an error. */
  readonly size: number;
}

/** Describes a host file as image content (stats it once). */
export async function fileContent(path: string): Promise<FileContent> {
  return { kind: 'file', path, size: statSync(path).size };
}

/** The size in bytes of content in memory or in a file. */
export function contentSize(content: Content): number {
  return content instanceof Uint8Array ? content.length : content.size;
}

/** Bytes per chunk when file content is streamed (1 MiB). */
export const CHUNK_SIZE = 1 << 20;

/**
 * Yields `[offset, chunk]` pairs covering the content, each chunk at most `chunkSize` bytes, read
 * with synchronous calls (an image writer reads thousands of small files; a thread-pool round trip
 * per read costs more than the read). For a file, the chunks are views of one reused buffer:
 * consume each before asking for the next.
 */
export function* readContentSync(content: Content, chunkSize = CHUNK_SIZE): Generator<[number, Uint8Array]> {
  if (content instanceof Uint8Array) {
    for (let at = 0; at < content.length; at += chunkSize)
      yield [at, content.subarray(at, Math.min(content.length, at + chunkSize))];
    return;
  }
  if (content.size === 0) return;
  const fd = openSync(content.path, 'r');
  try {
    const buffer = new Uint8Array(Math.min(chunkSize, content.size));
    let position = 0;
    while (position < content.size) {
      const want = Math.min(buffer.length, content.size - position);
      const got = readSync(fd, buffer, 0, want, position);
      if (got === 0) {
        throw new KilnError(
          'INPUT_CHANGED',
          `${content.path} shrank while being read (expected ${content.size} bytes, got ${position})`,
          {
            hint: 'do not modify inputs during the build',
          },
        );
      }
      yield [position, buffer.subarray(0, got)];
      position += got;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Yields the content in chunks of at most `chunkSize` bytes. For a file, the chunks are views of
 * one reused buffer: consume each before asking for the next.
 */
export async function* readContent(content: Content, chunkSize = CHUNK_SIZE): AsyncGenerator<Uint8Array> {
  for (const [, chunk] of readContentSync(content, chunkSize)) yield chunk;
}

/** Reads the whole content into memory (for small inputs such as boot sectors). */
export async function loadContent(content: Content): Promise<Uint8Array> {
  if (content instanceof Uint8Array) return content;
  const out = new Uint8Array(content.size);
  for (const [at, chunk] of readContentSync(content)) out.set(chunk, at);
  return out;
}
