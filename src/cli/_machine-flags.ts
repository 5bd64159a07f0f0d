/**
 * The machine flags shared by `kiln run` and `kiln test`: declaring them on a command and turning
 * them into a MachineSpec.
 */
import { Command, Option } from 'commander';
import { KilnError } from '../errors.js';
import type { DiskSpec, ExitSpec, MachineSpec, QemuArch, ResolvedMachine } from '../qemu/index.js';
import { parseTimeoutFlag } from '../util/timeout.js';
import { collect } from './_options.js';

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

/** Adds the machine flags to a command. */
export function addMachineOptions(cmd: Command, options: { multiArch?: boolean } = {}): Command {
  cmd
    .option(
      '--kernel <file>',
      'boot this kernel directly with -kernel (x86_64: PVH note, multiboot v1 ELF32 or a.out kludge; aarch64: ELF)',
    )
    .option(
      '--image <file>',
      'boot a disk image (raw, qcow2, vdi, vmdk; an .iso here boots as a disk); repeatable',
      collect,
    )
    .option('--cdrom <file>', 'attach an ISO as a CD-ROM; repeatable', collect)
    .addOption(
      new Option('--image-format <format>', 'disk format (default: detected from the file)').choices([
        'raw',
        'qcow2',
        'vdi',
        'vmdk',
      ]),
    );
  if (options.multiArch)
    cmd.option(
      '--arch <arch>',
      'x86_64, i386 or aarch64; repeat for a matrix ({arch} in paths is replaced) (default: x86_64)',
      collect,
    );
  else cmd.option('--arch <arch>', 'x86_64, i386 or aarch64 (default: x86_64)');
  return cmd
    .option(
      '--machine <type>',
      'QEMU machine, with properties (default: q35 on x86_64, virt,gic-version=3 on aarch64); known boards (q35, pc, virt, raspi3b, raspi3ap, xlnx-zcu102) bring their CPU, memory, SMP and exit defaults and checks',
    )
    .option(
      '--cpu <model>',
      "CPU model (default: the board's: cortex-a57 on virt; none passed on other boards, whose CPUs are fixed, or on unknown machines)",
    )
    .addOption(
      new Option(
        '--firmware <kind>',
        'bios (SeaBIOS), uefi (OVMF/AAVMF) or none (default: bios on x86_64; none for an aarch64 kernel, uefi for an aarch64 image)',
      ).choices(['bios', 'uefi', 'none']),
    )
    .option('--secure-boot', 'UEFI with Secure Boot (OVMF .secboot + Microsoft keys; q35,smm=on)')
    .option('--bios <file>', 'firmware file for -bios (overrides discovery)')
    .option('--uefi-code <file>', 'UEFI code volume (pflash 0, read-only)')
    .option('--uefi-vars <file>', 'UEFI variable store template (copied per run to pflash 1)')
    .option('--memory <size>', 'guest memory, e.g. 256M or 1G (default: 512M)')
    .option('--smp <n>', 'number of CPUs (default: 1)')
    .addOption(
      new Option(
        '--accel <accel>',
        'accelerator (default: auto = KVM only if a probe proves it runs and is faster, else TCG)',
      ).choices(['auto', 'kvm', 'tcg']),
    )
    .option('--initrd <file>', 'initial ramdisk (with --kernel)')
    .option('--append <cmdline>', 'kernel command line (with --kernel)')
    .option('--symbols <elf>', 'unstripped kernel ELF for --gdb (default: the --kernel ELF)')
    .option('--device <device>', 'extra -device, e.g. virtio-rng-pci; repeatable', collect)
    .option('--network', "keep QEMU's default network card (off by default)")
    .addOption(
      new Option(
        '--exit <kind>',
        'how the guest reports its result (default: isa-debug-exit on x86_64, semihosting on aarch64)',
      ).choices(['isa-debug-exit', 'semihosting', 'psci', 'serial', 'none']),
    )
    .option(
      '--exit-code <n>',
      'the value the guest reports on success (isa-debug-exit: QEMU exits (n << 1) | 1) (default: 0)',
    )
    .option('--log-dir <dir>', "folder for serial.log and QEMU's files (default: build/logs)")
    .option('--qemu <binary>', 'QEMU binary (default: qemu-system-<arch>)')
    .option(
      '--qemu-debug',
      "QEMU -d int,cpu_reset with the log beside serial.log, and -no-reboot (a project's own --debug option stays the project's)",
    );
}

/** A whole number option (at least `min`), or undefined when not given. */
export function int(value: string | undefined, what: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new KilnError('CLI_BAD_NUMBER', `${what}: expected a whole number >= ${min}, got ${JSON.stringify(value)}`);
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
  for (const path of flags.image ?? [])
    disks.push({
      path: sub(path)!,
      media: 'disk',
      ...(flags.imageFormat ? { format: flags.imageFormat as DiskSpec['format'] & string } : {}),
    });
  for (const path of flags.cdrom ?? []) disks.push({ path: sub(path)!, media: 'cdrom' });
  const successCode = int(flags.exitCode, '--exit-code');
  let exit: ExitSpec | undefined;
  if (flags.exit === 'isa-debug-exit' || flags.exit === 'semihosting')
    exit = { kind: flags.exit, ...(successCode !== undefined ? { successCode } : {}) };
  else if (flags.exit === 'psci' || flags.exit === 'serial') exit = { kind: flags.exit };
  else if (flags.exit === 'none') exit = { kind: 'serial' };
  else if (flags.exit === undefined && successCode !== undefined)
    exit = arch !== 'aarch64' ? { kind: 'isa-debug-exit', successCode } : { kind: 'semihosting', successCode };
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
    ...(flags.bios || flags.uefiCode || flags.uefiVars
      ? {
          firmwarePaths: {
            ...(flags.bios ? { bios: sub(flags.bios)! } : {}),
            ...(flags.uefiCode ? { code: sub(flags.uefiCode)! } : {}),
            ...(flags.uefiVars ? { vars: sub(flags.uefiVars)! } : {}),
          },
        }
      : {}),
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
