/**
 * Serial output handling: ANSI escape removal (ECMA-48 §5.4 control sequences: CSI, OSC, and
 * two-byte ESC sequences, which OVMF writes to the serial console), line splitting across chunks,
 * and matching of expected / failure patterns.
 */

// CSI: ESC [ params intermediates final; OSC: ESC ] ... BEL|ESC \; other ESC + one byte; lone C1 CSI (0x9b).
// Then charset designations (ESC ( B) and every other two-byte sequence: Fp, Fe and Fs (ESC 0x30-0x7E).
const ANSI =
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()*+][0-9A-Za-z]|\x1b[0-~]|\x9b[0-?]*[ -/]*[@-~]/g;

/**
 * Removes ANSI escape sequences and carriage returns from serial text.
 * @example stripAnsi('\x1b[2J\x1b[01;01HBdsDxe: loading\r') // 'BdsDxe: loading'
 */
export function stripAnsi(text: string): string {
  return text
    .replace(ANSI, '')
    .replace(/\r/g, '')
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g, '');
}

/**
 * A string pattern matches as a substring; a RegExp as itself.
 * @example const p: SerialPattern = /ok \d+/;
 */
export type SerialPattern = string | RegExp;

/**
 * An expectation that also reads a number: the RegExp's first group (or the group named `value`) is
 * parsed and checked against `min`/`max`. A value outside fails the test, naming value and limit.
 * @example const ipc: SerialMeasure = { pattern: /ipc: (\d+) cycles/, max: 500, name: 'ipc' };
 */
export interface SerialMeasure {
  /** A RegExp whose first group (or group `value`) is the number (`/ipc: (\d+) cycles/`). */
  pattern: RegExp;
  /** Smallest value that passes (inclusive). */
  min?: number;
  /** Largest value that passes (inclusive). */
  max?: number;
  /** Name in reports (default: the pattern). */
  name?: string;
  /** Why the limit is what it is (e.g. "TCG: the seed's 500 is for hardware"), printed with the value. */
  note?: string;
}

/** One entry of a test's `expect` list: a pattern, or a measure with limits. */
export type ExpectPattern = SerialPattern | SerialMeasure;

/** A number a measure read from serial, and whether it was within its limits. */
export interface Measurement {
  /** The measure's name (default: its pattern). */
  name: string;
  /** The number read. */
  value: number;
  /** The lower limit, if any. */
  min?: number;
  /** The upper limit, if any. */
  max?: number;
  /** Why the limit is what it is. */
  note?: string;
  /** The value is within its limits. */
  ok: boolean;
  /** The serial line it was read from. */
  line: string;
}

/**
 * A measure for a test's `expect` list.
 * @example tests: { boot: { expect: ['booted', measure(/ipc: (\d+) cycles/, { max: 500 })] } }
 */
export function measure(
  pattern: RegExp,
  limits: { min?: number; max?: number; name?: string; note?: string },
): SerialMeasure {
  return { pattern, ...limits };
}

function isMeasure(p: ExpectPattern): p is SerialMeasure {
  return typeof p === 'object' && !(p instanceof RegExp);
}

/** The limits of a measure as words: `max 500`, `min 1, max 9`. */
export function describeLimits(m: { min?: number | undefined; max?: number | undefined }): string {
  return [m.min !== undefined ? `min ${m.min}` : '', m.max !== undefined ? `max ${m.max}` : '']
    .filter(Boolean)
    .join(', ');
}

/** Reads a measure's number from a matching line (undefined when the group holds no number). */
export function readMeasurement(m: SerialMeasure, line: string): Measurement | undefined {
  m.pattern.lastIndex = 0;
  const hit = m.pattern.exec(line);
  const text = hit?.groups?.value ?? hit?.[1];
  const value = text === undefined ? NaN : Number(text);
  if (!Number.isFinite(value)) return undefined;
  const ok = (m.min === undefined || value >= m.min) && (m.max === undefined || value <= m.max);
  return {
    name: m.name ?? String(m.pattern),
    value,
    ...(m.min !== undefined ? { min: m.min } : {}),
    ...(m.max !== undefined ? { max: m.max } : {}),
    ...(m.note ? { note: m.note } : {}),
    ok,
    line,
  };
}

/**
 * Default fail-fast patterns.
 * @example runQemuTest({ ...spec, fail: [...DEFAULT_FAIL_PATTERNS, 'BUG:'] })
 */
export const DEFAULT_FAIL_PATTERNS: readonly SerialPattern[] = [
  /\bpanic\b/i,
  /\bKERNEL PANIC\b/,
  /#GP\b/,
  /#PF\b/,
  /#DF\b/,
  /\btriple fault\b/i,
];

