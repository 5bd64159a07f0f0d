/**
 * Fixed-LBA raw disks (the Portix layout): regions at given LBAs with size limits, patch points,
 * an optional MBR-registered partition filling the rest; reader.
 * @example
 * import { portixLayout, writeRawFile } from 'kiln/raw';
 * await writeRawFile('portix.img', portixLayout({ stage1, stage2, kernel, kernelLbaAt: 0x1f8 }));
 */
export { layoutRaw, writeRaw, writeRawFile, portixLayout, signBootSector, RAW_SECTOR_SIZE } from './write.js';
export type {
  RawOptions,
  RawRegionSpec,
  RawPatchSpec,
  RawPatchValue,
  RawPartitionSpec,
  RawLayout,
  RawRegionLayout,
  RawPatchLayout,
  RawPartitionLayout,
  PortixOptions,
} from './write.js';
export { readRaw } from './read.js';
export type { RawInfo, RawReadRegion, RawReadPatch } from './read.js';
