/**
 * What `kiln flash` may write to: a DEVICE argument resolved to a whole disk (a symlink such as
 * /dev/disk/by-id/usb-… followed), and every reason to refuse it, decided before anything is
 * opened for writing. `--force` lifts only the non-removable refusal; a disk holding `/`, a mounted
 * or swapping or device-mapped disk, a read-only or too small one are refused whatever the flags.
 */
import { realpathSync, statSync } from 'node:fs';
import { KilnError } from '../errors.js';
import { formatSize } from '../util/size.js';
import { type BlockDevice, describeDisk, devNumber, listBlockDevices, sysfsTarget } from './devices.js';

/** Why a device is not written to. */
export interface Refusal {
  readonly code:
    | 'FLASH_ROOT_DISK'
    | 'FLASH_MOUNTED'
    | 'FLASH_SWAP'
    | 'FLASH_HELD'
    | 'FLASH_READ_ONLY'
    | 'FLASH_TOO_SMALL'
    | 'FLASH_NOT_REMOVABLE';
  readonly message: string;
  /** `--force` lifts it. */
  readonly forceable: boolean;
}

/** One line per candidate disk, for the listing shown when DEVICE is missing or wrong. */
export function candidatesHint(devices: readonly BlockDevice[] = listBlockDevices()): string {
  const free = devices.filter((d) => refusalsOf(d, 0).every((r) => r.forceable));
  if (free.length === 0)
    return 'no disk here can be flashed (plug in a USB drive; kiln flash --list shows every disk and why)';
  return `disks that can be flashed: ${free.map((d) => `${d.path} (${formatSize(d.size)}${d.removable ? ', removable' : ''})`).join(', ')} (kiln flash --list)`;
}

/**
 * The whole disk a DEVICE argument names (`/dev/sdb`, `sdb`, a /dev/disk/by-* link), or a KilnError
 * saying why it names none (missing, not a block device, a partition).
 * @example resolveDevice('/dev/disk/by-id/usb-SanDisk_Cruzer-0:0').path // '/dev/sdb'
 */
export function resolveDevice(argument: string): BlockDevice {
  const given = argument.includes('/') ? argument : `/dev/${argument}`;
  let path: string;
  let rdev: number;
  try {
    path = realpathSync(given);
    const st = statSync(path);
    if (!st.isBlockDevice()) {
      throw new KilnError(
        'FLASH_NOT_A_DEVICE',
        `${argument} is ${st.isFile() ? 'a regular file' : st.isDirectory() ? 'a folder' : 'not a block device'}, not a disk`,
        {
          location: { file: argument },
          hint: `flash writes whole disks (/dev/sdX); to copy an image into a file use kiln image convert. ${candidatesHint()}`,
          exitCode: 2,
        },
      );
    }
    rdev = st.rdev;
  } catch (error) {
    if (error instanceof KilnError) throw error;
    throw new KilnError(
      'FLASH_NO_DEVICE',
      `no device ${argument}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        location: { file: argument },
        hint: candidatesHint(),
        exitCode: 2,
      },
    );
  }
  const target = sysfsTarget(devNumber(rdev));
  if (!target) {
    throw new KilnError('FLASH_NO_DEVICE', `${path} (${devNumber(rdev)}) is not in /sys/dev/block`, {
      location: { file: argument },
      hint: candidatesHint(),
      exitCode: 2,
    });
  }
  if (target.partition) {
    throw new KilnError(
      'FLASH_PARTITION',
      `${path} is partition ${target.partition} of /dev/${target.disk}: an image is flashed to the whole disk`,
      {
        location: { file: argument },
        hint: `give the disk: kiln flash IMAGE /dev/${target.disk} (its partitions are replaced by the image's)`,
        exitCode: 2,
      },
    );
  }
  return describeDisk(target.disk);
}

/**
 * Every reason not to write `imageSize` bytes to `device` (none: it may be written).
 * @example refusalsOf(resolveDevice('/dev/vda'), 1 << 20)[0]?.code // 'FLASH_ROOT_DISK'
 */
export function refusalsOf(device: BlockDevice, imageSize: number): Refusal[] {
  const out: Refusal[] = [];
  const refuse = (code: Refusal['code'], message: string, forceable = false) => out.push({ code, message, forceable });
  if (device.holdsRoot) refuse('FLASH_ROOT_DISK', `${device.path} holds / (the running system)`);
  if (device.mounts.length) {
    const where = device.mounts.map((m) => `${m.mountPoint} (${m.fsType})`).join(', ');
    refuse('FLASH_MOUNTED', `${device.path} has mounted file systems: ${where}`);
  }
  if (device.swaps.length) refuse('FLASH_SWAP', `${device.path} is in use as swap`);
  if (device.holders.length)
    refuse(
      'FLASH_HELD',
      `${device.path} is in use by ${device.holders.join(', ')} (device-mapper, LVM, md RAID or dm-crypt)`,
    );
  if (device.readOnly)
    refuse('FLASH_READ_ONLY', `${device.path} is read-only (a write-protect switch, or blockdev --setro)`);
  if (imageSize > device.size)
    refuse(
      'FLASH_TOO_SMALL',
      `the image (${formatSize(imageSize)}) is larger than ${device.path} (${formatSize(device.size)})`,
    );
  if (!device.removable)
    refuse(
      'FLASH_NOT_REMOVABLE',
      `${device.path} is not a removable disk${device.loop ? ` (a ${device.model})` : ''}`,
      true,
    );
  return out;
}

/** The hint for a refusal: what to do about it. */
export function refusalHint(refusal: Refusal, device: BlockDevice): string {
  switch (refusal.code) {
    case 'FLASH_ROOT_DISK':
      return 'this is the system disk: flash a USB drive instead (kiln flash --list)';
    case 'FLASH_MOUNTED':
      return `unmount it first: ${device.mounts.map((m) => `umount ${m.mountPoint}`).join('; ')}`;
    case 'FLASH_SWAP':
      return `swapoff ${device.path} (or its partition) first`;
    case 'FLASH_HELD':
      return 'close what is built on it first (vgchange -an, cryptsetup close, mdadm --stop)';
    case 'FLASH_READ_ONLY':
      return 'check the write-protect switch; blockdev --setrw clears a software read-only flag';
    case 'FLASH_TOO_SMALL':
      return 'use a larger drive, or build a smaller image';
    case 'FLASH_NOT_REMOVABLE':
      return 'an internal disk is refused by default: if you are sure, add --force';
  }
}
