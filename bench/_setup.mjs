// Shared by the format benchmarks: the repository root, the bench folder (BENCH_DIR), the run count
// (RUNS), /usr/bin/time for peak memory, and the deterministic payload (bench/make-payload.sh:
// 2,002 files, ~51 MB — the same payload the peer timings in ENVIRONMENT.md used). The peer
// pipelines are bench/peers.sh.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Folder of make-payload.sh and peers.sh. */
export const shared = join(repo, 'bench');
export const benchDir = process.env.BENCH_DIR ?? join(tmpdir(), 'kiln-bench');
export const runs = Number(process.env.RUNS ?? 3);
export const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Creates the payload under benchDir once. */
export function ensurePayload() {
  mkdirSync(benchDir, { recursive: true });
  if (!existsSync(join(benchDir, 'payload'))) {
    const r = spawnSync('bash', [join(shared, 'make-payload.sh'), benchDir], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('make-payload.sh failed');
  }
}

/** The environment every bench job runs in: the bench folder and a fixed build epoch. */
export const benchEnv = { ...process.env, BENCH_DIR: benchDir, SOURCE_DATE_EPOCH: '1700000000' };

/**
 * Runs argv in the bench folder (throwing on failure): wall ms, and through /usr/bin/time peak KB
 * and CPU ms (user + sys; NaN without /usr/bin/time).
 */
export function timed(argv, env = benchEnv) {
  const full = timeBin ? [timeBin, '-f', '%M %U %S', ...argv] : argv;
  const start = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { cwd: benchDir, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [kb, user, sys] = timeBin ? r.stderr.trim().split('\n').pop().split(' ').map(Number) : [NaN, NaN, NaN];
  return { ms, kb, cpu: (user + sys) * 1000 };
}

/** The median of a list of numbers. */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
