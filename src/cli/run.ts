/**
 * `kiln run`: boot a kernel, disk image or ISO in QEMU with a machine profile. A thin layer over
 * `runMachine` (src/qemu); the machine flags are shared with `kiln test`.
 */
import type { Command } from 'commander';
import { formatCommand } from '../util/process.js';
import { ALLOW_DEV_KEY_HELP } from './_project.js';
import { REMOTE_CACHE_HELP, REMOTE_CACHE_READ_ONLY_HELP, action } from './_shared.js';
import {
  type MachineFlags,
  addMachineOptions,
  archesOf,
  int,
  machineNotes,
  machineOverrides,
  machineSpecFromFlags,
  seconds,
} from './_machine-flags.js';

interface RunFlags extends MachineFlags {
  gdb?: string | boolean;
  dryRun?: boolean;
  timeout?: string;
}

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description(
      "boot a kernel, disk image or ISO in QEMU (serial on the terminal and in build/logs/serial.log); piped stdin goes to the guest's serial port; on a terminal keys do (Ctrl-C too) and Ctrl-] stops QEMU",
    )
    .usage(
      "[--option=value] (the project's run section) | --kernel FILE | --image FILE | --cdrom FILE [options] [-- extra QEMU arguments]",
    )
    .argument('[qemu-args...]', 'extra QEMU arguments after --, appended as they are');
  addMachineOptions(cmd)
    .option('--gdb [port]', 'start halted with a GDB stub on this TCP port (default 1234) and print the gdb command')
    .option(
      '--no-serial',
      'no serial logging: nothing on the terminal and no serial.log (the exit device still decides)',
    )
    .option('--dry-run', 'print the QEMU command line and exit', false)
    .option('--timeout <seconds>', 'stop QEMU after this many seconds (default: none)')
    .option(
      '-c, --config <file>',
      'without --kernel/--image/--cdrom: boot the run section of this kiln.config.ts (default: found from here); --option=value project options may follow',
    )
    .option('-p, --profile <name>', 'project profile (with a config)')
    .option('--build-dir <dir>', 'build folder (with a config; default: build/ next to the config)')
    .option('--allow-dev-key', ALLOW_DEV_KEY_HELP)
    .option('--remote-cache <url>', REMOTE_CACHE_HELP)
    .option('--remote-cache-read-only', REMOTE_CACHE_READ_ONLY_HELP)
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
        if (flags.gdb !== undefined && flags.gdb !== false)
          spec.gdb = flags.gdb === true ? true : int(flags.gdb, '--gdb', 1)!;
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
                process.stderr.write(
                  `kiln: QEMU is halted, waiting for GDB on port ${machine.gdb.port}. In another terminal:\n  ${formatCommand(g.argv)}\n`,
                );
                for (const note of [...(gdb.note ? [gdb.note] : []), ...g.notes])
                  process.stderr.write(`kiln: ${note}\n`);
              }
            },
          });
          if (flags.dryRun) return;
          if (result.problem) {
            process.stderr.write(`kiln: ${result.problem}\n`);
            for (const line of result.stderr.trim().split('\n').filter(Boolean).slice(-5))
              process.stderr.write(`  ${line}\n`);
            process.exitCode = 1;
            return;
          }
          process.stderr.write(
            `kiln: guest exit code ${result.guestExitCode} (QEMU ${result.exit?.signal ? `killed by ${result.exit.signal}` : `exit status ${result.exit?.code}`}); serial log ${result.serialLog}\n`,
          );
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
