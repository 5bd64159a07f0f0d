/**
 * VMDK layout, per VMware "Virtual Disk Format 5.0": where the header, the embedded descriptor,
 * the grain directories and tables and the grains of a hosted sparse extent go.
 * - `monolithicSparse` (Hosted Sparse Extents): header, descriptor, redundant grain directory +
 *   grain tables, grain directory + grain tables, then 64 KiB grains from `overHead`, stored in
 *   disk order (the layout QEMU's vmdk_init_extent() produces).
 * - `streamOptimized` (Stream-Optimized Compressed Sparse Extents): header with gdOffset =
 *   GD_AT_END and the descriptor, then the body `_stream.ts` emits from `overHead`.
 * Everything before the grains depends only on the disk size (`vmdkLayout`, known before the
 * disk is read); `layoutVmdk` completes the plan from the disk's zero map. CID and UUIDs derive
 * from the content fingerprint or a caller's seed.
 */
import { KilnError } from '../../errors.js';
import { alignUp } from '../../util/size.js';
import { encodeUtf8, toHex } from '../io/bytes.js';
import type { ZeroMap } from '../io/zero-map.js';
import {
  COMPRESSION_DEFLATE,
  COMPRESSION_NONE,
  DESCRIPTOR_SECTORS,
  encodeSparseHeader,
  FLAG_COMPRESSED,
  FLAG_MARKERS,
  FLAG_NL_DETECT,
  FLAG_RGD,
  GRAIN_SECTORS,
  GTES_PER_GT,
  SECTOR,
  type SparseExtentHeader,
} from './_header.js';
import { buildDescriptor, deriveVmdkIds, vmdkGeometry, type VmdkDescriptorFields } from './descriptor.js';

/** A grain (64 KiB), a grain table and its sectors. */
export const GRAIN_BYTES = GRAIN_SECTORS * SECTOR;
export const GT_BYTES = GTES_PER_GT * 4;
export const GT_SECTORS = GT_BYTES / SECTOR;
/** Bytes of a grain marker before the compressed data: lba (u64) + size (u32). */
export const GRAIN_MARKER_BYTES = 12;

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

/** Where things go in a VMDK file of a given disk size: known before the disk is read. */
export interface VmdkLayout {
  readonly subformat: VmdkSubformat;
  /** Virtual disk size in bytes (the raw size rounded up to a sector). */
  readonly diskSize: number;
  /** Capacity in sectors. */
  readonly capacity: number;
  readonly grains: number;
  readonly gtCount: number;
  readonly gdSectors: number;
  /**
   * The extent header (for streamOptimized, with gdOffset 'end'). Grains start at sector
   * `header.overHead`: for monolithicSparse, stored grain `n` is at `(overHead + n * 128) * 512`.
   */
  readonly header: SparseExtentHeader;
}

/** The layout of a VMDK image, computed before anything is written. */
export interface VmdkPlan extends VmdkLayout {
  /** Size of the VMDK file in bytes. */
  readonly fileSize: number;
  readonly grainBytes: number;
  /** Grains stored (non-zero). */
  readonly storedGrains: number;
  readonly descriptor: string;
  readonly zeroMap: ZeroMap;
  readonly compressionLevel: number;
  /** streamOptimized: compressed size of every grain (0 for a zero grain). */
  readonly compressedSizes?: Uint32Array;
  /** streamOptimized: compressed grains kept from the scan. */
  readonly cache?: Map<number, Uint8Array>;
}

/** Refuses a subformat kiln does not write. */
export function checkSubformat(subformat: string): asserts subformat is VmdkSubformat {
  if (subformat !== 'monolithicSparse' && subformat !== 'streamOptimized') {
    throw new KilnError('VMDK_BAD_SUBFORMAT', `unknown VMDK subformat ${JSON.stringify(subformat)}`, {
      hint: 'use monolithicSparse or streamOptimized',
    });
  }
}

/** The zlib level of the options (default 6), checked. */
export function checkLevel(options: VmdkOptions): number {
  const level = options.compressionLevel ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9)
    throw new RangeError(`"compressionLevel" expected 1..9, got ${level}`);
  return level;
}

/**
 * Lays out the fixed part of a VMDK file for a raw disk of `size` bytes (checks the size).
 * @example vmdkLayout(160 << 20, 'monolithicSparse').header.overHead // 128 sectors
 */
