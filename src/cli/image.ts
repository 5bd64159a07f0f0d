/**
 * `kiln image <format> ...`: the image writers and readers as standalone commands.
 * Each format registers its subcommands from its own file (src/cli/image-<format>.ts). Only the
 * file of the format being run is loaded (all of them for `kiln image --help`): each pulls in its
 * format library, and loading all eight cost about 40 ms of every `kiln image` run.
 */
import type { Command } from 'commander';

/** Registers a format's subcommands; `image ls` also gets the loader, to hand over to a format's own `ls`. */
type RegisterFormat = (image: Command, ensureFormat: (image: Command, name: string) => Promise<void>) => void;

/** Format subcommand → its registration (one line per image-<format>.ts file). */
const FORMATS: Array<[string, () => Promise<RegisterFormat>]> = [
  // kiln:image-registrations (one ['name', async () => (await import('./image-x.js')).registerImageX] line per format; keep this marker)
  ['cpio', async () => (await import('./image-cpio.js')).registerImageCpio],
  ['gpt', async () => (await import('./image-gpt.js')).registerImageGpt],
  ['mbr', async () => (await import('./image-mbr.js')).registerImageMbr],
  ['raw', async () => (await import('./image-raw.js')).registerImageRaw],
  ['iso', async () => (await import('./image-iso.js')).registerImageIso],
  ['convert', async () => (await import('./image-convert.js')).registerImageConvert],
  ['fat', async () => (await import('./image-fat.js')).registerImageFat],
  ['ls', async () => (await import('./image-ls.js')).registerImageLs],
];

/** Which format subcommands a file registers when it is not named after them. */
const ALIASES: Record<string, string> = { 'grub-iso': 'iso' };

/** The word after `image` in argv (the format subcommand), if any. */
function formatName(argv: string[]): string | undefined {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  const at = words.indexOf('image');
  return at >= 0 ? words[at + 1] : undefined;
}

/** Registers a format's subcommands on `image` unless they are there already (for `image ls`, which hands over to them). */
async function ensureImageFormat(image: Command, name: string): Promise<void> {
  if (image.commands.some((command) => command.name() === name)) return;
  const entry = FORMATS.find(([format]) => format === (ALIASES[name] ?? name));
  if (entry) (await entry[1]())(image, ensureImageFormat);
}

export async function registerImage(program: Command, argv: string[] = []): Promise<void> {
  const image = program
    .command('image')
    .description('write and inspect disk images (cpio, fat, gpt, mbr, raw, iso, vdi, vmdk) without root or host tools');
  const wanted = formatName(argv);
  const only = wanted === undefined ? undefined : (ALIASES[wanted] ?? wanted);
  const known = only !== undefined && FORMATS.some(([name]) => name === only);
  for (const [name, load] of FORMATS) {
    if (known && name !== only) continue;
    (await load())(image, ensureImageFormat);
  }
}
