// ISO benchmarks, kiln vs the host tools it replaces, same input, same run, median of 3:
//   1. `kiln image iso OUT --from payload`  vs  `xorriso -as mkisofs -R -J -o OUT payload`
//      (payload: bench/make-payload.sh, 2,000 files, about 50 MB; both write Rock Ridge + Joliet)
//   2. `kiln image grub-iso OUT --kernel kernel.elf`  vs  `grub-mkrescue -o OUT dir` for a 256 KiB kernel
//      (both: BIOS + UEFI, hybrid; grub-mkrescue also copies every GRUB module into the ISO)
// Wall time includes Node start-up for kiln (it runs the CLI). Peak RSS from /usr/bin/time when present.
// Usage: npm run build && RUNS=5 node bench/iso.bench.mjs   (or: node bench/iso.bench.mjs 5; default 3)
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const RUNS = Number(process.argv[2] ?? process.env.RUNS ?? 3);
const kiln = resolve(import.meta.dirname, '..', 'bin', 'kiln.js');
const dir = join(tmpdir(), 'kiln-bench-iso');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const payloadBytes = execFileSync('bash', [new URL('./make-payload.sh', import.meta.url).pathname, dir], {
  encoding: 'utf8',
}).trim();
const payload = join(dir, 'payload');
const hasTime = existsSync('/usr/bin/time');

function measure(argv, env = {}) {
  const full = hasTime ? ['/usr/bin/time', '-f', '%M %U %S', ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', ...env },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [rss, user, sys] = hasTime ? r.stderr.trim().split('\n').pop().split(' ').map(Number) : [NaN, NaN, NaN];
  return { ms, rssKiB: rss, cpuMs: (user + sys) * 1000 };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function compare(title, kilnArgv, peerArgv, outKiln, outPeer) {
  const k = [];
  const p = [];
  const km = [];
  const pm = [];
  const kc = [];
  const pc = [];
  for (let i = 0; i < RUNS; i++) {
    rmSync(outKiln, { force: true });
    const a = measure(kilnArgv);
    k.push(a.ms);
    km.push(a.rssKiB);
    kc.push(a.cpuMs);
    rmSync(outPeer, { force: true });
    const b = measure(peerArgv);
    p.push(b.ms);
    pm.push(b.rssKiB);
    pc.push(b.cpuMs);
  }
  const mk = median(k);
  const mp = median(p);
  const mb = (kib) => (Number.isNaN(kib) ? '?' : `${(kib / 1024).toFixed(0)} MiB`);
  console.log(title);
  const cpu = (xs) => (Number.isNaN(xs[0]) ? '?' : `${median(xs).toFixed(0)} ms cpu`);
  console.log(
    `  kiln  ${mk.toFixed(0).padStart(6)} ms wall  ${cpu(kc)}  peak ${mb(median(km))}  -> ${(statSync(outKiln).size / 1048576).toFixed(1)} MiB image`,
  );
  console.log(
    `  peer  ${mp.toFixed(0).padStart(6)} ms wall  ${cpu(pc)}  peak ${mb(median(pm))}  -> ${(statSync(outPeer).size / 1048576).toFixed(1)} MiB image`,
  );
  console.log(
    `  kiln/peer = ${(mk / mp).toFixed(2)}x wall, ${(median(kc) / median(pc)).toFixed(2)}x cpu (${mk <= mp ? 'kiln at least as fast' : 'kiln slower'} on the wall clock)`,
  );
}

const cliStart = [0, 1, 2].map(() => measure([process.execPath, kiln, '--version']));
console.log(
  `payload: ${payload} (${(Number(payloadBytes) / 1e6).toFixed(1)} MB), median of ${RUNS}; node -e 0 = ${median([0, 1, 2].map(() => measure([process.execPath, '-e', '0']).ms)).toFixed(0)} ms; kiln --version = ${median(cliStart.map((x) => x.ms)).toFixed(0)} ms wall, ${median(cliStart.map((x) => x.cpuMs)).toFixed(0)} ms cpu`,
);
compare(
  'ISO9660 + Rock Ridge + Joliet of the payload: kiln image iso vs xorriso -as mkisofs -R -J',
  [process.execPath, kiln, 'image', 'iso', join(dir, 'kiln.iso'), '--from', payload],
  ['xorriso', '-as', 'mkisofs', '-quiet', '-R', '-J', '-o', join(dir, 'xorriso.iso'), payload],
  join(dir, 'kiln.iso'),
  join(dir, 'xorriso.iso'),
);

// GRUB ISO for the payload's 256 KiB kernel.
const rescue = join(dir, 'rescue');
mkdirSync(join(rescue, 'boot/grub'), { recursive: true });
copyFileSync(join(payload, 'boot/kernel.elf'), join(rescue, 'boot/kernel.elf'));
writeFileSync(
  join(rescue, 'boot/grub/grub.cfg'),
  'serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\nset timeout=0\nmenuentry kiln {\n  multiboot2 /boot/kernel.elf\n  boot\n}\n',
);
compare(
  'bootable GRUB ISO (BIOS + UEFI, hybrid), 256 KiB kernel: kiln image grub-iso vs grub-mkrescue',
  [
    process.execPath,
    kiln,
    'image',
    'grub-iso',
    join(dir, 'kiln-grub.iso'),
    '--kernel',
    join(payload, 'boot/kernel.elf'),
  ],
  ['grub-mkrescue', '-o', join(dir, 'grub-mkrescue.iso'), rescue],
  join(dir, 'kiln-grub.iso'),
  join(dir, 'grub-mkrescue.iso'),
);
