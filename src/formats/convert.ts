/**
 * Disk image conversion between raw, VDI (VirtualBox VDICore.h header v1.1, see formats/vdi) and
 * VMDK (VMware Virtual Disk Format 5.0 monolithicSparse / streamOptimized, see formats/vmdk).
 * The input format is detected by magic (VDI signature 0xbeda107f at 0x40, VMDK "KDMV" at 0,
 * anything else is raw). Conversion is two-phase, as every kiln writer: `planConversion` scans
 * the input for zero blocks and lays the output out (its size is known first), then
 * `emitConversion` streams it through a BlockSink. Zero blocks are never stored.
 */
import { KilnError } from '../errors.js';
import { FileSource, type BlockSource } from './io/block-source.js';
import { writeImageFile, type BlockSink } from './io/block-writer.js';
import { readU32 } from './io/bytes.js';
import { isZeroBlock } from './io/zero-map.js';
import { VDI_SIGNATURE } from './vdi/_header.js';
import { openVdi } from './vdi/read.js';
import { planVdi, writeVdi, type VdiPlan } from './vdi/write.js';
import { VMDK_MAGIC } from './vmdk/_header.js';
import { openVmdk } from './vmdk/read.js';
import { planVmdk, writeVmdk, type VmdkPlan, type VmdkSubformat } from './vmdk/write.js';
import { basename } from 'node:path';

/** Disk image formats kiln converts between. */
export type ImageFormat = 'raw' | 'vdi' | 'vmdk';

/** Options of a conversion. */
export interface ConvertOptions {
  /** Output format. */
  format: ImageFormat;
  /** VMDK subformat (default monolithicSparse). */
  subformat?: VmdkSubformat;
  /** Input format; default 'auto' (by magic). */
  inputFormat?: ImageFormat | 'auto';
  /** Seed for the output's UUIDs/CID (default: derived from the disk content). */
  seed?: string;
  /** VMDK extent file name (default: the output file's name). */
  fileName?: string;
  /** VMDK stream compression level 1-9 (default 6). */
  compressionLevel?: number;
}

/** The output layout, known before a byte is written. */
export interface ConvertPlan {
  readonly format: ImageFormat;
  readonly subformat?: VmdkSubformat;
  readonly inputFormat: ImageFormat;
  /** Size of the output file in bytes. */
  readonly fileSize: number;
  /** Size of the virtual disk in bytes. */
  readonly diskSize: number;
  /** Data bytes stored in the output (non-zero blocks/grains; for raw, the disk size). */
  readonly storedBytes: number;
  /** The opened input disk (raw view). */
  readonly disk: BlockSource;
  readonly vdi?: VdiPlan;
  readonly vmdk?: VmdkPlan;
}

/** What a conversion did. */
export interface ConvertResult {
  readonly format: ImageFormat;
  readonly subformat?: VmdkSubformat;
  readonly inputFormat: ImageFormat;
  readonly fileSize: number;
  readonly diskSize: number;
  readonly storedBytes: number;
  /** Bytes handed to the sink. */
  readonly bytesWritten: number;
}

/**
 * Detects the format of an image by its magic.
 * @example await detectImageFormat(await FileSource.open('disk.vdi')) // 'vdi'
 */
export async function detectImageFormat(source: BlockSource): Promise<ImageFormat> {
  const head = await source.read(0, Math.min(source.size, 512));
  if (head.length >= 4 && readU32(head, 0, true) === VMDK_MAGIC) return 'vmdk';
  if (head.length >= 0x48 && readU32(head, 0x40, true) === VDI_SIGNATURE) return 'vdi';
  const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 64)).toString('latin1');
  if (text.startsWith('# Disk DescriptorFile')) return 'vmdk';
  return 'raw';
}

/**
 * Opens `source` as a virtual disk: raw as it is, VDI and VMDK through their readers.
 * @example const { format, disk } = await openDisk(await FileSource.open('in.vmdk'));
 */
export async function openDisk(source: BlockSource, inputFormat: ImageFormat | 'auto' = 'auto'): Promise<{ format: ImageFormat; disk: BlockSource }> {
  const format = inputFormat === 'auto' ? await detectImageFormat(source) : inputFormat;
  if (format === 'vdi') return { format, disk: await openVdi(source) };
  if (format === 'vmdk') return { format, disk: await openVmdk(source) };
  return { format, disk: source };
}

function checkFormat(options: ConvertOptions): void {
  if (!['raw', 'vdi', 'vmdk'].includes(options.format)) {
    throw new KilnError('CONVERT_BAD_FORMAT', `unknown output format ${JSON.stringify(options.format)}`, { hint: 'use raw, vdi or vmdk' });
  }
  if (options.subformat !== undefined && options.format !== 'vmdk') {
    throw new KilnError('CONVERT_BAD_FORMAT', `--subformat applies to vmdk only, not ${options.format}`, { hint: 'drop --subformat or use --format vmdk' });
  }
}

