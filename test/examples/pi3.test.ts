// examples/pi3 end to end on QEMU's raspi3b: clang + ld.lld build the kernel with the ustar initrd
// linked in as a blob, mbr() builds the SD card, and kiln test judges the PL011 (port 0) in one test
// and the mini UART (port 1) in another, each logging the other port; the same kernel boots on
// raspi3ap. A card of a size QEMU refuses is caught before QEMU starts unless the drive pads it.
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runKilnAsync, tempDir, tool } from '../_helpers.js';

const example = join(repoRoot, 'examples/pi3');
const dir = join(tempDir('kiln-pi3-'), 'pi3');
cpSync(example, dir, { recursive: true, filter: (src) => !/\/(build|\.kiln)(\/|$)/.test(src.slice(example.length)) });
const out = join(dir, 'build', 'aarch64-debug');
const logs = (test: string) => join(dir, 'build', 'logs', 'tests', `${test}-aarch64`);

describe('examples/pi3 (raspi3b)', () => {
  it('builds: the kernel carries the initrd blob, the card is an MBR disk with a FAT partition', async () => {
    const r = await runKilnAsync(['build', '--plain'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const nm = tool(['nm', join(out, 'kernel8.elf')]).stdout;
    expect(nm).toMatch(/ R _binary_initrd_tar_start$/m);
    expect(tool(['readelf', '-h', join(out, 'kernel8.elf')]).stdout).toMatch(/Machine:\s+AArch64/);
    expect(statSync(join(out, 'sd.img')).size).toBe(48 << 20);
    const parts = JSON.parse(tool(['sfdisk', '--json', join(out, 'sd.img')]).stdout).partitiontable.partitions;
    expect(tool(['mtype', '-i', `${join(out, 'sd.img')}@@${parts[0].start * 512}`, '::/HELLO.TXT']).stdout).toMatch(/^Hello from the SD card/);
    expect(tool(['tar', '-tf', join(out, 'initrd.tar')]).stdout.split('\n').filter(Boolean)).toEqual(['etc/', 'etc/arch', 'etc/motd']);
  }, 300_000);

  it('kiln test judges the PL011 and the mini UART, each test logging the other port to its own file', async () => {
    const junit = join(dir, 'junit.xml');
    const r = await runKilnAsync(['test', '--junit', junit], { cwd: dir, timeoutMs: 400_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PASS pl011 \[aarch64\].*all 11 expectations matched in order/);
    expect(r.stderr).toMatch(/PASS mini-uart \[aarch64\].*all 11 expectations matched in order/);
    expect(r.stderr).toMatch(/PASS raspi3ap \[aarch64\]/);
    // Judged port: the mini UART's own first line; the PL011 went to serial0.log, and the other way round.
    expect(readFileSync(join(logs('mini-uart'), 'serial.log'), 'utf8')).toMatch(/^kiln pi3 on mini UART\r?\n/);
    expect(readFileSync(join(logs('mini-uart'), 'serial0.log'), 'utf8')).toMatch(/^kiln pi3 on PL011\r?\n/);
    expect(readFileSync(join(logs('pl011'), 'serial1.log'), 'utf8')).toMatch(/^kiln pi3 on mini UART\r?\n[\s\S]*PI3-END/);
    // What the kernel read from the SD card and the initrd.
    const serial = readFileSync(join(logs('pl011'), 'serial.log'), 'utf8');
    expect(serial).toContain("sd: HELLO.TXT, 62 bytes: Hello from the SD card: read by kiln's pi3 kernel over SDHCI.");
    expect(serial).toContain('initrd: file etc/motd 28 bytes: hello from the ustar initrd');
    // The 48 MiB card booted as a 64 MiB padded copy; the built card is untouched.
    expect(statSync(join(logs('pl011'), 'sd0-padded-sd.img')).size).toBe(64 << 20);
    expect(statSync(join(out, 'sd.img')).size).toBe(48 << 20);
    expect(readFileSync(junit, 'utf8')).toMatch(/<testsuite name="mini-uart \[aarch64\]"/);
  }, 400_000);

  it('raspi3b\'s -M line: no -cpu, 1 GiB, 4 CPUs, the card on if=sd with a snapshot', async () => {
    const r = await runKilnAsync(['run', '--dry-run'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout + r.stderr;
    expect(line).toMatch(/qemu-system-aarch64 -machine raspi3b -accel tcg -m 1024M -smp 4 /);
    expect(line).not.toMatch(/-cpu /);
    expect(line).toMatch(/-drive file=[^ ]*sd0-padded-sd\.img,format=raw,snapshot=on,if=sd/);
  }, 120_000);

  it('without pad, a card QEMU cannot take is refused before QEMU starts, naming the size and the fix', async () => {
    const config = join(dir, 'kiln.config.ts');
    writeFileSync(config, readFileSync(config, 'utf8').replace(", pad: true }", ' }'));
    const r = await runKilnAsync(['test', 'pl011'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/SD card .*sd\.img is 50331648 bytes \(48 MiB\); QEMU takes only a power-of-two size \(next: 64 MiB\)/);
    expect(r.stderr).toMatch(/pad: true/);
  }, 120_000);
});
