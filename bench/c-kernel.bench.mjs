// A C kernel built by kiln and by make -j2 -MD with the same compiler and flags, in the same run:
// examples/tinyc (boot block, 17 kernel .c files + entry.S sharing headers, a host mkfs, two disks).
// Four cases: clean build, no-op, one .c edit, one header edit (shell.h, included by 10 files).
// Prints median wall times, the kiln/make ratios, and which files each recompiled for the header
// edit (kiln: --json step-action events; make: the compile lines it ran) — they must be the same.
// Usage: RUNS=5 node bench/c-kernel.bench.mjs
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TINYC_MAKEFILE, benchDir, median, repo, runs } from './_setup.mjs';

const example = join(repo, 'examples', 'tinyc');
const kiln = join(repo, 'bin', 'kiln.js');
const root = join(benchDir, 'c-kernel');
const kdir = join(root, 'kiln');
const mdir = join(root, 'make');
rmSync(root, { recursive: true, force: true });
for (const d of [kdir, mdir]) {
  mkdirSync(d, { recursive: true });
  cpSync(example, d, { recursive: true, filter: (src) => !/\/(build|\.kiln)(\/|$)/.test(src.slice(example.length)) });
}

writeFileSync(join(mdir, 'Makefile'), TINYC_MAKEFILE);

const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
function run(argv, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed in ${cwd}: ${r.stderr}${r.stdout}`);
  return { ms, stdout: r.stdout };
}
const kilnBuild = () => run([process.execPath, kiln, 'build', '--json', '-j', '2'], kdir);
const makeBuild = () => run(['make', '-j2'], mdir);
const kilnCompiled = (stdout) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{"type":"step-action"'))
    .map((l) => JSON.parse(l).input)
    .sort();
const makeCompiled = (stdout) =>
  stdout
    .split('\n')
    .filter((l) => / -c \S+\.[cS] /.test(l))
    .map((l) => / -c (\S+)/.exec(l)[1])
    .sort();

const node = [];
const cases = {
  clean: { kiln: [], make: [] },
  noop: { kiln: [], make: [] },
  'one .c edit': { kiln: [], make: [] },
  'header edit': { kiln: [], make: [] },
};
let sets;
for (let i = 0; i < runs; i++) {
  rmSync(join(kdir, 'build'), { recursive: true, force: true });
  rmSync(join(kdir, '.kiln'), { recursive: true, force: true });
  rmSync(join(mdir, 'out'), { recursive: true, force: true });
  cases.clean.kiln.push(kilnBuild().ms);
  cases.clean.make.push(makeBuild().ms);
  cases.noop.kiln.push(kilnBuild().ms);
  cases.noop.make.push(makeBuild().ms);
  node.push(run([process.execPath, '-e', '0'], kdir).ms);
  for (const d of [kdir, mdir]) appendFileSync(join(d, 'kernel/cmd_echo.c'), `/* edit ${i} */\n`);
  cases['one .c edit'].kiln.push(kilnBuild().ms);
  cases['one .c edit'].make.push(makeBuild().ms);
  for (const d of [kdir, mdir]) appendFileSync(join(d, 'include/shell.h'), `/* edit ${i} */\n`);
  const k = kilnBuild();
  const m = makeBuild();
  cases['header edit'].kiln.push(k.ms);
  cases['header edit'].make.push(m.ms);
  sets = { kiln: kilnCompiled(k.stdout), make: makeCompiled(m.stdout) };
}

console.log(`examples/tinyc, ${runs} runs, medians (make -j2 with -MD -MP; kiln build -j 2; same clang flags)`);
console.log('case            kiln ms   make ms   kiln/make');
for (const [name, t] of Object.entries(cases)) {
  const k = median(t.kiln);
  const m = median(t.make);
  console.log(
    `${name.padEnd(14)} ${k.toFixed(0).padStart(8)} ${m.toFixed(0).padStart(9)} ${(k / m).toFixed(2).padStart(10)}x`,
  );
}
const same = JSON.stringify(sets.kiln) === JSON.stringify(sets.make);
const nodeMs = median(node);
console.log(
  `node -e 0 ${nodeMs.toFixed(0)} ms: kiln no-op = ${(median(cases.noop.kiln) / nodeMs).toFixed(2)}x node -e 0`,
);
const edit = cases['one .c edit'];
console.log(
  `one .c edit: kiln's own time (kiln minus make, same compile/link/objcopy) ~ ${(median(edit.kiln) - median(edit.make)).toFixed(0)} ms`,
);
console.log(
  `header edit recompiled: kiln ${sets.kiln.length} files, make ${sets.make.length} files — ${same ? 'the same set' : `DIFFERENT: kiln ${sets.kiln.join(' ')} / make ${sets.make.join(' ')}`}`,
);
