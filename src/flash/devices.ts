/**
 * Block devices as Linux describes them, for `kiln flash`: read from sysfs (`/sys/block/<disk>`:
 * `size` in 512-byte sectors, `removable`, `ro`, `device/model`, `device/vendor`, partitions as
 * sub-folders with a `partition` file, `holders/` for device-mapper and md users, `loop/backing_file`;
 * Documentation/ABI/stable/sysfs-block), `/proc/self/mountinfo` (proc(5): field 3 is the mounted
 * device's major:minor, field 5 the mount point, octal escapes for blanks) and `/proc/swaps`.
 * No lsblk: sysfs is what lsblk itself reads, and its numbers are exact.
 */
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A major:minor device number, as sysfs and mountinfo write it (`8:16`). */
export type DevNumber = string;

/** One mount of a device (or of one of its partitions). */
export interface MountInfo {
  /** The mounted device's major:minor. */
  readonly dev: DevNumber;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
}

/** A partition of a disk. */
export interface PartitionInfo {
  readonly name: string;
  readonly dev: DevNumber;
  readonly size: number;
  /** Partition number (sysfs `partition`). */
  readonly number: number;
}

/** A whole disk, with what uses it. */
export interface BlockDevice {
  /** Kernel name: `sdb`, `loop3`, `nvme0n1`. */
  readonly name: string;
  /** `/dev/<name>`. */
  readonly path: string;
  readonly dev: DevNumber;
  /** Bytes. */
  readonly size: number;
  /** Vendor and model from sysfs, or the loop device's backing file, or ''. */
  readonly model: string;
  readonly removable: boolean;
  readonly readOnly: boolean;
  /** `loop` devices are files seen as disks. */
  readonly loop: boolean;
  readonly partitions: readonly PartitionInfo[];
  /** Mounts of the disk itself and of its partitions. */
  readonly mounts: readonly MountInfo[];
  /** Swap areas on the disk or its partitions (/proc/swaps). */
  readonly swaps: readonly string[];
  /** Devices built on it (device-mapper, md RAID): `dm-0`, ... */
  readonly holders: readonly string[];
  /** The disk holds the running system's `/` (directly, or under device-mapper / md). */
  readonly holdsRoot: boolean;
}

const SYS_BLOCK = '/sys/block';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** mountinfo escapes blanks, tabs, newlines and backslashes as `\ooo`. */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Every mount of `/proc/self/mountinfo` (or the text given).
 * @example readMounts().find((m) => m.mountPoint === '/')?.dev // '254:0'
 */
export function readMounts(text = readText('/proc/self/mountinfo') ?? ''): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 10 || dash < 6) continue;
    mounts.push({
      dev: fields[2]!,
      mountPoint: unescapeMount(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescapeMount(fields[dash + 2]!),
    });
  }
  return mounts;
}

