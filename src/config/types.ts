/**
 * The public shape of kiln.config.ts. `defineConfig` returns its argument; it exists so an editor
 * completes and checks every option.
 */
import type { Arch, ArtifactRef, StepHandle, TargetInfo } from '../step.js';
import type { OptionsSpec, OptionValues } from './options.js';
import type { PolicySet } from '../toolchain/policy.js';
import type { ClassifyPolicy } from '../report/classify.js';
import type { DriveLike } from '../qemu/from-config.js';
import type { ScriptStep } from '../qemu/script.js';
import type { SerialMeasure } from '../qemu/serial.js';

export type { Arch };

/** A profile: `debug`, `release` or your own. */
export interface ProfileSpec {
  /** Release profiles refuse dev signing keys and turn policy warnings into errors. */
  release?: boolean;
  /** Free-form settings your build function reads (`t.profileSettings`). */
  settings?: Record<string, unknown>;
  /** Flag-policy overrides per layer for this profile (defaults: the KOZO table). */
  policy?: PolicySet;
}

/** What boots in `kiln run` / `kiln test`. Fields mirror the QEMU harness (src/qemu). */
export interface RunConfig {
  /**
   * Boot a disk image (raw, vdi, vmdk, qcow2) as the first drive; booted through a snapshot, so the
   * guest's writes never reach the built file. A step handle is built first.
   * @example run: { image: disk, exit: { kind: 'isa-debug-exit', success: 0 } }
   */
  image?: ArtifactRef | StepHandle | string;
  /**
   * Boot an ISO as a CD-ROM (`-cdrom`), e.g. a `grubIso()` or `iso()` step.
   * @example run: { cdrom: iso, firmware: 'uefi' }
   */
  cdrom?: ArtifactRef | StepHandle | string;
  /**
   * Boot a kernel ELF directly with `-kernel` (x86: multiboot v1 or a PVH note; aarch64: any ELF, entered
   * at EL1 with the MMU off on `virt`).
   * @example run: { kernel, exit: { kind: 'isa-debug-exit', success: 0 } }
   */
  kernel?: ArtifactRef | StepHandle | string;
  /** An initial ramdisk passed with `-initrd` next to `kernel` (for instance a `cpio()` step). */
  initrd?: ArtifactRef | StepHandle | string;
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
  args?: Array<string | ArtifactRef | StepHandle>;
  /**
   * Disks, each a built image on a controller, built before the boot and booted through a snapshot
   * (`persist: true` keeps the guest's writes in a copy under the build folder).
   * @example drives: [{ image: bootDisk, interface: 'ide', index: 0 }, { image: fsDisk, interface: 'ide', index: 1 }]
   */
  drives?: DriveConfig[];
  /** QEMU binary, e.g. `qemu-system-i386` (default: `qemu-system-<arch>`; an i386 guest also runs on qemu-system-x86_64). */
  qemu?: string;
  /** The unstripped ELF for `--gdb` symbols. */
  symbols?: ArtifactRef | StepHandle | string;
  /**
   * Turns on QEMU's debug log (`-d int,cpu_reset`, `-no-reboot`) into this project-relative file,
   * e.g. Portix's `build/logs/debug.log` when its `--debug` option is set.
   */
  debugLog?: string;
  /**
   * How the guest reports its result (see {@link ExitConfig}). Without it, a test passes when every
   * `expect` pattern was seen and QEMU exited cleanly.
   * @example exit: { kind: 'isa-debug-exit', success: 0 }
   */
  exit?: ExitConfig;
  /** Seconds before giving up (test) — default 60, 120 with UEFI firmware. */
  timeout?: number;
  /**
   * Which serial port kiln reads and judges (0-based, QEMU's `-serial` order; raspi3b: 0 = PL011,
   * 1 = mini UART), and which other ports it logs to `build/logs/…/serial<N>.log`.
   * @example serial: { port: 1, log: [0] }
   */
  serial?: { port?: number; log?: number[] };
}

/** One drive of `run.drives` / `tests.<name>.drives`. */
export type DriveConfig = DriveLike<ArtifactRef | StepHandle | string>;

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
export type ExitConfig =
  | { kind: 'isa-debug-exit'; iobase?: number; iosize?: number; /** value the guest writes on success (QEMU exits (v<<1)|1) */ success?: number }
  | { kind: 'semihosting'; /** the SYS_EXIT code of a passing run (default 0) */ success?: number }
  | { kind: 'psci' }
  | { kind: 'serial' };

