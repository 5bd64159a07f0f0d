/**
 * `kiln image gpt OUT --size 64M --part esp:32M:esp.img ...` and `kiln image gpt ls DISK`:
 * GPT disks with a protective MBR, like sgdisk + dd, without root or loop devices.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { FileSource } from '../formats/io/block-source.js';
import { readGpt, writeGptFile, type GptOptions, type GptPartitionSpec } from '../formats/gpt/index.js';
import { formatSize } from '../util/size.js';
import { printJson } from './_shared.js';
import { collect } from './_options.js';
import { partitionSource } from './_partition-source.js';
import { action, withFile } from './_shared.js';

/** `TYPE:SIZE[:SOURCE[:NAME]]`; SIZE may be empty or `-` (the source's size, or the rest for the last partition). */
async function parsePart(spec: string, index: number): Promise<GptPartitionSpec> {
  const [type, size, source, ...nameParts] = spec.split(':');
  const what = `--part ${JSON.stringify(spec)}`;
  if (!type)
    throw new KilnError('CLI_BAD_OPTION', `${what}: expected TYPE:SIZE[:SOURCE[:NAME]]`, {
      hint: 'e.g. --part esp:32M:esp.img or --part linux:-',
    });
  const part: GptPartitionSpec = { type, ...(await partitionSource(source, what)) };
  if (size && size !== '-') part.size = size;
  if (nameParts.length > 0) part.name = nameParts.join(':');
  void index;
  return part;
}

interface WriteFlags {
  size?: string;
  part?: string[];
  seed?: string;
  alignment?: string;
  bootCode?: string;
  json?: boolean;
}

async function writeCommand(out: string | undefined, flags: WriteFlags): Promise<void> {
  if (!out)
    throw new KilnError(
      'CLI_MISSING_ARGUMENT',
      'kiln image gpt: give the disk image to write (OUT), or a subcommand (ls)',
      { hint: 'kiln image gpt disk.img --size 64M --part esp:32M:esp.img --part linux:-' },
    );
  if (!flags.size) throw new KilnError('CLI_MISSING_OPTION', 'kiln image gpt: --size is required (e.g. --size 64M)');
  const partitions: GptPartitionSpec[] = [];
  for (const [i, spec] of (flags.part ?? []).entries()) partitions.push(await parsePart(spec, i));
  const options: GptOptions = { size: flags.size, partitions };
  if (flags.seed !== undefined) options.seed = flags.seed;
  if (flags.alignment !== undefined) options.alignment = flags.alignment;
  if (flags.bootCode) options.bootCode = new Uint8Array(await readFile(flags.bootCode));
  const layout = await writeGptFile(out, options);
  const parts = layout.partitions.map((p) => ({
    index: p.index,
    name: p.name,
    typeGuid: p.typeGuid,
    guid: p.guid,
    firstLba: p.firstLba,
    lastLba: p.lastLba,
    size: p.size,
  }));
  if (flags.json) {
    printJson({
      ok: true,
      image: out,
      size: layout.size,
      diskGuid: layout.diskGuid,
      firstUsableLba: layout.firstUsableLba,
      lastUsableLba: layout.lastUsableLba,
      partitions: parts,
    });
    return;
  }
  process.stdout.write(
    `${out}: GPT, ${formatSize(layout.size)}, disk ${layout.diskGuid}, ${parts.length} partition(s)\n`,
  );
  for (const p of parts)
    process.stdout.write(
      `  ${p.index}  ${String(p.firstLba).padStart(10)}  ${String(p.lastLba).padStart(10)}  ${formatSize(p.size).padStart(10)}  ${p.name}\n`,
    );
}

/** Registers `kiln image gpt` and its subcommands. */
export function registerImageGpt(image: Command): void {
  const gpt = image
    .command('gpt')
    .description(
      'write a GPT disk (protective MBR, both headers) with partitions from files or folders, like sgdisk + dd; or list one',
    )
    .argument('[out]', 'disk image to write')
    .option('--size <size>', 'disk size, e.g. 64M, 4G (required); the file is sparse')
    .option(
      '--part <TYPE:SIZE[:SOURCE[:NAME]]>',
      'a partition, repeatable, in order. TYPE: esp, linux, linux-root-x86_64, bios-boot, basic-data, ... or a GUID; SIZE: 32M, or - for the source size / the rest; SOURCE: an image file or fat=DIR',
      collect,
      [],
    )
    .option('--seed <text>', 'seed of the disk and partition GUIDs (default: derived from the layout)')
    .option('--alignment <size>', 'partition alignment (default 1M)')
    .option('--boot-code <file>', 'up to 440 bytes of boot code for the protective MBR')
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nGUIDs derive from --seed (or the layout): the same inputs give the same disk.\nExamples:\n  kiln image gpt disk.img --size 64M --part esp:32M:esp.img --part linux-root-x86_64:-:root.img:root\n  kiln image gpt disk.img --size 128M --part esp:64M:fat=build/esp\n  kiln image gpt ls disk.img',
    )
    .action(action(async (out: string | undefined, flags: WriteFlags) => writeCommand(out, flags)));

  gpt
    .command('ls')
    .description('validate a GPT disk (both headers, CRCs, overlaps) and list its partitions')
    .argument('<image>', 'disk image')
    .option('--json', 'print JSON', false)
    .action(
      action(async (path: string, flags: { json?: boolean }) => {
        const source = await FileSource.open(path, 'gpt');
        try {
          const info = await withFile(path, () => readGpt(source));
          if (flags.json) {
            printJson(
              JSON.parse(JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))),
            );
            if (info.problems.length > 0) process.exitCode = 1;
            return;
          }
          process.stdout.write(
            `${path}: GPT, ${formatSize(info.size)}, disk ${info.diskGuid}, usable LBA ${info.firstUsableLba}..${info.lastUsableLba}\n`,
          );
          process.stdout.write(
            '   #       start         end        size  type                                  name\n',
          );
          for (const p of info.partitions) {
            const attrs = p.attributeNames.length ? `  [${p.attributeNames.join(', ')}]` : '';
            process.stdout.write(
              `  ${String(p.index).padStart(2)}  ${String(p.firstLba).padStart(10)}  ${String(p.lastLba).padStart(10)}  ${formatSize(p.size).padStart(10)}  ${(p.typeName ?? p.typeGuid).padEnd(36)}  ${p.name}${attrs}\n`,
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