/** Linux's dev_t → major:minor (the kernel's new_encode_dev layout, as glibc's major()/minor()). */
export function devNumber(dev: number): DevNumber {
  const n = BigInt(dev);
  const major = ((n >> 8n) & 0xfffn) | ((n >> 32n) & ~0xfffn);
  const minor = (n & 0xffn) | ((n >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** Devices in use as swap (/proc/swaps), as major:minor. */
function swapDevices(): DevNumber[] {
  const out: DevNumber[] = [];
  for (const line of (readText('/proc/swaps') ?? '').split('\n').slice(1)) {
    const path = line.split(/\s+/)[0];
    if (!path) continue;
    try {
      const st = statSync(path);
      if (st.isBlockDevice()) out.push(devNumber(st.rdev));
    } catch {
      // a swap file or a vanished device: not a disk kiln could flash
    }
  }
  return out;
}

/**
 * The whole disks under a block device: itself when it is a disk, its disk when it is a
 * partition, and for device-mapper / md devices the disks under their `slaves/`, recursively.
 */
function disksUnder(dev: DevNumber, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  let dir: string;
  try {
    dir = realpathSync(join('/sys/dev/block', dev));
  } catch {
    return out;
  }
  if (seen.has(dir)) return out;
  seen.add(dir);
  const disk = existsSync(join(dir, 'partition')) ? dirname(dir) : dir;
  const slaves = list(join(disk, 'slaves'));
  if (slaves.length === 0) out.add(basename(disk));
  for (const slave of slaves) {
    const number = readText(join(disk, 'slaves', slave, 'dev'));
    if (number) for (const name of disksUnder(number, seen)) out.add(name);
  }
  return out;
}

/** The disks that hold `/`: from the device number of `/`, else from the source of its mount. */
export function rootDisks(mounts: readonly MountInfo[] = readMounts()): Set<string> {
  const rootDev = devNumber(statSync('/').dev);
  const disks = disksUnder(rootDev);
  if (disks.size > 0) return disks;
  // An overlay or a bind-mounted root has a device number of its own (0:N): try the mount's source.
  const root = mounts.filter((m) => m.mountPoint === '/').at(-1);
  if (root?.source.startsWith('/dev/')) {
    try {
      return disksUnder(devNumber(statSync(root.source).rdev));
    } catch {
      return disks;
    }
  }
  return disks;
}

function describeModel(dir: string, loop: boolean): string {
  if (loop) {
    const backing = readText(join(dir, 'loop', 'backing_file'));
    return backing ? `loop device of ${backing}` : 'loop device';
  }
  const vendor = (readText(join(dir, 'device', 'vendor')) ?? '').replace(/^0x[0-9a-f]+$/i, ''); // virtio: a PCI id
  const model = readText(join(dir, 'device', 'model')) ?? '';
  return `${vendor} ${model}`.replace(/\s+/g, ' ').trim();
}

/**
 * Describes the whole disk `name` (a folder of /sys/block).
 * @example describeDisk('sdb').removable // true for most USB sticks
 */
export function describeDisk(
  name: string,
  context: { mounts?: readonly MountInfo[]; swaps?: readonly DevNumber[]; roots?: Set<string> } = {},
): BlockDevice {
  const dir = join(SYS_BLOCK, name);
  const mounts = context.mounts ?? readMounts();
  const swaps = context.swaps ?? swapDevices();
  const roots = context.roots ?? rootDisks(mounts);
  const dev = readText(join(dir, 'dev')) ?? '';
  const loop = existsSync(join(dir, 'loop')) || name.startsWith('loop');
  const partitions: PartitionInfo[] = [];
  const holders = new Set(list(join(dir, 'holders')));
  for (const entry of list(dir)) {
    const number = readText(join(dir, entry, 'partition'));
    if (number === undefined) continue;
    partitions.push({
      name: entry,
      dev: readText(join(dir, entry, 'dev')) ?? '',
      size: Number(readText(join(dir, entry, 'size')) ?? 0) * 512,
      number: Number(number),
    });
    for (const holder of list(join(dir, entry, 'holders'))) holders.add(holder);
  }
  partitions.sort((a, b) => a.number - b.number);
  const devs = new Set([dev, ...partitions.map((p) => p.dev)]);
  return {
    name,
    path: `/dev/${name}`,
    dev,
    size: Number(readText(join(dir, 'size')) ?? 0) * 512,
    model: describeModel(dir, loop),
    removable: readText(join(dir, 'removable')) === '1',
    readOnly: readText(join(dir, 'ro')) === '1',
    loop,
    partitions,
    mounts: mounts.filter((m) => devs.has(m.dev)),
    swaps: swaps.filter((s) => devs.has(s)),
    holders: [...holders].sort(),
    holdsRoot: roots.has(name),
  };
}

/**
 * Every whole disk with a size (an unattached loop device or an empty zram has none), in
 * /sys/block order; device-mapper and md devices are left out (they are not drives).
 * @example listBlockDevices().filter((d) => d.removable && d.mounts.length === 0)
 */
export function listBlockDevices(): BlockDevice[] {
  const mounts = readMounts();
  const context = { mounts, swaps: swapDevices(), roots: rootDisks(mounts) };
  return list(SYS_BLOCK)
    .filter((name) => !/^(dm-|md|ram|zram)/.test(name))
    .map((name) => describeDisk(name, context))
    .filter((d) => d.size > 0)
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** Where a device path leads in sysfs: the whole disk's name, and the partition's if it is one. */
export interface DeviceTarget {
  readonly disk: string;
  readonly partition?: string;
}

/**
 * The sysfs names behind a block device number (`8:17` → disk `sdb`, partition `sdb1`).
 * @example sysfsTarget('7:0') // { disk: 'loop0' }
 */
export function sysfsTarget(dev: DevNumber): DeviceTarget | undefined {
  let dir: string;
  try {
    dir = realpathSync(join('/sys/dev/block', dev));
  } catch {
    return undefined;
  }
  if (existsSync(join(dir, 'partition'))) return { disk: basename(dirname(dir)), partition: basename(dir) };
  return { disk: basename(dir) };
}
