/**
 * `kiln run`: boot a machine for a human. Serial always to serial.log, and to the terminal
 * unless turned off; exit code = what the guest reported through its exit device.
 */
import { checkTimeoutSeconds } from '../util/timeout.js';
import { buildQemuCommand } from './command.js';
import { decodeGuestExit } from './harness.js';
import { qemuErrorLines, startQemu, type QemuExit } from './launch.js';
import { resolveMachine } from './resolve.js';
import { silentAfterSeconds, silentBootMessage } from './silent.js';
import type { MachineSpec, ResolvedMachine } from './types.js';

/** Options of `runMachine` (`kiln run`): terminal, input, gdb, dry run. */
export interface RunMachineOptions {
  /** Raw serial copy (process.stdout); omit for `--no-serial`. */
  terminal?: NodeJS.WritableStream;
  /** Let QEMU read the terminal itself (on a TTY; QEMU's Ctrl-C ends it). Prefer `input`. */
  interactive?: boolean;
  /**
   * Bytes for the guest's first serial port: piped stdin (`printf 'ls\n' | kiln run`), or a raw
   * terminal. Read until QEMU exits, then paused.
   */
  input?: NodeJS.ReadableStream;
  /** A byte in `input` that stops QEMU instead of reaching the guest (kiln run: Ctrl-] = 0x1d). */
  escapeByte?: number;
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

/** What `runMachine` did: the machine, the QEMU command line and how QEMU exited. */
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
  /** QEMU was stopped by `escapeByte`. */
  escaped?: boolean;
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
  if (options.timeout !== undefined) checkTimeoutSeconds(options.timeout, '"timeout"');
  const machine = await resolveMachine(spec, { testMode: false, dryRun: options.dryRun ?? false });
  const argv = buildQemuCommand(machine);
  options.onReady?.(machine, argv);
  if (options.dryRun)
    return {
      machine,
      argv,
      timedOut: false,
      durationMs: performance.now() - started,
      serialLog: machine.serialLog,
      stderr: '',
    };
  let silentTimer: NodeJS.Timeout | undefined;
  const qemu = startQemu(machine, {
    ...(options.terminal ? { terminal: options.terminal } : {}),
    interactive: !options.input && (options.interactive ?? false),
    input: options.input !== undefined,
    onSerial: (_lines, chunk) => {
      if (chunk.length > 0 && silentTimer) clearTimeout(silentTimer);
    },
  });
  if (options.onSilent && !machine.gdb) {
    const seconds = silentAfterSeconds(machine);
    silentTimer = setTimeout(() => options.onSilent?.(silentBootMessage(machine, seconds)), seconds * 1000);
  }
  let timedOut = false;
  const timer =
    options.timeout && options.timeout > 0
      ? setTimeout(() => {
          timedOut = true;
          qemu.kill();
        }, options.timeout * 1000)
      : undefined;
  const onAbort = () => qemu.kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let escaped = false;
  const stopInput = options.input
    ? forwardInput(options.input, qemu.child.stdin!, options.escapeByte, () => {
        escaped = true;
        qemu.kill();
      })
    : undefined;
  const exit = await qemu.exited;
  stopInput?.();
  if (timer) clearTimeout(timer);
  if (silentTimer) clearTimeout(silentTimer);
  options.signal?.removeEventListener('abort', onAbort);
  const stderr = qemu.stderr();
  let guestExitCode: number | undefined;
  let problem: string | undefined;
  if (exit.spawnError) problem = `could not start ${machine.qemu}: ${exit.spawnError.message}`;
  else if (timedOut) problem = `timeout after ${options.timeout} s (QEMU killed)`;
  else if (escaped) problem = 'stopped with the escape key (Ctrl-])';
  else {
    const decoded = decodeGuestExit(machine.exit, exit.code, stderr);
    if (decoded.code !== undefined) guestExitCode = decoded.code;
    else if (exit.code === 0) guestExitCode = 0;
    else problem = decoded.problem ?? qemuErrorLines(stderr)[0];
  }
  return {
    machine,
    argv,
    exit,
    ...(qemu.pid !== undefined ? { pid: qemu.pid } : {}),
    ...(guestExitCode !== undefined ? { guestExitCode } : {}),
    ...(problem ? { problem } : {}),
    timedOut,
    ...(escaped ? { escaped } : {}),
    durationMs: performance.now() - started,
    serialLog: machine.serialLog,
    stderr,
  };
}

/**
 * Copies `input` to QEMU's stdin with back-pressure; `escapeByte` (when given) stops instead.
 * Returns the function that stops reading (the input is paused, so a process can exit).
 */
function forwardInput(
  input: NodeJS.ReadableStream,
  stdin: NodeJS.WritableStream,
  escapeByte: number | undefined,
  onEscape: () => void,
): () => void {
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const at = escapeByte === undefined ? -1 : bytes.indexOf(escapeByte);
    if (at >= 0) {
      if (at > 0) stdin.write(bytes.subarray(0, at));
      onEscape();
      return;
    }
    if (!stdin.write(bytes)) {
      input.pause();
      stdin.once('drain', () => input.resume());
    }
  };
  input.on('data', onData);
  input.resume();
  return () => {
    input.off('data', onData);
    input.pause();
  };
}
