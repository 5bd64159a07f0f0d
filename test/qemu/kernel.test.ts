// inspectKernel decides the boot protocol the way QEMU does; every fixture is built with nasm and
// also booted by QEMU (the reference): what kiln accepts boots, what kiln refuses QEMU refuses.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { inspectKernel } from '../../src/qemu/index.js';
import { KilnError } from '../../src/errors.js';
import { tempDir } from '../_helpers.js';
import { buildA64Kernel, buildX86Kernel } from './_kernels.js';

const dir = tempDir('kiln-qemu-kernel-');
const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });

// 32-bit code printing "MB-OK" on COM1 then exiting through isa-debug-exit with 0.
const BODY = `
start:
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
msg: db "MB-OK", 13, 10, 0
`;

function mb1Header(flags: string, extra = ''): string {
  return `align 4\nmb: dd 0x1BADB002, ${flags}, -(0x1BADB002 + ${flags})\n${extra}`;
}

function elfKernel(name: string, format: 'elf32' | 'elf64', header: string): string {
  const asm = join(dir, `${name}.asm`);
  writeFileSync(asm, `BITS 32\nsection .text\nglobal start\n${header}\n${BODY}`);
  const obj = join(dir, `${name}.o`);
  const elf = join(dir, `${name}.elf`);
  expect(sh(['nasm', '-f', format, '-o', obj, asm]).status).toBe(0);
  const r = sh([
    'ld.lld',
    '-m',
    format === 'elf32' ? 'elf_i386' : 'elf_x86_64',
    '-Ttext=0x100000',
    '-e',
    'start',
    '-o',
    elf,
    obj,
  ]);
  expect(r.stderr).toBe('');
  return elf;
}

function qemuBoot(kernel: string): { status: number | null; stdout: string; stderr: string } {
  const r = sh([
    'qemu-system-x86_64',
    '-M',
    'q35',
    '-accel',
    'tcg',
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-nic',
    'none',
    '-no-reboot',
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-kernel',
    kernel,
  ]);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KilnError);
    return (e as KilnError).code;
  }
  return 'none';
}

describe('inspectKernel (x86_64) agrees with QEMU', () => {
  it('PVH note on an ELF64: accepted, and QEMU boots it', () => {
    const k = buildX86Kernel(dir, 'ok');
    const info = inspectKernel(k, 'x86_64');
    expect(info).toMatchObject({
      protocol: 'pvh',
      isElf: true,
      elfClass: 64,
      bootEntry: 0x100000,
      loadAddress: 0x100000,
    });
    expect(info.description).toContain('XEN_ELFNOTE_PHYS32_ENTRY');
    expect(qemuBoot(k)).toMatchObject({ status: 1, stdout: expect.stringContaining('KILN-END') });
  });

  it('multiboot v1 in an ELF32: accepted, and QEMU boots it', () => {
    const k = elfKernel('mb32', 'elf32', mb1Header('0x3'));
    expect(inspectKernel(k, 'x86_64')).toMatchObject({ protocol: 'multiboot-elf32', elfClass: 32 });
    expect(qemuBoot(k)).toMatchObject({ status: 1, stdout: expect.stringContaining('MB-OK') });
  });

  it('multiboot v1 in an ELF64: refused with the fixes, as QEMU refuses it', () => {
    const k = elfKernel('mb64', 'elf64', mb1Header('0x3'));
    const err = (() => {
      try {
        inspectKernel(k, 'x86_64');
      } catch (e) {
        return e as KilnError;
      }
    })();
    expect(err?.code).toBe('KERNEL_MULTIBOOT_ELF64');
    expect(err?.hint).toMatch(/PVH note/);
    expect(err?.hint).toMatch(/objcopy -O elf32-i386/);
    expect(err?.hint).toMatch(/a\.out kludge/);
    const q = qemuBoot(k);
    expect(q.status).toBe(1);
    expect(q.stderr).toMatch(/give a 32bit one/);
  });

  it('multiboot a.out kludge in a flat binary: accepted, and QEMU boots it', () => {
    const asm = join(dir, 'aout.asm');
    // Flat binary loaded at 0x100000: header_addr, load_addr, load_end_addr (0 = whole file), bss_end_addr, entry_addr.
    writeFileSync(asm, `BITS 32\norg 0x100000\n${mb1Header('0x10003', 'dd mb, 0x100000, 0, 0, start\n')}${BODY}`);
    const bin = join(dir, 'aout.bin');
    expect(sh(['nasm', '-f', 'bin', '-o', bin, asm]).status).toBe(0);
    expect(inspectKernel(bin, 'x86_64')).toMatchObject({
      protocol: 'multiboot-aout',
      isElf: false,
      bootEntry: 0x10000c + 20,
    });
    expect(qemuBoot(bin)).toMatchObject({ status: 1, stdout: expect.stringContaining('MB-OK') });
  });

  it('multiboot2 header only: refused, and QEMU refuses it', () => {
    const header =
      'align 8\nmb2: dd 0xE85250D6, 0, mb2_end - mb2, -(0xE85250D6 + (mb2_end - mb2))\n dw 0, 0\n dd 8\nmb2_end:\n';
    const k = elfKernel('mb2', 'elf64', header);
    expect(codeOf(() => inspectKernel(k, 'x86_64'))).toBe('KERNEL_MULTIBOOT2_ONLY');
    expect(qemuBoot(k).stdout).not.toContain('MB-OK');
  });

  it('an ELF64 with neither: refused, and QEMU refuses it', () => {
    const k = elfKernel('plain', 'elf64', '');
    expect(codeOf(() => inspectKernel(k, 'x86_64'))).toBe('KERNEL_NO_BOOT_PROTOCOL');
    const q = qemuBoot(k);
    expect(q.stdout).not.toContain('MB-OK');
    expect(q.stderr).toMatch(/PVH ELF Note/i);
  });

  it('wrong architecture and missing files are KilnErrors', () => {
    const a64 = buildA64Kernel(dir, 'ok');
    expect(codeOf(() => inspectKernel(a64, 'x86_64'))).toBe('KERNEL_WRONG_ARCH');
    expect(inspectKernel(a64, 'aarch64')).toMatchObject({
      protocol: 'elf',
      entry: 0x40080000,
      loadAddress: 0x40080000,
    });
    expect(codeOf(() => inspectKernel(join(dir, 'missing.elf'), 'x86_64'))).toBe('KERNEL_NOT_FOUND');
  });

  it('fuzz: mutated kernels give a result or a KilnError, never a crash', () => {
    const k = readFileSync(buildX86Kernel(dir, 'ok'));
    const runs = Number(process.env.KILN_FUZZ_RUNS ?? 1500);
    const file = join(dir, 'fuzz.elf');
    let errors = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: k.length - 1 }), v: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat({ max: k.length }),
        (muts, cut) => {
          const b = Uint8Array.from(k.subarray(0, Math.max(cut, 1)));
          for (const m of muts) if (m.at < b.length) b[m.at] = m.v;
          writeFileSync(file, b);
          try {
            inspectKernel(file, 'x86_64');
          } catch (e) {
            if (!(e instanceof KilnError)) throw e;
            errors++;
          }
        },
      ),
      { numRuns: runs },
    );
    expect(errors).toBeGreaterThan(0);
  });
});
