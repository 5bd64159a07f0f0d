/**
 * What every command shares: turning errors into one clear message and an exit code, and
 * printing JSON. Commands set process.exitCode and return; they never call process.exit, so
 * cleanup (killing QEMU, releasing the build lock) always runs.
 */
import { relative } from 'node:path';
import { KilnError, formatErrorLine, nameFile } from '../errors.js';
import { describeSystemError } from '../util/system-errors.js';

export interface GlobalOptions {
  debug?: boolean;
  json?: boolean;
}

/** Codes of errors in the arguments themselves (a missing or malformed option, size or FAT parameter). */
const USAGE_CODE = /^(CLI_|SIZE_INVALID$|FAT_LABEL_INVALID$|FAT_BAD_OPTION$)/;

/**
 * The exit code for a KilnError: its own, except that an argument error thrown with the default
 * code 1 is a usage error and exits 2, like commander's own usage errors and config errors.
 */
function exitCodeOf(error: KilnError): number {
  return error.exitCode === 1 && USAGE_CODE.test(error.code) ? 2 : error.exitCode;
}

/** Prints `error: ...` + hint for a KilnError (stack only with --debug) and sets the exit code. */
export function reportError(error: unknown, options: GlobalOptions = {}): void {
  if (options.json) {
    const payload =
      error instanceof KilnError
        ? error.toJSON()
        : { code: 'INTERNAL', message: String((error as Error)?.message ?? error) };
    process.stdout.write(`${JSON.stringify({ ok: false, error: payload })}\n`);
  }
  if (error instanceof KilnError) {
    if (!options.json) {
      process.stderr.write(`error: ${error.toLine()}\n`);
      if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
    }
    if (options.debug && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = exitCodeOf(error);
    return;
  }
  const e = error as NodeJS.ErrnoException;
  if (!options.json) {
    const systemError = describeSystemError(e);
    if (systemError) {
      process.stderr.write(`error: ${e.path}: ${systemError}\n`);
    } else {
      process.stderr.write(`error: ${e?.message ?? String(error)}\n`);
      if (!options.debug)
        process.stderr.write('  (internal error: run again with --debug for the stack trace, and please report it)\n');
    }
  }
  if (options.debug && e?.stack) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
}

/**
 * Wraps a command action so every error goes through reportError. A command's own `--json`
 * (commander passes the command's options as the second-to-last argument) makes the error JSON too.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      const flags = args[args.length - 2] as { json?: boolean } | undefined;
      reportError(error, {
        ...globalOptions(),
        ...(flags && typeof flags === 'object' && flags.json ? { json: true } : {}),
      });
      // A config's build() that never settled may keep timers alive forever: end once output is flushed
      // (an unref'd timer fires only while something else keeps the process alive).
      if (error instanceof KilnError && error.code === 'CONFIG_BUILD_TIMEOUT')
        setTimeout(() => process.exit(), 500).unref();
    }
  };
}

let currentGlobals: GlobalOptions = {};
export function setGlobalOptions(options: GlobalOptions): void {
  currentGlobals = options;
}
export function globalOptions(): GlobalOptions {
  return currentGlobals;
}

/**
 * Names `path` in the KilnErrors `work` throws when they carry no file (format readers know only
 * the byte offset), so the user sees `disk.img: offset 0x200: gpt: ...`.
 * @example const info = await withFile(path, () => readGpt(source));
 */
export function withFile<T>(path: string, work: () => Promise<T>): Promise<T> {
  return work().catch((error: unknown) => {
    throw nameFile(error, path);
  });
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export { formatErrorLine };

/** The line printed while a clean waits for a running build. */
export function cleanWaitLine(dir: string, pid: number | undefined): string {
  return `kiln: waiting for the build lock of ${relative(process.cwd(), dir) || dir} held by pid ${pid ?? '?'} (a build is running there; --no-wait fails instead)\n`;
}

export const REMOTE_CACHE_HELP =
  "shared build cache (Bazel HTTP protocol: /ac, /cas); default: KILN_REMOTE_CACHE, else the config's remoteCache.url; token from KILN_REMOTE_CACHE_TOKEN";
export const REMOTE_CACHE_READ_ONLY_HELP =
  'download from the remote cache but upload nothing (pull requests); also KILN_REMOTE_CACHE_READ_ONLY=1';

/** `--remote-cache URL` and `--remote-cache-read-only` (build, run, test). */
export function addRemoteCacheOptions<C extends { option(flags: string, description: string): C }>(cmd: C): C {
  return cmd
    .option('--remote-cache <url>', REMOTE_CACHE_HELP)
    .option('--remote-cache-read-only', REMOTE_CACHE_READ_ONLY_HELP);
}

/** The remote-cache flags as the executor takes them. */
export function remoteCacheFlags(flags: { remoteCache?: string; remoteCacheReadOnly?: boolean }): {
  url?: string;
  readOnly?: boolean;
} {
  return {
    ...(flags.remoteCache !== undefined ? { url: flags.remoteCache } : {}),
    ...(flags.remoteCacheReadOnly ? { readOnly: true } : {}),
  };
}
