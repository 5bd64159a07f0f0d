#!/usr/bin/env node
// Benchmark: kiln's VDI and VMDK writers vs `qemu-img convert`, on the shared GPT disk
// (bench/make-payload.sh, then peers.sh fat + gpt: a 160 MiB disk with a 128 MiB
// FAT32 ESP holding the ~51 MB payload), same run, interleaved, median of 3.
//   vdi   kiln (library): `node` + import dist/formats/convert + convertImageFile(disk.img, out.vdi)  (Node start-up included)
//         kiln (CLI):     `node bin/kiln.js image convert disk.img out.vdi --format vdi`
//         peer:           `qemu-img convert -O vdi disk.img disk.vdi` (peers.sh vdi)
//   vmdk  the same with --format vmdk (monolithicSparse) vs `qemu-img convert -O vmdk` (peers.sh vmdk)
//   vmdk-stream  kiln --subformat streamOptimized vs `qemu-img convert -O vmdk -o subformat=streamOptimized`
//   node floor   (vdi and vmdk) the least a Node program does for the job: start, read the disk in
//                2 MiB pieces, skip the all-zero ones (one native compare), write the others one
//                after the other. No format, no fingerprint: kiln cannot beat it, qemu-img can
//                (it skips the holes with SEEK_DATA, which Node does not have).
// Before each timed run, that tool's previous output is removed and `sync` runs (not timed).
// Wall time, CPU time (user + sys) and peak RSS (/usr/bin/time). Every kiln and qemu-img output is
// checked: qemu-img check passes and qemu-img compare says it is identical to disk.img.
// Usage: npm run build && node bench/vdisk.bench.mjs   (BENCH_DIR=... to reuse a payload; RUNS=3)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { benchDir, benchEnv as env, ensurePayload, median, repo, runs, shared, timed } from './_setup.mjs';

