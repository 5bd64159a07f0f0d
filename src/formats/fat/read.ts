/**
 * FAT12/16/32 reader over a BlockSource: BPB parsing with every field checked before use,
 * directory listing with VFAT long-name reassembly, file reading and safe extraction.
 *
 * Spec: Microsoft fatgen103 v1.03: "Boot Sector and BPB", "FAT Type Determination" (by count of
 * clusters; a BPB with BPB_FATSz16 = 0 and BPB_RootEntCnt = 0 is FAT32, as Linux and dosfstools
 * also decide), "FAT Data Structure" (entry values: 0 free, >= 0xFF8/0xFFF8/0x0FFFFFF8 end of
 * chain, 0xFF7/0xFFF7/0x0FFFFFF7 bad), "FAT32 FSInfo Sector Structure", "FAT Directory Structure"
 * and "FAT Long Directory Entries" (a long name is used only when its ordinals run N|0x40 .. 1 in
 * order and every entry's checksum equals the short name's checksum).
 *
 * Everything read from the image is untrusted: cluster numbers are range-checked, chains are
 * bounded (a loop or an over-long chain is a FormatError, never a hang) and every directory
 * cluster is visited at most once.
 */
import { FormatError, KilnError } from '../../errors.js';
import type { BlockSource } from '../io/block-source.js';
import { extractEntries, type ExtractEntry, type ExtractOptions } from '../io/extract.js';
import { readAscii, readU16, readU32 } from '../io/bytes.js';
import type { FatType } from './_geometry.js';
import { LONG_CHAR_OFFSETS, shortNameChecksum } from './_names.js';
import {
  ATTR_DIRECTORY,
  ATTR_LONG_NAME,
  ATTR_VOLUME_ID,
  FAT_MAX_DEPTH,
  FAT_MAX_DIR_ENTRIES,
  fromDosDateTime,
} from './_structures.js';

const FORMAT = 'fat';

/** What the boot sector (and FSInfo) say about a FAT volume. */
export interface FatInfo {
  type: FatType;
  oemName: string;
  bytesPerSector: number;
  sectorsPerCluster: number;
  clusterSize: number;
  reservedSectors: number;
  fats: number;
  rootEntries: number;
  totalSectors: number;
  /** Sectors per FAT. */
  fatSectors: number;
  /** Data clusters (numbered 2 .. clusterCount + 1). */
  clusterCount: number;
  media: number;
  sectorsPerTrack: number;
  heads: number;
  hiddenSectors: number;
  /** BS_VolID, when the extended boot signature (0x29) is present. */
  volumeId: number | undefined;
  /** The label: the root directory's volume entry if any, else BS_VolLab (undefined for `NO NAME`). */
  label: string | undefined;
  /** FAT32: root directory cluster. */
  rootCluster: number;
  /** FAT32 FSInfo free-cluster count, if the FSInfo sector is valid and the count known. */
  fsInfoFree: number | undefined;
  fsInfoNextFree: number | undefined;
  /** FAT32 backup boot sector (0 if none). */
  backupBootSector: number;
  /** Whether bytes 510..511 hold 0x55 0xAA. */
  signature: boolean;
}

/** One file or directory in a FAT volume. */
export interface FatEntry {
  /** Path from the root, `/`-separated, no leading slash. */
  path: string;
  /** The long name if a valid one is present, otherwise the short name with its case bits applied. */
  name: string;
  /** The 8.3 name, e.g. `README~1.TXT`. */
  shortName: string;
  kind: 'file' | 'dir';
  size: number;
  firstCluster: number;
  /** DIR_Attr. */
  attributes: number;
  /** Last write time, seconds since 1970 (UTC), undefined if the stored date is invalid. */
  mtime: number | undefined;
  /** Byte offset of the short directory entry in the source (for messages). */
  recordOffset?: number;
}

/** Options of `openFat`. */
export interface FatReadOptions {
  /** Byte offset of the volume in the source (a partition). Default 0. */
  offset?: number;
}

const MAX_DIR_BYTES = FAT_MAX_DIR_ENTRIES * 32;

function fail(code: string, message: string, offset?: number, hint?: string): never {
  throw new FormatError(FORMAT, code, message, {
    ...(offset !== undefined ? { offset } : {}),
    ...(hint ? { hint } : {}),
  });
}

