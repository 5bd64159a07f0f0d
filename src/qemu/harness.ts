/**
 * The test harness: boot, watch serial and QMP, judge. A verdict never rests on one signal:
 * the guest's exit code (decoded from isa-debug-exit's `(v << 1) | 1` or semihosting), every
 * expected serial pattern in order, no fail pattern, no guest reset (QMP SHUTDOWN reason
 * `guest-reset` under `-no-reboot -no-shutdown`: a triple fault), QEMU not dying on its own, and
 * (with KTAP) every kernel-side case passing.
 */
import { join, resolve } from 'node:path';
import { KilnError } from '../errors.js';
import { formatCommand } from '../util/process.js';
import { connectChannels } from './channels.js';
import { buildQemuCommand } from './command.js';
import { ConsoleBuffer, ConsoleSession } from './console.js';
import { summarizeKtap, flattenKtap, parseKtap, type KtapFlatCase, type KtapSummary } from './ktap.js';
import { qemuErrorLines, startQemu, type QemuExit, type QemuProcess } from './launch.js';
import { QmpClient } from './qmp.js';
import { resolveMachine, runFolderName } from './resolve.js';
import { silentBootMessage } from './silent.js';
import { consolesOf, runScript, type ScriptResult, type ScriptStep } from './script.js';
import {
  DEFAULT_FAIL_PATTERNS,
  type ExpectPattern,
  type Measurement,
  PatternTracker,
  describeLimits,
  describePattern,
  type SerialPattern,
} from './serial.js';
import type { MachineSpec, QemuArch, ResolvedExit, ResolvedMachine } from './types.js';
import { checkTimeoutSeconds } from '../util/timeout.js';

/** A test: a machine plus how it ends. */
export interface QemuTestSpec extends MachineSpec {
  name: string;
  /** Serial patterns that must appear in this order (strings match as substrings; measures also read a number). */
  expect?: ExpectPattern[];
  /** Patterns that fail the test at once. Default DEFAULT_FAIL_PATTERNS; `[]` disables. */
  fail?: SerialPattern[];
  /** Parse KTAP from serial into test cases; any failing case fails the test. */
  ktap?: boolean;
  /** Overall deadline in seconds. Default 60, 120 with UEFI firmware. */
  timeout?: number;
  /** Fail when the serial port is silent this many seconds (default: off). */
  idleTimeout?: number;
  /**
   * Steps run in order against the guest's consoles (expect, capture, send, key), beside `expect`.
   * The test passes only when every step passed; a step that fails ends the test at once.
   */
  script?: ScriptStep[];
  /** Default seconds a script step waits. Default: `timeout`. */
  stepTimeout?: number;
}

/** Why a test failed, as a stable name (JUnit and `--json` carry it). */
export type FailureKind =
  | 'script'
  | 'timeout'
  | 'idle-timeout'
  | 'exit-code'
  | 'fail-pattern'
  | 'missing-expectation'
  | 'qemu-crashed'
  | 'triple-fault'
  | 'guest-panic'
  | 'ktap'
  | 'threshold';

/** One JUnit/JSON test case: the boot itself, or a KTAP case. */
export interface TestCaseResult {
  name: string;
  /** `<test>.<arch>` for the boot, `….ktap` for KTAP cases, `….script` for script steps. */
  classname: string;
  status: 'passed' | 'failed' | 'skipped';
  message?: string;
  details?: string;
  /** Seconds (script steps). */
  time?: number;
}

/** The verdict of one test on one arch: status, why, the serial log and timing. */
export interface QemuTestResult {
  name: string;
  arch: QemuArch;
  status: 'passed' | 'failed';
  /** One line saying why it failed. */
  reason?: string;
  failure?: FailureKind;
  durationMs: number;
  argv: string[];
  /** QEMU's process id (its process group is gone when the result is returned). */
  pid?: number;
  accelNote: string;
  kernelNote?: string;
  firmwareNote: string;
  qemuExit?: QemuExit;
  /** The code the guest reported (decoded), when it did. */
  guestExitCode?: number;
  expectedExitCode?: number;
  /** QMP SHUTDOWN reason (`guest-reset`, `guest-shutdown`, ...). */
  shutdownReason?: string;
  /** Signals the verdict rests on, for humans. */
  evidence: string[];
  expectations: { pattern: string; matched: boolean }[];
  /** Numbers read from serial by measures (`measure(/ipc: (\d+) cycles/, { max: 500 })`), with their limits. */
  measurements?: Measurement[];
  failMatch?: { pattern: string; line: string };
  /** `info registers` taken before QEMU was stopped (triple fault, fail pattern, timeout). */
  registers?: string;
  serialLog: string;
  /** Last 30 serial lines (ANSI stripped). */
  serialTail: string[];
  stderrTail: string[];
  ktap?: KtapSummary & { cases: KtapFlatCase[] };
  /** The script's steps (each with its time, outcome, match or failure message). */
  script?: ScriptResult;
  cases: TestCaseResult[];
}

