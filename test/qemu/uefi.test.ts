// UEFI boots under OVMF (x86_64) from a GPT disk whose ESP holds a tiny PE32+ EFI program built
// here with clang + lld-link. The disk is written by kiln's own GPT and FAT writers and checked
// with sgdisk first. OVMF writes ANSI escapes to the serial port: matching must strip them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { esp } from '../../src/formats/fat/index.js';
import { writeGptFile } from '../../src/formats/gpt/index.js';
import { readJUnit, runTests, testResultsToJUnit, type QemuTestResult } from '../../src/qemu/index.js';
import { tempDir } from '../_helpers.js';
import { processGone } from './_kernels.js';

const dir = tempDir('kiln-qemu-uefi-');
const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000 });

const EFI_C = `
typedef unsigned short CHAR16;
struct TextOut { void *reset; unsigned long long (*OutputString)(struct TextOut *self, const CHAR16 *s); };
struct SystemTable { char hdr[24]; CHAR16 *vendor; unsigned rev; void *conInHandle; void *conIn; void *conOutHandle; struct TextOut *conOut; };
/* UEFI 2.10 §4.1 image entry point; ConOut is EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL (§12.4). */
unsigned long long efi_main(void *image, struct SystemTable *st) {
  (void)image;
  st->conOut->OutputString(st->conOut, u"KILN-UEFI-OK\\r\\n");
  __asm__ volatile("outl %0, %1" : : "a"(EXIT_VALUE), "Nd"((unsigned short)0xf4)); /* isa-debug-exit */
  for (;;) __asm__ volatile("hlt");
}
`;

const EFI_A64_C = `
typedef unsigned short CHAR16;
struct TextOut { void *reset; unsigned long long (*OutputString)(struct TextOut *self, const CHAR16 *s); };
struct SystemTable { char hdr[24]; CHAR16 *vendor; unsigned rev; void *conInHandle; void *conIn; void *conOutHandle; struct TextOut *conOut; };
unsigned long long efi_main(void *image, struct SystemTable *st) {
  (void)image;
  st->conOut->OutputString(st->conOut, u"KILN-UEFI-OK\\r\\n");
  unsigned long long block[2] = { 0x20026, 0 }; /* semihosting SYS_EXIT, code 0 */
  register unsigned long long x0 __asm__("x0") = 0x18;
  register unsigned long long x1 __asm__("x1") = (unsigned long long)block;
  __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
  for (;;) {}
}
`;

async function buildA64Disk(): Promise<string> {
  const src = join(dir, 'efia.c');
  writeFileSync(src, EFI_A64_C);
  const efi = join(dir, 'BOOTAA64.EFI');
  const r = sh([
    'clang',
    '--target=aarch64-unknown-windows',
    '-ffreestanding',
    '-fno-stack-protector',
    '-nostdlib',
    '-fuse-ld=lld-link',
    '-Wl,-subsystem:efi_application',
    '-Wl,-entry:efi_main',
    '-o',
    efi,
    src,
  ]);
  expect(r.status, r.stderr).toBe(0);
  const disk = join(dir, 'uefi-a64.img');
  await writeGptFile(disk, {
    size: '48M',
    seed: 'kiln-uefi-a64',
    partitions: [esp({ size: '40M', files: { '/EFI/BOOT/BOOTAA64.EFI': new Uint8Array(readFileSync(efi)) } })],
  });
  return disk;
}

async function buildDisk(exitValue: number): Promise<string> {
  const src = join(dir, 'efi.c');
  writeFileSync(src, EFI_C);
  const efi = join(dir, `BOOTX64-${exitValue}.EFI`);
  const r = sh([
    'clang',
    '--target=x86_64-unknown-windows',
    '-ffreestanding',
    '-fno-stack-protector',
    '-mno-red-zone',
    '-nostdlib',
    '-fuse-ld=lld-link',
    '-Wl,-subsystem:efi_application',
    '-Wl,-entry:efi_main',
    `-DEXIT_VALUE=${exitValue}u`,
    '-o',
    efi,
    src,
  ]);
  expect(r.status, r.stderr).toBe(0);
  const disk = join(dir, `uefi-${exitValue}.img`);
  await writeGptFile(disk, {
    size: '48M',
    seed: `kiln-uefi-test-${exitValue}`,
    partitions: [esp({ size: '40M', files: { '/EFI/BOOT/BOOTX64.EFI': new Uint8Array(readFileSync(efi)) } })],
  });
  const v = sh(['sgdisk', '-v', disk]);
  expect(v.stdout).toMatch(/No problems found/);
  return disk;
}

