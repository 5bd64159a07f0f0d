/**
 * Image steps: the pure-TypeScript writers of src/formats/ as graph steps. File maps take
 * project paths or other steps' outputs (streamed, never loaded whole), `text('...')` for
 * generated text, and entries for directories, symlinks and device nodes.
 *
 * @example
 * const initrd = cpio({ files: { '/bin/init': init, '/etc/motd': text('hello\n') } });
 * const disk = gpt({ size: '64M', partitions: [esp({ size: '32M', files: { '/EFI/BOOT/BOOTX64.EFI': loader } })] });
 */
import type { z } from 'zod';
import { withExtension } from './_common.js';
import { type FileInput, type StepContext, defineStep, isArtifactRef, isStepHandle, type SchemaKit } from '../step.js';
import { type Content, fileContent } from '../formats/io/content.js';
import { encodeUtf8 } from '../formats/io/bytes.js';
import { type FileTree, type TreeEntry, buildTree } from '../formats/io/tree.js';
import { writeImageFile } from '../formats/io/block-writer.js';
import { FileSource } from '../formats/io/block-source.js';
import type { SizeLike } from '../util/size.js';
import type { RawOptions } from '../formats/raw/index.js';
import { parseSize } from '../util/size.js';

// ---------- file maps ----------

/** Generated text content for an image file (made by `text()`). */
export interface TextFile {
  kind: 'text';
  /** The file's text (written as UTF-8). */
  text: string;
  /** Permission bits (cpio/tar), e.g. `0o644` (the default). */
  mode?: number;
}
/** A file with explicit metadata. @example { kind: 'file', from: init, mode: 0o755, uid: 0, gid: 0 } */
export interface FileWithMode {
  kind: 'file';
  /** Where the bytes come from: a project path or another step's output. */
  from: FileInput;
  /** Permission bits (cpio/tar), e.g. `0o755`. */
  mode?: number;
  /** Owner user id (cpio/tar; default 0). */
  uid?: number;
  /** Owner group id (cpio/tar; default 0). */
  gid?: number;
}
/** A directory, symlink, device node or fifo in an image (device nodes and fifos: cpio and tar only). */
export type SpecialEntry =
  | { kind: 'dir'; mode?: number; uid?: number; gid?: number }
  | { kind: 'symlink'; target: string }
  | { kind: 'char' | 'block'; major: number; minor: number; mode?: number }
  | { kind: 'fifo'; mode?: number };
/**
 * What a path of an image holds: a file (a project path or a step's output), `text(...)`, a file with mode and
 * owner, or a special entry.
 */
export type ImageFile = FileInput | TextFile | FileWithMode | SpecialEntry;
/**
 * An image's contents: path inside the image → what it holds.
 * @example files: { '/EFI/BOOT/BOOTX64.EFI': loader, '/boot/grub/grub.cfg': text('set timeout=0\n') }
 */
export type ImageFiles = Record<string, ImageFile>;

/** Text content for an image file. @example text('set timeout=0\n') */
export function text(content: string, mode?: number): TextFile {
  return { kind: 'text', text: content, ...(mode !== undefined ? { mode } : {}) };
}

const zImageFile = (kit: SchemaKit) => {
  const { z, zFileInput } = kit;
  return z.union([
    zFileInput,
    z.object({ kind: z.literal('text'), text: z.string(), mode: z.number().int().optional() }).strict(),
    z
      .object({
        kind: z.literal('file'),
        from: zFileInput,
        mode: z.number().int().optional(),
        uid: z.number().int().optional(),
        gid: z.number().int().optional(),
      })
      .strict(),
    z
      .object({
        kind: z.literal('dir'),
        mode: z.number().int().optional(),
        uid: z.number().int().optional(),
        gid: z.number().int().optional(),
      })
      .strict(),
    z.object({ kind: z.literal('symlink'), target: z.string().min(1) }).strict(),
    z
      .object({
        kind: z.enum(['char', 'block']),
        major: z.number().int().nonnegative(),
        minor: z.number().int().nonnegative(),
        mode: z.number().int().optional(),
      })
      .strict(),
    z.object({ kind: z.literal('fifo'), mode: z.number().int().optional() }).strict(),
  ]);
};
const zFiles = (kit: SchemaKit) => {
  const { z } = kit;
  return z.record(z.string(), zImageFile(kit));
};

/** A FAT volume's label (at most 11 characters, the BPB's field) and FAT width. */
const zFatLabel = ({ z }: SchemaKit) => z.string().max(11);
const zFatType = ({ z }: SchemaKit) => z.literal([12, 16, 32]);
/** The `fat` options of a partition that kiln formats from a file map. */
const zPartitionFat = (kit: SchemaKit) =>
  kit.z.object({ label: zFatLabel(kit).optional(), type: zFatType(kit).optional() }).strict();

