/** Partition sources given on the command line (`kiln image gpt|mbr|raw`). */
import { stat } from 'node:fs/promises';
import { KilnError } from '../errors.js';
import { fatFiller } from '../formats/fat/index.js';
import type { RegionFill } from '../formats/gpt/index.js';
import { fileContent } from '../formats/io/content.js';
import { treeFromDirectory } from '../formats/io/tree.js';

/**
 * A partition's source on the command line: a file (its bytes), `fat=DIR` (a FAT volume formatted
 * from the folder, type chosen from the partition size like mkfs.fat), or nothing.
 */
export async function partitionSource(
  source: string | undefined,
  what: string,
  fat: { type?: 12 | 16 | 32 } = {},
): Promise<RegionFill> {
  if (!source) return {};
  if (source.startsWith('fat=')) {
    const dir = source.slice(4);
    const s = await stat(dir).catch(() => undefined);
    if (!s?.isDirectory()) throw new KilnError('CLI_BAD_OPTION', `${what}: fat=${dir} is not a directory`);
    return { fill: fatFiller(await treeFromDirectory(dir), fat.type ? { type: fat.type } : {}) };
  }
  const s = await stat(source).catch(() => undefined);
  if (!s?.isFile())
    throw new KilnError('CLI_BAD_OPTION', `${what}: ${source} is not a file`, {
      hint: 'give an image file, or fat=DIR to format a FAT volume from a folder',
    });
  return { content: await fileContent(source) };
}
