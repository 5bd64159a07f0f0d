/**
 * GPT disks with a protective MBR (UEFI 2.10 chapter 5): layout, writer, validating reader.
 * @example
 * import { writeGptFile, readGpt } from 'kiln/gpt';
 * await writeGptFile('disk.img', { size: '64M', seed: 'kozo', partitions: [{ type: 'esp', size: '32M', content: esp }, { type: 'linux-root-x86_64' }] });
 * const { partitions, problems } = await readGpt(await FileSource.open('disk.img'));
 */
export {
  layoutGpt,
  writeGpt,
  writeGptFile,
  encodeGptEntries,
  encodeGptHeader,
  encodeProtectiveMbr,
  gptTypeGuid,
  GPT_SECTOR_SIZE,
  GPT_ENTRY_SIZE,
  GPT_HEADER_SIZE,
  GPT_NAME_UNITS,
} from './write.js';
export type { GptOptions, GptPartitionSpec, GptLayout, GptPartitionLayout } from './write.js';
export { readGpt } from './read.js';
export type { GptInfo, GptPartitionInfo, GptHeaderInfo, GptReadOptions } from './read.js';
export { GPT_TYPES, GPT_ATTRIBUTES, gptTypeName, attributeNames } from './_types.js';
export type { GptTypeName, GptAttributeName } from './_types.js';
export type { RegionFill } from '../mbr/_region.js';