function isFileInput(v: unknown): v is FileInput {
  return typeof v === 'string' || isArtifactRef(v) || isStepHandle(v);
}

/** Project-relative paths named in a file map (inputs of the step). */
function fileMapInputs(files: ImageFiles | undefined): string[] {
  const out: string[] = [];
  for (const v of Object.values(files ?? {})) {
    if (typeof v === 'string') out.push(v);
    else if (!isFileInput(v) && v.kind === 'file' && typeof v.from === 'string') out.push(v.from);
  }
  return out;
}

/** Resolves a file map into a FileTree whose files stream from disk. */
export async function resolveFiles(files: ImageFiles | undefined, ctx: StepContext): Promise<FileTree> {
  const entries: Array<[string, TreeEntry]> = [];
  for (const [path, v] of Object.entries(files ?? {})) {
    if (isFileInput(v)) entries.push([path, { kind: 'file', content: await fileContent(ctx.path(v)), mode: 0o644 }]);
    else if (v.kind === 'text')
      entries.push([path, { kind: 'file', content: encodeUtf8(v.text), mode: v.mode ?? 0o644 }]);
    else if (v.kind === 'file')
      entries.push([
        path,
        {
          kind: 'file',
          content: await fileContent(ctx.path(v.from)),
          mode: v.mode ?? 0o644,
          ...(v.uid !== undefined ? { uid: v.uid } : {}),
          ...(v.gid !== undefined ? { gid: v.gid } : {}),
        },
      ]);
    else entries.push([path, v as TreeEntry]);
  }
  return buildTree(entries);
}

async function content(input: FileInput, ctx: StepContext): Promise<Content> {
  return fileContent(ctx.path(input));
}

// ---------- cpio ----------

/**
 * Options of `cpio()`: an initramfs-style archive from files, text and special entries.
 * @example cpio({ files: { '/init': { kind: 'file', from: init, mode: 0o755 }, '/dev/console': { kind: 'char', major: 5, minor: 1 } } })
 */
export interface CpioStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The archive's contents: path → file, text or special entry. */
  files: ImageFiles;
  /** `newc` (070701, default; what Linux unpacks), `crc` (070702) or `odc` (070707, the old portable format). */
  format?: 'newc' | 'crc' | 'odc';
  /** Output file name (default `<name>.cpio`). */
  output?: string;
}
const cpioKind = {
  kind: 'cpio',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z } = kit;
    return z
      .object({
        name: z.string().optional(),
        files: zFiles(kit),
        format: z.enum(['newc', 'crc', 'odc']).optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<CpioStepOptions>;
  },
  declare: (o: CpioStepOptions) => ({
    inputs: fileMapInputs(o.files),
    outputs: [o.output ?? withExtension(o.name, 'initrd', 'cpio')],
  }),
  async make(o: CpioStepOptions, ctx: StepContext) {
    const { writeCpioFile } = await import('../formats/cpio/index.js');
    await writeCpioFile(ctx.outPath(), await resolveFiles(o.files, ctx), {
      epoch: ctx.epoch,
      ...(o.format ? { format: o.format } : {}),
    });
  },
};
/** A CPIO archive (newc by default; crc or odc on request), e.g. an initrd. */
export const cpio = defineStep<CpioStepOptions>(cpioKind);

// ---------- tar ----------

/** Options of `tar()`: a ustar archive from files, text and special entries. */
export interface TarStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The archive's contents: path → file, text or special entry. */
  files: ImageFiles;
  /** Output file name (default `<name>.tar`). */
  output?: string;
}
const tarKind = {
  kind: 'tar',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z } = kit;
    return z
      .object({ name: z.string().optional(), files: zFiles(kit), output: z.string().optional() })
      .strict() satisfies z.ZodType<TarStepOptions>;
  },
  declare: (o: TarStepOptions) => ({
    inputs: fileMapInputs(o.files),
    outputs: [o.output ?? withExtension(o.name, 'initrd', 'tar')],
  }),
  async make(o: TarStepOptions, ctx: StepContext) {
    const { writeTarFile } = await import('../formats/tar/index.js');
    await writeTarFile(ctx.outPath(), await resolveFiles(o.files, ctx), { epoch: ctx.epoch });
  },
};
/**
 * A ustar (POSIX tar) archive, reproducible: sorted, every mtime the build epoch, owner 0:0.
 * @example const initrd = tar({ files: { '/etc/motd': text('hello\n'), '/bin/init': init } });
 */
export const tar = defineStep<TarStepOptions>(tarKind);

// ---------- FAT ----------

