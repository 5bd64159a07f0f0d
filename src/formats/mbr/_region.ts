/**
 * Filling a partition or region of a disk image: either a Content streamed to its offset, or a
 * callback that writes into a SubSink (how the FAT writer plugs into GPT, MBR and raw disks).
 * Shared by formats/mbr, formats/gpt and formats/raw.
 */
import { KilnError } from '../../errors.js';
import { type BlockSink, SubSink } from '../io/block-writer.js';
import { type Content, contentSize } from '../io/content.js';
import { formatSize } from '../../util/size.js';

/** What goes into a partition: bytes/a host file, or a writer given a sink of exactly the partition's size. */
export interface RegionFill {
  /** Bytes or a host file (`fileContent(path)`), streamed to the start of the partition. */
  content?: Content;
  /**
   * Writes the partition's content into `sink` (offset 0 = first byte of the partition);
   * `context.offset` is the partition's byte offset on the disk (FAT uses it for BPB_HiddSec).
   */
  fill?: (sink: BlockSink, context: { offset: number }) => Promise<unknown> | unknown;
}

/** Throws when `content` is larger than the room it has, saying how many bytes over.
 * @example checkContentFits(content, 32 << 20, 'partition 1', 'GPT_CONTENT_TOO_LARGE');
 */
export function checkContentFits(content: Content | undefined, room: number, what: string, code: string): void {
  if (!content) return;
  const size = contentSize(content);
  if (size > room) {
    throw new KilnError(
      code,
      `${what}: content is ${size} bytes (${formatSize(size)}), ${size - room} bytes over its ${room}-byte (${formatSize(room)}) space`,
      {
        hint: 'make the partition larger (or omit its size to fit the content), or make the content smaller',
        details: { size, room, over: size - room },
      },
    );
  }
}

/** Writes a region's content or runs its fill callback on a SubSink of [offset, offset + size).
 * @example await fillRegion(disk, 1 << 20, 32 << 20, { fill: (sink) => writeFat(sink, tree) });
 */
export async function fillRegion(sink: BlockSink, offset: number, size: number, region: RegionFill): Promise<void> {
  if (region.content && region.fill) throw new TypeError('"content" and "fill" are exclusive: give one');
  if (region.content) await sink.writeContent(offset, region.content);
  else if (region.fill) await region.fill(new SubSink(sink, offset, size), { offset });
}
