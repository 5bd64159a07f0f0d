/**
 * An EFI System Partition image for an El Torito UEFI entry (UEFI 2.10 §13.3.2.1: "the El Torito
 * image is a FAT file system"), written by kiln's FAT writer straight into its extent of the ISO.
 * Sized to fit the files with a little room (FAT12/16 as mkfs.fat would pick for the size).
 */
import { KilnError } from '../../errors.js';
import type { FileTree } from '../io/tree.js';
import { planFat, writeFat } from '../fat/index.js';
import type { RegionFiller } from './eltorito.js';

/** Options of {@link espFiller}. */
export interface EspFillerOptions {
  /** Image size in bytes; default: the smallest of a growing series that holds the files. */
  size?: number;
  /** Volume label. Default `EFI`. */
  label?: string;
  /** Time for entries without an mtime. */
  epoch?: number;
}

/**
 * A FAT ESP image holding `files`, as a filler for an El Torito UEFI boot entry.
 * @example await writeIsoFile('os.iso', tree, { boot: { entries: [{ platform: 'efi', image: espFiller(buildTree({ 'EFI/BOOT/BOOTX64.EFI': loader })) }] } });
 */
export function espFiller(files: FileTree, options: EspFillerOptions = {}): RegionFiller {
  const label = options.label ?? 'EFI';
  const fatOptions = { label, ...(options.epoch !== undefined ? { epoch: options.epoch } : {}) };
  let total = 0;
  for (const e of files.values())
    if (e.kind === 'file') total += 'size' in e.content ? e.content.size : e.content.length;
  const fits = (size: number) => {
    try {
      planFat(files, size, fatOptions);
      return true;
    } catch (error) {
      if (error instanceof KilnError && error.code === 'FAT_DOES_NOT_FIT') return false;
      throw error;
    }
  };
  let size = options.size;
  if (size === undefined) {
    const step = 64 << 10;
    size = Math.max(1 << 20, Math.ceil((total * 1.1 + (256 << 10)) / step) * step);
    for (let attempt = 0; !fits(size); attempt++) {
      if (attempt > 16) throw new KilnError('ISO_ESP_TOO_LARGE', `could not size an ESP for ${total} bytes of files`);
      size = Math.ceil((size * 1.25) / step) * step;
    }
  } else if (!fits(size)) {
    throw new KilnError('FAT_DOES_NOT_FIT', `the ESP files (${total} bytes) do not fit in ${size} bytes`, {
      hint: 'give a larger ESP size, or leave it out to let kiln size it',
    });
  }
  const finalSize = size;
  return { size: finalSize, fill: async (sink) => void (await writeFat(sink, files, fatOptions)) };
}