/** Options of `runQemuTest`: where serial goes, callbacks, the log folder. */
export interface TestRunOptions {
  /** Raw serial copy (e.g. process.stdout). */
  terminal?: NodeJS.WritableStream;
  /** Called once the command line is known, before QEMU starts. */
  onStart?: (machine: ResolvedMachine, argv: string[]) => void;
  signal?: AbortSignal;
}

function defaultLogDir(spec: QemuTestSpec): string {
  return spec.logDir ?? join('build', 'logs', 'tests', runFolderName(`${spec.name}-${spec.arch ?? 'x86_64'}`));
}

/**
 * Resolves a test's machine (test mode: QMP, -no-reboot -no-shutdown, exit device, snapshot disks).
 * @example buildQemuCommand(await resolveTestMachine(spec, { dryRun: true }))
 */
export async function resolveTestMachine(
  spec: QemuTestSpec,
  options: { dryRun?: boolean } = {},
): Promise<ResolvedMachine> {
  const consoles = [...new Set([...(spec.consoles ?? []), ...consolesOf(spec.script ?? [])])];
  return resolveMachine(
    { ...spec, logDir: defaultLogDir(spec), ...(consoles.length ? { consoles } : {}) },
    { testMode: true, dryRun: options.dryRun ?? false },
  );
}

interface Signals {
  trigger:
    | 'script-failed'
    | 'exited'
    | 'timeout'
    | 'idle'
    | 'fail-pattern'
    | 'guest-reset'
    | 'guest-shutdown'
    | 'guest-panic'
    | 'serial-done'
    | 'aborted'
    | 'qmp-failed';
  qmpError?: string;
  exit: QemuExit | undefined;
  stderr: string;
  qmpConnected: boolean;
  shutdownReason?: string;
  /** At least one serial byte arrived. */
  printed: boolean;
}

/**
 * Decodes the guest's exit code from QEMU's exit status, or says why it cannot.
 * @example decodeGuestExit({ kind: 'isa-debug-exit', iobase: 0xf4, iosize: 4, successCode: 0 }, 7, '') // { code: 3 }
 */
export function decodeGuestExit(
  exit: ResolvedExit | undefined,
  status: number | null,
  stderr: string,
): { code?: number; problem?: string; crashed?: boolean } {
  if (status === null) return { problem: 'QEMU was killed by a signal', crashed: true };
  const errors = qemuErrorLines(stderr);
  if (status === 1 && errors.length) return { problem: `QEMU crashed: exit code 1: ${errors[0]}`, crashed: true };
  if (!exit) return { code: status };
  switch (exit.kind) {
    case 'isa-debug-exit':
      if (status % 2 === 1) return { code: (status - 1) >> 1 };
      if (status === 0)
        return {
          problem:
            'QEMU exited with 0: the guest never wrote isa-debug-exit (a triple fault or shutdown under -no-reboot also exits 0)',
        };
      return { problem: `QEMU exit status ${status} is not (v << 1) | 1`, crashed: true };
    case 'semihosting':
      return { code: status };
    case 'psci':
    case 'serial':
      return status === 0 ? { code: 0 } : { problem: `QEMU exited with ${status}`, crashed: errors.length > 0 };
  }
}

function fmtExit(e: QemuExit | undefined): string {
  if (!e) return 'still running';
  if (e.spawnError) return `could not start: ${e.spawnError.message}`;
  return e.signal ? `killed by ${e.signal}` : `exit status ${e.code}`;
}

