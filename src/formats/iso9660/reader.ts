/**
 * ISO9660 reader: ECMA-119 §8 volume descriptors (PVD, SVD/Joliet escape sequences, Boot Record,
 * terminator), §9.1 directory records (multi-extent files, §9.1.6 bit 7), with Rock Ridge
 * (RRIP 1.12 / 1.10 over SUSP 1.12) names and attributes preferred, then Joliet, then plain
 * ISO9660 names; the El Torito boot catalog (El Torito 1.0 §2). Input is untrusted: every length,
 * extent and count is checked against the image and sane limits; directory loops are refused.
 */
import { FormatError } from '../../errors.js';
import { readAscii, readU16, readU32 } from '../io/bytes.js';
import type { BlockSource } from '../io/block-source.js';
import { type FileTree, type TreeEntry, buildTree } from '../io/tree.js';
import { extractEntries, type ExtractEntry, type ExtractOptions } from '../io/extract.js';
import {
  SECTOR,
  SYSTEM_AREA_SECTORS,
  FLAG_DIRECTORY,
  FLAG_MULTI_EXTENT,
  ISO_MAX_DEPTH,
  ISO_MAX_DIRECTORY_BYTES,
  ISO_MAX_ENTRIES,
  readRecordingDate,
  readVolumeDate,
} from './_encode.js';
import { decodeUcs2 } from './names.js';
import { type SuspInfo, parseSusp } from './rock-ridge.js';
import { type BootCatalog, EL_TORITO_ID, parseBootCatalog } from './eltorito.js';

const F = 'iso9660';

/** One file, directory or special file found in an ISO. */
export interface IsoEntry {
  /** Path inside the image (`boot/grub/grub.cfg`). */
  path: string;
  kind: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  size: number;
  /** Data extents in order (LBA in 2048-byte sectors, length in bytes). */
  extents: { lba: number; length: number }[];
  mtime: number;
  mode?: number;
  uid?: number;
  gid?: number;
  target?: string;
  device?: { major: number; minor: number };
  /** Byte offset of the entry's directory record (for messages). */
  recordOffset?: number;
}

/** What `readIso` found. */
export interface IsoImage {
  volumeId: string;
  /** Volume space size in bytes (PVD). */
  volumeSize: number;
  /** Creation/modification dates (seconds since 1970), when recorded. */
  created?: number;
  modified?: number;
  systemId: string;
  publisherId: string;
  preparerId: string;
  applicationId: string;
  /** Which names the entries carry. */
  namespace: 'rockridge' | 'joliet' | 'iso9660';
  rockRidge: boolean;
  /** The RRIP extension id from the ER entry (`IEEE_P1282`, `RRIP_1991A`), if any. */
  rockRidgeId?: string;
  joliet: boolean;
  /** Joliet UCS-2 level (1-3), if a Joliet SVD is present. */
  jolietLevel?: number;
  /** El Torito boot catalog, if a Boot Record is present. */
  boot?: BootCatalog & { catalogLba: number };
  entries: IsoEntry[];
}

/** Limits for untrusted input. */
export interface ReadIsoOptions {
  /** Which namespace to read: `auto` prefers Rock Ridge, then Joliet, then plain names. */
  namespace?: 'auto' | 'rockridge' | 'joliet' | 'iso9660';
  maxEntries?: number;
  maxDepth?: number;
  /** Largest directory extent read, in bytes. Default 64 MiB. */
  maxDirectorySize?: number;
}

interface RawRecord {
  extent: number;
  length: number;
  flags: number;
  mtime: number;
  identifier: Uint8Array;
  systemUse: Uint8Array;
  offset: number;
}

