/**
 * `kiln image iso OUT --from DIR [--bios-boot FILE --no-emul|--hd-emul] [--efi-boot ESP.img] [--hybrid]`,
 * `kiln image iso ls FILE [--json]`, `kiln image iso extract FILE DIR`, and
 * `kiln image grub-iso OUT --kernel K [--module M] [--cmdline ...]`.
 */
import { relative, resolve, isAbsolute } from 'node:path';
import { readFileSync, statSync, type Stats } from 'node:fs';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { fileContent, type Content } from '../formats/io/content.js';
import { treeFromDirectorySync, type FileTree } from '../formats/io/tree.js';
// The writer only: the reader, the ESP (FAT) filler and GRUB load when their subcommand or option runs.
import { writeIsoFile, type IsoOptions } from '../formats/iso9660/writer.js';
import type { BootEntrySpec, MbrPatch } from '../formats/iso9660/index.js';
import { formatSize } from '../util/size.js';
import { action, printJson, withFile } from './_shared.js';

interface IsoFlags {
  from?: string;
  biosBoot?: string;
  /** false when --no-emul was given (commander's negatable form). */
  emul?: boolean;
  hdEmul?: boolean;
  bootInfoTable?: boolean;
  bootLoadSize?: string;
  efiBoot?: string;
  efiDir?: string;
  hybrid?: boolean;
  mbr?: string;
  mbrPatch?: string;
  gpt?: boolean;
  level?: string;
  rockRidge?: boolean;
  joliet?: boolean;
  volumeId?: string;
  json?: boolean;
}

