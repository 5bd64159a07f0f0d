/**
 * CPIO newc writer: cpio(5) "New ASCII Format" (magic 070701) and its "New CRC Format" variant
 * (magic 070702, `check` = 32-bit sum of the data bytes), as GNU cpio `-o -H newc|crc` writes it
 * and the Linux kernel unpacks an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Two phases: `layoutCpio` computes every header, offset and the total size from the tree (file
 * sizes only, no data read); `writeCpio` then streams headers and file data sequentially through a
 * 1 MiB buffer into a BlockSink. Archives are hard-link free: every entry has its own inode number,
 * assigned in sorted path order (parents before children), so the same tree gives the same bytes.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { KilnError } from '../../errors.js';
import type { BlockSink } from '../io/block-writer.js';
import { writeImageFile } from '../io/block-writer.js';
import { encodeUtf8 } from '../io/bytes.js';
import { type Content, contentSize } from '../io/content.js';
import { DEFAULT_ENTRY_MODES, type FileTree, type TreeEntry, sortedPaths } from '../io/tree.js';
import { resolveEpoch } from '../../util/epoch.js';
import {
  CPIO_HEADER_SIZE,
  type CpioHeaderFields,
  KIND_BITS,
  MAGIC_CRC,
  MAGIC_NEWC,
  MAX_FIELD,
  MAX_NAME_BYTES,
  ODC_HEADER_SIZE,
  ODC_MAX_LARGE,
  ODC_MAX_SMALL,
  TRAILER_NAME,
  pad4,
  writeHeaderInto,
  writeOdcHeaderInto,
} from './_header.js';

/** The formats kiln writes: newc (070701), crc (070702) and the old portable ASCII odc (070707). */
export type CpioFormat = 'newc' | 'crc' | 'odc';

/** Header size, alignment and field limits of a format. */
interface FormatShape {
  headerSize: number;
  align: (n: number) => number;
  /** Largest value of the small fields (ino, mode, uid, gid, nlink, device numbers). */
  small: number;
  /** Largest mtime and file size. */
  large: number;
}
const SHAPES: Record<CpioFormat, FormatShape> = {
  newc: { headerSize: CPIO_HEADER_SIZE, align: pad4, small: MAX_FIELD, large: MAX_FIELD },
  crc: { headerSize: CPIO_HEADER_SIZE, align: pad4, small: MAX_FIELD, large: MAX_FIELD },
  odc: { headerSize: ODC_HEADER_SIZE, align: (n) => n, small: ODC_MAX_SMALL, large: ODC_MAX_LARGE },
};

/** Options of `writeCpio` / `layoutCpio`: the format, time stamps, owner and padding. */
export interface CpioWriteOptions {
  /** `newc` (070701, default), `crc` (070702: each file's header carries the sum of its bytes) or `odc` (070707, octal, unpadded). */
  format?: CpioFormat;
  /** Time stamp for entries without an `mtime`, seconds since 1970. Default: SOURCE_DATE_EPOCH or kiln's fixed epoch. */
  epoch?: number;
  /** Pad the archive with zeros to a multiple of this many bytes (GNU cpio pads to 512). Default 512; 4 = no extra padding. */
  blockSize?: number;
  /** Inode number of the first entry; the others follow in path order. Default 1. */
  firstInode?: number;
  /** Owner for entries that do not set one. Default 0 (root). */
  uid?: number;
  /** Group for entries that do not set one. Default 0 (root). */
  gid?: number;
}

/** One entry as it will be written. */
export interface CpioLayoutEntry {
  /** Name stored in the archive (`dir/file`, no leading slash). */
  name: string;
  kind: TreeEntry['kind'];
  fields: CpioHeaderFields;
  /** Offset of the header in the archive. */
  headerOffset: number;
  /** Offset of the data (file content or symlink target). */
  dataOffset: number;
  /** What goes at dataOffset: file content or the symlink target's bytes; undefined when empty. */
  data?: Content;
  nameBytes: Uint8Array;
}

/** Where every header and file body lands in the archive, computed before any byte is written. */
export interface CpioLayout {
  format: CpioFormat;
  entries: CpioLayoutEntry[];
  /** Offset of the TRAILER!!! header. */
  trailerOffset: number;
  /** End of the trailer (4-aligned) before block padding. */
  dataEnd: number;
  /** Total archive size, block padding included. */
  size: number;
}

