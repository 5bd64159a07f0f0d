/**
 * `kiln runner ELF [ARGS...]`: cargo's `target.<triple>.runner` for bare-metal targets. cargo runs
 * it with the built ELF and the arguments after `--`; kiln boots the ELF in QEMU and returns what
 * cargo expects: for a test binary (cargo builds those under `deps/`, the rule bootimage uses) the
 * verdict of `kiln test` (exit device, QMP triple fault, timeout; `--expect`/`--fail` patterns)
 * as exit code 0 or 1 with the serial output on stdout; for `cargo run` an interactive boot whose
 * exit code is the guest's (0 when it reports the success code).
 *
 * Booting: an x86 ELF with a PVH note or a multiboot v1 header (ELF32, a.out kludge) goes to QEMU's
 * `-kernel`; one with only a multiboot2 header boots through a GRUB ISO kiln builds (BIOS); an
 * aarch64 ELF goes to `-kernel` on `virt`. The ELF's arguments become the kernel command line.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { KilnError } from '../errors.js';
import type { MachineSpec, QemuArch, QemuTestResult } from '../qemu/index.js';
import { action } from './_shared.js';
import { type MachineFlags, machineOverrides, seconds } from './_machine-flags.js';
import { collect } from './_options.js';

interface RunnerFlags extends MachineFlags {
  config?: string;
  sysroot?: string;
  mode?: 'auto' | 'test' | 'run';
  timeout?: string;
  expect?: string[];
  fail?: string[];
}

/** The arch an ELF is for (EI_CLASS / e_machine), or a KilnError naming the file. */
async function elfArch(path: string): Promise<QemuArch> {
  const { openSync, readSync, closeSync } = await import('node:fs');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new KilnError(
      'RUNNER_NO_ELF',
      `cannot open ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        location: { file: path },
        hint: 'kiln runner is called by cargo with the built binary: set runner = "kiln runner" under [target.<triple>] in .cargo/config.toml',
        exitCode: 2,
      },
    );
  }
  const head = new Uint8Array(20);
  try {
    readSync(fd, head, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
    throw new KilnError('RUNNER_NOT_ELF', 'not an ELF file', {
      location: { file: path, offset: 0 },
      hint: "cargo passes the linked binary: check the target's linker settings",
      exitCode: 2,
    });
  }
  const machine = head[5] === 2 ? (head[18]! << 8) | head[19]! : head[18]! | (head[19]! << 8);
  if (machine === 62) return 'x86_64';
  if (machine === 3) return 'i386';
  if (machine === 183) return 'aarch64';
  throw new KilnError('RUNNER_ARCH', `the ELF is for e_machine ${machine}, which kiln does not boot`, {
    location: { file: path, offset: 18 },
    hint: 'kiln boots x86_64, i386 and aarch64 ELFs',
    exitCode: 2,
  });
}

/** What to boot: the ELF with -kernel, or a GRUB ISO around a multiboot2-only ELF (built next to it). */
async function bootMedia(
  elf: string,
  arch: QemuArch,
  cmdline: string,
  logDir: string,
): Promise<Partial<MachineSpec> & { route: string }> {
  const { inspectKernel } = await import('../qemu/index.js');
  try {
    const info = inspectKernel(elf, arch);
    return { kernel: elf, ...(cmdline ? { append: cmdline } : {}), route: `-kernel (${info.description})` };
  } catch (error) {
    if (!(error instanceof KilnError) || error.code !== 'KERNEL_MULTIBOOT2_ONLY') throw error;
  }
  const { buildGrubIso } = await import('../toolchain/grub.js');
  const iso = join(logDir, `${basename(elf)}.iso`);
  mkdirSync(logDir, { recursive: true });
  await buildGrubIso(iso, { kernel: { path: elf, name: 'kernel.elf' }, efi: false, ...(cmdline ? { cmdline } : {}) });
  return { disks: [{ path: iso, media: 'cdrom' }], route: `GRUB ISO (multiboot2): ${iso}` };
}

/** The machine of a project's run section (`--config`), without its boot media. */
async function projectMachine(config: string, arch: QemuArch): Promise<Partial<MachineSpec>> {
  const { loadConfig } = await import('../config/load.js');
  const { planGraph } = await import('../graph/plan.js');
  const { machineFromRun } = await import('./_config-machine.js');
  const loaded = await loadConfig(config);
  const graph = await planGraph(loaded, { arch: arch === 'i386' ? 'i386' : arch, options: {} });
  if (!graph.project.run) return {};
  const {
    disks: _d,
    kernel: _k,
    initrd: _i,
    append: _a,
    symbols: _s,
    name: _n,
    logDir: _l,
    ...machine
  } = machineFromRun(graph, graph.project.run);
  return machine;
}

/**
 * `--sysroot SPEC.json`: the sysroot route for cargo test — core, alloc and compiler_builtins built
 * for the target JSON by a toolchain with rust-src (Debian's rustc 1.63 here), cached in
 * ~/.cache/kiln/rust-sysroots as for kiln build; prints the folder for `RUSTFLAGS=--sysroot ...`.
 */
async function printSysroot(specFile: string): Promise<void> {
  const { readProjectTargetSpec } = await import('../toolchain/rust-target.js');
  const { chooseRust, ensureSysroot } = await import('../toolchain/rust.js');
  const spec = readProjectTargetSpec(resolve(specFile), '--sysroot');
  const choice = await chooseRust({ custom: true, prefer: 'sysroot', spec });
  const root = await ensureSysroot(choice.toolchain, spec.path, spec.json, (line) =>
    process.stderr.write(`kiln runner: ${line}\n`),
  );
  process.stderr.write(
    `kiln runner: sysroot for ${spec.name} (${choice.reason}); use it with RUSTC=${choice.toolchain.rustc} and cargo ${choice.toolchain.cargo}\n`,
  );
  process.stdout.write(`${root}\n`);
}

/** A failed test's report for cargo's output (stderr): the reason, registers of a fault, the log. */
function failureReport(r: QemuTestResult): string {
  const lines = [`kiln runner: FAILED: ${r.reason}`];
  if (r.registers)
    lines.push(
      '  registers (info registers):',
      ...r.registers
        .split('\n')
        .slice(0, 12)
        .map((l) => `    ${l.trimEnd()}`),
    );
  if (r.stderrTail.length) lines.push('  QEMU stderr:', ...r.stderrTail.map((l) => `    ${l}`));
  const tail = r.serialTail.filter((l) => l.trim()).slice(-3);
  if (tail.length) lines.push('  last serial lines:', ...tail.map((l) => `    | ${l}`));
  lines.push(`  serial log: ${r.serialLog}`);
  return `${lines.join('\n')}\n`;
}

async function runTest(spec: MachineSpec & { name: string }, flags: RunnerFlags): Promise<number> {
  const { parsePattern, runQemuTest } = await import('../qemu/index.js');
  const timeout = seconds(flags.timeout, '--timeout') ?? 300;
  const result = await runQemuTest(
    {
      ...spec,
      expect: (flags.expect ?? []).map(parsePattern),
      // No default fail patterns: a test may print "panic" on purpose; the exit device decides.
      fail: (flags.fail ?? []).map(parsePattern),
      timeout,
    },
    { terminal: process.stdout },
  );
  if (result.status === 'passed') {
    process.stderr.write(`kiln runner: ok (${result.evidence.join('; ')})\n`);
    return 0;
  }
  process.stderr.write(failureReport(result));
  return 1;
}

async function runInteractive(spec: MachineSpec, flags: RunnerFlags): Promise<number> {
  const { runMachine } = await import('../qemu/index.js');
  const timeout = seconds(flags.timeout, '--timeout');
  const tty = process.stdin.isTTY === true;
  if (tty) {
    process.stdin.setRawMode(true);
    process.stderr.write('kiln runner: keys go to the guest (Ctrl-C too); Ctrl-] stops QEMU\n');
  }
  try {
    const result = await runMachine(spec, {
      terminal: process.stdout,
      input: process.stdin,
      ...(tty ? { escapeByte: 0x1d } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
    });
    if (result.problem) {
      process.stderr.write(`kiln runner: ${result.problem}\n`);
      return 1;
    }
    const success = result.machine.exit?.successCode ?? 0;
    return result.guestExitCode === success ? 0 : Math.min(255, result.guestExitCode ?? 1);
  } finally {
    if (tty) process.stdin.setRawMode(false);
  }
}

export function registerRunner(program: Command): void {
  program
    .command('runner')
    .description(
      "cargo's runner for bare-metal targets: boots the ELF cargo built in QEMU; cargo test gets kiln test's verdict (exit device, triple fault, timeout), cargo run an interactive boot",
    )
    .usage('[options] ELF [ARGS...]   (in .cargo/config.toml: [target.<triple>] runner = "kiln runner")')
    .argument('[elf]', 'the ELF cargo built (a test harness under deps/, or the kernel)')
    .argument('[args...]', 'arguments cargo passes (after --): the kernel command line')
    .addOption(
      new Option(
        '--mode <mode>',
        'test: judge and exit 0/1; run: interactive (default auto: test for binaries under deps/, as cargo builds tests)',
      )
        .choices(['auto', 'test', 'run'])
        .default('auto'),
    )
    .option('--timeout <seconds>', 'test mode: fail after this long (default 300); run mode: stop QEMU (default none)')
    .option(
      '--expect <pattern>',
      'test mode: serial patterns that must appear in order (text or /regex/); repeatable',
      collect,
    )
    .option('--fail <pattern>', 'test mode: serial patterns that fail at once (none by default); repeatable', collect)
    .option(
      '-c, --config <file>',
      "take the machine (memory, smp, machine, cpu, exit, QEMU args) from this kiln.config.ts's run section",
    )
    .option('--machine <type>', 'QEMU machine (default: q35 on x86_64, virt on aarch64)')
    .option('--cpu <model>', 'CPU model')
    .option('--memory <size>', 'guest memory (default 512M)')
    .option('--smp <n>', 'number of CPUs')
    .addOption(new Option('--accel <accel>', 'accelerator (default auto)').choices(['auto', 'kvm', 'tcg']))
    .addOption(
      new Option(
        '--exit <kind>',
        'how the guest reports (default: isa-debug-exit on x86, semihosting on aarch64)',
      ).choices(['isa-debug-exit', 'semihosting', 'psci', 'serial']),
    )
    .option('--exit-code <n>', 'the value the guest reports on success (default 0; blog_os-style tests use 0x10)')
    .option('--device <device>', 'extra -device; repeatable', collect)
    .option('--qemu <binary>', 'QEMU binary')
    .option(
      '--sysroot <spec.json>',
      'print the sysroot kiln builds for this target JSON (the sysroot route: RUSTFLAGS="--sysroot $(kiln runner --sysroot x.json)" cargo test ...) and exit',
    )
    .option(
      '--log-dir <dir>',
      "serial.log and QEMU files (default: kiln-runner/<binary> next to the ELF, inside cargo's target folder)",
    )
    .passThroughOptions()
    .action(
      action(async (elf: string | undefined, args: string[], flags: RunnerFlags) => {
        if (flags.sysroot) return printSysroot(flags.sysroot);
        if (elf === undefined) {
          throw new KilnError('RUNNER_NO_ELF', 'no ELF given', {
            hint: 'cargo calls the runner with the binary: set runner = "kiln runner" under [target.<triple>] in .cargo/config.toml',
            exitCode: 2,
          });
        }
        const path = resolve(elf);
        const arch = await elfArch(path);
        const name = basename(path);
        const logDir = resolve(flags.logDir ?? join(dirname(path), 'kiln-runner', name));
        const test = flags.mode === 'test' || (flags.mode !== 'run' && basename(dirname(path)) === 'deps');
        const media = await bootMedia(path, arch, args.join(' '), logDir);
        const { route, ...boot } = media;
        const fromConfig = flags.config ? await projectMachine(flags.config, arch) : {};
        const spec: MachineSpec & { name: string } = {
          ...fromConfig,
          ...machineOverrides(flags, arch),
          ...boot,
          arch,
          name,
          logDir,
        };
        process.stderr.write(`kiln runner: ${test ? 'testing' : 'running'} ${name} [${arch}] via ${route}\n`);
        process.exitCode = test ? await runTest(spec, flags) : await runInteractive(spec, flags);
      }),
    );
}
