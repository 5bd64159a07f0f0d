// kiln vs ninja vs make on the same generated project of N `cp` steps (one input, one output each),
// in the same run, with `node -e 0` as the floor: a full build with -j2 (FULL runs, each after
// removing every output) and a no-op build (RUNS runs, interleaved kiln/ninja/make/node).
// Prints min / median / max wall times, the median CPU time (user + sys of the command and its
// children: on a loaded machine the wall time is mostly waiting), the median ratios and the load.
// Usage: node bench/noop.bench.mjs [steps=1000] [runs=5] [full=1]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const loadAtStart = loadavg()[0].toFixed(2);
const N = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.argv[3] ?? 5);
const FULL = Number(process.argv[4] ?? 1);
const kiln = resolve(import.meta.dirname, '..', 'bin', 'kiln.js');
const dir = join(tmpdir(), `kiln-bench-noop-${N}-${process.pid}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'src'), { recursive: true });
for (let i = 0; i < N; i++) writeFileSync(join(dir, 'src', `in${i}.txt`), `input ${i}\n`);

writeFileSync(
  join(dir, 'kiln.config.ts'),
  `import { defineConfig, command, out } from 'kiln';
const components = {};
for (let i = 0; i < ${N}; i++) {
  components['s' + i] = command({ argv: ['cp', 'src/in' + i + '.txt', out('k/out' + i + '.txt')], inputs: ['src/in' + i + '.txt'], outputs: ['k/out' + i + '.txt'] });
}
export default defineConfig({ name: 'bench', components });
`,
);
let ninja = 'rule cp\n  command = cp $in $out\n';
let make = 'all:';
for (let i = 0; i < N; i++) make += ` m/out${i}.txt`;
make += '\n';
for (let i = 0; i < N; i++) {
  ninja += `build n/out${i}.txt: cp src/in${i}.txt\n`;
  make += `m/out${i}.txt: src/in${i}.txt\n\t@mkdir -p m && cp $< $@\n`;
}
writeFileSync(join(dir, 'build.ninja'), ninja);
writeFileSync(join(dir, 'Makefile'), make);

const env = { ...process.env, CI: 'true' };
/** CPU ms (user + sys) of this process's waited-for children so far (/proc: clock ticks of 10 ms). */
const childCpuMs = () => {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10; // cutime, cstime
};
const cpu = new Map();
const time = (argv, name) => {
  const c0 = childCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  if (name) cpu.set(name, [...(cpu.get(name) ?? []), childCpuMs() - c0]);
  return ms;
};
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const row = (name, xs, key) => {
  const { min, median, max } = stats(xs);
  const c = cpu.get(key) ?? [];
  const cpuText = c.length ? `   cpu ${stats(c).median.toFixed(0).padStart(6)} ms` : '';
  return `  ${name.padEnd(10)} ${min.toFixed(1).padStart(9)} ${median.toFixed(1).padStart(9)} ${max.toFixed(1).padStart(9)} ms${cpuText}`;
};

const tools = {
  kiln: {
    build: [process.execPath, kiln, 'build', '--plain'],
    full: [process.execPath, kiln, 'build', '--plain', '-j', '2'],
    clean: ['build', '.kiln'],
  },
  ninja: { build: ['ninja'], full: ['ninja', '-j2'], clean: ['n', '.ninja_log', '.ninja_deps'] },
  make: { build: ['make', '-s'], full: ['make', '-s', '-j2'], clean: ['m'] },
};
const full = { kiln: [], ninja: [], make: [] };
for (let r = 0; r < FULL; r++) {
  for (const [name, t] of Object.entries(tools)) {
    for (const p of t.clean) rmSync(join(dir, p), { recursive: true, force: true });
    full[name].push(time(t.full, `full ${name}`));
  }
}
// The first kiln build after the full one plans and writes the plan cache; not counted.
time(tools.kiln.build);
const noop = { kiln: [], ninja: [], make: [], 'node -e 0': [] };
for (let r = 0; r < RUNS; r++) {
  for (const [name, t] of Object.entries(tools)) noop[name].push(time(t.build, `noop ${name}`));
  noop['node -e 0'].push(time([process.execPath, '-e', '0'], 'noop node -e 0'));
}
const med = (xs) => stats(xs).median;
const load = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
console.log(`${N} cp steps; wall time            min    median       max   (cpu: median user+sys)`);
console.log(`full build -j2 (${FULL} run${FULL === 1 ? '' : 's'}, outputs removed first):`);
for (const [name, xs] of Object.entries(full)) console.log(row(name, xs, `full ${name}`));
console.log(`no-op build (${RUNS} runs):`);
for (const [name, xs] of Object.entries(noop)) console.log(row(name, xs, `noop ${name}`));
const k = med(noop.kiln);
console.log(
  `ratios of medians: no-op kiln/make ${(k / med(noop.make)).toFixed(2)}x, kiln/ninja ${(k / med(noop.ninja)).toFixed(1)}x, kiln/node ${(k / med(noop['node -e 0'])).toFixed(2)}x; full kiln/ninja ${(med(full.kiln) / med(full.ninja)).toFixed(2)}x, kiln/make ${(med(full.kiln) / med(full.make)).toFixed(2)}x`,
);
console.log(
  `per step: no-op kiln ${((k - med(noop['node -e 0'])) / N).toFixed(3)} ms over node; full kiln ${(med(full.kiln) / N).toFixed(2)} ms, ninja ${(med(full.ninja) / N).toFixed(2)} ms`,
);
const cpuMed = (key) => (cpu.get(key)?.length ? stats(cpu.get(key)).median : NaN);
console.log(
  `cpu ratios of medians: no-op kiln/make ${(cpuMed('noop kiln') / cpuMed('noop make')).toFixed(2)}x; full kiln/ninja ${(cpuMed('full kiln') / cpuMed('full ninja')).toFixed(2)}x`,
);
console.log(`load average: ${loadAtStart} at the start; ${load} (1, 5, 15 min) at the end`);
rmSync(dir, { recursive: true, force: true });
