/**
 * VMDK reader for hosted sparse extents with an embedded descriptor (monolithicSparse) and
 * stream-optimized compressed extents (streamOptimized), per VMware "Virtual Disk Format 5.0"
 * (Hosted Sparse Extent Header, Grain Directories and Grain Tables, Stream-Optimized Compressed
 * Sparse Extents, The Footer) and QEMU's block/vmdk.c (vmdk_open_vmdk4: footer at end - 1536,
 * get_cluster_offset, vmdk_read_extent). Grains are read through the grain directory and tables,
 * as QEMU does; every table and grain offset is checked against the file before it is read.
 */
import { inflateSync } from 'node:zlib';
import { FormatError, nameFile } from '../../errors.js';
import { sourceFile, type BlockSource, type ByteRange, type SparseSource } from '../io/block-source.js';
import type { BlockSink } from '../io/block-writer.js';
import { decodeUtf8, readU32 } from '../io/bytes.js';
import { isZeroBlock } from '../io/zero-map.js';
import {
  COMPRESSION_DEFLATE,
  COMPRESSION_NONE,
  decodeSparseHeader,
  FLAG_MARKERS,
  FLAG_ZERO_GRAIN,
  MARKER_EOS,
  MARKER_FOOTER,
  SECTOR,
  VMDK_MAGIC,
  type SparseExtentHeader,
} from './_header.js';
import { parseDescriptor, type VmdkDescriptor } from './descriptor.js';

function fail(code: string, message: string, offset: number, hint?: string): never {
  throw new FormatError('vmdk', code, message, { offset, ...(hint ? { hint } : {}) });
}

const MAX_DESCRIPTOR = 1 << 20;
const GT_CACHE = 64;
const MAX_GRAIN_SECTORS = 2048;

/**
 * An opened VMDK sparse extent: header, descriptor, and its virtual disk as a BlockSource.
 * @example const mbr = await (await openVmdk(file)).read(0, 512);
 */
export class VmdkImage implements SparseSource {
  readonly file: BlockSource;
  /** The extent header in effect (for streamOptimized: the footer, which has the real gdOffset). */
  readonly header: SparseExtentHeader;
  /** The embedded descriptor, if the extent has one. */
  readonly descriptor: VmdkDescriptor | undefined;
  readonly createType: string;
  readonly compressed: boolean;
  readonly gd: Uint32Array;
  private readonly grainBytes: number;
  private readonly gtBytes: number;
  private readonly gtCache = new Map<number, Uint32Array>();
  /** Last grains read, by file sector (an image may map several grains to one place). */
  private readonly grainCache = new Map<string, Uint8Array>();

  constructor(file: BlockSource, header: SparseExtentHeader, descriptor: VmdkDescriptor | undefined, gd: Uint32Array) {
    this.file = file;
    this.header = header;
    this.descriptor = descriptor;
    this.gd = gd;
    this.compressed = header.compressAlgorithm === COMPRESSION_DEFLATE;
    this.createType = descriptor?.createType ?? (this.compressed ? 'streamOptimized' : 'monolithicSparse');
    this.grainBytes = header.grainSize * SECTOR;
    this.gtBytes = header.numGTEsPerGT * 4;
  }

  /** Virtual disk size in bytes. */
  get size(): number {
    return this.header.capacity * SECTOR;
  }

  /** Number of grains of the virtual disk. */
  get grains(): number {
    return Math.ceil(this.header.capacity / this.header.grainSize);
  }

  /** Grain table `index` (entries are grain sectors; 0 = not stored), or undefined if the GD entry is 0. */
  async grainTable(index: number): Promise<Uint32Array | undefined> {
    return this.named(() => this.table(index));
  }

