/**
 * Disk controllers as a table: one row per `DriveInterface` says how a drive on it becomes QEMU
 * options (QEMU 7.2 docs/system/invocation, `-drive` and `-device`), which machines have it, and
 * what the controller needs once per machine. A new interface is one new row.
 */
import { KilnError } from '../errors.js';
import type { DriveInterface, ResolvedDisk } from './types.js';

/** How one drive interface (`ide`, `virtio`, `nvme`, `usb`, `sd`, ...) becomes QEMU arguments. */
export interface DriveRow {
  /** One line for `--help` and error messages. */
  readonly description: string;
  /** Options for one drive: `common` is `file=…,format=…[,snapshot=on][,readonly=on]`, `id` is unique per drive. */
  readonly args: (disk: ResolvedDisk, unit: number, common: string, id: string) => string[];
  /** Devices added once when any drive uses this interface (a controller). */
  readonly controller?: (disks: ResolvedDisk[]) => string[];
  /** Machines that cannot attach it, with the reason and what to do (checked before QEMU starts). */
  readonly refuse?: (machine: string) => { reason: string; hint: string } | undefined;
}

/**
 * How each interface maps to QEMU.
 * @example DRIVE_INTERFACES.floppy.args(disk, 0, 'file=f.img,format=raw', 'disk0') // ['-drive', 'file=f.img,format=raw,if=floppy,index=0']
 */
export const DRIVE_INTERFACES: Readonly<Record<DriveInterface, DriveRow>> = {
  ide: {
    description: 'IDE (legacy ports 0x1f0/0x170 on pc; AHCI ports on q35)',
    args: (disk, unit, common) => ['-drive', `${common},if=ide,index=${unit},media=${disk.media}`],
  },
  virtio: {
    description: 'virtio-blk (a virtio-scsi CD for CD-ROMs)',
    args: (disk, _unit, common, id) =>
      disk.media === 'cdrom'
        ? // virtio CD-ROM: a SCSI CD on virtio-scsi (virtio-blk has no removable media).
          ['-drive', `${common},if=none,id=${id},media=cdrom,readonly=on`, '-device', `scsi-cd,drive=${id},bus=scsi0.0`]
        : ['-drive', `${common},if=none,id=${id}`, '-device', `virtio-blk-pci,drive=${id}`],
    controller: (disks) => (disks.some((d) => d.media === 'cdrom') ? ['-device', 'virtio-scsi-pci,id=scsi0'] : []),
  },
  nvme: {
    description: 'NVMe (PCI)',
    args: (_disk, unit, common, id) => [
      '-drive',
      `${common},if=none,id=${id}`,
      '-device',
      `nvme,drive=${id},serial=kiln${unit}`,
    ],
  },
  usb: {
    description: 'USB mass storage on an xHCI controller',
    args: (disk, _unit, common, id) => [
      '-drive',
      `${common},if=none,id=${id}${disk.media === 'cdrom' ? ',media=cdrom' : ''}`,
      '-device',
      `usb-storage,drive=${id}`,
    ],
    controller: () => ['-device', 'qemu-xhci'],
  },
  floppy: {
    description: 'floppy (ISA FDC: units 0 and 1)',
    args: (_disk, unit, common) => ['-drive', `${common},if=floppy,index=${unit}`],
    refuse: (machine) =>
      machine === 'virt'
        ? { reason: 'the Arm virt machine has no floppy controller', hint: 'use interface: "virtio"' }
        : undefined,
  },
  sd: {
    description: 'SD card on the board\'s SD controller (raspi: the SDHCI "EMMC" at 0x3f300000); a power-of-two size',
    // QEMU numbers SD cards per interface by itself; the unit of another controller's numbering does not apply.
    args: (_disk, _unit, common) => ['-drive', `${common},if=sd`],
    refuse: (machine) =>
      ['virt', 'q35', 'pc'].includes(machine)
        ? {
            reason: `QEMU's ${machine} machine has no SD controller`,
            hint: 'use interface: "virtio" (or a board with one, e.g. raspi3b)',
          }
        : undefined,
  },
};

/** Interface names, for schemas and help texts. */
export const DRIVE_INTERFACE_NAMES = Object.keys(DRIVE_INTERFACES) as [DriveInterface, ...DriveInterface[]];

/**
 * The QEMU options of every disk, controllers first (each once).
 * @example driveArgv([{ path: '/b/disk.img', format: 'raw', media: 'disk', interface: 'ide', snapshot: true }])
 */
export function driveArgv(disks: ResolvedDisk[], machine: string): string[] {
  const argv: string[] = [];
  const used = [...new Set(disks.map((d) => d.interface))];
  for (const name of used) {
    const row = DRIVE_INTERFACES[name];
    const refused = row.refuse?.(machine);
    if (refused)
      throw new KilnError(
        'QEMU_DRIVE_UNSUPPORTED',
        `a ${name} drive cannot be attached to machine ${machine}: ${refused.reason}`,
        { hint: refused.hint },
      );
    argv.push(...(row.controller?.(disks.filter((d) => d.interface === name)) ?? []));
  }
  disks.forEach((disk, i) => {
    const common = `file=${escapeOpt(disk.path)},format=${disk.format}${disk.snapshot && disk.media === 'disk' ? ',snapshot=on' : ''}${disk.readOnly ? ',readonly=on' : ''}`;
    argv.push(
      ...DRIVE_INTERFACES[disk.interface].args(
        disk,
        disk.index ?? i,
        common,
        `${disk.media === 'cdrom' ? 'cd' : 'disk'}${i}`,
      ),
    );
  });
  return argv;
}

/**
 * QEMU option values escape a comma by doubling it.
 * @example escapeOpt('/a,b.img') // '/a,,b.img'
 */
export function escapeOpt(value: string): string {
  return value.replace(/,/g, ',,');
}
