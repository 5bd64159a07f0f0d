/**
 * Classic MBR disks: up to four primary partitions, boot code, derived disk signature; reader.
 * @example
 * import { writeMbrFile, readMbr } from 'kiln/mbr';
 * await writeMbrFile('disk.img', { size: '64M', partitions: [{ type: 'fat32', bootable: true, content: esp }] });
 */
export {
  layoutMbr,
  writeMbr,
  writeMbrFile,
  encodeMbrSector,
  writePartitionRecords,
  mbrTypeByte,
  deriveDiskSignature,
  MBR_TYPES,
  MBR_BOOT_CODE_SIZE,
  SECTOR_SIZE,
} from './write.js';
export type { MbrOptions, MbrPartitionSpec, MbrLayout, MbrPartitionLayout, MbrRecord, MbrTypeName } from './write.js';
export { readMbr, parseMbrSector, mbrTypeName } from './read.js';
export type { MbrInfo, MbrPartitionInfo } from './read.js';
export { lbaToChs, decodeChs } from './_chs.js';
export { fillRegion, checkContentFits } from './_region.js';
export type { RegionFill } from './_region.js';
