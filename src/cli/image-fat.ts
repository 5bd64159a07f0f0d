/**
 * `kiln image fat OUT --size 64M --from DIR`, `kiln image fat ls IMG`, `kiln image fat extract IMG DIR`.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { writeImageFile } from '../formats/io/block-writer.js';
import { treeFromDirectorySync, type FileTree } from '../formats/io/tree.js';
// The writer only: `ls` and `extract` load the reader when they run (a write does not need it).
import { writeFat, type FatOptions } from '../formats/fat/write.js';
import type { FatType } from '../formats/fat/_geometry.js';
import type { FatVolume } from '../formats/fat/read.js';
import { formatSize, parseSize } from '../util/size.js';
import { action, printJson, withFile } from './_shared.js';

interface WriteFlags {
  size?: string;
  from?: string;
  type?: string;
  label?: string;
  clusterSize?: string;
  hiddenSectors?: string;
  bootCode?: string;
  volumeId?: string;
  json?: boolean;
}

function parseType(value: string | undefined): FatType | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/^fat/i, ''));
  if (n !== 12 && n !== 16 && n !== 32)
    throw new KilnError('CLI_BAD_OPTION', `--type: expected 12, 16 or 32, got ${JSON.stringify(value)}`);
  return n;
}

function parseInteger(value: string | undefined, what: string, radix = 10): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const n = radix === 16 ? Number.parseInt(text.replace(/^0x/i, '').replace(/-/g, ''), 16) : Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || (radix === 16 && !/^(0x)?[0-9a-f]{1,4}-?[0-9a-f]{0,4}$/i.test(text))) {
    throw new KilnError(
      'CLI_BAD_OPTION',
      `${what}: expected a ${radix === 16 ? 'hexadecimal number like 1234-ABCD' : 'whole number'}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function dosSerial(id: number | undefined): string {
  if (id === undefined) return '-';
  const hex = id.toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}

async function writeCommand(out: string | undefined, flags: WriteFlags): Promise<void> {
  if (!out)
    throw new KilnError(
      'CLI_MISSING_ARGUMENT',
      'kiln image fat: give the image to write (OUT), or a subcommand (ls, extract)',
      { hint: 'kiln image fat esp.img --size 64M --from build/esp' },
    );
  if (!flags.size) throw new KilnError('CLI_MISSING_OPTION', 'kiln image fat: --size is required (e.g. --size 64M)');
  const size = parseSize(flags.size, '--size');
  let tree: FileTree = new Map();
  if (flags.from) {
    const s = statSync(flags.from, { throwIfNoEntry: false });
    if (!s?.isDirectory()) throw new KilnError('CLI_BAD_OPTION', `--from ${flags.from}: not a directory`);
    tree = treeFromDirectorySync(flags.from);
  }
  const options: FatOptions = {};
  const type = parseType(flags.type);
  if (type) options.type = type;
  if (flags.label !== undefined) options.label = flags.label;
  if (flags.clusterSize !== undefined) options.clusterSize = parseSize(flags.clusterSize, '--cluster-size');
  const hidden = parseInteger(flags.hiddenSectors, '--hidden-sectors');
  if (hidden !== undefined) options.hiddenSectors = hidden;
  const volumeId = parseInteger(flags.volumeId, '--volume-id', 16);
  if (volumeId !== undefined) options.volumeId = volumeId;
  if (flags.bootCode) options.bootCode = new Uint8Array(readFileSync(flags.bootCode));
  const result = await writeImageFile(out, size, (sink) => writeFat(sink, tree, options));
  const files = [...tree.values()].filter((e) => e.kind === 'file').length;
  if (flags.json) {
    printJson({ ok: true, image: out, ...result, files, geometry: undefined });
    return;
  }
  const usedBytes = (result.clusterCount - result.freeClusters) * result.clusterSize;
  process.stdout.write(
    `${out}: FAT${result.type}, ${formatSize(result.size)}, ${formatSize(result.clusterSize)} clusters, ${files} files, ` +
      `${formatSize(usedBytes)} used, ${formatSize(result.freeClusters * result.clusterSize)} free, volume id ${dosSerial(result.volumeId)}` +
      `${result.label ? `, label ${result.label}` : ''}\n`,
  );
}

function offsetOption(value: string | undefined): number {
  return value === undefined ? 0 : parseSize(value, '--offset');
}

/** Opens the FAT volume of an image file for `ls`/`extract` (loading the reader only then) and runs `use` on it. */
async function withVolume<T>(
  path: string,
  offset: string | undefined,
  use: (volume: FatVolume) => Promise<T>,
): Promise<T> {
  const [{ FileSource }, { openFat }] = await Promise.all([
    import('../formats/io/block-source.js'),
    import('../formats/fat/read.js'),
  ]);
  const source = await FileSource.open(path, 'fat');
  try {
    const volume = await withFile(path, () => openFat(source, { offset: offsetOption(offset) }));
    return await use(volume);
  } finally {
    await source.close();
  }
}

