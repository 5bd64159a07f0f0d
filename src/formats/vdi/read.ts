/**
 * VDI reader: validates a VirtualBox VDI image (VDICore.h header v1.1, the checks of
 * vdiValidateHeader() in VirtualBox's VDI.cpp and of vdi_open()/vdi_check() in QEMU's
 * block/vdi.c) and exposes its virtual disk as a BlockSource, or streams it to raw.
 * Supported: normal (dynamic) and fixed base images; differencing/undo images are refused.
 */
import { FormatError, nameFile } from '../../errors.js';
import { sourceFile, type BlockSource, type ByteRange, type SparseSource } from '../io/block-source.js';
import type { BlockSink } from '../io/block-writer.js';
import { isZeroBlock } from '../io/zero-map.js';
import {
  decodeVdiHeader,
  NIL_GUID,
  VDI_BLOCK_ZERO,
  VDI_HEADER1_SIZE,
  VDI_MAX_BLOCKS,
  VDI_PREHEADER_SIZE,
  VDI_SECTOR_SIZE,
  VDI_TYPE_DIFF,
  VDI_TYPE_FIXED,
  VDI_TYPE_NORMAL,
  VDI_TYPE_UNDO,
  VDI_VERSION_1_1,
  type VdiHeader,
} from './_header.js';

