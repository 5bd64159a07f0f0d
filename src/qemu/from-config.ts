/**
 * The bridge from kiln.config.ts's `run` and `tests` sections (src/config/types.ts RunConfig /
 * TestConfig) to fully resolved harness specs. Paths in the config are artifact handles or
 * strings; the caller (the planner, which knows where artifacts land per target) resolves them.
 */
import { runFolderName } from './resolve.js';
import { join } from 'node:path';
import type { QemuTestSpec } from './harness.js';
import type { SerialPattern } from './serial.js';
import type { DiskSpec, ExitSpec, MachineSpec, QemuArch } from './types.js';

/** The shape of RunConfig, generic over how a path is given (ArtifactRef | StepHandle | string). */
export interface RunSectionLike<P> {
  image?: P;
  cdrom?: P;
  kernel?: P;
  initrd?: P;
  append?: string;
  firmware?: 'bios' | 'uefi';
  machine?: string;
  cpu?: string;
  memory?: string | number;
  smp?: number;
  args?: string[];
  symbols?: P;
  exit?: { kind: 'isa-debug-exit'; iobase?: number; iosize?: number; success?: number } | { kind: 'semihosting'; success?: number } | { kind: 'psci' } | { kind: 'serial' };
  timeout?: number;
}

/** The shape of TestConfig. */
export interface TestSectionLike<P> extends RunSectionLike<P> {
  expect?: SerialPattern[];
  fail?: SerialPattern[];
  ktap?: boolean;
  idleTimeout?: number;
  arch?: QemuArch[];
}

export interface FromConfigOptions<P> {
  /** Turns a config path (artifact handle or string) into a file path for one arch. */
  resolvePath: (path: P, arch: QemuArch) => string;
  /** Log folder root (default `build/logs`): a run logs there, a test under `tests/<name>-<arch>`. */
  logRoot?: string;
}

/**
 * A MachineSpec from a `run` section for one arch.
 * @example
 * const spec = machineSpecFromConfig(config.run, 'x86_64', { resolvePath: (p) => artifactPath(p, target) });
 * await runMachine(spec, { terminal: process.stdout });
 */
export function machineSpecFromConfig<P>(run: RunSectionLike<P>, arch: QemuArch, options: FromConfigOptions<P>): MachineSpec {
  const path = (p: P | undefined) => (p === undefined ? undefined : options.resolvePath(p, arch));
  const disks: DiskSpec[] = [];
  if (run.image !== undefined) disks.push({ path: path(run.image)!, media: 'disk' });
  if (run.cdrom !== undefined) disks.push({ path: path(run.cdrom)!, media: 'cdrom' });
  let exit: ExitSpec | undefined;
  if (run.exit) exit = run.exit.kind === 'isa-debug-exit' || run.exit.kind === 'semihosting' ? { ...run.exit, ...(run.exit.success !== undefined ? { successCode: run.exit.success } : {}) } : { kind: run.exit.kind };
  return {
    arch,
    disks,
    ...(run.kernel !== undefined ? { kernel: path(run.kernel)! } : {}),
    ...(run.initrd !== undefined ? { initrd: path(run.initrd)! } : {}),
    ...(run.append !== undefined ? { append: run.append } : {}),
    ...(run.symbols !== undefined ? { symbols: path(run.symbols)! } : {}),
    ...(run.firmware ? { firmware: run.firmware } : {}),
    ...(run.machine ? { machine: run.machine } : {}),
    ...(run.cpu ? { cpu: run.cpu } : {}),
    ...(run.memory !== undefined ? { memory: run.memory } : {}),
    ...(run.smp !== undefined ? { smp: run.smp } : {}),
    ...(run.args ? { args: [...run.args] } : {}),
    ...(exit ? { exit } : {}),
    logDir: options.logRoot ?? join('build', 'logs'),
  };
}

/**
 * Test specs for every test × arch: each test inherits the `run` section and overrides what it sets.
 * @example
 * const specs = testSpecsFromConfig(config.tests, { arches: ['x86_64', 'aarch64'], run: config.run, resolvePath });
 * const summary = await runTests(specs, { jobs: 2 });
 */
export function testSpecsFromConfig<P>(tests: Record<string, TestSectionLike<P>>, options: FromConfigOptions<P> & { arches: QemuArch[]; run?: RunSectionLike<P> }): QemuTestSpec[] {
  const specs: QemuTestSpec[] = [];
  for (const [name, test] of Object.entries(tests)) {
    // A test that names its own medium does not inherit the run section's media.
    const ownMedium = test.image !== undefined || test.cdrom !== undefined || test.kernel !== undefined;
    const base: RunSectionLike<P> = { ...(options.run ?? {}) };
    if (ownMedium) {
      delete base.image;
      delete base.cdrom;
      delete base.kernel;
      delete base.initrd;
    }
    const merged: TestSectionLike<P> = { ...base, ...test };
    for (const arch of test.arch ?? options.arches) {
      const machine = machineSpecFromConfig(merged, arch, { ...options, logRoot: join(options.logRoot ?? join('build', 'logs'), 'tests', runFolderName(`${name}-${arch}`)) });
      specs.push({
        ...machine,
        name,
        ...(merged.expect ? { expect: merged.expect } : {}),
        ...(merged.fail ? { fail: merged.fail } : {}),
        ...(merged.ktap ? { ktap: true } : {}),
        ...(merged.timeout !== undefined ? { timeout: merged.timeout } : {}),
        ...(merged.idleTimeout !== undefined ? { idleTimeout: merged.idleTimeout } : {}),
      });
    }
  }
  return specs;
}
