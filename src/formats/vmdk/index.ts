/**
 * VMware VMDK images (monolithicSparse and streamOptimized): writer from any raw disk, reader
 * back to raw. Spec: VMware "Virtual Disk Format 5.0"; see README.md.
 * @example
 * import { writeVmdkFile, openVmdk } from 'kiln/vmdk';
 */
export { planVmdk, writeVmdk, writeVmdkFile, type VmdkWriteResult } from './write.js';
export {
  layoutVmdk,
  sparseTables,
  vmdkHead,
  vmdkLayout,
  type VmdkLayout,
  type VmdkOptions,
  type VmdkPlan,
  type VmdkSubformat,
} from './_layout.js';
export { deflateGrain, GrainStream, type WriteAt } from './_stream.js';
export { openVmdk, vmdkToRaw, VmdkImage } from './read.js';
export {
  buildDescriptor,
  parseDescriptor,
  deriveVmdkIds,
  vmdkGeometry,
  vmwareUuid,
  type VmdkDescriptor,
  type VmdkDescriptorFields,
} from './descriptor.js';
export {
  decodeSparseHeader,
  encodeSparseHeader,
  hasVmdkMagic,
  VMDK_MAGIC,
  type SparseExtentHeader,
} from './_header.js';
