/**
 * `kiln image cpio OUT --from DIR`, `kiln image cpio ls FILE`, `kiln image cpio extract FILE DIR`:
 * newc (070701) / crc (070702) archives, e.g. an initramfs, without root.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { FileSource } from '../formats/io/block-source.js';
import { treeFromDirectory } from '../formats/io/tree.js';
import { extractCpio, readCpio, writeCpioFile, type CpioEntry, type CpioWriteOptions } from '../formats/cpio/index.js';
import { formatSize } from '../util/size.js';
import { action, printJson, withFile } from './_shared.js';

interface WriteFlags {
  from?: string;
  crc?: boolean;
  epoch?: string;
  blockSize?: string;
  owner?: string;
  json?: boolean;
}

function wholeNumber(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new KilnError('CLI_BAD_OPTION', `${what}: expected a whole number, got ${JSON.stringify(value)}`);
  return n;
}

const TYPE_CHAR: Record<CpioEntry['kind'], string> = {
  file: '-',
  dir: 'd',
  symlink: 'l',
  char: 'c',
  block: 'b',
  fifo: 'p',
};

/** `drwxr-xr-x`-style mode string. */
export function modeString(kind: CpioEntry['kind'], mode: number): string {
  const part = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return (
    TYPE_CHAR[kind] +
    part(mode >> 6, (mode & 0o4000) !== 0, 's') +
    part(mode >> 3, (mode & 0o2000) !== 0, 's') +
    part(mode, (mode & 0o1000) !== 0, 't')
  );
}

async function writeCommand(out: string | undefined, flags: WriteFlags): Promise<void> {
  if (!out)
    throw new KilnError(
      'CLI_MISSING_ARGUMENT',
      'kiln image cpio: give the archive to write (OUT), or a subcommand (ls, extract)',
      { hint: 'kiln image cpio initrd.cpio --from build/initrd' },
    );
  if (!flags.from)
    throw new KilnError('CLI_MISSING_OPTION', 'kiln image cpio: --from DIR is required', {
      hint: 'kiln image cpio initrd.cpio --from build/initrd',
    });
  const s = await stat(flags.from).catch(() => undefined);
  if (!s?.isDirectory()) throw new KilnError('CLI_BAD_OPTION', `--from ${flags.from}: not a directory`);
  const tree = await treeFromDirectory(flags.from);
  const options: CpioWriteOptions = { format: flags.crc ? 'crc' : 'newc' };
  if (flags.epoch !== undefined) options.epoch = wholeNumber(flags.epoch, '--epoch');
  if (flags.blockSize !== undefined) options.blockSize = wholeNumber(flags.blockSize, '--block-size');
  if (flags.owner !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(flags.owner);
    if (!m) throw new KilnError('CLI_BAD_OPTION', `--owner: expected UID:GID, got ${JSON.stringify(flags.owner)}`);
    // Host ownership is not carried over: every entry gets the owner given (default root).
    options.uid = Number(m[1]);
    options.gid = Number(m[2]);
  }
  const result = await writeCpioFile(out, tree, options);
  if (flags.json) {
    printJson({ ok: true, archive: out, ...result });
    return;
  }
  process.stdout.write(
    `${out}: cpio ${result.format === 'crc' ? '070702 (crc)' : '070701 (newc)'}, ${result.entries} entries, ${formatSize(result.size)}\n`,
  );
}

/** Registers `kiln image cpio` and its subcommands. */
export function registerImageCpio(image: Command): void {
  const cpio = image
    .command('cpio')
    .description(
      'write a newc cpio archive (an initramfs) from a folder, like find | cpio -o -H newc, or list/extract one',
    )
    .argument('[out]', 'archive file to write')
    .option('--from <dir>', 'folder whose contents become the archive (required)')
    .option('--crc', 'write the 070702 variant with per-file data sums (default: 070701 newc)', false)
    .option('--epoch <seconds>', 'modification time of every entry (default: SOURCE_DATE_EPOCH, else 1980-01-01)')
    .option(
      '--block-size <bytes>',
      'pad the archive to a multiple of this (default 512, like GNU cpio; 4 = no padding)',
    )
    .option('--owner <uid:gid>', 'owner of every entry (default 0:0)')
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nModes and symlinks come from the folder; owners are 0:0 and times the build epoch, so the same folder gives the same archive.\nExamples:\n  kiln image cpio initrd.cpio --from build/initrd\n  kiln image cpio ls initrd.cpio\n  kiln image cpio extract initrd.cpio out/',
    )
    .action(action(async (out: string | undefined, flags: WriteFlags) => writeCommand(out, flags)));

  cpio
    .command('ls')
    .description('list the entries of a newc/crc archive (like cpio -itv)')
    .argument('<file>', 'cpio archive')
    .option('--json', 'print JSON', false)
    .action(
      action(async (path: string, flags: { json?: boolean }) => {
        const source = await FileSource.open(path, 'cpio');
        try {
          const archive = await withFile(path, () => readCpio(source));
          if (flags.json) {
            printJson({ format: archive.format, entries: archive.entries });
            return;
          }
          for (const e of archive.entries) {
            const size = e.kind === 'char' || e.kind === 'block' ? `${e.rdevMajor},${e.rdevMinor}` : String(e.size);
            const when = new Date(e.mtime * 1000).toISOString().slice(0, 19).replace('T', ' ');
            process.stdout.write(
              `${modeString(e.kind, e.mode)} ${String(e.uid).padStart(5)} ${String(e.gid).padStart(5)} ${size.padStart(10)}  ${when}  ${e.name}${e.target !== undefined ? ` -> ${e.target}` : ''}\n`,
            );
          }
        } finally {
          await source.close();
        }
      }),
    );

  cpio
    .command('extract')
    .description(
      'extract an archive into a folder; refuses .. and absolute names, never writes outside the folder or through a symlink, never overwrites unless --force',
    )
    .argument('<file>', 'cpio archive')
    .argument('<dir>', 'folder to extract into (created if needed)')
    .option('--strip-absolute', 'turn absolute names into relative ones instead of refusing them', false)
    .option(
      '--force',
      'replace existing files and symlinks (the links themselves; never a directory, never through a symlink)',
      false,
    )
    .option('--overwrite', 'the same as --force', false)
    .option('--json', 'print JSON', false)
    .action(
      action(
        async (
          path: string,
          dir: string,
          flags: { stripAbsolute?: boolean; force?: boolean; overwrite?: boolean; json?: boolean },
        ) => {
          const source = await FileSource.open(path, 'cpio');
          try {
            const result = await withFile(path, () =>
              extractCpio(source, dir, {
                stripAbsolute: flags.stripAbsolute ?? false,
                overwrite: Boolean(flags.force || flags.overwrite),
              }),
            );
            if (flags.json) {
              printJson({ ok: true, ...result });
              return;
            }
            process.stdout.write(`extracted ${result.extracted.length} entries to ${dir}\n`);
            for (const s of result.skipped) process.stdout.write(`  skipped ${s.kind} ${s.path}: ${s.reason}\n`);
          } finally {
            await source.close();
          }
        },
      ),
    );
}