function fail(code: string, message: string, offset: number, hint?: string): never {
  throw new FormatError('vdi', code, message, { offset, ...(hint ? { hint } : {}) });
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/**
 * An opened VDI image: its header, block map, and its virtual disk as a BlockSource.
 * @example const mbr = await (await openVdi(file)).read(0, 512);
 */
export class VdiImage implements SparseSource {
  readonly header: VdiHeader;
  /** Slot of every block; >= 0xfffffffe for a block not stored (reads as zeros). */
  readonly blockMap: Uint32Array;
  /** The image file. */
  readonly file: BlockSource;

  constructor(file: BlockSource, header: VdiHeader, blockMap: Uint32Array) {
    this.file = file;
    this.header = header;
    this.blockMap = blockMap;
  }

  /** Virtual disk size in bytes. */
  get size(): number {
    return this.header.diskSize;
  }

  /** Offset of block `index`'s data in the file, or -1 if the block is not stored. */
  blockOffset(index: number): number {
    const entry = this.blockMap[index]!;
    if (entry >= VDI_BLOCK_ZERO) return -1;
    const { offData, blockSize, blockExtra } = this.header;
    return offData + entry * (blockSize + blockExtra) + blockExtra;
  }

  /** The disk ranges of the stored blocks (consecutive blocks merged); everything else reads as zeros. */
  async *dataRanges(): AsyncGenerator<ByteRange> {
    const { blockSize, blocks, diskSize } = this.header;
    let start = -1;
    for (let i = 0; i <= blocks; i++) {
      const stored = i < blocks && this.blockMap[i]! < VDI_BLOCK_ZERO && i * blockSize < diskSize;
      if (stored && start < 0) start = i;
      else if (!stored && start >= 0) {
        yield { offset: start * blockSize, length: Math.min(diskSize, i * blockSize) - start * blockSize };
        start = -1;
      }
    }
  }

  /** Reads `length` bytes of the virtual disk at `offset` (unstored blocks read as zeros). */
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      const file = sourceFile(this.file);
      throw new FormatError(
        'vdi',
        'TRUNCATED',
        `needs ${length} bytes at offset ${offset} of a ${this.size}-byte disk`,
        { offset, ...(file ? { location: { file } } : {}) },
      );
    }
    const out = new Uint8Array(length);
    const { blockSize } = this.header;
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const index = Math.floor(at / blockSize);
      const inBlock = at - index * blockSize;
      const n = Math.min(blockSize - inBlock, length - done);
      const where = this.blockOffset(index);
      if (where >= 0) out.set(await this.file.read(where + inBlock, n), done);
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
 * Opens and validates a VDI image. Every header field is checked against the file size and
 * the format's limits before it is used; the block map is checked for out-of-range and
 * duplicate slots and for data past the end of the file.
 * @example
 * const vdi = await openVdi(await FileSource.open('disk.vdi'));
 * console.log(vdi.header.diskSize, vdi.header.uuidCreate);
 */
export async function openVdi(file: BlockSource): Promise<VdiImage> {
  try {
    return await readVdi(file);
  } catch (error) {
    throw nameFile(error, sourceFile(file)); // every check knows its offset; the file is named here
  }
}

async function readVdi(file: BlockSource): Promise<VdiImage> {
  const first = await file.read(0, Math.min(file.size, VDI_SECTOR_SIZE));
  const h = decodeVdiHeader(first);
  if (h.version !== VDI_VERSION_1_1) {
    fail(
      'VDI_UNSUPPORTED_VERSION',
      `header version ${h.version >>> 16}.${h.version & 0xffff} is not supported (only 1.1)`,
      0x44,
      'convert the image with a current VirtualBox (VBoxManage clonemedium) first',
    );
  }
  if (h.headerSize < VDI_HEADER1_SIZE || h.headerSize > VDI_SECTOR_SIZE - VDI_PREHEADER_SIZE) {
    fail(
      'VDI_BAD_HEADER',
      `header size ${h.headerSize} is outside [${VDI_HEADER1_SIZE}, ${VDI_SECTOR_SIZE - VDI_PREHEADER_SIZE}]`,
      0x48,
    );
  }
  if (h.imageType === VDI_TYPE_DIFF || h.imageType === VDI_TYPE_UNDO) {
    fail(
      'VDI_DIFFERENCING',
      `image type ${h.imageType} (${h.imageType === VDI_TYPE_DIFF ? 'differencing' : 'undo'}) needs its parent image`,
      0x4c,
      'merge the snapshot chain into a base image (VBoxManage clonemedium) first',
    );
  }
  if (h.imageType !== VDI_TYPE_NORMAL && h.imageType !== VDI_TYPE_FIXED)
    fail('VDI_BAD_HEADER', `unknown image type ${h.imageType}`, 0x4c);
  if (h.legacyGeometry.sectorSize !== VDI_SECTOR_SIZE)
    fail('VDI_BAD_SECTOR_SIZE', `sector size ${h.legacyGeometry.sectorSize} is not 512`, 0x168);
  if (h.lchsGeometry && h.lchsGeometry.sectorSize !== VDI_SECTOR_SIZE)
    fail('VDI_BAD_SECTOR_SIZE', `LCHS sector size ${h.lchsGeometry.sectorSize} is not 512`, 0x1d4);
  if (!isPowerOfTwo(h.blockSize) || h.blockSize < VDI_SECTOR_SIZE || h.blockSize > 1 << 28) {
    fail('VDI_BAD_HEADER', `block size ${h.blockSize} is not a power of two in [512, 256 MiB]`, 0x178);
  }
  if (
    h.blockExtra !== 0 &&
    (!isPowerOfTwo(h.blockExtra) || h.blockExtra % VDI_SECTOR_SIZE !== 0 || h.blockExtra > h.blockSize)
  ) {
    fail(
      'VDI_BAD_HEADER',
      `block extra size ${h.blockExtra} is not 0 or a sector-aligned power of two up to the block size`,
      0x17c,
    );
  }
  if (h.diskSize === 0) fail('VDI_BAD_HEADER', 'disk size is 0', 0x170);
  if (h.blocks === 0 || h.blocks > VDI_MAX_BLOCKS)
    fail('VDI_BAD_HEADER', `block count ${h.blocks} is outside [1, ${VDI_MAX_BLOCKS}]`, 0x180);
  if (h.blocks * h.blockSize < h.diskSize)
    fail(
      'VDI_BAD_HEADER',
      `${h.blocks} blocks of ${h.blockSize} bytes cannot hold a disk of ${h.diskSize} bytes`,
      0x170,
    );
  if (h.blocksAllocated > h.blocks)
    fail('VDI_BAD_HEADER', `${h.blocksAllocated} blocks allocated but the image has only ${h.blocks}`, 0x184);
  if (h.offBlocks < VDI_PREHEADER_SIZE + VDI_HEADER1_SIZE)
    fail('VDI_BAD_HEADER', `block map offset ${h.offBlocks} overlaps the header`, 0x154);
  if (h.offData < h.offBlocks + h.blocks * 4)
    fail('VDI_BAD_HEADER', `data offset ${h.offData} overlaps the block map (${h.offBlocks} + ${h.blocks * 4})`, 0x158);
  if (h.uuidLinkage !== NIL_GUID || h.uuidParentModify !== NIL_GUID) {
    fail(
      'VDI_DIFFERENCING',
      'the image links to a parent image',
      0x1a8,
      'merge the snapshot chain into a base image (VBoxManage clonemedium) first',
    );
  }
  if (h.offBlocks + h.blocks * 4 > file.size) {
    fail(
      'VDI_TRUNCATED',
      `the block map (${h.blocks * 4} bytes at ${h.offBlocks}) runs past the end of the ${file.size}-byte file`,
      h.offBlocks,
      'the file was cut short; copy it again',
    );
  }
  const raw = await file.read(h.offBlocks, h.blocks * 4);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const blockMap = new Uint32Array(h.blocks);
  const used = new Uint8Array(h.blocks);
  const stride = h.blockSize + h.blockExtra;
  let allocated = 0;
  for (let i = 0; i < h.blocks; i++) {
    const entry = view.getUint32(i * 4, true);
    blockMap[i] = entry;
    if (entry >= VDI_BLOCK_ZERO) continue;
    const at = h.offBlocks + i * 4;
    if (entry >= h.blocks)
      fail('VDI_BAD_BLOCK_MAP', `block ${i} points at slot ${entry}, the image has ${h.blocks} blocks`, at);
    if (used[entry]) fail('VDI_BAD_BLOCK_MAP', `slot ${entry} is used by two blocks (the second is block ${i})`, at);
    used[entry] = 1;
    // The last block of the disk may be stored short (only its part inside the disk).
    const need = Math.min(h.blockSize, h.diskSize - i * h.blockSize);
    if (h.offData + entry * stride + h.blockExtra + need > file.size) {
      fail(
        'VDI_TRUNCATED',
        `block ${i} (slot ${entry}) lies past the end of the ${file.size}-byte file`,
        at,
        'the file was cut short; copy it again',
      );
    }
    allocated++;
  }
  if (allocated !== h.blocksAllocated) {
    fail(
      'VDI_BAD_BLOCK_MAP',
      `the block map stores ${allocated} blocks but the header says ${h.blocksAllocated}`,
      0x184,
    );
  }
  return new VdiImage(file, h, blockMap);
}

/**
 * Streams the virtual disk of a VDI image into `sink` (of exactly the disk size): stored
 * blocks are copied, unstored ones left as holes (zeros). Returns the opened image.
 * @example
 * const vdi = await openVdi(await FileSource.open('disk.vdi'));
 * await writeImageFile('disk.img', vdi.size, (sink) => vdiToRaw(vdi, sink));
 */
export async function vdiToRaw(image: VdiImage, sink: BlockSink): Promise<void> {
  if (sink.size !== image.size) throw new RangeError(`"sink" expected ${image.size} bytes, got ${sink.size}`);
  const { blockSize, blocks, diskSize } = image.header;
  for (let i = 0; i < blocks; i++) {
    const where = image.blockOffset(i);
    if (where < 0) continue;
    const length = Math.min(blockSize, diskSize - i * blockSize);
    if (length <= 0) continue;
    const data = await image.file.read(where, length);
    if (!isZeroBlock(data)) await sink.writeContent(i * blockSize, data);
  }
}
