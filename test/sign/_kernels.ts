// Builds small real kernels with the installed toolchains (nasm + ld.lld, clang + ld.lld), so the
// signing tests run on what a linker really produces. Nothing is checked in.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tool } from '../_helpers.js';

function must(argv: string[], cwd: string): void {
  const r = tool(argv, { cwd });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
}

const LINKER_SCRIPT = `
ENTRY(_start)
SECTIONS {
  . = 0x100000;
  .text : ALIGN(16) { *(.text.boot) *(.text .text.*) }
  . = ALIGN(4096);
  .rodata : { *(.rodata .rodata.*) }
  . = ALIGN(4096);
  .data : { *(.data .data.*) }
  .bss : { *(.bss .bss.*) *(COMMON) }
}
`;

/** An x86_64 kernel from NASM, linked at 1 MiB with ld.lld (symbols kept). */
export function buildNasmKernel(dir: string, name = 'nasm-kernel'): Uint8Array {
  const work = join(dir, name);
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(work, 'boot.asm'),
    `
bits 64
section .text.boot
global _start
_start:
    lea rsi, [rel message]
.loop:
    lodsb
    test al, al
    jz .halt
    mov dx, 0x3f8
    out dx, al
    jmp .loop
.halt:
    cli
    hlt
    jmp .halt
section .rodata
message: db "kiln kernel", 10, 0
section .data
counter: dq 42
section .bss
stack: resb 4096
`,
  );
  writeFileSync(join(work, 'link.ld'), LINKER_SCRIPT);
  must(['nasm', '-f', 'elf64', 'boot.asm', '-o', 'boot.o'], work);
  must(['ld.lld', '-static', '-T', 'link.ld', 'boot.o', '-o', 'kernel.elf'], work);
  return new Uint8Array(readFileSync(join(work, 'kernel.elf')));
}

/** A freestanding C kernel from clang (-ffreestanding -nostdlib), linked with ld.lld. */
export function buildClangKernel(dir: string, name = 'clang-kernel', target = 'x86_64-unknown-none-elf'): Uint8Array {
  const work = join(dir, name);
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(work, 'kernel.c'),
    `
static const char banner[] = "hello from a signed kernel\\n";
volatile unsigned long ticks = 7;
static unsigned long table[64];
__attribute__((section(".text.boot"))) void _start(void) {
  for (unsigned i = 0; i < sizeof banner; i++) table[i] = banner[i] + ticks;
  for (;;) { }
}
`,
  );
  writeFileSync(join(work, 'link.ld'), LINKER_SCRIPT);
  must(
    [
      'clang',
      `--target=${target}`,
      '-ffreestanding',
      '-fno-pic',
      '-mno-red-zone',
      '-O2',
      '-g',
      '-c',
      'kernel.c',
      '-o',
      'kernel.o',
    ],
    work,
  );
  must(['ld.lld', '-static', '-T', 'link.ld', 'kernel.o', '-o', 'kernel.elf'], work);
  return new Uint8Array(readFileSync(join(work, 'kernel.elf')));
}