/** Options of `fat()`: a FAT12/16/32 filesystem image written by kiln (no mtools, no loop device). */
export interface FatStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Volume size (`32M`, `1440K`, bytes). */
  size: SizeLike;
  /** The filesystem's contents: path → file or text (FAT holds no symlinks or devices). */
  files: ImageFiles;
  /** Volume label, up to 11 characters (stored upper-case). Default: none. */
  label?: string;
  /** Force FAT12, FAT16 or FAT32 (default: from the size, as mkfs.fat chooses). */
  type?: 12 | 16 | 32;
  /** Output file name (default `<name>.img`). */
  output?: string;
}
const fatKind = {
  kind: 'fat',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zSize } = kit;
    return z
      .object({
        name: z.string().optional(),
        size: zSize,
        files: zFiles(kit),
        label: zFatLabel(kit).optional(),
        type: zFatType(kit).optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<FatStepOptions>;
  },
  declare: (o: FatStepOptions) => ({
    inputs: fileMapInputs(o.files),
    outputs: [o.output ?? withExtension(o.name, 'fat', 'img')],
  }),
  async make(o: FatStepOptions, ctx: StepContext) {
    const { writeFat } = await import('../formats/fat/index.js');
    const tree = await resolveFiles(o.files, ctx);
    await writeImageFile(ctx.outPath(), parseSize(o.size), (sink) =>
      writeFat(sink, tree, {
        epoch: ctx.epoch,
        ...(o.label ? { label: o.label } : {}),
        ...(o.type ? { type: o.type } : {}),
      }),
    );
  },
};
/** A FAT12/16/32 filesystem image (type chosen from the size like mkfs.fat, or forced). */
export const fat = defineStep<FatStepOptions>(fatKind);

// ---------- partitions ----------

/** A partition of a gpt() disk: a FAT filesystem from files, or the content of a file/artifact. */
export interface PartitionSpec {
  /** GPT type name (`esp`, `linux`, `bios-boot`, `basic-data`...) or a GUID. */
  type?: string;
  /** The partition's name in the GPT (up to 36 UTF-16 units). */
  name?: string;
  /** Size (`64M`); default: the content's size, or the rest of the disk for the last partition. */
  size?: SizeLike;
  /** A FAT filesystem with these files. */
  files?: ImageFiles;
  /** Label and FAT type of the filesystem made from `files`. */
  fat?: { label?: string; type?: 12 | 16 | 32 };
  /** Raw content (an image built by another step). */
  content?: FileInput;
  /** Attribute bits by name (`required`, `legacy-bios-bootable`, ...) or bit number. */
  attributes?: Array<string | number>;
}
const zPartition = (kit: SchemaKit) => {
  const { z, zFileInput, zSize } = kit;
  return z
    .object({
      type: z.string().optional(),
      name: z.string().optional(),
      size: zSize.optional(),
      files: zFiles(kit).optional(),
      fat: zPartitionFat(kit).optional(),
      content: zFileInput.optional(),
      attributes: z.array(z.union([z.string(), z.number()])).optional(),
    })
    .strict();
};

/** An EFI System Partition (FAT) with these files. @example esp({ size: '32M', files: { '/EFI/BOOT/BOOTX64.EFI': loader } }) */
export function esp(o: { size: SizeLike; files: ImageFiles; label?: string; name?: string }): PartitionSpec {
  return {
    type: 'esp',
    name: o.name ?? 'EFI System',
    size: o.size,
    files: o.files,
    fat: { ...(o.label ? { label: o.label } : {}) },
  };
}
/** Any partition. */
export function partition(o: PartitionSpec): PartitionSpec {
  return o;
}

// ---------- GPT ----------

/**
 * Options of `gpt()`: a GPT disk (protective MBR, both headers) with partitions.
 * @example gpt({ size: '64M', partitions: [esp({ size: '32M', files: { '/EFI/BOOT/BOOTX64.EFI': loader } })] })
 */