/**
 * An open FAT volume. Create with {@link openFat}.
 * @example
 * const fat = await openFat(await FileSource.open('esp.img'));
 * for (const e of await fat.list()) console.log(e.path, e.size);
 */
export class FatVolume {
  readonly info: FatInfo;
  private readonly source: BlockSource;
  private readonly base: number;
  private readonly fatCache = new Map<number, Uint8Array>();
  private static readonly FAT_CHUNK = 65536;

  private constructor(source: BlockSource, base: number, info: FatInfo) {
    this.source = source;
    this.base = base;
    this.info = info;
  }

  /** Parses and validates the boot sector. Use {@link openFat}. */
  static async open(source: BlockSource, options: FatReadOptions = {}): Promise<FatVolume> {
    const base = options.offset ?? 0;
    if (!Number.isSafeInteger(base) || base < 0)
      throw new RangeError(`"offset" expected a non-negative integer, got ${base}`);
    if (source.size - base < 512)
      fail(
        'TOO_SMALL',
        `a FAT volume needs at least one 512-byte sector, the input has ${Math.max(0, source.size - base)} bytes`,
        base,
      );
    const b = await source.read(base, 512);
    const bps = readU16(b, 11, true);
    const spc = b[13]!;
    const reserved = readU16(b, 14, true);
    const fats = b[16]!;
    const rootEntries = readU16(b, 17, true);
    const tot16 = readU16(b, 19, true);
    const media = b[21]!;
    const fat16Size = readU16(b, 22, true);
    const tot32 = readU32(b, 32, true);
    const at = (o: number): number => base + o;
    if (![512, 1024, 2048, 4096].includes(bps))
      fail(
        'BAD_BPB',
        `BPB_BytsPerSec is ${bps}; FAT sectors are 512, 1024, 2048 or 4096 bytes (is this a FAT volume?)`,
        at(11),
      );
    if (spc === 0 || (spc & (spc - 1)) !== 0)
      fail('BAD_BPB', `BPB_SecPerClus is ${spc}; it must be a power of two from 1 to 128`, at(13));
    if (spc * bps > 256 * 1024)
      fail('BAD_BPB', `clusters of ${spc * bps} bytes are larger than any FAT implementation supports`, at(13));
    if (reserved === 0) fail('BAD_BPB', 'BPB_RsvdSecCnt is 0; the boot sector itself is reserved', at(14));
    if (fats !== 1 && fats !== 2)
      fail('BAD_BPB', `BPB_NumFATs is ${fats}; a volume has 1 or 2 FATs (fsck.fat refuses others too)`, at(16));
    if (media !== 0xf0 && media < 0xf8)
      fail('BAD_BPB', `BPB_Media is 0x${media.toString(16)}; valid values are 0xF0 and 0xF8..0xFF`, at(21));
    const totalSectors = tot16 !== 0 ? tot16 : tot32;
    if (totalSectors === 0) fail('BAD_BPB', 'both BPB_TotSec16 and BPB_TotSec32 are 0', at(19));
    const isFat32 = fat16Size === 0;
    const fatSectors = isFat32 ? readU32(b, 36, true) : fat16Size;
    if (fatSectors === 0) fail('BAD_BPB', 'the FAT size (BPB_FATSz16/BPB_FATSz32) is 0', at(isFat32 ? 36 : 22));
    if (isFat32 && rootEntries !== 0)
      fail('BAD_BPB', `FAT32 volume with BPB_RootEntCnt = ${rootEntries} (must be 0)`, at(17));
    if (!isFat32 && rootEntries === 0)
      fail('BAD_BPB', 'BPB_RootEntCnt is 0: a FAT12/16 root directory has zero size', at(17));
    if ((rootEntries * 32) % bps !== 0) {
      fail(
        'BAD_BPB',
        `BPB_RootEntCnt ${rootEntries} does not fill a whole number of ${bps}-byte sectors (${rootEntries * 32} bytes)`,
        at(17),
        'fsck.fat refuses this too ("doesn\'t span an integral number of sectors"); the volume is damaged or hostile',
      );
    }
    const rootDirSectors = Math.ceil((rootEntries * 32) / bps);
    const firstData = reserved + fats * fatSectors + rootDirSectors;
    if (firstData >= totalSectors)
      fail(
        'BAD_BPB',
        `the FATs and root directory (${firstData} sectors) do not leave room for data in ${totalSectors} sectors`,
        at(19),
      );
    const clusterCount = Math.floor((totalSectors - firstData) / spc);
    const type: FatType = isFat32 ? 32 : clusterCount < 4085 ? 12 : 16;
    if (!isFat32 && clusterCount >= 65525)
      fail('BAD_BPB', `${clusterCount} clusters need FAT32, but BPB_FATSz16 is set (FAT12/16 layout)`, at(22));
    if (type === 32 && clusterCount > 0x0ffffff5)
      fail('BAD_BPB', `${clusterCount} clusters exceed FAT32's limit`, at(32));
    // The FAT must have an entry for every cluster (fsck.fat: "Filesystem has N clusters but only space for M FAT entries").
    const fatEntries = Math.floor((fatSectors * bps * 8) / type);
    if (clusterCount + 2 > fatEntries) {
      fail(
        'BAD_BPB',
        `the volume has ${clusterCount} clusters but its FAT (${isFat32 ? 'BPB_FATSz32' : 'BPB_FATSz16'} = ${fatSectors} sectors) has room for ${Math.max(0, fatEntries - 2)}`,
        at(isFat32 ? 36 : 22),
        'the volume is damaged or hostile; fsck.fat refuses it too',
      );
    }
    if (clusterCount < 1) fail('BAD_BPB', 'the volume has no data clusters', at(13));
    if (base + totalSectors * bps > source.size) {
      fail(
        'TRUNCATED',
        `${tot16 !== 0 ? 'BPB_TotSec16' : 'BPB_TotSec32'} says the volume has ${totalSectors} sectors (${totalSectors * bps} bytes), the input has ${source.size - base} from the volume's start`,
        at(tot16 !== 0 ? 19 : 32),
        'the image was cut short, or the offset is wrong',
      );
    }

    const ext = isFat32 ? 64 : 36;
    const hasExt = b[ext + 2] === 0x29;
    const bpbLabel = hasExt ? readAscii(b, ext + 7, 11).replace(/ +$/, '') : '';
    let rootCluster = 0;
    let fsInfoFree: number | undefined;
    let fsInfoNextFree: number | undefined;
    let backup = 0;
    if (isFat32) {
      rootCluster = readU32(b, 44, true) & 0x0fffffff;
      if (rootCluster < 2 || rootCluster > clusterCount + 1)
        fail('BAD_BPB', `BPB_RootClus ${rootCluster} is outside the clusters 2..${clusterCount + 1}`, at(44));
      backup = readU16(b, 50, true);
      const fsInfoSector = readU16(b, 48, true);
      if (fsInfoSector > 0 && fsInfoSector < reserved && fsInfoSector !== 0xffff) {
        const s = await source.read(base + fsInfoSector * bps, 512);
        if (readU32(s, 0, true) === 0x41615252 && readU32(s, 484, true) === 0x61417272) {
          const free = readU32(s, 488, true);
          const next = readU32(s, 492, true);
          if (free !== 0xffffffff) fsInfoFree = free;
          if (next !== 0xffffffff) fsInfoNextFree = next;
        }
      }
    }
    const info: FatInfo = {
      type,
      oemName: readAscii(b, 3, 8).replace(/[ \0]+$/, ''),
      bytesPerSector: bps,
      sectorsPerCluster: spc,
      clusterSize: spc * bps,
      reservedSectors: reserved,
      fats,
      rootEntries,
      totalSectors,
      fatSectors,
      clusterCount,
      media,
      sectorsPerTrack: readU16(b, 24, true),
      heads: readU16(b, 26, true),
      hiddenSectors: readU32(b, 28, true),
      volumeId: hasExt ? readU32(b, ext + 3, true) : undefined,
      label: bpbLabel && bpbLabel !== 'NO NAME' ? bpbLabel : undefined,
      rootCluster,
      fsInfoFree,
      fsInfoNextFree,
      backupBootSector: backup,
      signature: b[510] === 0x55 && b[511] === 0xaa,
    };
    const volume = new FatVolume(source, base, info);
    const rootLabel = await volume.rootLabel();
    if (rootLabel !== undefined) info.label = rootLabel;
    return volume;
  }

