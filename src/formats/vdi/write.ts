/**
 * VDI writer: a raw disk (any BlockSource) to a dynamic VirtualBox VDI image, per VirtualBox's
 * VDICore.h (VDIHEADER1PLUS, VDI_IMAGE_TYPE_NORMAL, VDI_DATA_ALIGN, VDI_IMAGE_BLOCK_FREE) and
 * the layout vdiInitHeader() in VDI.cpp produces: header at 0, block map at offBlocks, blocks at
 * offData, both aligned to 1 MiB by default.
 *
 * Two phases: `planVdi` scans the disk for all-zero 1 MiB blocks and lays the file out (its
 * size is known before a byte is written); `writeVdi` streams the non-zero blocks, in disk order,
 * to their slots through a BlockSink. All-zero blocks are not stored (block map 0xffffffff).
 * UUIDs are derived from the content fingerprint (or a caller's seed), never random.
 */
import { alignUp } from '../../util/size.js';
import type { BlockSource } from '../io/block-source.js';
import { writeImageFile, type BlockSink } from '../io/block-writer.js';
import { toHex } from '../io/bytes.js';
import { deriveGuid, type Guid } from '../io/guid.js';
import { copyRuns, scanZeroMap, type CopyRun, type ZeroMap } from '../io/zero-map.js';
import {
  encodeVdiHeader,
  NIL_GUID,
  VDI_BLOCK_FREE,
  VDI_BLOCK_SIZE,
  VDI_DATA_ALIGN,
  VDI_FILE_INFO,
  VDI_HEADER1PLUS_SIZE,
  VDI_HEADER_END,
  VDI_MAX_BLOCKS,
  VDI_SECTOR_SIZE,
  VDI_TYPE_NORMAL,
  VDI_VERSION_1_1,
  vdiLegacyGeometry,
  type VdiHeader,
} from './_header.js';
import { KilnError } from '../../errors.js';

/** Options of the VDI writer. */
export interface VdiOptions {
  /** Seed for the image UUIDs (default: a fingerprint of the disk content, so equal disks get equal UUIDs). */
  seed?: string;
  /** Image comment (UTF-8, at most 255 bytes; default empty). */
  comment?: string;
  /** Alignment of the block map and of the data area (power of two >= 512; default 1 MiB as VirtualBox). */
  dataAlignment?: number;
}

/** The layout of a VDI image, computed before anything is written. */
export interface VdiPlan {
  /** Size of the VDI file in bytes. */
  readonly fileSize: number;
  /** Virtual disk size (the raw size rounded up to a 512-byte sector). */
  readonly diskSize: number;
  readonly blockSize: number;
  readonly blocks: number;
  /** Blocks stored in the file (non-zero blocks). */
  readonly allocated: number;
  /** Block map: slot of every block, or 0xffffffff for a block not stored. */
  readonly blockMap: Uint32Array;
  readonly header: VdiHeader;
  readonly zeroMap: ZeroMap;
}

/** Result of writing a VDI image. */
export interface VdiWriteResult {
  readonly plan: VdiPlan;
  /** Bytes handed to the sink (header, block map and data blocks). */
  readonly bytesWritten: number;
}

function checkOptions(options: VdiOptions): number {
  const align = options.dataAlignment ?? VDI_DATA_ALIGN;
  if (!Number.isSafeInteger(align) || align < VDI_SECTOR_SIZE || (align & (align - 1)) !== 0) {
    throw new RangeError(`"dataAlignment" expected a power of two >= 512, got ${align}`);
  }
  return align;
}

/**
 * Phase 1: scans `source` for zero blocks and lays out the VDI file.
 * @example
 * const plan = await planVdi(await FileSource.open('disk.img'));
 * console.log(plan.fileSize, plan.allocated);
 */