export interface GptStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Disk size (`64M`, bytes). */
  size: SizeLike;
  /** The partitions, in table order (`esp()`, `partition()`). */
  partitions: PartitionSpec[];
  /** Seed of the disk and partition GUIDs (default: derived from the layout, so rebuilds are identical). */
  seed?: string;
  /** Output file name (default `<name>.img`). */
  output?: string;
}
const gptKind = {
  kind: 'gpt',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zSize } = kit;
    return z
      .object({
        name: z.string().optional(),
        size: zSize,
        partitions: z.array(zPartition(kit)).min(1),
        seed: z.string().optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<GptStepOptions>;
  },
  declare: (o: GptStepOptions) => ({
    inputs: o.partitions.flatMap((p) => [
      ...fileMapInputs(p.files),
      ...(typeof p.content === 'string' ? [p.content] : []),
    ]),
    outputs: [o.output ?? withExtension(o.name, 'disk', 'img')],
  }),
  async make(o: GptStepOptions, ctx: StepContext) {
    const { writeGptFile } = await import('../formats/gpt/index.js');
    const { fatFiller } = await import('../formats/fat/index.js');
    const partitions = [];
    for (const p of o.partitions) {
      const base = {
        ...(p.type ? { type: p.type as never } : {}),
        ...(p.name ? { name: p.name } : {}),
        ...(p.size !== undefined ? { size: p.size } : {}),
        ...(p.attributes ? { attributes: p.attributes as never } : {}),
      };
      if (p.files)
        partitions.push({
          ...base,
          fill: fatFiller(await resolveFiles(p.files, ctx), {
            epoch: ctx.epoch,
            ...(p.fat?.label ? { label: p.fat.label } : {}),
            ...(p.fat?.type ? { type: p.fat.type } : {}),
          }),
        });
      else if (p.content) partitions.push({ ...base, content: await content(p.content, ctx) });
      else partitions.push(base);
    }
    await writeGptFile(ctx.outPath(), { size: o.size, partitions, seed: o.seed ?? ctx.name });
  },
};
/** A GPT disk with a protective MBR. */
export const gpt = defineStep<GptStepOptions>(gptKind);

// ---------- MBR ----------

/** A primary partition of an mbr() disk: a FAT filesystem from files, another step's image, or empty. */
export interface MbrPartitionStep {
  /** MBR type name (`fat32`, `fat16-lba`, `fat12`, `linux`, `efi`...) or byte. Default: the FAT type for `files`, `linux` otherwise. */
  type?: string | number;
  /** Size; default the content's size, or the rest of the disk for the last partition. */
  size?: SizeLike;
  /** A FAT filesystem (FAT12/16/32 from the size, like mkfs.fat) with these files. */
  files?: ImageFiles;
  /** Label and FAT type of the filesystem made from `files`. */
  fat?: { label?: string; type?: 12 | 16 | 32 };
  /** Raw content (an image built by another step). */
  content?: FileInput;
  /** Mark the partition active (0x80), for a BIOS MBR boot code that looks for it. */
  bootable?: boolean;
  /** First sector (default: the next aligned one). */
  startLba?: number;
}
/**
 * Options of `mbr()`: an MBR-partitioned disk (up to four primary partitions).
 * @example mbr({ size: '64M', partitions: [{ files: { 'HELLO.TXT': text('hi\n') } }] })
 */
