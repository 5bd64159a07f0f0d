#!/usr/bin/env node
// Benchmark: kiln's CPIO and GPT writers vs the host tools they replace, on the shared payload
// (2,002 files, ~51 MB; bench/make-payload.sh), same run, interleaved, median of 3.
//   cpio  kiln (library): `node` + import dist/formats/cpio + read the folder + writeCpioFile (Node start-up included)
//         kiln (CLI):     `node bin/kiln.js image cpio OUT --from payload`
//         peer:           `(cd payload && find . | LC_ALL=C sort | cpio -o -H newc)` (peers.sh cpio)
//         floor:          `tar cf - payload | cat > out.tar` (peers.sh floor)
//   gpt   kiln (library): `node` + import dist/formats/gpt + writeGptFile 160 MiB disk, ESP = esp.img (128 MiB FAT32) copied in
//         kiln (CLI):     `node bin/kiln.js image gpt OUT --size 160M --part esp:128M:esp.img`
//         peer:           `truncate` + `sgdisk -n 1:2048:+128M -t 1:ef00` + `dd conv=sparse` (peers.sh gpt)
// Wall time and peak RSS (/usr/bin/time -f %M). Outputs are checked: cpio -it lists the same names,
// sgdisk -v finds no problems.
// Usage: npm run build && node bench/cpio-gpt.bench.mjs   (BENCH_DIR=... to reuse a payload; RUNS=3)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { benchDir, benchEnv as env, ensurePayload, median, repo, runs, shared, timed } from './_setup.mjs';

ensurePayload();
for (const f of ['dist/formats/cpio/index.js', 'dist/formats/gpt/index.js'])
  if (!existsSync(join(repo, f))) throw new Error('dist/ is missing: run `npm run build` first');
