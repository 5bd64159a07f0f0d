// kiln's overhead around QEMU: `kiln test` of a kernel that prints two lines and exits at once
// (isa-debug-exit) vs the bare qemu-system-x86_64 command line `kiln test --dry-run` prints
// (minus -S: kiln starts QEMU paused and resumes it over QMP), in the same run; also the library
// call runQemuTest in-process (no Node start-up). Median of 3 (after one warm-up each).
// Usage: npm run build && node bench/qemu.bench.mjs [runs=3]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const RUNS = Number(process.argv[2] ?? 3);
const root = resolve(import.meta.dirname, '..');
const kiln = join(root, 'bin', 'kiln.js');
const { runQemuTest } = await import(join(root, 'dist', 'qemu', 'index.js'));
const dir = join(tmpdir(), 'kiln-bench-qemu');
mkdirSync(dir, { recursive: true });

// The exit-at-once PVH kernel (same as test/qemu/_kernels.ts 'ok' mode, inlined to stay a plain script).
writeFileSync(
  join(dir, 'k.asm'),
  `BITS 32
section .note.Xen note alloc noexec nowrite align=4
  dd 4, 4, 18
  db "Xen", 0
  dd _start
section .text progbits alloc exec nowrite align=16
global _start
_start:
  mov esi, msg
.l: lodsb
  test al, al
  jz .d
  mov dx, 0x3f8
  out dx, al
  jmp .l
.d: mov dx, 0xf4
  xor eax, eax
  out dx, eax
.s: hlt
  jmp .s
msg: db "kiln bench kernel", 13, 10, "KILN-END", 13, 10, 0
`,
);
writeFileSync(
  join(dir, 'k.ld'),
  'ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.text) } .note.Xen : { *(.note.Xen) } /DISCARD/ : { *(.note.GNU-stack) } }\n',
);
const must = (argv) => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
must(['nasm', '-f', 'elf64', '-o', join(dir, 'k.o'), join(dir, 'k.asm')]);
must(['ld.lld', '-m', 'elf_x86_64', '-T', join(dir, 'k.ld'), '-o', join(dir, 'k.elf'), join(dir, 'k.o')]);

const logDir = join(dir, 'logs');
const testArgs = ['test', '--kernel', join(dir, 'k.elf'), '--expect', 'KILN-END', '--log-dir', logDir];
const line = must([process.execPath, kiln, ...testArgs, '--dry-run']).trim();
if (/'/.test(line)) throw new Error(`unexpected quoting in: ${line}`);
const bare = line.split(' ').filter((a) => a !== '-S');

const time = (argv, okStatus) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== okStatus) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
};
const timeLib = async () => {
  const t0 = process.hrtime.bigint();
  const r = await runQemuTest({
    name: 'bench',
    kernel: join(dir, 'k.elf'),
    expect: ['KILN-END'],
    logDir: join(dir, 'lib'),
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 'passed') throw new Error(`runQemuTest: ${r.reason}`);
  return ms;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Warm-up (page cache, the cached KVM probe verdict).
time([process.execPath, kiln, ...testArgs], 0);
time(bare, 1);
await timeLib();
const t = { cli: [], lib: [], bare: [], node: [], version: [] };
for (let i = 0; i < RUNS; i++) {
  t.bare.push(time(bare, 1));
  t.cli.push(time([process.execPath, kiln, ...testArgs], 0));
  t.lib.push(await timeLib());
  t.node.push(time([process.execPath, '-e', '0'], 0));
  t.version.push(time([process.execPath, kiln, '--version'], 0));
}
const [cli, lib, q, node, version] = [median(t.cli), median(t.lib), median(t.bare), median(t.node), median(t.version)];
console.log(`kiln test of an exit-at-once kernel vs the bare QEMU command, median of ${RUNS}`);
console.log(`  bare:  ${bare.join(' ')}`);
console.log(`  qemu-system-x86_64 alone      ${q.toFixed(1)} ms`);
console.log(
  `  runQemuTest (library)         ${lib.toFixed(1)} ms   overhead ${(lib - q).toFixed(1)} ms, ratio ${(lib / q).toFixed(2)}x`,
);
console.log(
  `  kiln test (CLI, node start)   ${cli.toFixed(1)} ms   overhead ${(cli - q).toFixed(1)} ms, ratio ${(cli / q).toFixed(2)}x   (node -e 0: ${node.toFixed(1)} ms)`,
);
console.log(
  `  of which kiln's CLI start-up (kiln --version: ${version.toFixed(1)} ms) is ${((version / (cli - q)) * 100).toFixed(0)}%; the harness adds ${(cli - q - version).toFixed(1)} ms beyond it`,
);
console.log(
  `  target: <= 100 ms added -> library ${lib - q <= 100 ? 'met' : 'NOT met'}, CLI ${cli - q <= 100 ? 'met' : 'NOT met'}`,
);
