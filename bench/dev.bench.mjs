// From a saved file to the first serial line of the new boot, three ways, same edit, same run:
//   kiln dev           one long-running process: the write is all it gets;
//   kiln build --run   a new kiln per edit (config load, plan, build, QEMU);
//   make + QEMU        make (the same compiler commands) then the same QEMU command line.
// For examples/hello (nasm boot sector, 1 MiB raw disk, BIOS) and examples/tinyc (a C kernel: one
// .c file recompiled, linked, objcopy, disk image; 2 IDE disks). The edit changes the text of the
// first serial line, so the line seen proves it is the new image that booted. kiln dev's own share
// (everything but the tools and QEMU) is what kiln dev prints per change: from the file's mtime to
// QEMU's spawn, minus the wall time its tools ran.
// Usage: RUNS=5 node bench/dev.bench.mjs
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { TINYC_MAKEFILE, benchDir, median, repo, runs } from './_setup.mjs';

const kiln = join(repo, 'bin', 'kiln.js');
const root = join(benchDir, 'dev');
const env = { ...process.env, NO_COLOR: '1', CI: 'true' };

// The same commands kiln runs (its build log shows them), as Makefiles (tinyc's from _setup.mjs).
const MAKEFILES = {
  hello: `out/hello.img: boot.asm
\t@mkdir -p out
\tnasm -f bin -o out/boot.bin boot.asm
\ttruncate -s 1M out/hello.img.tmp && dd if=out/boot.bin of=out/hello.img.tmp conv=notrunc status=none && mv out/hello.img.tmp out/hello.img
`,
  tinyc: TINYC_MAKEFILE,
};

