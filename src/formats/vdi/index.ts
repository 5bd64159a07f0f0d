/**
 * VirtualBox VDI (dynamic) images: writer from any raw disk, reader back to raw.
 * Spec: VirtualBox src/VBox/Storage/VDICore.h (header v1.1) and QEMU block/vdi.c; see README.md.
 * @example
 * import { writeVdiFile, openVdi } from 'kiln/vdi';
 */
export { planVdi, writeVdi, writeVdiFile, type VdiWriteResult } from './write.js';
export { layoutVdi, vdiLayout, vdiMetadata, type VdiLayout, type VdiOptions, type VdiPlan } from './_layout.js';
export { openVdi, vdiToRaw, VdiImage } from './read.js';
export {
  decodeVdiHeader,
  encodeVdiHeader,
  VDI_SIGNATURE,
  VDI_BLOCK_SIZE,
  VDI_BLOCK_FREE,
  VDI_BLOCK_ZERO,
  type VdiHeader,
  type VdiGeometry,
} from './_header.js';