/**
 * Boots one test and judges it.
 * @example
 * const r = await runQemuTest({ name: 'hello', kernel: 'kernel.elf', expect: ['KILN-END'], timeout: 60 });
 * if (r.status === 'failed') console.log(r.reason, r.serialTail.join('\n'));
 */
export async function runQemuTest(spec: QemuTestSpec, options: TestRunOptions = {}): Promise<QemuTestResult> {
  const started = performance.now();
  checkTestTimeouts(spec);
  const machine = await resolveTestMachine(spec);
  const argv = buildQemuCommand(machine);
  options.onStart?.(machine, argv);
  const expect = spec.expect ?? [];
  const tracker = new PatternTracker(expect, spec.fail ?? DEFAULT_FAIL_PATTERNS);
  const usesUefi = machine.firmware.kind !== 'default' || machine.firmware.description.startsWith('UEFI');
  const timeoutSec = spec.timeout ?? (usesUefi ? 120 : 60);
  const idleSec = spec.idleTimeout;
  const exitSpec = machine.exit;
  const steps = spec.script ?? [];
  const serial0 = new ConsoleBuffer();
  let script: ScriptResult | undefined;
  let session: ConsoleSession | undefined;
  let scriptRun: Promise<void> | undefined;
  let closeChannels: (() => void) | undefined;
  const scriptDone = () => steps.length === 0 || script?.ok === true;
  const allMatched = (): boolean =>
    (expect.length === 0 || tracker.done || tracker.wouldComplete(qemu.serial.pending())) && scriptDone(); // a prompt needs no newline

  let trigger: Signals['trigger'] | undefined;
  let settle!: () => void;
  const triggered = new Promise<void>((r) => (settle = r));
  const fire = (t: Signals['trigger']): void => {
    if (trigger) return;
    trigger = t;
    settle();
  };

  let idleTimer: NodeJS.Timeout | undefined;
  let printedAnything = false;
  const armIdle = (): void => {
    if (idleSec === undefined || idleSec <= 0) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => fire('idle'), idleSec * 1000);
  };
  const qemu: QemuProcess = startQemu(machine, {
    ...(options.terminal ? { terminal: options.terminal } : {}),
    input: steps.length > 0,
    onSerial: (lines, chunk) => {
      if (chunk.length > 0) printedAnything = true;
      armIdle();
      if (chunk.length && steps.length) serial0.push(chunk);
      for (const line of lines) tracker.feed(line);
      if (tracker.failed) fire('fail-pattern');
      else if (exitSpec?.kind === 'serial' && expect.length > 0 && allMatched()) fire('serial-done');
    },
  });
  armIdle();
  const deadline = setTimeout(() => fire('timeout'), timeoutSec * 1000);
  const onAbort = () => fire('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let exit: QemuExit | undefined;
  void qemu.exited.then((e) => {
    exit = e;
    fire('exited');
  });

  let shutdownReason: string | undefined;
  let qmpError: string | undefined;
  let qmp: QmpClient | undefined;
  const stopConnecting = new AbortController();
  void qemu.exited.then(() => stopConnecting.abort());
  const qmpReady = (async () => {
    if (!machine.qmpSocket) return;
    try {
      const client = await QmpClient.connect(machine.qmpSocket, {
        timeoutMs: Math.min(timeoutSec * 1000, 30_000),
        signal: stopConnecting.signal,
      });
      if (trigger && qemu.done) {
        client.close();
        return;
      }
      qmp = client;
      const onShutdown = (reason: string) => {
        if (trigger) return; // our own quit (host-qmp-quit) after the verdict's trigger
        shutdownReason = reason;
        if (reason === 'guest-reset') fire('guest-reset');
        else if (reason === 'guest-panic') fire('guest-panic');
        else if (reason === 'guest-shutdown') fire('guest-shutdown');
      };
      client.onEvent = (e) => {
        if (e.event === 'SHUTDOWN') onShutdown(String(e.data?.reason ?? 'unknown'));
        else if (e.event === 'GUEST_PANICKED') fire('guest-panic');
      };
      // Consoles are connected while the VM is paused, so the script misses no output.
      if (steps.length) {
        const connected = await connectChannels(machine, qemu, serial0, client, consolesOf(steps));
        closeChannels = connected.close;
        session = new ConsoleSession(connected.channels, { timeout: spec.stepTimeout ?? timeoutSec });
      }
      // QEMU started paused (-S): resume it now that every event will be seen (a gdb user resumes it instead).
      // With a script, sends before its first expect are typed ahead: they reach the UART first.
      const resume = async () => {
        if (!machine.gdb) await client.execute('cont');
      };
      if (!session) await resume();
      else {
        scriptRun = runScript(session, steps, { timeout: spec.stepTimeout ?? timeoutSec, beforeWait: resume }).then(
          (r) => {
            script = r;
            if (!r.ok) fire('script-failed');
            else if (exitSpec?.kind === 'serial' && allMatched()) fire('serial-done');
          },
        );
      }
    } catch (error) {
      // QEMU exited before QMP answered (or right after `cont`): the exit path judges. Otherwise QEMU is stuck paused.
      await Promise.race([qemu.exited, new Promise((r) => setTimeout(r, 1000))]);
      if (!qemu.done && !trigger) {
        qmpError = (error as Error).message;
        fire('qmp-failed');
      }
    }
  })();

  await triggered;
  clearTimeout(deadline);
  if (idleTimer) clearTimeout(idleTimer);
  options.signal?.removeEventListener('abort', onAbort);
  if (session && scriptRun && !script) {
    // A step still waiting ends now, saying why (its own timeout did not pass).
    session.close(stopReason(trigger!, { timeoutSec, idleSec, exit }));
    await scriptRun;
  }
  closeChannels?.();

  // Stop QEMU, dumping registers first when the guest is stuck or misbehaved.
  const registers = qemu.done ? undefined : await stopQemu(qemu, qmpReady, () => qmp, trigger!);
  exit = await qemu.exited;
  qmp?.close();
  await qmpReady;

  const stderr = qemu.stderr();
  const ktap = spec.ktap ? ktapOf(qemu.serial.lines) : undefined;
  const result = judge({
    spec,
    machine,
    argv,
    signals: {
      trigger: trigger!,
      exit,
      stderr,
      qmpConnected: qmp !== undefined,
      printed: printedAnything,
      ...(shutdownReason ? { shutdownReason } : {}),
      ...(qmpError ? { qmpError } : {}),
    },
    tracker,
    timeoutSec,
    idleSec,
    ktap,
    script,
  });
  return {
    ...result,
    durationMs: performance.now() - started,
    ...(registers ? { registers: registers.replace(/^\s*\n/, '').trimEnd() } : {}),
    ...(qemu.pid !== undefined ? { pid: qemu.pid } : {}),
    serialTail: qemu.serial.lastLines(),
    stderrTail: stderr.trim() ? stderr.trim().split('\n').slice(-10) : [],
  };
}