/**
 * One test of `tests`: a boot like {@link RunConfig} (fields not given are taken from `run`) and how to
 * judge it.
 * @example tests: { boot: { expect: ['Hello from my-os', /ticks: \d+/], timeout: 30 } }
 */
export interface TestConfig extends RunConfig {
  /**
   * Serial patterns that must appear, in this order. A measure also reads a number and checks it:
   * `measure(/ipc: (\d+) cycles/, { max: 500 })` fails the test with the value and the limit.
   */
  expect?: Array<string | RegExp | SerialMeasure>;
  /** Patterns that fail the test at once. Default: panic, PANIC, triple fault. */
  fail?: Array<string | RegExp>;
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
  arch?: Arch[];
}

/** What a build function returns: the project's steps, images and how to boot and test them. */
export interface Project {
  /** Things a toolchain builds (kernel, services, loaders). Keys name the steps. */
  components?: Record<string, StepHandle>;
  /** Images assembled from components (initrd, ESP, disk, ISO, VDI...). */
  images?: Record<string, StepHandle>;
  /** Any other steps (checks, signing, generated files). */
  steps?: Record<string, StepHandle>;
  /** What `kiln run` and `kiln build --run` boot. */
  run?: RunConfig;
  /** What `kiln test` boots and judges: test name → test. */
  tests?: Record<string, TestConfig>;
  /**
   * Where `kiln build` places final files after a successful build: a path relative to the build
   * root (`build/`) → the step whose main output is copied there (Portix: `'portix.img': disk`,
   * `'dist/portix.iso': iso`).
   */
  artifacts?: Record<string, StepHandle>;
}

/** Passed to `build(t)`: the target being planned and the option values. */
export interface BuildTarget<O extends OptionsSpec> extends TargetInfo {
  /** The project options' values (`--name=value` or the defaults), typed from `options`. */
  readonly options: OptionValues<O>;
  /** Profile settings from `profiles.<name>.settings`. */
  readonly profileSettings: Readonly<Record<string, unknown>>;
  /** True for a release profile. */
  readonly release: boolean;
  /** The environment kiln runs in (read it here rather than from `process.env`: it is part of the plan). */
  readonly env: Readonly<NodeJS.ProcessEnv>;
  /**
   * The target's build folder, absolute (`<project>/build/i386-debug`): where outputs land, for a
   * `command`'s `cwd` or a flag that needs a path. Steps should still read artifacts through handles.
   */
  readonly dir: string;
}

/**
 * The whole `kiln.config.ts`: project-wide settings plus either the {@link Project} fields given
 * statically or a `build(t)` function that returns them per target (architecture × profile).
 */
export interface KilnConfig<O extends OptionsSpec = OptionsSpec> extends Project {
  /** Project name (used in manifests, image labels and derived GUIDs). */
  name: string;
  /** Project version (manifests; default none). */
  version?: string;
  /** Architectures the project builds for; the first is the default. Default `x86_64`. */
  arch?: Arch | Arch[];
  /** Profiles; the first is the default. Default `['debug', 'release']` (release marked release). */
  profiles?: string[] | Record<string, ProfileSpec>;
  /** Flag-policy overrides per layer, for every profile (a profile's own `policy` wins). */
  policy?: PolicySet;
  /** Build folder, relative to the config. Default `build`. */
  buildDir?: string;
  /** Project build options, set with `kiln build --name=value`. */
  options?: O;
  /** `kiln status`: project classification rules (tried before kiln's) and warnings promoted to blocking. */
  report?: ClassifyPolicy;
  /** Plans the project for one target. Alternative to giving components/images/run/tests directly. */
  build?: (t: BuildTarget<O>) => Project | Promise<Project>;
}

/**
 * Declares a kiln project. Returns its argument; it exists for types.
 * @example
 * import { defineConfig, command, out } from 'kiln';
 * export default defineConfig({
 *   name: 'hello',
 *   components: { kernel: command({ argv: ['nasm', '-f', 'bin', '-o', out('boot.bin'), 'boot.asm'], inputs: ['boot.asm'], outputs: ['boot.bin'] }) },
 * });
 */
export function defineConfig<const O extends OptionsSpec = Record<never, never>>(config: KilnConfig<O>): KilnConfig<O> {
  return config;
}
