/**
 * Starting QEMU: argv only (never a shell), its own process group (so the whole tree dies on
 * timeout, Ctrl-C or exit), serial (QEMU's stdout) logged raw to serial.log, cleaned into lines,
 * and optionally copied to the terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { diesWithKiln } from '../util/parent-death.js';
import { killTree } from '../util/process.js';
import { withoutSecrets } from '../util/step-env.js';
import { buildQemuCommand } from './command.js';
import { SerialLines } from './serial.js';
import type { ResolvedMachine } from './types.js';

/** How the QEMU process ended. */
export interface QemuExit {
  /** Exit code, or null when a signal ended QEMU. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process could not be started (ENOENT: QEMU not installed). */
  spawnError?: NodeJS.ErrnoException;
}

/** Options of `startQemu`: where serial goes, callbacks on lines, the log file. */
export interface StartOptions {
  /** Copy of the raw serial output (e.g. process.stdout); omitted = log file only. */
  terminal?: NodeJS.WritableStream;
  /** Called with each chunk and the complete lines it finished (ANSI stripped). */
  onSerial?: (lines: string[], chunk: Uint8Array) => void;
  /** Give QEMU this terminal's stdin (interactive `kiln run` on a TTY). */
  interactive?: boolean;
  /** Keep a pipe to QEMU's stdin (serial0's input side): `child.stdin`. */
  input?: boolean;
}

/** A running QEMU. */
export interface QemuProcess {
  argv: string[];
  pid: number | undefined;
  child: ChildProcess;
  serial: SerialLines;
  /** QEMU's own stderr so far. */
  stderr(): string;
  /** Resolves once QEMU exited and its output was flushed to serial.log. */
  exited: Promise<QemuExit>;
  /** True once QEMU exited. */
  readonly done: boolean;
  /** SIGKILLs QEMU's process group (a no-op once it exited). */
  kill(): void;
}

const live = new Set<QemuProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const q of live) q.kill();
  });
}

/**
 * Errors QEMU printed on stderr (`qemu-system-x86_64: ...`, warnings excluded).
 * @example qemuErrorLines('qemu-system-x86_64: -device x: Device not found\n') // ['qemu-system-x86_64: -device x: Device not found']
 */
export function qemuErrorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(
      (l) =>
        /^qemu-system-[\w-]+:/.test(l) && !/^qemu-system-[\w-]+: warning:/.test(l) && !/terminating on signal/.test(l),
    );
}

/**
 * Starts QEMU for a resolved machine. The caller must await `exited` (and `kill()` on timeout).
 * @example
 * const q = startQemu(machine, { terminal: process.stdout });
 * const exit = await q.exited;
 */
export function startQemu(machine: ResolvedMachine, options: StartOptions = {}): QemuProcess {
  hookExit();
  const argv = buildQemuCommand(machine);
  mkdirSync(dirname(machine.serialLog), { recursive: true });
  if (machine.debugLog) mkdirSync(dirname(machine.debugLog), { recursive: true });
  if (machine.qmpSocket) rmSync(machine.qmpSocket, { force: true });
  // --no-serial: no serial log at all (not even an old one left from an earlier run).
  if (machine.writeSerialLog === false) rmSync(machine.serialLog, { force: true });
  const log: WriteStream | undefined =
    machine.writeSerialLog === false ? undefined : createWriteStream(machine.serialLog);
  const serial = new SerialLines(30);
  const interactive = options.interactive === true && process.stdin.isTTY === true;
  // An interactive QEMU shares our process group so it may read the terminal (a background group gets SIGTTIN).
  // QEMU dies with kiln even on SIGKILL (a parent-death signal, util/parent-death.ts), and gets no secret.
  const [program, ...args] = diesWithKiln(argv);
  const child = spawn(program!, args, {
    stdio: [interactive ? 'inherit' : options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: !interactive,
    env: withoutSecrets(process.env),
  });
  // QEMU gone while kiln still writes: EPIPE is reported by the write, not thrown at the process.
  child.stdin?.on('error', () => undefined);
  let stderr = '';
  let done = false;
  child.stdout!.on('data', (chunk: Buffer) => {
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    log?.write(chunk);
    options.terminal?.write(chunk);
    const lines = serial.push(bytes);
    options.onSerial?.(lines, bytes);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 1 << 20) stderr += chunk.toString('utf8');
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  child.on('error', (error: NodeJS.ErrnoException) => {
    spawnError = error;
  });
  const handle: QemuProcess = {
    argv,
    pid: child.pid,
    child,
    serial,
    stderr: () => stderr,
    get done() {
      return done;
    },
    kill: () => {
      if (done) return;
      if (child.pid !== undefined && !interactive) killTree(child, 'SIGKILL');
      else child.kill('SIGKILL');
    },
    exited: new Promise<QemuExit>((resolve) => {
      child.on('close', (code, signal) => {
        done = true;
        live.delete(handle);
        // A QEMU child (none today) must not outlive it: kill the group once more.
        if (!interactive && child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            /* group gone */
          }
        }
        const rest = serial.end();
        if (rest.length) options.onSerial?.(rest, new Uint8Array(0));
        const result = { code: spawnError ? null : code, signal, ...(spawnError ? { spawnError } : {}) };
        if (log) log.end(() => resolve(result));
        else resolve(result);
      });
    }),
  };
  live.add(handle);
  return handle;
}