function checkTestTimeouts(spec: QemuTestSpec): void {
  for (const name of ['timeout', 'idleTimeout', 'stepTimeout'] as const) {
    if (spec[name] !== undefined) checkTimeoutSeconds(spec[name], `"${name}"`);
  }
}

/** Triggers after which the registers are worth reading: the guest is stuck or misbehaved. */
const REGISTER_TRIGGERS = new Set<Signals['trigger']>([
  'guest-reset',
  'fail-pattern',
  'timeout',
  'idle',
  'guest-panic',
  'qmp-failed',
]);

/**
 * Stops a QEMU that is still running: through QMP (`quit`, after `info registers` when the trigger
 * calls for them) when it answers in time, then by killing it. Returns the registers read.
 */
async function stopQemu(
  qemu: QemuProcess,
  qmpReady: Promise<void>,
  qmpOf: () => QmpClient | undefined,
  trigger: Signals['trigger'],
): Promise<string | undefined> {
  let registers: string | undefined;
  await Promise.race([qmpReady, new Promise((r) => setTimeout(r, 1000))]);
  const qmp = qmpOf();
  if (qmp && !qmp.isClosed) {
    if (REGISTER_TRIGGERS.has(trigger)) {
      try {
        registers = await Promise.race([
          qmp.humanMonitorCommand('info registers'),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000)),
        ]);
      } catch {
        /* QEMU went away */
      }
    }
    await Promise.race([qmp.quit(), new Promise((r) => setTimeout(r, 500))]);
    await Promise.race([qemu.exited, new Promise((r) => setTimeout(r, 1500))]);
  }
  qemu.kill();
  return registers;
}