  private get firstDataByte(): number {
    const i = this.info;
    return (
      (i.reservedSectors + i.fats * i.fatSectors + Math.ceil((i.rootEntries * 32) / i.bytesPerSector)) *
      i.bytesPerSector
    );
  }

  /** Byte offset (inside the volume) of a cluster. */
  clusterOffset(cluster: number): number {
    return this.firstDataByte + (cluster - 2) * this.info.clusterSize;
  }

  private async fatBytes(offset: number, length: number): Promise<Uint8Array> {
    // offset/length inside the first FAT; cached in 64 KiB chunks.
    const out = new Uint8Array(length);
    const fatStart = this.info.reservedSectors * this.info.bytesPerSector;
    const fatLength = this.info.fatSectors * this.info.bytesPerSector;
    for (let done = 0; done < length;) {
      const pos = offset + done;
      const chunkIndex = Math.floor(pos / FatVolume.FAT_CHUNK);
      let chunk = this.fatCache.get(chunkIndex);
      if (!chunk) {
        const chunkStart = chunkIndex * FatVolume.FAT_CHUNK;
        const n = Math.min(FatVolume.FAT_CHUNK, fatLength - chunkStart);
        const absolute = this.base + fatStart + chunkStart;
        if (absolute + n > this.source.size)
          fail('TRUNCATED', `the FAT runs past the end of the input (needs ${n} bytes at ${absolute})`, absolute);
        chunk = await this.source.read(absolute, n);
        if (this.fatCache.size >= 256) this.fatCache.delete(this.fatCache.keys().next().value!);
        this.fatCache.set(chunkIndex, chunk);
      }
      const inChunk = pos - chunkIndex * FatVolume.FAT_CHUNK;
      const n = Math.min(length - done, chunk.length - inChunk);
      if (n <= 0) fail('BAD_FAT', `FAT read at ${pos} is outside the FAT`, this.base + fatStart + pos);
      out.set(chunk.subarray(inChunk, inChunk + n), done);
      done += n;
    }
    return out;
  }

