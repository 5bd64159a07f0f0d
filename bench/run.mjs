#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.mjs in turn (each runs kiln and the peer tool it
// replaces on the same input in the same run and prints the ratio). Pass names to run a subset:
// `npm run bench -- fat iso`.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
let failed = 0;
for (const bench of benches) {
  process.stdout.write(`\n## ${bench}\n`);
  const r = spawnSync(process.execPath, [join(here, bench)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_DIR: process.env.BENCH_DIR ?? join(here, '..', 'build', 'bench') },
  });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
