/**
 * Reporters over the build event stream: a live terminal view, plain lines for CI and pipes,
 * JSON lines for machines, and a Chrome trace (open it in Perfetto or chrome://tracing).
 */
import { writeFileSync } from 'node:fs';
import type { BuildEvent } from '../graph/events.js';
import type { StepFailureInfo } from '../step.js';
import { processPhases } from '../util/phases.js';

export type Reporter = { onEvent(event: BuildEvent): void; close(): void };

const useColor = () => process.stderr.isTTY && !process.env.NO_COLOR;
const paint = (code: string, text: string) => (useColor() ? `\x1b[${code}m${text}\x1b[0m` : text);
export const red = (t: string) => paint('31', t);
export const green = (t: string) => paint('32', t);
export const yellow = (t: string) => paint('33', t);
export const dim = (t: string) => paint('2', t);
export const bold = (t: string) => paint('1', t);

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function formatFailure(step: string, f: StepFailureInfo): string {
  const lines = [`${red('FAILED')} ${bold(step)}: ${f.message}`];
  if (f.command) lines.push(`  command: ${f.command}`);
  if (f.tail.length) lines.push(...f.tail.map((l) => `  │ ${l}`));
  if (f.hint) lines.push(`  hint: ${f.hint}`);
  return lines.join('\n');
}

function summary(e: Extract<BuildEvent, { type: 'build-finish' }>): string {
  const c = e.counts;
  const parts = [`${c.ran} ran`, `${c.cached} from cache`, `${c['up-to-date']} up to date`];
  if (c.failed) parts.push(red(`${c.failed} failed`));
  if (c.skipped) parts.push(yellow(`${c.skipped} skipped`));
  const head = e.interrupted ? yellow('interrupted') : e.ok ? green('ok') : red('failed');
  return `kiln: ${e.target} ${head} in ${seconds(e.durationMs)} (${parts.join(', ')})`;
}

/** One line per step that did work, failures in full, a summary. For CI and pipes. */
export function plainReporter(stream: NodeJS.WritableStream = process.stderr): Reporter {
  let total = 0;
  let done = 0;
  // Steps skipped because something they need failed: one line at the end, not one each (the error stays on screen).
  const skipped: Array<{ step: string; reason: string }> = [];
  return {
    onEvent(e) {
      if (e.type === 'build-start') total = e.total;
      else if (e.type === 'lock-wait')
        stream.write(
          `kiln: waiting for the build lock held by pid ${e.holderPid ?? '?'} (another kiln is building here; --no-wait fails instead)\n`,
        );
      else if (e.type === 'warning') stream.write(`kiln: ${yellow('warning')}: ${e.message}\n`);
      else if (e.type === 'remote-cache')
        stream.write(`kiln: ${e.level === 'warning' ? `${yellow('warning')}: ` : ''}${e.message}\n`);
      else if (e.type === 'step-finish') {
        done++;
        if (e.status === 'failed' && e.failure) stream.write(`${formatFailure(e.step, e.failure)}\n`);
        else if (e.status === 'ran' || e.status === 'cached') {
          stream.write(
            `[${done}/${total}] ${e.status === 'cached' ? 'restored' : 'built'} ${e.step} ${dim(`(${e.kind}, ${seconds(e.durationMs)}${e.reason ? `; ${e.reason}` : ''})`)}\n`,
          );
        } else if (e.status === 'skipped') skipped.push({ step: e.step, reason: e.reason ?? '' });
        for (const w of e.warnings ?? []) stream.write(`  ${yellow('warning')}: ${w}\n`);
      } else if (e.type === 'build-finish') {
        for (const line of skippedLines(skipped)) stream.write(`${line}\n`);
        stream.write(`${summary(e)}\n`);
      }
    },
    close() {},
  };
}

/**
 * Skipped steps in at most two lines, after the failure they follow from:
 * `skipped 42 steps that need a failed step: kernel, kernel-bin, boot-disk, … (+39 more)` and
 * `not started: 3 steps (the build stopped after the failure; --keep-going builds what does not need it): …`.
 */
export function skippedLines(skipped: ReadonlyArray<{ step: string; reason: string }>): string[] {
  const list = (steps: string[]) =>
    `${steps.slice(0, 5).join(', ')}${steps.length > 5 ? `, … (+${steps.length - 5} more)` : ''}`;
  const plural = (n: number) => `${n} step${n === 1 ? '' : 's'}`;
  const dependents = skipped.filter((s) => / (failed|was skipped)$/.test(s.reason)).map((s) => s.step);
  const stopped = skipped.filter((s) => !/ (failed|was skipped)$/.test(s.reason));
  const lines: string[] = [];
  if (dependents.length)
    lines.push(
      `${yellow('skipped')} ${plural(dependents.length)} that ${dependents.length === 1 ? 'needs' : 'need'} a failed step: ${list(dependents)}`,
    );
  if (stopped.length) {
    const why =
      stopped[0]!.reason === 'interrupted'
        ? 'interrupted'
        : 'the build stopped after the failure; --keep-going builds what does not need it';
    lines.push(`${yellow('not started')}: ${plural(stopped.length)} (${why}): ${list(stopped.map((s) => s.step))}`);
  }
  return lines;
}

