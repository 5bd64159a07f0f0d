/**
 * Console scripts: typed steps (expect, capture, send, key) run in order against a
 * ConsoleSession, each with its own timeout; results per step for reports; and the small text
 * format of `kiln test --script FILE`.
 */
import { KilnError } from '../errors.js';
import {
  ConsoleError,
  describeSent,
  keyBytes,
  unescapeText,
  type ConsoleName,
  type ConsoleSession,
  type KeyName,
} from './console.js';
import { describePattern, parsePattern, type SerialPattern } from './serial.js';

/** Values captured by earlier steps, by name. */
export type Captured = Readonly<Record<string, string>>;

/** Waits for a pattern (from the end of the previous match on that console). */
export interface ExpectStep {
  kind: 'expect';
  /** Text (a substring) or a RegExp (`/^hi$/m` matches a whole line). */
  pattern: SerialPattern;
  /** Console to read. Default `serial0`. */
  on?: ConsoleName;
  /** Seconds. Default: the test's `stepTimeout`, else its `timeout`. */
  timeout?: number;
}

/** Waits for a RegExp and stores one of its groups under `name` for later `send` steps. */
export interface CaptureStep {
  kind: 'capture';
  /** The RegExp to wait for; one of its groups is kept. */
  pattern: RegExp;
  /** Name the value is kept under (`captured.<name>` in a later `send`). */
  name: string;
  /** Group number or name. Default 1. */
  group?: number | string;
  /** Console to read. Default `serial0`. */
  on?: ConsoleName;
  /** Seconds. Default: the test's `stepTimeout`, else its `timeout`. */
  timeout?: number;
}

/** Sends text (a function of the captured values, to reuse them) or raw bytes. */
export interface SendStep {
  kind: 'send';
  /** What to send: text, raw bytes, or a function of the values captured so far returning text. */
  data: string | Uint8Array | ((captured: Captured) => string);
  /** Console to write. Default `serial0`; `monitor` runs each line as a QEMU monitor command. */
  to?: ConsoleName;
  /** Milliseconds between characters. Default 0. */
  charDelay?: number;
}

/** Sends a control key or a named key. */
export interface KeyStep {
  kind: 'key';
  /** The key: `enter`, `escape`, `tab`, `up`, `ctrl-c`, ... */
  key: KeyName;
  /** Console to write. Default `serial0`. */
  to?: ConsoleName;
}

/** One step of a console script. */
export type ScriptStep = ExpectStep | CaptureStep | SendStep | KeyStep;

/**
 * Script step factories for kiln.config.ts tests and `bootConsole` users.
 * @example
 * import { guest } from 'kiln';
 * tests: { shell: { exit: { kind: 'serial' }, script: [
 *   guest.expect('$ '), guest.send('echo hi\n'), guest.expect(/^hi$/m, { timeout: 5 }),
 *   guest.send('info status\n', { to: 'monitor' }), guest.expect('running', { on: 'monitor' }),
 *   guest.key('ctrl-c'),
 * ] } }
 */
export const guest = {
  /** Waits for text (a substring) or a RegExp. */
  expect(pattern: SerialPattern, options: Omit<ExpectStep, 'kind' | 'pattern'> = {}): ExpectStep {
    return { kind: 'expect', pattern, ...options };
  },
  /** Waits for a RegExp and keeps a group (default 1) as `name`. */
  capture(pattern: RegExp, name: string, options: Omit<CaptureStep, 'kind' | 'pattern' | 'name'> = {}): CaptureStep {
    return { kind: 'capture', pattern, name, ...options };
  },
  /** Sends text, bytes, or text made from captured values: `send((v) => \`kill ${v.pid}\n\`)`. */
  send(data: SendStep['data'], options: Omit<SendStep, 'kind' | 'data'> = {}): SendStep {
    return { kind: 'send', data, ...options };
  },
  /** Sends a key: `ctrl-c`, `enter`, `tab`, `up`, ... */
  key(key: KeyName, options: Omit<KeyStep, 'kind' | 'key'> = {}): KeyStep {
    return { kind: 'key', key, ...options };
  },
};

/**
 * A step as written in reports: `expect /^hi$/m`, `send "echo hi\n"`, `key ctrl-c`,
 * `capture pid /pid (\d+)/`, with ` on serial1` / ` to monitor` when not serial0.
 */
export function describeStep(step: ScriptStep): string {
  switch (step.kind) {
    case 'expect':
      return `expect ${describePattern(step.pattern)}${step.on && step.on !== 'serial0' ? ` on ${step.on}` : ''}`;
    case 'capture':
      return `capture ${step.name} ${String(step.pattern)}${step.on && step.on !== 'serial0' ? ` on ${step.on}` : ''}`;
    case 'send':
      return `send ${typeof step.data === 'function' ? '(text from captured values)' : describeSent(step.data)}${step.to && step.to !== 'serial0' ? ` to ${step.to}` : ''}`;
    case 'key':
      return `key ${step.key}${step.to && step.to !== 'serial0' ? ` to ${step.to}` : ''}`;
  }
}

