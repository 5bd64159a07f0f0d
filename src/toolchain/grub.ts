/**
 * GRUB 2 boot for multiboot2 kernels, without grub-mkrescue or xorriso: kiln runs `grub-mkimage`
 * for `i386-pc-eltorito` (cdboot.img + core.img) and `x86_64-efi` (BOOTX64.EFI) with an embedded
 * early config that finds the ISO by its volume label (grub-mkrescue uses the volume UUID), generates
 * `boot/grub/grub.cfg` from options, puts BOOTX64.EFI into a FAT ESP written by kiln's FAT writer
 * straight into the ISO, and assembles a hybrid ISO (El Torito BIOS no-emulation + UEFI entries, GRUB's
 * boot_hybrid.img MBR and a GPT) with kiln's ISO9660 writer.
 * GRUB's image formats: GRUB manual §"Images"; xorriso's `--grub2-boot-info` / `--grub2-mbr`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { KilnError } from '../errors.js';
import { run, formatCommand, describeExit } from '../util/process.js';
import { resolveEpoch } from '../util/epoch.js';
import { type FileTree, type TreeSpec, buildTree } from '../formats/io/tree.js';
import { type Content, fileContent, readContent } from '../formats/io/content.js';
import type { IsoOptions, IsoPlan } from '../formats/iso9660/index.js';

/** A file loaded by GRUB: a host path, the name it gets under /boot, and (modules) arguments. */
export interface GrubFile {
  path: string;
  /** Name inside the ISO's /boot folder. Default: the host file's base name. */
  name?: string;
  /** Module command line (multiboot2 `module2 /boot/name args`). */
  args?: string;
}

/** Options of {@link buildGrubIso} and {@link grubConfig}. */
export interface GrubIsoOptions {
  /** The multiboot2 kernel (ELF). */
  kernel: string | GrubFile;
  /** Multiboot2 modules (initrd, servers...). */
  modules?: Array<string | GrubFile>;
  /** Kernel command line. */
  cmdline?: string;
  /** Menu timeout in seconds. Default 0. */
  timeout?: number;
  /** Serial console (COM1, 115200 baud by default); `false` for the screen only. */
  serial?: boolean | { unit?: number; speed?: number };
  /** Menu entry title. Default `kiln`. */
  title?: string;
  /** BIOS boot (i386-pc). Default true. */
  bios?: boolean;
  /** UEFI boot (x86_64-efi). Default true. */
  efi?: boolean;
  /** Hybrid MBR + GPT so the ISO also boots as a disk. Default true. */
  hybrid?: boolean;
  /** More files for the ISO. */
  files?: TreeSpec;
  /** Extra GRUB modules to embed (both platforms). */
  grubModules?: string[];
  /** GRUB's platform directories. Default `/usr/lib/grub`. */
  grubDir?: string;
  /** `grub-mkimage` program. Default `grub-mkimage`. */
  grubMkimage?: string;
  epoch?: number;
  volumeId?: string;
  /** Time limit for each grub-mkimage run. Default 120 s. */
  timeoutMs?: number;
}

/** GRUB modules embedded in the BIOS core.img. */
export const BIOS_MODULES = [
  'biosdisk',
  'iso9660',
  'part_msdos',
  'part_gpt',
  'search',
  'search_label',
  'normal',
  'configfile',
  'multiboot2',
  'boot',
  'serial',
  'terminal',
  'echo',
  'test',
];
/** GRUB modules embedded in BOOTX64.EFI. */
export const EFI_MODULES = [
  'iso9660',
  'fat',
  'part_msdos',
  'part_gpt',
  'search',
  'search_label',
  'normal',
  'configfile',
  'multiboot2',
  'boot',
  'serial',
  'terminal',
  'echo',
  'test',
  'efi_gop',
];

function asFile(f: string | GrubFile): GrubFile {
  return typeof f === 'string' ? { path: f } : f;
}

