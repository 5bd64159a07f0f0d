/**
 * `bootConsole`: boot a machine once and talk to it from a test suite (vitest, node:test, mocha):
 * `expect`, `send`, `key`, `capture`, `run` (type a command, wait for the prompt, get its output,
 * as U-Boot's test/py `run_command`), `monitor` (a QEMU monitor command), `exit`. The machine runs
 * in test mode (QMP, `-no-reboot -no-shutdown`, started paused and resumed once every console is
 * connected, so no output is missed). A fail pattern on serial0, a guest reset or QEMU exiting
 * ends every pending and later wait with that reason.
 */
import { join } from 'node:path';
import { connectChannels } from './channels.js';
import { buildQemuCommand } from './command.js';
import {
  ConsoleBuffer,
  ConsoleError,
  ConsoleSession,
  type ConsoleMatch,
  type ExpectOptions,
  type KeyName,
  type SendOptions,
} from './console.js';
import { decodeGuestExit } from './harness.js';
import { startQemu, type QemuExit } from './launch.js';
import { QmpClient } from './qmp.js';
import { resolveMachine, runFolderName } from './resolve.js';
import { DEFAULT_FAIL_PATTERNS, describePattern, patternMatches, type SerialPattern } from './serial.js';
import type { ConsoleName, MachineSpec, ResolvedMachine } from './types.js';

export interface BootConsoleOptions extends MachineSpec {
  /** Default seconds an `expect` waits. Default 30. */
  timeout?: number;
  /** Serial0 patterns that end every wait at once (default DEFAULT_FAIL_PATTERNS; `[]` disables). */
  fail?: SerialPattern[];
  /** The shell's prompt, for `run()`. Default `'$ '`. */
  prompt?: SerialPattern;
  /** Raw serial0 copy (e.g. process.stderr while debugging a test). */
  terminal?: NodeJS.WritableStream;
}

/** How the machine ended. */
export interface ConsoleExitResult {
  exit: QemuExit;
  /** What the guest reported through its exit device, when it did (before `exit()` stopped it). */
  guestExitCode?: number;
  /** True when `exit()` stopped QEMU (the guest had not ended by itself). */
  stopped: boolean;
  serialLog: string;
}

