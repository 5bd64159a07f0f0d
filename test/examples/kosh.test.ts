// examples/kosh end to end: the workspace builds per package for the generated x86_64-kosh and
// aarch64-kosh targets (kiln's sysroot route) and the drivers for the host; the GRUB ISO boots
// with -cdrom under SeaBIOS to the kernel listing the service modules, the IPC ping-pong and the
// capability checks, then a clean isa-debug-exit; the aarch64 kernel boots with -kernel and from
// its UEFI ISO under AAVMF (kiln-boot, the services as a CPIO initrd) and exits through
// semihosting; the drivers' static libraries link into a C program and work; the host
// unit tests (`cargo test --workspace`) pass.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kilnBin, repoRoot, runAsync, runKilnAsync, tempDir, tool } from '../_helpers.js';

const example = join(repoRoot, 'examples/kosh');
const work = tempDir('kiln-kosh-');
const dir = join(work, 'kosh');
cpSync(example, dir, { recursive: true, filter: (src) => !/\/(build|\.kiln|target)(\/|$)/.test(src.slice(example.length)) });
const out = (arch: string) => join(dir, 'build', `${arch}-debug`);
/** The serial log kiln test names in its output. */
const serialOf = (stderr: string) => readFileSync(/serial log: (\S+)/.exec(stderr)![1]!, 'utf8');

