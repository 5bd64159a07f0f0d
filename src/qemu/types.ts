/**
 * Spec types of the QEMU harness. A `MachineSpec` is what a user (CLI flags, or the `run` section
 * of kiln.config.ts once the integrator maps it) says; `resolveMachine` turns it into a
 * `ResolvedMachine` (every path found, firmware copied, accelerator probed, kernel inspected),
 * and `buildQemuCommand` turns that into an argv without touching the disk.
 */

/**
 * Consoles kiln can talk to: `serial0` (the first serial port, QEMU's stdio), `serial1` (the second
 * serial port), `virtcon` (a virtio console, `virtconsole` on `virtio-serial-pci`), `monitor` (QEMU's
 * human monitor, over QMP).
 */
export type ConsoleName = 'serial0' | 'serial1' | 'virtcon' | 'monitor';

/** Guest architectures kiln boots. */
export type QemuArch = 'x86_64' | 'i386' | 'aarch64';

/** Disk controllers a drive can sit on: the keys of DRIVE_INTERFACES (./drives.ts), which maps each to QEMU options. */
export type DriveInterface = 'ide' | 'virtio' | 'nvme' | 'usb' | 'floppy' | 'sd';

/** `bios` = SeaBIOS (x86_64 only); `uefi` = OVMF / AAVMF; `none` = QEMU's default (direct kernel on aarch64). */
export type FirmwareKind = 'bios' | 'uefi' | 'none';

/** A disk image format QEMU is told (`format=` of `-drive`). */
export type DiskFormat = 'raw' | 'qcow2' | 'vdi' | 'vmdk';

/** QEMU's accelerator: KVM (hardware) or TCG (emulation). */
export type Accel = 'kvm' | 'tcg';

/** One disk or CD-ROM. */
export interface DiskSpec {
  path: string;
  /** Detected from the file's magic, then its extension, when omitted. */
  format?: DiskFormat;
  /** `cdrom` attaches the file as a CD-ROM (an ISO); `disk` as a hard disk (a hybrid ISO works too). Default `disk`. */
  media?: 'disk' | 'cdrom';
  /** Controller. Default: `ide` on x86_64 (AHCI on q35), `virtio` on aarch64 (virtio-scsi for CD-ROMs). */
  interface?: DriveInterface;
  /** Writes go to a temporary overlay and the file is never modified. Default: true in tests, false in `kiln run`. */
  snapshot?: boolean;
  /** Unit on its controller (`-drive index=`): IDE 0 = primary master, 1 = primary slave. Default: the list position. */
  index?: number;
  /** The guest sees a read-only disk (`readonly=on`). */
  readOnly?: boolean;
  /** An SD card whose size is not a power of two boots as a copy padded to the next one (QEMU refuses other sizes). */
  pad?: boolean;
}

/** Firmware file overrides (distribution defaults are searched otherwise). */
export interface FirmwarePaths {
  /** A `-bios` file (SeaBIOS build on x86_64, QEMU_EFI.fd on aarch64). */
  bios?: string;
  /** The UEFI code volume (pflash unit 0, read-only). */
  code?: string;
  /** The UEFI variable store template (copied per run, then pflash unit 1). */
  vars?: string;
}

/**
 * How the guest reports its result.
 * - `isa-debug-exit` (x86_64): the guest writes v to port `iobase`; QEMU exits with `(v << 1) | 1`.
 * - `semihosting` (aarch64): SYS_EXIT with `-semihosting`; QEMU exits with the guest's code.
 * - `psci` (aarch64): PSCI SYSTEM_OFF; always code 0 (seen as a QMP SHUTDOWN `guest-shutdown`).
 * - `serial`: no exit device; the test passes once every expectation matched, then QEMU is stopped.
 */
