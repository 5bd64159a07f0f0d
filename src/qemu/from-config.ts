/**
 * The bridge from kiln.config.ts's `run` and `tests` sections (src/config/types.ts RunConfig /
 * TestConfig) to fully resolved harness specs. Paths in the config are artifact handles or
 * strings; the caller (the planner, which knows where artifacts land per target) resolves them.
 */
import { runFolderName } from './resolve.js';
import { join } from 'node:path';
import type { QemuTestSpec } from './harness.js';
import type { ScriptStep } from './script.js';
import type { ExpectPattern, SerialPattern } from './serial.js';
import { KilnError } from '../errors.js';
import type { DiskFormat, DiskSpec, DriveInterface, ExitSpec, MachineSpec, QemuArch } from './types.js';

/** One drive of a run/test section (kiln.config.ts `drives`), generic over how its image is given. */
export interface DriveLike<P> {
  /** The disk image: a step handle (built before the boot) or a project-relative path. */
  image: P;
  /** Default: the arch's disk controller (IDE on x86, virtio on aarch64). */
  interface?: DriveInterface;
  /** Unit on the controller (IDE: 0 primary master, 1 primary slave, 2/3 secondary). Default: position. */
  index?: number;
  /** The image's format (`raw`, `qcow2`, `vdi`, `vmdk`); default: detected from its contents. */
  format?: DiskFormat;
  /** The guest sees a read-only disk. */
  readOnly?: boolean;
  /** SD cards (`interface: 'sd'`): boot a copy padded to the next power of two when the image is not one (QEMU takes no other size). */
  pad?: boolean;
  /**
   * Keep the guest's writes: the drive boots a copy under the build folder (made from the built image,
   * remade when the image is rebuilt). Default false: writes go to a throw-away snapshot and the built
   * image stays what was built.
   */
  persist?: boolean;
}

/**
 * How the guest tells QEMU (and so kiln) its result:
 * - `isa-debug-exit` (x86): the guest writes a value to I/O port `iobase` (default `0xf4`, `iosize` 4);
 *   QEMU exits with `(value << 1) | 1`; the test passes when the value is `success` (default 0).
 * - `semihosting` (aarch64): `SYS_EXIT` (`hlt #0xf000`) with an exit code; `success` is the passing code
 *   (default 0). kiln adds `-semihosting`.
 * - `psci`: PSCI `SYSTEM_OFF` (always exit 0: the verdict comes from the serial expectations).
 * - `serial`: the test ends as soon as every `expect` pattern matched.
 * @example exit: { kind: 'isa-debug-exit', success: 0 }
 */
export type ExitLike =
  | {
      kind: 'isa-debug-exit';
      iobase?: number;
      iosize?: number;
      /** value the guest writes on success (QEMU exits (v<<1)|1) */ success?: number;
    }
  | { kind: 'semihosting'; /** the SYS_EXIT code of a passing run (default 0) */ success?: number }
  | { kind: 'psci' }
  | { kind: 'serial' };

/**
 * What boots in `kiln run` / `kiln test` (kiln.config.ts `run`, config/types.ts RunConfig), generic over how
 * a path is given (a config gives ArtifactRef | StepHandle | string).
 */
