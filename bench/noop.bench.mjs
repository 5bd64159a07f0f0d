// No-op build of 1,000 command() steps (each touches one output from one input): kiln vs ninja vs
// make on the same generated project, in the same run. Prints median wall times and ratios.
// Usage: node bench/noop.bench.mjs [steps=1000] [runs=5]
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const N = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.argv[3] ?? 5);
const kiln = resolve(import.meta.dirname, '..', 'bin', 'kiln.js');
const dir = join(tmpdir(), `kiln-bench-noop-${N}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'src'), { recursive: true });
for (let i = 0; i < N; i++) writeFileSync(join(dir, 'src', `in${i}.txt`), `input ${i}\n`);

writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig, command, out } from 'kiln';
const components = {};
for (let i = 0; i < ${N}; i++) {
  components['s' + i] = command({ argv: ['cp', 'src/in' + i + '.txt', out('k/out' + i + '.txt')], inputs: ['src/in' + i + '.txt'], outputs: ['k/out' + i + '.txt'] });
}
export default defineConfig({ name: 'bench', components });
`);
let ninja = 'rule cp\n  command = cp $in $out\n';
let make = 'all:';
for (let i = 0; i < N; i++) make += ` n/out${i}.txt`;
make += '\n';
for (let i = 0; i < N; i++) {
  ninja += `build n/out${i}.txt: cp src/in${i}.txt\n`;
  make += `m/out${i}.txt: src/in${i}.txt\n\t@mkdir -p m && cp $< $@\n`;
}
writeFileSync(join(dir, 'build.ninja'), ninja);
writeFileSync(join(dir, 'Makefile'), make.replaceAll(' n/out', ' m/out'));

const time = (argv) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return ms;
};
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Full builds first (not measured beyond one line), then no-op builds.
const full = { kiln: time([process.execPath, kiln, 'build', '--plain']), ninja: time(['ninja', '-j2']), make: time(['make', '-j2', '-s']) };
const noop = { kiln: [], ninja: [], make: [], node: [] };
for (let r = 0; r < RUNS; r++) {
  noop.kiln.push(time([process.execPath, kiln, 'build', '--plain']));
  noop.ninja.push(time(['ninja']));
  noop.make.push(time(['make', '-s']));
  noop.node.push(time([process.execPath, '-e', '0']));
}
const k = median(noop.kiln);
const nj = median(noop.ninja);
const mk = median(noop.make);
console.log(`no-op build of ${N} steps, median of ${RUNS} (full build once: kiln ${full.kiln.toFixed(0)} ms, ninja ${full.ninja.toFixed(0)} ms, make ${full.make.toFixed(0)} ms)`);
console.log(`  kiln  ${k.toFixed(1)} ms   (node -e 0 alone: ${median(noop.node).toFixed(1)} ms)`);
console.log(`  ninja ${nj.toFixed(1)} ms   kiln/ninja = ${(k / nj).toFixed(1)}x`);
console.log(`  make  ${mk.toFixed(1)} ms   kiln/make  = ${(k / mk).toFixed(1)}x`);
console.log(`  target: kiln no-op <= 150 ms -> ${k <= 150 ? 'met' : 'NOT met'}`);