/** A live status line (steps done/total, what runs now, elapsed) above which finished work scrolls. */
export function ttyReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  const plain = plainReporter(stream);
  const runningSince = new Map<string, number>();
  let total = 0;
  let done = 0;
  let start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const clear = () => stream.write('\r\x1b[2K');
  const draw = () => {
    if (runningSince.size === 0) return clear();
    const names = [...runningSince.keys()];
    const line = `[${done}/${total}] ${seconds(Date.now() - start)} running: ${names.slice(0, 4).join(', ')}${names.length > 4 ? ` +${names.length - 4}` : ''}`;
    clear();
    stream.write(line.slice(0, Math.max(20, (stream.columns ?? 80) - 1)));
  };
  return {
    onEvent(e) {
      if (e.type === 'build-start') {
        total = e.total;
        start = Date.now();
        timer = setInterval(draw, 100);
        timer.unref();
      }
      if (e.type === 'step-start') runningSince.set(e.step, Date.now());
      if (e.type === 'step-finish') {
        done++;
        runningSince.delete(e.step);
      }
      clear();
      plain.onEvent(e);
      if (e.type === 'build-finish' && timer) clearInterval(timer);
      else draw();
    },
    close() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}

/** Every event as one JSON line on stdout. */
export function jsonReporter(stream: NodeJS.WritableStream = process.stdout): Reporter {
  return { onEvent: (e) => void stream.write(`${JSON.stringify(e)}\n`), close() {} };
}

/**
 * Collects step spans and writes a Chrome trace file (one lane per concurrent job) when the process
 * exits, with the process's phases (start-up, config load, plan, execute, exit) on their own lane.
 * Times are µs since the process started.
 */
export function traceReporter(path: string): Reporter {
  const starts = new Map<string, { time: number; lane: number }>();
  const lanes: boolean[] = [];
  const events: object[] = [];
  const since = (epochMs: number): number => (epochMs - performance.timeOrigin) * 1000;
  const span = (name: string, start: number, end: number, tid: number, args: object = {}): object => ({
    name,
    cat: 'kiln',
    ph: 'X',
    ts: start * 1000,
    dur: Math.max(1, (end - start) * 1000),
    pid: 1,
    tid,
    args,
  });
  let closed = false;
  return {
    onEvent(e) {
      if (e.type === 'step-start') {
        let lane = lanes.findIndex((busy) => !busy);
        if (lane < 0) lane = lanes.length;
        lanes[lane] = true;
        starts.set(e.step, { time: e.time, lane });
      }
      if (e.type === 'step-finish') {
        const s = starts.get(e.step);
        if (s) lanes[s.lane] = false;
        const begin = s?.time ?? e.time - e.durationMs;
        events.push({
          name: e.step,
          cat: e.kind,
          ph: 'X',
          ts: since(begin),
          dur: Math.max(1, e.durationMs * 1000),
          pid: 1,
          tid: s?.lane ?? 0,
          args: { status: e.status, reason: e.reason ?? '' },
        });
      }
      if (e.type === 'build-finish') {
        events.push({
          name: 'build',
          cat: 'kiln',
          ph: 'X',
          ts: since(e.time - e.durationMs),
          dur: e.durationMs * 1000,
          pid: 1,
          tid: 1000,
          args: e.counts,
        });
      }
    },
    close() {
      if (closed) return;
      closed = true;
      const closedAt = performance.now();
      process.once('exit', () => {
        const phases = processPhases().map((p) => span(p.name, p.start, p.end, 1001));
        phases.push(span('exit', closedAt, performance.now(), 1001));
        const names = [1000, 1001].map((tid) => ({
          name: 'thread_name',
          ph: 'M',
          pid: 1,
          tid,
          args: { name: tid === 1000 ? 'build' : 'process' },
        }));
        writeFileSync(path, JSON.stringify({ traceEvents: [...names, ...phases, ...events], displayTimeUnit: 'ms' }));
      });
    },
  };
}

export function combine(reporters: Reporter[]): Reporter {
  return { onEvent: (e) => reporters.forEach((r) => r.onEvent(e)), close: () => reporters.forEach((r) => r.close()) };
}

export function defaultReporter(flags: { json?: boolean; plain?: boolean; trace?: string }): Reporter {
  const list: Reporter[] = [];
  if (flags.json) list.push(jsonReporter());
  else if (flags.plain || process.env.CI === 'true' || process.env.CI === '1' || !process.stderr.isTTY)
    list.push(plainReporter());
  else list.push(ttyReporter());
  if (flags.trace) list.push(traceReporter(flags.trace));
  return combine(list);
}
