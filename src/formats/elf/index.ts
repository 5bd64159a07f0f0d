/**
 * kiln's ELF toolkit (`kiln/elf`): a validating reader for ELF32/ELF64 in either byte order and
 * writer operations that keep a file loadable. See README.md for the spec sections implemented.
 *
 * @example
 * import { readElf, replaceSection, strip, objcopyBinary } from 'kiln/elf';
 * const elf = readElf(bytes);
 * const signed = replaceSection(elf, '.nonos.sig', signature);
 */
export * from './_constants.js';
export { ELF_FORMAT, readElf, findSection, segmentOfSection, readStringAt } from './read.js';
export type { ElfFile, ElfHeader, ElfSection, ElfSegment, ElfSymbol, ElfDynamicEntry } from './read.js';
export { parseNotes, encodeNote } from './notes.js';
export type { ElfNote, GnuProperty } from './notes.js';
export { findMultiboot } from './multiboot.js';
export type { MultibootHeader, Multiboot1Header, Multiboot2Header, Multiboot2Tag } from './multiboot.js';
export { addSection, replaceSection, setSection, removeSection } from './write.js';
export type { SectionOptions, ElfInput } from './write.js';
export { strip, onlyKeepDebug, debugLinkContents, readDebugLink, isDebugSectionName } from './strip.js';
export type { StripOptions, StripResult } from './strip.js';
export { objcopyBinary } from './objcopy.js';
export type { ObjcopyBinaryOptions, RawBinary } from './objcopy.js';
export { readBuildId, setBuildId } from './build-id.js';
export { summarizeElf } from './summary.js';
export type { ElfSummary } from './summary.js';
export {
  layoutBinaryObject,
  writeBinaryObject,
  writeBinaryObjectFile,
  symbolForPath,
  OBJECT_TARGETS,
} from './object.js';
export type { BinaryObjectOptions, BinaryObjectLayout, ObjectArch } from './object.js';