  /** The FAT entry of `cluster` (raw value, 28 bits on FAT32). */
  async fatEntry(cluster: number): Promise<number> {
    const t = this.info.type;
    if (t === 32) return readU32(await this.fatBytes(cluster * 4, 4), 0, true) & 0x0fffffff;
    if (t === 16) return readU16(await this.fatBytes(cluster * 2, 2), 0, true);
    const pair = readU16(await this.fatBytes((cluster * 3) >> 1, 2), 0, true);
    return cluster & 1 ? pair >> 4 : pair & 0xfff;
  }

  private isEnd(value: number): boolean {
    const t = this.info.type;
    return value >= (t === 32 ? 0x0ffffff8 : t === 16 ? 0xfff8 : 0xff8);
  }

  /**
   * The clusters of the chain starting at `first`, at most `limit` of them (FormatError if the
   * chain loops, hits a free/bad/out-of-range entry, or is longer than `limit` when `strict`).
   */
  async chain(first: number, limit: number, what: string, strict = true): Promise<number[]> {
    const max = this.info.clusterCount + 1;
    const out: number[] = [];
    const seen = new Set<number>();
    let c = first;
    for (;;) {
      if (c < 2 || c > max)
        fail(
          'BAD_CHAIN',
          `${what}: cluster ${c} is outside the clusters 2..${max}`,
          undefined,
          'the volume is damaged; fsck.fat can repair it',
        );
      if (seen.has(c))
        fail(
          'CHAIN_LOOP',
          `${what}: the cluster chain loops back to cluster ${c}`,
          undefined,
          'the volume is damaged; fsck.fat can repair it',
        );
      seen.add(c);
      out.push(c);
      if (out.length >= limit && !strict) return out;
      const next = await this.fatEntry(c);
      if (this.isEnd(next)) return out;
      if (out.length >= limit)
        fail('CHAIN_TOO_LONG', `${what}: the cluster chain is longer than the ${limit} clusters it can have`);
      if (next === 0) fail('BAD_CHAIN', `${what}: the chain runs into free cluster ${c}'s entry (0)`);
      c = next;
    }
  }

