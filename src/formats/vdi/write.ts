/**
 * VDI writer: a raw disk (any BlockSource) to a dynamic VirtualBox VDI image laid out by
 * `_layout.ts` (VirtualBox's VDICore.h and vdiInitHeader() in VDI.cpp).
 *
 * Two phases: `planVdi` scans the disk for all-zero 1 MiB blocks and lays the file out (its
 * size is known before a byte is written); `writeVdi` streams the non-zero blocks, in disk order,
 * to their slots through a BlockSink. All-zero blocks are not stored (block map 0xffffffff).
 * (`convertImage` into a file writes the same bytes in one pass; see formats/convert.ts.)
 */
import type { BlockSource } from '../io/block-source.js';
import { writeImageFile, type BlockSink } from '../io/block-writer.js';
import { copyRuns, scanZeroMap, type CopyRun } from '../io/zero-map.js';
import { VDI_BLOCK_FREE, VDI_BLOCK_SIZE } from './_header.js';
import { layoutVdi, vdiLayout, vdiMetadata, type VdiOptions, type VdiPlan } from './_layout.js';

export { layoutVdi, vdiLayout, vdiMetadata, type VdiLayout, type VdiOptions, type VdiPlan } from './_layout.js';

/** Result of writing a VDI image. */
export interface VdiWriteResult {
  readonly plan: VdiPlan;
  /** Bytes handed to the sink (header, block map and data blocks). */
  readonly bytesWritten: number;
}

/**
 * Phase 1: scans `source` for zero blocks and lays out the VDI file.
 * @example
 * const plan = await planVdi(await FileSource.open('disk.img'));
 * console.log(plan.fileSize, plan.allocated);
 */
export async function planVdi(source: BlockSource, options: VdiOptions = {}): Promise<VdiPlan> {
  vdiLayout(source.size, options); // refuses an empty or too large disk before reading it
  const zeroMap = await scanZeroMap(source, VDI_BLOCK_SIZE, { fingerprint: options.seed === undefined });
  return layoutVdi(zeroMap, options);
}

/** Longest run of blocks copied with one read and one write (2 MiB measured faster than 8: the buffer stays in cache). */
const RUN_BLOCKS = 2;

/** The non-zero blocks as runs of consecutive blocks (consecutive slots too). */
function* vdiRuns(plan: VdiPlan, size: number): Generator<CopyRun> {
  const { blockSize, blocks, blockMap } = plan;
  for (let i = 0; i < blocks;) {
    if (blockMap[i] === VDI_BLOCK_FREE) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < blocks && end - i < RUN_BLOCKS && blockMap[end] !== VDI_BLOCK_FREE) end++;
    const from = i * blockSize;
    yield { from, length: Math.min(size, end * blockSize) - from, to: plan.header.offData + blockMap[i]! * blockSize };
    i = end;
  }
}

/**
 * Phase 2: writes the planned image into `sink` (of size `plan.fileSize`), streaming the
 * non-zero blocks from `source` block run by block run.
 * @example
 * const plan = await planVdi(source);
 * await writeImageFile('disk.vdi', plan.fileSize, (sink) => writeVdi(source, sink, plan));
 */
export async function writeVdi(source: BlockSource, sink: BlockSink, plan: VdiPlan): Promise<VdiWriteResult> {
  if (sink.size !== plan.fileSize) throw new RangeError(`"sink" expected ${plan.fileSize} bytes, got ${sink.size}`);
  const before = sink.bytesWritten;
  for (const [offset, bytes] of vdiMetadata(plan)) await sink.write(offset, bytes);
  await copyRuns(source, sink, vdiRuns(plan, source.size), RUN_BLOCKS * plan.blockSize);
  return { plan, bytesWritten: sink.bytesWritten - before };
}

/**
 * Converts a raw disk to a VDI file at `path` (atomically: a temporary file renamed into place).
 * @example
 * const source = await FileSource.open('build/portix.img');
 * const { plan } = await writeVdiFile(source, 'build/dist/portix.vdi');
 * await source.close();
 */
export async function writeVdiFile(
  source: BlockSource,
  path: string,
  options: VdiOptions = {},
): Promise<VdiWriteResult> {
  const plan = await planVdi(source, options);
  return writeImageFile(path, plan.fileSize, (sink) => writeVdi(source, sink, plan));
}