/** The consoles a script uses (besides serial0, which is always there). */
export function consolesOf(steps: readonly ScriptStep[]): ConsoleName[] {
  const names = new Set<ConsoleName>();
  for (const s of steps) {
    const c = s.kind === 'expect' || s.kind === 'capture' ? s.on : s.to;
    if (c) names.add(c);
  }
  return [...names];
}

/** The outcome of one step. */
export interface StepResult {
  /** 1-based. */
  index: number;
  /** `expect /^hi$/m`. */
  step: string;
  status: 'passed' | 'failed' | 'not-run';
  durationMs: number;
  /** What an expect or capture matched. */
  matched?: string;
  /** What a send sent (after captured values were filled in). */
  sent?: string;
  captured?: { name: string; value: string };
  /** `step 4/7: expect /^hi$/m not seen within 5 s (after "echo hi\n" was sent)`. */
  message?: string;
  /** The step's console's last 10 lines when it failed. */
  tail?: string[];
}

/** A script's outcome. */
export interface ScriptResult {
  ok: boolean;
  steps: StepResult[];
  captured: Record<string, string>;
  /** The failed step's message. */
  message?: string;
}

/** Options of `runScript`: the default step timeout and progress callback. */
export interface RunScriptOptions {
  /** Default step timeout in seconds. */
  timeout: number;
  /** Called as each step ends (progress for humans). */
  onStep?: (result: StepResult) => void;
  /**
   * Called once before the first wait (expect/capture), or after the last step when there is none:
   * the harness resumes the paused VM there, so sends before the first expect are typed ahead.
   */
  beforeWait?: () => Promise<void>;
}

/**
 * Runs steps in order; stops at the first failure (the rest are `not-run`).
 * @example
 * const r = await runScript(session, [guest.expect('$ '), guest.send('ls\n')], { timeout: 30 });
 * if (!r.ok) console.log(r.message);
 */
export async function runScript(
  session: ConsoleSession,
  steps: readonly ScriptStep[],
  options: RunScriptOptions,
): Promise<ScriptResult> {
  const captured: Record<string, string> = {};
  const results: StepResult[] = [];
  const total = steps.length;
  let message: string | undefined;
  let waited = false;
  const startWaiting = async () => {
    if (waited) return;
    waited = true;
    await options.beforeWait?.();
  };
  for (let i = 0; i < total; i++) {
    const step = steps[i]!;
    const label = `step ${i + 1}/${total}`;
    const started = performance.now();
    const result: StepResult = { index: i + 1, step: describeStep(step), status: 'passed', durationMs: 0 };
    if (message !== undefined) {
      results.push({ ...result, status: 'not-run' });
      continue;
    }
    try {
      if (step.kind === 'expect' || step.kind === 'capture') await startWaiting();
      await runStep(session, step, captured, options.timeout, result);
    } catch (error) {
      result.status = 'failed';
      if (error instanceof ConsoleError) {
        result.message = `${label}: ${error.message}`;
        result.tail = error.tail;
      } else result.message = `${label}: ${step.kind} failed: ${(error as Error).message}`;
      message = result.message;
    }
    result.durationMs = performance.now() - started;
    results.push(result);
    options.onStep?.(result);
  }
  if (message === undefined) await startWaiting();
  return { ok: message === undefined, steps: results, captured, ...(message !== undefined ? { message } : {}) };
}

async function runStep(
  session: ConsoleSession,
  step: ScriptStep,
  captured: Record<string, string>,
  defaultTimeout: number,
  result: StepResult,
): Promise<void> {
  switch (step.kind) {
    case 'expect': {
      const m = await session.expect(step.pattern, {
        on: step.on ?? 'serial0',
        timeout: step.timeout ?? defaultTimeout,
      });
      result.matched = m.text;
      return;
    }
    case 'capture': {
      const m = await session.expect(step.pattern, {
        on: step.on ?? 'serial0',
        timeout: step.timeout ?? defaultTimeout,
      });
      result.matched = m.text;
      const group = step.group ?? 1;
      const value = typeof group === 'number' ? m.groups[group - 1] : m.named[group];
      if (value === undefined)
        throw new Error(`${String(step.pattern)} matched ${JSON.stringify(m.text)} but group ${group} is empty`);
      captured[step.name] = value;
      result.captured = { name: step.name, value };
      return;
    }
    case 'send': {
      const data = typeof step.data === 'function' ? step.data(captured) : step.data;
      result.sent = describeSent(data);
      await session.send(data, {
        to: step.to ?? 'serial0',
        ...(step.charDelay !== undefined ? { charDelay: step.charDelay } : {}),
      });
      return;
    }
    case 'key':
      await session.key(step.key, { to: step.to ?? 'serial0' });
      return;
  }
}