export interface MbrStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Disk size (`64M`, bytes), a multiple of 512. */
  size: SizeLike;
  /** Up to four primary partitions, in table order. */
  partitions: MbrPartitionStep[];
  /** Boot code for the first 440 bytes (e.g. a nasm.bin() step); default zeros. */
  bootCode?: FileInput;
  /** Seed of the disk signature (default: derived from the layout). */
  seed?: string;
  /** Partition start alignment (default 1 MiB). */
  alignment?: SizeLike;
  /** Output file name (default `<name>.img`). */
  output?: string;
}
const zMbrPartition = (kit: SchemaKit) => {
  const { z, zFileInput, zSize } = kit;
  return z
    .object({
      type: z.union([z.string(), z.number().int().min(0).max(255)]).optional(),
      size: zSize.optional(),
      files: zFiles(kit).optional(),
      fat: zPartitionFat(kit).optional(),
      content: zFileInput.optional(),
      bootable: z.boolean().optional(),
      startLba: z.number().int().positive().optional(),
    })
    .strict()
    .refine((p) => !(p.files && p.content), { message: 'give either files or content, not both' });
};
const FAT_MBR_TYPES: Record<12 | 16 | 32, string> = { 12: 'fat12', 16: 'fat16-lba', 32: 'fat32' };
const mbrKind = {
  kind: 'mbr',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput, zSize } = kit;
    return z
      .object({
        name: z.string().optional(),
        size: zSize,
        partitions: z.array(zMbrPartition(kit)).min(1).max(4),
        bootCode: zFileInput.optional(),
        seed: z.string().optional(),
        alignment: zSize.optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<MbrStepOptions>;
  },
  declare: (o: MbrStepOptions) => ({
    inputs: [
      ...o.partitions.flatMap((p) => [
        ...fileMapInputs(p.files),
        ...(typeof p.content === 'string' ? [p.content] : []),
      ]),
      ...(typeof o.bootCode === 'string' ? [o.bootCode] : []),
    ],
    outputs: [o.output ?? withExtension(o.name, 'disk', 'img')],
  }),
  async make(o: MbrStepOptions, ctx: StepContext) {
    const { layoutMbr, writeMbrFile } = await import('../formats/mbr/index.js');
    const { fatFiller, computeGeometry } = await import('../formats/fat/index.js');
    const base = (p: MbrPartitionStep) => ({
      ...(p.size !== undefined ? { size: p.size } : {}),
      ...(p.bootable !== undefined ? { bootable: p.bootable } : {}),
      ...(p.startLba !== undefined ? { startLba: p.startLba } : {}),
    });
    const common = { size: o.size, ...(o.alignment !== undefined ? { alignment: o.alignment } : {}) };
    const contents = await Promise.all(o.partitions.map((p) => (p.content ? content(p.content, ctx) : undefined)));
    // Where each partition lands (sizes known without writing), so a FAT partition's type follows its size.
    const probe = layoutMbr({
      ...common,
      partitions: o.partitions.map((p, i) => ({
        ...base(p),
        type: 'linux' as const,
        ...(contents[i] ? { content: contents[i] } : {}),
      })),
    });
    const partitions = [];
    for (const [i, p] of o.partitions.entries()) {
      if (p.files) {
        const fatType = p.fat?.type ?? computeGeometry(probe.partitions[i]!.sectors * 512).type;
        const fill = fatFiller(await resolveFiles(p.files, ctx), {
          epoch: ctx.epoch,
          type: fatType,
          ...(p.fat?.label ? { label: p.fat.label } : {}),
        });
        partitions.push({ ...base(p), type: (p.type ?? FAT_MBR_TYPES[fatType]) as never, fill });
      } else {
        partitions.push({
          ...base(p),
          type: (p.type ?? 'linux') as never,
          ...(contents[i] ? { content: contents[i] } : {}),
        });
      }
    }
    const bootCode = o.bootCode
      ? new Uint8Array(await (await import('node:fs/promises')).readFile(ctx.path(o.bootCode)))
      : undefined;
    await writeMbrFile(ctx.outPath(), {
      ...common,
      partitions,
      seed: o.seed ?? ctx.name,
      ...(bootCode ? { bootCode } : {}),
    });
  },
};
/**
 * A classic MBR disk with up to four primary partitions (e.g. an SD card: one FAT32 partition).
 * @example const sd = mbr({ size: '64M', partitions: [{ files: { '/config.txt': text('arm_64bit=1\n') }, bootable: true }] });
 */
export const mbr = defineStep<MbrStepOptions>(mbrKind);

// ---------- raw fixed-LBA ----------

/** A region of a `raw()` disk: content at a fixed LBA, with size limits checked. */
export interface RawRegionStep {
  /** The region's name (patches and `{ lbaOf: name }` refer to it). */
  name: string;
  /** First sector. */
  lba: number;
  /** The bytes: a project file or another step's output. */
  content: FileInput;
  /** The content must be exactly this many bytes (stage 1: 512). */
  exactSize?: number;
  /** The content may take at most this many sectors (stage 2: 64). */
  maxSectors?: number;
  /** The region may not start before this LBA. */
  minLba?: number;
  /** `true`: the content must end in 0x55 0xAA; `'write'`: kiln pads a block of at most 510 bytes and writes 0x55 0xAA. */
  bootSignature?: boolean | 'write';
  /** Byte offsets of named symbols inside the region, for patches (`at: { symbol }`). */
  symbols?: Record<string, number>;
}
/**
 * Options of `raw()`: a disk with regions at fixed LBAs, values patched into them, and an optional FAT
 * partition.
 * @example raw({ size: '8M', regions: [{ name: 'boot', lba: 0, content: boot, bootSignature: true }] })
 */