/** The KTAP report in the serial output, summarized, with its cases flattened. */
function ktapOf(lines: readonly string[]): KtapSummary & { cases: KtapFlatCase[] } {
  const doc = parseKtap(lines.join('\n'));
  return { ...summarizeKtap(doc), cases: flattenKtap(doc) };
}

interface JudgeInput {
  spec: QemuTestSpec;
  machine: ResolvedMachine;
  argv: string[];
  signals: Signals;
  tracker: PatternTracker;
  timeoutSec: number;
  idleSec: number | undefined;
  ktap: (KtapSummary & { cases: KtapFlatCase[] }) | undefined;
  script: ScriptResult | undefined;
}

/** Why a script step still waiting was stopped, for its message: `… not seen before QEMU exited (exit status 1)`. */
function stopReason(
  trigger: Signals['trigger'],
  s: { timeoutSec: number; idleSec: number | undefined; exit: QemuExit | undefined },
): string {
  switch (trigger) {
    case 'timeout':
      return `the test's timeout (${s.timeoutSec} s)`;
    case 'idle':
      return `the idle timeout (${s.idleSec} s without serial output)`;
    case 'exited':
      return `QEMU exited (${fmtExit(s.exit)})`;
    case 'fail-pattern':
      return 'a fail pattern matched';
    case 'guest-reset':
      return 'the guest reset (triple fault)';
    case 'guest-panic':
      return 'the guest panicked';
    case 'guest-shutdown':
      return 'the guest powered off';
    case 'aborted':
      return 'the test was interrupted';
    default:
      return `the test stopped (${trigger})`;
  }
}

/**
 * When every expectation matched and the test still ran out of time, the guest never used the exit
 * it was expected to use: say which one, and that `serial` ends a test on its expectations alone.
 */
function waitingForExit(machine: ResolvedMachine, tracker: PatternTracker): string {
  if (
    tracker.expect.length === 0 ||
    tracker.next < tracker.expect.length ||
    !machine.exit ||
    machine.exit.kind === 'serial'
  )
    return '';
  const how =
    machine.exit.kind === 'isa-debug-exit'
      ? `a write to isa-debug-exit at port 0x${machine.exit.iobase.toString(16)}`
      : machine.exit.kind === 'semihosting'
        ? 'a semihosting SYS_EXIT'
        : 'a PSCI SYSTEM_OFF';
  return (
    `; every expectation matched, but the guest never exited: kiln waited for ${how} (exit kind ${machine.exit.kind}).` +
    " If the kernel only prints, set exit: { kind: 'serial' } to pass once every expectation matched"
  );
}

/** The verdict so far: the first failure wins; evidence collects what went right. */
class Verdict {
  reason: string | undefined;
  failure: FailureKind | undefined;
  guestExitCode: number | undefined;
  readonly evidence: string[] = [];

  fail(kind: FailureKind, text: string): void {
    if (this.reason) return;
    this.failure = kind;
    this.reason = text;
  }
}

function judge(input: JudgeInput): Omit<QemuTestResult, 'durationMs' | 'serialTail' | 'stderrTail'> {
  const { spec, machine, signals, tracker, ktap, script } = input;
  const expectations = tracker.expect.map((p, i) => ({ pattern: describePattern(p), matched: i < tracker.next }));
  const successCode = machine.exit?.successCode ?? 0;
  const verdict = new Verdict();
  const progress = tracker.expect.length ? ` (${tracker.next} of ${tracker.expect.length} expectations matched)` : '';
  if (signals.qmpConnected) verdict.evidence.push('QMP: VM started');
  judgeTrigger(verdict, input, progress);
  judgeExitCode(verdict, input, successCode);
  judgeRest(verdict, input, progress);
  const { reason, failure, guestExitCode, evidence } = verdict;
  const status = reason ? 'failed' : 'passed';
  return {
    name: spec.name,
    arch: machine.arch,
    status,
    ...(reason ? { reason } : {}),
    ...(failure ? { failure } : {}),
    argv: input.argv,
    accelNote: machine.accelNote,
    ...(machine.kernel ? { kernelNote: `kernel: ${machine.kernel.info.description}` } : {}),
    firmwareNote: `firmware: ${machine.firmware.description}`,
    ...(signals.exit ? { qemuExit: signals.exit } : {}),
    ...(guestExitCode !== undefined ? { guestExitCode } : {}),
    expectedExitCode: successCode,
    ...(signals.shutdownReason ? { shutdownReason: signals.shutdownReason } : {}),
    evidence,
    expectations,
    ...(tracker.measurements.length ? { measurements: [...tracker.measurements] } : {}),
    ...(tracker.failed
      ? { failMatch: { pattern: describePattern(tracker.failed.pattern), line: tracker.failed.line } }
      : {}),
    serialLog: resolve(machine.serialLog),
    ...(ktap ? { ktap } : {}),
    ...(script ? { script } : {}),
    cases: [
      bootCase(spec, machine, status, reason),
      ...ktapCases(spec, machine, ktap),
      ...scriptCases(spec, machine, script),
    ],
  };
}

