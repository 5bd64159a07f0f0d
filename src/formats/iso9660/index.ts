/**
 * ISO9660 (ECMA-119) with Rock Ridge, Joliet, El Torito and hybrid MBR/GPT: writer and reader.
 * @example
 * import { writeIsoFile, readIso } from 'kiln/iso9660';
 * await writeIsoFile('out.iso', buildTree({ 'boot/kernel.elf': await fileContent('kernel.elf') }), { hybrid: true });
 */
export {
  type IsoOptions,
  type IsoPlan,
  type WriteIsoOptions,
  planIso,
  writeIso,
  writeIsoFile,
  isoFiller,
  isoVolumeUuid,
} from './writer.js';
export {
  type IsoEntry,
  type IsoImage,
  type ReadIsoOptions,
  type ExtractResult,
  readIso,
  readIsoFile,
  readIsoFileBytes,
  isoToTree,
  extractIso,
} from './reader.js';
export {
  type BootEntrySpec,
  type RegionFiller,
  type ElToritoSpec,
  type CatalogEntry,
  type BootCatalog,
  type HddImageInfo,
  buildBootCatalog,
  parseBootCatalog,
  patchBootInfoTable,
  patchGrub2BootInfo,
  checkHddImage,
  PLATFORM_EFI,
  PLATFORM_X86,
  MEDIA_HARD_DISK,
  MEDIA_NO_EMULATION,
} from './eltorito.js';
export {
  type HybridSpec,
  type MbrPatch,
  type HybridLayout,
  type HybridAreas,
  buildHybridAreas,
  GPT_ESP_TYPE,
} from './hybrid.js';
export { type IsoLevel, compareIdentifiers, isoIdentifier, jolietIdentifier } from './names.js';
export { type EspFillerOptions, espFiller } from './esp.js';