export interface RawStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Disk size (`8M`, bytes). */
  size: SizeLike;
  /** Smallest size accepted (a `--size` option below it is refused). */
  minSize?: SizeLike;
  /** The regions, each at its LBA; overlaps are refused. */
  regions: RawRegionStep[];
  /**
   * Integers written into a region after layout: a number, or the LBA, sector count or size of a region.
   * @example patches: [{ region: 'stage2', at: 4, type: 'u32', value: { lbaOf: 'kernel' } }]
   */
  patches?: Array<{
    region: string;
    at: number | { symbol: string };
    type: 'u8' | 'u16' | 'u32' | 'u64';
    value: number | { lbaOf: string } | { sectorsOf: string } | { sizeOf: string };
    endian?: 'le' | 'be';
  }>;
  /** A FAT partition filling the rest of the disk (FAT32 when it is large enough), registered in stage 1's MBR table. */
  partition?: {
    files?: ImageFiles;
    label?: string;
    type?: string | number;
    bootable?: boolean;
    startLba?: number;
    size?: SizeLike;
  };
  /** Output file name (default `<name>.img`). */
  output?: string;
}
const rawKind = {
  kind: 'raw',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput, zSize } = kit;
    return z
      .object({
        name: z.string().optional(),
        size: zSize,
        minSize: zSize.optional(),
        regions: z
          .array(
            z
              .object({
                name: z.string(),
                lba: z.number().int().nonnegative(),
                content: zFileInput,
                exactSize: z.number().int().positive().optional(),
                maxSectors: z.number().int().positive().optional(),
                minLba: z.number().int().nonnegative().optional(),
                bootSignature: z.union([z.boolean(), z.literal('write')]).optional(),
                symbols: z.record(z.string(), z.number().int()).optional(),
              })
              .strict(),
          )
          .min(1),
        patches: z
          .array(
            z
              .object({
                region: z.string(),
                at: z.union([z.number().int().nonnegative(), z.object({ symbol: z.string() }).strict()]),
                type: z.enum(['u8', 'u16', 'u32', 'u64']),
                value: z.union([
                  z.number().int(),
                  z.object({ lbaOf: z.string() }).strict(),
                  z.object({ sectorsOf: z.string() }).strict(),
                  z.object({ sizeOf: z.string() }).strict(),
                ]),
                endian: z.enum(['le', 'be']).optional(),
              })
              .strict(),
          )
          .optional(),
        partition: z
          .object({
            files: zFiles(kit).optional(),
            label: z.string().max(11).optional(),
            type: z.union([z.string(), z.number().int()]).optional(),
            bootable: z.boolean().optional(),
            startLba: z.number().int().positive().optional(),
            size: zSize.optional(),
          })
          .strict()
          .optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<RawStepOptions>;
  },
  declare: (o: RawStepOptions) => ({
    inputs: [
      ...o.regions.map((r) => r.content).filter((c): c is string => typeof c === 'string'),
      ...fileMapInputs(o.partition?.files),
    ],
    outputs: [o.output ?? withExtension(o.name, 'disk', 'img')],
  }),
  async make(o: RawStepOptions, ctx: StepContext) {
    const { writeRawFile, layoutRaw } = await import('../formats/raw/index.js');
    const { fatFiller, computeGeometry } = await import('../formats/fat/index.js');
    const regions = [];
    for (const r of o.regions) regions.push({ ...r, content: await content(r.content, ctx) });
    const part = o.partition;
    const base = {
      size: o.size,
      ...(o.minSize !== undefined ? { minSize: o.minSize } : {}),
      regions,
      ...(o.patches ? { patches: o.patches } : {}),
    };
    let partition: RawOptions['partition'];
    if (part) {
      const common = {
        ...(part.bootable !== undefined ? { bootable: part.bootable } : {}),
        ...(part.startLba !== undefined ? { startLba: part.startLba } : {}),
        ...(part.size !== undefined ? { size: part.size } : {}),
      };
      // The FAT type follows the partition's size as mkfs.fat chooses it (FAT32 needs >= 65525
      // clusters, about 33 MiB); the MBR type byte says which.
      const probe = await layoutRaw({ ...base, partition: { ...common, type: 'fat32' } });
      const bytes = (probe.partition?.sectors ?? 0) * 512;
      const fatType = computeGeometry(bytes).type;
      const type = part.type ?? (fatType === 32 ? 'fat32' : fatType === 16 ? 'fat16-lba' : 'fat12');
      partition = {
        ...common,
        type: type as never,
        fill: fatFiller(await resolveFiles(part.files ?? {}, ctx), {
          epoch: ctx.epoch,
          ...(part.label ? { label: part.label } : {}),
        }),
      };
    }
    await writeRawFile(ctx.outPath(), { ...base, ...(partition ? { partition } : {}) });
  },
};
/** A raw disk with regions at fixed LBAs, patch points and an optional FAT32 partition (Portix's layout). */
export const raw = defineStep<RawStepOptions>(rawKind);

// ---------- ISO9660 ----------

/**
 * Options of `iso()`: an ISO9660 image (Rock Ridge + Joliet), bootable through El Torito.
 * @example iso({ bios: { emulation: 'hdd', image: disk } })
 */