  private async readRegion(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.info.totalSectors * this.info.bytesPerSector)
      fail('BAD_CHAIN', `read of ${length} bytes at ${offset} is past the end of the volume`, this.base + offset);
    return this.source.read(this.base + offset, length);
  }

  /**
   * Raw bytes of a directory: the fixed FAT12/16 root (cluster 0) or a cluster chain, and where
   * byte `at` of them lies in the source (for messages).
   */
  private async directoryBytes(
    cluster: number,
    what: string,
  ): Promise<{ bytes: Uint8Array; offsetOf: (at: number) => number }> {
    const i = this.info;
    if (cluster === 0 && i.type !== 32) {
      const start = (i.reservedSectors + i.fats * i.fatSectors) * i.bytesPerSector;
      return { bytes: await this.readRegion(start, i.rootEntries * 32), offsetOf: (at) => this.base + start + at };
    }
    const limit = Math.ceil(MAX_DIR_BYTES / i.clusterSize) + 1;
    const clusters = await this.chain(cluster, limit, what);
    const out = new Uint8Array(clusters.length * i.clusterSize);
    for (let k = 0; k < clusters.length; k++)
      out.set(await this.readRegion(this.clusterOffset(clusters[k]!), i.clusterSize), k * i.clusterSize);
    const offsetOf = (at: number): number =>
      this.base + this.clusterOffset(clusters[Math.floor(at / i.clusterSize)]!) + (at % i.clusterSize);
    return { bytes: out, offsetOf };
  }

  private async rootLabel(): Promise<string | undefined> {
    const { bytes } = await this.directoryBytes(this.info.type === 32 ? this.info.rootCluster : 0, 'root directory');
    for (let at = 0; at + 32 <= bytes.length; at += 32) {
      const first = bytes[at]!;
      if (first === 0) break;
      const attr = bytes[at + 11]!;
      if (first === 0xe5 || attr === ATTR_LONG_NAME) continue;
      if (attr & ATTR_VOLUME_ID) {
        const raw = new Uint8Array(bytes.subarray(at, at + 11));
        if (raw[0] === 0x05) raw[0] = 0xe5;
        return readAscii(raw, 0, 11).replace(/ +$/, '');
      }
    }
    return undefined;
  }

  /** The entries of one directory (not recursive), given its first cluster (0 = FAT12/16 root). */
  async readDirectory(cluster: number, dirPath: string): Promise<FatEntry[]> {
    const { bytes, offsetOf } = await this.directoryBytes(
      cluster,
      dirPath === '' ? 'root directory' : `directory ${JSON.stringify(dirPath)}`,
    );
    const out: FatEntry[] = [];
    let longParts: string[] = [];
    let longExpect = 0;
    let longSum = -1;
    const seenNames = new Set<string>();
    for (let at = 0; at + 32 <= bytes.length; at += 32) {
      const first = bytes[at]!;
      if (first === 0) break;
      const attr = bytes[at + 11]!;
      if (first === 0xe5) {
        longExpect = 0;
        continue;
      }
      if ((attr & 0x3f) === ATTR_LONG_NAME) {
        const ord = first & 0x3f;
        if (first & 0x40) {
          longParts = [];
          longExpect = ord;
          longSum = bytes[at + 13]!;
          if (ord < 1 || ord > 20) longExpect = 0;
        } else if (longExpect === 0 || ord !== longExpect || bytes[at + 13] !== longSum) {
          longExpect = 0;
          continue;
        }
        if (longExpect === 0) continue;
        let part = '';
        for (const o of LONG_CHAR_OFFSETS) part += String.fromCharCode(bytes[at + o]! | (bytes[at + o + 1]! << 8));
        longParts[ord - 1] = part;
        longExpect = ord - 1 === 0 ? -1 : ord - 1; // -1: complete, waiting for the short entry
        continue;
      }
      const raw = bytes.subarray(at, at + 11);
      let longName: string | undefined;
      if (longExpect === -1 && shortNameChecksum(raw) === longSum) {
        const joined = longParts.join('');
        const end = joined.indexOf('\0');
        longName = end < 0 ? joined : joined.slice(0, end);
      }
      longExpect = 0;
      if (attr & ATTR_VOLUME_ID) continue;
      const nameBytes = new Uint8Array(raw);
      if (nameBytes[0] === 0x05) nameBytes[0] = 0xe5;
      const baseRaw = readAscii(nameBytes, 0, 8).replace(/ +$/, '');
      const extRaw = readAscii(nameBytes, 8, 3).replace(/ +$/, '');
      if (baseRaw === '.' || baseRaw === '..') continue;
      const caseBits = bytes[at + 12]!;
      const base = caseBits & 0x08 ? baseRaw.toLowerCase() : baseRaw;
      const ext = caseBits & 0x10 ? extRaw.toLowerCase() : extRaw;
      const shortName = extRaw ? `${baseRaw}.${extRaw}` : baseRaw;
      const name = longName || (ext ? `${base}.${ext}` : base);
      if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
        fail(
          'BAD_NAME',
          `directory ${JSON.stringify(dirPath || '/')} has an entry named ${JSON.stringify(name)}, which is not a valid file name`,
          offsetOf(at),
          'the volume is damaged or hostile; fsck.fat can check it',
        );
      }
      const key = name.toUpperCase();
      if (seenNames.has(key))
        fail(
          'DUPLICATE_NAME',
          `directory ${JSON.stringify(dirPath || '/')} has two entries named ${JSON.stringify(name)}`,
          offsetOf(at),
        );
      seenNames.add(key);
      const hi = this.info.type === 32 ? readU16(bytes, at + 20, true) : 0;
      const firstCluster = ((hi << 16) | readU16(bytes, at + 26, true)) >>> 0;
      out.push({
        path: dirPath ? `${dirPath}/${name}` : name,
        name,
        shortName,
        kind: attr & ATTR_DIRECTORY ? 'dir' : 'file',
        size: attr & ATTR_DIRECTORY ? 0 : readU32(bytes, at + 28, true),
        firstCluster,
        attributes: attr,
        mtime: fromDosDateTime(readU16(bytes, at + 24, true), readU16(bytes, at + 22, true)),
        recordOffset: offsetOf(at),
      });
    }
    return out;
  }

  /**
   * Every file and directory, parents before children (depth-first, in directory order).
   * A directory reached twice (a loop or a shared cluster) is a FormatError.
   */
  async list(): Promise<FatEntry[]> {
    const out: FatEntry[] = [];
    const visited = new Set<number>();
    const rootCluster = this.info.type === 32 ? this.info.rootCluster : 0;
    visited.add(rootCluster);
    const walk = async (cluster: number, path: string, depth: number): Promise<void> => {
      if (depth > FAT_MAX_DEPTH)
        fail(
          'TOO_DEEP',
          `directory ${JSON.stringify(path)} is nested more than ${FAT_MAX_DEPTH} levels deep`,
          undefined,
          'kiln reads (and writes) FAT trees up to that depth',
        );
      for (const e of await this.readDirectory(cluster, path)) {
        out.push(e);
        if (e.kind === 'dir') {
          if (e.firstCluster === 0 || visited.has(e.firstCluster)) {
            fail(
              'DIRECTORY_LOOP',
              `directory ${JSON.stringify(e.path)} points at cluster ${e.firstCluster}, which is ${e.firstCluster === 0 ? 'the root' : 'already another directory'}`,
              undefined,
              'the volume is damaged; fsck.fat can repair it',
            );
          }
          visited.add(e.firstCluster);
          await walk(e.firstCluster, e.path, depth + 1);
        }
      }
    };
    await walk(rootCluster, '', 0);
    return out;
  }

  /** Looks up an entry by path (case-insensitive, as FAT compares names). */
  async stat(path: string): Promise<FatEntry | undefined> {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    let cluster = this.info.type === 32 ? this.info.rootCluster : 0;
    let dirPath = '';
    let found: FatEntry | undefined;
    for (let k = 0; k < parts.length; k++) {
      const entries = await this.readDirectory(cluster, dirPath);
      found = entries.find(
        (e) => e.name.toUpperCase() === parts[k]!.toUpperCase() || e.shortName === parts[k]!.toUpperCase(),
      );
      if (!found) return undefined;
      if (k < parts.length - 1) {
        if (found.kind !== 'dir') return undefined;
        cluster = found.firstCluster;
        dirPath = found.path;
      }
    }
    return found;
  }

  /** Streams a file's bytes (contiguous clusters are read together, up to 1 MiB at a time). */
  async *readFile(entry: FatEntry): AsyncGenerator<Uint8Array> {
    if (entry.kind !== 'file') throw new KilnError('FAT_NOT_A_FILE', `${JSON.stringify(entry.path)} is a directory`);
    if (entry.size === 0) return;
    const cs = this.info.clusterSize;
    const needed = Math.ceil(entry.size / cs);
    if (needed > this.info.clusterCount)
      fail('BAD_SIZE', `${JSON.stringify(entry.path)} claims ${entry.size} bytes, more than the volume holds`);
    const clusters = await this.chain(entry.firstCluster, needed, JSON.stringify(entry.path), false);
    if (clusters.length < needed)
      fail(
        'CHAIN_TOO_SHORT',
        `${JSON.stringify(entry.path)} has ${entry.size} bytes but its chain has only ${clusters.length} clusters of ${cs}`,
      );
    let remaining = entry.size;
    for (let k = 0; k < clusters.length && remaining > 0;) {
      let run = 1;
      while (k + run < clusters.length && clusters[k + run] === clusters[k]! + run && run * cs < 1 << 20) run++;
      const n = Math.min(remaining, run * cs);
      yield await this.readRegion(this.clusterOffset(clusters[k]!), n);
      remaining -= n;
      k += run;
    }
  }

  /** Reads a whole file into memory (for small files; `maxBytes` default 64 MiB). */
  async readFileBytes(pathOrEntry: string | FatEntry, maxBytes = 64 << 20): Promise<Uint8Array> {
    const entry = typeof pathOrEntry === 'string' ? await this.stat(pathOrEntry) : pathOrEntry;
    if (!entry) throw new KilnError('FAT_NOT_FOUND', `${JSON.stringify(pathOrEntry)} is not in the FAT volume`);
    if (entry.size > maxBytes)
      throw new KilnError(
        'FAT_FILE_TOO_LARGE',
        `${JSON.stringify(entry.path)} has ${entry.size} bytes, more than the ${maxBytes} asked for`,
        { hint: 'stream it with readFile()' },
      );
    const out = new Uint8Array(entry.size);
    let at = 0;
    for await (const chunk of this.readFile(entry)) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /**
   * Extracts every file and directory under `dir` (created if needed) with the rules of
   * `extractEntries`: nothing is written outside `dir` or through a symlink already in it, and
   * nothing existing is replaced unless `overwrite`. Returns the entries extracted.
   * @example await fat.extract('out/esp', { overwrite: true });
   */
  async extract(dir: string, options: ExtractOptions = {}): Promise<FatEntry[]> {
    const entries = await this.list();
    const members = entries.map((e): ExtractEntry => {
      const common = {
        path: e.path,
        ...(e.mtime !== undefined ? { mtime: e.mtime } : {}),
        ...(e.recordOffset !== undefined ? { offset: e.recordOffset } : {}),
      };
      return e.kind === 'dir'
        ? { kind: 'dir', ...common }
        : { kind: 'file', ...common, content: () => this.readFile(e) };
    });
    await extractEntries(members, dir, { format: FORMAT, codePrefix: 'FAT' }, options);
    return entries;
  }

  /**
   * Counts free clusters by scanning the FAT (FAT entries of value 0), for checks and `ls`.
   */
  async countFree(): Promise<number> {
    let free = 0;
    for (let c = 2; c <= this.info.clusterCount + 1; c++) if ((await this.fatEntry(c)) === 0) free++;
    return free;
  }
}

