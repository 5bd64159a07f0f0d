/**
 * VDI layout: where the header, the block map and the stored blocks of a dynamic VirtualBox VDI
 * go, per VirtualBox's VDICore.h (VDIHEADER1PLUS, VDI_IMAGE_TYPE_NORMAL, VDI_DATA_ALIGN,
 * VDI_IMAGE_BLOCK_FREE) and the layout vdiInitHeader() in VDI.cpp produces: header at 0, block
 * map at offBlocks, blocks at offData, both aligned to 1 MiB by default.
 *
 * The block map's size depends only on the disk size, and stored blocks take slots in disk order,
 * so `vdiLayout` places the data before the disk is read and `layoutVdi` completes the plan
 * from the disk's zero map (both the two-phase writer and the one-pass conversion use them).
 * UUIDs are derived from the content fingerprint (or a caller's seed), never random.
 */
import { KilnError } from '../../errors.js';
import { alignUp } from '../../util/size.js';
import { toHex } from '../io/bytes.js';
import { deriveGuid, type Guid } from '../io/guid.js';
import type { ZeroMap } from '../io/zero-map.js';
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

function checkOptions(options: VdiOptions): number {
  const align = options.dataAlignment ?? VDI_DATA_ALIGN;
  if (!Number.isSafeInteger(align) || align < VDI_SECTOR_SIZE || (align & (align - 1)) !== 0) {
    throw new RangeError(`"dataAlignment" expected a power of two >= 512, got ${align}`);
  }
  return align;
}

/** Where things go in a VDI file of a given disk size: known before the disk is read. */
export interface VdiLayout {
  /** Virtual disk size (the raw size rounded up to a 512-byte sector). */
  readonly diskSize: number;
  readonly blocks: number;
  /** Offset of the block map. */
  readonly offBlocks: number;
  /** Offset of the first stored block; block slot `n` is at `offData + n * VDI_BLOCK_SIZE`. */
  readonly offData: number;
}

/**
 * Lays out the fixed part of a VDI file for a raw disk of `size` bytes (checks the size).
 * @example vdiLayout(160 << 20).offData // 2 MiB: header, block map at 1 MiB, data at 2 MiB
 */
export function vdiLayout(size: number, options: VdiOptions = {}): VdiLayout {
  const align = checkOptions(options);
  const diskSize = alignUp(size, VDI_SECTOR_SIZE);
  if (diskSize === 0) {
    throw new KilnError('VDI_EMPTY_DISK', 'the input disk is empty (0 bytes); VirtualBox refuses a VDI of size 0', {
      hint: 'give a raw disk image of at least 512 bytes',
    });
  }
  const blocks = Math.ceil(diskSize / VDI_BLOCK_SIZE);
  if (blocks > VDI_MAX_BLOCKS) {
    throw new KilnError(
      'VDI_TOO_LARGE',
      `the disk has ${blocks} blocks of 1 MiB, VDI allows at most ${VDI_MAX_BLOCKS}`,
      { hint: 'use VMDK for disks larger than 1 PiB' },
    );
  }
  const offBlocks = alignUp(VDI_HEADER_END, align);
  const offData = alignUp(offBlocks + blocks * 4, align);
  if (offData > 0xffffffff)
    throw new KilnError('VDI_TOO_LARGE', 'the block map does not fit below 4 GiB', {
      hint: 'use a smaller dataAlignment or VMDK',
    });
  return { diskSize, blocks, offBlocks, offData };
}

/**
 * Lays out a VDI file from the zero map of its disk (1 MiB units, as `scanZeroMap` makes it):
 * non-zero blocks get slots in disk order.
 * @example const plan = layoutVdi(await scanZeroMap(source, VDI_BLOCK_SIZE));
 */
export function layoutVdi(zeroMap: ZeroMap, options: VdiOptions = {}): VdiPlan {
  if (zeroMap.unit !== VDI_BLOCK_SIZE)
    throw new RangeError(`"zeroMap.unit" expected ${VDI_BLOCK_SIZE}, got ${zeroMap.unit}`);
  const { diskSize, blocks, offBlocks, offData } = vdiLayout(zeroMap.size, options);
  const blockMap = new Uint32Array(blocks).fill(VDI_BLOCK_FREE);
  let slot = 0;
  for (let i = 0; i < blocks; i++) if (zeroMap.nonZero[i]) blockMap[i] = slot++;
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
  return {
    fileSize: offData + slot * VDI_BLOCK_SIZE,
    diskSize,
    blockSize: VDI_BLOCK_SIZE,
    blocks,
    allocated: slot,
    blockMap,
    header,
    zeroMap,
  };
}

/**
 * The metadata of a planned VDI file: the header sector and the block map, with their offsets
 * (the stored blocks go to `plan.header.offData` onwards, in disk order).
 * @example for (const [offset, bytes] of vdiMetadata(plan)) await sink.write(offset, bytes);
 */
export function vdiMetadata(plan: VdiPlan): Array<[number, Uint8Array]> {
  const map = new Uint8Array(plan.blocks * 4);
  const view = new DataView(map.buffer);
  for (let i = 0; i < plan.blocks; i++) view.setUint32(i * 4, plan.blockMap[i]!, true);
  return [
    [0, encodeVdiHeader(plan.header)],
    [plan.header.offBlocks, map],
  ];
}