describe('UEFI (OVMF) boot from a GPT disk', () => {
  let results: QemuTestResult[] = [];
  let junit = '';
  beforeAll(async () => {
    const ok = await buildDisk(0);
    const bad = await buildDisk(5);
    const a64 = await buildA64Disk();
    const summary = await runTests(
      [
        {
          name: 'uefi-secure',
          disks: [{ path: ok }],
          firmware: 'uefi',
          secureBoot: true,
          accel: 'tcg',
          expect: ['KILN-UEFI-OK'],
          fail: [/Access Denied/],
          logDir: join(dir, 'logs-sb'),
        },
        {
          name: 'uefi-a64',
          arch: 'aarch64',
          disks: [{ path: a64 }],
          accel: 'tcg',
          expect: ['KILN-UEFI-OK'],
          logDir: join(dir, 'logs-a64'),
        },
        {
          name: 'uefi-ok',
          disks: [{ path: ok }],
          firmware: 'uefi',
          accel: 'tcg',
          expect: ['KILN-UEFI-OK'],
          logDir: join(dir, 'logs-ok'),
        },
        {
          name: 'uefi-exit5',
          disks: [{ path: bad }],
          firmware: 'uefi',
          accel: 'tcg',
          expect: ['KILN-UEFI-OK'],
          logDir: join(dir, 'logs-bad'),
        },
      ],
      { jobs: 2 },
    );
    results = summary.results;
    junit = testResultsToJUnit(results);
  }, 400_000);
  const get = (name: string) => results.find((r) => r.name === name)!;

  it('Secure Boot (OVMF .secboot, Microsoft keys, q35,smm=on) refuses the unsigned program', () => {
    const r = get('uefi-secure');
    expect(r.argv.slice(1, 3)).toEqual(['-machine', 'q35,smm=on']);
    expect(r.argv.join(' ')).toContain('-global driver=cfi.pflash01,property=secure,value=on');
    expect(r.firmwareNote).toMatch(/OVMF Secure Boot .*OVMF_CODE_4M\.secboot\.fd.*OVMF_VARS_4M\.ms\.fd/);
    expect(r.failure).toBe('fail-pattern');
    expect(r.failMatch?.line).toMatch(/BdsDxe: failed to load .*Access Denied/);
    expect(r.serialTail.join('\n')).not.toContain('KILN-UEFI-OK');
    expect(processGone(r.pid)).toBe(true);
  });

  it("OVMF loads \\EFI\\BOOT\\BOOTX64.EFI from the ESP; the program's line matches through the ANSI escapes", () => {
    const r = get('uefi-ok');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    expect(r.firmwareNote).toMatch(/OVMF .*OVMF_CODE/);
    expect(r.argv.join(' ')).toMatch(/if=pflash,format=raw,unit=1,file=.*logs-ok\/OVMF_VARS\.fd/);
    const raw = readFileSync(r.serialLog, 'latin1');
    expect(raw).toMatch(/\x1b\[/); // OVMF did write escape sequences
    expect(raw).toContain('KILN-UEFI-OK');
    expect(r.guestExitCode).toBe(0);
    expect(processGone(r.pid)).toBe(true);
  });

  it('the same boot with exit value 5 fails with the decoded code, in the result and the JUnit file', () => {
    const r = get('uefi-exit5');
    expect(r.failure).toBe('exit-code');
    expect(r.guestExitCode).toBe(5);
    expect(r.qemuExit?.code).toBe(11);
    const suite = readJUnit(junit).find((s) => s.name === 'uefi-exit5 [x86_64]')!;
    expect(suite.cases[0]).toMatchObject({ status: 'failed', message: r.reason });
    expect(readJUnit(junit).find((s) => s.name === 'uefi-ok [x86_64]')!.cases[0]!.status).toBe('passed');
  });

  it('the firmware variable template was copied, never used in place', () => {
    const r = get('uefi-ok');
    const varsArg = r.argv.find((a) => a.includes('unit=1'))!;
    expect(varsArg).not.toContain('/usr/share/OVMF');
    expect(existsSync(join(dir, 'logs-ok', 'OVMF_VARS.fd'))).toBe(true);
  });

  it('aarch64: an image boots under AAVMF by default (64 MiB pflash pair, variables copied) and exits through semihosting', () => {
    const r = get('uefi-a64');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    expect(r.firmwareNote).toMatch(/AAVMF/);
    expect(r.argv.join(' ')).toMatch(
      /-drive if=pflash,format=raw,unit=0,readonly=on,file=\/usr\/share\/AAVMF\/AAVMF_CODE\.fd -drive if=pflash,format=raw,unit=1,file=.*logs-a64\/AAVMF_VARS\.fd/,
    );
    expect(statSync(join(dir, 'logs-a64', 'AAVMF_VARS.fd')).size).toBe(64 << 20);
    expect(r.argv.join(' ')).toContain('-device virtio-blk-pci');
    expect(processGone(r.pid)).toBe(true);
  });
});