/** Registers `kiln image fat` and its subcommands. */
export function registerImageFat(image: Command): void {
  const fat = image
    .command('fat')
    .description('write a FAT12/16/32 image from a folder (like mkfs.fat + mcopy, without root), or list/extract one')
    .argument('[out]', 'image file to write')
    .option('--size <size>', 'volume size, e.g. 64M, 2G (required)')
    .option('--from <dir>', 'folder whose contents become the volume (default: empty volume)')
    .option('--type <bits>', '12, 16 or 32 (default: as mkfs.fat picks: FAT32 from 512 MiB)')
    .option('--label <label>', 'volume label, up to 11 characters (default: none)')
    .option('--cluster-size <size>', 'cluster size, 512 to 64K (default: as mkfs.fat picks)')
    .option('--hidden-sectors <n>', 'sectors before the volume on its disk (partition start LBA; default 0)')
    .option('--boot-code <file>', "512-byte boot sector whose jump and code are kept (the BPB is kiln's)")
    .option('--volume-id <hex>', 'volume serial, e.g. 1234-ABCD (default: derived from the content)')
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nTimestamps come from SOURCE_DATE_EPOCH (default 1980-01-01): the same inputs give the same image.\nExamples:\n  kiln image fat esp.img --size 64M --from build/esp --label EFI\n  kiln image fat ls esp.img\n  kiln image fat extract esp.img out/',
    )
    .action(action(async (out: string | undefined, flags: WriteFlags) => writeCommand(out, flags)));

  fat
    .command('ls')
    .description('list the files of a FAT image')
    .argument('<image>', 'FAT image (or a disk image with --offset)')
    .option('--offset <bytes>', 'byte offset of the volume inside the image (default 0)')
    .option('--json', 'print JSON', false)
    .action(
      action(async (path: string, flags: { offset?: string; json?: boolean }) =>
        withVolume(path, flags.offset, async (volume) => {
          const entries = await withFile(path, () => volume.list());
          const info = volume.info;
          if (flags.json) {
            printJson({ info, entries });
            return;
          }
          process.stdout.write(
            `${path}: FAT${info.type}, ${formatSize(info.totalSectors * info.bytesPerSector)}, ${formatSize(info.clusterSize)} clusters, ` +
              `volume id ${dosSerial(info.volumeId)}, label ${info.label ?? '(none)'}\n`,
          );
          for (const e of entries) {
            const when =
              e.mtime === undefined ? '-' : new Date(e.mtime * 1000).toISOString().slice(0, 19).replace('T', ' ');
            const size = e.kind === 'dir' ? '<dir>' : String(e.size);
            process.stdout.write(`${size.padStart(12)}  ${when}  ${e.path}${e.kind === 'dir' ? '/' : ''}\n`);
          }
        }),
      ),
    );

  fat
    .command('extract')
    .description(
      'extract every file of a FAT image into a folder (never outside it or through a symlink; never overwrites unless --force)',
    )
    .argument('<image>', 'FAT image')
    .argument('<dir>', 'folder to extract into (created if needed)')
    .option('--offset <bytes>', 'byte offset of the volume inside the image (default 0)')
    .option(
      '--force',
      'replace existing files and symlinks (the links themselves; never a directory, never through a symlink)',
      false,
    )
    .action(
      action(async (path: string, dir: string, flags: { offset?: string; force?: boolean }) =>
        withVolume(path, flags.offset, async (volume) => {
          const entries = await withFile(path, () => volume.extract(dir, { overwrite: flags.force ?? false }));
          const files = entries.filter((e) => e.kind === 'file');
          process.stdout.write(
            `extracted ${files.length} files and ${entries.length - files.length} directories to ${dir}\n`,
          );
        }),
      ),
    );
}