function quote(text: string): string {
  // grub.cfg words: single quotes protect everything but a single quote itself.
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The generated `grub.cfg`: serial console, timeout, one menu entry loading the kernel with
 * multiboot2 and each module with module2.
 * @example grubConfig({ kernel: 'build/kernel.elf', cmdline: 'debug', modules: ['build/initrd.cpio'] })
 */
export function grubConfig(
  options: Pick<GrubIsoOptions, 'kernel' | 'modules' | 'cmdline' | 'timeout' | 'serial' | 'title'>,
): string {
  const kernel = asFile(options.kernel);
  const kernelName = kernel.name ?? basename(kernel.path);
  const lines: string[] = [];
  const serial = options.serial ?? true;
  if (serial !== false) {
    const unit = typeof serial === 'object' ? (serial.unit ?? 0) : 0;
    const speed = typeof serial === 'object' ? (serial.speed ?? 115200) : 115200;
    lines.push(
      `serial --unit=${unit} --speed=${speed}`,
      'terminal_input serial console',
      'terminal_output serial console',
    );
  }
  lines.push(`set timeout=${options.timeout ?? 0}`, 'set default=0', '');
  lines.push(`menuentry ${quote(options.title ?? 'kiln')} {`);
  lines.push(`  multiboot2 /boot/${kernelName}${options.cmdline ? ` ${options.cmdline}` : ''}`);
  for (const m of (options.modules ?? []).map(asFile)) {
    const name = m.name ?? basename(m.path);
    lines.push(`  module2 /boot/${name}${m.args ? ` ${m.args}` : ''}`);
  }
  lines.push('  boot', '}', '');
  return lines.join('\n');
}

/**
 * The early config embedded in GRUB's images: find the ISO by its volume label, then read
 * /boot/grub/grub.cfg from it. (grub-mkrescue searches by the volume UUID, i.e. the build time; with
 * reproducible builds every ISO of one epoch would share it, so a machine with two of them attached
 * could read the other one's config. kiln's default label is a hash of the boot inputs instead.)
 * @example grubEarlyConfig('KILN_1A2B3C4D')
 */
export function grubEarlyConfig(volumeId: string): string {
  if (!/^[A-Z0-9_]{1,32}$/.test(volumeId))
    throw new RangeError(`"volumeId" expected 1-32 characters A-Z 0-9 _, got ${JSON.stringify(volumeId)}`);
  return `search --no-floppy --label --set=root ${volumeId}\nset prefix=($root)/boot/grub\n`;
}

/** A volume id derived from everything that goes onto a GRUB ISO (inputs' bytes and names, config, epoch). */
async function grubVolumeId(files: Array<[string, Content | string]>, epoch: number): Promise<string> {
  const h = createHash('sha256').update(`kiln-grub-iso\0${epoch}\0`);
  for (const [path, value] of files) {
    h.update(`${path}\0`);
    if (typeof value === 'string') h.update(value);
    else for await (const chunk of readContent(value)) h.update(chunk);
    h.update('\0');
  }
  return `KILN_${h.digest('hex').slice(0, 8).toUpperCase()}`;
}

async function mkimage(argv: string[], timeoutMs: number): Promise<void> {
  const result = await run(argv, { timeoutMs });
  if (result.code !== 0) {
    const tail = result.output.trim().split('\n').slice(-8).join('\n');
    throw new KilnError(
      'GRUB_MKIMAGE_FAILED',
      `${formatCommand(argv)} failed (${result.timedOut ? 'timed out' : describeExit(result.code, result.signal, result.spawnError)})${tail ? `:\n${tail}` : ''}`,
      {
        hint:
          result.spawnError?.code === 'ENOENT'
            ? 'install GRUB (Debian: grub-common grub-pc-bin grub-efi-amd64-bin)'
            : 'check that the GRUB module directory has every module listed',
      },
    );
  }
}

async function requireDir(path: string, what: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isDirectory()) {
    throw new KilnError('GRUB_PLATFORM_MISSING', `${what} modules are not installed (${path} is missing)`, {
      location: { file: path },
      hint:
        what === 'i386-pc'
          ? 'install grub-pc-bin, or pass bios: false'
          : 'install grub-efi-amd64-bin, or pass efi: false',
    });
  }
}

/** The GRUB images built for an ISO. */
export interface GrubImages {
  /** cdboot.img + core.img (i386-pc-eltorito), if BIOS boot was asked for. */
  eltorito?: Uint8Array;
  /** GRUB's hybrid MBR boot code. */
  bootHybrid?: Uint8Array;
  /** BOOTX64.EFI, if UEFI boot was asked for. */
  efi?: Uint8Array;
}

/**
 * Runs grub-mkimage for the requested platforms with `earlyConfig` embedded.
 * @example const images = await buildGrubImages({ kernel: 'k.elf' }, grubEarlyConfig('KILN_1A2B3C4D'));
 */
