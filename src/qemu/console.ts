/**
 * Talking to a guest: named consoles (`serial0` = QEMU's stdio, `serial1` and `virtcon` = unix
 * sockets QEMU listens on, `monitor` = the human monitor over QMP), a text buffer per console with
 * a read cursor (as pexpect's: an `expect` searches from the end of the previous match, so a
 * prompt matched once is not matched again), sends with an optional per-character delay, control
 * keys, and waits that end with a typed error naming what was awaited, what was sent last and the
 * console's last lines.
 */
import { KilnError } from '../errors.js';
import { describePattern, stripAnsi, type SerialPattern } from './serial.js';

import type { ConsoleName } from './types.js';

export type { ConsoleName };

/** Every console name, in the order reports list them. */
export const CONSOLE_NAMES: readonly ConsoleName[] = ['serial0', 'serial1', 'virtcon', 'monitor'];

/** A lower-case letter (for `ctrl-<letter>` keys). @inline */
type Letter =
  | 'a'
  | 'b'
  | 'c'
  | 'd'
  | 'e'
  | 'f'
  | 'g'
  | 'h'
  | 'i'
  | 'j'
  | 'k'
  | 'l'
  | 'm'
  | 'n'
  | 'o'
  | 'p'
  | 'q'
  | 'r'
  | 's'
  | 't'
  | 'u'
  | 'v'
  | 'w'
  | 'x'
  | 'y'
  | 'z';

/** A key a terminal sends: `ctrl-c`, `enter`, `up`, ... (VT100 / xterm sequences for the arrows). */
export type KeyName =
  | `ctrl-${Letter}`
  | 'ctrl-['
  | 'ctrl-\\'
  | 'ctrl-]'
  | 'ctrl-@'
  | 'enter'
  | 'return'
  | 'newline'
  | 'tab'
  | 'backspace'
  | 'delete'
  | 'escape'
  | 'space'
  | 'up'
  | 'down'
  | 'right'
  | 'left'
  | 'home'
  | 'end';

const NAMED_KEYS: Record<string, number[]> = {
  'ctrl-[': [0x1b],
  'ctrl-\\': [0x1c],
  'ctrl-]': [0x1d],
  'ctrl-@': [0x00],
  enter: [0x0d],
  return: [0x0d],
  newline: [0x0a],
  tab: [0x09],
  backspace: [0x7f],
  delete: [0x1b, 0x5b, 0x33, 0x7e],
  escape: [0x1b],
  space: [0x20],
  up: [0x1b, 0x5b, 0x41],
  down: [0x1b, 0x5b, 0x42],
  right: [0x1b, 0x5b, 0x43],
  left: [0x1b, 0x5b, 0x44],
  home: [0x1b, 0x5b, 0x48],
  end: [0x1b, 0x5b, 0x46],
};

/**
 * The bytes a key sends, or undefined for an unknown name.
 * @example keyBytes('ctrl-c') // Uint8Array [3]
 */
export function keyBytes(name: string): Uint8Array | undefined {
  const m = /^ctrl-([a-z])$/.exec(name);
  if (m) return Uint8Array.of(m[1]!.charCodeAt(0) - 0x60);
  const named = NAMED_KEYS[name];
  return named ? Uint8Array.from(named) : undefined;
}

/** Every key name `keyBytes` knows (for help texts and validation messages). */
export function keyNames(): string[] {
  return ['ctrl-a … ctrl-z', ...Object.keys(NAMED_KEYS)];
}

/**
 * C-style escapes in text typed on a command line or in a script file: `\n` `\r` `\t` `\e` `\0`
 * `\xNN` `\\`; anything else after a backslash stays as it is.
 * @example unescapeText('ls\\n') // 'ls\n'
 */
export function unescapeText(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|[nrte0\\])/g, (_, e: string) => {
    switch (e[0]) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'e':
        return '\x1b';
      case '0':
        return '\0';
      case 'x':
        return String.fromCharCode(parseInt(e.slice(1), 16));
      default:
        return '\\';
    }
  });
}