export interface RunSectionLike<P> {
  /**
   * Boot a disk image (raw, vdi, vmdk, qcow2) as the first drive; booted through a snapshot, so the
   * guest's writes never reach the built file. A step handle is built first.
   * @example run: { image: disk, exit: { kind: 'isa-debug-exit', success: 0 } }
   */
  image?: P;
  /**
   * Boot an ISO as a CD-ROM (`-cdrom`), e.g. a `grubIso()` or `iso()` step.
   * @example run: { cdrom: iso, firmware: 'uefi' }
   */
  cdrom?: P;
  /**
   * Boot a kernel ELF directly with `-kernel` (x86: multiboot v1 or a PVH note; aarch64: any ELF, entered
   * at EL1 with the MMU off on `virt`).
   * @example run: { kernel, exit: { kind: 'isa-debug-exit', success: 0 } }
   */
  kernel?: P;
  /** An initial ramdisk passed with `-initrd` next to `kernel` (for instance a `cpio()` step). */
  initrd?: P;
  /** Kernel command line (with `kernel`). */
  append?: string;
  /** `bios` (SeaBIOS) or `uefi` (OVMF / AAVMF). Default bios on x86_64, direct kernel on aarch64. */
  firmware?: 'bios' | 'uefi';
  /** QEMU machine: a known board (`q35`, `pc`, `virt`, `raspi3b`, `raspi3ap`, `xlnx-zcu102`) brings its CPU, memory, SMP and exit defaults and checks; any other QEMU machine gets your flags as they are. */
  machine?: string;
  /** QEMU `-cpu` model (`cortex-a57`, `max`, `qemu64,+smep`); default: the board's, else QEMU's. */
  cpu?: string;
  /** Memory, e.g. `256M` or a number of bytes; default: the board's, else QEMU's (128 MiB). */
  memory?: string | number;
  /** Number of CPUs (`-smp`); a known board refuses a count it cannot have. Default 1. */
  smp?: number;
  /** Extra QEMU arguments, appended as they are; a step handle stands for its output's path (and is built first). */
  args?: Array<string | P>;
  /**
   * Disks, each a built image on a controller, built before the boot and booted through a snapshot
   * (`persist: true` keeps the guest's writes in a copy under the build folder).
   * @example drives: [{ image: bootDisk, interface: 'ide', index: 0 }, { image: fsDisk, interface: 'ide', index: 1 }]
   */
  drives?: DriveLike<P>[];
  /** QEMU binary, e.g. `qemu-system-i386` (default: `qemu-system-<arch>`; an i386 guest also runs on qemu-system-x86_64). */
  qemu?: string;
  /** The unstripped ELF for `--gdb` symbols. */
  symbols?: P;
  /**
   * Turns on QEMU's debug log (`-d int,cpu_reset`, `-no-reboot`) into this project-relative file,
   * e.g. Portix's `build/logs/debug.log` when its `--debug` option is set.
   */
  debugLog?: P;
  /**
   * How the guest reports its result (see {@link ExitLike}). Without it, a test passes when every
   * `expect` pattern was seen and QEMU exited cleanly.
   * @example exit: { kind: 'isa-debug-exit', success: 0 }
   */
  exit?: ExitLike;
  /** Seconds before giving up (test) — default 60, 120 with UEFI firmware. */
  timeout?: number;
  /**
   * Which serial port kiln reads and judges (0-based, QEMU's `-serial` order; raspi3b: 0 = PL011,
   * 1 = mini UART), and which other ports it logs to `build/logs/…/serial<N>.log`.
   * @example serial: { port: 1, log: [0] }
   */
  serial?: { port?: number; log?: number[] };
}

/**
 * One test of `tests` (config/types.ts TestConfig): a boot like {@link RunSectionLike} (fields not given are
 * taken from `run`) and how to judge it.
 * @example tests: { boot: { expect: ['Hello from my-os', /ticks: \d+/], timeout: 30 } }
 */
export interface TestSectionLike<P> extends RunSectionLike<P> {
  /**
   * Serial patterns that must appear, in this order. A measure also reads a number and checks it:
   * `measure(/ipc: (\d+) cycles/, { max: 500 })` fails the test with the value and the limit.
   */
  expect?: ExpectPattern[];
  /** Patterns that fail the test at once. Default: panic, PANIC, triple fault. */
  fail?: SerialPattern[];
  /** Parse KTAP from serial into test cases. */
  ktap?: boolean;
  /** Seconds without serial output before failing. */
  idleTimeout?: number;
  /**
   * Talk to the guest: steps run in order (`guest.expect`, `guest.send`, `guest.key`,
   * `guest.capture`), on serial0 unless a step names `serial1`, `virtcon` or `monitor`.
   * Every step must pass; the first that fails ends the test, named: `step 4/7: expect /^hi$/m
   * not seen within 5 s (after "echo hi\n" was sent)`.
   */
  script?: ScriptStep[];
  /** Default seconds a script step waits (default: `timeout`). */
  stepTimeout?: number;
  /** Architectures to run this test on (default: every architecture the build targets). */
  arch?: QemuArch[];
}

