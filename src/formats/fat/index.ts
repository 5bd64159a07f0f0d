/**
 * FAT12/16/32 (Microsoft fatgen103 v1.03): formatter, EFI System Partition helper and reader.
 * @example
 * import { buildTree, writeImageFile } from 'kiln/io';
 * import { writeFat, openFat } from 'kiln/fat';
 * await writeImageFile('esp.img', 64 << 20, (sink) => writeFat(sink, buildTree({ 'EFI/BOOT/BOOTX64.EFI': loader }), { type: 32 }));
 */
export { writeFat, planFat, fatFiller, esp, ESP_TYPE_GUID } from './write.js';
export type { FatOptions, FatResult, FatPlan, FatFiller, EspOptions, EspPartition } from './write.js';
export { openFat, FatVolume, isFatBootSector } from './read.js';
export type { FatInfo, FatEntry, FatReadOptions } from './read.js';
export { computeGeometry, MIN_CLUST_32 } from './_geometry.js';
export type { FatType, Geometry, GeometryOptions } from './_geometry.js';
export { assignShortNames, shortNameChecksum, checkLongName } from './_names.js';
export type { ShortName } from './_names.js';
