/**
 * MachineSpec → ResolvedMachine: per-arch defaults (machine profiles), firmware discovery and the
 * per-run copy of UEFI variables, accelerator probe, disk format detection, kernel inspection.
 * This is the only impure part of building a command line.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { KilnError } from '../errors.js';
import { parseSize } from '../util/size.js';
import { findExecutable } from '../util/which.js';
import { detectFormat } from '../formats/detect.js';
import { chooseAccel } from './accel.js';
import { resolveFirmware } from './firmware.js';
import { inspectKernel } from './kernel.js';
import { checkBoard, findBoard } from './boards.js';
import { fitSdCard } from './sd.js';
import type {
  DiskFormat,
  DiskSpec,
  ExitSpec,
  MachineSpec,
  QemuArch,
  ResolvedDisk,
  ResolvedExit,
  ResolvedMachine,
  SerialSpec,
} from './types.js';
import type { BoardProfile } from './boards.js';

/**
 * Machine profiles: what each arch boots with unless told otherwise.
 * @example MACHINE_PROFILES.aarch64.cpu // 'cortex-a57'
 */
export const MACHINE_PROFILES: Record<
  QemuArch,
  {
    machine: string;
    machines: string[];
    props: Record<string, string[]>;
    cpu: string | undefined;
    defaultFirmware: 'bios' | 'none';
    diskInterface: 'ide' | 'virtio';
    defaultExit: ExitSpec['kind'];
  }
> = {
  x86_64: {
    machine: 'q35',
    machines: ['q35', 'pc'],
    props: {},
    cpu: undefined,
    defaultFirmware: 'bios',
    diskInterface: 'ide',
    defaultExit: 'isa-debug-exit',
  },
  // 32-bit teaching kernels expect the PC's legacy devices (IDE at 0x1f0, the ISA FDC): `pc` by default.
  i386: {
    machine: 'pc',
    machines: ['pc', 'q35'],
    props: {},
    cpu: undefined,
    defaultFirmware: 'bios',
    diskInterface: 'ide',
    defaultExit: 'isa-debug-exit',
  },
  aarch64: {
    machine: 'virt',
    machines: ['virt'],
    props: { virt: ['gic-version=3'] },
    cpu: 'cortex-a57',
    defaultFirmware: 'none',
    diskInterface: 'virtio',
    defaultExit: 'semihosting',
  },
};

/**
 * Default value a guest writes to isa-debug-exit / passes to SYS_EXIT on success.
 * @example DEFAULT_SUCCESS_CODE // 0 (QEMU exits 1 with isa-debug-exit)
 */
export const DEFAULT_SUCCESS_CODE = 0;

/** Options of `resolveMachine`: test mode, dry run, the paths it uses. */
export interface ResolveOptions {
  /** Test mode: `-no-reboot -no-shutdown`, a QMP socket, disks in snapshot mode. */
  testMode?: boolean;
  /** Do not copy firmware variables or create folders (the argv is still complete). */
  dryRun?: boolean;
}

/**
 * Detects a disk image format from its first bytes, then its extension.
 * @example detectDiskFormat('build/disk.vdi') // 'vdi'
 */
export function detectDiskFormat(path: string): DiskFormat {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = new Uint8Array(512);
      const format = detectFormat(head.subarray(0, readSync(fd, head, 0, 512, 0)));
      if (format === 'qcow2' || format === 'vdi' || format === 'vmdk') return format;
    } finally {
      closeSync(fd);
    }
  } catch {
    /* missing files are reported by the caller */
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.qcow2' || ext === '.qcow') return 'qcow2';
  if (ext === '.vdi') return 'vdi';
  if (ext === '.vmdk') return 'vmdk';
  return 'raw';
}

function memoryArg(memory: string | number | undefined): string {
  if (memory === undefined) return '512M';
  if (typeof memory === 'number' && !Number.isInteger(memory))
    throw new KilnError('QEMU_BAD_MEMORY', `memory: expected a whole number of MiB >= 16M, got ${memory}`, {
      hint: 'use e.g. 256M or 1G',
    });
  let bytes: number;
  if (typeof memory === 'number' || /^\s*\d+\s*$/.test(memory)) bytes = Number(memory) * 1024 * 1024;
  else bytes = parseSize(memory, 'memory');
  if (bytes < 16 << 20 || bytes % (1 << 20) !== 0) {
    throw new KilnError(
      'QEMU_BAD_MEMORY',
      `memory: expected a whole number of MiB >= 16M, got ${JSON.stringify(memory)}`,
      { hint: 'use e.g. 256M or 1G' },
    );
  }
  return `${bytes / (1 << 20)}M`;
}

