/**
 * `kiln image ls FILE`: lists any supported image. Detects the format from its magic bytes and
 * hands over to that format's own `ls` (ISO, GPT, MBR, FAT, CPIO); VDI/VMDK show their header.
 */
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { FileSource } from '../formats/io/block-source.js';
import { readAscii, readU32 } from '../formats/io/bytes.js';
import { action, printJson } from './_shared.js';

export type DetectedFormat = 'iso' | 'gpt' | 'mbr' | 'fat' | 'cpio' | 'vdi' | 'vmdk' | 'elf' | 'unknown';

/** The image format of `bytes` (the first 36 KiB of a file), by magic. */
export function detectFormat(head: Uint8Array): DetectedFormat {
  const at = (offset: number, text: string) => head.length >= offset + text.length && readAscii(head, offset, text.length) === text;
  if (at(0x8001, 'CD001')) return 'iso'; // an ISO (hybrid ISOs also carry an MBR/GPT: the ISO is the content)
  if (at(0, '\x7fELF')) return 'elf';
  if (at(0, '070701') || at(0, '070702')) return 'cpio';
  if (head.length >= 4 && at(0, 'KDMV')) return 'vmdk';
  if (head.length >= 0x44 && readU32(head, 0x40, true) === 0xbeda107f) return 'vdi';
  if (at(512, 'EFI PART')) return 'gpt';
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) {
    // A FAT boot sector also ends in 55AA: it has a BPB with a plausible bytes-per-sector.
    const bps = head[11]! | (head[12]! << 8);
    const fatName = at(54, 'FAT') || at(82, 'FAT32');
    if ((bps === 512 || bps === 1024 || bps === 2048 || bps === 4096) && fatName) return 'fat';
    return 'mbr';
  }
  return 'unknown';
}

export function registerImageLs(image: Command): void {
  image
    .command('ls')
    .description('list any supported image: ISO9660, GPT, MBR, FAT, CPIO (files and partitions), VDI/VMDK (header)')
    .argument('<file>', 'the image')
    .option('--json', 'print JSON', false)
    .action(action(async (file: string, flags: { json: boolean }, cmd: Command) => {
      const source = await FileSource.open(file);
      let format: DetectedFormat;
      let info: Record<string, unknown> | undefined;
      try {
        const head = await source.read(0, Math.min(source.size, 0x9000));
        format = detectFormat(head);
        if (format === 'vdi') {
          const { openVdi } = await import('../formats/vdi/index.js');
          const vdi = await openVdi(source);
          info = { format, header: vdi.header };
        } else if (format === 'vmdk') {
          const { openVmdk } = await import('../formats/vmdk/index.js');
          const vmdk = await openVmdk(source);
          info = { format, ...Object.fromEntries(Object.entries(vmdk).filter(([k, v]) => k !== 'file' && typeof v !== 'function' && !(v instanceof Uint32Array))) };
        }
      } finally {
        await source.close();
      }
      if (format === 'unknown') {
        throw new KilnError('IMAGE_UNKNOWN', `${file}: not an image kiln can read (no ISO9660, GPT, MBR, FAT, CPIO, VDI or VMDK signature)`, { exitCode: 1 });
      }
      if (format === 'elf') throw new KilnError('IMAGE_IS_ELF', `${file} is an ELF file, not an image`, { hint: `use kiln elf info ${file}`, exitCode: 1 });
      if (info) {
        if (flags.json) printJson(JSON.parse(JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))));
        else process.stdout.write(`${format.toUpperCase()}\n${JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`);
        return;
      }
      // Hand over to the format's own listing.
      await (await import('./image.js')).ensureImageFormat(cmd.parent!, format);
      const root = cmd.parent!.parent!;
      await root.parseAsync(['image', format, 'ls', file, ...(flags.json ? ['--json'] : [])], { from: 'user' });
    }));
}