const CONSOLE_SET = new Set<string>(['serial0', 'serial1', 'virtcon', 'monitor']);

/**
 * Parses the text script format (`kiln test --script FILE`): one step a line, `#` comments.
 *
 * ```
 * expect $␠                       # text to the end of the line (a trailing space counts)
 * expect timeout=5 /^hi$/m        # /regex/flags; options key=value before the argument
 * send echo hi\n                  # escapes: \n \r \t \e \0 \xNN \\
 * send delay=5 "quoted, with a trailing space "   # a JSON string argument
 * key ctrl-c
 * capture pid /pid=(\d+)/
 * send kill ${pid}\n              # ${name} = a captured value
 * send to=monitor info status
 * expect on=monitor running
 * ```
 * @example parseScriptText('expect $ \nsend ls\\n\n', 'shell.script').length // 2
 */
export function parseScriptText(text: string, file: string): ScriptStep[] {
  const steps: ScriptStep[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) continue;
    const bad = (message: string): never => {
      throw new KilnError('SCRIPT_INVALID', `${message}: ${JSON.stringify(line)}`, {
        location: { file, line: n + 1 },
        hint: 'a line is `expect|send|key|capture [timeout=S] [on=|to=CONSOLE] [delay=MS] ARGUMENT`; see kiln test --help',
        exitCode: 2,
      });
    };
    const verb = /^\s*(\S+)/.exec(line)![1]!;
    let rest = line.replace(/^\s*\S+ ?/, '');
    const opts: Record<string, string> = {};
    for (;;) {
      const m = /^(timeout|on|to|delay|group)=(\S+) ?/.exec(rest);
      if (!m) break;
      opts[m[1]!] = m[2]!;
      rest = rest.slice(m[0].length);
    }
    const consoleOpt = (key: 'on' | 'to'): ConsoleName | undefined => {
      const v = opts[key];
      if (v === undefined) return undefined;
      if (!CONSOLE_SET.has(v)) bad(`${key}= expects serial0, serial1, virtcon or monitor, got ${JSON.stringify(v)}`);
      return v as ConsoleName;
    };
    const num = (key: string): number | undefined => {
      const v = opts[key];
      if (v === undefined) return undefined;
      const x = Number(v);
      if (!Number.isFinite(x) || x < 0) bad(`${key}= expects a number, got ${JSON.stringify(v)}`);
      return x;
    };
    let arg = rest;
    if (arg.startsWith('"')) {
      try {
        arg = JSON.parse(arg) as string;
      } catch {
        bad('a quoted argument must be one JSON string');
      }
    } else arg = unescapeText(arg);
    if (arg === '' && verb !== 'send') bad(`${verb} needs an argument`);
    const timeout = num('timeout');
    switch (verb) {
      case 'expect': {
        const on = consoleOpt('on');
        steps.push({
          kind: 'expect',
          pattern: parsePattern(arg),
          ...(on ? { on } : {}),
          ...(timeout !== undefined ? { timeout } : {}),
        });
        break;
      }
      case 'capture': {
        const m = /^(\w+) (.+)$/.exec(arg);
        const pattern = m ? parsePattern(m[2]!) : undefined;
        if (!m || !(pattern instanceof RegExp)) return bad('capture needs a name and a /regex/');
        const on = consoleOpt('on');
        const group = opts.group === undefined ? undefined : /^\d+$/.test(opts.group) ? Number(opts.group) : opts.group;
        steps.push({
          kind: 'capture',
          name: m[1]!,
          pattern,
          ...(group !== undefined ? { group } : {}),
          ...(on ? { on } : {}),
          ...(timeout !== undefined ? { timeout } : {}),
        });
        break;
      }
      case 'send': {
        const to = consoleOpt('to');
        const delay = num('delay');
        const data = /\$\{\w+\}/.test(arg) ? fillCaptured(arg) : arg;
        steps.push({ kind: 'send', data, ...(to ? { to } : {}), ...(delay !== undefined ? { charDelay: delay } : {}) });
        break;
      }
      case 'key': {
        if (!keyBytes(arg)) bad(`unknown key ${JSON.stringify(arg)}`);
        const to = consoleOpt('to');
        steps.push({ kind: 'key', key: arg as KeyName, ...(to ? { to } : {}) });
        break;
      }
      default:
        bad(`unknown step ${JSON.stringify(verb)} (expect, send, key or capture)`);
    }
  }
  return steps;
}

function fillCaptured(template: string): (captured: Captured) => string {
  return (captured) =>
    template.replace(/\$\{(\w+)\}/g, (_, name: string) => {
      const v = captured[name];
      if (v === undefined) throw new Error(`\${${name}} was not captured by an earlier step`);
      return v;
    });
}