export async function planVdi(source: BlockSource, options: VdiOptions = {}): Promise<VdiPlan> {
  const align = checkOptions(options);
  const diskSize = alignUp(source.size, VDI_SECTOR_SIZE);
  if (diskSize === 0) {
    throw new KilnError('VDI_EMPTY_DISK', 'the input disk is empty (0 bytes); VirtualBox refuses a VDI of size 0', { hint: 'give a raw disk image of at least 512 bytes' });
  }
  const blocks = Math.ceil(diskSize / VDI_BLOCK_SIZE);
  if (blocks > VDI_MAX_BLOCKS) {
    throw new KilnError('VDI_TOO_LARGE', `the disk has ${blocks} blocks of 1 MiB, VDI allows at most ${VDI_MAX_BLOCKS}`, { hint: 'use VMDK for disks larger than 1 PiB' });
  }
  const zeroMap = await scanZeroMap(source, VDI_BLOCK_SIZE, { fingerprint: options.seed === undefined });
  const blockMap = new Uint32Array(blocks).fill(VDI_BLOCK_FREE);
  let slot = 0;
  for (let i = 0; i < blocks; i++) if (zeroMap.nonZero[i]) blockMap[i] = slot++;
  const offBlocks = alignUp(VDI_HEADER_END, align);
  const offData = alignUp(offBlocks + blocks * 4, align);
  if (offData > 0xffffffff) throw new KilnError('VDI_TOO_LARGE', 'the block map does not fit below 4 GiB', { hint: 'use a smaller dataAlignment or VMDK' });
  const seed = options.seed ?? `vdi:${toHex(zeroMap.fingerprint)}`;
  const header: VdiHeader = {
    fileInfo: VDI_FILE_INFO,
    version: VDI_VERSION_1_1,
    headerSize: VDI_HEADER1PLUS_SIZE,
    imageType: VDI_TYPE_NORMAL,
    flags: 0,
    comment: options.comment ?? '',
    offBlocks,
    offData,
    legacyGeometry: vdiLegacyGeometry(diskSize),
    diskSize,
    blockSize: VDI_BLOCK_SIZE,
    blockExtra: 0,
    blocks,
    blocksAllocated: slot,
    uuidCreate: deriveGuid(seed, 'vdi/uuid-create') as Guid,
    uuidModify: deriveGuid(seed, 'vdi/uuid-modify') as Guid,
    uuidLinkage: NIL_GUID,
    uuidParentModify: NIL_GUID,
    // LCHS "not calculated" (0/0/0): VirtualBox derives it, as for the images it creates itself.
    lchsGeometry: { cylinders: 0, heads: 0, sectors: 0, sectorSize: VDI_SECTOR_SIZE },
  };
  encodeVdiHeader(header); // validates the comment length before anything is written
  return { fileSize: offData + slot * VDI_BLOCK_SIZE, diskSize, blockSize: VDI_BLOCK_SIZE, blocks, allocated: slot, blockMap, header, zeroMap };
}

/** Longest run of blocks copied with one read and one write (2 MiB measured faster than 8: the buffer stays in cache). */
const RUN_BLOCKS = 2;

/** The non-zero blocks as runs of consecutive blocks (consecutive slots too). */
function* vdiRuns(plan: VdiPlan, size: number): Generator<CopyRun> {
  const { blockSize, blocks, blockMap } = plan;
  for (let i = 0; i < blocks; ) {
    if (blockMap[i] === VDI_BLOCK_FREE) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < blocks && end - i < RUN_BLOCKS && blockMap[end] !== VDI_BLOCK_FREE) end++;
    const from = i * blockSize;
    yield { from, length: Math.min(size, end * blockSize) - from, to: plan.header.offData + blockMap[i]! * blockSize };
    i = end;
  }
}

/**
 * Phase 2: writes the planned image into `sink` (of size `plan.fileSize`), streaming the
 * non-zero blocks from `source` block run by block run.
 * @example
 * const plan = await planVdi(source);
 * await writeImageFile('disk.vdi', plan.fileSize, (sink) => writeVdi(source, sink, plan));
 */
export async function writeVdi(source: BlockSource, sink: BlockSink, plan: VdiPlan): Promise<VdiWriteResult> {
  if (sink.size !== plan.fileSize) throw new RangeError(`"sink" expected ${plan.fileSize} bytes, got ${sink.size}`);
  const before = sink.bytesWritten;
  await sink.write(0, encodeVdiHeader(plan.header));
  const map = new Uint8Array(plan.blocks * 4);
  const view = new DataView(map.buffer);
  for (let i = 0; i < plan.blocks; i++) view.setUint32(i * 4, plan.blockMap[i]!, true);
  await sink.write(plan.header.offBlocks, map);
  await copyRuns(source, sink, vdiRuns(plan, source.size), RUN_BLOCKS * plan.blockSize);
  return { plan, bytesWritten: sink.bytesWritten - before };
}

/**
 * Converts a raw disk to a VDI file at `path` (atomically: a temporary file renamed into place).
 * @example
 * const source = await FileSource.open('build/portix.img');
 * const { plan } = await writeVdiFile(source, 'build/dist/portix.vdi');
 * await source.close();
 */
export async function writeVdiFile(source: BlockSource, path: string, options: VdiOptions = {}): Promise<VdiWriteResult> {
  const plan = await planVdi(source, options);
  return writeImageFile(path, plan.fileSize, (sink) => writeVdi(source, sink, plan));
}