// The GPT jobs copy the ESP that the FAT peer makes (as peers.sh gpt does).
if (!existsSync(join(benchDir, 'esp.img'))) {
  const r = spawnSync('bash', [join(shared, 'peers.sh'), 'fat'], { cwd: benchDir, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('peers.sh fat failed');
}

const payload = join(benchDir, 'payload');
const dist = (p) => JSON.stringify(join(repo, 'dist', p));
const cpioLib = join(benchDir, 'kiln-lib.cpio');
const cpioCli = join(benchDir, 'kiln-cli.cpio');
const gptLib = join(benchDir, 'kiln-lib-disk.img');
const gptCli = join(benchDir, 'kiln-cli-disk.img');
const cpioScript = `
  const { writeCpioFile } = await import(${dist('formats/cpio/index.js')});
  const io = await import(${dist('formats/io/index.js')});
  const tree = io.treeFromDirectorySync ? io.treeFromDirectorySync(${JSON.stringify(payload)}) : await io.treeFromDirectory(${JSON.stringify(payload)});
  await writeCpioFile(${JSON.stringify(cpioLib)}, tree);`;
const gptScript = `
  const { writeGptFile } = await import(${dist('formats/gpt/index.js')});
  const { fileContent } = await import(${dist('formats/io/content.js')});
  await writeGptFile(${JSON.stringify(gptLib)}, { size: '160M', partitions: [{ type: 'esp', size: '128M', content: await fileContent(${JSON.stringify(join(benchDir, 'esp.img'))}) }] });`;

const groups = {
  cpio: {
    peer: 'find|sort|cpio -o',
    jobs: {
      'kiln (library)': [process.execPath, '--input-type=module', '-e', cpioScript],
      'kiln (CLI)': [process.execPath, join(repo, 'bin/kiln.js'), 'image', 'cpio', cpioCli, '--from', payload],
      'find|sort|cpio -o': ['bash', join(shared, 'peers.sh'), 'cpio'],
      'tar | cat (floor)': ['bash', join(shared, 'peers.sh'), 'floor'],
      'node floor': [
        process.execPath,
        join(shared, 'node-floor.mjs'),
        'walk-copy',
        payload,
        join(benchDir, 'node-floor.out'),
      ],
    },
  },
  gpt: {
    peer: 'sgdisk + dd',
    jobs: {
      'kiln (library)': [process.execPath, '--input-type=module', '-e', gptScript],
      'kiln (CLI)': [
        process.execPath,
        join(repo, 'bin/kiln.js'),
        'image',
        'gpt',
        gptCli,
        '--size',
        '160M',
        '--part',
        `esp:128M:${join(benchDir, 'esp.img')}`,
      ],
      'sgdisk + dd': ['bash', join(shared, 'peers.sh'), 'gpt'],
      'node floor': [
        process.execPath,
        join(shared, 'node-floor.mjs'),
        'copy',
        join(benchDir, 'esp.img'),
        join(benchDir, 'node-floor.out'),
        String(1 << 20),
      ],
    },
  },
};

const results = {};
for (const [group, { jobs }] of Object.entries(groups)) {
  results[group] = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
  for (let i = 0; i < runs; i++)
    for (const [name, argv] of Object.entries(jobs)) results[group][name].push(timed(argv));
}

// The outputs are real: same names as GNU cpio's archive; sgdisk -v clean.
const names = (file) => {
  const r = spawnSync('cpio', ['-it', '--quiet', '-F', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`cpio -it ${file}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l && l !== '.')
    .map((l) => l.replace(/^\.\//, ''))
    .sort()
    .join('\n');
};
const reference = names(join(benchDir, 'out.cpio'));
for (const f of [cpioLib, cpioCli])
  if (names(f) !== reference) throw new Error(`${f} does not list the same names as GNU cpio's archive`);
for (const f of [gptLib, gptCli, join(benchDir, 'disk.img')]) {
  const v = spawnSync('sgdisk', ['-v', f], { encoding: 'utf8' });
  if (!v.stdout.includes('No problems found.') || /warning|caution/i.test(v.stdout))
    throw new Error(`sgdisk -v ${f}: ${v.stdout}`);
}

console.log(`payload ${payload} (median of ${runs}, same run, wall time includes Node start-up)`);
for (const [group, { peer }] of Object.entries(groups)) {
  const peerMs = median(results[group][peer].map((r) => r.ms));
  const floorMs = results[group]['tar | cat (floor)']
    ? median(results[group]['tar | cat (floor)'].map((r) => r.ms))
    : undefined;
  console.log(`\n${group}`);
  console.log(
    'tool'.padEnd(22),
    'wall ms'.padStart(9),
    'cpu ms'.padStart(9),
    'peak MB'.padStart(9),
    'vs peer'.padStart(9),
    floorMs ? 'vs floor'.padStart(9) : '',
  );
  for (const [name, rs] of Object.entries(results[group])) {
    const ms = median(rs.map((r) => r.ms));
    const mb = median(rs.map((r) => r.kb)) / 1024;
    const cpu = median(rs.map((r) => r.cpu));
    console.log(
      name.padEnd(22),
      ms.toFixed(0).padStart(9),
      (Number.isNaN(cpu) ? '-' : cpu.toFixed(0)).padStart(9),
      (Number.isNaN(mb) ? '-' : mb.toFixed(1)).padStart(9),
      `${(ms / peerMs).toFixed(2)}x`.padStart(9),
      floorMs ? `${(ms / floorMs).toFixed(2)}x`.padStart(9) : '',
    );
  }
}
const node0 = median([0, 1, 2].map(() => timed([process.execPath, '-e', '0']).ms));
console.log(
  `\n(node -e 0 alone: ${node0.toFixed(0)} ms; "node floor" = bench/node-floor.mjs, the same reads and writes in the least Node code;`,
);
console.log(" cpio outputs list the same names as GNU cpio's, GPT outputs, the peer's included, pass sgdisk -v)");
if (!process.env.KEEP)
  for (const f of [cpioLib, cpioCli, gptLib, gptCli, join(benchDir, 'node-floor.out')]) rmSync(f, { force: true });
