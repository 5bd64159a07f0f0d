#!/usr/bin/env node
// Benchmark: a 128 MiB FAT32 image of the shared payload (2,002 files, ~51 MB).
//   kiln (library): `node` + import dist/formats/fat + treeFromDirectorySync + writeFat (Node start-up included)
//   kiln (CLI):     `node bin/kiln.js image fat OUT --size 128M --type 32 --from payload` (start-up of the whole CLI included)
//   peer:           `mkfs.fat -F 32 -C esp.img 131072` + `mcopy -s` (bench/peers.sh fat)
//   node floor:     bench/node-floor.mjs walk-copy: Node starting up, walking the payload and moving the same
//                   bytes with the same system calls in the least code (no FAT): what kiln cannot beat
// Same payload, same run, interleaved, median of 3: wall time, and (via /usr/bin/time when present) CPU
// time (user + sys, steadier than wall time on a loaded machine) and peak RSS.
// Usage: npm run build && node bench/fat.bench.mjs   (BENCH_DIR=... to reuse a payload; RUNS=3)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

import { benchDir, ensurePayload, median, repo, runs, shared, timed } from './_setup.mjs';

ensurePayload();
if (!existsSync(join(repo, 'dist/formats/fat/index.js')))
  throw new Error('dist/ is missing: run `npm run build` first');

const payload = join(benchDir, 'payload');
const libImage = join(benchDir, 'kiln-lib.img');
const cliImage = join(benchDir, 'kiln-cli.img');
const floorOut = join(benchDir, 'node-floor.out');
const libScript = `
  const { writeFat } = await import(${JSON.stringify(join(repo, 'dist/formats/fat/index.js'))});
  const io = await import(${JSON.stringify(join(repo, 'dist/formats/io/index.js'))});
  const tree = io.treeFromDirectorySync(${JSON.stringify(payload)});
  await io.writeImageFile(${JSON.stringify(libImage)}, 128 * 1024 * 1024, (sink) => writeFat(sink, tree, { type: 32 }));`;

const jobs = {
  'kiln (library)': [process.execPath, '--input-type=module', '-e', libScript],
  'kiln (CLI)': [
    process.execPath,
    join(repo, 'bin/kiln.js'),
    'image',
    'fat',
    cliImage,
    '--size',
    '128M',
    '--type',
    '32',
    '--from',
    payload,
  ],
  'mkfs.fat + mcopy': ['bash', join(shared, 'peers.sh'), 'fat'],
  'node floor': [process.execPath, join(shared, 'node-floor.mjs'), 'walk-copy', payload, floorOut],
};

const results = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, argv] of Object.entries(jobs)) results[name].push(timed(argv));
}
const peer = median(results['mkfs.fat + mcopy'].map((r) => r.ms));

for (const image of [libImage, cliImage, join(benchDir, 'esp.img')]) {
  const f = spawnSync('fsck.fat', ['-n', image], { encoding: 'utf8' });
  const noise = f.stdout
    .split('\n')
    .filter((l) => l && !/^fsck\.fat \d/.test(l) && !/files, \d+\/\d+ clusters$/.test(l));
  if (f.status !== 0 || noise.length) throw new Error(`fsck.fat -n ${image}: ${f.stdout}`);
}

console.log(`FAT32 128 MiB image of ${payload} (median of ${runs}, same run)`);
const peerCpu = median(results['mkfs.fat + mcopy'].map((r) => r.cpu));
console.log(
  'tool'.padEnd(20),
  'wall ms'.padStart(9),
  'vs peer'.padStart(9),
  'cpu ms'.padStart(9),
  'vs peer'.padStart(9),
  'peak MB'.padStart(9),
);
for (const [name, rs] of Object.entries(results)) {
  const ms = median(rs.map((r) => r.ms));
  const cpu = median(rs.map((r) => r.cpu));
  const mb = median(rs.map((r) => r.kb)) / 1024;
  console.log(
    name.padEnd(20),
    ms.toFixed(0).padStart(9),
    `${(ms / peer).toFixed(2)}x`.padStart(9),
    (Number.isNaN(cpu) ? '-' : cpu.toFixed(0)).padStart(9),
    (Number.isNaN(cpu) ? '-' : `${(cpu / peerCpu).toFixed(2)}x`).padStart(9),
    (Number.isNaN(mb) ? '-' : mb.toFixed(1)).padStart(9),
  );
}
const node0 = [0, 1, 2].map(() => timed([process.execPath, '-e', '0']));
console.log(
  `(node -e 0 alone: ${median(node0.map((r) => r.ms)).toFixed(0)} ms wall, ${median(node0.map((r) => r.cpu)).toFixed(0)} ms cpu; load average ${loadavg()[0].toFixed(1)}; all images pass fsck.fat -n)`,
);
if (!process.env.KEEP) for (const f of [libImage, cliImage, floorOut]) rmSync(f, { force: true });
