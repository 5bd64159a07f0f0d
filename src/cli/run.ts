/**
 * `kiln run`: boot a kernel, disk image or ISO in QEMU with a machine profile. A thin layer over
 * `runMachine` (src/qemu); the machine flags are shared with `kiln test`.
 */
import { Command, Option } from 'commander';
import { KilnError } from '../errors.js';
import { formatCommand } from '../util/process.js';
import type { DiskSpec, ExitSpec, MachineSpec, QemuArch, ResolvedMachine } from '../qemu/index.js';
import { ALLOW_DEV_KEY_HELP } from './_project.js';
import { parseTimeoutFlag } from '../util/timeout.js';
import { action } from './_shared.js';

/** Flags shared by `kiln run` and `kiln test` (commander's camelCase names). */
export interface MachineFlags {
  kernel?: string;
  image?: string[];
  cdrom?: string[];
  imageFormat?: string;
  arch?: string | string[];
  machine?: string;
  cpu?: string;
  firmware?: string;
  secureBoot?: boolean;
  bios?: string;
  uefiCode?: string;
  uefiVars?: string;
  memory?: string;
  smp?: string;
  accel?: string;
  initrd?: string;
  append?: string;
  symbols?: string;
  device?: string[];
  network?: boolean;
  exit?: string;
  exitCode?: string;
  logDir?: string;
  qemu?: string;
  qemuDebug?: boolean;
  /** `--no-serial` (false): no serial log at all. */
  serial?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds the machine flags to a command. */
export function addMachineOptions(cmd: Command, options: { multiArch?: boolean } = {}): Command {
  cmd
    .option('--kernel <file>', 'boot this kernel directly with -kernel (x86_64: PVH note, multiboot v1 ELF32 or a.out kludge; aarch64: ELF)')
    .option('--image <file>', 'boot a disk image (raw, qcow2, vdi, vmdk; an .iso here boots as a disk); repeatable', collect)
    .option('--cdrom <file>', 'attach an ISO as a CD-ROM; repeatable', collect)
    .addOption(new Option('--image-format <format>', 'disk format (default: detected from the file)').choices(['raw', 'qcow2', 'vdi', 'vmdk']));
  if (options.multiArch) cmd.option('--arch <arch>', 'x86_64, i386 or aarch64; repeat for a matrix ({arch} in paths is replaced) (default: x86_64)', collect);
  else cmd.option('--arch <arch>', 'x86_64, i386 or aarch64 (default: x86_64)');
  return cmd
    .option('--machine <type>', 'QEMU machine, with properties (default: q35 on x86_64, virt,gic-version=3 on aarch64); known boards (q35, pc, virt, raspi3b, raspi3ap, xlnx-zcu102) bring their CPU, memory, SMP and exit defaults and checks')
    .option('--cpu <model>', 'CPU model (default: the board\'s: cortex-a57 on virt; none passed on other boards, whose CPUs are fixed, or on unknown machines)')
    .addOption(new Option('--firmware <kind>', 'bios (SeaBIOS), uefi (OVMF/AAVMF) or none (default: bios on x86_64; none for an aarch64 kernel, uefi for an aarch64 image)').choices(['bios', 'uefi', 'none']))
    .option('--secure-boot', 'UEFI with Secure Boot (OVMF .secboot + Microsoft keys; q35,smm=on)')
    .option('--bios <file>', 'firmware file for -bios (overrides discovery)')
    .option('--uefi-code <file>', 'UEFI code volume (pflash 0, read-only)')
    .option('--uefi-vars <file>', 'UEFI variable store template (copied per run to pflash 1)')
    .option('--memory <size>', 'guest memory, e.g. 256M or 1G (default: 512M)')
    .option('--smp <n>', 'number of CPUs (default: 1)')
    .addOption(new Option('--accel <accel>', 'accelerator (default: auto = KVM only if a probe proves it runs and is faster, else TCG)').choices(['auto', 'kvm', 'tcg']))
    .option('--initrd <file>', 'initial ramdisk (with --kernel)')
    .option('--append <cmdline>', 'kernel command line (with --kernel)')
    .option('--symbols <elf>', 'unstripped kernel ELF for --gdb (default: the --kernel ELF)')
    .option('--device <device>', 'extra -device, e.g. virtio-rng-pci; repeatable', collect)
    .option('--network', 'keep QEMU\'s default network card (off by default)')
    .addOption(new Option('--exit <kind>', 'how the guest reports its result (default: isa-debug-exit on x86_64, semihosting on aarch64)').choices(['isa-debug-exit', 'semihosting', 'psci', 'serial', 'none']))
    .option('--exit-code <n>', 'the value the guest reports on success (isa-debug-exit: QEMU exits (n << 1) | 1) (default: 0)')
    .option('--log-dir <dir>', 'folder for serial.log and QEMU\'s files (default: build/logs)')
    .option('--qemu <binary>', 'QEMU binary (default: qemu-system-<arch>)')
    .option('--qemu-debug', 'QEMU -d int,cpu_reset with the log beside serial.log, and -no-reboot (a project\'s own --debug option stays the project\'s)');
}

function int(value: string | undefined, what: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new KilnError('CLI_BAD_NUMBER', `${what}: expected a whole number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function seconds(value: string | undefined, what: string): number | undefined {
  return parseTimeoutFlag(value, what);
}

function checkArch(value: string): QemuArch {
  if (value === 'x86_64' || value === 'i386' || value === 'aarch64') return value;
  if (value === 'amd64' || value === 'x64') return 'x86_64';
  if (value === 'x86' || value === 'i686') return 'i386';
  if (value === 'arm64') return 'aarch64';
  throw new KilnError('CLI_BAD_ARCH', `--arch: expected x86_64, i386 or aarch64, got ${JSON.stringify(value)}`);
}

/** The arches named by --arch (default x86_64). */
export function archesOf(flags: MachineFlags): QemuArch[] {
  const list = flags.arch === undefined ? [] : Array.isArray(flags.arch) ? flags.arch : [flags.arch];
  return list.length ? [...new Set(list.map(checkArch))] : ['x86_64'];
}

/** Turns flags (+ the args after `--`) into a MachineSpec for one arch. `{arch}` in paths is replaced. */
export function machineSpecFromFlags(flags: MachineFlags, extraArgs: string[], arch: QemuArch): MachineSpec {
  const sub = (p: string | undefined) => (p === undefined ? undefined : p.replaceAll('{arch}', arch));
  const disks: DiskSpec[] = [];
  for (const path of flags.image ?? []) disks.push({ path: sub(path)!, media: 'disk', ...(flags.imageFormat ? { format: flags.imageFormat as DiskSpec['format'] & string } : {}) });
  for (const path of flags.cdrom ?? []) disks.push({ path: sub(path)!, media: 'cdrom' });
  const successCode = int(flags.exitCode, '--exit-code');
  let exit: ExitSpec | undefined;
  if (flags.exit === 'isa-debug-exit' || flags.exit === 'semihosting') exit = { kind: flags.exit, ...(successCode !== undefined ? { successCode } : {}) };
  else if (flags.exit === 'psci' || flags.exit === 'serial') exit = { kind: flags.exit };
  else if (flags.exit === 'none') exit = { kind: 'serial' };
  else if (flags.exit === undefined && successCode !== undefined) exit = arch !== 'aarch64' ? { kind: 'isa-debug-exit', successCode } : { kind: 'semihosting', successCode };
  const smp = int(flags.smp, '--smp', 1);
  const spec: MachineSpec = {
    arch,
    disks,
    ...(flags.kernel ? { kernel: sub(flags.kernel)! } : {}),
    ...(flags.initrd ? { initrd: sub(flags.initrd)! } : {}),
    ...(flags.append !== undefined ? { append: flags.append } : {}),
    ...(flags.symbols ? { symbols: sub(flags.symbols)! } : {}),
    ...(flags.machine ? { machine: flags.machine } : {}),
    ...(flags.cpu ? { cpu: flags.cpu } : {}),
    ...(flags.firmware ? { firmware: flags.firmware as MachineSpec['firmware'] & string } : {}),
    ...(flags.secureBoot ? { secureBoot: true } : {}),
    ...(flags.bios || flags.uefiCode || flags.uefiVars ? { firmwarePaths: { ...(flags.bios ? { bios: sub(flags.bios)! } : {}), ...(flags.uefiCode ? { code: sub(flags.uefiCode)! } : {}), ...(flags.uefiVars ? { vars: sub(flags.uefiVars)! } : {}) } } : {}),
    ...(flags.memory ? { memory: flags.memory } : {}),
    ...(smp !== undefined ? { smp } : {}),
    ...(flags.accel ? { accel: flags.accel as 'auto' | 'kvm' | 'tcg' } : {}),
    ...(flags.device?.length ? { devices: flags.device } : {}),
    ...(flags.network ? { network: true } : {}),
    ...(exit ? { exit } : {}),
    ...(flags.logDir ? { logDir: sub(flags.logDir)! } : {}),
    ...(flags.qemu ? { qemu: flags.qemu } : {}),
    ...(flags.qemuDebug ? { debug: true } : {}),
    ...(flags.serial === false ? { serialLog: false } : {}),
    ...(extraArgs.length ? { args: extraArgs } : {}),
  };
  return spec;
}

/**
 * The machine options given on the command line (--memory, --smp, --accel, --firmware, ...), to lay
 * over a project's run/test section: without this they were silently ignored in project mode.
 * @example const spec = { ...fromConfig, ...machineOverrides(flags, fromConfig.arch) };
 */
export function machineOverrides(flags: MachineFlags, arch: QemuArch): Partial<MachineSpec> {
  const { arch: _arch, disks: _disks, ...given } = machineSpecFromFlags(flags, [], arch);
  return given;
}

/** Lines kiln says about a machine before booting it (stderr). */
export function machineNotes(machine: ResolvedMachine): string[] {
  const lines = [machine.accelNote, `firmware: ${machine.firmware.description}`];
  if (machine.kernel) lines.push(`kernel: ${machine.kernel.info.description}`);
  lines.push(machine.writeSerialLog === false ? 'serial log: none (--no-serial)' : `serial log: ${machine.serialLog}`);
  if (machine.debugLog) lines.push(`QEMU debug log (-d int,cpu_reset): ${machine.debugLog}`);
  return lines;
}

interface RunFlags extends MachineFlags {
  gdb?: string | boolean;
  dryRun?: boolean;
  timeout?: string;
}

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description('boot a kernel, disk image or ISO in QEMU (serial on the terminal and in build/logs/serial.log); piped stdin goes to the guest\'s serial port; on a terminal keys do (Ctrl-C too) and Ctrl-] stops QEMU')
    .usage('[--option=value] (the project\'s run section) | --kernel FILE | --image FILE | --cdrom FILE [options] [-- extra QEMU arguments]')
    .argument('[qemu-args...]', 'extra QEMU arguments after --, appended as they are');
  addMachineOptions(cmd)
    .option('--gdb [port]', 'start halted with a GDB stub on this TCP port (default 1234) and print the gdb command')
    .option('--no-serial', 'no serial logging: nothing on the terminal and no serial.log (the exit device still decides)')
    .option('--dry-run', 'print the QEMU command line and exit', false)
    .option('--timeout <seconds>', 'stop QEMU after this many seconds (default: none)')
    .option('-c, --config <file>', 'without --kernel/--image/--cdrom: boot the run section of this kiln.config.ts (default: found from here); --option=value project options may follow')
    .option('-p, --profile <name>', 'project profile (with a config)')
    .option('--build-dir <dir>', 'build folder (with a config; default: build/ next to the config)')
    .option('--allow-dev-key', ALLOW_DEV_KEY_HELP)
    .allowUnknownOption(true)
    .action(
      action(async (qemuArgs: string[], flags: RunFlags) => {
        // The QEMU library loads only when the command runs (kiln's start-up stays small).
        const { chooseGdb, gdbInstructions, runMachine } = await import('../qemu/index.js');
        const [arch] = archesOf(flags);
        const projectMode = !flags.kernel && !flags.image?.length && !flags.cdrom?.length;
        // The project folder: kiln's outputs name their sources relative to it (gdb's `directory`).
        let sourceDir: string | undefined;
        const spec = projectMode
          ? await (async () => {
              const project = await (await import('./_config-machine.js')).projectMachineSpec(flags as never, qemuArgs);
              sourceDir = project.projectDir;
              return { ...project.spec, ...machineOverrides(flags, project.spec.arch ?? 'x86_64') };
            })()
          : machineSpecFromFlags(flags, qemuArgs, arch!);
        if (flags.gdb !== undefined && flags.gdb !== false) spec.gdb = flags.gdb === true ? true : int(flags.gdb, '--gdb', 1)!;
        const controller = new AbortController();
        const onSignal = () => controller.abort();
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        process.on('SIGHUP', onSignal); // the terminal closed
        let restoreTerminal: (() => void) | undefined;
        try {
          const timeout = seconds(flags.timeout, '--timeout');
          // Piped stdin goes to the guest's serial port; on a terminal, keys do (Ctrl-C too) and Ctrl-] stops QEMU.
          const tty = process.stdin.isTTY === true;
          const input = !flags.dryRun && (!tty || flags.serial !== false) ? process.stdin : undefined;
          if (input && tty && spec.gdb === undefined) {
            process.stdin.setRawMode(true);
            restoreTerminal = () => process.stdin.setRawMode(false);
            process.stderr.write('kiln: keys go to the guest (Ctrl-C too); Ctrl-] stops QEMU\n');
          }
          const result = await runMachine(spec, {
            ...(flags.serial !== false && !flags.dryRun ? { terminal: process.stdout } : {}),
            ...(input && (!tty || spec.gdb === undefined) ? { input, ...(tty ? { escapeByte: 0x1d } : {}) } : {}),
            ...(input && tty && spec.gdb !== undefined ? { interactive: true } : {}),
            ...(timeout !== undefined ? { timeout } : {}),
            dryRun: flags.dryRun ?? false,
            signal: controller.signal,
            onSilent: (message) => process.stderr.write(`kiln: ${message}\n`),
            onReady: (machine, argv) => {
              if (flags.dryRun) {
                process.stdout.write(`${formatCommand(argv)}\n`);
                return;
              }
              for (const line of machineNotes(machine)) process.stderr.write(`kiln: ${line}\n`);
              if (machine.gdb) {
                // The host gdb debugs the host's arch only: gdb-multiarch or a cross gdb for the others.
                const gdb = chooseGdb(machine.arch);
                const g = gdbInstructions(machine, { ...(sourceDir ? { sourceDir } : {}), gdb: gdb.command });
                process.stderr.write(`kiln: QEMU is halted, waiting for GDB on port ${machine.gdb.port}. In another terminal:\n  ${formatCommand(g.argv)}\n`);
                for (const note of [...(gdb.note ? [gdb.note] : []), ...g.notes]) process.stderr.write(`kiln: ${note}\n`);
              }
            },
          });
          if (flags.dryRun) return;
          if (result.problem) {
            process.stderr.write(`kiln: ${result.problem}\n`);
            for (const line of result.stderr.trim().split('\n').filter(Boolean).slice(-5)) process.stderr.write(`  ${line}\n`);
            process.exitCode = 1;
            return;
          }
          process.stderr.write(`kiln: guest exit code ${result.guestExitCode} (QEMU ${result.exit?.signal ? `killed by ${result.exit.signal}` : `exit status ${result.exit?.code}`}); serial log ${result.serialLog}\n`);
          process.exitCode = Math.min(255, result.guestExitCode ?? 1);
        } finally {
          restoreTerminal?.();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          process.off('SIGHUP', onSignal);
        }
      }),
    );
}
