/**
 * Subprocesses: always an argv array (never a shell string), a whole process group so a timeout or
 * Ctrl-C kills the tree, optional timeout, output captured (and optionally streamed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { withoutSecrets } from './step-env.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the whole process tree after this many milliseconds. */
  timeoutMs?: number;
  /** Bytes or text written to stdin, which is then closed. */
  input?: string | Uint8Array;
  /** Called with every chunk of stdout/stderr as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Stop capturing after this many bytes per stream (the tail is kept). Default 16 MiB. */
  maxCapture?: number;
  /** An AbortSignal that kills the process tree. */
  signal?: AbortSignal;
}

/** How a tool run ended: its argv, exit code or signal, and its output. */
export interface RunResult {
  /** The command as run: program and arguments. */
  argv: string[];
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** What it wrote to stdout (up to the capture limit). */
  stdout: string;
  /** What it wrote to stderr (up to the capture limit). */
  stderr: string;
  /** stdout and stderr interleaved in arrival order. */
  output: string;
  /** It was killed at its timeout. */
  timedOut: boolean;
  /** Wall time in milliseconds. */
  durationMs: number;
  /** Spawn failure (ENOENT when the tool is missing). */
  spawnError?: NodeJS.ErrnoException;
}

/** Live child processes, killed on exit/SIGINT by `killAllChildren`. */
const live = new Set<ChildProcess>();

export function killTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

export function killAllChildren(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of live) killTree(child, signal);
}

/** Meaning of an exit code or signal, for error messages. */
export function describeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  spawnError?: NodeJS.ErrnoException,
): string {
  if (spawnError?.code === 'ENOENT') return 'command not found';
  if (spawnError) return `could not start: ${spawnError.message}`;
  if (signal) return `killed by ${signal}${signal === 'SIGSEGV' ? ' (segmentation fault)' : ''}`;
  switch (code) {
    case 0:
      return 'success';
    case 126:
      return 'exit code 126 (found but not executable)';
    case 127:
      return 'exit code 127 (command not found)';
    case 134:
      return 'exit code 134 (aborted)';
    case 137:
      return 'exit code 137 (killed, often out of memory)';
    case 139:
      return 'exit code 139 (segmentation fault)';
    default:
      return `exit code ${code}`;
  }
}

/** Runs `argv` to completion. Never throws for a non-zero exit; check `code`. */
export function run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new TypeError('"argv" expected at least the program name');
  const started = performance.now();
  const max = options.maxCapture ?? 16 << 20;
  return new Promise((resolvePromise) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const both: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      // Whatever the caller passes, no secret-looking variable reaches a subprocess (util/step-env.ts).
      env: withoutSecrets(options.env ?? process.env),
      // No stdin pipe unless there is input (a tool reading stdin sees /dev/null's end of file).
      stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    live.add(child);
    const keep = (list: Buffer[], chunk: Buffer, len: number): number => {
      list.push(chunk);
      len += chunk.length;
      while (len > max && list.length > 1) len -= list.shift()!.length;
      return len;
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      outLen = keep(out, chunk, outLen);
      both.push(chunk);
      options.onOutput?.('stdout', chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      errLen = keep(err, chunk, errLen);
      both.push(chunk);
      options.onOutput?.('stderr', chunk);
    });
    if (options.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(options.input);
    }
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killTree(child);
        }, options.timeoutMs)
      : undefined;
    const onAbort = () => killTree(child);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      live.delete(child);
      let bothText = Buffer.concat(both).toString('utf8');
      if (bothText.length > max) bothText = bothText.slice(-max);
      resolvePromise({
        argv,
        code: spawnError ? null : code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        output: bothText,
        timedOut,
        durationMs: performance.now() - started,
        ...(spawnError ? { spawnError } : {}),
      });
    });
  });
}

/** Quotes argv for display (copy-pastable into a POSIX shell). Never used to run anything. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