/** What ended the run: a failure, or the guest's exit code. */
function judgeTrigger(verdict: Verdict, input: JudgeInput, progress: string): void {
  const { machine, signals, tracker } = input;
  // What was still awaited when a deadline passed: the failed script step, else the first unmatched expectation.
  const scriptFailed = input.script && !input.script.ok ? input.script.message : undefined;
  const awaited = scriptFailed
    ? `: ${scriptFailed}`
    : !tracker.done
      ? `: expect ${tracker.next + 1}/${tracker.expect.length} ${describePattern(tracker.expect[tracker.next]!)} not seen`
      : '';
  switch (signals.trigger) {
    case 'script-failed':
      verdict.fail('script', scriptFailed ?? 'the script failed');
      break;
    case 'fail-pattern':
      verdict.fail(
        'fail-pattern',
        `fail pattern ${describePattern(tracker.failed!.pattern)} matched: ${JSON.stringify(tracker.failed!.line.trim())}`,
      );
      break;
    case 'guest-reset':
      verdict.fail(
        'triple-fault',
        'triple fault: the guest reset (QMP SHUTDOWN reason guest-reset under -no-reboot); registers in the report',
      );
      break;
    case 'guest-panic':
      verdict.fail('guest-panic', 'guest panicked (QMP GUEST_PANICKED / SHUTDOWN reason guest-panic)');
      break;
    case 'timeout':
      verdict.fail(
        'timeout',
        `timeout after ${input.timeoutSec} s${awaited.replace(` before the test's timeout (${input.timeoutSec} s)`, '')}${progress}${waitingForExit(machine, tracker)}${signals.printed ? '' : `; ${silentBootMessage(machine, input.timeoutSec)}`}`,
      );
      break;
    case 'idle':
      verdict.fail(
        'idle-timeout',
        `no serial output for ${input.idleSec} s (idle timeout)${awaited}${progress}${signals.printed ? '' : `; ${silentBootMessage(machine, input.idleSec ?? 0)}`}`,
      );
      break;
    case 'aborted':
      verdict.fail('timeout', 'stopped (interrupted)');
      break;
    case 'qmp-failed':
      verdict.fail(
        'qemu-crashed',
        `QEMU crashed: its QMP socket did not answer (${signals.qmpError ?? 'unknown error'})`,
      );
      break;
    case 'guest-shutdown':
      if (machine.exit?.kind === 'psci' || machine.exit?.kind === 'serial') {
        verdict.guestExitCode = 0;
        verdict.evidence.push('QMP SHUTDOWN guest-shutdown (PSCI SYSTEM_OFF / power off) = exit code 0');
      } else
        verdict.fail(
          'exit-code',
          `the guest powered off instead of reporting through ${machine.exit?.kind ?? 'an exit device'}`,
        );
      break;
    case 'serial-done':
      verdict.guestExitCode = 0;
      verdict.evidence.push('exit kind serial: every expectation matched');
      break;
    case 'exited':
      judgeQemuExit(verdict, machine, signals);
      break;
  }
}