export function vmdkLayout(size: number, subformat: VmdkSubformat = 'monolithicSparse'): VmdkLayout {
  checkSubformat(subformat);
  const capacity = Math.ceil(size / SECTOR);
  if (capacity === 0)
    throw new KilnError('VMDK_EMPTY_DISK', 'the input disk is empty (0 bytes)', {
      hint: 'give a raw disk image of at least 512 bytes',
    });
  const grains = Math.ceil(capacity / GRAIN_SECTORS);
  const gtCount = Math.ceil(grains / GTES_PER_GT);
  const gdSectors = Math.ceil((gtCount * 4) / SECTOR);
  const descriptorEnd = 1 + DESCRIPTOR_SECTORS;
  const common = {
    capacity,
    grainSize: GRAIN_SECTORS,
    descriptorOffset: 1,
    descriptorSize: DESCRIPTOR_SECTORS,
    numGTEsPerGT: GTES_PER_GT,
    uncleanShutdown: 0,
  };
  let header: SparseExtentHeader;
  if (subformat === 'monolithicSparse') {
    const rgdOffset = descriptorEnd;
    const gdOffset = rgdOffset + gdSectors + gtCount * GT_SECTORS;
    const overHead = alignUp(gdOffset + gdSectors + gtCount * GT_SECTORS, GRAIN_SECTORS);
    header = {
      ...common,
      version: 1,
      flags: FLAG_NL_DETECT | FLAG_RGD,
      rgdOffset,
      gdOffset,
      overHead,
      compressAlgorithm: COMPRESSION_NONE,
    };
  } else {
    const overHead = alignUp(descriptorEnd, GRAIN_SECTORS);
    header = {
      ...common,
      version: 3,
      flags: FLAG_NL_DETECT | FLAG_COMPRESSED | FLAG_MARKERS,
      rgdOffset: 0,
      gdOffset: 'end',
      overHead,
      compressAlgorithm: COMPRESSION_DEFLATE,
    };
  }
  return { subformat, diskSize: capacity * SECTOR, capacity, grains, gtCount, gdSectors, header };
}

/**
 * Lays out a VMDK file from the zero map of its disk (64 KiB units, as `scanZeroMap` makes it)
 * and, for streamOptimized, the compressed size of every stored grain.
 * @example const plan = layoutVmdk(await scanZeroMap(source, 65536), { fileName: 'disk.vmdk' });
 */
export function layoutVmdk(zeroMap: ZeroMap, options: VmdkOptions = {}, compressedSizes?: Uint32Array): VmdkPlan {
  const layout = vmdkLayout(zeroMap.size, options.subformat ?? 'monolithicSparse');
  const level = checkLevel(options);
  const { subformat, capacity, grains, gtCount, gdSectors, header } = layout;
  if (zeroMap.unit !== GRAIN_BYTES) throw new RangeError(`"zeroMap.unit" expected ${GRAIN_BYTES}, got ${zeroMap.unit}`);
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
    throw new KilnError(
      'VMDK_DESCRIPTOR_TOO_LONG',
      `the descriptor needs more than ${DESCRIPTOR_SECTORS * SECTOR} bytes`,
      { hint: 'use a shorter fileName' },
    );
  }
  let fileSectors: number;
  if (subformat === 'monolithicSparse') fileSectors = header.overHead + zeroMap.nonZeroCount * GRAIN_SECTORS;
  else {
    if (!compressedSizes) throw new TypeError('"compressedSizes" expected for streamOptimized');
    let sector = header.overHead;
    for (let t = 0; t < gtCount; t++) {
      let any = false;
      const end = Math.min(grains, (t + 1) * GTES_PER_GT);
      for (let g = t * GTES_PER_GT; g < end; g++) {
        if (!zeroMap.nonZero[g]) continue;
        sector += Math.ceil((GRAIN_MARKER_BYTES + compressedSizes[g]!) / SECTOR);
        any = true;
      }
      if (any) sector += 1 + GT_SECTORS;
    }
    sector += 1 + gdSectors; // GD marker + GD
    sector += 3; // footer marker, footer, end-of-stream marker
    fileSectors = sector;
  }
  return {
    ...layout,
    fileSize: fileSectors * SECTOR,
    grainBytes: GRAIN_BYTES,
    storedGrains: zeroMap.nonZeroCount,
    descriptor,
    zeroMap,
    compressionLevel: level,
    ...(compressedSizes ? { compressedSizes } : {}),
  };
}

/**
 * The header sector and the embedded descriptor of a planned VMDK file, with their offsets.
 * @example for (const [offset, bytes] of vmdkHead(plan)) await sink.write(offset, bytes);
 */
export function vmdkHead(plan: VmdkPlan): Array<[number, Uint8Array]> {
  return [
    [0, encodeSparseHeader(plan.header)],
    [SECTOR, encodeUtf8(plan.descriptor)],
  ];
}

/**
 * The grain directories and grain tables of a planned monolithicSparse file (redundant copy
 * first, as QEMU lays them out), with their offsets, in batches of up to 64 tables. Stored grains
 * are numbered in disk order from sector `header.overHead`.
 * @example for (const [offset, bytes] of sparseTables(plan)) await sink.write(offset, bytes);
 */
export function* sparseTables(plan: VmdkPlan): Generator<[number, Uint8Array]> {
  const { header, gtCount, gdSectors, grains } = plan;
  const nonZero = plan.zeroMap.nonZero;
  const rgdOffset = header.rgdOffset;
  const gdOffset = header.gdOffset as number;
  const overHead = header.overHead;
  for (const dirSector of [rgdOffset, gdOffset]) {
    const gd = new Uint8Array(gdSectors * SECTOR);
    const view = new DataView(gd.buffer);
    for (let t = 0; t < gtCount; t++) view.setUint32(t * 4, dirSector + gdSectors + t * GT_SECTORS, true);
    yield [dirSector * SECTOR, gd];
  }
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
    yield [(rgdOffset + gdSectors + t0 * GT_SECTORS) * SECTOR, tables];
    yield [(gdOffset + gdSectors + t0 * GT_SECTORS) * SECTOR, tables];
  }
}
