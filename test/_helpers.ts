// Shared test helpers: spawning the real CLI, temporary folders, tool presence.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export const repoRoot = resolve(import.meta.dirname, '..');
export const kilnBin = join(repoRoot, 'bin', 'kiln.js');

/** Runs the built `kiln` CLI synchronously. */
export function runKiln(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
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

/** Runs a host tool synchronously (argv array, never a shell). */
export function tool(argv: string[], options: { cwd?: string; input?: string | Uint8Array; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(argv[0]!, argv.slice(1), { cwd: options.cwd, input: options.input, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 });
}
