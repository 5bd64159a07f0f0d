/**
 * CPIO newc / crc reader: cpio(5) "New ASCII Format" (070701) and "New CRC Format" (070702).
 * Lists entries from a BlockSource (headers read on demand, data never loaded unless asked) and
 * extracts safely: names with `..`, absolute names (unless stripping is asked for), and paths that
 * would pass through a symlink are refused, so nothing is ever written outside the target folder.
 */
import { FormatError } from '../../errors.js';
import { type BlockSource, MemorySource } from '../io/block-source.js';
import { decodeUtf8 } from '../io/bytes.js';
import type { FileTree, TreeEntry } from '../io/tree.js';
import { extractEntries, type ExtractEntry, type ExtractOptions } from '../io/extract.js';
import {
  CPIO_HEADER_SIZE,
  type CpioHeaderFields,
  type CpioKind,
  FIELD_ORDER,
  MAGIC_CRC,
  MAGIC_NEWC,
  MAGIC_ODC,
  MAX_NAME_BYTES,
  ODC_FIELDS,
  ODC_HEADER_SIZE,
  TRAILER_NAME,
  kindOfMode,
  pad4,
} from './_header.js';
import { cpioChecksum } from './write.js';

/** One archive member as listed by `readCpio`. */
export interface CpioEntry {
  /** The name exactly as stored. */
  name: string;
  /** The name normalized for display: no leading `./` or `/` ('' for the root `.`). */
  path: string;
  kind: CpioKind;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  ino: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  /** Data size in bytes (file content, or symlink target length). */
  size: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  /** The `check` field (070702 sum of data bytes; 0 in newc). */
  check: number;
  headerOffset: number;
  dataOffset: number;
  /** Symlink target. */
  target?: string;
}

/** A parsed archive: its format and entries in archive order. */
export interface CpioArchive {
  format: 'newc' | 'crc' | 'odc';
  entries: CpioEntry[];
  /** Offset just past the trailer (before block padding). */
  end: number;
}

/** Options of `readCpio`. */
export interface CpioReadOptions {
  /** Verify the 070702 data sums (reads every file's data). Default true. */
  verifyChecksums?: boolean;
}

const FORMAT = 'cpio';
const MAX_SYMLINK = MAX_NAME_BYTES;

function parseHex(bytes: Uint8Array, at: number, base: number, field: string): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const c = bytes[at + i]!;
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else {
      throw new FormatError(
        FORMAT,
        'CPIO_BAD_HEADER',
        `header field ${field} has a non-hex byte 0x${c.toString(16).padStart(2, '0')}`,
        {
          offset: base + at + i,
          hint: 'the archive is damaged or not a newc archive',
        },
      );
    }
    value = value * 16 + d;
  }
  return value;
}

function parseNewcFields(head: Uint8Array, offset: number): CpioHeaderFields {
  const f = {} as CpioHeaderFields;
  FIELD_ORDER.forEach((key, i) => {
    f[key] = parseHex(head, 6 + i * 8, offset, key);
  });
  return f;
}

/** odc: octal fields; rdev split as GNU cpio joins it, `(major << 8) | minor`. */
function parseOdcFields(head: Uint8Array, offset: number): CpioHeaderFields {
  const v: Record<string, number> = {};
  let at = 6;
  for (const [name, width] of ODC_FIELDS) {
    let value = 0;
    for (let i = 0; i < width; i++) {
      const c = head[at + i]!;
      if (c < 0x30 || c > 0x37) {
        throw new FormatError(
          FORMAT,
          'CPIO_BAD_HEADER',
          `odc header field ${name} has a non-octal byte 0x${c.toString(16).padStart(2, '0')}`,
          {
            offset: offset + at + i,
            hint: 'the archive is damaged or not an odc archive',
          },
        );
      }
      value = value * 8 + (c - 0x30);
    }
    v[name] = value;
    at += width;
  }
  return {
    ino: v.ino!,
    mode: v.mode!,
    uid: v.uid!,
    gid: v.gid!,
    nlink: v.nlink!,
    mtime: v.mtime!,
    filesize: v.filesize!,
    devMajor: 0,
    devMinor: v.dev!,
    rdevMajor: Math.floor(v.rdev! / 256),
    rdevMinor: v.rdev! % 256,
    namesize: v.namesize!,
    check: 0,
  };
}

