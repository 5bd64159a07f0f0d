/**
 * Timeouts in seconds, validated once for every place that takes one (`--timeout`,
 * `--idle-timeout`, `--step-timeout`, a test's `timeout`/`idleTimeout`/`stepTimeout`, a script
 * step's `timeout`, `command({ timeout })`, a signer's `timeoutSeconds`). Node's timers hold at
 * most 2^31-1 ms (about 24.8 days): a longer delay fires at once (with a TimeoutOverflowWarning),
 * which turned `--timeout 1e12` into an immediate "timeout after 1000000000000 s". So a timeout is
 * a finite number of seconds > 0 and <= 2,147,483.
 */
import { KilnError } from '../errors.js';

/** The longest delay a Node timer holds, in milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest timeout kiln accepts, in seconds (2,147,483 s, about 24.8 days). */
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** The accepted range, in words, for messages. */
export const TIMEOUT_RANGE = `a number of seconds > 0 and <= ${MAX_TIMEOUT_SECONDS} (about 24.8 days, Node's timer limit)`;

/** Whether `n` is an acceptable timeout in seconds. */
export function isTimeoutSeconds(n: number): boolean {
  return Number.isFinite(n) && n > 0 && n <= MAX_TIMEOUT_SECONDS;
}

/**
 * A command-line timeout (`--timeout 90`): undefined when not given; a usage error (exit 2)
 * naming the flag and the range when it is 0, negative, not a number or too large.
 * @example
 * parseTimeoutFlag('1.5', '--timeout') // 1.5
 */
export function parseTimeoutFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!isTimeoutSeconds(n)) {
    throw new KilnError('CLI_BAD_TIMEOUT', `${flag}: expected ${TIMEOUT_RANGE}, got ${JSON.stringify(value)}`, {
      hint: `e.g. ${flag} 120`,
      exitCode: 2,
    });
  }
  return n;
}

/**
 * Checks a timeout a library caller passes (a programmer's error: RangeError).
 * @example
 * setTimeout(stop, checkTimeoutSeconds(spec.timeout, '"timeout"') * 1000);
 */
export function checkTimeoutSeconds(value: number, what: string): number {
  if (!isTimeoutSeconds(value)) throw new RangeError(`${what} expected ${TIMEOUT_RANGE}, got ${value}`);
  return value;
}