/** What an `expect` found. */
export interface ConsoleMatch {
  /** The matched text. */
  text: string;
  /** Capture groups (index 1...), `undefined` for a group that did not take part. */
  groups: Array<string | undefined>;
  /** Named capture groups. */
  named: Record<string, string | undefined>;
  /** Text between the previous match and this one (pexpect's `before`). */
  before: string;
}

// An escape sequence not finished yet at the end of a chunk (kept for the next chunk).
const OPEN_ESCAPE = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|[()*+])?$/;

/**
 * The cleaned text of one console: ANSI sequences and CR removed, backspace applied (a line
 * editor's `\b \b` erases), with a read cursor. Old text before the cursor is dropped past `keep`.
 * @example
 * const b = new ConsoleBuffer(); b.push(new TextEncoder().encode('$ ')); b.search('$ ') // { ... }
 */
export class ConsoleBuffer {
  private text = '';
  private carry = '';
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  /** Offset in `text` where the next search starts. */
  private cursor = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly keep = 64 * 1024) {}

  /** Appends raw bytes (or text) from the console. */
  push(chunk: Uint8Array | string): void {
    const raw = this.carry + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    const open = OPEN_ESCAPE.exec(raw);
    const cut = open && raw.length - open.index < 64 ? open.index : raw.length;
    this.carry = raw.slice(cut);
    this.append(raw.slice(0, cut));
    for (const listener of [...this.listeners]) listener();
  }

  private append(raw: string): void {
    // Backspaces are applied before cleaning (stripAnsi would drop them and keep the erased text).
    const withoutEscapes = raw.replace(
      /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()*+][0-9A-Za-z]|\x1b[0-~]/g,
      '',
    );
    for (const piece of withoutEscapes.split(/(\x08)/)) {
      if (piece === '\x08') {
        if (this.text.length > 0 && !this.text.endsWith('\n')) this.text = this.text.slice(0, -1);
        if (this.cursor > this.text.length) this.cursor = this.text.length;
      } else this.text += stripAnsi(piece);
    }
    // Bounded memory: consumed text goes first; a console nobody reads keeps its last `keep * 2` characters.
    const drop =
      this.cursor > this.keep * 2
        ? this.cursor - this.keep
        : this.text.length > this.keep * 4
          ? this.text.length - this.keep * 2
          : 0;
    if (drop > 0) {
      this.text = this.text.slice(drop);
      this.cursor = Math.max(0, this.cursor - drop);
    }
  }

  /** Calls `listener` after every push; returns the function that removes it. */
  onData(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Finds `pattern` after the cursor; on a match the cursor moves past it. A RegExp match that
   * reaches the end of an unfinished line may still grow (`pid=1` of `pid=1077` whose rest is
   * on its way): it is `'unsettled'` unless `settled` says the console has been quiet since.
   */
  take(pattern: SerialPattern, settled = true): ConsoleMatch | 'unsettled' | undefined {
    const rest = this.text.slice(this.cursor);
    let index: number;
    let text: string;
    let groups: Array<string | undefined> = [];
    let named: Record<string, string | undefined> = {};
    if (typeof pattern === 'string') {
      index = rest.indexOf(pattern);
      if (index < 0) return undefined;
      text = pattern;
    } else {
      const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
      const m = re.exec(rest);
      if (!m) return undefined;
      index = m.index;
      text = m[0];
      if (!settled && index + text.length === rest.length && !text.endsWith('\n')) return 'unsettled';
      groups = m.slice(1);
      named = { ...(m.groups ?? {}) };
    }
    const before = rest.slice(0, index);
    this.cursor += index + text.length;
    return { text, groups, named, before };
  }

  /** The last `n` lines (the unfinished one included), for failure messages. */
  lastLines(n = 10): string[] {
    const lines = this.text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n);
  }

  /** Text not yet consumed by a match. */
  unread(): string {
    return this.text.slice(this.cursor);
  }
}