/** Options of `machineSpecFromConfig`: how config paths become files, where logs go. */
export interface FromConfigOptions<P> {
  /** Turns a config path (artifact handle or string) into a file path for one arch. */
  resolvePath: (path: P, arch: QemuArch) => string;
  /** Log folder root (default `build/logs`): a run logs there, a test under `tests/<name>-<arch>`. */
  logRoot?: string;
  /** The file a `persist: true` drive boots (a copy of the built image the caller keeps up to date). */
  persistPath?: (path: P, arch: QemuArch, index: number, section: string) => string;
  /** The section's name for persisted copies and messages (`run`, `tests.boot`). Default `run`. */
  section?: string;
}

const IDE_ON_Q35 =
  'q35 has no legacy IDE controller: its IDE drives sit on AHCI (SATA) ports, which a driver for the ' +
  'legacy ports 0x1f0/0x170 never sees (the boot hangs without a word)';

/**
 * The machine a section's drives need: an explicit IDE drive on x86 selects `pc` when the section names no
 * machine, and is refused on q35 with the reason.
 */
function machineForDrives<P>(run: RunSectionLike<P>, arch: QemuArch, section: string): string | undefined {
  const ide = (run.drives ?? []).some((d) => (d.interface ?? (arch === 'aarch64' ? 'virtio' : 'ide')) === 'ide');
  if (!ide || arch === 'aarch64') return run.machine;
  if (run.machine === undefined) return 'pc';
  if (run.machine.split(',')[0] === 'q35') {
    throw new KilnError('QEMU_IDE_ON_Q35', `a drive with interface "ide" on machine q35: ${IDE_ON_Q35}`, {
      location: { configPath: `${section}.drives` },
      hint: 'use machine: "pc" (or leave machine out: kiln picks pc for IDE drives), or an AHCI/virtio driver with interface: "virtio"',
    });
  }
  return run.machine;
}

function drivesOf<P>(run: RunSectionLike<P>, arch: QemuArch, options: FromConfigOptions<P>, first: number): DiskSpec[] {
  return (run.drives ?? []).map((d, i) => {
    const path = d.persist
      ? (
          options.persistPath ??
          ((): never => {
            throw new KilnError('QEMU_PERSIST_UNSUPPORTED', 'a persist drive needs a build folder to hold its copy', {
              hint: 'boot it through kiln run / kiln test in a project',
            });
          })
        )(d.image, arch, i, options.section ?? 'run')
      : options.resolvePath(d.image, arch);
    return {
      path,
      media: 'disk',
      // Persisted writes land in the copy; every other drive boots through a snapshot so the built image never changes.
      snapshot: !d.persist,
      ...(d.interface ? { interface: d.interface } : {}),
      index: d.index ?? first + i,
      ...(d.format ? { format: d.format } : {}),
      ...(d.readOnly ? { readOnly: true } : {}),
      ...(d.pad ? { pad: true } : {}),
    };
  });
}

/**
 * A MachineSpec from a `run` section for one arch.
 * @example
 * const spec = machineSpecFromConfig(config.run, 'x86_64', { resolvePath: (p) => artifactPath(p, target) });
 * await runMachine(spec, { terminal: process.stdout });
 */