export type ExitSpec =
  | {
      kind: 'isa-debug-exit';
      iobase?: number;
      iosize?: number;
      successCode?: number;
      /** alias of successCode (kiln.config.ts `exit.success`) */ success?: number;
    }
  | { kind: 'semihosting'; successCode?: number; /** alias of successCode */ success?: number }
  | { kind: 'psci' }
  | { kind: 'serial' };

/** A machine to boot, as a user describes it. Everything optional has a per-arch default. */
export interface MachineSpec {
  /** Used for log folder names and reports. Default `run`. */
  name?: string;
  /** Default `x86_64`. */
  arch?: QemuArch;
  /** `q35` (default) or `pc` on x86_64, `virt` on aarch64. Properties may follow: `q35,smm=on`. */
  machine?: string;
  /** Default: the board's (`cortex-a57` on virt); no `-cpu` on boards with fixed CPUs (raspi3b) or unknown machines. */
  cpu?: string;
  /** Default `bios` on x86_64, `none` (direct kernel) on aarch64; `uefi` when booting an image on aarch64. */
  firmware?: FirmwareKind;
  /** UEFI with Secure Boot (x86_64: OVMF `.secboot` code + `.ms` vars, q35 with `smm=on`). */
  secureBoot?: boolean;
  firmwarePaths?: FirmwarePaths;
  /** `256M`, `1G` or a number of MiB. Default 512 MiB. */
  memory?: string | number;
  /** Default 1. */
  smp?: number;
  /** Default `auto`: KVM only when a probe proves it runs a guest, TCG otherwise (env KILN_ACCEL overrides). */
  accel?: 'auto' | Accel;
  /** Disk images and CD-ROMs, in boot order. */
  disks?: DiskSpec[];
  /** Boot a kernel directly (`-kernel`). */
  kernel?: string;
  initrd?: string;
  /** Kernel command line. */
  append?: string;
  /** Unstripped ELF for `--gdb` (default: `kernel` when it is an ELF). */
  symbols?: string;
  /** Extra `-device` values, e.g. `virtio-rng-pci`. */
  devices?: string[];
  /** Raw QEMU arguments appended last. */
  args?: string[];
  /** Keep QEMU's default NIC (off by default: PXE ROMs slow firmware boots). */
  network?: boolean;
  /** Exit device. Default: isa-debug-exit on x86_64, semihosting on aarch64; `serial` = none. */
  exit?: ExitSpec;
  /** Start halted with a GDB stub on this TCP port (`true` = 1234). */
  gdb?: number | boolean;
  /** `-d int,cpu_reset -D <logDir>/qemu-debug.log -no-reboot`. */
  debug?: boolean;
  /** With `debug` (implied): QEMU's `-D` log goes to this file instead of `<logDir>/qemu-debug.log`. */
  debugLog?: string;
  /** `false`: no serial.log is written (kiln still reads the port for exits and expectations). */
  serialLog?: boolean;
  /** Folder for serial.log, qemu-debug.log, the QMP socket and firmware variable copies. Default `build/logs`. */
  logDir?: string;
  /** QEMU binary (default `qemu-system-<arch>` from PATH; an i386 guest may also run on qemu-system-x86_64). */
  qemu?: string;
  /** Extra consoles to connect (serial0 always is): `serial1` and `virtcon` become unix sockets kiln reads and writes. */
  consoles?: ConsoleName[];
  /** Which serial port kiln reads and judges, and which others it logs to files. Default: port 0 judged, no others. */
  serial?: SerialSpec;
}

/**
 * Serial ports: `port` (0-based, QEMU's `-serial` order: on raspi3b 0 = PL011, 1 = mini UART) is the
 * one kiln reads, shows and judges; each port in `log` is written to `<logDir>/serial<N>.log`.
 */
export interface SerialSpec {
  /** Default 0. */
  port?: number;
  /** Other ports to log to files. */
  log?: number[];
}

/** Which boot protocol QEMU will use for a `-kernel` file. */
export type KernelProtocol = 'pvh' | 'multiboot-elf32' | 'multiboot-aout' | 'linux' | 'elf' | 'linux-image' | 'raw';

