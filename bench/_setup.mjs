// Shared by the format benchmarks: the repository root, the bench folder (BENCH_DIR), the run count
// (RUNS), /usr/bin/time for peak memory, and the deterministic payload (bench/make-payload.sh:
// 2,002 files, ~51 MB — the same payload the peer timings in ENVIRONMENT.md used). The peer
// pipelines are bench/peers.sh.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Folder of make-payload.sh and peers.sh. */
export const shared = join(repo, 'bench');
export const benchDir = process.env.BENCH_DIR ?? join(tmpdir(), 'kiln-bench');
export const runs = Number(process.env.RUNS ?? 3);
export const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Creates the payload under benchDir once. */
export function ensurePayload() {
  mkdirSync(benchDir, { recursive: true });
  if (!existsSync(join(benchDir, 'payload'))) {
    const r = spawnSync('bash', [join(shared, 'make-payload.sh'), benchDir], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('make-payload.sh failed');
  }
}

/** The environment every bench job runs in: the bench folder and a fixed build epoch. */
export const benchEnv = { ...process.env, BENCH_DIR: benchDir, SOURCE_DATE_EPOCH: '1700000000' };

/**
 * Runs argv in the bench folder (throwing on failure): wall ms, and through /usr/bin/time peak KB
 * and CPU ms (user + sys; NaN without /usr/bin/time).
 */
export function timed(argv, env = benchEnv) {
  const full = timeBin ? [timeBin, '-f', '%M %U %S', ...argv] : argv;
  const start = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { cwd: benchDir, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [kb, user, sys] = timeBin ? r.stderr.trim().split('\n').pop().split(' ').map(Number) : [NaN, NaN, NaN];
  return { ms, kb, cpu: (user + sys) * 1000 };
}

/** The median of a list of numbers. */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// examples/tinyc's build as a Makefile with -MD -MP depfiles: the same commands kiln runs (its build log
// shows them). The make peer of bench/c-kernel.bench.mjs and bench/dev.bench.mjs.
const TINYC_CFLAGS =
  '--target=i386-unknown-none-elf -ffreestanding -fno-builtin -nostdlibinc -O0 -g -mno-sse -mno-sse2 -mno-mmx -mno-80387 -fno-stack-protector -fno-pic';
export const TINYC_MAKEFILE = `CC = clang
CFLAGS = ${TINYC_CFLAGS}
KCFLAGS = $(CFLAGS) -std=c11 -Iinclude -Wall -Wextra -Werror
KSRC = $(wildcard kernel/*.c) kernel/entry.S
KOBJ = $(patsubst %,out/%.o,$(basename $(KSRC)))

all: out/tinyc-boot.img out/tinyc-fs.img

out/kernel/%.o: kernel/%.c
\t@mkdir -p $(dir $@)
\t$(CC) $(KCFLAGS) -MD -MP -MF $(@:.o=.d) -c $< -o $@
out/kernel/%.o: kernel/%.S
\t@mkdir -p $(dir $@)
\t$(CC) $(KCFLAGS) -MD -MP -MF $(@:.o=.d) -c $< -o $@
out/kernel.elf: $(KOBJ) kernel/kernel.ld
\tld.lld -znoexecstack -static -T kernel/kernel.ld -o $@ $(KOBJ)
out/kernel.bin: out/kernel.elf
\tllvm-objcopy -O binary $< $@
out/boot/boot.o: boot/boot.S
\t@mkdir -p $(dir $@)
\t$(CC) $(CFLAGS) -MD -MP -MF $(@:.o=.d) -c $< -o $@
out/bootblock.elf: out/boot/boot.o boot/boot.ld
\tld.lld -znoexecstack -static -T boot/boot.ld -o $@ $<
# The signing script: pad to 510 bytes, append 0x55 0xAA.
out/bootblock.bin: out/bootblock.elf
\tllvm-objcopy -j .text -O binary $< $@.tmp && truncate -s 510 $@.tmp && printf '\\125\\252' >> $@.tmp && mv $@.tmp $@
out/tinyc-boot.img: out/bootblock.bin out/kernel.bin
\ttruncate -s 1M $@.tmp && dd if=out/bootblock.bin of=$@.tmp conv=notrunc status=none && dd if=out/kernel.bin of=$@.tmp bs=512 seek=1 conv=notrunc status=none && mv $@.tmp $@
out/tools/mkfs.o: tools/mkfs.c
\t@mkdir -p $(dir $@)
\t$(CC) -O0 -g -Iinclude -Wall -Werror -MD -MP -MF $(@:.o=.d) -c $< -o $@
out/mkfs: out/tools/mkfs.o
\t$(CC) -o $@ $<
out/tinyc-fs.img: out/mkfs files/hello.txt files/motd.txt
\tout/mkfs $@ 256 files/hello.txt files/motd.txt

-include $(KOBJ:.o=.d) out/boot/boot.d out/tools/mkfs.d
`;
