/**
 * `kiln image ls FILE`: lists any supported image. Detects the format from its magic bytes and
 * hands over to that format's own `ls` (ISO, GPT, MBR, FAT, CPIO); VDI/VMDK show their header.
 */
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { FileSource } from '../formats/io/block-source.js';
import { DETECT_HEAD_BYTES, type DetectedFormat, detectFormat } from '../formats/detect.js';
import { action, printJson } from './_shared.js';

/** Registers a format's subcommands on `image` (the loader of image.ts, handed in). */
export type EnsureFormat = (image: Command, name: string) => Promise<void>;

export function registerImageLs(image: Command, ensureFormat: EnsureFormat): void {
  image
    .command('ls')
    .description('list any supported image: ISO9660, GPT, MBR, FAT, CPIO (files and partitions), VDI/VMDK (header)')
    .argument('<file>', 'the image')
    .option('--json', 'print JSON', false)
    .action(
      action(async (file: string, flags: { json: boolean }, cmd: Command) => {
        const source = await FileSource.open(file);
        let format: DetectedFormat;
        let info: Record<string, unknown> | undefined;
        try {
          const head = await source.read(0, Math.min(source.size, DETECT_HEAD_BYTES));
          format = detectFormat(head);
          if (format === 'vdi') {
            const { openVdi } = await import('../formats/vdi/index.js');
            const vdi = await openVdi(source);
            info = { format, header: vdi.header };
          } else if (format === 'vmdk') {
            const { openVmdk } = await import('../formats/vmdk/index.js');
            const vmdk = await openVmdk(source);
            info = {
              format,
              ...Object.fromEntries(
                Object.entries(vmdk).filter(
                  ([k, v]) => k !== 'file' && typeof v !== 'function' && !(v instanceof Uint32Array),
                ),
              ),
            };
          }
        } finally {
          await source.close();
        }
        if (format === 'unknown' || format === 'qcow2') {
          throw new KilnError(
            'IMAGE_UNKNOWN',
            `${file}: not an image kiln can read (no ISO9660, GPT, MBR, FAT, CPIO, VDI or VMDK signature)`,
            { exitCode: 1 },
          );
        }
        if (format === 'elf')
          throw new KilnError('IMAGE_IS_ELF', `${file} is an ELF file, not an image`, {
            hint: `use kiln elf info ${file}`,
            exitCode: 1,
          });
        if (info) {
          if (flags.json)
            printJson(JSON.parse(JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))));
          else
            process.stdout.write(
              `${format.toUpperCase()}\n${JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`,
            );
          return;
        }
        // Hand over to the format's own listing.
        await ensureFormat(cmd.parent!, format);
        const root = cmd.parent!.parent!;
        await root.parseAsync(['image', format, 'ls', file, ...(flags.json ? ['--json'] : [])], { from: 'user' });
      }),
    );
}