/** What `inspectKernel` found. */
export interface KernelInfo {
  path: string;
  arch: QemuArch;
  protocol: KernelProtocol;
  /** One line for humans: `PVH ELF note (XEN_ELFNOTE_PHYS32_ENTRY) entry 0x100000`. */
  description: string;
  /** True when the file is an ELF (usable as gdb symbols). */
  isElf: boolean;
  elfClass?: 32 | 64;
  /** ELF entry point (e_entry). */
  entry?: number;
  /** The entry QEMU jumps to (PVH note / multiboot entry), when different from e_entry. */
  bootEntry?: number;
  /** Lowest physical address of a PT_LOAD segment. */
  loadAddress?: number;
}

/** The firmware a machine boots with, found on this host. */
export type ResolvedFirmware =
  /** QEMU's own default (SeaBIOS on x86_64; nothing on aarch64). */
  | { kind: 'default'; description: string }
  /** `-bios FILE`. */
  | { kind: 'bios-file'; path: string; description: string }
  /** Two pflash drives: read-only code, per-run copy of the variable store. */
  | { kind: 'pflash'; code: string; vars: string; varsTemplate: string; secureBoot: boolean; description: string };

/** A disk resolved for QEMU: path, format, media, controller and snapshot mode. */
export interface ResolvedDisk {
  path: string;
  format: DiskFormat;
  media: 'disk' | 'cdrom';
  interface: DriveInterface;
  snapshot: boolean;
  /** Controller unit; undefined = the disk's position in the list. */
  index?: number;
  readOnly?: boolean;
}

/** How the guest's result is read, with the exit code that means success. */
export type ResolvedExit =
  | { kind: 'isa-debug-exit'; iobase: number; iosize: number; successCode: number }
  | { kind: 'semihosting'; successCode: number }
  | { kind: 'psci'; successCode: 0 }
  | { kind: 'serial'; successCode: 0 };

/** Everything `buildQemuCommand` needs, with nothing left to look up. */
export interface ResolvedMachine {
  name: string;
  arch: QemuArch;
  /** QEMU binary. */
  qemu: string;
  /** Machine type without properties (`q35`, `pc`, `virt`). */
  machine: string;
  /** Machine properties (`gic-version=3`, `smm=on`), in order. */
  machineProps: string[];
  cpu: string | undefined;
  accel: Accel;
  /** One line saying why this accelerator. */
  accelNote: string;
  /** QEMU `-m` value, e.g. `512M`. */
  memory: string;
  smp: number;
  firmware: ResolvedFirmware;
  disks: ResolvedDisk[];
  kernel: { path: string; initrd?: string; append?: string; info: KernelInfo } | undefined;
  devices: string[];
  args: string[];
  network: boolean;
  exit: ResolvedExit | undefined;
  gdb:
    | {
        port: number;
        symbols: string | undefined;
        /** ELF class of the symbols file (EI_CLASS), when it is an ELF. */ symbolsClass?: 32 | 64;
      }
    | undefined;
  debug: boolean;
  /** Test mode: `-no-reboot -no-shutdown` and a QMP socket. */
  testMode: boolean;
  /** Folder holding this run's files. */
  logDir: string;
  /** Serial log written by kiln (QEMU's serial goes to stdout, which kiln tees). */
  serialLog: string;
  /** False with `serialLog: false` (`--no-serial`): serialLog is not written. */
  writeSerialLog?: boolean;
  /** QEMU `-D` file with `debug`. */
  debugLog: string | undefined;
  /** QMP unix socket path (test mode). */
  qmpSocket: string | undefined;
  /** Unix sockets QEMU listens on for `serial1` / `virtcon` (only the consoles asked for). */
  consoleSockets?: Partial<Record<'serial1' | 'virtcon', string>>;
  /** The judged serial port and the files other ports are logged to; undefined = port 0 only. */
  serial?: { port: number; files: Array<{ port: number; path: string }> };
}
