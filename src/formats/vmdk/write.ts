/**
 * VMDK writer, per VMware "Virtual Disk Format 5.0": a raw disk (any BlockSource) to
 * - `monolithicSparse` (Hosted Sparse Extents: header, embedded descriptor, redundant grain
 *   directory + grain tables, grain directory + grain tables, then 64 KiB grains; the layout
 *   QEMU's vmdk_init_extent() produces), or
 * - `streamOptimized` (Stream-Optimized Compressed Sparse Extents: header with gdOffset =
 *   GD_AT_END, embedded descriptor, deflate (zlib) compressed grains each behind a grain marker,
 *   a grain table marker + table after the grains it maps, the grain directory marker +
 *   directory, the footer marker + footer (a copy of the header with the real gdOffset), and the
 *   end-of-stream marker).
 * All-zero grains are not stored (grain table entry 0). Two phases: `planVmdk` scans (and, for
 * streamOptimized, compresses, so the compressed sizes are known) and lays out the file;
 * `writeVmdk` emits it through a BlockSink. CID and UUIDs derive from the content fingerprint
 * or a caller's seed.
 */
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { deflate as deflateCallback, deflateSync } from 'node:zlib';
import { KilnError } from '../../errors.js';
import { alignUp } from '../../util/size.js';
import type { BlockSource } from '../io/block-source.js';
import { writeImageFile, type BlockSink } from '../io/block-writer.js';
import { encodeUtf8, toHex } from '../io/bytes.js';
import { copyRuns, scanZeroMap, type CopyRun, type ZeroMap } from '../io/zero-map.js';
import {
  COMPRESSION_DEFLATE,
  COMPRESSION_NONE,
  DESCRIPTOR_SECTORS,
  encodeMarker,
  encodeSparseHeader,
  FLAG_COMPRESSED,
  FLAG_MARKERS,
  FLAG_NL_DETECT,
  FLAG_RGD,
  GRAIN_SECTORS,
  GTES_PER_GT,
  MARKER_EOS,
  MARKER_FOOTER,
  MARKER_GD,
  MARKER_GT,
  SECTOR,
  type SparseExtentHeader,
} from './_header.js';
import { buildDescriptor, deriveVmdkIds, vmdkGeometry, type VmdkDescriptorFields } from './descriptor.js';

const deflateAsync = promisify(deflateCallback) as (buf: Uint8Array, options: { level: number }) => Promise<Buffer>;

/** The VMDK subformats kiln writes. */
export type VmdkSubformat = 'monolithicSparse' | 'streamOptimized';

/** Options of the VMDK writer. */
export interface VmdkOptions {
  /** Default `monolithicSparse` (as `qemu-img convert -O vmdk`). */
  subformat?: VmdkSubformat;
  /** Seed for CID, ddb.uuid and ddb.longContentID (default: a fingerprint of the disk content). */
  seed?: string;
  /** File name on the descriptor's extent line (default: the output file's name, or `disk.vmdk`). */
  fileName?: string;
  /** ddb.adapterType (default `ide`); also picks the geometry's heads (16 for IDE, else 255). */
  adapterType?: VmdkDescriptorFields['adapterType'];
  /** zlib level for streamOptimized grains, 1-9 (default 6, zlib's default as QEMU and VMware use). */
  compressionLevel?: number;
  /** Compressed grains kept in memory between scan and emit (default 64 MiB); the rest are compressed again. */
  cacheBytes?: number;
}

/** The layout of a VMDK image, computed before anything is written. */
export interface VmdkPlan {
  readonly subformat: VmdkSubformat;
  /** Size of the VMDK file in bytes. */
  readonly fileSize: number;
  /** Virtual disk size in bytes (the raw size rounded up to a sector). */
  readonly diskSize: number;
  readonly grainBytes: number;
  readonly grains: number;
  /** Grains stored (non-zero). */
  readonly storedGrains: number;
  readonly gtCount: number;
  readonly gdSectors: number;
  readonly header: SparseExtentHeader;
  readonly descriptor: string;
  readonly zeroMap: ZeroMap;
  readonly compressionLevel: number;
  /** streamOptimized: compressed size of every grain (0 for a zero grain). */
  readonly compressedSizes?: Uint32Array;
  /** streamOptimized: compressed grains kept from the scan. */
  readonly cache?: Map<number, Uint8Array>;
}