ensurePayload();
if (!existsSync(join(repo, 'dist/formats/convert.js'))) throw new Error('dist/ is missing: run `npm run build` first');
// The disk the peers convert: peers.sh fat (esp.img) then peers.sh gpt (disk.img).
for (const job of ['fat', 'gpt']) {
  const file = job === 'fat' ? 'esp.img' : 'disk.img';
  if (existsSync(join(benchDir, file))) continue;
  const r = spawnSync('bash', [join(shared, 'peers.sh'), job], { cwd: benchDir, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`peers.sh ${job} failed`);
}
const disk = join(benchDir, 'disk.img');
const out = (name) => join(benchDir, name);
const lib = (target, options) => [
  process.execPath,
  '--input-type=module',
  '-e',
  `const { convertImageFile } = await import(${JSON.stringify(join(repo, 'dist/formats/convert.js'))});
   await convertImageFile(${JSON.stringify(disk)}, ${JSON.stringify(target)}, ${JSON.stringify(options)});`,
];
const cli = (target, ...args) => [
  process.execPath,
  join(repo, 'bin/kiln.js'),
  'image',
  'convert',
  disk,
  target,
  ...args,
];
const floor = (target) => [
  process.execPath,
  '-e',
  `const fs = require('node:fs');
   const input = fs.openSync(${JSON.stringify(disk)}, 'r'), output = fs.openSync(${JSON.stringify(target)}, 'w');
   const size = fs.fstatSync(input).size, buf = Buffer.alloc(2 << 20), zeros = Buffer.alloc(2 << 20);
   for (let at = 0, pos = 0; at < size; at += buf.length) {
     const n = fs.readSync(input, buf, 0, Math.min(buf.length, size - at), at);
     if (zeros.compare(buf, 0, n, 0, n) !== 0) pos += fs.writeSync(output, buf, 0, n, pos);
   }`,
];

const groups = {
  vdi: {
    peer: 'qemu-img convert -O vdi',
    jobs: {
      'kiln (library)': lib(out('kiln-lib.vdi'), { format: 'vdi' }),
      'kiln (CLI)': cli(out('kiln-cli.vdi'), '--format', 'vdi'),
      'qemu-img convert -O vdi': ['bash', join(shared, 'peers.sh'), 'vdi'],
      'node floor': floor(out('node-floor.vdi')),
    },
    outputs: ['kiln-lib.vdi', 'kiln-cli.vdi', 'disk.vdi', 'node-floor.vdi'],
  },
  vmdk: {
    peer: 'qemu-img convert -O vmdk',
    jobs: {
      'kiln (library)': lib(out('kiln-lib.vmdk'), { format: 'vmdk' }),
      'kiln (CLI)': cli(out('kiln-cli.vmdk'), '--format', 'vmdk'),
      'qemu-img convert -O vmdk': ['bash', join(shared, 'peers.sh'), 'vmdk'],
      'node floor': floor(out('node-floor.vmdk')),
    },
    outputs: ['kiln-lib.vmdk', 'kiln-cli.vmdk', 'disk.vmdk', 'node-floor.vmdk'],
  },
  'vmdk-stream': {
    peer: 'qemu-img (streamOptimized)',
    jobs: {
      'kiln (CLI)': cli(out('kiln-cli-stream.vmdk'), '--format', 'vmdk', '--subformat', 'streamOptimized'),
      'qemu-img (streamOptimized)': [
        'qemu-img',
        'convert',
        '-O',
        'vmdk',
        '-o',
        'subformat=streamOptimized',
        disk,
        out('qemu-stream.vmdk'),
      ],
    },
    outputs: ['kiln-cli-stream.vmdk', 'qemu-stream.vmdk'],
  },
};

const only = process.env.ONLY?.split(',');
const results = {};
for (const [group, { jobs }] of Object.entries(groups)) {
  if (only && !only.includes(group)) continue;
  results[group] = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
  const outputs = groups[group].outputs;
  for (let i = 0; i < runs; i++) {
    Object.entries(jobs).forEach(([name, argv], k) => {
      // Same start for every tool: its previous output removed and dirty pages flushed (not timed),
      // so no run pays for freeing or writing back another run's 50 MB.
      rmSync(out(outputs[k]), { force: true });
      spawnSync('sync');
      results[group][name].push(timed(argv));
    });
  }
}

// The outputs are real: qemu-img check passes and compare finds them identical to the disk.
for (const [group, { outputs }] of Object.entries(groups)) {
  if (!results[group]) continue;
  for (const name of outputs) {
    if (name.startsWith('node-floor')) continue; // not an image
    const file = out(name);
    const check = spawnSync('qemu-img', ['check', file], { encoding: 'utf8' });
    if (check.status !== 0 || !check.stdout.includes('No errors were found'))
      throw new Error(`qemu-img check ${file}: ${check.stdout}${check.stderr}`);
    const cmp = spawnSync('qemu-img', ['compare', '-f', 'raw', disk, file], { encoding: 'utf8' });
    if (cmp.status !== 0 || !cmp.stdout.includes('Images are identical.'))
      throw new Error(`qemu-img compare ${file}: ${cmp.stdout}${cmp.stderr}`);
  }
}

console.log(
  `disk ${disk} (${(statSync(disk).size / 1048576).toFixed(0)} MiB, median of ${runs}, same run, wall time includes Node start-up)`,
);
for (const [group, { peer, outputs, jobs }] of Object.entries(groups)) {
  if (!results[group]) continue;
  const peerMs = median(results[group][peer].map((r) => r.ms));
  console.log(`\n${group}`);
  console.log(
    'tool'.padEnd(28),
    'wall ms'.padStart(9),
    'cpu ms'.padStart(9),
    'peak MB'.padStart(9),
    'vs peer'.padStart(9),
    'out MB'.padStart(9),
  );
  Object.entries(results[group]).forEach(([name, rs], i) => {
    const ms = median(rs.map((r) => r.ms));
    const cpu = median(rs.map((r) => r.cpu));
    const mb = median(rs.map((r) => r.kb)) / 1024;
    const size = statSync(out(outputs[Object.keys(jobs).indexOf(name)] ?? outputs[i])).size / 1048576;
    console.log(
      name.padEnd(28),
      ms.toFixed(0).padStart(9),
      (Number.isNaN(cpu) ? '-' : cpu.toFixed(0)).padStart(9),
      (Number.isNaN(mb) ? '-' : mb.toFixed(1)).padStart(9),
      `${(ms / peerMs).toFixed(2)}x`.padStart(9),
      size.toFixed(1).padStart(9),
    );
  });
}
const node0 = median([0, 1, 2].map(() => timed([process.execPath, '-e', '0']).ms));
console.log(
  `\n(node -e 0 alone: ${node0.toFixed(0)} ms; every kiln and qemu-img output passes qemu-img check and compares identical to disk.img)`,
);
if (!process.env.KEEP)
  for (const { outputs } of Object.values(groups))
    for (const f of outputs) if (/^(kiln|qemu|node-floor)/.test(f)) rmSync(out(f), { force: true });