/**
 * Opens a FAT volume (at `options.offset` inside `source`, e.g. a partition) and validates its BPB.
 * @example
 * const source = await FileSource.open('esp.img');
 * const fat = await openFat(source);
 * console.log(fat.info.type, fat.info.label, (await fat.list()).map((e) => e.path));
 */
export async function openFat(source: BlockSource, options: FatReadOptions = {}): Promise<FatVolume> {
  return FatVolume.open(source, options);
}

/**
 * Quick check whether `sector` (the first 512 bytes of a volume) looks like a FAT boot sector:
 * 0x55AA, a jump, and a sane BPB. For `kiln image ls` style detection.
 * @example isFatBootSector(await source.read(0, 512))
 */
export function isFatBootSector(sector: Uint8Array): boolean {
  if (sector.length < 512 || sector[510] !== 0x55 || sector[511] !== 0xaa) return false;
  if (!(sector[0] === 0xeb || sector[0] === 0xe9)) return false;
  const bps = readU16(sector, 11, true);
  const spc = sector[13]!;
  return (
    [512, 1024, 2048, 4096].includes(bps) &&
    spc > 0 &&
    (spc & (spc - 1)) === 0 &&
    readU16(sector, 14, true) > 0 &&
    sector[16]! > 0 &&
    (readU16(sector, 19, true) > 0 || readU32(sector, 32, true) > 0)
  );
}