function checkField(value: number, what: string, path: string, max = MAX_FIELD, format: CpioFormat = 'newc'): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new KilnError(
      'CPIO_FIELD_RANGE',
      `cpio: ${what} of ${JSON.stringify(path)} is ${value}; ${format} stores whole numbers from 0 to ${max}`,
      {
        hint:
          what === 'mtime'
            ? 'set SOURCE_DATE_EPOCH (or the epoch option) to a time the format can store'
            : `give ${what} a value that fits the ${format} header`,
        details: { path, field: what, value },
      },
    );
  }
  return value;
}

/**
 * Computes the archive layout: headers, offsets and total size. Reads no file data.
 * @example
 * const layout = layoutCpio(buildTree({ 'init': initBinary }), { epoch: 0 });
 * console.log(layout.size);
 */
export function layoutCpio(tree: FileTree, options: CpioWriteOptions = {}): CpioLayout {
  const format = options.format ?? 'newc';
  if (format !== 'newc' && format !== 'crc' && format !== 'odc')
    throw new TypeError(`"format" expected 'newc', 'crc' or 'odc', got ${JSON.stringify(format)}`);
  const shape = SHAPES[format];
  const small = (value: number, what: string, path: string) => checkField(value, what, path, shape.small, format);
  const epoch = options.epoch ?? resolveEpoch();
  const blockSize = options.blockSize ?? 512;
  if (!Number.isInteger(blockSize) || blockSize < 4 || blockSize % 4 !== 0)
    throw new RangeError(`"blockSize" expected a multiple of 4, got ${blockSize}`);
  const firstInode = options.firstInode ?? 1;
  const paths = sortedPaths(tree);
  // Directory link counts: 2 + number of subdirectories (what a real filesystem reports).
  const subdirs = new Map<string, number>();
  for (const path of paths) {
    if (tree.get(path)!.kind !== 'dir') continue;
    const slash = path.lastIndexOf('/');
    if (slash > 0) subdirs.set(path.slice(0, slash), (subdirs.get(path.slice(0, slash)) ?? 0) + 1);
  }
  const entries: CpioLayoutEntry[] = [];
  let offset = 0;
  paths.forEach((path, index) => {
    const entry = tree.get(path)!;
    const nameBytes = encodeUtf8(path);
    if (nameBytes.length === 0 || nameBytes.length > MAX_NAME_BYTES) {
      throw new KilnError(
        'CPIO_NAME_TOO_LONG',
        `cpio: name ${JSON.stringify(path.slice(0, 80))} is ${nameBytes.length} bytes; the limit is ${MAX_NAME_BYTES}`,
        {
          hint: 'shorten the path (Linux refuses longer paths when it unpacks an initramfs)',
        },
      );
    }
    let data: Content | undefined;
    let filesize = 0;
    if (entry.kind === 'file') {
      filesize = contentSize(entry.content);
      if (filesize > shape.large) {
        throw new KilnError(
          'CPIO_FILE_TOO_LARGE',
          `cpio: ${JSON.stringify(path)} is ${filesize} bytes, ${filesize - shape.large} bytes over the ${format} limit of ${shape.large}`,
          {
            hint: `${format} cannot store a size this large; split the file or ship it on a filesystem image instead`,
          },
        );
      }
      if (filesize > 0) data = entry.content;
    } else if (entry.kind === 'symlink') {
      const target = encodeUtf8(entry.target);
      if (target.length === 0 || target.length > MAX_NAME_BYTES || target.includes(0)) {
        throw new KilnError(
          'CPIO_BAD_SYMLINK',
          `cpio: symlink ${JSON.stringify(path)} has an empty, too long or NUL-containing target`,
          {
            hint: `give a target of 1 to ${MAX_NAME_BYTES} bytes`,
          },
        );
      }
      data = target;
      filesize = target.length;
    }
    const mode = (entry.mode ?? DEFAULT_ENTRY_MODES[entry.kind]) & 0o7777;
    const isDevice = entry.kind === 'char' || entry.kind === 'block';
    const fields: CpioHeaderFields = {
      ino: small(firstInode + index, 'inode', path),
      mode: KIND_BITS[entry.kind] | mode,
      uid: small(entry.uid ?? options.uid ?? 0, 'uid', path),
      gid: small(entry.gid ?? options.gid ?? 0, 'gid', path),
      nlink: entry.kind === 'dir' ? 2 + (subdirs.get(path) ?? 0) : 1,
      mtime: checkField(entry.mtime ?? epoch, 'mtime', path, shape.large, format),
      filesize,
      devMajor: 0,
      devMinor: 0,
      // odc keeps one 6-digit rdev: (major << 8) | minor, so minor < 256 and major < 1024 there.
      rdevMajor: isDevice
        ? checkField((entry as { major: number }).major, 'major', path, format === 'odc' ? 1023 : MAX_FIELD, format)
        : 0,
      rdevMinor: isDevice
        ? checkField((entry as { minor: number }).minor, 'minor', path, format === 'odc' ? 255 : MAX_FIELD, format)
        : 0,
      namesize: nameBytes.length + 1,
      check: 0,
    };
    const headerOffset = offset;
    const dataOffset = shape.align(headerOffset + shape.headerSize + fields.namesize);
    offset = shape.align(dataOffset + filesize);
    entries.push({
      name: path,
      kind: entry.kind,
      fields,
      headerOffset,
      dataOffset,
      nameBytes,
      ...(data ? { data } : {}),
    });
  });
  const trailerOffset = offset;
  const dataEnd = shape.align(trailerOffset + shape.headerSize + TRAILER_NAME.length + 1);
  const size = Math.ceil(dataEnd / blockSize) * blockSize;
  return { format, entries, trailerOffset, dataEnd, size };
}

