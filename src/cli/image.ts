/**
 * `kiln image <format> ...`: the image writers and readers as standalone commands.
 * Each format registers its subcommands from its own file (src/cli/image-<format>.ts).
 */
import type { Command } from 'commander';
// kiln:image-imports (one import per image-<format>.ts file; keep this marker)
import { registerImageCpio } from './image-cpio.js';
import { registerImageGpt } from './image-gpt.js';
import { registerImageMbr } from './image-mbr.js';
import { registerImageRaw } from './image-raw.js';
import { registerImageIso } from './image-iso.js';
import { registerImageConvert } from './image-convert.js';
import { registerImageFat } from './image-fat.js';
import { registerImageLs } from './image-ls.js';

export function registerImage(program: Command): void {
  const image = program
    .command('image')
    .description('write and inspect disk images (cpio, fat, gpt, mbr, raw, iso, vdi, vmdk) without root or host tools');
  // kiln:image-registrations (one call per format, e.g. registerImageCpio(image); keep this marker)
  registerImageCpio(image);
  registerImageGpt(image);
  registerImageMbr(image);
  registerImageRaw(image);
  registerImageIso(image);
  registerImageConvert(image);
  registerImageFat(image);
  registerImageLs(image);
}