/** QEMU exited on its own: it could not start, crashed, or passed on the guest's exit code. */
function judgeQemuExit(verdict: Verdict, machine: ResolvedMachine, signals: Signals): void {
  const decoded = decodeGuestExit(
    machine.exit,
    signals.exit?.spawnError ? null : (signals.exit?.code ?? null),
    signals.stderr,
  );
  if (signals.exit?.spawnError)
    verdict.fail(
      'qemu-crashed',
      `QEMU could not start: ${signals.exit.spawnError.code === 'ENOENT' ? `${machine.qemu} not found (apt-get install ${machine.arch !== 'aarch64' ? 'qemu-system-x86' : 'qemu-system-arm'})` : signals.exit.spawnError.message}`,
    );
  else if (signals.exit?.signal) verdict.fail('qemu-crashed', `QEMU crashed: ${fmtExit(signals.exit)}`);
  else if (decoded.crashed)
    verdict.fail(
      'qemu-crashed',
      decoded.problem!.startsWith('QEMU crashed') ? decoded.problem! : `QEMU crashed: ${decoded.problem}`,
    );
  else if (decoded.problem) verdict.fail('exit-code', `unexpected exit code: ${decoded.problem}`);
  else {
    verdict.guestExitCode = decoded.code;
    verdict.evidence.push(
      `${machine.exit?.kind ?? 'QEMU'} exit: guest code ${decoded.code} (QEMU status ${signals.exit?.code})`,
    );
  }
}

function judgeExitCode(verdict: Verdict, input: JudgeInput, successCode: number): void {
  const { guestExitCode } = verdict;
  if (guestExitCode === undefined || guestExitCode === successCode) return;
  const raw =
    input.machine.exit?.kind === 'isa-debug-exit'
      ? ` (QEMU status ${input.signals.exit?.code} = (${guestExitCode} << 1) | 1)`
      : '';
  verdict.fail('exit-code', `unexpected exit code: the guest reported ${guestExitCode}${raw}, expected ${successCode}`);
}

/** The script, the measurements, the expectations and KTAP, in that order. */
function judgeRest(verdict: Verdict, input: JudgeInput, progress: string): void {
  const { signals, tracker, ktap, script } = input;
  const scriptFailed = script && !script.ok ? script.message : undefined;
  if (scriptFailed) verdict.fail('script', scriptFailed);
  else if (script) verdict.evidence.push(`script: all ${script.steps.length} steps passed`);
  for (const m of tracker.measurements) {
    const limits = `${describeLimits(m)}${m.note ? `; ${m.note}` : ''}`;
    if (!m.ok)
      verdict.fail(
        'threshold',
        `${m.name}: ${m.value} is outside its limit (${limits}): ${JSON.stringify(m.line.trim())}`,
      );
    else verdict.evidence.push(`${m.name}: ${m.value} (${limits})`);
  }
  if (!tracker.done)
    verdict.fail(
      'missing-expectation',
      `missing expectation ${describePattern(tracker.expect[tracker.next]!)}${progress}${signals.trigger === 'exited' ? ` before QEMU exited (${fmtExit(signals.exit)})` : ''}`,
    );
  else if (tracker.expect.length)
    verdict.evidence.push(`serial: all ${tracker.expect.length} expectations matched in order`);
  if (!ktap) return;
  if (!ktap.ok) {
    const failedNames = ktap.cases
      .filter((c) => c.status === 'fail' || c.status === 'error')
      .map((c) => c.path.join('.'));
    verdict.fail(
      'ktap',
      ktap.failed
        ? `KTAP: ${ktap.failed} of ${ktap.total} cases failed (${failedNames.slice(0, 5).join(', ')}${failedNames.length > 5 ? ', ...' : ''})`
        : `KTAP: ${ktap.problems[0]}`,
    );
  } else verdict.evidence.push(`KTAP: ${ktap.passed} passed, ${ktap.skipped} skipped, ${ktap.todo} todo`);
}

function bootCase(
  spec: QemuTestSpec,
  machine: ResolvedMachine,
  status: 'passed' | 'failed',
  reason: string | undefined,
): TestCaseResult {
  return { name: 'boot', classname: `${spec.name}.${machine.arch}`, status, ...(reason ? { message: reason } : {}) };
}

