/**
 * ustar reader: POSIX.1-2017 XCU `pax`, "ustar Interchange Format" (headers, checksums, the
 * end-of-archive marker of two zero blocks), plus the extensions real archives carry for long
 * names: pax extended headers (typeflag `x`, section "pax Extended Header": `path`, `linkpath`,
 * `size`, `mtime`, `uid`, `gid`; global `g` headers are skipped) and GNU `L`/`K` long names.
 * Lists entries from a BlockSource without loading file data; every offset and size is checked
 * against the input before it is read.
 */
import { FormatError } from '../../errors.js';
import { type BlockSource, MemorySource } from '../io/block-source.js';
import { decodeUtf8 } from '../io/bytes.js';
import type { FileTree, TreeEntry } from '../io/tree.js';
import { FIELDS, TAR_BLOCK, type TarKind, headerChecksum, kindOfTypeflag, padBlock } from './_header.js';

const FORMAT = 'tar';
/** Longest pax header or GNU long name kiln reads (they are held in memory). */
const MAX_META = 1 << 20;

/** One member of a tar archive as read. */
export interface TarEntry {
  /** Path as stored (prefix joined), directories without their trailing slash. */
  path: string;
  kind: TarKind;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  /** Symlink or hard link target. */
  target?: string;
  devmajor: number;
  devminor: number;
  headerOffset: number;
  dataOffset: number;
}

/** A parsed tar archive: its entries, where it ends and its dialect. */
export interface TarArchive {
  entries: TarEntry[];
  /** Offset just past the end-of-archive marker (or the input's end when the second zero block is missing). */
  end: number;
  /** `ustar` (POSIX magic `ustar\0` `00`) or `gnu` (`ustar  \0`); from the first header. */
  dialect: 'ustar' | 'gnu' | 'v7';
}

function field(block: Uint8Array, name: keyof typeof FIELDS): Uint8Array {
  const [at, width] = FIELDS[name];
  return block.subarray(at, at + width);
}

function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return decodeUtf8(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function parseOctal(block: Uint8Array, name: keyof typeof FIELDS, base: number): number {
  const bytes = field(block, name);
  if (bytes[0]! & 0x80) {
    throw new FormatError(FORMAT, 'TAR_BASE256', `field ${name} uses GNU base-256 encoding, which kiln does not read`, {
      offset: base + FIELDS[name][0],
    });
  }
  let value = 0;
  let seen = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0 || (c === 0x20 && seen)) break;
    if (c === 0x20) continue;
    if (c < 0x30 || c > 0x37) {
      throw new FormatError(
        FORMAT,
        'TAR_BAD_HEADER',
        `field ${name} has a non-octal byte 0x${c.toString(16).padStart(2, '0')}`,
        {
          offset: base + FIELDS[name][0] + i,
          hint: 'the archive is damaged or not a tar archive',
        },
      );
    }
    value = value * 8 + (c - 0x30);
    seen = true;
  }
  return value;
}