/** Sum of bytes modulo 2^32 (the 070702 `check` field), continuing from `sum`.
 * @example cpioChecksum(new Uint8Array([1, 2, 3])) // 6
 */
export function cpioChecksum(bytes: Uint8Array, sum = 0): number {
  let s = sum;
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!;
  return s >>> 0;
}

/**
 * Sequential writer over a BlockSink: metadata and small files are gathered in a buffer and
 * flushed in large writes; file content is read straight into that buffer (and summed there for the
 * crc format). Two buffers alternate, so a sink that writes in the background could write one
 * while the other fills; SparseFileSink writes at once, and double buffering in the sink measured no
 * gain on 2 cores.
 */
class SequentialEmitter {
  private buf: Uint8Array;
  private spare: Uint8Array;
  private len = 0;
  /** Archive offset of buf[0]. */
  private start = 0;
  /** The write of the previous buffer, still in flight. */
  private pending: Promise<void> | undefined;
  constructor(
    private readonly sink: BlockSink,
    bufferSize: number,
  ) {
    this.buf = new Uint8Array(bufferSize);
    this.spare = new Uint8Array(bufferSize);
  }
  get position(): number {
    return this.start + this.len;
  }
  /** Hands the current buffer to the sink and switches to the other one (waiting for its previous write). */
  async flush(): Promise<void> {
    if (this.len === 0) return;
    await this.pending;
    const full = this.buf;
    this.pending = this.sink.write(this.start, full.subarray(0, this.len));
    // Marked handled here; the error still surfaces at the next await of `pending`.
    this.pending.catch(() => undefined);
    this.start += this.len;
    this.len = 0;
    this.buf = this.spare;
    this.spare = full;
  }
  /** Flushes and waits for every write to finish. */
  async finish(): Promise<void> {
    await this.flush();
    await this.pending;
    this.pending = undefined;
  }
  async reserve(n: number): Promise<Uint8Array> {
    if (this.len + n > this.buf.length) await this.flush();
    const view = this.buf.subarray(this.len, this.len + n);
    this.len += n;
    return view;
  }
  async zeros(n: number): Promise<void> {
    if (n > 0) (await this.reserve(n)).fill(0);
  }
  /** Copies bytes, returns their checksum. */
  async bytes(data: Uint8Array, wantSum: boolean): Promise<number> {
    let at = 0;
    let sum = 0;
    while (at < data.length) {
      if (this.len === this.buf.length) await this.flush();
      const n = Math.min(data.length - at, this.buf.length - this.len);
      const piece = data.subarray(at, at + n);
      this.buf.set(piece, this.len);
      this.len += n;
      if (wantSum) sum = cpioChecksum(piece, sum);
      at += n;
    }
    return sum;
  }
  /** Reads `size` bytes of a host file into the stream, returns their checksum. */
  async file(path: string, size: number, wantSum: boolean): Promise<number> {
    const fd = openSync(path, 'r');
    let sum = 0;
    try {
      let done = 0;
      while (done < size) {
        if (this.len === this.buf.length) await this.flush();
        const want = Math.min(size - done, this.buf.length - this.len);
        const got = readSync(fd, this.buf, this.len, want, done);
        if (got === 0) {
          throw new KilnError(
            'CPIO_SOURCE_CHANGED',
            `cpio: ${path} shrank while the archive was written (expected ${size} bytes, read ${done})`,
            {
              hint: 'do not modify inputs during the build',
            },
          );
        }
        if (wantSum) sum = cpioChecksum(this.buf.subarray(this.len, this.len + got), sum);
        this.len += got;
        done += got;
      }
    } finally {
      closeSync(fd);
    }
    return sum;
  }
  /** Rewrites bytes at an absolute offset already emitted (in the buffer, or already handed to the sink). */
  async patch(offset: number, data: Uint8Array): Promise<void> {
    if (offset >= this.start) {
      this.buf.set(data, offset - this.start);
      return;
    }
    // The bytes were handed to the sink: let that write land first, then overwrite.
    await this.pending;
    const before = Math.min(data.length, this.start - offset);
    await this.sink.write(offset, data.subarray(0, before));
    if (before < data.length) this.buf.set(data.subarray(before), 0);
  }
}

