/**
 * CPIO newc (070701), crc (070702) and odc (070707) archives: writer, reader, safe extraction.
 * @example
 * import { writeCpioFile, readCpio } from 'kiln/cpio';
 * await writeCpioFile('initrd.cpio', buildTree({ init: await fileContent('build/init') }), { epoch: 0 });
 */
export { layoutCpio, emitCpio, writeCpio, writeCpioFile, cpioChecksum } from './write.js';
export type { CpioFormat, CpioWriteOptions, CpioLayout, CpioLayoutEntry, CpioWriteResult } from './write.js';
export { readCpio, readCpioData, cpioToTree, extractCpio } from './read.js';
export type { CpioEntry, CpioArchive, CpioReadOptions, CpioExtractOptions, CpioExtractResult } from './read.js';
export { MAGIC_NEWC, MAGIC_CRC, MAGIC_ODC, TRAILER_NAME, CPIO_HEADER_SIZE, MAX_NAME_BYTES } from './_header.js';
export type { CpioKind, CpioHeaderFields } from './_header.js';