/** The file's stats, or undefined when it cannot be stat'ed (the caller names the problem). */
function statOrNone(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

async function bootImage(
  file: string,
  from: string | undefined,
  tree: FileTree,
  what: string,
): Promise<string | Content> {
  const s = statOrNone(file);
  if (!s?.isFile())
    throw new KilnError('CLI_BAD_OPTION', `${what} ${file}: no such file`, {
      hint: 'give the path of the boot image on this machine',
    });
  if (from) {
    const rel = relative(resolve(from), resolve(file));
    if (!rel.startsWith('..') && !isAbsolute(rel) && tree.get(rel.split('\\').join('/'))?.kind === 'file')
      return rel.split('\\').join('/');
  }
  return fileContent(file); // stored hidden (no directory record)
}

function integer(value: string | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new KilnError(
      'CLI_BAD_OPTION',
      `${what}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  return n;
}

async function writeCommand(out: string | undefined, flags: IsoFlags): Promise<void> {
  if (!out)
    throw new KilnError(
      'CLI_MISSING_ARGUMENT',
      'kiln image iso: give the image to write (OUT), or a subcommand (ls, extract)',
      { hint: 'kiln image iso out.iso --from build/iso-root' },
    );
  if (!flags.from)
    throw new KilnError(
      'CLI_MISSING_OPTION',
      'kiln image iso: --from DIR is required (the folder that becomes the ISO)',
    );
  const s = statOrNone(flags.from);
  if (!s?.isDirectory()) throw new KilnError('CLI_BAD_OPTION', `--from ${flags.from}: not a directory`);
  if (flags.emul === false && flags.hdEmul)
    throw new KilnError('CLI_BAD_OPTION', '--no-emul and --hd-emul exclude each other');
  if ((flags.emul === false || flags.hdEmul || flags.bootInfoTable || flags.bootLoadSize) && !flags.biosBoot) {
    throw new KilnError(
      'CLI_MISSING_OPTION',
      '--no-emul/--hd-emul/--boot-info-table/--boot-load-size need --bios-boot FILE',
    );
  }
  // Synchronous walk: one lstat per entry, no promise round trip each (thousands of files).
  const tree = treeFromDirectorySync(flags.from);
  const entries: BootEntrySpec[] = [];
  if (flags.biosBoot) {
    const loadSectors = integer(flags.bootLoadSize, '--boot-load-size', 1, 0xffff);
    entries.push({
      platform: 'bios',
      emulation: flags.hdEmul ? 'hdd' : 'none',
      image: await bootImage(flags.biosBoot, flags.from, tree, '--bios-boot'),
      ...(flags.bootInfoTable ? { bootInfoTable: true } : {}),
      ...(loadSectors !== undefined ? { loadSectors } : {}),
    });
  }
  if (flags.efiBoot && flags.efiDir)
    throw new KilnError('CLI_BAD_OPTION', '--efi-boot and --efi-dir exclude each other');
  if (flags.efiBoot)
    entries.push({ platform: 'efi', image: await bootImage(flags.efiBoot, flags.from, tree, '--efi-boot') });
  if (flags.efiDir) {
    const d = statOrNone(flags.efiDir);
    if (!d?.isDirectory()) throw new KilnError('CLI_BAD_OPTION', `--efi-dir ${flags.efiDir}: not a directory`);
    const { espFiller } = await import('../formats/iso9660/esp.js');
    entries.push({ platform: 'efi', image: espFiller(treeFromDirectorySync(flags.efiDir)) });
  }
  const options: IsoOptions = {};
  const level = integer(flags.level, '--level', 1, 3);
  if (level !== undefined) options.level = level as 1 | 2 | 3;
  if (flags.rockRidge === false) options.rockRidge = false;
  if (flags.joliet === false) options.joliet = false;
  if (flags.volumeId) options.volumeId = flags.volumeId;
  if (entries.length) options.boot = { entries };
  if (flags.hybrid || flags.mbr) {
    const patch = flags.mbrPatch;
    if (patch !== undefined && !['grub2', 'isohdpfx', 'none'].includes(patch))
      throw new KilnError(
        'CLI_BAD_OPTION',
        `--mbr-patch: expected grub2, isohdpfx or none, got ${JSON.stringify(patch)}`,
      );
    options.hybrid = {
      ...(flags.mbr ? { mbrCode: new Uint8Array(readFileSync(flags.mbr)) } : {}),
      ...(patch ? { mbrPatch: patch as MbrPatch } : {}),
      ...(flags.gpt === false ? { gpt: false } : {}),
    };
  }
  const plan = await writeIsoFile(out, tree, options);
  const files = [...tree.values()].filter((e) => e.kind === 'file').length;
  if (flags.json) {
    printJson({
      ok: true,
      image: out,
      size: plan.size,
      volumeId: plan.volumeId,
      uuid: plan.uuid,
      files,
      boot: entries.map((e) => e.platform),
    });
    return;
  }
  process.stdout.write(
    `${out}: ISO9660 level ${options.level ?? 3}, ${formatSize(plan.size)}, ${files} files, volume id ${plan.volumeId}` +
      `${options.rockRidge === false ? '' : ', Rock Ridge'}${options.joliet === false ? '' : ', Joliet'}` +
      `${entries.length ? `, El Torito ${entries.map((e) => (e.platform === 'efi' ? 'UEFI' : e.emulation === 'hdd' ? 'BIOS (hard-disk emulation)' : 'BIOS')).join(' + ')}` : ''}` +
      `${options.hybrid ? ', hybrid MBR' + (flags.gpt === false ? '' : '+GPT') : ''}\n`,
  );
}

const platformName = (p: number) => (p === 0 ? 'BIOS' : p === 0xef ? 'UEFI' : `0x${p.toString(16)}`);
const mediaName = (m: number) =>
  ['no emulation', '1.2M floppy', '1.44M floppy', '2.88M floppy', 'hard disk'][m] ?? `media ${m}`;

/** Registers `kiln image iso` (with ls, extract) and `kiln image grub-iso`. */
export function registerImageIso(image: Command): void {
  const iso = image
    .command('iso')
    .description(
      'write an ISO9660 image (Rock Ridge, Joliet, El Torito BIOS/UEFI, hybrid USB) from a folder, or list/extract one',
    )
    .argument('[out]', 'image file to write')
    .option('--from <dir>', 'folder whose contents become the ISO (required)')
    .option('--bios-boot <file>', 'El Torito BIOS boot image (inside --from: referenced there; else stored hidden)')
    .option('--no-emul', 'BIOS image is a no-emulation boot program (the default)')
    .option('--hd-emul', 'BIOS image is a raw MBR disk served as drive 0x80 (hard-disk emulation)')
    .option('--boot-info-table', 'patch the boot information table into the BIOS image (like mkisofs -boot-info-table)')
    .option('--boot-load-size <sectors>', '512-byte sectors the BIOS loads (no emulation; default 4)')
    .option('--efi-boot <esp.img>', 'El Torito UEFI entry: a FAT ESP image')
    .option(
      '--efi-dir <dir>',
      'El Torito UEFI entry: a FAT ESP kiln makes from this folder (e.g. with EFI/BOOT/BOOTX64.EFI)',
    )
    .option('--hybrid', 'add an MBR and GPT so the image also boots from a USB disk')
    .option('--mbr <file>', 'MBR boot code for --hybrid (e.g. GRUB boot_hybrid.img, syslinux isohdpfx.bin)')
    .option('--mbr-patch <kind>', 'how the MBR finds the BIOS image: grub2, isohdpfx or none (default: none)')
    .option('--no-gpt', 'hybrid with an MBR only (0x17 + 0xEF entries) instead of protective MBR + GPT')
    .option(
      '--level <n>',
      'ISO9660 interchange level 1, 2 or 3 (default 3: files of 4 GiB and more in several extents)',
    )
    .option('--no-rock-ridge', 'leave out Rock Ridge (POSIX names, modes, symlinks)')
    .option('--no-joliet', 'leave out Joliet (Windows names)')
    .option('--volume-id <id>', 'volume identifier, A-Z 0-9 _ up to 32 (default: KILN_ + a hash of the tree)')
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nDates come from SOURCE_DATE_EPOCH (default 1980-01-01): the same inputs give the same image.\nExamples:\n  kiln image iso out.iso --from iso-root\n  kiln image iso portix.iso --from dist --bios-boot build/portix.img --hd-emul\n  kiln image iso os.iso --from root --bios-boot root/boot/cdboot.img --boot-info-table --efi-boot esp.img --hybrid\n  kiln image iso ls out.iso\n  kiln image iso extract out.iso out/',
    )
    .action(action(async (out: string | undefined, flags: IsoFlags) => writeCommand(out, flags)));

  iso
    .command('ls')
    .description('list the files and boot entries of an ISO image')
    .argument('<image>', 'ISO image')
    .option('--namespace <ns>', 'auto (Rock Ridge, then Joliet, then ISO9660), rockridge, joliet or iso9660', 'auto')
    .option('--json', 'print JSON', false)
    .action(
      action(async (path: string, flags: { namespace: string; json?: boolean }) => {
        if (!['auto', 'rockridge', 'joliet', 'iso9660'].includes(flags.namespace))
          throw new KilnError(
            'CLI_BAD_OPTION',
            `--namespace: expected auto, rockridge, joliet or iso9660, got ${JSON.stringify(flags.namespace)}`,
          );
        const { FileSource } = await import('../formats/io/block-source.js');
        const { readIso } = await import('../formats/iso9660/reader.js');
        const source = await FileSource.open(path, 'iso9660');
        try {
          const image = await withFile(path, () => readIso(source, { namespace: flags.namespace as 'auto' }));
          if (flags.json) {
            printJson(image);
            return;
          }
          process.stdout.write(
            `${path}: ISO9660, ${formatSize(image.volumeSize)}, volume id ${image.volumeId || '(none)'}, names from ${image.namespace}` +
              `${image.rockRidge ? `, Rock Ridge${image.rockRidgeId ? ` (${image.rockRidgeId})` : ''}` : ''}${image.joliet ? `, Joliet level ${image.jolietLevel}` : ''}\n`,
          );
          if (image.boot) {
            process.stdout.write(
              `El Torito catalog at sector ${image.boot.catalogLba}${image.boot.checksumValid ? '' : ' (bad checksum)'}:\n`,
            );
            for (const e of image.boot.entries) {
              process.stdout.write(
                `  ${platformName(e.platform)} ${mediaName(e.media)}${e.bootable ? '' : ' (not bootable)'}, sector ${e.lba}, load ${e.sectorCount} × 512 bytes${e.media === 4 ? `, partition type 0x${e.systemType.toString(16)}` : ''}\n`,
              );
            }
          }
          for (const e of image.entries) {
            const when = new Date(e.mtime * 1000).toISOString().slice(0, 19).replace('T', ' ');
            const size = e.kind === 'dir' ? '<dir>' : e.kind === 'file' ? String(e.size) : `<${e.kind}>`;
            const mode = e.mode !== undefined ? e.mode.toString(8).padStart(4, '0') : '----';
            process.stdout.write(
              `${mode} ${size.padStart(12)}  ${when}  ${e.path}${e.kind === 'dir' ? '/' : ''}${e.target !== undefined ? ` -> ${e.target}` : ''}\n`,
            );
          }
        } finally {
          await source.close();
        }
      }),
    );

  iso
    .command('extract')
    .description(
      'extract every file of an ISO into a folder (never outside it or through a symlink; symlinks last; devices skipped; never overwrites unless --force)',
    )
    .argument('<image>', 'ISO image')
    .argument('<dir>', 'folder to extract into (created if needed)')
    .option('--namespace <ns>', 'auto, rockridge, joliet or iso9660', 'auto')
    .option(
      '--force',
      'replace existing files and symlinks (the links themselves; never a directory, never through a symlink)',
      false,
    )
    .action(
      action(async (path: string, dir: string, flags: { namespace: string; force?: boolean }) => {
        if (!['auto', 'rockridge', 'joliet', 'iso9660'].includes(flags.namespace))
          throw new KilnError(
            'CLI_BAD_OPTION',
            `--namespace: expected auto, rockridge, joliet or iso9660, got ${JSON.stringify(flags.namespace)}`,
          );
        const { FileSource } = await import('../formats/io/block-source.js');
        const { readIso, extractIso } = await import('../formats/iso9660/reader.js');
        const source = await FileSource.open(path, 'iso9660');
        try {
          const image = await withFile(path, () => readIso(source, { namespace: flags.namespace as 'auto' }));
          const r = await withFile(path, () => extractIso(source, image, dir, { overwrite: flags.force ?? false }));
          process.stdout.write(
            `extracted ${r.files} files, ${r.directories} directories and ${r.symlinks} symlinks to ${dir}${r.skipped.length ? ` (skipped ${r.skipped.length} special files)` : ''}\n`,
          );
        } finally {
          await source.close();
        }
      }),
    );

  image
    .command('grub-iso')
    .description(
      'build a bootable hybrid ISO (BIOS + UEFI, CD + USB) that boots a multiboot2 kernel with GRUB (grub-mkimage; no grub-mkrescue/xorriso)',
    )
    .argument('<out>', 'ISO file to write')
    .requiredOption('--kernel <file>', 'multiboot2 kernel (ELF)')
    .option('--module <file...>', 'multiboot2 module (repeatable); FILE or FILE=ARGS for a module command line')
    .option('--cmdline <text>', 'kernel command line (default: none)')
    .option('--timeout <seconds>', 'GRUB menu timeout (default 0)')
    .option('--no-serial', 'no serial console (default: COM1 at 115200)')
    .option('--no-bios', 'leave out BIOS boot')
    .option('--no-efi', 'leave out UEFI boot')
    .option('--no-hybrid', 'CD only: no MBR/GPT')
    .option('--volume-id <id>', 'volume identifier')
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nExample:\n  kiln image grub-iso kosh.iso --kernel build/kernel.elf --module build/init=init --cmdline "console=ttyS0"',
    )
    .action(
      action(
        async (
          out: string,
          flags: {
            kernel: string;
            module?: string[];
            cmdline?: string;
            timeout?: string;
            serial?: boolean;
            bios?: boolean;
            efi?: boolean;
            hybrid?: boolean;
            volumeId?: string;
            json?: boolean;
          },
        ) => {
          const modules = (flags.module ?? []).map((m) => {
            const eq = m.indexOf('=');
            return eq > 0 ? { path: m.slice(0, eq), args: m.slice(eq + 1) } : { path: m };
          });
          const timeout = integer(flags.timeout, '--timeout', 0, 3600);
          const { buildGrubIso } = await import('../toolchain/grub.js');
          const result = await buildGrubIso(out, {
            kernel: flags.kernel,
            modules,
            ...(flags.cmdline !== undefined ? { cmdline: flags.cmdline } : {}),
            ...(timeout !== undefined ? { timeout } : {}),
            serial: flags.serial !== false,
            bios: flags.bios !== false,
            efi: flags.efi !== false,
            hybrid: flags.hybrid !== false,
            ...(flags.volumeId ? { volumeId: flags.volumeId } : {}),
          });
          if (flags.json) {
            printJson({
              ok: true,
              image: out,
              size: result.plan.size,
              volumeId: result.plan.volumeId,
              uuid: result.plan.uuid,
              config: result.config,
            });
            return;
          }
          process.stdout.write(
            `${out}: GRUB ISO, ${formatSize(result.plan.size)}, ${[result.images.eltorito ? 'BIOS' : '', result.images.efi ? 'UEFI' : ''].filter(Boolean).join(' + ')}` +
              `${flags.hybrid !== false ? ', hybrid (boots as CD or disk)' : ''}, volume ${result.plan.volumeId} (${result.plan.uuid})\n`,
          );
        },
      ),
    );
}