/** A running machine and its consoles. */
export interface GuestConsole {
  machine: ResolvedMachine;
  argv: string[];
  /** QEMU's process id (its process group is gone once `exit()` resolved). */
  pid: number | undefined;
  /** Waits for text or a RegExp (from the end of the previous match on that console). */
  expect(pattern: SerialPattern, options?: ExpectOptions): Promise<ConsoleMatch>;
  /** Sends text or bytes (`charDelay` ms between characters). */
  send(data: string | Uint8Array, options?: SendOptions): Promise<void>;
  /** Sends a key: `ctrl-c`, `enter`, `up`, ... */
  key(key: KeyName, options?: { to?: ConsoleName }): Promise<void>;
  /** Waits for a RegExp and returns one group (default 1). */
  capture(pattern: RegExp, options?: ExpectOptions & { group?: number | string }): Promise<string>;
  /** Types `command` + newline, waits for the prompt, returns what the command printed (without the echo). */
  run(command: string, options?: { prompt?: SerialPattern; timeout?: number; on?: ConsoleName }): Promise<string>;
  /** Runs a QEMU monitor command (`info status`, `device_add ...`) and returns its output. */
  monitor(command: string): Promise<string>;
  /** The console's last lines. */
  lastLines(n?: number, on?: ConsoleName): string[];
  /**
   * Ends the machine: waits up to `wait` seconds for the guest to end by itself (default 0),
   * then stops QEMU. Safe to call twice.
   */
  exit(options?: { wait?: number }): Promise<ConsoleExitResult>;
  /** Stops the machine (`await using console = ...` calls it). */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Boots a machine and returns its consoles once it runs.
 * @example
 * import { bootConsole } from 'kiln/qemu';
 * const c = await bootConsole({ kernel: 'build/x86_64-debug/kernel.elf', exit: { kind: 'serial' } });
 * await c.expect('$ ');
 * expect(await c.run('echo hi')).toBe('hi');
 * const pid = await (c.send('pid\n'), c.capture(/pid=(\d+)\n/));
 * await c.run(`kill ${pid}`);
 * expect(await c.monitor('info status')).toContain('running');
 * await c.exit();
 */
export async function bootConsole(options: BootConsoleOptions): Promise<GuestConsole> {
  const { timeout = 30, fail = DEFAULT_FAIL_PATTERNS, prompt = '$ ', terminal, ...spec } = options;
  const consoles = [...new Set(spec.consoles ?? [])];
  const logDir =
    spec.logDir ??
    join('build', 'logs', 'console', runFolderName(`${spec.name ?? 'console'}-${spec.arch ?? 'x86_64'}`));
  const machine = await resolveMachine({ ...spec, logDir, consoles }, { testMode: true });
  const argv = buildQemuCommand(machine);
  const serial0 = new ConsoleBuffer();
  let session: ConsoleSession | undefined;
  let pendingClose: string | undefined;
  const close = (reason: string) => {
    pendingClose ??= reason;
    session?.close(reason);
  };
  const qemu = startQemu(machine, {
    input: true,
    ...(terminal ? { terminal } : {}),
    onSerial: (lines, chunk) => {
      if (chunk.length) serial0.push(chunk);
      for (const line of lines) {
        const hit = fail.find((p) => patternMatches(p, line));
        if (hit !== undefined) close(`fail pattern ${describePattern(hit)} matched: ${JSON.stringify(line.trim())}`);
      }
    },
  });
  let exit: QemuExit | undefined;
  void qemu.exited.then((e) => {
    exit = e;
    close(`QEMU exited (${e.signal ? `killed by ${e.signal}` : `exit status ${e.code}`})`);
  });
  let qmp: QmpClient;
  let channels: Awaited<ReturnType<typeof connectChannels>>;
  try {
    const stop = new AbortController();
    void qemu.exited.then(() => stop.abort());
    qmp = await QmpClient.connect(machine.qmpSocket!, { timeoutMs: 30_000, signal: stop.signal });
    qmp.onEvent = (e) => {
      if (e.event === 'SHUTDOWN' && e.data?.reason === 'guest-reset') close('the guest reset (triple fault)');
      if (e.event === 'GUEST_PANICKED') close('the guest panicked');
    };
    channels = await connectChannels(machine, qemu, serial0, qmp, consoles);
    await qmp.execute('cont');
  } catch (error) {
    qemu.kill();
    await qemu.exited;
    const stderr = qemu.stderr().trim().split('\n').slice(-3).join(' | ');
    throw new ConsoleError(
      'closed',
      `QEMU did not start: ${(error as Error).message}${stderr ? ` (${stderr})` : ''}`,
      'serial0',
      serial0.lastLines(),
    );
  }
  const s = new ConsoleSession(channels.channels, { timeout });
  session = s;
  if (pendingClose) s.close(pendingClose);

  let ended: Promise<ConsoleExitResult> | undefined;
  const end = async (wait: number): Promise<ConsoleExitResult> => {
    let stopped = false;
    if (!qemu.done && wait > 0) await Promise.race([qemu.exited, new Promise((r) => setTimeout(r, wait * 1000))]);
    if (!qemu.done) {
      stopped = true;
      s.close('exit() stopped QEMU');
      await Promise.race([qmp.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
      await Promise.race([qemu.exited, new Promise((r) => setTimeout(r, 1500))]);
      qemu.kill();
    }
    const e = await qemu.exited;
    qmp.close();
    channels.close();
    const decoded = stopped ? {} : decodeGuestExit(machine.exit, e.code, qemu.stderr());
    return {
      exit: e,
      ...(decoded.code !== undefined ? { guestExitCode: decoded.code } : {}),
      stopped,
      serialLog: machine.serialLog,
    };
  };

  const api: GuestConsole = {
    machine,
    argv,
    pid: qemu.pid,
    expect: (pattern, o) => s.expect(pattern, o),
    send: (data, o) => s.send(data, o),
    key: (k, o) => s.key(k, o),
    capture: async (pattern, o = {}) => {
      const m = await s.expect(pattern, o);
      const group = o.group ?? 1;
      const value = typeof group === 'number' ? m.groups[group - 1] : m.named[group];
      if (value === undefined)
        throw new ConsoleError(
          'closed',
          `capture ${String(pattern)}: group ${group} did not match in ${JSON.stringify(m.text)}`,
          o.on ?? 'serial0',
          s.lastLines(o.on ?? 'serial0'),
        );
      return value;
    },
    run: async (command, o = {}) => {
      const on = o.on ?? 'serial0';
      await s.send(`${command}\n`, { to: on });
      const m = await s.expect(o.prompt ?? prompt, { on, ...(o.timeout !== undefined ? { timeout: o.timeout } : {}) });
      const lines = m.before.split('\n');
      // The shell's echo of the command comes first (as typed, after any earlier prompt text).
      if (lines.length && lines[0]!.trimEnd().endsWith(command)) lines.shift();
      return lines.join('\n').replace(/\n+$/, '');
    },
    monitor: async (command) => {
      if (exit) throw new ConsoleError('closed', `monitor ${JSON.stringify(command)}: QEMU exited`, 'monitor', []);
      return qmp.humanMonitorCommand(command);
    },
    lastLines: (n = 10, on = 'serial0') => s.lastLines(on, n),
    exit: (o = {}) => (ended ??= end(o.wait ?? 0)),
    [Symbol.asyncDispose]: async () => {
      await api.exit();
    },
  };
  return api;
}