/** One JUnit case per KTAP case. */
function ktapCases(spec: QemuTestSpec, machine: ResolvedMachine, ktap: JudgeInput['ktap']): TestCaseResult[] {
  return (ktap?.cases ?? []).map((c) => {
    const failed = c.status === 'fail' || c.status === 'error';
    return {
      name: c.path.join('.'),
      classname: `${spec.name}.${machine.arch}.ktap`,
      status: failed ? 'failed' : c.status === 'skip' || c.status === 'todo' ? 'skipped' : 'passed',
      ...(failed
        ? { message: `not ok ${c.name}${c.directiveReason ? ` # ${c.directiveReason}` : ''}` }
        : c.status === 'skip' || c.status === 'todo'
          ? { message: `${c.status.toUpperCase()}${c.directiveReason ? ` ${c.directiveReason}` : ''}` }
          : {}),
      ...(c.diagnostics.length ? { details: c.diagnostics.join('\n') } : {}),
    };
  });
}

/** One JUnit case per script step, numbered in order. */
function scriptCases(spec: QemuTestSpec, machine: ResolvedMachine, script: ScriptResult | undefined): TestCaseResult[] {
  return (script?.steps ?? []).map((st) => ({
    name: `${String(st.index).padStart(String(script!.steps.length).length, '0')} ${st.step}`,
    classname: `${spec.name}.${machine.arch}.script`,
    status: st.status === 'passed' ? 'passed' : st.status === 'failed' ? 'failed' : 'skipped',
    ...(st.message
      ? { message: st.message }
      : st.status === 'not-run'
        ? { message: 'not run: an earlier step failed' }
        : {}),
    ...(st.status === 'failed' && st.tail
      ? { details: `${st.message}\n--- last ${st.tail.length} lines ---\n${st.tail.join('\n')}` }
      : {}),
    time: st.durationMs / 1000,
  }));
}

/** Every test's result, with counts and the total time. */
export interface TestSummary {
  results: QemuTestResult[];
  passed: number;
  failed: number;
  durationMs: number;
}

/**
 * Runs tests with at most `jobs` QEMU processes at once; results keep the input order.
 * @example
 * const summary = await runTests(specs, { jobs: 2, onResult: (r) => console.log(r.name, r.status) });
 * process.exitCode = summary.failed ? 1 : 0;
 */
export async function runTests(
  specs: QemuTestSpec[],
  options: {
    jobs?: number;
    onResult?: (r: QemuTestResult) => void;
    onStart?: TestRunOptions['onStart'];
    terminal?: NodeJS.WritableStream;
    signal?: AbortSignal;
  } = {},
): Promise<TestSummary> {
  const started = performance.now();
  const jobs = Math.max(1, Math.floor(options.jobs ?? 1));
  const seen = new Set<string>();
  for (const s of specs) {
    const key = `${s.name}\0${s.arch ?? 'x86_64'}`;
    if (seen.has(key))
      throw new KilnError('TEST_DUPLICATE', `two tests named ${JSON.stringify(s.name)} for ${s.arch ?? 'x86_64'}`, {
        hint: 'give each test a unique name',
      });
    seen.add(key);
  }
  const results: QemuTestResult[] = new Array(specs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < specs.length) {
      const i = next++;
      const r = await runQemuTest(specs[i]!, {
        ...(options.onStart ? { onStart: options.onStart } : {}),
        ...(options.terminal && jobs === 1 ? { terminal: options.terminal } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      results[i] = r;
      options.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, specs.length) }, worker));
  const passed = results.filter((r) => r.status === 'passed').length;
  return { results, passed, failed: results.length - passed, durationMs: performance.now() - started };
}

/**
 * Expands tests × arches into specs (each arch gets its own log folder).
 * @example
 * const specs = testMatrix({ hello: { expect: ['OK'] } }, ['x86_64', 'aarch64'], (name, t, arch) => ({ ...t, kernel: `build/${arch}/kernel.elf` }));
 */
export function testMatrix<T>(
  tests: Record<string, T>,
  arches: QemuArch[],
  make: (
    name: string,
    test: T,
    arch: QemuArch,
  ) => Omit<QemuTestSpec, 'name' | 'arch'> & Partial<Pick<QemuTestSpec, 'name'>>,
): QemuTestSpec[] {
  const out: QemuTestSpec[] = [];
  for (const [name, test] of Object.entries(tests))
    for (const arch of arches) out.push({ name, ...make(name, test, arch), arch });
  return out;
}

/**
 * The dry-run text: one line per command.
 * @example describeCommand(result.argv) // 'qemu-system-x86_64 -machine q35 ...'
 */
export function describeCommand(argv: string[]): string {
  return formatCommand(argv);
}