export interface IsoStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The image's contents: path → file or text. */
  files?: ImageFiles;
  /** Volume identifier (d-characters, at most 32; default `KILN_` + 8 hex digits derived from the contents). */
  volumeId?: string;
  /** BIOS boot: a no-emulation boot image (path in the ISO or an artifact) or a whole disk served by hard-disk emulation. */
  bios?:
    | { emulation: 'none'; image: FileInput; loadSectors?: number; bootInfoTable?: boolean }
    | { emulation: 'hdd'; image: FileInput };
  /** UEFI boot: an ESP image (fat() output) or files for one. */
  uefi?: FileInput | { size: SizeLike; files: ImageFiles };
  /** Add an MBR and GPT so the ISO also boots written to a USB stick. */
  hybrid?: boolean;
  /** Output file name (default `<name>.iso`). */
  output?: string;
}
const isoKind = {
  kind: 'iso',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput, zSize } = kit;
    return z
      .object({
        name: z.string().optional(),
        files: zFiles(kit).optional(),
        volumeId: z.string().optional(),
        bios: z
          .union([
            z
              .object({
                emulation: z.literal('none'),
                image: zFileInput,
                loadSectors: z.number().int().positive().optional(),
                bootInfoTable: z.boolean().optional(),
              })
              .strict(),
            z.object({ emulation: z.literal('hdd'), image: zFileInput }).strict(),
          ])
          .optional(),
        uefi: z.union([zFileInput, z.object({ size: zSize, files: zFiles(kit) }).strict()]).optional(),
        hybrid: z.boolean().optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<IsoStepOptions>;
  },
  declare: (o: IsoStepOptions) => ({
    inputs: [
      ...fileMapInputs(o.files),
      ...(o.bios && typeof o.bios.image === 'string' ? [o.bios.image] : []),
      ...(typeof o.uefi === 'string' ? [o.uefi] : []),
      ...(o.uefi && typeof o.uefi === 'object' && 'files' in o.uefi ? fileMapInputs(o.uefi.files) : []),
    ],
    outputs: [o.output ?? withExtension(o.name, 'image', 'iso')],
  }),
  async make(o: IsoStepOptions, ctx: StepContext) {
    const { writeIsoFile } = await import('../formats/iso9660/index.js');
    const tree = await resolveFiles(o.files ?? {}, ctx);
    const entries: Array<Record<string, unknown>> = [];
    if (o.bios) {
      const image = await content(o.bios.image, ctx);
      entries.push(
        o.bios.emulation === 'hdd'
          ? { platform: 'bios', emulation: 'hdd', image }
          : {
              platform: 'bios',
              emulation: 'none',
              image,
              ...(o.bios.loadSectors ? { loadSectors: o.bios.loadSectors } : {}),
              ...(o.bios.bootInfoTable ? { bootInfoTable: true } : {}),
            },
      );
    }
    if (o.uefi) {
      let image: Content;
      if (typeof o.uefi === 'object' && 'files' in o.uefi && !isFileInput(o.uefi)) {
        const { writeFat } = await import('../formats/fat/index.js');
        const { MemorySink } = await import('../formats/io/block-writer.js');
        const sink = new MemorySink(parseSize(o.uefi.size));
        await writeFat(sink, await resolveFiles(o.uefi.files, ctx), { epoch: ctx.epoch });
        image = sink.bytes;
      } else {
        image = await content(o.uefi as FileInput, ctx);
      }
      entries.push({ platform: 'efi', emulation: 'none', image });
    }
    await writeIsoFile(ctx.outPath(), tree, {
      epoch: ctx.epoch,
      ...(o.volumeId ? { volumeId: o.volumeId } : {}),
      ...(entries.length ? { boot: { entries: entries as never } } : {}),
      ...(o.hybrid ? { hybrid: true } : {}),
    });
  },
};
/** An ISO9660 image (Rock Ridge + Joliet) with optional El Torito BIOS/UEFI boot and hybrid MBR/GPT. */
export const iso = defineStep<IsoStepOptions>(isoKind);

// ---------- GRUB ISO ----------

/**
 * Options of `grubIso()`: GRUB (BIOS + UEFI) booting a multiboot2 kernel and its modules from an ISO.
 * @example grubIso({ kernel, modules: [initrd], cmdline: 'console=ttyS0' })
 */