export async function buildGrubImages(options: GrubIsoOptions, earlyConfig: string): Promise<GrubImages> {
  const grubDir = options.grubDir ?? '/usr/lib/grub';
  const mk = options.grubMkimage ?? 'grub-mkimage';
  const timeoutMs = options.timeoutMs ?? 120_000;
  const work = await mkdtemp(join(tmpdir(), 'kiln-grub-'));
  try {
    const cfg = join(work, 'load.cfg');
    await writeFile(cfg, earlyConfig);
    const out: GrubImages = {};
    const extra = options.grubModules ?? [];
    // The two grub-mkimage runs are independent: run them at the same time.
    const jobs: Array<Promise<void>> = [];
    if (options.bios ?? true) {
      const dir = join(grubDir, 'i386-pc');
      await requireDir(dir, 'i386-pc');
      const img = join(work, 'eltorito.img');
      jobs.push(
        (async () => {
          await mkimage(
            [
              mk,
              '-O',
              'i386-pc-eltorito',
              '-d',
              dir,
              '-p',
              '/boot/grub',
              '-c',
              cfg,
              '-o',
              img,
              ...BIOS_MODULES,
              ...extra,
            ],
            timeoutMs,
          );
          out.eltorito = new Uint8Array(await readFile(img));
          out.bootHybrid = new Uint8Array(await readFile(join(dir, 'boot_hybrid.img')));
        })(),
      );
    }
    if (options.efi ?? true) {
      const dir = join(grubDir, 'x86_64-efi');
      await requireDir(dir, 'x86_64-efi');
      const img = join(work, 'BOOTX64.EFI');
      jobs.push(
        (async () => {
          await mkimage(
            [mk, '-O', 'x86_64-efi', '-d', dir, '-p', '/boot/grub', '-c', cfg, '-o', img, ...EFI_MODULES, ...extra],
            timeoutMs,
          );
          out.efi = new Uint8Array(await readFile(img));
        })(),
      );
    }
    // Wait for both before reporting the first failure (so the work folder is not removed under one).
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What {@link buildGrubIso} made. */
export interface GrubIsoResult {
  plan: IsoPlan;
  /** The generated grub.cfg. */
  config: string;
  images: GrubImages;
}

/**
 * Builds a bootable hybrid ISO for a multiboot2 kernel: GRUB for BIOS (El Torito no-emulation,
 * boot info table) and UEFI (El Torito platform 0xEF → FAT ESP with BOOTX64.EFI), hybrid MBR
 * (GRUB boot_hybrid.img) + GPT, kernel and modules under /boot, generated /boot/grub/grub.cfg.
 * @example await buildGrubIso('os.iso', { kernel: 'build/kernel.elf', cmdline: 'console=ttyS0' });
 */
export async function buildGrubIso(out: string, options: GrubIsoOptions): Promise<GrubIsoResult> {
  const epoch = options.epoch ?? resolveEpoch();
  if (!(options.bios ?? true) && !(options.efi ?? true))
    throw new KilnError('GRUB_NO_PLATFORM', 'buildGrubIso needs BIOS or UEFI boot (both are off)');
  const kernel = asFile(options.kernel);
  const spec: Array<[string, Content | string]> = [];
  const seen = new Set<string>();
  const addBoot = async (f: GrubFile, what: string) => {
    const name = f.name ?? basename(f.path);
    if (!name || name.includes('/') || /\s/.test(name))
      throw new KilnError(
        'GRUB_BAD_NAME',
        `${what} name ${JSON.stringify(name)} must be a plain file name without spaces`,
      );
    if (seen.has(name))
      throw new KilnError('GRUB_BAD_NAME', `two files would be /boot/${name}`, {
        hint: 'give one of them another name',
      });
    seen.add(name);
    const content = await fileContent(f.path).catch((error: NodeJS.ErrnoException) => {
      throw new KilnError(
        'GRUB_INPUT_MISSING',
        `${what} ${f.path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
        { location: { file: f.path } },
      );
    });
    spec.push([`boot/${name}`, content]);
  };
  await addBoot(kernel, 'kernel');
  for (const m of options.modules ?? []) await addBoot(asFile(m), 'module');
  const config = grubConfig(options);
  spec.push(['boot/grub/grub.cfg', config]);
  for (const [path, value] of Object.entries(options.files ?? {})) spec.push([path, value as Content | string]);

  // The UUID GRUB searches for comes from the volume date, which is the epoch: known before layout.
  const volumeId = options.volumeId?.toUpperCase() ?? (await grubVolumeId(spec, epoch));
  if (!/^[A-Z0-9_]{1,32}$/.test(volumeId)) {
    throw new KilnError(
      'ISO_BAD_IDENTIFIER',
      `volume id ${JSON.stringify(options.volumeId)} may only contain A-Z, 0-9 and _ (at most 32)`,
      { hint: 'GRUB finds the ISO by this label; use e.g. MY_OS_1' },
    );
  }
  const isoBase: IsoOptions = { epoch, volumeId };
  // The ISO and FAT writers load here, not with this module: configs that only use grubConfig()
  // or grubEsp() (every build of such a project, no-op ones included) do not pay for them.
  const { espFiller, writeIsoFile } = await import('../formats/iso9660/index.js');
  const images = await buildGrubImages(options, grubEarlyConfig(volumeId));
  const entries: NonNullable<IsoOptions['boot']>['entries'] = [];
  if (images.eltorito) {
    spec.push(['boot/grub/i386-pc/eltorito.img', images.eltorito]);
    entries.push({
      platform: 'bios',
      image: 'boot/grub/i386-pc/eltorito.img',
      loadSectors: 4,
      bootInfoTable: true,
      grub2BootInfo: true,
    });
  }
  if (images.efi) {
    // The ESP is written by kiln's FAT writer straight into its (hidden) extent of the ISO.
    entries.push({ platform: 'efi', image: espFiller(buildTree({ 'EFI/BOOT/BOOTX64.EFI': images.efi }), { epoch }) });
  }
  const tree: FileTree = buildTree(spec);
  const plan = await writeIsoFile(out, tree, {
    ...isoBase,
    boot: { entries },
    ...((options.hybrid ?? true)
      ? { hybrid: { ...(images.bootHybrid ? { mbrCode: images.bootHybrid, mbrPatch: 'grub2' as const } : {}) } }
      : {}),
  });
  return { plan, config, images };
}
