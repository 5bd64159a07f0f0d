/**
 * `kiln run`: boot a machine for a human. Serial always to serial.log, and to the terminal
 * unless turned off; exit code = what the guest reported through its exit device.
 */
import { buildQemuCommand } from './command.js';
import { decodeGuestExit } from './harness.js';
import { qemuErrorLines, startQemu, type QemuExit } from './launch.js';
import { resolveMachine } from './resolve.js';
import { silentAfterSeconds, silentBootMessage } from './silent.js';
import type { MachineSpec, ResolvedMachine } from './types.js';

export interface RunMachineOptions {
  /** Raw serial copy (process.stdout); omit for `--no-serial`. */
  terminal?: NodeJS.WritableStream;
  /** Pass the terminal's stdin to the guest's serial port (on a TTY). */
  interactive?: boolean;
  /** Stop QEMU after this many seconds. */
  timeout?: number;
  /** Resolve and build the command line only. */
  dryRun?: boolean;
  /** Called with the machine and argv before QEMU starts (print notes, the gdb command). */
  onReady?: (machine: ResolvedMachine, argv: string[]) => void;
  /** Called once when the guest printed nothing for a few seconds, with the likely causes (silent.ts). */
  onSilent?: (message: string) => void;
  signal?: AbortSignal;
}

export interface RunMachineResult {
  machine: ResolvedMachine;
  argv: string[];
  /** Undefined with dryRun. */
  exit?: QemuExit;
  /** QEMU's process id (gone once the result is returned). */
  pid?: number;
  /** What the guest reported (decoded exit device), or QEMU's status without one. */
  guestExitCode?: number;
  /** Why there is no guest code (QEMU error, killed, timeout). */
  problem?: string;
  timedOut: boolean;
  durationMs: number;
  serialLog: string;
  stderr: string;
}

/**
 * Boots a machine and waits for it to end.
 * @example
 * const r = await runMachine({ kernel: 'build/kernel.elf', exit: { kind: 'isa-debug-exit' } }, { terminal: process.stdout });
 * process.exitCode = r.guestExitCode ?? 1;
 */
export async function runMachine(spec: MachineSpec, options: RunMachineOptions = {}): Promise<RunMachineResult> {
  const started = performance.now();
  const machine = await resolveMachine(spec, { testMode: false, dryRun: options.dryRun ?? false });
  const argv = buildQemuCommand(machine);
  options.onReady?.(machine, argv);
  if (options.dryRun) return { machine, argv, timedOut: false, durationMs: performance.now() - started, serialLog: machine.serialLog, stderr: '' };
  let silentTimer: NodeJS.Timeout | undefined;
  const qemu = startQemu(machine, {
    ...(options.terminal ? { terminal: options.terminal } : {}), interactive: options.interactive ?? false,
    onSerial: (_lines, chunk) => {
      if (chunk.length > 0 && silentTimer) clearTimeout(silentTimer);
    },
  });
  if (options.onSilent && !machine.gdb) {
    const seconds = silentAfterSeconds(machine);
    silentTimer = setTimeout(() => options.onSilent?.(silentBootMessage(machine, seconds)), seconds * 1000);
  }
  let timedOut = false;
  const timer = options.timeout && options.timeout > 0 ? setTimeout(() => {
    timedOut = true;
    qemu.kill();
  }, options.timeout * 1000) : undefined;
  const onAbort = () => qemu.kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const exit = await qemu.exited;
  if (timer) clearTimeout(timer);
  if (silentTimer) clearTimeout(silentTimer);
  options.signal?.removeEventListener('abort', onAbort);
  const stderr = qemu.stderr();
  let guestExitCode: number | undefined;
  let problem: string | undefined;
  if (exit.spawnError) problem = `could not start ${machine.qemu}: ${exit.spawnError.message}`;
  else if (timedOut) problem = `timeout after ${options.timeout} s (QEMU killed)`;
  else {
    const decoded = decodeGuestExit(machine.exit, exit.code, stderr);
    if (decoded.code !== undefined) guestExitCode = decoded.code;
    else if (exit.code === 0) guestExitCode = 0;
    else problem = decoded.problem ?? qemuErrorLines(stderr)[0];
  }
  return { machine, argv, exit, ...(qemu.pid !== undefined ? { pid: qemu.pid } : {}), ...(guestExitCode !== undefined ? { guestExitCode } : {}), ...(problem ? { problem } : {}), timedOut, durationMs: performance.now() - started, serialLog: machine.serialLog, stderr };
}