function resolveExit(arch: QemuArch, exit: ExitSpec | undefined, defaultKind: ExitSpec['kind']): ResolvedExit {
  const spec: ExitSpec = exit ?? ({ kind: defaultKind } as ExitSpec);
  switch (spec.kind) {
    case 'isa-debug-exit':
      if (arch === 'aarch64')
        throw new KilnError('QEMU_EXIT_UNSUPPORTED', 'isa-debug-exit is an x86 ISA device: aarch64 virt has none', {
          hint: 'on aarch64 use semihosting (SYS_EXIT) or psci (SYSTEM_OFF)',
        });
      return {
        kind: 'isa-debug-exit',
        iobase: spec.iobase ?? 0xf4,
        iosize: spec.iosize ?? 4,
        successCode: spec.successCode ?? spec.success ?? DEFAULT_SUCCESS_CODE,
      };
    case 'semihosting':
      return { kind: 'semihosting', successCode: spec.successCode ?? spec.success ?? DEFAULT_SUCCESS_CODE };
    case 'psci':
      if (arch !== 'aarch64')
        throw new KilnError('QEMU_EXIT_UNSUPPORTED', 'PSCI is an Arm interface', {
          hint: 'on x86_64 use isa-debug-exit',
        });
      return { kind: 'psci', successCode: 0 };
    case 'serial':
      return { kind: 'serial', successCode: 0 };
  }
}

/** QEMU 7.2 accepts at most four `-serial` options (MAX_SERIAL_PORTS). */
const MAX_SERIAL_PORTS = 4;

/** Checks a serial choice against the board's ports; returns the judged port and the files of logged ports. */
function resolveSerial(
  spec: SerialSpec | undefined,
  board: BoardProfile | undefined,
  machine: string,
  logDir: string,
  consoles: readonly string[],
): ResolvedMachine['serial'] {
  if (!spec) return undefined;
  const port = spec.port ?? 0;
  // Console scripts read serial0 from QEMU's stdio and serial1 from a socket on port 1.
  if (consoles.includes('serial1') && (port === 1 || spec.log?.includes(1))) {
    throw new KilnError(
      'QEMU_BAD_SERIAL_PORT',
      `serial port 1 is ${port === 1 ? 'the judged port' : 'logged to a file'} and also the serial1 console of a script`,
      {
        hint:
          port === 1
            ? "a script reads the judged port as serial0: write on: 'serial0' (or judge port 0 and read serial1)"
            : "leave port 1 out of serial.log: the script's serial1 log has it",
        exitCode: 2,
      },
    );
  }
  const count = board ? board.serialPorts.length : MAX_SERIAL_PORTS;
  const ports = board ? board.serialPorts.map((p, i) => `${i} = ${p}`).join(', ') : `0 to ${MAX_SERIAL_PORTS - 1}`;
  for (const p of [port, ...(spec.log ?? [])]) {
    if (!Number.isInteger(p) || p < 0 || p >= count) {
      throw new KilnError(
        'QEMU_BAD_SERIAL_PORT',
        `serial port ${p}: machine ${machine} has ${count === 1 ? 'one serial port' : `serial ports 0 to ${count - 1}`} (${ports})`,
        {
          hint: 'choose serial: { port: N } among them',
          exitCode: 2,
        },
      );
    }
  }
  if (spec.log?.includes(port))
    throw new KilnError('QEMU_BAD_SERIAL_PORT', `serial port ${port} is both judged and in log`, {
      hint: 'the judged port is logged to serial.log already: leave it out of log',
      exitCode: 2,
    });
  const files = [...new Set(spec.log ?? [])]
    .sort((a, b) => a - b)
    .map((p) => ({ port: p, path: join(logDir, `serial${p}.log`) }));
  return { port, files };
}

/** `{ symbolsClass }` from a file's ELF header (EI_CLASS at byte 4), or nothing when it is not a readable ELF. */
function elfClassOf(path: string | undefined): { symbolsClass?: 32 | 64 } {
  if (!path) return {};
  try {
    const fd = openSync(path, 'r');
    try {
      const head = new Uint8Array(5);
      if (
        readSync(fd, head, 0, 5, 0) < 5 ||
        head[0] !== 0x7f ||
        head[1] !== 0x45 ||
        head[2] !== 0x4c ||
        head[3] !== 0x46
      )
        return {};
      return head[4] === 1 ? { symbolsClass: 32 } : head[4] === 2 ? { symbolsClass: 64 } : {};
    } finally {
      closeSync(fd);
    }
  } catch {
    return {};
  }
}

/**
 * Short, safe folder name for a run.
 * @example runFolderName('boot test/x86_64') // 'boot_test_x86_64'
 */
export function runFolderName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'run';
}