/**
 * Phase 1: opens the input, scans it for zero blocks and lays out the output.
 * @example
 * const plan = await planConversion(await FileSource.open('disk.img'), { format: 'vmdk' });
 * console.log(plan.fileSize);
 */
export async function planConversion(source: BlockSource, options: ConvertOptions): Promise<ConvertPlan> {
  checkFormat(options);
  const { format: inputFormat, disk } = await openDisk(source, options.inputFormat);
  const seed = options.seed !== undefined ? { seed: options.seed } : {};
  if (options.format === 'vdi') {
    const vdi = await planVdi(disk, seed);
    return { format: 'vdi', inputFormat, fileSize: vdi.fileSize, diskSize: vdi.diskSize, storedBytes: vdi.allocated * vdi.blockSize, disk, vdi };
  }
  if (options.format === 'vmdk') {
    const vmdk = await planVmdk(disk, {
      ...seed,
      subformat: options.subformat ?? 'monolithicSparse',
      ...(options.fileName !== undefined ? { fileName: options.fileName } : {}),
      ...(options.compressionLevel !== undefined ? { compressionLevel: options.compressionLevel } : {}),
    });
    return {
      format: 'vmdk',
      subformat: vmdk.subformat,
      inputFormat,
      fileSize: vmdk.fileSize,
      diskSize: vmdk.diskSize,
      storedBytes: vmdk.storedGrains * vmdk.grainBytes,
      disk,
      vmdk,
    };
  }
  return { format: 'raw', inputFormat, fileSize: disk.size, diskSize: disk.size, storedBytes: disk.size, disk };
}

/**
 * Phase 2: writes the planned output into `sink` (of size `plan.fileSize`).
 * @example
 * const plan = await planConversion(source, { format: 'vdi' });
 * await writeImageFile('out.vdi', plan.fileSize, (sink) => emitConversion(sink, plan));
 */
export async function emitConversion(sink: BlockSink, plan: ConvertPlan): Promise<number> {
  if (sink.size !== plan.fileSize) {
    throw new KilnError('CONVERT_SINK_SIZE', `the output sink has ${sink.size} bytes, the plan needs ${plan.fileSize}`, { hint: 'create the sink with planConversion(...).fileSize bytes' });
  }
  if (plan.vdi) return (await writeVdi(plan.disk, sink, plan.vdi)).bytesWritten;
  if (plan.vmdk) return (await writeVmdk(plan.disk, sink, plan.vmdk)).bytesWritten;
  const before = sink.bytesWritten;
  const CHUNK = 4 << 20;
  for (let at = 0; at < plan.disk.size; at += CHUNK) {
    const data = await plan.disk.read(at, Math.min(CHUNK, plan.disk.size - at));
    if (!isZeroBlock(data)) await sink.writeContent(at, data);
  }
  return sink.bytesWritten - before;
}

/**
 * Converts a disk image (raw, VDI or VMDK, detected by magic) to `options.format`, into a file
 * (written atomically, sparse) or into a sink sized by `planConversion`.
 * @example
 * const source = await FileSource.open('build/portix.img');
 * await convertImage(source, 'build/dist/portix.vmdk', { format: 'vmdk', subformat: 'streamOptimized' });
 * await source.close();
 */
export async function convertImage(source: BlockSource, target: string | BlockSink, options: ConvertOptions): Promise<ConvertResult> {
  const fileName = options.fileName ?? (typeof target === 'string' ? basename(target) : undefined);
  const plan = await planConversion(source, { ...options, ...(fileName !== undefined ? { fileName } : {}) });
  const bytesWritten = typeof target === 'string'
    ? await writeImageFile(target, plan.fileSize, (sink) => emitConversion(sink, plan))
    : await emitConversion(target, plan);
  return {
    format: plan.format,
    ...(plan.subformat ? { subformat: plan.subformat } : {}),
    inputFormat: plan.inputFormat,
    fileSize: plan.fileSize,
    diskSize: plan.diskSize,
    storedBytes: plan.storedBytes,
    bytesWritten,
  };
}

/**
 * Converts the image file `input` to `output` (paths).
 * @example await convertImageFile('disk.img', 'disk.vdi', { format: 'vdi' })
 */
export async function convertImageFile(input: string, output: string, options: ConvertOptions): Promise<ConvertResult> {
  const source = await FileSource.open(input);
  try {
    return await convertImage(source, output, options);
  } finally {
    await source.close();
  }
}
