// kiln dev's watcher, chosen by measurement: Node's fs.watch (recursive on the project, or one
// non-recursive watch per folder holding a tracked file) against chokidar 4, on a copy of
// examples/tinyc. For each: time to be ready, latency from a write to its event (median of N), and
// whether an event arrives at all for the ways editors save: in place, by rename (write a temporary
// file, rename it over: VS Code, JetBrains "safe write"), vim's default (rename the file to a
// backup, write a new one, delete the backup), and a new file in a folder created after start.
// Usage: RUNS=30 node bench/watch.bench.mjs
import { cpSync, mkdirSync, renameSync, rmSync, unlinkSync, watch, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchDir, median, repo } from './_setup.mjs';

const N = Number(process.env.RUNS ?? 30);
const root = join(benchDir, 'watch', 'tinyc');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
cpSync(join(repo, 'examples', 'tinyc'), root, { recursive: true, filter: (s) => !/\/(build|\.kiln)(\/|$)/.test(s) });
const target = join(root, 'include', 'serial.h');
const dirs = [
  join(root, 'include'),
  join(root, 'kernel'),
  join(root, 'boot'),
  join(root, 'tools'),
  join(root, 'files'),
  root,
];

/** Watchers under test: each calls onEvent(path) and resolves once ready; close() stops it. */
const watchers = {
  'fs.watch recursive (project)': async (onEvent) => {
    const w = watch(root, { recursive: true }, (_e, name) => onEvent(name ? join(root, name) : root));
    return () => w.close();
  },
  'fs.watch per folder': async (onEvent) => {
    const ws = dirs.map((d) => watch(d, (_e, name) => onEvent(name ? join(d, name) : d)));
    return () => ws.forEach((w) => w.close());
  },
  'fs.watch on the file itself': async (onEvent) => {
    const w = watch(target, () => onEvent(target));
    return () => w.close();
  },
  'chokidar 4 (project)': async (onEvent) => {
    const { watch: chokidarWatch } = await import('chokidar');
    const w = chokidarWatch(root, { ignoreInitial: true, ignored: (p) => /\/(build|\.kiln)(\/|$)/.test(p) });
    w.on('all', (_e, p) => onEvent(p));
    await new Promise((r) => w.once('ready', r));
    return () => w.close();
  },
};

/** Waits up to `ms` for an event whose path is `path`; the time from `act` to it, or undefined. */
async function timeEvent(events, path, act, ms = 1000) {
  events.length = 0;
  const start = performance.now();
  act();
  while (performance.now() - start < ms) {
    const hit = events.find((e) => e.path === path);
    if (hit) return hit.at - start;
    await sleep(1);
  }
  return undefined;
}

const saves = {
  'in place': (p) => writeFileSync(p, `/* ${Math.random()} */\n`),
  'rename over': (p) => {
    writeFileSync(`${p}.tmp`, `/* ${Math.random()} */\n`);
    renameSync(`${p}.tmp`, p);
  },
  'vim (backup, new file)': (p) => {
    renameSync(p, `${p}~`);
    writeFileSync(p, `/* ${Math.random()} */\n`);
    unlinkSync(`${p}~`);
  },
};

const rows = [];
for (const [name, make] of Object.entries(watchers)) {
  const events = [];
  const t0 = performance.now();
  const close = await make((path) => events.push({ path, at: performance.now() }));
  const readyMs = performance.now() - t0;
  await sleep(100);
  const row = { name, readyMs };
  for (const [save, act] of Object.entries(saves)) {
    const times = [];
    let lost = 0;
    for (let i = 0; i < N; i++) {
      const t = await timeEvent(events, target, () => act(target));
      if (t === undefined) lost++;
      else times.push(t);
      await sleep(150); // saves seconds apart in real use; chokidar throttles a path's events for 50 ms
    }
    row[save] = { median: times.length ? median(times) : NaN, lost };
  }
  // A folder created after the watch started, then a file written in it.
  const fresh = join(root, 'kernel', `new-${name.length}`, 'x.c');
  mkdirSync(dirname(fresh), { recursive: true });
  await sleep(200);
  const t = await timeEvent(events, fresh, () => writeFileSync(fresh, 'int x;\n'));
  row['new folder'] = t === undefined ? 'lost' : `${t.toFixed(1)} ms`;
  close();
  rows.push(row);
  await sleep(100);
}

const cell = (c) =>
  `${Number.isNaN(c.median) ? '—' : `${c.median.toFixed(2)} ms`}${c.lost ? ` (${c.lost}/${N} lost)` : ''}`;
process.stdout.write(
  `watchers on a copy of examples/tinyc, ${N} saves of include/serial.h each (Node ${process.version})\n`,
);
process.stdout.write(
  '| watcher | ready | in place | rename over | vim (backup, new file) | new folder |\n| --- | --- | --- | --- | --- | --- |\n',
);
for (const r of rows) {
  process.stdout.write(
    `| ${r.name} | ${r.readyMs.toFixed(1)} ms | ${cell(r['in place'])} | ${cell(r['rename over'])} | ${cell(r['vim (backup, new file)'])} | ${r['new folder']} |\n`,
  );
}
