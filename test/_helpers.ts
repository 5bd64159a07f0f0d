// Shared test helpers: spawning the real CLI, temporary folders, tool presence.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export const repoRoot = resolve(import.meta.dirname, '..');
export const kilnBin = join(repoRoot, 'bin', 'kiln.js');

/** Runs the built `kiln` CLI synchronously. */
export function runKiln(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [kilnBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...options.env },
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
  });
}

/** A temporary folder removed after the test file's tests ran. */
export function tempDir(prefix = 'kiln-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * For `describe.skipIf(missingTools({...}))`: true when a host tool a suite needs is missing. Under
 * CI=true a missing tool fails the file instead, naming it (CI installs every tool with
 * scripts/setup.mjs, so a skip there would hide a broken setup).
 */
export function missingTools(present: Record<string, boolean>): boolean {
  const missing = Object.keys(present).filter((name) => !present[name]);
  if (missing.length === 0) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(
      `missing ${missing.join(', ')}: under CI=true a test needing a tool fails (scripts/setup.mjs installs it)`,
    );
  }
  console.warn(`skipped: ${missing.join(', ')} not installed`);
  return true;
}

/**
 * Waits until `ready()` holds, polling every 20 ms. No deadline of its own: the test's timeout bounds
 * it, so a loaded machine makes the test slower, never wrong.
 */
export async function waitUntil(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 20));
}

/** Runs a host tool synchronously (argv array, never a shell). */
export function tool(
  argv: string[],
  options: { cwd?: string; input?: string | Uint8Array; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
  });
}

export interface AsyncRunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without blocking the test worker (vitest's worker RPC times out after 60 s of a
 * blocked event loop: long builds must use this, not spawnSync).
 */
export function runAsync(
  argv: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<AsyncRunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolvePromise({ status, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The async twin of runKiln. */
export function runKilnAsync(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<AsyncRunResult> {
  return runAsync([process.execPath, kilnBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...options.env },
    ...(options.input !== undefined ? { input: options.input } : {}),
    timeoutMs: options.timeoutMs ?? 120_000,
  });
}

/** The async twin of tool. */
export function toolAsync(
  argv: string[],
  options: { cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<AsyncRunResult> {
  return runAsync(argv, options);
}