/** Result of writing a VMDK image. */
export interface VmdkWriteResult {
  readonly plan: VmdkPlan;
  readonly bytesWritten: number;
}

const GRAIN_BYTES = GRAIN_SECTORS * SECTOR;
const GT_BYTES = GTES_PER_GT * 4;
const GT_SECTORS = GT_BYTES / SECTOR;
/** Bytes of a grain marker before the compressed data: lba (u64) + size (u32). */
const GRAIN_MARKER_BYTES = 12;

async function readGrain(source: BlockSource, index: number): Promise<Uint8Array> {
  const from = index * GRAIN_BYTES;
  const length = Math.min(GRAIN_BYTES, source.size - from);
  const data = await source.read(from, length);
  if (length === GRAIN_BYTES) return data;
  const full = new Uint8Array(GRAIN_BYTES);
  full.set(data);
  return full;
}

/**
 * Phase 1: scans `source` for zero grains (and compresses the others for streamOptimized) and
 * lays out the VMDK file.
 * @example
 * const plan = await planVmdk(source, { subformat: 'streamOptimized' });
 * console.log(plan.fileSize);
 */
export async function planVmdk(source: BlockSource, options: VmdkOptions = {}): Promise<VmdkPlan> {
  const subformat = options.subformat ?? 'monolithicSparse';
  if (subformat !== 'monolithicSparse' && subformat !== 'streamOptimized') {
    throw new KilnError('VMDK_BAD_SUBFORMAT', `unknown VMDK subformat ${JSON.stringify(subformat)}`, { hint: 'use monolithicSparse or streamOptimized' });
  }
  const level = options.compressionLevel ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new RangeError(`"compressionLevel" expected 1..9, got ${level}`);
  const capacity = Math.ceil(source.size / SECTOR);
  if (capacity === 0) throw new KilnError('VMDK_EMPTY_DISK', 'the input disk is empty (0 bytes)', { hint: 'give a raw disk image of at least 512 bytes' });
  const diskSize = capacity * SECTOR;
  const grains = Math.ceil(capacity / GRAIN_SECTORS);
  const gtCount = Math.ceil(grains / GTES_PER_GT);
  const gdSectors = Math.ceil((gtCount * 4) / SECTOR);
  const stream = subformat === 'streamOptimized';

  let compressedSizes: Uint32Array | undefined;
  let cache: Map<number, Uint8Array> | undefined;
  let onData: ((index: number, bytes: Uint8Array) => Promise<void>) | undefined;
  const pending: Array<Promise<void>> = [];
  if (stream) {
    const sizes = new Uint32Array(grains);
    const kept = new Map<number, Uint8Array>();
    let budget = options.cacheBytes ?? 64 << 20;
    compressedSizes = sizes;
    cache = kept;
    onData = async (index, bytes) => {
      let grain: Uint8Array;
      if (bytes.length === GRAIN_BYTES) grain = bytes.slice();
      else {
        grain = new Uint8Array(GRAIN_BYTES);
        grain.set(bytes);
      }
      pending.push(
        deflateAsync(grain, { level }).then((out) => {
          sizes[index] = out.length;
          if (out.length <= budget) {
            kept.set(index, new Uint8Array(out.buffer, out.byteOffset, out.length));
            budget -= out.length;
          }
        }),
      );
      if (pending.length >= 4) await pending.shift();
    };
  }
  const zeroMap = await scanZeroMap(source, GRAIN_BYTES, { ...(onData ? { onData } : {}), fingerprint: options.seed === undefined });
  await Promise.all(pending);

  const seed = options.seed ?? `vmdk:${toHex(zeroMap.fingerprint)}`;
  const ids = deriveVmdkIds(seed);
  const adapterType = options.adapterType ?? 'ide';
  const descriptor = buildDescriptor({
    cid: ids.cid,
    createType: subformat,
    capacity,
    // The extent line quotes the name: characters that would end it become '_'.
    fileName: (options.fileName ?? 'disk.vmdk').replace(/["\r\n\0]/g, '_') || 'disk.vmdk',
    uuid: ids.uuid,
    modificationUuid: ids.modificationUuid,
    longContentId: ids.longContentId,
    geometry: vmdkGeometry(capacity, adapterType),
    adapterType,
  });
  if (encodeUtf8(descriptor).length > DESCRIPTOR_SECTORS * SECTOR) {
    throw new KilnError('VMDK_DESCRIPTOR_TOO_LONG', `the descriptor needs more than ${DESCRIPTOR_SECTORS * SECTOR} bytes`, { hint: 'use a shorter fileName' });
  }

  const descriptorEnd = 1 + DESCRIPTOR_SECTORS;
  let header: SparseExtentHeader;
  let fileSectors: number;
  if (!stream) {
    const rgdOffset = descriptorEnd;
    const gdOffset = rgdOffset + gdSectors + gtCount * GT_SECTORS;
    const overHead = alignUp(gdOffset + gdSectors + gtCount * GT_SECTORS, GRAIN_SECTORS);
    header = {
      version: 1,
      flags: FLAG_NL_DETECT | FLAG_RGD,
      capacity,
      grainSize: GRAIN_SECTORS,
      descriptorOffset: 1,
      descriptorSize: DESCRIPTOR_SECTORS,
      numGTEsPerGT: GTES_PER_GT,
      rgdOffset,
      gdOffset,
      overHead,
      uncleanShutdown: 0,
      compressAlgorithm: COMPRESSION_NONE,
    };
    fileSectors = overHead + zeroMap.nonZeroCount * GRAIN_SECTORS;
  } else {
    const overHead = alignUp(descriptorEnd, GRAIN_SECTORS);
    let sector = overHead;
    for (let t = 0; t < gtCount; t++) {
      let any = false;
      const end = Math.min(grains, (t + 1) * GTES_PER_GT);
      for (let g = t * GTES_PER_GT; g < end; g++) {
        if (!zeroMap.nonZero[g]) continue;
        sector += Math.ceil((GRAIN_MARKER_BYTES + compressedSizes![g]!) / SECTOR);
        any = true;
      }
      if (any) sector += 1 + GT_SECTORS;
    }
    sector += 1 + gdSectors; // GD marker + GD
    sector += 3; // footer marker, footer, end-of-stream marker
    header = {
      version: 3,
      flags: FLAG_NL_DETECT | FLAG_COMPRESSED | FLAG_MARKERS,
      capacity,
      grainSize: GRAIN_SECTORS,
      descriptorOffset: 1,
      descriptorSize: DESCRIPTOR_SECTORS,
      numGTEsPerGT: GTES_PER_GT,
      rgdOffset: 0,
      gdOffset: 'end',
      overHead,
      uncleanShutdown: 0,
      compressAlgorithm: COMPRESSION_DEFLATE,
    };
    fileSectors = sector;
  }
  return {
    subformat,
    fileSize: fileSectors * SECTOR,
    diskSize,
    grainBytes: GRAIN_BYTES,
    grains,
    storedGrains: zeroMap.nonZeroCount,
    gtCount,
    gdSectors,
    header,
    descriptor,
    zeroMap,
    compressionLevel: level,
    ...(compressedSizes ? { compressedSizes } : {}),
    ...(cache ? { cache } : {}),
  };
}

/** Buffers sequential writes into large sink writes. */
class SequentialWriter {
  private readonly sink: BlockSink;
  private readonly buffer = new Uint8Array(4 << 20);
  private used = 0;
  private start: number;

  constructor(sink: BlockSink, position: number) {
    this.sink = sink;
    this.start = position;
  }

  get position(): number {
    return this.start + this.used;
  }

  get sector(): number {
    return this.position / SECTOR;
  }

  async append(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.length > this.buffer.length) await this.flush();
    if (bytes.length > this.buffer.length) {
      await this.sink.write(this.start, bytes);
      this.start += bytes.length;
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** Pads with zeros to the next sector boundary. */
  async padToSector(): Promise<void> {
    const pad = (SECTOR - (this.position % SECTOR)) % SECTOR;
    if (pad) await this.append(new Uint8Array(pad));
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.sink.write(this.start, this.buffer.subarray(0, this.used));
    this.start += this.used;
    this.used = 0;
  }
}

async function writeSparse(source: BlockSource, sink: BlockSink, plan: VmdkPlan): Promise<void> {
  const { header, gtCount, gdSectors, grains } = plan;
  const nonZero = plan.zeroMap.nonZero;
  const rgdOffset = header.rgdOffset;
  const gdOffset = header.gdOffset as number;
  const overHead = header.overHead;
  // Grain directories (redundant first, as QEMU lays them out), each followed by its tables.
  for (const dirSector of [rgdOffset, gdOffset]) {
    const gd = new Uint8Array(gdSectors * SECTOR);
    const view = new DataView(gd.buffer);
    for (let t = 0; t < gtCount; t++) view.setUint32(t * 4, dirSector + gdSectors + t * GT_SECTORS, true);
    await sink.write(dirSector * SECTOR, gd);
  }
  // Grain tables, in batches, written to both copies.
  const BATCH = 64;
  let ordinal = 0;
  for (let t0 = 0; t0 < gtCount; t0 += BATCH) {
    const t1 = Math.min(gtCount, t0 + BATCH);
    const tables = new Uint8Array((t1 - t0) * GT_BYTES);
    const view = new DataView(tables.buffer);
    const gEnd = Math.min(grains, t1 * GTES_PER_GT);
    for (let g = t0 * GTES_PER_GT; g < gEnd; g++) {
      if (nonZero[g]) view.setUint32((g - t0 * GTES_PER_GT) * 4, overHead + ordinal++ * GRAIN_SECTORS, true);
    }
    await sink.write((rgdOffset + gdSectors + t0 * GT_SECTORS) * SECTOR, tables);
    await sink.write((gdOffset + gdSectors + t0 * GT_SECTORS) * SECTOR, tables);
  }
  // Grains: runs of consecutive non-zero grains are contiguous in the file.
  const RUN = 32; // 2 MiB: measured faster than 8 MiB (the buffer stays in cache between read and write)
  const runs = function* (): Generator<CopyRun> {
    let ordinal = 0;
    for (let g = 0; g < grains; ) {
      if (!nonZero[g]) {
        g++;
        continue;
      }
      let end = g + 1;
      while (end < grains && end - g < RUN && nonZero[end]) end++;
      const from = g * GRAIN_BYTES;
      yield { from, length: Math.min(source.size, end * GRAIN_BYTES) - from, to: (overHead + ordinal * GRAIN_SECTORS) * SECTOR };
      ordinal += end - g;
      g = end;
    }
  };
  await copyRuns(source, sink, runs(), RUN * GRAIN_BYTES);
}

async function writeStream(source: BlockSource, sink: BlockSink, plan: VmdkPlan): Promise<void> {
  const { header, gtCount, gdSectors, grains, compressionLevel } = plan;
  const nonZero = plan.zeroMap.nonZero;
  const sizes = plan.compressedSizes!;
  const cache = plan.cache ?? new Map<number, Uint8Array>();
  const out = new SequentialWriter(sink, header.overHead * SECTOR);
  const gd = new Uint8Array(gdSectors * SECTOR);
  const gdView = new DataView(gd.buffer);
  // Grains not kept from the scan are compressed again, a few ahead on the thread pool.
  const ahead = new Map<number, Promise<Uint8Array>>();
  const missing: number[] = [];
  for (let g = 0; g < grains; g++) if (nonZero[g] && !cache.has(g)) missing.push(g);
  let next = 0;
  const refill = (): void => {
    while (ahead.size < 4 && next < missing.length) {
      const g = missing[next++]!;
      ahead.set(g, readGrain(source, g).then((grain) => deflateAsync(grain, { level: compressionLevel })).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.length)));
    }
  };
  const marker = new Uint8Array(GRAIN_MARKER_BYTES);
  const markerView = new DataView(marker.buffer);
  for (let t = 0; t < gtCount; t++) {
    const gt = new Uint8Array(GT_BYTES);
    const gtView = new DataView(gt.buffer);
    let any = false;
    const end = Math.min(grains, (t + 1) * GTES_PER_GT);
    for (let g = t * GTES_PER_GT; g < end; g++) {
      if (!nonZero[g]) continue;
      let data = cache.get(g);
      if (!data) {
        refill();
        const job = ahead.get(g) ?? Promise.resolve(deflateSync(await readGrain(source, g), { level: compressionLevel }));
        ahead.delete(g);
        data = await job;
        refill();
      }
      if (data.length !== sizes[g]) {
        throw new KilnError('VMDK_SOURCE_CHANGED', `grain ${g} compressed to ${data.length} bytes, ${sizes[g]} when planned`, { hint: 'the input disk changed during the conversion; run it again' });
      }
      gtView.setUint32((g - t * GTES_PER_GT) * 4, out.sector, true);
      markerView.setBigUint64(0, BigInt(g * GRAIN_SECTORS), true);
      markerView.setUint32(8, data.length, true);
      await out.append(marker);
      await out.append(data);
      await out.padToSector();
      any = true;
    }
    if (any) {
      await out.append(encodeMarker(GT_SECTORS, MARKER_GT));
      gdView.setUint32(t * 4, out.sector, true);
      await out.append(gt);
    }
  }
  await out.append(encodeMarker(gdSectors, MARKER_GD));
  const gdOffset = out.sector;
  await out.append(gd);
  await out.append(encodeMarker(1, MARKER_FOOTER));
  await out.append(encodeSparseHeader({ ...header, gdOffset }));
  await out.append(encodeMarker(0, MARKER_EOS));
  await out.flush();
  if (out.position !== plan.fileSize) throw new Error(`VMDK layout mismatch: wrote ${out.position} bytes, planned ${plan.fileSize}`);
}

/**
 * Phase 2: writes the planned image into `sink` (of size `plan.fileSize`).
 * @example
 * const plan = await planVmdk(source);
 * await writeImageFile('disk.vmdk', plan.fileSize, (sink) => writeVmdk(source, sink, plan));
 */
export async function writeVmdk(source: BlockSource, sink: BlockSink, plan: VmdkPlan): Promise<VmdkWriteResult> {
  if (sink.size !== plan.fileSize) throw new RangeError(`"sink" expected ${plan.fileSize} bytes, got ${sink.size}`);
  const before = sink.bytesWritten;
  await sink.write(0, encodeSparseHeader(plan.header));
  await sink.write(SECTOR, encodeUtf8(plan.descriptor));
  if (plan.subformat === 'streamOptimized') await writeStream(source, sink, plan);
  else await writeSparse(source, sink, plan);
  return { plan, bytesWritten: sink.bytesWritten - before };
}

/**
 * Converts a raw disk to a VMDK file at `path` (atomically). The descriptor's extent line names
 * the file itself.
 * @example
 * const source = await FileSource.open('build/portix.img');
 * await writeVmdkFile(source, 'build/dist/portix.vmdk', { subformat: 'streamOptimized' });
 * await source.close();
 */
export async function writeVmdkFile(source: BlockSource, path: string, options: VmdkOptions = {}): Promise<VmdkWriteResult> {
  const plan = await planVmdk(source, { ...options, fileName: options.fileName ?? basename(path) });
  return writeImageFile(path, plan.fileSize, (sink) => writeVmdk(source, sink, plan));
}