/**
 * A pattern as written in reports.
 * @example describePattern('KILN-END') // '"KILN-END"'
 */
export function describePattern(p: ExpectPattern): string {
  if (isMeasure(p)) return `${String(p.pattern)} (${describeLimits(p)})`;
  return typeof p === 'string' ? JSON.stringify(p) : String(p);
}

/**
 * Whether a pattern matches a line.
 * @example patternMatches(/ok \d+/, 'ok 12') // true
 */
export function patternMatches(p: ExpectPattern, text: string): boolean {
  if (typeof p === 'string') return text.includes(p);
  if (isMeasure(p)) return patternMatches(p.pattern, text);
  p.lastIndex = 0;
  return p.test(text);
}

/**
 * Turns a CLI pattern into a SerialPattern: `/re/flags` is a RegExp, anything else a substring.
 * @example parsePattern('/ok \\d+/') // /ok \d+/
 */
export function parsePattern(text: string): SerialPattern {
  const m = /^\/(.+)\/([dgimsuy]*)$/s.exec(text);
  if (m) {
    try {
      return new RegExp(m[1]!, m[2]!.replace('g', ''));
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Splits a stream of chunks into cleaned lines; keeps the last `keep` lines for reports.
 * The unfinished last line is matched too (a prompt without a newline still counts).
 * @example const lines = new SerialLines(30); lines.push(chunk); lines.lastLines();
 */
export class SerialLines {
  private partial = '';
  private readonly tail: string[] = [];
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  /** Every complete cleaned line (for KTAP parsing); bounded by `maxLines`. */
  readonly lines: string[] = [];
  totalBytes = 0;

  constructor(
    private readonly keep = 30,
    private readonly maxLines = 200_000,
  ) {}

  /** Feeds a chunk; returns the newly completed lines. */
  push(chunk: Uint8Array): string[] {
    this.totalBytes += chunk.length;
    const text = this.partial + this.decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    const done = parts.map(stripAnsi);
    for (const line of done) {
      this.tail.push(line);
      if (this.tail.length > this.keep) this.tail.shift();
      if (this.lines.length < this.maxLines) this.lines.push(line);
    }
    return done;
  }

  /** The current unfinished line, cleaned. */
  pending(): string {
    return stripAnsi(this.partial);
  }

  /** Completes the stream (the unfinished line becomes a line). */
  end(): string[] {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    if (!rest) return [];
    const line = stripAnsi(rest);
    this.tail.push(line);
    if (this.tail.length > this.keep) this.tail.shift();
    if (this.lines.length < this.maxLines) this.lines.push(line);
    return [line];
  }

  /** The last `keep` lines, plus the unfinished one. */
  lastLines(): string[] {
    const p = this.pending();
    const all = p ? [...this.tail, p] : [...this.tail];
    return all.slice(-this.keep);
  }
}

/**
 * Tracks expectations in order and fail patterns, line by line.
 * @example const t = new PatternTracker(['boot', 'END'], DEFAULT_FAIL_PATTERNS); t.feed(line); t.done;
 */
export class PatternTracker {
  next = 0;
  failed: { pattern: SerialPattern; line: string } | undefined;
  readonly matchedLines: string[] = [];
  /** Numbers read by measures, in order. */
  readonly measurements: Measurement[] = [];

  constructor(
    readonly expect: readonly ExpectPattern[],
    readonly fail: readonly SerialPattern[],
  ) {}

  get done(): boolean {
    return this.next >= this.expect.length;
  }

  /**
   * Whether feeding `text` (an unfinished line, e.g. a prompt without a newline) would satisfy
   * every remaining expectation. Nothing is recorded.
   */
  wouldComplete(text: string): boolean {
    let n = this.next;
    while (n < this.expect.length && patternMatches(this.expect[n]!, text)) n++;
    return n >= this.expect.length;
  }

  /** Checks one line (several expectations may match the same line, in order). */
  feed(line: string): void {
    if (!this.failed) {
      const hit = this.fail.find((p) => patternMatches(p, line));
      if (hit !== undefined) this.failed = { pattern: hit, line };
    }
    while (this.next < this.expect.length && patternMatches(this.expect[this.next]!, line)) {
      const p = this.expect[this.next]!;
      if (isMeasure(p)) {
        const m = readMeasurement(p, line);
        if (!m) break; // the pattern matched but its group held no number: not this line
        this.measurements.push(m);
      }
      this.matchedLines.push(line);
      this.next++;
    }
  }
}