export function machineSpecFromConfig<P>(
  run: RunSectionLike<P>,
  arch: QemuArch,
  options: FromConfigOptions<P>,
): MachineSpec {
  const path = (p: P | undefined) => (p === undefined ? undefined : options.resolvePath(p, arch));
  const disks: DiskSpec[] = [];
  // A built image boots through a snapshot: the guest's writes never reach what the build made.
  if (run.image !== undefined) disks.push({ path: path(run.image)!, media: 'disk', snapshot: true });
  disks.push(...drivesOf(run, arch, options, disks.length));
  if (run.cdrom !== undefined) disks.push({ path: path(run.cdrom)!, media: 'cdrom' });
  const machine = machineForDrives(run, arch, options.section ?? 'run');
  let exit: ExitSpec | undefined;
  if (run.exit)
    exit =
      run.exit.kind === 'isa-debug-exit' || run.exit.kind === 'semihosting'
        ? { ...run.exit, ...(run.exit.success !== undefined ? { successCode: run.exit.success } : {}) }
        : { kind: run.exit.kind };
  return {
    arch,
    disks,
    ...(run.kernel !== undefined ? { kernel: path(run.kernel)! } : {}),
    ...(run.initrd !== undefined ? { initrd: path(run.initrd)! } : {}),
    ...(run.append !== undefined ? { append: run.append } : {}),
    ...(run.symbols !== undefined ? { symbols: path(run.symbols)! } : {}),
    ...(run.debugLog !== undefined ? { debugLog: path(run.debugLog)! } : {}),
    ...(run.firmware ? { firmware: run.firmware } : {}),
    ...(machine ? { machine } : {}),
    ...(run.qemu ? { qemu: run.qemu } : {}),
    ...(run.cpu ? { cpu: run.cpu } : {}),
    ...(run.memory !== undefined ? { memory: run.memory } : {}),
    ...(run.smp !== undefined ? { smp: run.smp } : {}),
    ...(run.args ? { args: run.args.map((a) => (typeof a === 'string' ? a : options.resolvePath(a, arch))) } : {}),
    ...(exit ? { exit } : {}),
    ...(run.serial ? { serial: { ...run.serial } } : {}),
    logDir: options.logRoot ?? join('build', 'logs'),
  };
}

/**
 * Test specs for every test × arch: each test inherits the `run` section and overrides what it sets.
 * @example
 * const specs = testSpecsFromConfig(config.tests, { arches: ['x86_64', 'aarch64'], run: config.run, resolvePath });
 * const summary = await runTests(specs, { jobs: 2 });
 */
export function testSpecsFromConfig<P>(
  tests: Record<string, TestSectionLike<P>>,
  options: FromConfigOptions<P> & { arches: QemuArch[]; run?: RunSectionLike<P> },
): QemuTestSpec[] {
  const specs: QemuTestSpec[] = [];
  for (const [name, test] of Object.entries(tests)) {
    // A test that names its own medium does not inherit the run section's media.
    const ownMedium =
      test.image !== undefined || test.cdrom !== undefined || test.kernel !== undefined || test.drives !== undefined;
    const base: RunSectionLike<P> = { ...(options.run ?? {}) };
    if (ownMedium) {
      delete base.image;
      delete base.cdrom;
      delete base.kernel;
      delete base.initrd;
      delete base.drives;
    }
    const merged: TestSectionLike<P> = { ...base, ...test };
    for (const arch of test.arch ?? options.arches) {
      const machine = machineSpecFromConfig(merged, arch, {
        ...options,
        section: `tests.${name}`,
        logRoot: join(options.logRoot ?? join('build', 'logs'), 'tests', runFolderName(`${name}-${arch}`)),
      });
      specs.push({
        ...machine,
        name,
        ...(merged.expect ? { expect: merged.expect } : {}),
        ...(merged.fail ? { fail: merged.fail } : {}),
        ...(merged.ktap ? { ktap: true } : {}),
        ...(merged.timeout !== undefined ? { timeout: merged.timeout } : {}),
        ...(merged.idleTimeout !== undefined ? { idleTimeout: merged.idleTimeout } : {}),
        ...(merged.script ? { script: merged.script } : {}),
        ...(merged.stepTimeout !== undefined ? { stepTimeout: merged.stepTimeout } : {}),
      });
    }
  }
  return specs;
}