  /** Runs `work`, naming the image file in its error (the checks know only offsets). */
  private async named<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw nameFile(error, sourceFile(this.file));
    }
  }

  private async table(index: number): Promise<Uint32Array | undefined> {
    const cached = this.gtCache.get(index);
    if (cached) return cached;
    const sector = this.gd[index]!;
    if (sector === 0) return undefined;
    const at = sector * SECTOR;
    if (at + this.gtBytes > this.file.size)
      fail(
        'VMDK_TRUNCATED',
        `grain table ${index} (sector ${sector}) lies past the end of the ${this.file.size}-byte file`,
        at,
        'the file was cut short; copy it again',
      );
    const raw = await this.file.read(at, this.gtBytes);
    const table = new Uint32Array(this.header.numGTEsPerGT);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength); // one view per table, not per entry
    for (let i = 0; i < table.length; i++) table[i] = view.getUint32(i * 4, true);
    if (this.gtCache.size >= GT_CACHE) this.gtCache.delete(this.gtCache.keys().next().value!);
    this.gtCache.set(index, table);
    return table;
  }

  /** The grain table entry of grain `g` (0: not stored, reads as zeros). */
  async grainEntry(g: number): Promise<number> {
    const table = await this.table(Math.floor(g / this.header.numGTEsPerGT));
    if (!table) return 0;
    const entry = table[g % this.header.numGTEsPerGT]!;
    if (entry === 1 && this.header.flags & FLAG_ZERO_GRAIN) return 0;
    return entry;
  }

  /** The decompressed (or stored) bytes of grain `g` (a full grain), or undefined for a zero grain. */
  async grain(g: number): Promise<Uint8Array | undefined> {
    return this.named(() => this.readGrain(g));
  }

  private async readGrain(g: number): Promise<Uint8Array | undefined> {
    const entry = await this.grainEntry(g);
    if (entry === 0) return undefined;
    const key = `${g}:${entry}`;
    const cached = this.grainCache.get(key);
    if (cached) return cached;
    const data = this.compressed ? await this.readCompressed(g, entry) : await this.readPlain(g, entry);
    if (this.grainCache.size >= 4) this.grainCache.delete(this.grainCache.keys().next().value!);
    this.grainCache.set(key, data);
    return data;
  }

  private async readPlain(g: number, entry: number): Promise<Uint8Array> {
    const at = entry * SECTOR;
    const want = Math.min(this.grainBytes, this.size - g * this.grainBytes);
    if (at + want > this.file.size)
      fail(
        'VMDK_TRUNCATED',
        `grain ${g} (sector ${entry}) lies past the end of the ${this.file.size}-byte file`,
        at,
        'the file was cut short; copy it again',
      );
    const data = await this.file.read(at, want);
    if (want === this.grainBytes) return data;
    const full = new Uint8Array(this.grainBytes);
    full.set(data);
    return full;
  }

  private async readCompressed(g: number, entry: number): Promise<Uint8Array> {
    const at = entry * SECTOR;
    let compressed: Uint8Array;
    if (this.header.flags & FLAG_MARKERS) {
      if (at + 12 > this.file.size)
        fail('VMDK_TRUNCATED', `grain marker of grain ${g} lies past the end of the file`, at);
      const head = await this.file.read(at, 12);
      const view = new DataView(head.buffer, head.byteOffset, 12);
      const lba = view.getBigUint64(0, true);
      const size = view.getUint32(8, true);
      if (lba !== BigInt(g) * BigInt(this.header.grainSize))
        fail(
          'VMDK_BAD_GRAIN',
          `grain marker says LBA ${lba}, the grain table maps grain ${g} (LBA ${g * this.header.grainSize}) there`,
          at,
        );
      if (size === 0 || size > 2 * this.grainBytes + 1024)
        fail('VMDK_BAD_GRAIN', `compressed grain size ${size} is outside [1, ${2 * this.grainBytes + 1024}]`, at + 8);
      if (at + 12 + size > this.file.size)
        fail('VMDK_TRUNCATED', `compressed grain ${g} (${size} bytes) runs past the end of the file`, at);
      compressed = await this.file.read(at + 12, size);
    } else {
      if (at >= this.file.size)
        fail('VMDK_TRUNCATED', `grain ${g} (sector ${entry}) lies past the end of the file`, at);
      compressed = await this.file.read(at, Math.min(2 * this.grainBytes, this.file.size - at));
    }
    let plain: Buffer;
    try {
      plain = inflateSync(compressed, { maxOutputLength: this.grainBytes });
    } catch (error) {
      fail('VMDK_BAD_GRAIN', `grain ${g} does not inflate: ${(error as Error).message}`, at);
    }
    if (plain.length === this.grainBytes) return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
    const full = new Uint8Array(this.grainBytes);
    full.set(plain);
    return full;
  }

  /**
   * The disk ranges of the stored grains (consecutive grains merged); everything else reads as
   * zeros. Each grain table is read once: two directory entries sharing a table, or two grains
   * sharing a place in the file, are refused (they would let a small file describe a huge disk of
   * data, as the writer never makes them).
   */
  async *dataRanges(): AsyncGenerator<ByteRange> {
    try {
      yield* this.listRanges();
    } catch (error) {
      throw nameFile(error, sourceFile(this.file));
    }
  }

  private async *listRanges(): AsyncGenerator<ByteRange> {
    const perTable = this.header.numGTEsPerGT;
    const zeroGrain = (this.header.flags & FLAG_ZERO_GRAIN) !== 0;
    const tables = new Set<number>();
    const places = new Set<number>();
    let start = -1;
    let next = -1;
    for (let t = 0; t < this.gd.length;) {
      if (this.gd[t] === 0) {
        t++;
        continue;
      }
      // Tables that follow each other in the file are read together (up to 1 MiB).
      let count = 1;
      while (
        t + count < this.gd.length &&
        count < (1 << 20) / this.gtBytes &&
        this.gd[t + count]! * SECTOR === this.gd[t]! * SECTOR + count * this.gtBytes
      )
        count++;
      const at = this.gd[t]! * SECTOR;
      if (at + count * this.gtBytes > this.file.size)
        fail(
          'VMDK_TRUNCATED',
          `grain table ${t} (sector ${this.gd[t]}) lies past the end of the ${this.file.size}-byte file`,
          at,
          'the file was cut short; copy it again',
        );
      const raw = await this.file.read(at, count * this.gtBytes);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let k = 0; k < count; k++, t++) {
        const sector = this.gd[t]!;
        if (tables.has(sector)) {
          fail(
            'VMDK_BAD_GRAIN_DIRECTORY',
            `grain directory entry ${t} points at the grain table at sector ${sector}, which another entry already uses`,
            this.header.gdOffset === 'end' ? 0 : this.header.gdOffset * SECTOR + t * 4,
            'the grain directory is damaged',
          );
        }
        tables.add(sector);
        if (isZeroBlock(raw.subarray(k * this.gtBytes, (k + 1) * this.gtBytes))) continue; // no grain stored: one native compare
        const end = Math.min(this.grains, (t + 1) * perTable);
        for (let g = t * perTable; g < end; g++) {
          const entry = view.getUint32(k * this.gtBytes + (g - t * perTable) * 4, true);
          if (entry === 0 || (entry === 1 && zeroGrain)) continue;
          if (places.has(entry)) {
            fail(
              'VMDK_BAD_GRAIN_TABLE',
              `grain ${g} points at sector ${entry}, which another grain already uses`,
              sector * SECTOR + (g - t * perTable) * 4,
              'the grain tables are damaged',
            );
          }
          places.add(entry);
          if (g !== next) {
            if (start >= 0) yield this.grainRange(start, next);
            start = g;
          }
          next = g + 1;
        }
      }
    }
    if (start >= 0) yield this.grainRange(start, next);
  }

  private grainRange(first: number, end: number): ByteRange {
    const offset = first * this.grainBytes;
    return { offset, length: Math.min(this.size, end * this.grainBytes) - offset };
  }

  /** Reads `length` bytes of the virtual disk at `offset`. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.named(() => this.readDisk(offset, length));
  }

  private async readDisk(offset: number, length: number): Promise<Uint8Array> {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      throw new FormatError(
        'vmdk',
        'TRUNCATED',
        `needs ${length} bytes at offset ${offset} of a ${this.size}-byte disk`,
        { offset },
      );
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const g = Math.floor(at / this.grainBytes);
      const inGrain = at - g * this.grainBytes;
      const n = Math.min(this.grainBytes - inGrain, length - done);
      const data = await this.grain(g);
      if (data) out.set(data.subarray(inGrain, inGrain + n), done);
      done += n;
    }
    return out;
  }

  /** Closes the image file. */
  async close(): Promise<void> {
    await this.file.close();
  }
}