function parseRecords(buf: Uint8Array, base: number): RawRecord[] {
  const out: RawRecord[] = [];
  let at = 0;
  while (at < buf.length) {
    const len = buf[at]!;
    if (len === 0) {
      at = (Math.floor(at / SECTOR) + 1) * SECTOR; // records never cross sectors; zeros pad
      continue;
    }
    if (len < 34 || at + len > buf.length || (at % SECTOR) + len > SECTOR) {
      throw new FormatError(
        F,
        'BAD_DIRECTORY_RECORD',
        `directory record of length ${len} at ${base + at} is malformed`,
        { offset: base + at, hint: 'the image is damaged or not ISO9660' },
      );
    }
    const idLen = buf[at + 32]!;
    if (33 + idLen > len)
      throw new FormatError(
        F,
        'BAD_DIRECTORY_RECORD',
        `file identifier of ${idLen} bytes overruns its ${len}-byte record`,
        { offset: base + at },
      );
    const suStart = 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
    out.push({
      extent: readU32(buf, at + 2, true),
      length: readU32(buf, at + 10, true),
      mtime: readRecordingDate(buf, at + 18),
      flags: buf[at + 25]!,
      identifier: buf.subarray(at + 33, at + 33 + idLen),
      systemUse: suStart <= len ? buf.subarray(at + suStart, at + len) : new Uint8Array(0),
      offset: base + at,
    });
    at += len;
  }
  return out;
}

async function readChecked(source: BlockSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > source.size) {
    throw new FormatError(
      F,
      'EXTENT_OUTSIDE_IMAGE',
      `${what}: bytes [${offset}, ${offset + length}) lie outside the ${source.size}-byte image`,
      {
        offset,
        hint: 'the image is truncated or damaged',
      },
    );
  }
  return source.read(offset, length);
}

interface Descriptors {
  pvd: Uint8Array;
  svd?: Uint8Array;
  jolietLevel?: number;
  bootCatalogLba?: number;
}

async function readDescriptors(source: BlockSource): Promise<Descriptors> {
  let pvd: Uint8Array | undefined;
  let svd: Uint8Array | undefined;
  let jolietLevel: number | undefined;
  let bootCatalogLba: number | undefined;
  if (source.size < 17 * SECTOR) {
    throw new FormatError(
      F,
      'TRUNCATED',
      `the image is ${source.size} bytes; ISO9660 volume descriptors start at byte 32768`,
      {
        offset: SYSTEM_AREA_SECTORS * SECTOR,
        hint: 'the file is truncated or not an ISO9660 image',
      },
    );
  }
  for (let i = 0; i < 64; i++) {
    const offset = (16 + i) * SECTOR;
    if (offset + SECTOR > source.size) break;
    const d = await source.read(offset, SECTOR);
    if (readAscii(d, 1, 5) !== 'CD001') {
      if (i === 0)
        throw new FormatError(F, 'BAD_MAGIC', 'no ISO9660 volume descriptor at sector 16 (expected "CD001")', {
          offset: offset + 1,
          hint: 'this is not an ISO9660 image',
        });
      throw new FormatError(F, 'BAD_DESCRIPTOR', `volume descriptor ${16 + i} has no "CD001" identifier`, {
        offset: offset + 1,
      });
    }
    const type = d[0]!;
    if (type === 255) break;
    if (type === 1 && !pvd) pvd = d.slice();
    if (type === 2 && !svd && d[88] === 0x25 && d[89] === 0x2f && [0x40, 0x43, 0x45].includes(d[90]!)) {
      svd = d.slice();
      jolietLevel = d[90] === 0x40 ? 1 : d[90] === 0x43 ? 2 : 3;
    }
    if (type === 0 && readAscii(d, 7, 32).replace(/\0+$/, '') === EL_TORITO_ID) bootCatalogLba = readU32(d, 0x47, true);
  }
  if (!pvd)
    throw new FormatError(F, 'NO_PRIMARY_DESCRIPTOR', 'no Primary Volume Descriptor before the terminator', {
      offset: SYSTEM_AREA_SECTORS * SECTOR,
    });
  return {
    pvd,
    ...(svd ? { svd, jolietLevel: jolietLevel! } : {}),
    ...(bootCatalogLba !== undefined ? { bootCatalogLba } : {}),
  };
}

function rootRecord(d: Uint8Array, offset: number): RawRecord {
  const [r] = parseRecords(d.subarray(156, 190), offset + 156);
  if (!r || !(r.flags & FLAG_DIRECTORY))
    throw new FormatError(F, 'BAD_ROOT', 'the root directory record is not a directory', { offset: offset + 156 });
  return r;
}

/**
 * Reads an ISO's descriptors and its whole directory tree (not the file contents).
 * @example const iso = await readIso(await FileSource.open('out.iso')); iso.entries.map((e) => e.path)
 */