/** One console's output side and how to write to it. */
export interface ConsoleChannel {
  buffer: ConsoleBuffer;
  /** Writes bytes; resolves once they were handed to QEMU. */
  write(bytes: Uint8Array): Promise<void>;
}

/** Why a console wait ended without a match. */
export type ConsoleFailure = 'timeout' | 'closed' | 'no-console';

/**
 * A console wait that failed: the message names the pattern, the console, the time waited, what
 * was sent last, and carries the console's last lines.
 */
export class ConsoleError extends KilnError {
  constructor(
    readonly failure: ConsoleFailure,
    message: string,
    readonly console: ConsoleName,
    readonly tail: string[],
  ) {
    super(
      failure === 'timeout' ? 'CONSOLE_TIMEOUT' : failure === 'closed' ? 'CONSOLE_CLOSED' : 'CONSOLE_UNAVAILABLE',
      message,
      {
        hint:
          failure === 'no-console'
            ? 'the machine was started without this console: name it in the script (tests) or in `consoles` (bootConsole)'
            : 'the last lines of the console are in the report; a longer `timeout` on the step helps a slow guest',
        details: { console, tail },
      },
    );
    this.name = 'ConsoleError';
  }
}

/** Options of an expect on a console: which console, how long to wait. */
export interface ExpectOptions {
  /** Console to read. Default `serial0`. */
  on?: ConsoleName;
  /** Seconds to wait. Default: the session's `timeout`. */
  timeout?: number;
}

/** Options of a send to a console: which console, delay between characters. */
export interface SendOptions {
  /** Console to write. Default `serial0`. */
  to?: ConsoleName;
  /** Milliseconds between characters (a guest polling its UART slowly). Default 0: all at once. */
  charDelay?: number;
}

