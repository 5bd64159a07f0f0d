/**
 * `kiln flash IMAGE DEVICE`: write a disk image (raw, ISO hybrid, VDI, VMDK) to a USB drive, with
 * the checks `dd` does not make (the disk holding `/`, mounted, swap or device-mapped disks,
 * non-removable disks without --force, a too small drive), a confirmation on a terminal, progress,
 * and a read-back compared by SHA-256. Linux only. The work is in src/flash.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import type { BlockDevice } from '../flash/devices.js';
import type { FlashImage, FlashProgress } from '../flash/write.js';
import { formatSize } from '../util/size.js';
import { action, printJson } from './_shared.js';

interface FlashFlags {
  list?: boolean;
  yes?: boolean;
  force?: boolean;
  json?: boolean;
  config?: string;
  arch?: string;
  profile?: string;
  buildDir?: string;
}

function requireLinux(): void {
  if (process.platform === 'linux') return;
  throw new KilnError('FLASH_UNSUPPORTED_OS', `kiln flash works on Linux only (this is ${process.platform})`, {
    hint:
      process.platform === 'darwin'
        ? 'on macOS: diskutil list, diskutil unmountDisk /dev/diskN, then dd if=IMAGE of=/dev/rdiskN bs=4m'
        : 'on Windows, a tool such as Rufus (DD mode) writes the image; or run kiln flash from a Linux machine',
    exitCode: 2,
  });
}

/** One line per disk: path, size, removable, model, what uses it, and whether flash would take it. */
async function deviceTable(devices: readonly BlockDevice[]): Promise<string> {
  const { refusalsOf } = await import('../flash/target.js');
  const rows = devices.map((d) => {
    const refusals = refusalsOf(d, 0);
    const use = [...d.mounts.map((m) => `${m.mountPoint}`), ...d.swaps.map(() => 'swap'), ...d.holders];
    const verdict =
      refusals.length === 0
        ? 'can be flashed'
        : refusals.every((r) => r.forceable)
          ? 'needs --force (not removable)'
          : `refused: ${refusals
              .filter((r) => !r.forceable)
              .map((r) => (r.code === 'FLASH_ROOT_DISK' ? 'holds /' : r.code.slice(6).toLowerCase().replace(/_/g, ' ')))
              .join(', ')}`;
    const parts = d.partitions.length
      ? `${d.partitions.length} partition${d.partitions.length > 1 ? 's' : ''}`
      : 'no partitions';
    return [
      d.path,
      formatSize(d.size),
      d.removable ? 'removable' : 'fixed',
      d.model || '-',
      parts,
      use.length ? `in use: ${use.join(', ')}` : 'not in use',
      verdict,
    ];
  });
  const header = ['DEVICE', 'SIZE', 'KIND', 'MODEL', 'PARTITIONS', 'USE', 'FLASH'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

function deviceJson(
  d: BlockDevice,
  refusals: ReadonlyArray<{ code: string; message: string; forceable: boolean }>,
): Record<string, unknown> {
  return {
    path: d.path,
    name: d.name,
    size: d.size,
    model: d.model,
    removable: d.removable,
    readOnly: d.readOnly,
    loop: d.loop,
    partitions: d.partitions,
    mounts: d.mounts,
    swaps: d.swaps,
    holders: d.holders,
    holdsRoot: d.holdsRoot,
    refusals,
  };
}

async function listDevices(json: boolean): Promise<void> {
  const { listBlockDevices } = await import('../flash/devices.js');
  const { refusalsOf } = await import('../flash/target.js');
  const devices = listBlockDevices();
  if (json) printJson({ ok: true, devices: devices.map((d) => deviceJson(d, refusalsOf(d, 0))) });
  else process.stdout.write(`${await deviceTable(devices)}\n`);
}

/** The image of the project's run section (built first): its first disk or CD-ROM. */
async function projectImage(flags: FlashFlags): Promise<string> {
  const { projectMachineSpec } = await import('./_config-machine.js');
  const { spec } = await projectMachineSpec(flags, []);
  const disk = spec.disks?.[0];
  if (!disk) {
    throw new KilnError('FLASH_NO_IMAGE', 'the run section boots no image (a kernel alone cannot be flashed)', {
      hint: 'give the image: kiln flash build/<target>/disk.img /dev/sdX, or set run: { image } or run: { cdrom } in kiln.config.ts',
      exitCode: 2,
    });
  }
  return disk.path;
}

const KIND: Record<string, string> = {
  iso: 'ISO 9660 (hybrid: boots as a disk too)',
  gpt: 'GPT disk',
  mbr: 'MBR disk',
  fat: 'FAT volume',
  vdi: 'VDI',
  vmdk: 'VMDK',
};

/** What will be overwritten, for the confirmation and the log. */
function describePlan(image: FlashImage, device: BlockDevice): string {
  const kind = KIND[image.detected] ?? 'raw disk image';
  const via =
    image.container === 'raw'
      ? ''
      : ` (written as the raw disk it holds, read by kiln's ${image.container.toUpperCase()} reader)`;
  const parts = device.partitions.map((p) => `${p.name} ${formatSize(p.size)}`).join(', ');
  return [
    `kiln flash: about to overwrite ${device.path}`,
    `  device: ${device.model || 'no model'}, ${formatSize(device.size)}, ${device.removable ? 'removable' : 'NOT removable (--force)'}`,
    `  now:    ${parts ? `partitions ${parts}` : 'no partitions'} (all lost)`,
    `  image:  ${image.path}: ${kind}${via}, ${formatSize(image.size)}`,
    `  bytes 0 to ${image.size} of ${device.path} are replaced, then read back and compared`,
  ].join('\n');
}

async function confirm(device: BlockDevice): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Type yes to overwrite ${device.path}: `);
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

const two = (n: number): string => String(n).padStart(2, '0');
function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${two(s % 60)}`;
}

/** `write   12 MiB / 64 MiB  18%  23.4 MB/s  ETA 0:02` (decimal MB per second, as dd prints). */
export function progressLine(p: FlashProgress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.bytes / 1e6 / seconds : 0;
  const eta = rate > 0 ? clock((p.total - p.bytes) / 1e6 / rate) : '-:--';
  const pct = p.total ? Math.floor((p.bytes * 100) / p.total) : 100;
  return `${p.phase === 'write' ? 'write ' : 'verify'}  ${formatSize(p.bytes)} / ${formatSize(p.total)}  ${pct}%  ${rate.toFixed(1)} MB/s  ETA ${eta}`;
}

/** A progress renderer: one rewritten line on a terminal (5 a second), else a line every 10%. */
function progressRenderer(tty: boolean): { onProgress: (p: FlashProgress) => void; end: () => void } {
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return {
    onProgress: (p) => {
      const done = p.bytes === p.total;
      if (tty) {
        const now = performance.now();
        if (!done && now - lastDraw < 200 && p.bytes !== 0) return;
        lastDraw = now;
        process.stderr.write(`\r\x1b[2K${progressLine(p)}${done ? '\n' : ''}`);
        drawn = !done;
        return;
      }
      const tenth = p.total ? Math.floor((p.bytes * 10) / p.total) : 10;
      if (p.bytes !== 0 && tenth === lastTenth && !done) return;
      if (p.bytes === 0) lastTenth = -1;
      lastTenth = tenth;
      process.stderr.write(`kiln: ${progressLine(p)}\n`);
    },
    end: () => {
      if (drawn) process.stderr.write('\n');
    },
  };
}

async function flash(imageArg: string | undefined, deviceArg: string | undefined, flags: FlashFlags): Promise<void> {
  const { candidatesHint, refusalHint, refusalsOf, resolveDevice } = await import('../flash/target.js');
  const { flashImage, openFlashImage } = await import('../flash/write.js');
  if (deviceArg === undefined) {
    if (!flags.json)
      process.stdout.write(`${await deviceTable((await import('../flash/devices.js')).listBlockDevices())}\n`);
    throw new KilnError('FLASH_NO_DEVICE', 'which device? kiln flash IMAGE DEVICE', {
      hint: candidatesHint(),
      exitCode: 2,
    });
  }
  const imagePath = imageArg ?? (await projectImage(flags));
  const image = await openFlashImage(imagePath);
  try {
    const device = resolveDevice(deviceArg);
    const refusals = refusalsOf(device, image.size).filter((r) => !(r.forceable && flags.force));
    if (refusals.length) {
      const [first, ...more] = refusals;
      throw new KilnError(first!.code, `refused: ${refusals.map((r) => r.message).join('; ')}`, {
        location: { file: device.path },
        hint: [first!, ...more].map((r) => refusalHint(r, device)).join('; '),
        details: { refusals },
      });
    }
    if (!flags.json) process.stderr.write(`${describePlan(image, device)}\n`);
    if (!flags.yes) {
      if (!process.stdin.isTTY) {
        throw new KilnError(
          'FLASH_NOT_CONFIRMED',
          `not confirmed: stdin is not a terminal, so kiln cannot ask before overwriting ${device.path}`,
          { hint: 'add --yes (scripts, CI) once you are sure of the device', exitCode: 2 },
        );
      }
      if (!(await confirm(device))) {
        process.stderr.write('kiln: nothing written\n');
        process.exitCode = 1;
        return;
      }
    }
    const renderer = progressRenderer(process.stderr.isTTY === true && !flags.json);
    const result = await flashImage(image, device, flags.json ? {} : { onProgress: renderer.onProgress }).finally(() =>
      renderer.end(),
    );
    if (flags.json) printJson({ ok: true, image: image.path, format: image.detected, ...result });
    else {
      const rate = (result.bytes / 1e6 / Math.max(result.writeMs / 1000, 1e-3)).toFixed(1);
      process.stderr.write(
        `kiln: wrote ${formatSize(result.bytes)} to ${result.device} in ${(result.writeMs / 1000).toFixed(1)} s (${rate} MB/s); read back and compared: sha256 ${result.sha256}\n`,
      );
      process.stderr.write(`kiln: ${result.cacheNote}; the drive can be removed\n`);
    }
  } finally {
    await image.close();
  }
}

export function registerFlash(program: Command): void {
  program
    .command('flash')
    .description(
      'write a disk image (raw, ISO hybrid, VDI, VMDK) to a USB drive: refuses the system disk and mounted disks, asks, shows progress, reads back and compares (Linux)',
    )
    .usage('[IMAGE] DEVICE [options] | --list')
    .argument(
      '[image]',
      "the image (default: the project's run image, built first); a single /dev/... argument is the DEVICE",
    )
    .argument(
      '[device]',
      'the whole disk to overwrite: /dev/sdX, sdX or a /dev/disk/by-id/... link (without it: the disks are listed)',
    )
    .option('--list', 'list the disks, what uses them and whether kiln would flash them', false)
    .option('-y, --yes', 'do not ask (scripts, CI); the refusals still apply', false)
    .option('--force', 'also write a disk that is not removable (never one holding / or mounted)', false)
    .option('--json', 'print the result (or with --list, the disks) as JSON on stdout', false)
    .option('-c, --config <file>', 'without IMAGE: the kiln.config.ts whose run image to flash')
    .option('--arch <arch>', "without IMAGE: the target whose image to flash (default: the config's first)")
    .option('-p, --profile <name>', 'without IMAGE: the profile (default: debug)')
    .option('--build-dir <dir>', 'without IMAGE: the build folder')
    .action(
      action(async (first: string | undefined, second: string | undefined, flags: FlashFlags) => {
        requireLinux();
        if (flags.list) return listDevices(flags.json === true);
        // `kiln flash /dev/sdb`: the device, with the project's image.
        const oneDevice = first !== undefined && second === undefined && first.startsWith('/dev/');
        await flash(oneDevice ? undefined : first, oneDevice ? first : second, flags);
      }),
    );
}
