/**
 * `kiln image mbr OUT --size 64M --part fat32:32M:boot.img ...` and `kiln image mbr ls DISK`:
 * classic MBR disks (four primary partitions), like sfdisk + dd, without root.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { FileSource } from '../formats/io/block-source.js';
import { readMbr, writeMbrFile, type MbrOptions, type MbrPartitionSpec } from '../formats/mbr/index.js';
import { formatSize } from '../util/size.js';
import { printJson } from './_shared.js';
import { action, withFile } from './_shared.js';
import { collect } from './_options.js';
import { partitionSource } from './_partition-source.js';

/** FAT type names force the FAT type of a partition formatted from a folder (fat=DIR). */
const FAT_BITS: Record<string, 12 | 16 | 32> = {
  fat12: 12,
  fat16: 16,
  'fat16-small': 16,
  'fat16-lba': 16,
  fat32: 32,
  'fat32-chs': 32,
};

interface WriteFlags {
  size?: string;
  part?: string[];
  bootable?: string;
  bootCode?: string;
  signature?: string;
  seed?: string;
  alignment?: string;
  json?: boolean;
}

async function writeCommand(out: string | undefined, flags: WriteFlags): Promise<void> {
  if (!out)
    throw new KilnError(
      'CLI_MISSING_ARGUMENT',
      'kiln image mbr: give the disk image to write (OUT), or a subcommand (ls)',
      { hint: 'kiln image mbr disk.img --size 64M --part fat32:32M:fat.img --bootable 1' },
    );
  if (!flags.size) throw new KilnError('CLI_MISSING_OPTION', 'kiln image mbr: --size is required (e.g. --size 64M)');
  const bootable = flags.bootable === undefined ? undefined : Number(flags.bootable);
  if (bootable !== undefined && ![1, 2, 3, 4].includes(bootable))
    throw new KilnError(
      'CLI_BAD_OPTION',
      `--bootable: expected a partition number 1..4, got ${JSON.stringify(flags.bootable)}`,
    );
  const partitions: MbrPartitionSpec[] = [];
  for (const [i, spec] of (flags.part ?? []).entries()) {
    const [type, size, source] = spec.split(':');
    const what = `--part ${JSON.stringify(spec)}`;
    if (!type)
      throw new KilnError('CLI_BAD_OPTION', `${what}: expected TYPE:SIZE[:SOURCE]`, {
        hint: 'e.g. --part fat32:32M:fat.img or --part linux:-',
      });
    const part: MbrPartitionSpec = {
      type: /^(0x)?[0-9a-f]{1,2}$/i.test(type)
        ? parseInt(type.replace(/^0x/i, ''), 16)
        : (type as MbrPartitionSpec['type']),
      bootable: bootable === i + 1,
      ...(await partitionSource(
        source,
        what,
        FAT_BITS[type.toLowerCase()] ? { type: FAT_BITS[type.toLowerCase()]! } : {},
      )),
    };
    if (size && size !== '-') part.size = size;
    partitions.push(part);
  }
  const options: MbrOptions = { size: flags.size, partitions };
  if (flags.bootCode) options.bootCode = new Uint8Array(await readFile(flags.bootCode));
  if (flags.signature !== undefined) {
    if (!/^(0x)?[0-9a-f]{1,8}$/i.test(flags.signature))
      throw new KilnError(
        'CLI_BAD_OPTION',
        `--signature: expected up to 8 hex digits, got ${JSON.stringify(flags.signature)}`,
      );
    options.diskSignature = parseInt(flags.signature.replace(/^0x/i, ''), 16);
  }
  if (flags.seed !== undefined) options.seed = flags.seed;
  if (flags.alignment !== undefined) options.alignment = flags.alignment;
  const layout = await writeMbrFile(out, options);
  const parts = layout.partitions.map((p) => ({
    index: p.index,
    type: p.type,
    bootable: p.bootable,
    startLba: p.startLba,
    sectors: p.sectors,
    size: p.sectors * 512,
  }));
  if (flags.json) {
    printJson({
      ok: true,
      image: out,
      size: layout.size,
      diskSignature: `0x${layout.diskSignature.toString(16).padStart(8, '0')}`,
      partitions: parts,
    });
    return;
  }
  process.stdout.write(
    `${out}: MBR, ${formatSize(layout.size)}, disk signature 0x${layout.diskSignature.toString(16).padStart(8, '0')}, ${parts.length} partition(s)\n`,
  );
  for (const p of parts)
    process.stdout.write(
      `  ${p.index}${p.bootable ? '*' : ' '} type 0x${p.type.toString(16).padStart(2, '0')}  ${String(p.startLba).padStart(10)}  ${String(p.sectors).padStart(10)}  ${formatSize(p.size)}\n`,
    );
}

/** Registers `kiln image mbr` and its subcommands. */
export function registerImageMbr(image: Command): void {
  const mbr = image
    .command('mbr')
    .description('write a classic MBR disk (up to 4 primary partitions) from files or folders, or list one')
    .argument('[out]', 'disk image to write')
    .option('--size <size>', 'disk size, e.g. 64M (required); the file is sparse')
    .option(
      '--part <TYPE:SIZE[:SOURCE]>',
      'a partition, repeatable, in order. TYPE: fat32, fat16, fat12, linux, efi, linux-swap, ... or a hex byte; SIZE: 32M, or - for the source size / the rest; SOURCE: an image file or fat=DIR',
      collect,
      [],
    )
    .option('--bootable <n>', 'mark partition n (1..4) active')
    .option('--boot-code <file>', 'up to 440 bytes of boot code')
    .option('--signature <hex>', 'disk signature (default: derived from --seed or the layout)')
    .option('--seed <text>', 'seed of the derived disk signature')
    .option('--alignment <size>', 'partition alignment (default 1M)')
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nExamples:\n  kiln image mbr disk.img --size 64M --part fat32:-:fat=build/storage --bootable 1\n  kiln image mbr ls disk.img',
    )
    .action(action(async (out: string | undefined, flags: WriteFlags) => writeCommand(out, flags)));

  mbr
    .command('ls')
    .description('validate an MBR and list its primary partitions')
    .argument('<image>', 'disk image')
    .option('--json', 'print JSON', false)
    .action(
      action(async (path: string, flags: { json?: boolean }) => {
        const source = await FileSource.open(path, 'mbr');
        try {
          const info = await withFile(path, () => readMbr(source));
          if (flags.json) {
            const { bootCode: _bootCode, ...rest } = info;
            printJson({ ...rest, diskSignature: `0x${info.diskSignature.toString(16).padStart(8, '0')}` });
            if (info.problems.length > 0) process.exitCode = 1;
            return;
          }
          process.stdout.write(
            `${path}: MBR, ${formatSize(info.size)}, disk signature 0x${info.diskSignature.toString(16).padStart(8, '0')}${info.protective ? ' (GPT protective MBR)' : ''}\n`,
          );
          for (const p of info.partitions) {
            process.stdout.write(
              `  ${p.index}${p.bootable ? '*' : ' '} type 0x${p.type.toString(16).padStart(2, '0')} ${(p.typeName ?? '').padEnd(12)} ${String(p.startLba).padStart(10)}  ${String(p.sectors).padStart(10)}  ${formatSize(p.sectors * 512)}\n`,
            );
          }
          for (const problem of info.problems) process.stderr.write(`problem: ${problem}\n`);
          if (info.problems.length > 0) process.exitCode = 1;
        } finally {
          await source.close();
        }
      }),
    );
}