/** Short form of sent text for messages: `"echo hi\n"`, cut at 40 characters. */
export function describeSent(data: string | Uint8Array): string {
  const text = typeof data === 'string' ? data : Array.from(data, (b) => String.fromCharCode(b)).join('');
  // JSON escapes C0 controls; DEL and C1 controls are made visible too.
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text).replace(
    /[\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16)}`,
  );
}

const encoder = new TextEncoder();

/** Quiet time after which a RegExp match at the end of an unfinished line counts (ms). */
const SETTLE_MS = 50;

/**
 * Named consoles of one running machine, with pexpect-style `expect` / `send`.
 * @example
 * const session = new ConsoleSession(new Map([['serial0', channel]]), { timeout: 30 });
 * await session.expect('$ ');
 * await session.send('echo hi\n');
 * await session.expect(/^hi$/m, { timeout: 5 });
 */
export class ConsoleSession {
  /** What was sent last, per console (named in failure messages). */
  private readonly lastSent = new Map<ConsoleName, string>();
  private closedReason: string | undefined;
  private readonly closers = new Set<(reason: string) => void>();

  constructor(
    readonly channels: ReadonlyMap<ConsoleName, ConsoleChannel>,
    readonly options: { timeout: number },
  ) {}

  /** The console's channel, or a ConsoleError saying it was not started. */
  channel(name: ConsoleName): ConsoleChannel {
    const c = this.channels.get(name);
    if (!c)
      throw new ConsoleError(
        'no-console',
        `console ${name} is not connected (connected: ${[...this.channels.keys()].join(', ') || 'none'})`,
        name,
        [],
      );
    return c;
  }

  /** Ends every wait (QEMU exited, a fail pattern matched, the test's deadline): pending expects reject. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const closer of [...this.closers]) closer(reason);
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** The console's last lines. */
  lastLines(name: ConsoleName = 'serial0', n = 10): string[] {
    return this.channels.get(name)?.buffer.lastLines(n) ?? [];
  }

  /** Text after the last send on a console, described for messages: ` (after "ls\n" was sent)`. */
  afterSent(name: ConsoleName): string {
    const sent = this.lastSent.get(name);
    return sent === undefined ? '' : ` (after ${sent} was sent)`;
  }

  /**
   * Waits for `pattern` on a console, from the end of the previous match.
   * @throws ConsoleError on timeout or when the session closes first.
   */
  expect(pattern: SerialPattern, options: ExpectOptions = {}): Promise<ConsoleMatch> {
    const name = options.on ?? 'serial0';
    const seconds = options.timeout ?? this.options.timeout;
    const channel = this.channel(name);
    const found = channel.buffer.take(pattern, false);
    if (found && found !== 'unsettled') return Promise.resolve(found);
    const what = `expect ${describePattern(pattern)}${name === 'serial0' ? '' : ` on ${name}`}`;
    if (this.closedReason !== undefined)
      return Promise.reject(
        new ConsoleError(
          'closed',
          `${what} not seen before ${this.closedReason}${this.afterSent(name)}`,
          name,
          channel.buffer.lastLines(),
        ),
      );
    return new Promise<ConsoleMatch>((resolve, reject) => {
      let settle: NodeJS.Timeout | undefined;
      const finish = (error?: ConsoleError, match?: ConsoleMatch) => {
        clearTimeout(timer);
        clearTimeout(settle);
        off();
        this.closers.delete(onClose);
        if (error) reject(error);
        else resolve(match!);
      };
      // A match at the end of the text is taken once the console was quiet for SETTLE_MS.
      const check = () => {
        clearTimeout(settle);
        const m = channel.buffer.take(pattern, false);
        if (m === 'unsettled') {
          settle = setTimeout(() => {
            const late = channel.buffer.take(pattern, true);
            if (late && late !== 'unsettled') finish(undefined, late);
          }, SETTLE_MS);
        } else if (m) finish(undefined, m);
      };
      const off = channel.buffer.onData(check);
      if (found === 'unsettled') check();
      const onClose = (reason: string) =>
        finish(
          new ConsoleError(
            'closed',
            `${what} not seen before ${reason}${this.afterSent(name)}`,
            name,
            channel.buffer.lastLines(),
          ),
        );
      this.closers.add(onClose);
      const timer = setTimeout(
        () =>
          finish(
            new ConsoleError(
              'timeout',
              `${what} not seen within ${seconds} s${this.afterSent(name)}`,
              name,
              channel.buffer.lastLines(),
            ),
          ),
        seconds * 1000,
      );
    });
  }

  /** Sends text or bytes, all at once or one character at a time with `charDelay` ms between. */
  async send(data: string | Uint8Array, options: SendOptions = {}): Promise<void> {
    const name = options.to ?? 'serial0';
    const channel = this.channel(name);
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    this.lastSent.set(name, describeSent(data));
    const delay = options.charDelay ?? 0;
    if (delay <= 0) {
      await channel.write(bytes);
      return;
    }
    for (let i = 0; i < bytes.length; i++) {
      if (this.closedReason !== undefined)
        throw new ConsoleError(
          'closed',
          `send ${describeSent(data)} to ${name} stopped after ${i} of ${bytes.length} bytes: ${this.closedReason}`,
          name,
          channel.buffer.lastLines(),
        );
      await channel.write(bytes.subarray(i, i + 1));
      if (i + 1 < bytes.length) await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** Sends a key (`ctrl-c`, `enter`, `up`, ...). */
  async key(key: KeyName, options: Omit<SendOptions, 'charDelay'> = {}): Promise<void> {
    const bytes = keyBytes(key);
    if (!bytes) throw new RangeError(`"key" expected one of ${keyNames().join(', ')}, got ${JSON.stringify(key)}`);
    const name = options.to ?? 'serial0';
    await this.channel(name).write(bytes);
    this.lastSent.set(name, key);
  }
}