/** Per example: the file edited, the edit (its marker is the first serial line's new text), the target folder. */
const EXAMPLES = {
  hello: { file: 'boot.asm', from: /Hello from [^']*/, to: (i) => `Hello from bench ${i}`, target: 'x86_64-debug' },
  tinyc: {
    file: 'kernel/kmain.c',
    from: /tinyc[^:"]*: 32-bit kernel/,
    to: (i) => `tinyc ${i}: 32-bit kernel`,
    target: 'i386-debug',
  },
};

function copy(name, to) {
  const from = join(repo, 'examples', name);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true, filter: (s) => !/\/(build|\.kiln|out)(\/|$)/.test(s.slice(from.length)) });
  return to;
}

/** Writes the edit for round `i`; returns performance.now() just before the write and the marker. */
function edit(dir, ex, i) {
  const path = join(dir, ex.file);
  const text = readFileSync(path, 'utf8').replace(ex.from, ex.to(i));
  const at = performance.now();
  writeFileSync(path, text);
  return { at, marker: ex.to(i) };
}

/** A child whose stdout/stderr are kept; `until(text)` resolves at performance.now() when stdout has it. */
function start(argv, cwd) {
  const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const p = { child, out: '', err: '', waiters: [] };
  const check = () => {
    for (const w of [...p.waiters]) {
      const i = p[w.stream].indexOf(w.text, w.from);
      if (i >= 0) {
        p.waiters.splice(p.waiters.indexOf(w), 1);
        w.resolve({ at: performance.now(), end: i + w.text.length });
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (c) => ((p.out += c), check()));
  child.stderr.setEncoding('utf8').on('data', (c) => ((p.err += c), check()));
  p.until = (text, stream = 'out', from = 0, ms = 120_000) =>
    new Promise((resolve, reject) => {
      const w = { text, stream, from, resolve };
      p.waiters.push(w);
      check();
      setTimeout(() => reject(new Error(`no "${text}" from ${argv.join(' ')}\n${p.out}\n${p.err}`)), ms).unref();
    });
  p.exited = new Promise((resolve) => child.on('close', resolve));
  p.stop = async () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await p.exited;
  };
  return p;
}

async function benchDev(name, ex) {
  const dir = copy(name, join(root, name, 'dev'));
  const dev = start([process.execPath, kiln, 'dev'], dir);
  await dev.until(name === 'hello' ? 'Hello from hello' : 'tinyc> ', 'out', 0, 300_000);
  const rows = [];
  for (let i = 1; i <= runs; i++) {
    await sleep(800);
    const from = dev.out.length;
    const fromErr = dev.err.length;
    const { at, marker } = edit(dir, ex, i);
    const seen = await dev.until(marker, 'out', from);
    const line = await dev.until('\n', 'err', (await dev.until('(tools ', 'err', fromErr)).end);
    const m = /· (\d+) ms \(tools (\d+) ms, kiln (\d+) ms, kiln cpu (\d+) ms\)/.exec(dev.err.slice(fromErr, line.end));
    rows.push({
      total: seen.at - at,
      tools: Number(m?.[2] ?? NaN),
      kiln: Number(m?.[3] ?? NaN),
      cpu: Number(m?.[4] ?? NaN),
    });
  }
  dev.child.stdin.write('q');
  await Promise.race([dev.exited, sleep(10_000)]);
  await dev.stop();
  return rows;
}

async function benchBuildRun(name, ex) {
  const dir = copy(name, join(root, name, 'build-run'));
  spawnSync(process.execPath, [kiln, 'build'], { cwd: dir, env });
  const times = [];
  for (let i = 1; i <= runs; i++) {
    const { at, marker } = edit(dir, ex, i);
    const p = start([process.execPath, kiln, 'build', '--run', '--plain'], dir);
    const seen = await p.until(marker);
    times.push(seen.at - at);
    await p.stop();
  }
  return times;
}

async function benchMake(name, ex) {
  const dir = copy(name, join(root, name, 'make'));
  writeFileSync(join(dir, 'Makefile'), MAKEFILES[name]);
  // The QEMU command line kiln boots, pointed at make's images.
  const dry = spawnSync(process.execPath, [kiln, 'run', '--dry-run'], { cwd: dir, env, encoding: 'utf8' });
  const qemu = dry.stdout
    .trim()
    .split('\n')
    .pop()
    .split(' ')
    .map((a) => a.replace(join(dir, 'build', ex.target), join(dir, 'out')));
  spawnSync('make', ['-s', '-j2'], { cwd: dir });
  const times = [];
  const boots = [];
  for (let i = 1; i <= runs; i++) {
    const { at, marker } = edit(dir, ex, i);
    const made = spawnSync('make', ['-s', '-j2'], { cwd: dir, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`make failed: ${made.stderr}`);
    const spawned = performance.now();
    const p = start(qemu, dir);
    const seen = await p.until(marker);
    times.push(seen.at - at);
    boots.push(seen.at - spawned);
    await p.stop();
  }
  return { times, boots };
}

const fmt = (x) => `${Math.round(x)} ms`;
process.stdout.write(
  `From a file's write to the first serial line of the new boot (median of ${runs}; Node ${process.version})\n\n`,
);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
process.stdout.write(
  "| example | kiln dev | kiln build --run | make + QEMU | kiln dev: tools | kiln dev: kiln's own share | kiln dev: kiln's CPU | QEMU to first line |\n",
);
process.stdout.write('| --- | --- | --- | --- | --- | --- | --- | --- |\n');
for (const [name, ex] of Object.entries(EXAMPLES)) {
  const dev = await benchDev(name, ex);
  const buildRun = await benchBuildRun(name, ex);
  const make = await benchMake(name, ex);
  process.stdout.write(
    `| ${name} | ${fmt(median(dev.map((r) => r.total)))} | ${fmt(median(buildRun))} | ${fmt(median(make.times))} | ${fmt(median(dev.map((r) => r.tools)))} | ${fmt(median(dev.map((r) => r.kiln)))} (each: ${dev.map((r) => r.kiln).join(', ')}) | ${fmt(median(dev.map((r) => r.cpu)))} | ${fmt(median(make.boots))} |\n`,
  );
}
process.stdout.write(`\nload average at the start: ${load} (${availableParallelism()} cores)\n`);