function displayPath(name: string): string {
  let p = name;
  while (p.startsWith('./')) p = p.slice(2);
  if (p === '.') return '';
  return p.replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * Lists a newc/crc archive. Stops at TRAILER!!!; an archive without one is a FormatError
 * (like `cpio -t`, which exits 2 on a truncated archive).
 * @example
 * const source = await FileSource.open('initrd.cpio');
 * for (const e of (await readCpio(source)).entries) console.log(e.kind, e.path, e.size);
 */
export async function readCpio(input: BlockSource | Uint8Array, options: CpioReadOptions = {}): Promise<CpioArchive> {
  const source = input instanceof Uint8Array ? new MemorySource(input, FORMAT) : input;
  const verify = options.verifyChecksums ?? true;
  const entries: CpioEntry[] = [];
  let format: 'newc' | 'crc' | 'odc' | undefined;
  let offset = 0;
  for (;;) {
    if (offset + ODC_HEADER_SIZE > source.size) {
      throw new FormatError(
        FORMAT,
        'CPIO_TRUNCATED',
        `the archive ends at ${source.size} without a ${TRAILER_NAME} entry`,
        {
          offset,
          hint: 'the archive was cut short; write it again',
        },
      );
    }
    const magic = String.fromCharCode(...(await source.read(offset, 6)));
    if (magic !== MAGIC_NEWC && magic !== MAGIC_CRC && magic !== MAGIC_ODC) {
      const head = await source.read(offset, 2);
      const hint =
        head[0] === 0xc7 && head[1] === 0x71
          ? 'this is an old binary cpio archive; kiln reads newc, crc and odc (cpio -H newc)'
          : 'expected 070701 (newc), 070702 (crc) or 070707 (odc)';
      throw new FormatError(
        FORMAT,
        'CPIO_BAD_MAGIC',
        `no cpio header magic at offset ${offset} (found ${JSON.stringify(magic)})`,
        { offset, hint },
      );
    }
    const thisFormat = magic === MAGIC_CRC ? 'crc' : magic === MAGIC_ODC ? 'odc' : 'newc';
    const headerSize = thisFormat === 'odc' ? ODC_HEADER_SIZE : CPIO_HEADER_SIZE;
    const align = thisFormat === 'odc' ? (n: number) => n : pad4;
    if (offset + headerSize > source.size) {
      throw new FormatError(
        FORMAT,
        'CPIO_TRUNCATED',
        `the archive ends at ${source.size} inside the header at ${offset}`,
        { offset, hint: 'the archive was cut short; write it again' },
      );
    }
    const head = await source.read(offset, headerSize);
    format ??= thisFormat;
    const f = thisFormat === 'odc' ? parseOdcFields(head, offset) : parseNewcFields(head, offset);
    if (f.namesize < 1 || f.namesize > MAX_NAME_BYTES + 1) {
      throw new FormatError(FORMAT, 'CPIO_BAD_NAME', `namesize ${f.namesize} is outside 1..${MAX_NAME_BYTES + 1}`, {
        offset: offset + 94,
      });
    }
    const nameOffset = offset + headerSize;
    if (nameOffset + f.namesize > source.size) {
      throw new FormatError(
        FORMAT,
        'CPIO_TRUNCATED',
        `the name of the entry at ${offset} runs past the end of the archive`,
        { offset: nameOffset },
      );
    }
    const nameBytes = await source.read(nameOffset, f.namesize);
    const nul = nameBytes.indexOf(0);
    if (nul !== f.namesize - 1) {
      throw new FormatError(
        FORMAT,
        'CPIO_BAD_NAME',
        nul < 0 ? 'the name is not NUL-terminated' : `the name has a NUL byte at position ${nul} of ${f.namesize}`,
        {
          offset: nameOffset,
        },
      );
    }
    const name = decodeUtf8(nameBytes.subarray(0, f.namesize - 1));
    const dataOffset = align(nameOffset + f.namesize);
    if (name === TRAILER_NAME) {
      return { format: format ?? thisFormat, entries, end: Math.min(source.size, dataOffset) };
    }
    if (name.length === 0)
      throw new FormatError(FORMAT, 'CPIO_BAD_NAME', 'an entry has an empty name', { offset: nameOffset });
    const kind = kindOfMode(f.mode);
    if (!kind) {
      throw new FormatError(
        FORMAT,
        'CPIO_BAD_MODE',
        `${JSON.stringify(name)} has mode 0${f.mode.toString(8)}, which is no known file type`,
        { offset: offset + 14 },
      );
    }
    if (dataOffset + f.filesize > source.size) {
      throw new FormatError(
        FORMAT,
        'CPIO_TRUNCATED',
        `${JSON.stringify(name)} claims ${f.filesize} bytes of data, only ${Math.max(0, source.size - dataOffset)} remain`,
        {
          offset: dataOffset,
          hint: 'the archive was cut short or the size field is damaged',
        },
      );
    }
    if ((kind === 'dir' || kind === 'char' || kind === 'block' || kind === 'fifo') && f.filesize !== 0) {
      throw new FormatError(
        FORMAT,
        'CPIO_BAD_HEADER',
        `${kind} ${JSON.stringify(name)} has ${f.filesize} bytes of data; only files and symlinks have data`,
        { offset: offset + 54 },
      );
    }
    const entry: CpioEntry = {
      name,
      path: displayPath(name),
      kind,
      mode: f.mode & 0o7777,
      ino: f.ino,
      uid: f.uid,
      gid: f.gid,
      nlink: f.nlink,
      mtime: f.mtime,
      size: f.filesize,
      devMajor: f.devMajor,
      devMinor: f.devMinor,
      rdevMajor: f.rdevMajor,
      rdevMinor: f.rdevMinor,
      check: f.check,
      headerOffset: offset,
      dataOffset,
    };
    if (kind === 'symlink') {
      if (f.filesize === 0 || f.filesize > MAX_SYMLINK) {
        throw new FormatError(
          FORMAT,
          'CPIO_BAD_SYMLINK',
          `symlink ${JSON.stringify(name)} has a ${f.filesize}-byte target (1..${MAX_SYMLINK} expected)`,
          { offset: dataOffset },
        );
      }
      const target = await source.read(dataOffset, f.filesize);
      if (target.includes(0))
        throw new FormatError(
          FORMAT,
          'CPIO_BAD_SYMLINK',
          `symlink ${JSON.stringify(name)} has a NUL byte in its target`,
          { offset: dataOffset },
        );
      entry.target = decodeUtf8(target);
    }
    if (thisFormat === 'crc' && verify && kind === 'file') {
      let sum = 0;
      for (let at = 0; at < f.filesize; at += 1 << 20) {
        sum = cpioChecksum(await source.read(dataOffset + at, Math.min(1 << 20, f.filesize - at)), sum);
      }
      if (sum !== f.check) {
        throw new FormatError(
          FORMAT,
          'CPIO_BAD_CHECKSUM',
          `${JSON.stringify(name)}: data sums to 0x${sum.toString(16)}, the header says 0x${f.check.toString(16)}`,
          {
            offset,
            hint: 'the file data is damaged',
          },
        );
      }
    }
    entries.push(entry);
    offset = align(dataOffset + f.filesize);
  }
}

/** Reads one entry's data (file content or symlink target) into memory.
 * @example const data = await readCpioData(source, archive.entries[0]!);
 */
export async function readCpioData(source: BlockSource, entry: CpioEntry): Promise<Uint8Array> {
  return source.read(entry.dataOffset, entry.size);
}

/**
 * Reads an archive into a FileTree with contents in memory (for small archives and tests).
 * Entries named `.` are skipped; later duplicates replace earlier ones.
 * @example const tree = await cpioToTree(await readFile('initrd.cpio'));
 */
export async function cpioToTree(input: BlockSource | Uint8Array): Promise<FileTree> {
  const source = input instanceof Uint8Array ? new MemorySource(input, FORMAT) : input;
  const archive = await readCpio(source);
  const tree: FileTree = new Map();
  for (const e of archive.entries) {
    if (e.path === '') continue;
    const common = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
    let entry: TreeEntry;
    switch (e.kind) {
      case 'file':
        entry = { kind: 'file', content: new Uint8Array(await readCpioData(source, e)), ...common };
        break;
      case 'symlink':
        entry = { kind: 'symlink', target: e.target!, ...common };
        break;
      case 'char':
      case 'block':
        entry = { kind: e.kind, major: e.rdevMajor, minor: e.rdevMinor, ...common };
        break;
      default:
        entry = { kind: e.kind, ...common };
    }
    tree.set(e.path, entry);
  }
  return tree;
}

export interface CpioExtractOptions extends ExtractOptions {
  /** Turn absolute names (`/etc/x`) into relative ones instead of refusing them (GNU cpio's default). Default false. */
  stripAbsolute?: boolean;
  /** Verify 070702 checksums while listing. Default true. */
  verifyChecksums?: boolean;
}

/** What `extractCpio` created, and what it could not (with the reason). */
export interface CpioExtractResult {
  /** Paths created (relative to the target folder). */
  extracted: string[];
  /** Entries not created, with the reason (device nodes and fifos need root or mknod). */
  skipped: Array<{ path: string; kind: CpioKind; reason: string }>;
}

/**
 * Extracts an archive into `dir` (created if missing) with the rules of `extractEntries`: never
 * writes outside `dir` (`..` names, absolute names unless `stripAbsolute`, and paths through a
 * symlink — one already in `dir` or one of the archive's — are refused), never follows or writes
 * through a symlink, never overwrites unless `overwrite`; symlinks are created last. Device nodes
 * and fifos are listed in `skipped`.
 * @example
 * const source = await FileSource.open('initrd.cpio');
 * const { extracted } = await extractCpio(source, 'out/initrd');
 */
export async function extractCpio(
  input: BlockSource | Uint8Array,
  dir: string,
  options: CpioExtractOptions = {},
): Promise<CpioExtractResult> {
  const source = input instanceof Uint8Array ? new MemorySource(input, FORMAT) : input;
  const archive = await readCpio(source, { verifyChecksums: options.verifyChecksums ?? true });
  const members = archive.entries.map((entry): ExtractEntry => {
    const path = options.stripAbsolute ? entry.name.replace(/^\/+/, '') : entry.name;
    const common = { path, mtime: entry.mtime, offset: entry.headerOffset };
    switch (entry.kind) {
      case 'dir':
        return { kind: 'dir', ...common, mode: entry.mode };
      case 'symlink':
        return { kind: 'symlink', ...common, target: entry.target ?? '' };
      case 'file':
        return { kind: 'file', ...common, mode: entry.mode, content: () => cpioData(source, entry) };
      default:
        return {
          kind: 'skip',
          ...common,
          what: entry.kind,
          reason:
            entry.kind === 'fifo' ? 'fifos are not created (Node has no mkfifo)' : 'device nodes need root (mknod)',
        };
    }
  });
  const summary = await extractEntries(members, dir, { format: FORMAT, codePrefix: 'CPIO' }, options);
  return {
    extracted: summary.extracted.map((e) => e.path),
    skipped: summary.skipped.map((s) => ({ path: s.path, kind: s.what as CpioKind, reason: s.reason })),
  };
}

async function* cpioData(source: BlockSource, entry: CpioEntry): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < entry.size; at += 1 << 20)
    yield await source.read(entry.dataOffset + at, Math.min(1 << 20, entry.size - at));
}
