/**
 * VirtualBox VDI pre-header and header v1.1 ("1.1 plus"), as VirtualBox's
 * src/VBox/Storage/VDICore.h defines them (VDIPREHEADER, VDIHEADER1, VDIHEADER1PLUS,
 * VDI_IMAGE_BLOCK_FREE/ZERO, VDI_DATA_ALIGN) and QEMU's block/vdi.c reads them (VdiHeader, vdi_open
 * checks). All fields are little-endian; UUIDs are RTUUID, i.e. the mixed-endian GUID layout.
 *
 * Layout (absolute offsets): 0x000 szFileInfo[64], 0x040 u32Signature, 0x044 u32Version,
 * 0x048 cbHeader, 0x04c u32Type, 0x050 fFlags, 0x054 szComment[256], 0x154 offBlocks,
 * 0x158 offData, 0x15c LegacyGeometry{cCylinders,cHeads,cSectors,cbSector}, 0x16c u32Dummy,
 * 0x170 cbDisk (u64), 0x178 cbBlock, 0x17c cbBlockExtra, 0x180 cBlocks, 0x184 cBlocksAllocated,
 * 0x188 uuidCreate, 0x198 uuidModify, 0x1a8 uuidLinkage, 0x1b8 uuidParentModify,
 * 0x1c8 LCHSGeometry (only when cbHeader >= 0x190), 0x1d8 end.
 */
import { FormatError } from '../../errors.js';
import { decodeUtf8, encodeUtf8, readU32, readU64, writeAscii, writeU32, writeU64 } from '../io/bytes.js';
import { guidFromBytes, guidToBytes, type Guid } from '../io/guid.js';

/** The VDI header signature (`u32Signature`, at offset 0x40). */
export const VDI_SIGNATURE = 0xbeda107f;
export const VDI_VERSION_1_1 = 0x00010001;
/** VirtualBox's szFileInfo text (VDI_IMAGE_FILE_INFO); "for eyes only". */
export const VDI_FILE_INFO = '<<< Oracle VM VirtualBox Disk Image >>>\n';
export const VDI_PREHEADER_SIZE = 0x48;
/** sizeof(VDIHEADER1): the v1.1 header QEMU writes. */
export const VDI_HEADER1_SIZE = 0x180;
/** sizeof(VDIHEADER1PLUS): the v1.1 header VirtualBox writes (adds the LCHS geometry). */
export const VDI_HEADER1PLUS_SIZE = 0x190;
export const VDI_HEADER_END = VDI_PREHEADER_SIZE + VDI_HEADER1PLUS_SIZE;
export const VDI_COMMENT_SIZE = 256;
export const VDI_SECTOR_SIZE = 512;
/** VDI_IMAGE_DEFAULT_BLOCK_SIZE; the only block size QEMU accepts. */
export const VDI_BLOCK_SIZE = 1 << 20;
/** VDI_DATA_ALIGN: VirtualBox aligns the block map and the data area to 1 MiB. */
export const VDI_DATA_ALIGN = 1 << 20;
/** VDI_IMAGE_BLOCK_FREE: never allocated (reads as zeros for a base image). */
export const VDI_BLOCK_FREE = 0xffffffff;
/** VDI_IMAGE_BLOCK_ZERO: discarded, reads as zeros. */
export const VDI_BLOCK_ZERO = 0xfffffffe;
/** QEMU's VDI_BLOCKS_IN_IMAGE_MAX. */
export const VDI_MAX_BLOCKS = 0x3fffffff;

export const VDI_TYPE_NORMAL = 1;
export const VDI_TYPE_FIXED = 2;
export const VDI_TYPE_UNDO = 3;
export const VDI_TYPE_DIFF = 4;

/** A disk geometry as VDIDISKGEOMETRY stores it. */
export interface VdiGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
  sectorSize: number;
}

/** The decoded VDI pre-header and v1.1 header. */
export interface VdiHeader {
  fileInfo: string;
  version: number;
  headerSize: number;
  imageType: number;
  flags: number;
  comment: string;
  offBlocks: number;
  offData: number;
  legacyGeometry: VdiGeometry;
  diskSize: number;
  blockSize: number;
  blockExtra: number;
  blocks: number;
  blocksAllocated: number;
  uuidCreate: Guid;
  uuidModify: Guid;
  uuidLinkage: Guid;
  uuidParentModify: Guid;
  /** Present when the header is VDIHEADER1PLUS (cbHeader >= 0x190). */
  lchsGeometry?: VdiGeometry;
}

export const NIL_GUID: Guid = '00000000-0000-0000-0000-000000000000';

function writeGeometry(buf: Uint8Array, at: number, g: VdiGeometry): void {
  writeU32(buf, at, g.cylinders, true);
  writeU32(buf, at + 4, g.heads, true);
  writeU32(buf, at + 8, g.sectors, true);
  writeU32(buf, at + 12, g.sectorSize, true);
}

function readGeometry(buf: Uint8Array, at: number): VdiGeometry {
  return {
    cylinders: readU32(buf, at, true),
    heads: readU32(buf, at + 4, true),
    sectors: readU32(buf, at + 8, true),
    sectorSize: readU32(buf, at + 12, true),
  };
}

/**
 * Serializes the pre-header and header into `buf` (at least 512 bytes; the rest is zeroed).
 * @example const sector = encodeVdiHeader(plan.header); // 512 bytes
 */