export async function readIso(source: BlockSource, options: ReadIsoOptions = {}): Promise<IsoImage> {
  const maxEntries = options.maxEntries ?? ISO_MAX_ENTRIES;
  const maxDepth = options.maxDepth ?? ISO_MAX_DEPTH;
  const maxDir = options.maxDirectorySize ?? ISO_MAX_DIRECTORY_BYTES;
  const desc = await readDescriptors(source);
  const pvd = desc.pvd;
  const pvdRoot = rootRecord(pvd, SYSTEM_AREA_SECTORS * SECTOR);

  // Rock Ridge: the root's "." record starts with SP.
  const readDirBytes = async (r: RawRecord, what: string) => {
    if (r.length > maxDir)
      throw new FormatError(
        F,
        'DIRECTORY_TOO_LARGE',
        `${what}: directory of ${r.length} bytes exceeds the ${maxDir}-byte limit`,
        { offset: r.offset },
      );
    return readChecked(source, r.extent * SECTOR, r.length, what);
  };
  const rootBytes = await readDirBytes(pvdRoot, 'root directory');
  const rootRecords = parseRecords(rootBytes, pvdRoot.extent * SECTOR);
  const rootSelf = rootRecords[0];
  const rootInfo: SuspInfo = {};
  if (rootSelf) await readSusp(source, rootSelf.systemUse, 0, rootInfo);
  const hasRR = rootInfo.hasSp === true;
  const wanted = options.namespace ?? 'auto';
  const namespace: IsoImage['namespace'] =
    wanted === 'auto' ? (hasRR ? 'rockridge' : desc.svd ? 'joliet' : 'iso9660') : wanted;
  if (namespace === 'rockridge' && !hasRR)
    throw new FormatError(F, 'NO_ROCK_RIDGE', 'the image has no Rock Ridge entries', {
      offset: pvdRoot.extent * SECTOR,
    });
  if (namespace === 'joliet' && !desc.svd)
    throw new FormatError(F, 'NO_JOLIET', 'the image has no Joliet descriptor', {
      offset: SYSTEM_AREA_SECTORS * SECTOR,
    });
  const useJoliet = namespace === 'joliet';
  const skip = hasRR && namespace === 'rockridge' ? (rootInfo.spSkip ?? 0) : 0;
  const root = useJoliet ? rootRecord(desc.svd!, 0) : pvdRoot;

  const entries: IsoEntry[] = [];
  const visited = new Set<number>();
  const walk = async (dir: RawRecord, prefix: string, depth: number): Promise<void> => {
    if (depth > maxDepth) {
      throw new FormatError(F, 'TOO_DEEP', `directories nest deeper than ${maxDepth} levels at ${prefix}`, {
        offset: dir.offset,
        hint: 'kiln reads (and writes) ISO trees up to that depth',
      });
    }
    if (visited.has(dir.extent))
      throw new FormatError(
        F,
        'DIRECTORY_LOOP',
        `directory ${prefix || '/'} at sector ${dir.extent} was already read (a loop)`,
        { offset: dir.offset },
      );
    visited.add(dir.extent);
    const bytes = dir === root && !useJoliet ? rootBytes : await readDirBytes(dir, prefix || 'root directory');
    const records = parseRecords(bytes, dir.extent * SECTOR);
    const names = new Set<string>();
    let pending: { rec: RawRecord; extents: { lba: number; length: number }[]; size: number } | undefined;
    for (const rec of records) {
      const id = rec.identifier;
      if (id.length === 1 && (id[0] === 0 || id[0] === 1)) continue;
      if (pending) {
        pending.extents.push({ lba: rec.extent, length: rec.length });
        pending.size += rec.length;
      } else pending = { rec, extents: [{ lba: rec.extent, length: rec.length }], size: rec.length };
      if (rec.flags & FLAG_MULTI_EXTENT) continue;
      const { rec: first, extents, size } = pending;
      pending = undefined;
      const info: SuspInfo = {};
      if (namespace === 'rockridge')
        await readSusp(source, first.systemUse.subarray(Math.min(skip, first.systemUse.length)), 0, info);
      let name: string;
      if (info.name !== undefined) name = info.name;
      else if (useJoliet) name = decodeUcs2(first.identifier).replace(/;\d+$/, '');
      else name = readAscii(first.identifier, 0, first.identifier.length).replace(/;\d+$/, '').replace(/\.$/, '');
      if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
        throw new FormatError(
          F,
          'BAD_NAME',
          `entry name ${JSON.stringify(name)} in ${prefix || '/'} is not a valid file name`,
          { offset: first.offset },
        );
      }
      if (names.has(name))
        throw new FormatError(F, 'DUPLICATE_NAME', `${prefix}${name} appears twice`, { offset: first.offset });
      names.add(name);
      if (entries.length >= maxEntries)
        throw new FormatError(F, 'TOO_MANY_ENTRIES', `more than ${maxEntries} entries`, { offset: first.offset });
      const path = prefix + name;
      const isDir = (first.flags & FLAG_DIRECTORY) !== 0;
      const mode = info.mode;
      const type = mode !== undefined ? mode & 0o170000 : undefined;
      let kind: IsoEntry['kind'] = isDir ? 'dir' : 'file';
      if (!isDir && info.symlink !== undefined) kind = 'symlink';
      else if (!isDir && type === 0o020000) kind = 'char';
      else if (!isDir && type === 0o060000) kind = 'block';
      else if (!isDir && type === 0o010000) kind = 'fifo';
      const entry: IsoEntry = {
        path,
        kind,
        size: kind === 'file' ? size : 0,
        extents: kind === 'file' ? extents : [],
        mtime: info.mtime ?? first.mtime,
        ...(mode !== undefined ? { mode: mode & 0o7777 } : {}),
        ...(info.uid !== undefined ? { uid: info.uid } : {}),
        ...(info.gid !== undefined ? { gid: info.gid } : {}),
        ...(kind === 'symlink' ? { target: info.symlink! } : {}),
        ...(info.device && (kind === 'char' || kind === 'block') ? { device: info.device } : {}),
        recordOffset: first.offset,
      };
      if (kind === 'file') {
        for (const e of extents) {
          if (e.length > 0 && e.lba * SECTOR + e.length > source.size) {
            throw new FormatError(
              F,
              'EXTENT_OUTSIDE_IMAGE',
              `${path}: extent at sector ${e.lba} (${e.length} bytes) lies outside the ${source.size}-byte image`,
              { offset: first.offset },
            );
          }
        }
      }
      entries.push(entry);
      if (isDir) await walk(first, `${path}/`, depth + 1);
    }
    if (pending)
      throw new FormatError(F, 'BAD_MULTI_EXTENT', `a multi-extent file in ${prefix || '/'} has no final extent`, {
        offset: pending.rec.offset,
      });
  };
  await walk(root, '', 1);

  let boot: IsoImage['boot'];
  if (desc.bootCatalogLba !== undefined) {
    const bytes = await readChecked(source, desc.bootCatalogLba * SECTOR, SECTOR, 'boot catalog');
    boot = { ...parseBootCatalog(bytes, desc.bootCatalogLba * SECTOR), catalogLba: desc.bootCatalogLba };
  }
  const text = (at: number, len: number) => readAscii(pvd, at, len).replace(/[ \0]+$/, '');
  const created = readVolumeDate(pvd, 813);
  const modified = readVolumeDate(pvd, 830);
  return {
    volumeId: text(40, 32),
    volumeSize: readU32(pvd, 80, true) * readU16(pvd, 128, true),
    ...(created !== undefined ? { created } : {}),
    ...(modified !== undefined ? { modified } : {}),
    systemId: text(8, 32),
    publisherId: text(318, 128),
    preparerId: text(446, 128),
    applicationId: text(574, 128),
    namespace,
    rockRidge: hasRR,
    ...(rootInfo.rripId ? { rockRidgeId: rootInfo.rripId } : {}),
    joliet: desc.svd !== undefined,
    ...(desc.jolietLevel ? { jolietLevel: desc.jolietLevel } : {}),
    ...(boot ? { boot } : {}),
    entries,
  };
}

