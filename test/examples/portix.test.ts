// examples/portix end to end: every distribution format boots under SeaBIOS to the kernel banner,
// the timer count rising and a clean isa-debug-exit; the seed's limits fail with clear errors;
// moving the kernel LBA in the config alone still boots (kiln patches stage 2).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runKilnAsync, tempDir, tool } from '../_helpers.js';

const example = join(repoRoot, 'examples/portix');
const work = tempDir('kiln-portix-');
const dir = join(work, 'portix');
cpSync(example, dir, { recursive: true, filter: (src) => !/\/(build|\.kiln|target)(\/|$)/.test(src.slice(example.length)) });

const test = (args: string[], timeoutMs = 400_000) => runKilnAsync(['test', '--junit', join(work, `junit-${args.join('_') || 'raw'}.xml`), ...args], { cwd: dir, timeoutMs });

describe('examples/portix', () => {
  it('raw (default): stage 1 → stage 2 → long mode → Rust kernel, timer ticks rising, clean exit', async () => {
    const r = await test([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PASS boot \[x86_64\].*all 5 expectations matched in order/);
    // The shell test types into the kernel's COM1 shell through a console script.
    expect(r.stderr).toMatch(/PASS shell \[x86_64\].*script: all 17 steps passed/);
    const shell = readFileSync(join(dir, 'build/logs/tests/shell-x86_64/serial.log'), 'utf8').replace(/\r/g, '');
    expect(shell).toMatch(/^portix> echo hello from kiln\nhello from kiln\n/m);
    const ticks = /^ticks: (\d+)$/m.exec(shell)?.[1];
    expect(shell).toContain(`portix> echo was ${ticks}\nwas ${ticks}\n`);
    expect(shell).toContain('portix> echo half a line^C\n');
    const serial = readFileSync(join(dir, 'build/logs/tests/boot-x86_64/serial.log'), 'utf8');
    expect(serial).toMatch(/timer ticks: 10[\s\S]*timer ticks: 20[\s\S]*timer ticks: 30/);
    const out = join(dir, 'build/x86_64-release');
    const disk = readFileSync(join(out, 'portix.img'));
    expect(disk.length).toBe(8 << 20);
    expect(disk.readUInt16LE(510)).toBe(0xaa55);
    // stage 2 was patched with the kernel's LBA and sector count by kiln.
    const kernelBin = readFileSync(join(out, 'kernel.bin'));
    expect(disk.readUInt32LE(512 + 4)).toBe(65);
    expect(disk.readUInt16LE(512 + 8)).toBe(Math.ceil(kernelBin.length / 512));
    expect(Buffer.compare(disk.subarray(65 * 512, 65 * 512 + kernelBin.length), kernelBin)).toBe(0);
    // The FAT storage partition is valid.
    const start = disk.readUInt32LE(454);
    expect(tool(['mdir', '-i', `${join(out, 'portix.img')}@@${start * 512}`, '::/']).stdout).toMatch(/README\s+TXT/);
    // The committed kernel/x86_64-portix.json (the seed's) is the target, as it is.
    const spec = JSON.parse(readFileSync(join(dir, 'kernel/x86_64-portix.json'), 'utf8')) as Record<string, unknown>;
    expect(spec).toMatchObject({ 'llvm-target': 'x86_64-unknown-none-elf', 'panic-strategy': 'abort', 'disable-redzone': true, features: '-mmx,-sse,+soft-float', 'linker-flavor': 'ld.lld', linker: 'rust-lld' });
    expect(readFileSync(join(dir, 'build/logs/build.log'), 'utf8')).toContain('rust target: kernel/x86_64-portix.json as it is (x86_64, 64-bit pointers, panic=abort)');
    expect(readFileSync(join(work, 'junit-raw.xml'), 'utf8')).toMatch(/<testsuites[^>]*failures="0"/);
  }, 600_000);

  for (const mode of ['iso', 'vdi', 'vmdk', 'ventoy-sim']) {
    it(`--mode=${mode} boots the same stages`, async () => {
      const r = await test([`--mode=${mode}`], 300_000);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/PASS boot/);
    }, 300_000);
  }

  it('dist/ holds the converted images, and qemu-img accepts them', async () => {
    for (const f of ['dist/portix.vdi', 'dist/portix.vmdk']) {
      const p = join(dir, 'build/x86_64-release', f);
      expect(tool(['qemu-img', 'check', p]).status).toBe(0);
      expect(tool(['qemu-img', 'compare', join(dir, 'build/x86_64-release/portix.img'), p]).stdout).toContain('Images are identical');
    }
    const iso = tool(['xorriso', '-indev', join(dir, 'build/x86_64-release/dist/portix.iso'), '-report_el_torito', 'plain']);
    expect(iso.stdout + iso.stderr).toMatch(/BIOS\s+y\s+hd/);
  });

  it('--debug: debug assertions and verbose logging; --kernel-lba moves the kernel and stage 2 follows', async () => {
    const r = await test(['--debug', '--kernel-lba=100'], 300_000);
    expect(r.status, r.stderr).toBe(0);
    // --debug after `kiln test` is the project's option (kiln's QEMU log is --qemu-debug): the
    // debug kernel's expectation was checked and its verbose line is on the serial console.
    expect(r.stderr).toMatch(/PASS boot \[x86_64\]/);
    expect(readFileSync(join(dir, 'build/logs/tests/boot-x86_64/serial.log'), 'utf8')).toContain('[debug] IDT at');
    // The seed's build/logs/debug.log: QEMU's interrupt log (-d int), written because --debug is set.
    expect(readFileSync(join(dir, 'build/logs/debug.log'), 'utf8')).toMatch(/INT=0x[0-9a-f]{2}|v=[0-9a-f]{2} e=/);
    const disk = readFileSync(join(dir, 'build/x86_64-release/portix.img'));
    expect(disk.readUInt32LE(512 + 4)).toBe(100);
  }, 300_000);

  it('--size=4 fails with the minimum-size message', async () => {
    const r = await runKilnAsync(['build', '--size=4'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--size: expected a size like 8M, got "4": below the minimum of 8M');
  });

  it('a stage 1 of 513 bytes fails with a clear error', async () => {
    const boot = join(dir, 'boot/boot.asm');
    const original = readFileSync(boot, 'utf8');
    writeFileSync(boot, original.replace('dw 0xaa55', 'dw 0xaa55\ndb 0'));
    try {
      const r = await runKilnAsync(['build', '--plain'], { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('boot/boot.asm assembles to 513 bytes; it must be exactly 512 (1 bytes over)');
    } finally {
      writeFileSync(boot, original);
    }
  });

  it('kiln build --run boots after the build (serial on the terminal and in build/logs/serial.log)', async () => {
    rmSync(join(dir, 'build/logs/serial.log'), { force: true });
    const r = await runKilnAsync(['build', '--run', '--plain'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Portix: timer OK');
    expect(r.stderr).toMatch(/guest exit code 0/);
    expect(readFileSync(join(dir, 'build/logs/serial.log'), 'utf8')).toContain('Portix: timer OK');
  }, 300_000);

  it('--no-serial: no serial log at all with --run; refused without a boot', async () => {
    const refused = await runKilnAsync(['build', '--no-serial'], { cwd: dir });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--no-serial only applies to a boot: give --run too');
    const r = await runKilnAsync(['build', '--run', '--no-serial', '--plain'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('Portix');
    expect(existsSync(join(dir, 'build/logs/serial.log'))).toBe(false);
    const t = await runKilnAsync(['test', '--no-serial'], { cwd: dir, timeoutMs: 300_000 });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/PASS boot/);
    expect(existsSync(join(dir, 'build/logs/tests/boot-x86_64/serial.log'))).toBe(false);
  }, 300_000);

  it('artifacts land where the seed says: build/portix.img, build/kernel.bin, build/dist/portix.vdi', async () => {
    const r = await runKilnAsync(['build', '--mode=vdi', '--plain'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['boot.bin', 'stage2.bin', 'isr.o', 'kernel.bin', 'portix.img', 'dist/portix.vdi']) {
      expect(existsSync(join(dir, 'build', f)), f).toBe(true);
    }
    expect(Buffer.compare(readFileSync(join(dir, 'build/portix.img')), readFileSync(join(dir, 'build/x86_64-release/portix.img')))).toBe(0);
    expect(tool(['qemu-img', 'check', join(dir, 'build/dist/portix.vdi')]).status).toBe(0);
  }, 300_000);

  it('--clean removes the target folder, the logs and the project cache, then rebuilds everything', async () => {
    writeFileSync(join(dir, 'build/x86_64-release/stale.txt'), 'old');
    mkdirSync(join(dir, 'build/logs'), { recursive: true });
    writeFileSync(join(dir, 'build/logs/old.log'), 'old');
    expect(existsSync(join(dir, '.kiln/cache'))).toBe(true);
    const r = await runKilnAsync(['build', '--clean', '--plain'], { cwd: dir, timeoutMs: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'build/x86_64-release/stale.txt'))).toBe(false);
    expect(existsSync(join(dir, 'build/logs/old.log'))).toBe(false);
    // Every step ran: nothing came from the (emptied) cache.
    expect(r.stderr + r.stdout).toMatch(/\(6 ran, 0 from cache, 0 up to date\)/);
  }, 600_000);

  it('--size=64: a 64 MiB disk that boots', async () => {
    const r = await test(['--size=64'], 300_000);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PASS boot \[x86_64\]/);
    expect(statSync(join(dir, 'build/x86_64-release/portix.img')).size).toBe(64 << 20);
  }, 300_000);

  it('a stage 2 of 65 sectors fails with a clear error', async () => {
    const stage2 = join(dir, 'boot/stage2.asm');
    const original = readFileSync(stage2, 'utf8');
    writeFileSync(stage2, `${original}\ntimes (65 * 512) - ($ - $$) db 0\n`);
    try {
      const r = await runKilnAsync(['build', '--plain'], { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('boot/stage2.asm assembles to 33280 bytes, 512 over its limit of 32768 (65 sectors of 512 bytes; the limit is 64)');
    } finally {
      writeFileSync(stage2, original);
    }
  });
});
