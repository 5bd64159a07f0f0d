/**
 * File content for image writers: either bytes in memory or a file on disk that is streamed
 * straight to its place in the image (never loaded whole).
 */
import { open, stat } from 'node:fs/promises';

/** Content of a file placed into an image. */
export type Content = Uint8Array | FileContent;

export interface FileContent {
  readonly kind: 'file';
  /** Path of the source file on the host. */
  readonly path: string;
  /** Size in bytes, taken when the content was described; a file that changed size is an error. */
  readonly size: number;
}

/** Describes a host file as image content (stats it once). */
export async function fileContent(path: string): Promise<FileContent> {
  const s = await stat(path);
  return { kind: 'file', path, size: s.size };
}

export function contentSize(content: Content): number {
  return content instanceof Uint8Array ? content.length : content.size;
}

export const CHUNK_SIZE = 1 << 20;

/**
 * Yields the content in chunks of at most `chunkSize` bytes. For a file, the chunks are views of
 * one reused buffer: consume each before asking for the next.
 */
export async function* readContent(content: Content, chunkSize = CHUNK_SIZE): AsyncGenerator<Uint8Array> {
  if (content instanceof Uint8Array) {
    for (let at = 0; at < content.length; at += chunkSize) yield content.subarray(at, Math.min(content.length, at + chunkSize));
    return;
  }
  const handle = await open(content.path, 'r');
  try {
    const buffer = new Uint8Array(Math.min(chunkSize, Math.max(1, content.size)));
    let position = 0;
    while (position < content.size) {
      const want = Math.min(buffer.length, content.size - position);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0) throw new Error(`${content.path}: file shrank while being read (expected ${content.size} bytes, got ${position})`);
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Reads the whole content into memory (for small inputs such as boot sectors). */
export async function loadContent(content: Content): Promise<Uint8Array> {
  if (content instanceof Uint8Array) return content;
  const out = new Uint8Array(content.size);
  let at = 0;
  for await (const chunk of readContent(content)) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