describe('examples/kosh', () => {
  it('x86_64: builds the workspace per package; the target spec is the seed\'s x86_64-kosh', async () => {
    const r = await runKilnAsync(['build', '--plain'], { cwd: dir, timeoutMs: 600_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    // The committed x86_64-kosh.json is used as it is (kiln writes no spec of its own).
    const spec = JSON.parse(readFileSync(join(dir, 'x86_64-kosh.json'), 'utf8')) as Record<string, unknown>;
    expect(spec).toMatchObject({ arch: 'x86_64', 'panic-strategy': 'abort', 'disable-redzone': true, features: '-mmx,-sse,+soft-float', 'linker-flavor': 'ld.lld' });
    expect(existsSync(join(out('x86_64'), '.kiln/work/cargo-kernel/x86_64-kosh.json'))).toBe(false);
    const log = readFileSync(join(out('x86_64'), '../logs/build.log'), 'utf8');
    expect(log).toContain('rust target: x86_64-kosh.json as it is (x86_64, 64-bit pointers, panic=abort)');
    expect(log).toMatch(/route sysroot: rustc 1\.63/);
    // The kernel is an ELF64 multiboot2 kernel at 1 MiB; the services are ELF64 at 4 MiB with their header.
    expect(tool(['grub-file', '--is-x86-multiboot2', join(out('x86_64'), 'kosh-kernel.elf')]).status).toBe(0);
    const kernel = tool(['readelf', '-h', '-l', join(out('x86_64'), 'kosh-kernel.elf')]).stdout;
    expect(kernel).toMatch(/Class:\s+ELF64/);
    expect(kernel).toMatch(/LOAD\s+0x[0-9a-f]+ 0x0000000000100000/);
    for (const svc of ['kosh-init', 'kosh-fs-service', 'kosh-driver-manager']) {
      const s = tool(['readelf', '-S', join(out('x86_64'), `${svc}.elf`)]).stdout;
      expect(s).toMatch(/\.kosh_service\s+PROGBITS\s+0000000000400000/);
    }
  }, 600_000);

  it('the ISO boots with -cdrom under SeaBIOS (and OVMF): modules listed, IPC ping-pong, capability checks, clean exit', async () => {
    const iso = join(out('x86_64'), 'kosh.iso');
    const listing = tool(['xorriso', '-indev', iso, '-find', '/boot', '-type', 'f']);
    for (const f of ['kosh-kernel.elf', 'kosh-init.elf', 'kosh-fs-service.elf', 'kosh-driver-manager.elf', 'grub.cfg']) expect(listing.stdout).toContain(f);
    const r = await runKilnAsync(['test', '--arch', 'x86_64', '--junit', join(work, 'junit-x86_64.xml')], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PASS boot \[x86_64\].*isa-debug-exit exit: guest code 0.*all 12 expectations matched in order/);
    // The same ISO under OVMF through GRUB's x86_64-efi image.
    expect(r.stderr).toMatch(/PASS boot-uefi \[x86_64\].*isa-debug-exit exit: guest code 0.*all 4 expectations matched in order/);
    const serial = serialOf(r.stderr);
    // GRUB loaded the kernel and the three services; the kernel read each module's ELF header and service header.
    expect(serial).toMatch(/kernel started on x86_64 \(GRUB 2\.\d+/);
    expect(serial).toMatch(/module 0: kosh-init role=init \((\d+) bytes\) ELF64 x86_64 entry 0x4[0-9a-f]{5}/);
    const size = Number(/module 0: kosh-init role=init \((\d+) bytes\)/.exec(serial)![1]);
    expect(size).toBe(readFileSync(join(out('x86_64'), 'kosh-init.elf')).length);
    expect(serial).toContain("service 'driver-manager' (header at 0x1000) rights SEND RECV GRANT DEVICE");
    expect(serial).toContain("service 'fs-service' (header at 0x1000) rights READ SEND RECV -> slot 0");
    expect(serial).toMatch(/ipc task 1 ping 8 -> task 2 pong 64/);
    expect(serial).toContain('capability check ok: derive SEND from a RECV-only capability -> Denied');
    expect(readFileSync(join(work, 'junit-x86_64.xml'), 'utf8')).toMatch(/<testsuites[^>]*failures="0"/);
  }, 300_000);

  it('aarch64: builds for aarch64-kosh, boots with -kernel (virt, cortex-a57) and from its UEFI ISO under AAVMF (kiln-boot)', async () => {
    const b = await runKilnAsync(['build', '--plain', '--arch', 'aarch64'], { cwd: dir, timeoutMs: 600_000 });
    expect(b.status, b.stderr + b.stdout).toBe(0);
    const h = tool(['readelf', '-h', join(out('aarch64'), 'kosh-kernel.elf')]).stdout;
    expect(h).toMatch(/Machine:\s+AArch64/);
    expect(h).toMatch(/Entry point address:\s+0x40080000/);
    const spec = JSON.parse(readFileSync(join(dir, 'aarch64-kosh.json'), 'utf8')) as Record<string, unknown>;
    expect(spec).toMatchObject({ arch: 'aarch64', 'panic-strategy': 'abort', features: '+strict-align,-neon,-fp-armv8' });
    expect(spec['code-model']).toBeUndefined();
    expect(readFileSync(join(out('aarch64'), '../logs/build.log'), 'utf8')).toContain('rust target: aarch64-kosh.json as it is (aarch64');
    expect(tool(['readelf', '-h', join(out('aarch64'), 'kosh-init.elf')]).stdout).toMatch(/Machine:\s+AArch64/);
    const r = await runKilnAsync(['test', '--arch', 'aarch64'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PASS boot \[aarch64\].*semihosting exit: guest code 0.*all 5 expectations matched in order/);
    // The kernel's shell, typed into by a console script (the first key typed ahead of the boot).
    expect(r.stderr).toMatch(/PASS shell \[aarch64\].*script: all 17 steps passed/);
    const shell = readFileSync(join(dir, 'build/logs/tests/shell-aarch64/serial.log'), 'utf8').replace(/\r/g, '');
    expect(shell).toMatch(/^kosh> ping 5\n(kosh: ipc task .*\n)+kosh: ipc ping-pong ok: 5 round trips/m);
    expect(shell).toContain('kosh> echo checksum was 55\nchecksum was 55\n');
    expect(shell).toContain('kosh: shutting down');
    // kosh.iso for aarch64: AAVMF → the El Torito UEFI image → kiln-boot → the kernel, with the three
    // services as the regular files of the CPIO initrd, listed as its boot modules.
    expect(r.stderr).toMatch(/PASS boot-uefi \[aarch64\].*semihosting exit: guest code 0.*all 6 expectations matched in order/);
    const uefi = readFileSync(join(dir, 'build/logs/tests/boot-uefi-aarch64/serial.log'), 'latin1').replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '').replace(/\r/g, '');
    const cpioSize = readFileSync(join(out('aarch64'), 'kosh-services.cpio')).length;
    expect(uefi).toContain(`kiln-boot: initrd /initrd.cpio (${Math.ceil(cpioSize / 1024)} KiB)`);
    expect(uefi).toContain('kosh: kernel started on aarch64 (kiln-boot (UEFI, EL1, MMU on))');
    for (const svc of ['init', 'fs-service', 'driver-manager']) {
      const size = readFileSync(join(out('aarch64'), `kosh-${svc}.elf`)).length;
      expect(uefi).toMatch(new RegExp(`kosh: module \\d: kosh-${svc} \\(${size} bytes\\) ELF64 aarch64 entry 0x`));
      expect(uefi).toContain(`service '${svc}'`);
    }
    expect(uefi).toContain('kosh: 3 service(s) ready to start');
  }, 600_000);

  it('release profile (the seed\'s --release: optimized, LTO for the services) builds and boots on both arches', async () => {
    for (const arch of ['x86_64', 'aarch64']) {
      const b = await runKilnAsync(['build', '--plain', '-p', 'release', '--arch', arch], { cwd: dir, timeoutMs: 600_000 });
      expect(b.status, b.stderr + b.stdout).toBe(0);
      const r = await runKilnAsync(['test', '-p', 'release', '--arch', arch, 'boot'], { cwd: dir, timeoutMs: 300_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`PASS boot \\[${arch}\\]`));
    }
  }, 900_000);

  it('the drivers (standard target) are static libraries a C program links and calls', async () => {
    const harness = join(work, 'drivers.c');
    writeFileSync(harness, `#include <stdio.h>
#include <stdint.h>
#include <stddef.h>
uint32_t kosh_storage_crc32(const uint8_t *, size_t); uint32_t kosh_storage_selftest(void);
uint16_t kosh_net_checksum(const uint8_t *, size_t); uint32_t kosh_network_selftest(void);
long kosh_gfx_fill_rect(uint32_t *, size_t, size_t, size_t, size_t, size_t, size_t, size_t, uint32_t); uint32_t kosh_graphics_selftest(void);
int main(void) {
#if defined(STORAGE)
  printf("crc32=%08x selftest=%s\\n", kosh_storage_crc32((const uint8_t *)"123456789", 9), kosh_storage_selftest() ? "ok" : "fail");
#elif defined(NETWORK)
  const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  printf("checksum=%04x delivered=%u\\n", kosh_net_checksum(rfc, sizeof rfc), kosh_network_selftest());
#else
  uint32_t fb[16 * 8] = {0};
  printf("filled=%ld last=%08x selftest=%s\\n", kosh_gfx_fill_rect(fb, 16, 8, 16, 12, 6, 10, 10, 0xabcdef), fb[16 * 7 + 15], kosh_graphics_selftest() ? "ok" : "fail");
#endif
  return 0;
}
`);
    const expected: Record<string, string> = {
      storage: 'crc32=cbf43926 selftest=ok', network: 'checksum=220d delivered=4', graphics: 'filled=8 last=00abcdef selftest=ok',
    };
    for (const d of ['storage', 'network', 'graphics']) {
      const exe = join(work, `drivers-${d}`);
      const lib = join(out('x86_64'), `libkosh_${d}_driver.a`);
      const cc = tool(['clang', '-no-pie', `-D${d.toUpperCase()}`, harness, lib, '-lpthread', '-ldl', '-lm', '-o', exe]);
      expect(cc.status, cc.stderr).toBe(0);
      const run = tool([exe]);
      expect(run.status).toBe(0);
      expect(run.stdout.trim()).toBe(expected[d]);
    }
  }, 120_000);

  it('cargo test --workspace (host unit tests of kosh-types, kosh-ipc and the drivers) passes as a kiln step', async () => {
    const r = await runKilnAsync(['build', '--plain', '--unit-tests', 'unit-tests'], { cwd: dir, timeoutMs: 600_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const report = readFileSync(join(out('x86_64'), 'unit-tests.txt'), 'utf8');
    // cargo's "Running" lines (stderr) and the tests' output (stdout) interleave in any order in the
    // file: each crate's binary ran, and every one of the five passed at least one test.
    for (const crate of ['kosh_types', 'kosh_ipc', 'kosh_storage_driver', 'kosh_network_driver', 'kosh_graphics_driver']) {
      expect(report).toMatch(new RegExp(`Running unittests src/lib\\.rs \\([^)]*${crate}-[0-9a-f]+\\)`));
    }
    expect(report.match(/test result: ok\. [1-9]\d* passed; 0 failed/g)!.length).toBeGreaterThanOrEqual(5);
    expect(report).toContain('test tests::derive_never_amplifies_for_every_rights_pair ... ok');
    expect(report).not.toMatch(/FAILED|panicked/);
  }, 600_000);

  it('the seed\'s `cargo test --package kosh-kernel --target x86_64-kosh.json` boots the kernel\'s tests through kiln runner', async () => {
    // The sysroot route: Debian's cargo 1.63 on the sysroot kiln build already made for x86_64-kosh
    // (printed by kiln runner --sysroot), linked as kiln links it (boot.o, kernel/x86_64.ld).
    expect((await runKilnAsync(['build', 'kernel-entry', '--plain'], { cwd: dir, timeoutMs: 300_000 })).status).toBe(0);
    const sysroot = await runKilnAsync(['runner', '--sysroot', 'x86_64-kosh.json'], { cwd: dir, timeoutMs: 600_000 });
    expect(sysroot.status, sysroot.stderr).toBe(0);
    const link = `-C link-arg=${join(out('x86_64'), 'boot.o')} -C link-arg=-T${join(dir, 'kernel/x86_64.ld')}`;
    const r = await runAsync(['/usr/bin/cargo', 'test', '--package', 'kosh-kernel', '--target', 'x86_64-kosh.json'], {
      cwd: dir,
      env: {
        ...process.env, RUSTC: '/usr/bin/rustc', RUSTC_BOOTSTRAP: '1', CARGO_TERM_COLOR: 'never',
        RUSTFLAGS: `--sysroot ${sysroot.stdout.trim()} ${link}`, CARGO_TARGET_DIR: join(work, 'kernel-tests'),
        CARGO_TARGET_X86_64_KOSH_RUNNER: `${process.execPath} ${kilnBin} runner --timeout 120`,
      },
      timeoutMs: 600_000,
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    // A multiboot2-only kernel: kiln runner boots it through a GRUB ISO it builds.
    expect(r.stderr).toMatch(/kiln runner: testing kosh_kernel-[0-9a-f]+ \[x86_64\] via GRUB ISO \(multiboot2\)/);
    expect(r.stdout).toMatch(/kernel started on x86_64 \(GRUB 2\.\d+/);
    for (const name of ['tasks::ipc_ping_pong', 'tasks::capability_checks', 'cspace::grant_attenuates']) expect(r.stdout).toContain(`test ${name} ... ok`);
    expect(r.stdout).toContain('test result: ok. 3 passed; 0 failed');
    expect(r.stderr).toContain('kiln runner: ok (QMP: VM started; isa-debug-exit exit: guest code 0');
  }, 900_000);
});
