/**
 * `kiln dev`: build, boot the run section, and again on every save (`--test`: rerun the tests).
 * The loop itself is src/dev/loop.ts; this file wires flags, keys and signals to it and prints its
 * events: the guest's serial on stdout, one line per change on stderr.
 *
 * Keys: stdin is read for keys whether it is a terminal (raw mode) or a pipe, so a script or a test
 * drives it the same way: `r` reboots (reruns the tests), `b` rebuilds, `q` quits; Ctrl-C (0x03 on
 * a raw terminal, SIGINT otherwise) quits too. The guest gets no input in kiln dev (kiln run has it).
 */
import { relative } from 'node:path';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import type { DevCycle, DevEvent, DevLoop, StepAction } from '../dev/loop.js';
import type { Graph } from '../graph/graph.js';
import { matchRule } from '../toolchain/doctor.js';
import { machineFromRun, stepsNeeded, testsFromProject } from './_config-machine.js';
import { type ProjectFlags, openProject, projectCommand } from './_project.js';
import { dim, formatFailure, red } from './_reporters.js';
import { action } from './_shared.js';
import { formatResult } from './_test-result.js';

interface DevFlags extends ProjectFlags {
  test?: boolean;
  serial?: boolean;
  jobs?: string;
  debounce?: string;
}

const DEFAULT_DEBOUNCE_MS = 5;

function wholeNumber(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new KilnError('CLI_BAD_NUMBER', `${flag}: expected a whole number >= ${min}, got ${value}`, { exitCode: 2 });
  return n;
}

function ms(value: number): string {
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}

function list(items: string[], max = 12): string {
  return `${items.slice(0, max).join(', ')}${items.length > max ? `, … (+${items.length - max} more)` : ''}`;
}

/** `kernel (compile kernel/a.c, kernel/b.c), kernel-bin`: the steps that ran, with their units of work. */
function ranText(ran: string[], actions: StepAction[]): string {
  return ran
    .map((step) => {
      const own = actions.filter((a) => a.step === step);
      if (own.length === 0) return step;
      const kinds = [...new Set(own.map((a) => a.action))];
      return `${step} (${kinds.map((k) => `${k} ${list(own.filter((a) => a.action === k).map((a) => a.input))}`).join('; ')})`;
    })
    .join(', ');
}

/** The one line of a cycle: what changed → what ran → what follows · how long. */
export function cycleLine(c: DevCycle): string {
  const what =
    c.cause === 'start'
      ? 'started'
      : c.cause === 'reboot-key'
        ? 'r'
        : c.cause === 'rebuild-key'
          ? 'b'
          : `${list(c.changed, 6)} changed`;
  const parts = [what];
  if (c.replanned) parts.push('re-planned');
  const failed = c.result ? [...c.result.steps.values()].filter((r) => r.status === 'failed').map((r) => r.name) : [];
  if (c.ran.length) parts.push(`ran ${ranText(c.ran, c.actions)}`);
  else if (c.result && !failed.length) parts.push('nothing to rebuild');
  if (c.next === 'failed')
    parts.push(`${red(`${list(failed) || 'build'} failed`)}`, 'nothing boots until the fix: save it');
  else if (c.next === 'boot') parts.push(c.cause === 'start' ? 'booting' : 'rebooting');
  else if (c.next === 'test') parts.push('testing');
  const time =
    c.kilnMs !== undefined
      ? ` · ${ms(c.totalMs)} (tools ${ms(c.result?.toolMs ?? 0)}, kiln ${ms(c.kilnMs)}, kiln cpu ${ms(c.kilnCpuMs ?? 0)})`
      : c.totalMs > 0
        ? ` · ${ms(c.totalMs)}`
        : '';
  return `kiln dev: ${parts.join(' → ')}${time}\n`;
}

function errorText(error: unknown): string {
  if (error instanceof KilnError)
    return `${red('error')}: ${error.toLine()}\n${error.hint ? `  hint: ${error.hint}\n` : ''}`;
  return `${red('error')}: ${(error as Error)?.message ?? String(error)}\n`;
}

/** Renders the loop's events on stderr (the guest's serial goes to stdout by itself). */
function render(event: DevEvent, test: boolean): void {
  const out = (text: string): void => void process.stderr.write(text);
  switch (event.type) {
    case 'planned':
      if (event.replanned) return;
      out(
        `kiln dev: ${event.target}: ${event.steps} steps, watching ${event.files} files in ${event.folders} folders · r ${test ? 'reruns the tests' : 'reboots'} · b rebuilds · q quits\n`,
      );
      return;
    case 'plan-failed':
      out(errorText(event.error));
      out('kiln dev: the config did not load: the last plan and guest stay; fix it and save\n');
      return;
    case 'build':
      if (event.event.type === 'step-finish' && event.event.status === 'failed' && event.event.failure)
        out(`${formatFailure(event.event.step, event.event.failure)}\n`);
      else if (event.event.type === 'lock-wait')
        out(`kiln dev: waiting for the build lock held by pid ${event.event.holderPid ?? '?'}\n`);
      else if (event.event.type === 'warning') out(`kiln dev: warning: ${event.event.message}\n`);
      return;
    case 'cycle':
      out(cycleLine(event.cycle));
      return;
    case 'boot-failed':
      out(errorText(event.error));
      return;
    case 'guest-exit': {
      const r = event.result;
      const how = r.problem ? r.problem : `exit code ${r.guestExitCode}`;
      out(
        `kiln dev: guest ended (${how}); serial log ${relative(process.cwd(), r.serialLog) || r.serialLog} · ${dim('save a file, or r to boot again')}\n`,
      );
      return;
    }
    case 'test-result':
      out(formatResult(event.result));
      return;
    case 'tests-done':
      out(
        `kiln dev: ${event.passed} passed, ${event.failed} failed (${ms(event.durationMs)}) · ${dim('save a file, or r to run again')}\n`,
      );
      return;
    case 'idle':
      return;
  }
}