export interface GrubIsoStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The multiboot2 kernel ELF. */
  kernel: FileInput;
  /** Multiboot2 modules (initrd, services), loaded in order. */
  modules?: FileInput[];
  /** Command line of each module (by index): the multiboot2 module string the kernel sees (`module2 /boot/name ARGS`). */
  moduleArgs?: string[];
  /** Kernel command line. */
  cmdline?: string;
  /** BIOS boot (i386-pc). Default true. */
  bios?: boolean;
  /** UEFI boot (x86_64-efi). Default true. */
  efi?: boolean;
  /** Hybrid MBR + GPT so the ISO also boots as a disk. Default true. */
  hybrid?: boolean;
  /** More files for the ISO. */
  files?: ImageFiles;
  /** Output file name (default `<name>.iso`). */
  output?: string;
}
const grubIsoKind = {
  kind: 'grub-iso',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput } = kit;
    return z
      .object({
        name: z.string().optional(),
        kernel: zFileInput,
        modules: z.array(zFileInput).optional(),
        moduleArgs: z.array(z.string()).optional(),
        cmdline: z.string().optional(),
        bios: z.boolean().optional(),
        efi: z.boolean().optional(),
        hybrid: z.boolean().optional(),
        files: zFiles(kit).optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<GrubIsoStepOptions>;
  },
  declare: (o: GrubIsoStepOptions) => ({
    inputs: [
      ...(typeof o.kernel === 'string' ? [o.kernel] : []),
      ...(o.modules ?? []).filter((m): m is string => typeof m === 'string'),
      ...fileMapInputs(o.files),
    ],
    tools: ['grub-mkimage'],
    outputs: [o.output ?? withExtension(o.name, 'grub', 'iso')],
  }),
  async make(o: GrubIsoStepOptions, ctx: StepContext) {
    const { buildGrubIso } = await import('../toolchain/grub.js');
    const extra: Record<string, Content> = {};
    const tree = await resolveFiles(o.files ?? {}, ctx);
    for (const [path, entry] of tree) if (entry.kind === 'file') extra[path] = entry.content;
    await buildGrubIso(ctx.outPath(), {
      kernel: ctx.path(o.kernel),
      ...(o.modules
        ? {
            modules: o.modules.map((m, i) =>
              o.moduleArgs?.[i] ? { path: ctx.path(m), args: o.moduleArgs[i]! } : ctx.path(m),
            ),
          }
        : {}),
      ...(o.cmdline !== undefined ? { cmdline: o.cmdline } : {}),
      ...(o.bios !== undefined ? { bios: o.bios } : {}),
      ...(o.efi !== undefined ? { efi: o.efi } : {}),
      ...(o.hybrid !== undefined ? { hybrid: o.hybrid } : {}),
      ...(Object.keys(extra).length ? { files: extra } : {}),
      epoch: ctx.epoch,
    });
  },
};
/** A bootable GRUB ISO (BIOS + UEFI, hybrid) around a multiboot2 kernel, built without grub-mkrescue. */
export const grubIso = defineStep<GrubIsoStepOptions>(grubIsoKind);

// ---------- VDI / VMDK ----------

/** Options of `vdi()` and `vmdk()`: a raw disk image converted (sparse: zero blocks take no space). */
export interface ConvertStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The raw disk to convert (a `raw()`, `gpt()` or `mbr()` step). */
  input: FileInput;
  /** VMDK only: `monolithicSparse` (default) or `streamOptimized` (compressed, for OVF/cloud uploads). */
  subformat?: 'monolithicSparse' | 'streamOptimized';
  /** Output file name (default `<name>.vdi` / `<name>.vmdk`). */
  output?: string;
}
function convertKind(format: 'vdi' | 'vmdk') {
  return {
    kind: format,
    version: 1,
    makeSchema: (kit: SchemaKit) => {
      const { z, zFileInput } = kit;
      return z
        .object({
          name: z.string().optional(),
          input: zFileInput,
          subformat: z.enum(['monolithicSparse', 'streamOptimized']).optional(),
          output: z.string().optional(),
        })
        .strict() satisfies z.ZodType<ConvertStepOptions>;
    },
    declare: (o: ConvertStepOptions) => ({
      inputs: typeof o.input === 'string' ? [o.input] : [],
      outputs: [o.output ?? withExtension(o.name, 'disk', format)],
    }),
    async make(o: ConvertStepOptions, ctx: StepContext) {
      const { convertImage } = await import('../formats/convert.js');
      const source = await FileSource.open(ctx.path(o.input));
      try {
        // UUIDs follow the content (VirtualBox refuses two disks with one UUID).
        await convertImage(source, ctx.outPath(), { format, ...(o.subformat ? { subformat: o.subformat } : {}) });
      } finally {
        await source.close();
      }
    },
  };
}
const vdiFactory = defineStep<ConvertStepOptions>(convertKind('vdi'));
const vmdkFactory = defineStep<ConvertStepOptions>(convertKind('vmdk'));
/** A VirtualBox VDI (dynamic) of a raw disk. @example vdi(disk, { output: 'dist/portix.vdi' }) */
export function vdi(input: FileInput, o: Omit<ConvertStepOptions, 'input' | 'subformat'> = {}) {
  return vdiFactory({ ...o, input });
}
/** A VMDK (monolithicSparse or streamOptimized) of a raw disk. */
export function vmdk(input: FileInput, o: Omit<ConvertStepOptions, 'input'> = {}) {
  return vmdkFactory({ ...o, input });
}