/**
 * Opens and validates a monolithicSparse or streamOptimized VMDK (a sparse extent with its
 * descriptor embedded). Descriptor-only files (monolithicFlat, split images) are refused with a
 * hint, as are images with a parent.
 * @example
 * const vmdk = await openVmdk(await FileSource.open('disk.vmdk'));
 * console.log(vmdk.createType, vmdk.size);
 */
export async function openVmdk(file: BlockSource): Promise<VmdkImage> {
  try {
    return await readVmdk(file);
  } catch (error) {
    throw nameFile(error, sourceFile(file)); // every check knows its offset; the file is named here
  }
}

async function readVmdk(file: BlockSource): Promise<VmdkImage> {
  const first = await file.read(0, Math.min(file.size, SECTOR));
  if (first.length < 4 || readU32(first, 0, true) !== VMDK_MAGIC) {
    const text = decodeUtf8(first.subarray(0, 64));
    if (/^(#|version=|\s*$)/.test(text) && text.includes('Disk DescriptorFile')) {
      fail(
        'VMDK_DESCRIPTOR_ONLY',
        'this is a VMDK descriptor file; its data is in separate extent files',
        0,
        'convert it to a single file first: qemu-img convert -O vmdk -o subformat=monolithicSparse in.vmdk out.vmdk',
      );
    }
    if (text.startsWith('COWD')) fail('VMDK_UNSUPPORTED', 'ESX "COWD" sparse extents are not supported', 0);
    fail('VMDK_BAD_MAGIC', 'the file does not start with "KDMV"', 0, 'the file is not a VMDK sparse image');
  }
  let header = decodeSparseHeader(first, 0, 0);
  if (header.gdOffset === 'end') {
    const end = Math.floor(file.size / SECTOR) * SECTOR;
    if (end < 4 * SECTOR)
      fail('VMDK_TRUNCATED', 'a streamOptimized image needs a footer and an end-of-stream marker', file.size);
    const tail = await file.read(end - 3 * SECTOR, 3 * SECTOR);
    const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    const footerMarkerOk = view.getUint32(8, true) === 0 && view.getUint32(12, true) === MARKER_FOOTER;
    const eosOk =
      view.getBigUint64(1024, true) === 0n &&
      view.getUint32(1032, true) === 0 &&
      view.getUint32(1036, true) === MARKER_EOS;
    if (!footerMarkerOk || !eosOk || readU32(tail, SECTOR, true) !== VMDK_MAGIC) {
      fail(
        'VMDK_BAD_FOOTER',
        'the header says the grain directory is at the end, but the file does not end with footer marker, footer and end-of-stream marker',
        end - 3 * SECTOR,
        'the stream was cut short or is not a streamOptimized VMDK',
      );
    }
    header = decodeSparseHeader(tail, SECTOR, end - 2 * SECTOR);
    if (header.gdOffset === 'end')
      fail('VMDK_BAD_FOOTER', 'the footer does not give the grain directory offset', end - 2 * SECTOR + 56);
  }
  if (header.version < 1 || header.version > 3)
    fail('VMDK_UNSUPPORTED_VERSION', `sparse extent version ${header.version} is not supported (1 to 3)`, 4);
  if (header.compressAlgorithm !== COMPRESSION_NONE && header.compressAlgorithm !== COMPRESSION_DEFLATE) {
    fail(
      'VMDK_UNSUPPORTED',
      `compression algorithm ${header.compressAlgorithm} is not supported (0 or 1 = deflate)`,
      77,
    );
  }
  const g = header.grainSize;
  // The format allows any power of two; every known writer uses 128 sectors (64 KiB). kiln caps
  // grains at 1 MiB so a damaged header cannot make it allocate gigabytes per grain.
  if (g < 1 || g > MAX_GRAIN_SECTORS || (g & (g - 1)) !== 0)
    fail('VMDK_BAD_HEADER', `grain size ${g} sectors is not a power of two up to ${MAX_GRAIN_SECTORS}`, 20);
  const n = header.numGTEsPerGT;
  if (n < 1 || n > 512) fail('VMDK_BAD_HEADER', `numGTEsPerGT ${n} is outside [1, 512]`, 44);
  if (header.capacity === 0) fail('VMDK_BAD_HEADER', 'capacity is 0', 12);
  if (header.capacity * SECTOR > Number.MAX_SAFE_INTEGER)
    fail('VMDK_BAD_HEADER', `capacity ${header.capacity} sectors is too large`, 12);
  const gdEntries = Math.ceil(header.capacity / (n * g));
  const gdAt = (header.gdOffset as number) * SECTOR;
  if (!Number.isSafeInteger(gdAt) || gdAt + gdEntries * 4 > file.size) {
    fail(
      'VMDK_TRUNCATED',
      `the grain directory (${gdEntries} entries at sector ${header.gdOffset}) runs past the end of the ${file.size}-byte file`,
      56,
      'the file was cut short or its header is damaged',
    );
  }
  let descriptor: VmdkDescriptor | undefined;
  if (header.descriptorOffset !== 0 && header.descriptorSize !== 0) {
    const at = header.descriptorOffset * SECTOR;
    if (!Number.isSafeInteger(at) || at >= file.size)
      fail('VMDK_TRUNCATED', `the descriptor (sector ${header.descriptorOffset}) lies past the end of the file`, 28);
    const length = Math.min(header.descriptorSize * SECTOR, MAX_DESCRIPTOR, file.size - at);
    const raw = await file.read(at, length);
    const nul = raw.indexOf(0);
    descriptor = parseDescriptor(decodeUtf8(nul < 0 ? raw : raw.subarray(0, nul)), at);
    if (
      (descriptor.parentCid !== undefined && descriptor.parentCid !== 0xffffffff) ||
      descriptor.parentFileNameHint !== undefined
    ) {
      fail(
        'VMDK_DIFFERENCING',
        'the image is a delta of a parent image',
        at,
        'merge it with its parent first (qemu-img convert on the child)',
      );
    }
  }
  const rawGd = await file.read(gdAt, gdEntries * 4);
  const gd = new Uint32Array(gdEntries);
  const gdView = new DataView(rawGd.buffer, rawGd.byteOffset, rawGd.byteLength);
  for (let i = 0; i < gdEntries; i++) gd[i] = gdView.getUint32(i * 4, true);
  return new VmdkImage(file, header, descriptor, gd);
}

/**
 * Streams the virtual disk of a VMDK image into `sink` (of exactly the disk size); grains not
 * stored are left as holes.
 * @example
 * const vmdk = await openVmdk(await FileSource.open('disk.vmdk'));
 * await writeImageFile('disk.img', vmdk.size, (sink) => vmdkToRaw(vmdk, sink));
 */
export async function vmdkToRaw(image: VmdkImage, sink: BlockSink): Promise<void> {
  try {
    await copyGrains(image, sink);
  } catch (error) {
    throw nameFile(error, sourceFile(image.file));
  }
}

async function copyGrains(image: VmdkImage, sink: BlockSink): Promise<void> {
  if (sink.size !== image.size) throw new RangeError(`"sink" expected ${image.size} bytes, got ${sink.size}`);
  const grainBytes = image.header.grainSize * SECTOR;
  const grains = image.grains;
  const perTable = image.header.numGTEsPerGT;
  const zeroGrain = (image.header.flags & FLAG_ZERO_GRAIN) !== 0;
  // Every stored grain has its own place in the file: a place used twice is damage (and would let
  // a small file expand into unbounded work).
  const used = new Set<number>();
  for (let t = 0; t < image.gd.length; t++) {
    const table = await image.grainTable(t);
    if (!table) continue;
    const end = Math.min(grains, (t + 1) * perTable);
    for (let g = t * perTable; g < end; g++) {
      const entry = table[g - t * perTable]!;
      if (entry === 0 || (entry === 1 && zeroGrain)) continue;
      if (used.has(entry)) {
        fail(
          'VMDK_BAD_GRAIN_TABLE',
          `grain ${g} points at sector ${entry}, which another grain already uses`,
          image.gd[t]! * SECTOR + (g - t * perTable) * 4,
          'the grain tables are damaged',
        );
      }
      used.add(entry);
      const data = await image.grain(g);
      if (!data || isZeroBlock(data)) continue;
      const from = g * grainBytes;
      await sink.writeContent(from, data.subarray(0, Math.min(grainBytes, image.size - from)));
    }
  }
}