/** Parses a System Use area and follows CE continuation areas (at most 32, each inside the image). */
async function readSusp(source: BlockSource, area: Uint8Array, _depth: number, info: SuspInfo): Promise<void> {
  const state = { nm: [] as string[], nmDone: false, sl: [] as string[], slPending: '', slDone: false };
  parseSusp(area, info, state);
  for (let hops = 0; info.continuation && hops < 32; hops++) {
    const { block, offset, length } = info.continuation;
    if (length === 0 || offset >= SECTOR || length > SECTOR) break;
    const bytes = await readChecked(source, block * SECTOR + offset, length, 'SUSP continuation area');
    parseSusp(bytes, info, state);
  }
  info.continuation = undefined;
  if (!state.nmDone && state.nm.length) info.name = state.nm.join('');
}

/**
 * Streams a file's content (all its extents) in chunks of at most 1 MiB.
 * @example for await (const chunk of readIsoFile(source, entry)) hash.update(chunk);
 */
export async function* readIsoFile(
  source: BlockSource,
  entry: IsoEntry,
  chunkSize = 1 << 20,
): AsyncGenerator<Uint8Array> {
  for (const e of entry.extents) {
    for (let at = 0; at < e.length; at += chunkSize) {
      const n = Math.min(chunkSize, e.length - at);
      yield await readChecked(source, e.lba * SECTOR + at, n, entry.path);
    }
  }
}