/** Parses pax extended header records (`LEN key=value\n`). */
function parsePax(bytes: Uint8Array, base: number): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] === 0) break;
    const space = bytes.indexOf(0x20, at);
    const length = space > at ? Number(decodeUtf8(bytes.subarray(at, space))) : NaN;
    if (
      !Number.isInteger(length) ||
      length <= space - at ||
      at + length > bytes.length ||
      bytes[at + length - 1] !== 0x0a
    ) {
      throw new FormatError(FORMAT, 'TAR_BAD_PAX', 'a pax extended header record has a bad length', {
        offset: base + at,
      });
    }
    const record = decodeUtf8(bytes.subarray(space + 1, at + length - 1));
    const eq = record.indexOf('=');
    if (eq <= 0)
      throw new FormatError(FORMAT, 'TAR_BAD_PAX', 'a pax extended header record has no key', { offset: base + at });
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return out;
}

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function normalize(path: string): string {
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  return p.replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * Lists a tar archive (ustar, pax or GNU long names). Stops at the end-of-archive marker; an
 * archive cut short inside an entry is a FormatError.
 * @example
 * for (const e of (await readTar(await readFile('initrd.tar'))).entries) console.log(e.kind, e.path, e.size);
 */
export async function readTar(input: BlockSource | Uint8Array): Promise<TarArchive> {
  const source = input instanceof Uint8Array ? new MemorySource(input, FORMAT) : input;
  const entries: TarEntry[] = [];
  let dialect: TarArchive['dialect'] | undefined;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let offset = 0;
  for (;;) {
    if (offset + TAR_BLOCK > source.size) {
      if (offset === source.size && entries.length === 0 && offset === 0)
        throw new FormatError(FORMAT, 'TAR_EMPTY', 'the input is empty', { offset });
      throw new FormatError(
        FORMAT,
        'TAR_TRUNCATED',
        `the archive ends at ${source.size} without an end-of-archive marker`,
        { offset, hint: 'the archive was cut short; write it again' },
      );
    }
    const block = await source.read(offset, TAR_BLOCK);
    if (isZero(block)) {
      const second = offset + 2 * TAR_BLOCK <= source.size && isZero(await source.read(offset + TAR_BLOCK, TAR_BLOCK));
      return { entries, end: offset + (second ? 2 : 1) * TAR_BLOCK, dialect: dialect ?? 'ustar' };
    }
    const stored = parseOctal(block, 'chksum', offset);
    if (stored !== headerChecksum(block)) {
      throw new FormatError(
        FORMAT,
        'TAR_BAD_CHECKSUM',
        `header at ${offset} sums to ${headerChecksum(block)}, its chksum field says ${stored}`,
        {
          offset: offset + FIELDS.chksum[0],
          hint: 'the archive is damaged or not a tar archive',
        },
      );
    }
    const magic = String.fromCharCode(...field(block, 'magic'), ...field(block, 'version'));
    const thisDialect = magic === 'ustar\u000000' ? 'ustar' : magic === 'ustar  \u0000' ? 'gnu' : 'v7';
    dialect ??= thisDialect;
    const typeflag = block[FIELDS.typeflag[0]]!;
    const size = parseOctal(block, 'size', offset);
    const dataOffset = offset + TAR_BLOCK;
    if (dataOffset + size > source.size) {
      throw new FormatError(
        FORMAT,
        'TAR_TRUNCATED',
        `the entry at ${offset} claims ${size} bytes of data, only ${Math.max(0, source.size - dataOffset)} remain`,
        {
          offset: dataOffset,
          hint: 'the archive was cut short or the size field is damaged',
        },
      );
    }
    const next = dataOffset + padBlock(size);
    const flag = String.fromCharCode(typeflag);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META)
        throw new FormatError(
          FORMAT,
          'TAR_BAD_PAX',
          `a ${flag} header of ${size} bytes is over kiln's ${MAX_META}-byte limit`,
          { offset },
        );
      const data = await source.read(dataOffset, size);
      if (flag === 'x') pax = parsePax(data, dataOffset);
      else if (flag === 'L') longName = cString(data);
      else if (flag === 'K') longLink = cString(data);
      offset = next;
      continue;
    }
    const kind = kindOfTypeflag(typeflag);
    if (!kind) {
      throw new FormatError(
        FORMAT,
        'TAR_BAD_TYPE',
        `unknown typeflag ${JSON.stringify(flag)} in the header at ${offset}`,
        { offset: offset + FIELDS.typeflag[0] },
      );
    }
    const prefix = thisDialect === 'ustar' ? cString(field(block, 'prefix')) : '';
    const rawName =
      pax.get('path') ??
      longName ??
      (prefix ? `${prefix}/${cString(field(block, 'name'))}` : cString(field(block, 'name')));
    const target = pax.get('linkpath') ?? longLink ?? cString(field(block, 'linkname'));
    const realSize = pax.has('size') ? Number(pax.get('size')) : size;
    if (!Number.isSafeInteger(realSize) || realSize < 0 || dataOffset + realSize > source.size) {
      throw new FormatError(
        FORMAT,
        'TAR_BAD_PAX',
        `pax size ${JSON.stringify(pax.get('size'))} does not fit the archive`,
        { offset },
      );
    }
    if (
      (kind === 'dir' || kind === 'char' || kind === 'block' || kind === 'fifo' || kind === 'symlink') &&
      realSize !== 0
    ) {
      throw new FormatError(
        FORMAT,
        'TAR_BAD_HEADER',
        `${kind} ${JSON.stringify(rawName)} has ${realSize} bytes of data`,
        { offset: offset + FIELDS.size[0] },
      );
    }
    const path = normalize(rawName);
    if (path === '' && kind !== 'dir')
      throw new FormatError(FORMAT, 'TAR_BAD_NAME', 'an entry has an empty name', { offset });
    const entry: TarEntry = {
      path,
      kind,
      mode: parseOctal(block, 'mode', offset) & 0o7777,
      uid: pax.has('uid') ? Number(pax.get('uid')) : parseOctal(block, 'uid', offset),
      gid: pax.has('gid') ? Number(pax.get('gid')) : parseOctal(block, 'gid', offset),
      mtime: pax.has('mtime') ? Math.floor(Number(pax.get('mtime'))) : parseOctal(block, 'mtime', offset),
      size: kind === 'file' ? realSize : 0,
      devmajor: parseOctal(block, 'devmajor', offset),
      devminor: parseOctal(block, 'devminor', offset),
      headerOffset: offset,
      dataOffset,
      ...(kind === 'symlink' || kind === 'hardlink' ? { target } : {}),
    };
    if ((kind === 'symlink' || kind === 'hardlink') && !target) {
      throw new FormatError(FORMAT, 'TAR_BAD_SYMLINK', `link ${JSON.stringify(rawName)} has no target`, {
        offset: offset + FIELDS.linkname[0],
      });
    }
    entries.push(entry);
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    offset = kind === 'file' ? dataOffset + padBlock(realSize) : next;
  }
}