/** What `writeCpio` wrote: size, entry count, format. */
export interface CpioWriteResult {
  /** Archive size in bytes. */
  size: number;
  /** Number of entries written (the trailer excluded). */
  entries: number;
  format: CpioFormat;
}

/**
 * Writes `tree` as a newc (or crc) archive at offset 0 of `sink`, which must be at least
 * `layoutCpio(tree).size` bytes.
 * @example
 * const tree = buildTree({ 'init': await fileContent('build/init'), 'dev': { kind: 'dir' } });
 * const layout = layoutCpio(tree, { epoch: 0 });
 * const sink = new MemorySink(layout.size);
 * await writeCpio(sink, tree, { epoch: 0 });
 */
export async function writeCpio(
  sink: BlockSink,
  tree: FileTree,
  options: CpioWriteOptions = {},
): Promise<CpioWriteResult> {
  const layout = layoutCpio(tree, options);
  return emitCpio(sink, layout);
}

/** The emit phase for a layout from `layoutCpio`.
 * @example const layout = layoutCpio(tree); await emitCpio(new MemorySink(layout.size), layout);
 */
export async function emitCpio(sink: BlockSink, layout: CpioLayout): Promise<CpioWriteResult> {
  if (sink.size < layout.size) throw new RangeError(`"sink" is ${sink.size} bytes; the archive needs ${layout.size}`);
  const magic = layout.format === 'crc' ? MAGIC_CRC : MAGIC_NEWC;
  const crc = layout.format === 'crc';
  const shape = SHAPES[layout.format];
  const writeHeader = (buf: Uint8Array, fields: CpioHeaderFields) =>
    layout.format === 'odc' ? writeOdcHeaderInto(buf, 0, fields) : writeHeaderInto(buf, 0, magic, fields);
  const out = new SequentialEmitter(sink, 1 << 20);
  const header = new Uint8Array(CPIO_HEADER_SIZE);
  for (const entry of layout.entries) {
    writeHeader(await out.reserve(shape.headerSize), entry.fields);
    await out.bytes(entry.nameBytes, false);
    await out.zeros(entry.dataOffset - entry.headerOffset - shape.headerSize - entry.nameBytes.length);
    let sum = 0;
    if (entry.data !== undefined) {
      sum =
        entry.data instanceof Uint8Array
          ? await out.bytes(entry.data, crc)
          : await out.file(entry.data.path, entry.data.size, crc);
    }
    await out.zeros(shape.align(out.position) - out.position);
    // Only regular files carry a checksum (GNU cpio leaves it 0 for symlinks and others).
    if (crc && entry.kind === 'file' && sum !== 0) {
      writeHeaderInto(header, 0, magic, { ...entry.fields, check: sum });
      await out.patch(entry.headerOffset, header);
    }
  }
  writeHeader(await out.reserve(shape.headerSize), {
    ino: 0,
    mode: 0,
    uid: 0,
    gid: 0,
    nlink: 1,
    mtime: 0,
    filesize: 0,
    devMajor: 0,
    devMinor: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    namesize: TRAILER_NAME.length + 1,
    check: 0,
  });
  await out.bytes(encodeUtf8(`${TRAILER_NAME}\0`), false);
  await out.zeros(layout.size - out.position);
  await out.finish();
  return { size: layout.size, entries: layout.entries.length, format: layout.format };
}

/**
 * Writes `tree` to the file `path` (atomically: a temporary file renamed into place).
 * @example await writeCpioFile('build/initrd.cpio', buildTree({ init: await fileContent('init') }))
 */
export async function writeCpioFile(
  path: string,
  tree: FileTree,
  options: CpioWriteOptions = {},
): Promise<CpioWriteResult> {
  const layout = layoutCpio(tree, options);
  return writeImageFile(path, layout.size, (sink) => emitCpio(sink, layout));
}