/**
 * Reads a whole (small) file into memory.
 * @example const cfg = new TextDecoder().decode(await readIsoFileBytes(source, iso.entries.find((e) => e.path === 'boot/grub/grub.cfg')!));
 */
export async function readIsoFileBytes(source: BlockSource, entry: IsoEntry): Promise<Uint8Array> {
  const out = new Uint8Array(entry.size);
  let at = 0;
  for await (const chunk of readIsoFile(source, entry)) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Builds a FileTree from an ISO, loading file contents into memory (for tests and small images).
 * @example const tree = await isoToTree(source, await readIso(source));
 */
export async function isoToTree(source: BlockSource, image: IsoImage): Promise<FileTree> {
  const spec: Array<[string, TreeEntry]> = [];
  for (const e of image.entries) {
    const common = {
      ...(e.mode !== undefined ? { mode: e.mode } : {}),
      ...(e.uid !== undefined ? { uid: e.uid } : {}),
      ...(e.gid !== undefined ? { gid: e.gid } : {}),
      mtime: e.mtime,
    };
    if (e.kind === 'dir') spec.push([e.path, { kind: 'dir', ...common }]);
    else if (e.kind === 'file')
      spec.push([e.path, { kind: 'file', content: await readIsoFileBytes(source, e), ...common }]);
    else if (e.kind === 'symlink') spec.push([e.path, { kind: 'symlink', target: e.target ?? '', ...common }]);
    else if (e.kind === 'char' || e.kind === 'block')
      spec.push([e.path, { kind: e.kind, major: e.device?.major ?? 0, minor: e.device?.minor ?? 0, ...common }]);
    else spec.push([e.path, { kind: 'fifo', ...common }]);
  }
  return buildTree(spec);
}

/** What `extractIso` wrote. */
export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
  /** Devices and FIFOs, which are not created. */
  skipped: string[];
}

/**
 * Extracts an ISO (in the namespace `image` was read with: Rock Ridge, Joliet or plain ISO9660)
 * into `destination` with the rules of `extractEntries`: nothing is written outside it or through
 * a symlink already in it, symlinks of the image are created last, nothing existing is replaced
 * unless `overwrite`, devices and FIFOs are skipped.
 * @example await extractIso(source, await readIso(source), 'out-dir', { overwrite: true });
 */
export async function extractIso(
  source: BlockSource,
  image: IsoImage,
  destination: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const members = image.entries.map((e): ExtractEntry => {
    const common = {
      path: e.path,
      mtime: e.mtime,
      ...(e.recordOffset !== undefined ? { offset: e.recordOffset } : {}),
    };
    const mode = e.mode !== undefined ? { mode: e.mode } : {};
    if (e.kind === 'dir') return { kind: 'dir', ...common, ...mode };
    if (e.kind === 'file') return { kind: 'file', ...common, ...mode, content: () => readIsoFile(source, e) };
    if (e.kind === 'symlink') return { kind: 'symlink', ...common, target: e.target ?? '' };
    return { kind: 'skip', ...common, what: e.kind, reason: 'devices and FIFOs are not created' };
  });
  const summary = await extractEntries(members, destination, { format: F, codePrefix: 'ISO9660' }, options);
  const count = (kind: 'dir' | 'file' | 'symlink') => summary.extracted.filter((e) => e.kind === kind).length;
  return {
    files: count('file'),
    directories: count('dir'),
    symlinks: count('symlink'),
    skipped: summary.skipped.map((s) => s.path),
  };
}
