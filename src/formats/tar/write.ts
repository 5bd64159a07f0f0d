/**
 * ustar writer: POSIX.1-2017 XCU `pax`, "ustar Interchange Format". Reproducible by construction:
 * entries in sorted path order (parents first), every time stamp the build epoch
 * (SOURCE_DATE_EPOCH) unless an entry sets its own, owner and group 0 with empty user/group names,
 * and the archive padded to a whole record (10240 bytes, GNU tar's default) with zero blocks.
 *
 * Two phases: `layoutTar` computes every header and offset from the tree (file sizes only, no data
 * read); `emitTar` writes headers, streams file data to its offset and writes all padding.
 */
import { KilnError } from '../../errors.js';
import { type BlockSink, writeImageFile } from '../io/block-writer.js';
import { encodeUtf8 } from '../io/bytes.js';
import { type Content, contentSize } from '../io/content.js';
import { DEFAULT_ENTRY_MODES, type FileTree, type TreeEntry, sortedPaths } from '../io/tree.js';
import { resolveEpoch } from '../../util/epoch.js';
import {
  MAX_SIZE_FIELD,
  MAX_SMALL_FIELD,
  NAME_SIZE,
  PREFIX_SIZE,
  TAR_BLOCK,
  TYPEFLAG,
  type TarHeaderFields,
  encodeHeader,
  padBlock,
} from './_header.js';

/** Options of `writeTar` / `layoutTar`: time stamps, owner, record size. */
export interface TarWriteOptions {
  /** Time stamp of entries without an `mtime`, seconds since 1970. Default: SOURCE_DATE_EPOCH or kiln's fixed epoch. */
  epoch?: number;
  /** Pad the archive to a multiple of this many bytes (a multiple of 512). Default 10240 (20 blocks, as tar -b 20). */
  recordSize?: number;
  /** Owner of entries that do not set one. Default 0. */
  uid?: number;
  /** Group of entries that do not set one. Default 0. */
  gid?: number;
}

/** One entry as it will be written. */
export interface TarLayoutEntry {
  /** Path in the archive (directories end with `/`). */
  name: string;
  kind: TreeEntry['kind'];
  header: Uint8Array;
  headerOffset: number;
  dataOffset: number;
  size: number;
  data?: Content;
}

/** Where every header and body lands in the archive, computed before any byte is written. */
export interface TarLayout {
  entries: TarLayoutEntry[];
  /** Offset of the two zero blocks that end the archive. */
  endOffset: number;
  /** Total size, record padding included. */
  size: number;
}

function fail(code: string, message: string, hint: string, path: string): never {
  throw new KilnError(code, `tar: ${message}`, { hint, details: { path } });
}

function checkNumber(value: number, max: number, what: string, path: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    fail(
      'TAR_FIELD_RANGE',
      `${what} of ${JSON.stringify(path)} is ${value}; ustar stores whole numbers from 0 to ${max}`,
      what === 'mtime'
        ? 'set SOURCE_DATE_EPOCH (or the epoch option) to a time ustar can store'
        : `give ${what} a smaller value`,
      path,
    );
  }
  return value;
}

/**
 * Splits a name into ustar's `prefix` (≤ 155 bytes) and `name` (≤ 100 bytes) at a slash.
 * @example splitName(encodeUtf8('a/b')) // { prefix: '', name: 'a/b' } as bytes
 */
export function splitName(bytes: Uint8Array): { name: Uint8Array; prefix: Uint8Array } | undefined {
  if (bytes.length <= NAME_SIZE) return { name: bytes, prefix: new Uint8Array(0) };
  // The earliest slash that leaves at most 100 bytes for the name (a trailing slash of a directory is not a split point).
  for (let i = Math.max(0, bytes.length - NAME_SIZE - 1); i < Math.min(bytes.length - 1, PREFIX_SIZE + 1); i++) {
    if (bytes[i] === 0x2f && i <= PREFIX_SIZE && bytes.length - i - 1 <= NAME_SIZE && i > 0) {
      return { prefix: bytes.subarray(0, i), name: bytes.subarray(i + 1) };
    }
  }
  return undefined;
}