export function encodeVdiHeader(h: VdiHeader, buf: Uint8Array = new Uint8Array(VDI_SECTOR_SIZE)): Uint8Array {
  buf.fill(0, 0, VDI_SECTOR_SIZE);
  writeAscii(buf, 0, h.fileInfo, h.fileInfo.length, 0);
  writeU32(buf, 0x40, VDI_SIGNATURE, true);
  writeU32(buf, 0x44, h.version, true);
  writeU32(buf, 0x48, h.headerSize, true);
  writeU32(buf, 0x4c, h.imageType, true);
  writeU32(buf, 0x50, h.flags, true);
  const comment = encodeUtf8(h.comment);
  if (comment.length >= VDI_COMMENT_SIZE)
    throw new RangeError(`"comment" expected at most ${VDI_COMMENT_SIZE - 1} bytes, got ${comment.length}`);
  buf.set(comment, 0x54);
  writeU32(buf, 0x154, h.offBlocks, true);
  writeU32(buf, 0x158, h.offData, true);
  writeGeometry(buf, 0x15c, h.legacyGeometry);
  writeU64(buf, 0x170, h.diskSize, true);
  writeU32(buf, 0x178, h.blockSize, true);
  writeU32(buf, 0x17c, h.blockExtra, true);
  writeU32(buf, 0x180, h.blocks, true);
  writeU32(buf, 0x184, h.blocksAllocated, true);
  buf.set(guidToBytes(h.uuidCreate), 0x188);
  buf.set(guidToBytes(h.uuidModify), 0x198);
  buf.set(guidToBytes(h.uuidLinkage), 0x1a8);
  buf.set(guidToBytes(h.uuidParentModify), 0x1b8);
  if (h.lchsGeometry) writeGeometry(buf, 0x1c8, h.lchsGeometry);
  return buf;
}

/**
 * Decodes the first sector of a VDI file (no semantic checks beyond magic and length; see
 * `openVdi` for the validation).
 * @example decodeVdiHeader(await source.read(0, 512)).diskSize
 */
export function decodeVdiHeader(buf: Uint8Array): VdiHeader {
  if (buf.length < VDI_PREHEADER_SIZE + VDI_HEADER1_SIZE) {
    throw new FormatError(
      'vdi',
      'VDI_TRUNCATED',
      `the file has ${buf.length} bytes, a VDI header needs ${VDI_PREHEADER_SIZE + VDI_HEADER1_SIZE}`,
      {
        offset: 0,
        hint: 'the file is not a VDI image or was cut short',
      },
    );
  }
  const signature = readU32(buf, 0x40, true);
  if (signature !== VDI_SIGNATURE) {
    throw new FormatError(
      'vdi',
      'VDI_BAD_MAGIC',
      `signature is 0x${signature.toString(16).padStart(8, '0')}, expected 0xbeda107f`,
      {
        offset: 0x40,
        hint: 'the file is not a VirtualBox VDI image',
      },
    );
  }
  const nul = buf.subarray(0, 64).indexOf(0);
  const fileInfo = decodeUtf8(buf.subarray(0, nul < 0 ? 64 : nul));
  const cnul = buf.subarray(0x54, 0x154).indexOf(0);
  const comment = decodeUtf8(buf.subarray(0x54, 0x54 + (cnul < 0 ? VDI_COMMENT_SIZE : cnul)));
  const headerSize = readU32(buf, 0x48, true);
  let diskSize: number;
  try {
    diskSize = readU64(buf, 0x170, true);
  } catch {
    throw new FormatError('vdi', 'VDI_BAD_HEADER', 'disk size is larger than 2^53 bytes', { offset: 0x170 });
  }
  const header: VdiHeader = {
    fileInfo,
    version: readU32(buf, 0x44, true),
    headerSize,
    imageType: readU32(buf, 0x4c, true),
    flags: readU32(buf, 0x50, true),
    comment,
    offBlocks: readU32(buf, 0x154, true),
    offData: readU32(buf, 0x158, true),
    legacyGeometry: readGeometry(buf, 0x15c),
    diskSize,
    blockSize: readU32(buf, 0x178, true),
    blockExtra: readU32(buf, 0x17c, true),
    blocks: readU32(buf, 0x180, true),
    blocksAllocated: readU32(buf, 0x184, true),
    uuidCreate: guidFromBytes(buf, 0x188),
    uuidModify: guidFromBytes(buf, 0x198),
    uuidLinkage: guidFromBytes(buf, 0x1a8),
    uuidParentModify: guidFromBytes(buf, 0x1b8),
  };
  if (headerSize >= VDI_HEADER1PLUS_SIZE && buf.length >= VDI_HEADER_END)
    header.lchsGeometry = readGeometry(buf, 0x1c8);
  return header;
}

/**
 * The physical CHS geometry VBoxManage convertfromraw computes for a disk (16 heads, 63 sectors,
 * at most 16383 cylinders); kept in LegacyGeometry as older VirtualBox versions did.
 * @example vdiLegacyGeometry(160 << 20) // { cylinders: 325, heads: 16, sectors: 63, sectorSize: 512 }
 */
export function vdiLegacyGeometry(diskSize: number): VdiGeometry {
  return {
    cylinders: Math.min(Math.floor(diskSize / VDI_SECTOR_SIZE / 16 / 63), 16383),
    heads: 16,
    sectors: 63,
    sectorSize: VDI_SECTOR_SIZE,
  };
}