/** Reads one file's data into memory.
 * @example const data = await readTarData(source, archive.entries[0]!);
 */
export async function readTarData(source: BlockSource | Uint8Array, entry: TarEntry): Promise<Uint8Array> {
  const s = source instanceof Uint8Array ? new MemorySource(source, FORMAT) : source;
  return s.read(entry.dataOffset, entry.size);
}

/**
 * Reads an archive into a FileTree with contents in memory (small archives, tests). Hard links
 * become copies of their target's content; the root entry `.` is skipped.
 * @example const tree = await tarToTree(await readFile('initrd.tar'));
 */
export async function tarToTree(input: BlockSource | Uint8Array): Promise<FileTree> {
  const source = input instanceof Uint8Array ? new MemorySource(input, FORMAT) : input;
  const archive = await readTar(source);
  const tree: FileTree = new Map();
  for (const e of archive.entries) {
    if (e.path === '') continue;
    const common = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
    let entry: TreeEntry;
    if (e.kind === 'file') entry = { kind: 'file', content: await readTarData(source, e), ...common };
    else if (e.kind === 'hardlink') {
      const linked = tree.get(normalize(e.target!));
      if (!linked || linked.kind !== 'file')
        throw new FormatError(
          FORMAT,
          'TAR_BAD_LINK',
          `hard link ${JSON.stringify(e.path)} names ${JSON.stringify(e.target)}, which is no earlier file`,
          { offset: e.headerOffset },
        );
      entry = { ...linked, ...common };
    } else if (e.kind === 'symlink') entry = { kind: 'symlink', target: e.target!, ...common };
    else if (e.kind === 'char' || e.kind === 'block')
      entry = { kind: e.kind, major: e.devmajor, minor: e.devminor, ...common };
    else entry = { kind: e.kind, ...common };
    tree.set(e.path, entry);
  }
  return tree;
}