function headerFields(
  path: string,
  entry: TreeEntry,
  options: { epoch: number; uid: number; gid: number },
): { fields: TarHeaderFields; name: string; size: number; data?: Content } {
  const name = entry.kind === 'dir' ? `${path}/` : path;
  const split = splitName(encodeUtf8(name));
  if (!split) {
    fail(
      'TAR_NAME_TOO_LONG',
      `name ${JSON.stringify(name.slice(0, 80))} does not fit ustar's 100-byte name and 155-byte prefix`,
      'shorten the path or its last component (ustar splits a long name at a slash)',
      path,
    );
  }
  let linkname: Uint8Array = new Uint8Array(0);
  let size = 0;
  let data: Content | undefined;
  if (entry.kind === 'file') {
    size = checkNumber(contentSize(entry.content), MAX_SIZE_FIELD, 'size', path);
    if (size > 0) data = entry.content;
  } else if (entry.kind === 'symlink') {
    linkname = encodeUtf8(entry.target);
    if (linkname.length === 0 || linkname.length > NAME_SIZE || linkname.includes(0)) {
      fail(
        'TAR_BAD_SYMLINK',
        `symlink ${JSON.stringify(path)} has an empty, NUL-containing or over 100-byte target`,
        'give a target of 1 to 100 bytes',
        path,
      );
    }
  }
  const isDevice = entry.kind === 'char' || entry.kind === 'block';
  const fields: TarHeaderFields = {
    ...split,
    linkname,
    mode: (entry.mode ?? DEFAULT_ENTRY_MODES[entry.kind]) & 0o7777,
    uid: checkNumber(entry.uid ?? options.uid, MAX_SMALL_FIELD, 'uid', path),
    gid: checkNumber(entry.gid ?? options.gid, MAX_SMALL_FIELD, 'gid', path),
    size,
    mtime: checkNumber(entry.mtime ?? options.epoch, MAX_SIZE_FIELD, 'mtime', path),
    typeflag: TYPEFLAG[entry.kind],
    devmajor: isDevice ? checkNumber((entry as { major: number }).major, MAX_SMALL_FIELD, 'major', path) : 0,
    devminor: isDevice ? checkNumber((entry as { minor: number }).minor, MAX_SMALL_FIELD, 'minor', path) : 0,
  };
  return { fields, name, size, ...(data ? { data } : {}) };
}

/**
 * Computes every header and offset of the archive. Reads no file data.
 * @example const layout = layoutTar(buildTree({ 'etc/motd': 'hi\n' }), { epoch: 0 }); layout.size // 10240
 */
export function layoutTar(tree: FileTree, options: TarWriteOptions = {}): TarLayout {
  const recordSize = options.recordSize ?? 10240;
  if (!Number.isInteger(recordSize) || recordSize < TAR_BLOCK || recordSize % TAR_BLOCK !== 0) {
    throw new RangeError(`"recordSize" expected a multiple of 512, got ${recordSize}`);
  }
  const common = { epoch: options.epoch ?? resolveEpoch(), uid: options.uid ?? 0, gid: options.gid ?? 0 };
  const entries: TarLayoutEntry[] = [];
  let offset = 0;
  for (const path of sortedPaths(tree)) {
    const entry = tree.get(path)!;
    const { fields, name, size, data } = headerFields(path, entry, common);
    entries.push({
      name,
      kind: entry.kind,
      header: encodeHeader(fields),
      headerOffset: offset,
      dataOffset: offset + TAR_BLOCK,
      size,
      ...(data ? { data } : {}),
    });
    offset += TAR_BLOCK + padBlock(size);
  }
  const endOffset = offset;
  const size = Math.ceil((endOffset + 2 * TAR_BLOCK) / recordSize) * recordSize;
  return { entries, endOffset, size };
}

/** What `writeTar` wrote: size and entry count. */
export interface TarWriteResult {
  size: number;
  entries: number;
}

/**
 * Writes a layout from `layoutTar` at offset 0 of `sink` (at least `layout.size` bytes).
 * @example const layout = layoutTar(tree); await emitTar(new MemorySink(layout.size), layout);
 */
export async function emitTar(sink: BlockSink, layout: TarLayout): Promise<TarWriteResult> {
  if (sink.size < layout.size) throw new RangeError(`"sink" is ${sink.size} bytes; the archive needs ${layout.size}`);
  for (const entry of layout.entries) {
    await sink.write(entry.headerOffset, entry.header);
    if (entry.data) await sink.writeContent(entry.dataOffset, entry.data);
    const pad = padBlock(entry.size) - entry.size;
    if (pad > 0) await sink.write(entry.dataOffset + entry.size, new Uint8Array(pad));
  }
  // The end-of-archive marker (two zero blocks) and the record padding, written explicitly.
  const tail = layout.size - layout.endOffset;
  for (let at = 0; at < tail; at += 1 << 20)
    await sink.write(layout.endOffset + at, new Uint8Array(Math.min(1 << 20, tail - at)));
  return { size: layout.size, entries: layout.entries.length };
}

/**
 * Writes `tree` as a ustar archive into `sink`.
 * @example const layout = layoutTar(tree, { epoch: 0 }); await writeTar(new MemorySink(layout.size), tree, { epoch: 0 });
 */
export async function writeTar(
  sink: BlockSink,
  tree: FileTree,
  options: TarWriteOptions = {},
): Promise<TarWriteResult> {
  return emitTar(sink, layoutTar(tree, options));
}

/**
 * Writes `tree` to the file `path` atomically (a temporary file renamed into place).
 * @example await writeTarFile('build/initrd.tar', buildTree({ 'etc/motd': 'hello\n' }))
 */
export async function writeTarFile(
  path: string,
  tree: FileTree,
  options: TarWriteOptions = {},
): Promise<TarWriteResult> {
  const layout = layoutTar(tree, options);
  return writeImageFile(path, layout.size, (sink) => emitTar(sink, layout));
}
