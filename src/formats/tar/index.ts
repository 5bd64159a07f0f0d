/**
 * ustar (POSIX tar) archives: a reproducible writer and a reader (ustar, pax and GNU long names).
 * @example
 * import { writeTarFile, readTar } from 'kiln/tar';
 * await writeTarFile('initrd.tar', buildTree({ 'etc/motd': 'hello\n' }), { epoch: 0 });
 */
export { layoutTar, emitTar, writeTar, writeTarFile, splitName } from './write.js';
export type { TarWriteOptions, TarLayout, TarLayoutEntry, TarWriteResult } from './write.js';
export { readTar, readTarData, tarToTree } from './read.js';
export type { TarEntry, TarArchive } from './read.js';
export { TAR_BLOCK } from './_header.js';
export type { TarKind } from './_header.js';