/**
 * Resolves a machine: defaults, firmware (UEFI variables copied into the log folder), accelerator,
 * kernel protocol, disk formats. Throws KilnError for anything missing.
 * @example
 * const machine = await resolveMachine({ arch: 'aarch64', kernel: 'kernel.elf', logDir: 'build/logs' }, { testMode: true });
 * console.log(machine.accelNote, machine.kernel?.info.description);
 */
export async function resolveMachine(spec: MachineSpec, options: ResolveOptions = {}): Promise<ResolvedMachine> {
  const arch: QemuArch = spec.arch ?? 'x86_64';
  if (!(arch in MACHINE_PROFILES))
    throw new KilnError(
      'QEMU_BAD_ARCH',
      `arch: expected ${Object.keys(MACHINE_PROFILES).join(', ')}, got ${JSON.stringify(arch)}`,
      { hint: 'use --arch x86_64, --arch i386 or --arch aarch64' },
    );
  const profile = MACHINE_PROFILES[arch];
  const testMode = options.testMode ?? false;
  const name = spec.name ?? 'run';
  const logDir = resolve(spec.logDir ?? join('build', 'logs'));
  if (!options.dryRun) mkdirSync(logDir, { recursive: true });

  const [machine = profile.machine, ...extraProps] = (spec.machine ?? profile.machine).split(',');
  // A known board brings its CPU, memory, SMP, controllers and exit; an unknown machine gets the user's flags only.
  const board = findBoard(machine);
  const boardProps = board ? board.props : (profile.props[machine] ?? []);
  const machineProps = [
    ...boardProps.filter((p) => !extraProps.some((e) => e.split('=')[0] === p.split('=')[0])),
    ...extraProps,
  ];

  const disks: ResolvedDisk[] = (spec.disks ?? []).map((d: DiskSpec, i) => {
    if (!existsSync(d.path))
      throw new KilnError(
        'QEMU_IMAGE_NOT_FOUND',
        `${d.media === 'cdrom' ? 'CD-ROM image' : 'disk image'} ${d.path} does not exist`,
        { location: { file: d.path }, hint: 'build the image first (kiln build), or check the path' },
      );
    const media = d.media ?? 'disk';
    const iface =
      d.interface ?? (board?.diskInterfaces[0] as ResolvedDisk['interface'] | undefined) ?? profile.diskInterface;
    const format = d.format ?? detectDiskFormat(d.path);
    const path =
      iface === 'sd' && format === 'raw'
        ? fitSdCard(resolve(d.path), { pad: d.pad ?? false, logDir, unit: i, dryRun: options.dryRun ?? false })
        : resolve(d.path);
    return {
      path,
      format,
      media,
      interface: iface,
      snapshot: d.snapshot ?? (testMode && media === 'disk'),
      ...(d.index !== undefined ? { index: d.index } : {}),
      ...(d.readOnly ? { readOnly: true } : {}),
    };
  });
  if (!spec.kernel && disks.length === 0 && !spec.firmwarePaths?.bios && !spec.args?.length) {
    throw new KilnError('QEMU_NOTHING_TO_BOOT', 'nothing to boot: no kernel, disk image or CD-ROM', {
      hint: 'give --kernel FILE, --image FILE or --cdrom FILE (or `run` in kiln.config.ts)',
    });
  }
  if ((spec.initrd || spec.append) && !spec.kernel)
    throw new KilnError('QEMU_INITRD_WITHOUT_KERNEL', 'an initrd or a kernel command line needs --kernel', {
      hint: "add --kernel FILE, or put the initrd and command line in the image's boot loader configuration",
    });

  const firmwareKind =
    spec.firmware ?? (spec.secureBoot ? 'uefi' : arch === 'aarch64' && !spec.kernel ? 'uefi' : profile.defaultFirmware);
  if (spec.secureBoot && firmwareKind !== 'uefi')
    throw new KilnError('QEMU_SECURE_BOOT_NEEDS_UEFI', 'Secure Boot needs UEFI firmware', {
      hint: 'use --firmware uefi',
    });
  if (spec.secureBoot && arch !== 'aarch64' && machine !== 'q35')
    throw new KilnError('QEMU_SECURE_BOOT_NEEDS_Q35', 'OVMF Secure Boot needs SMM, which QEMU offers on q35 only', {
      hint: 'use --machine q35',
    });
  const firmware = resolveFirmware({
    arch,
    kind: firmwareKind,
    secureBoot: spec.secureBoot ?? false,
    paths: spec.firmwarePaths ?? {},
    runDir: logDir,
    noCopy: options.dryRun ?? false,
  });

  let kernel: ResolvedMachine['kernel'];
  if (spec.kernel) {
    const info = inspectKernel(spec.kernel, arch);
    if (spec.initrd && !existsSync(spec.initrd))
      throw new KilnError('QEMU_INITRD_NOT_FOUND', `initrd ${spec.initrd} does not exist`, {
        location: { file: spec.initrd },
      });
    kernel = {
      path: resolve(spec.kernel),
      info,
      ...(spec.initrd ? { initrd: resolve(spec.initrd) } : {}),
      ...(spec.append !== undefined ? { append: spec.append } : {}),
    };
  }

  const qemu = spec.qemu ?? `qemu-system-${arch}`;
  if (!options.dryRun && !findExecutable(qemu)) {
    throw new KilnError('QEMU_NOT_FOUND', `${qemu} not found`, {
      hint: spec.qemu
        ? 'check the --qemu path'
        : `install it (Debian/Ubuntu: apt-get install ${arch !== 'aarch64' ? 'qemu-system-x86' : 'qemu-system-arm'}) or give its path with --qemu`,
    });
  }
  const { accel, note } = await chooseAccel(arch, qemu, spec.accel ?? 'auto');
  const gdbPort = spec.gdb === true ? 1234 : typeof spec.gdb === 'number' ? spec.gdb : undefined;
  if (gdbPort !== undefined && (!Number.isInteger(gdbPort) || gdbPort < 1 || gdbPort > 65535))
    throw new KilnError('QEMU_BAD_GDB_PORT', `gdb port: expected 1-65535, got ${gdbPort}`);
  const symbols = spec.symbols ?? (kernel?.info.isElf ? kernel.path : undefined);
  const smp = spec.smp ?? board?.smp.default ?? 1;
  if (!Number.isInteger(smp) || smp < 1 || smp > 512)
    throw new KilnError('QEMU_BAD_SMP', `smp: expected 1-512 CPUs, got ${spec.smp}`);
  const memory = memoryArg(spec.memory ?? (board ? `${board.memory.default}M` : undefined));
  const cpu = spec.cpu ?? (board ? board.cpu.default : undefined);
  const exitKind = spec.exit?.kind ?? board?.defaultExit ?? profile.defaultExit;
  if (board) {
    checkBoard(board, {
      arch,
      cpu,
      memoryMiB: Number(memory.slice(0, -1)),
      smp,
      diskInterfaces: [...new Set(disks.map((d) => d.interface))],
      devices: spec.devices ?? [],
      network: spec.network ?? false,
      exit: exitKind,
      given: { cpu: spec.cpu !== undefined, memory: spec.memory !== undefined, smp: spec.smp !== undefined },
    });
  }

  // sun_path holds 107 bytes: a long path falls back to a short, stable one under the temp folder.
  const socketPath = (file: string) => {
    const path = join(logDir, `${file}.sock`);
    return Buffer.byteLength(path) > 100
      ? join(tmpdir(), `kiln-${file}-${createHash('sha256').update(logDir).digest('hex').slice(0, 16)}.sock`)
      : path;
  };
  const qmpSocket = testMode ? socketPath('qmp') : undefined;
  const consoleSockets: ResolvedMachine['consoleSockets'] = {};
  for (const c of spec.consoles ?? []) if (c === 'serial1' || c === 'virtcon') consoleSockets[c] = socketPath(c);
  if (spec.consoles?.includes('monitor') && !testMode)
    throw new KilnError(
      'QEMU_MONITOR_NEEDS_QMP',
      'the monitor console needs QMP, which kiln starts in test mode only',
      { hint: 'use kiln test or bootConsole() to talk to the monitor' },
    );
  return {
    name,
    arch,
    qemu,
    machine,
    machineProps,
    cpu,
    accel,
    accelNote: note,
    memory,
    smp,
    firmware,
    disks,
    kernel,
    devices: [...(spec.devices ?? [])],
    args: [...(board?.args ?? []), ...(spec.args ?? [])],
    network: spec.network ?? false,
    exit: resolveExit(arch, spec.exit, exitKind),
    gdb:
      gdbPort !== undefined
        ? { port: gdbPort, symbols: symbols ? resolve(symbols) : undefined, ...elfClassOf(symbols) }
        : undefined,
    debug: (spec.debug ?? false) || spec.debugLog !== undefined,
    testMode,
    logDir,
    serialLog: join(logDir, 'serial.log'),
    ...(spec.serialLog === false ? { writeSerialLog: false } : {}),
    debugLog:
      spec.debugLog !== undefined ? resolve(spec.debugLog) : spec.debug ? join(logDir, 'qemu-debug.log') : undefined,
    qmpSocket,
    consoleSockets,
    ...(spec.serial ? { serial: resolveSerial(spec.serial, board, machine, logDir, spec.consoles ?? [])! } : {}),
  };
}
