/**
 * `kiln image convert IN OUT --format vdi|vmdk|raw [--subformat monolithicSparse|streamOptimized] [--json]`:
 * converts a disk image (raw, VDI or VMDK, detected by magic) without qemu-img. Without --format,
 * the output name's extension decides.
 */
import { statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import type { ImageFormat } from '../formats/convert.js';
import type { VmdkSubformat } from '../formats/vmdk/_layout.js';
import { formatSize } from '../util/size.js';
import { globalOptions, printJson, reportError } from './_shared.js';

interface ConvertFlags {
  format?: string;
  subformat?: string;
  inputFormat?: string;
  seed?: string;
  json?: boolean;
}

const FORMATS = ['raw', 'vdi', 'vmdk'];
const SUBFORMATS = ['monolithicSparse', 'streamOptimized'];

/** The format an output name implies (`.vdi`, `.vmdk`, `.img`/`.raw`), if any. */
function formatFromName(name: string): string | undefined {
  const ext = extname(name).toLowerCase();
  return ext === '.vdi' ? 'vdi' : ext === '.vmdk' ? 'vmdk' : ext === '.img' || ext === '.raw' ? 'raw' : undefined;
}

async function convertCommand(input: string, output: string, flags: ConvertFlags): Promise<void> {
  flags.format ??= formatFromName(output);
  if (!flags.format) {
    throw new KilnError(
      'CLI_MISSING_OPTION',
      `kiln image convert: --format is required when ${JSON.stringify(basename(output))} does not end in .vdi, .vmdk, .img or .raw`,
      {
        hint: 'kiln image convert disk.img disk.vdi --format vdi',
      },
    );
  }
  if (!FORMATS.includes(flags.format))
    throw new KilnError('CLI_BAD_OPTION', `--format: expected vdi, vmdk or raw, got ${JSON.stringify(flags.format)}`);
  if (flags.subformat !== undefined && !SUBFORMATS.includes(flags.subformat)) {
    throw new KilnError(
      'CLI_BAD_OPTION',
      `--subformat: expected monolithicSparse or streamOptimized, got ${JSON.stringify(flags.subformat)}`,
    );
  }
  if (flags.inputFormat !== undefined && ![...FORMATS, 'auto'].includes(flags.inputFormat)) {
    throw new KilnError(
      'CLI_BAD_OPTION',
      `--input-format: expected auto, raw, vdi or vmdk, got ${JSON.stringify(flags.inputFormat)}`,
    );
  }
  let isFile = false;
  try {
    isFile = statSync(input).isFile();
  } catch {
    // missing or not reachable: reported below
  }
  if (!isFile)
    throw new KilnError('CONVERT_INPUT_MISSING', 'no such image file', {
      location: { file: input },
      hint: 'give the path of a raw, VDI or VMDK image',
    });
  // Loaded on use, so other commands do not pay for the VDI/VMDK modules at start-up.
  const { convertImageFile } = await import('../formats/convert.js');
  const result = await convertImageFile(input, output, {
    format: flags.format as ImageFormat,
    ...(flags.subformat ? { subformat: flags.subformat as VmdkSubformat } : {}),
    ...(flags.inputFormat ? { inputFormat: flags.inputFormat as ImageFormat | 'auto' } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
  });
  if (flags.json) {
    printJson({ ok: true, input, output, ...result });
    return;
  }
  const kind = result.subformat ? `${result.format} (${result.subformat})` : result.format;
  const skipped =
    result.format === 'raw'
      ? ''
      : `, ${formatSize(result.diskSize - Math.min(result.diskSize, result.storedBytes))} of zero blocks not stored`;
  process.stdout.write(
    `${output}: ${kind} from ${result.inputFormat}, virtual size ${formatSize(result.diskSize)}, file ${formatSize(result.fileSize)}${skipped}\n`,
  );
}

/**
 * Registers `kiln image convert` under `kiln image`.
 * @example registerImageConvert(program.command('image'))
 */
export function registerImageConvert(image: Command): void {
  image
    .command('convert')
    .description('convert a disk image between raw, VDI (VirtualBox) and VMDK (VMware); zero blocks are not stored')
    .argument('<in>', 'input image (raw, VDI or VMDK; detected by magic)')
    .argument('<out>', 'output image (written atomically)')
    .option(
      '--format <format>',
      "output format: vdi, vmdk or raw (default: from OUT's extension .vdi, .vmdk, .img, .raw)",
    )
    .option('--subformat <subformat>', 'VMDK subformat: monolithicSparse or streamOptimized (default monolithicSparse)')
    .option('--input-format <format>', 'input format: auto, raw, vdi or vmdk (default auto)')
    .option('--seed <text>', 'seed for the image UUIDs/CID (default: derived from the disk content)')
    .option('--json', 'print the result as JSON', false)
    .action(async (input: string, output: string, flags: ConvertFlags) => {
      try {
        await convertCommand(input, output, flags);
      } catch (error) {
        reportError(error, { ...globalOptions(), json: flags.json === true });
      }
    });
}