/** Reads keys from stdin (raw mode on a terminal); returns the function that stops reading. */
function readKeys(onKey: (key: 'r' | 'b' | 'q' | 'interrupt') => void): () => void {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  if (tty) stdin.setRawMode(true);
  const onData = (chunk: Buffer): void => {
    for (const byte of chunk) {
      const c = String.fromCharCode(byte).toLowerCase();
      if (c === 'r' || c === 'b' || c === 'q') onKey(c);
      else if (byte === 0x03)
        onKey('interrupt'); // Ctrl-C on a raw terminal
      else if (byte === 0x04 && tty) onKey('q'); // Ctrl-D
    }
  };
  stdin.on('data', onData);
  stdin.on('error', () => undefined);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  };
}

/** The guest's serial copy to stdout. */
function serialTerminal(): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      process.stdout.write(chunk, () => callback());
    },
  });
}

export function registerDev(program: Command): void {
  projectCommand(
    program
      .command('dev')
      .description(
        'build and boot the project (its run section), then on every save of a file the build reads: rebuild what changed and boot again (--test: rerun the tests); keys: r reboots, b rebuilds, q quits',
      )
      .argument('[tests...]', 'with --test: the tests to rerun (default: all of them)')
      .option('--test', "after each good build, run the project's tests instead of booting the run section", false)
      .option('--no-serial', "the guest's serial output not on the terminal (still in serial.log)")
      .option('-j, --jobs <n>', 'steps run at once (default: number of cores)')
      .option('--debounce <ms>', `quiet time after a change before kiln looks, in ms (default: ${DEFAULT_DEBOUNCE_MS})`)
      .addHelpText(
        'after',
        '\nKeys are read from stdin, a terminal or a pipe alike (`printf q | kiln dev` quits): r reboots (with --test: runs the tests again), b rebuilds, q quits; Ctrl-C quits too and leaves no QEMU behind.\n',
      ),
  ).action(
    action(async (_tests: string[], flags: DevFlags, cmd: Command) => {
      const jobs = wholeNumber(flags.jobs, '--jobs', 1);
      const debounceMs = wholeNumber(flags.debounce, '--debounce', 0) ?? DEFAULT_DEBOUNCE_MS;
      const test = flags.test ?? false;
      let names: string[] = [];
      const plan = async (): Promise<{ graph: Graph; configFiles: string[] }> => {
        const project = await openProject(flags, cmd.args);
        names = project.positional;
        if (!test && names.length) {
          throw new KilnError('CLI_UNEXPECTED_ARGUMENT', `kiln dev: unexpected argument ${JSON.stringify(names[0])}`, {
            hint: 'test names go with --test (kiln dev --test boot)',
            exitCode: 2,
          });
        }
        if (!test && !project.graph.project.run) {
          throw new KilnError('RUN_NOT_CONFIGURED', 'kiln dev: the config has no run section', {
            hint: 'add run: { image: disk } (or cdrom/kernel) to kiln.config.ts, or use kiln dev --test',
            exitCode: 2,
          });
        }
        if (test) testsFromProject(project.graph, names); // unknown test names: a usage error now
        return { graph: project.graph, configFiles: project.loaded.dependencies };
      };
      const sections = (graph: Graph) =>
        test
          ? Object.entries(graph.project.tests ?? {})
              .filter(([n]) => names.length === 0 || names.includes(n))
              .map(([, t]) => ({ ...(graph.project.run ?? {}), ...t }))
          : [graph.project.run];
      const { DevLoop: Loop } = await import('../dev/loop.js');
      const loop: DevLoop = new Loop({
        plan,
        steps: (graph) => stepsNeeded(graph, sections(graph)),
        action: test
          ? { kind: 'test', tests: (graph) => testsFromProject(graph, names) }
          : { kind: 'run', machine: (graph) => machineFromRun(graph, graph.project.run!) },
        ...(flags.serial !== false ? { terminal: serialTerminal() } : {}),
        debounceMs,
        ...(jobs ? { jobs } : {}),
        diagnose: matchRule,
        onEvent: (event) => render(event, test),
      });
      let interrupted = false;
      let signals = 0;
      const quit = (why: 'q' | 'interrupt'): void => {
        if (why === 'interrupt') {
          interrupted = true;
          if (++signals > 1) process.exit(130);
        }
        void loop.stop();
      };
      const onSignal = (): void => quit('interrupt');
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      const stopKeys = readKeys((key) => {
        if (key === 'r') loop.reboot();
        else if (key === 'b') loop.rebuild();
        else quit(key);
      });
      try {
        await loop.start();
        await loop.done;
      } finally {
        stopKeys();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
        await loop.stop();
      }
      process.stderr.write(`kiln dev: ${interrupted ? 'interrupted' : 'quit'}; no guest left running\n`);
      process.exitCode = interrupted ? 130 : 0;
    }),
  );
}
