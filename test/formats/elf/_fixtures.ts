// ELF fixtures built from source with the real toolchains (gcc, clang for several targets, ld.lld,
// nasm). Each fixture is built once per test file, on first use, in a temporary folder.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { tool } from '../../_helpers.js';

export interface Fixture {
  name: string;
  path: string;
  bytes: Uint8Array;
  /** Runs on this host; its stdout when run. */
  runs?: { stdout: string; code: number };
  /** objcopy to use as the oracle (GNU objcopy knows only the host's targets). */
  objcopy: 'objcopy' | 'llvm-objcopy';
}

const HOSTED_C = `#include <stdio.h>
int counter = 3;
static int hidden;
const char message[] = "kiln says hi";
__attribute__((noinline)) int add(int a, int b) { return a + b + hidden; }
int main(void) { printf("%s %d\\n", message, add(counter, 4)); return 0; }
`;

// x86_64 Linux without libc (small enough for llvm-objdump -d in every test): prints "kiln says hi 7".
const STATIC_C = `static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
int counter = 3;
static int hidden;
const char message[] = "kiln says hi";
__attribute__((noinline)) int add(int a, int b) { return a + b + hidden; }
void _start(void) {
  char buf[32];
  int n = 0;
  for (const char *p = message; *p; p++) buf[n++] = *p;
  buf[n++] = ' ';
  buf[n++] = (char)('0' + add(counter, 4));
  buf[n++] = '\\n';
  sys3(1, 1, (long)buf, n);
  sys3(60, 0, 0, 0);
  for (;;) { }
}
`;

const FREESTANDING_C = `int counter = 3;
static int hidden;
const char message[] = "kiln";
__thread int per_thread = 5;
int add(int a, int b) { return a + b + hidden + counter + message[0]; }
void _start(void) { hidden = add(1, 2); for (;;) { } }
`;

// i386 Linux, no libc: write(1, msg, len); exit(7) through int 0x80.
const I386_C = `static const char msg[] = "i386 ok\\n";
int counter = 2;
void _start(void) {
  int ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(4), "b"(1), "c"(msg), "d"(sizeof msg - 1) : "memory");
  __asm__ volatile("int $0x80" : : "a"(1), "b"(7 + counter - 2));
  for (;;) { }
}
`;

/** A tiny x86 kernel: PVH note for QEMU -kernel, a multiboot2 header, serial output, isa-debug-exit. */
export const PVH_KERNEL_ASM = `bits 32
section .note.Xen note alloc noexec nowrite align=4
    dd 4, 4, 18
    db "Xen", 0
    dd _start
section .multiboot progbits alloc noexec nowrite align=8
mb2:
    dd 0xE85250D6, 0, mb2_end - mb2, -(0xE85250D6 + (mb2_end - mb2))
    dw 0, 0
    dd 8
mb2_end:
section .text progbits alloc exec nowrite align=16
global _start
_start:
    mov esi, msg
.next:
    lodsb
    test al, al
    jz .done
    mov dx, 0x3f8
    out dx, al
    jmp .next
.done:
    mov al, 0x21
    mov dx, 0xf4
    out dx, al
.spin:
    hlt
    jmp .spin
section .rodata progbits alloc noexec nowrite align=4
msg: db "kiln-pvh-ok", 10, 0
`;
const PVH_KERNEL_LD = `ENTRY(_start)
SECTIONS {
  . = 1M;
  .multiboot : { *(.multiboot) }
  .note.Xen : { *(.note.Xen) }
  .text : { *(.text) }
  .rodata : { *(.rodata) }
}
`;

/** The same kernel as ELF32 with a multiboot v1 header (QEMU -kernel loads it by its program headers). */
export const MB1_KERNEL_ASM = `bits 32
section .multiboot progbits alloc noexec nowrite align=4
    dd 0x1BADB002, 0, -(0x1BADB002)
section .text progbits alloc exec nowrite align=16
global _start
_start:
    mov esi, msg
.next:
    lodsb
    test al, al
    jz .done
    mov dx, 0x3f8
    out dx, al
    jmp .next
.done:
    mov al, 0x21
    mov dx, 0xf4
    out dx, al
.spin:
    hlt
    jmp .spin
section .rodata progbits alloc noexec nowrite align=4
msg: db "kiln-mb1-ok", 10, 0
`;
const MB1_KERNEL_LD = `ENTRY(_start)
SECTIONS {
  . = 1M;
  .multiboot : { *(.multiboot) }
  .text : { *(.text) }
  .rodata : { *(.rodata) }
}
`;

/** A higher-half x86_64 kernel: linked at 0xffffffff80100000, loaded (AT) at 1 MiB. */
const HIGHER_HALF_ASM = `bits 64
section .text
global _start
_start:
    lea rsi, [rel msg]
    hlt
    jmp _start
section .rodata
msg: db "higher half", 0
section .data
counter: dq 1
section .bss
stack: resb 4096
`;
const HIGHER_HALF_LD = `ENTRY(_start)
KERNEL_VMA = 0xffffffff80000000;
SECTIONS {
  . = KERNEL_VMA + 1M;
  .text : AT(ADDR(.text) - KERNEL_VMA) { *(.text) }
  . = ALIGN(4096);
  .rodata : AT(ADDR(.rodata) - KERNEL_VMA) { *(.rodata) }
  . = ALIGN(4096);
  .data : AT(ADDR(.data) - KERNEL_VMA) { *(.data) }
  .bss : AT(ADDR(.bss) - KERNEL_VMA) { *(.bss) }
}
`;

const NASM_OBJ = `section .data
greeting: db "hello", 0
global value
value: dd 42
section .bss
buffer: resb 64
section .text
global entry
entry:
    mov eax, [value]
    ret
`;

// A shared library with symbol versions: a default (@@) and a hidden old (@) version of one function.
const VERSIONED_C = `int counter = 1;
int old_add(int a, int b) { return a + b; }
int new_add(int a, int b) { return a + b + counter; }
__asm__(".symver old_add,add@KILN_1.0");
__asm__(".symver new_add,add@@KILN_2.0");
int helper(void) { return 42; }
`;
const VERSION_SCRIPT = `KILN_1.0 { global: helper; counter; add; local: *; };
KILN_2.0 { global: add; } KILN_1.0;
`;

type Recipe = {
  files: Record<string, string>;
  steps: string[][];
  out: string;
  objcopy?: 'objcopy' | 'llvm-objcopy';
  run?: boolean;
};

const RECIPES: Record<string, Recipe> = {
  'x86_64-static': {
    files: { 'a.c': STATIC_C },
    steps: [
      [
        'gcc',
        '-g',
        '-O1',
        '-static',
        '-no-pie',
        '-nostdlib',
        '-ffreestanding',
        '-fno-stack-protector',
        '-fno-tree-loop-distribute-patterns',
        '-Wl,--build-id=sha1',
        'a.c',
        '-o',
        'out',
      ],
    ],
    out: 'out',
    objcopy: 'objcopy',
    run: true,
  },
  'x86_64-pie': {
    files: { 'a.c': HOSTED_C },
    steps: [['gcc', '-g', '-O2', '-fPIE', '-pie', '-Wl,-z,relro,-z,now', 'a.c', '-o', 'out']],
    out: 'out',
    objcopy: 'objcopy',
    run: true,
  },
  'x86_64-so': {
    files: { 'v.c': VERSIONED_C, 'v.map': VERSION_SCRIPT },
    steps: [['gcc', '-g', '-O1', '-shared', '-fPIC', '-Wl,--version-script=v.map', 'v.c', '-o', 'out']],
    out: 'out',
    objcopy: 'objcopy',
  },
  'x86_64-obj': { files: { 'a.c': HOSTED_C }, steps: [['gcc', '-g', '-O1', '-c', 'a.c', '-o', 'out']], out: 'out' },
  'x86_64-clang-obj': {
    files: { 'a.c': FREESTANDING_C },
    steps: [['clang', '-g', '-O1', '-ffunction-sections', '-c', 'a.c', '-o', 'out']],
    out: 'out',
  },
  'i386-obj': {
    files: { 'a.c': FREESTANDING_C },
    steps: [['clang', '-m32', '-g', '-O1', '-c', 'a.c', '-o', 'out']],
    out: 'out',
  },
  'i386-exe': {
    files: { 'a.c': I386_C },
    steps: [
      [
        'clang',
        '--target=i386-linux-gnu',
        '-O1',
        '-g',
        '-ffreestanding',
        '-fno-pic',
        '-nostdlib',
        '-static',
        '-fuse-ld=lld',
        '-Wl,--build-id=sha1',
        'a.c',
        '-o',
        'out',
      ],
    ],
    out: 'out',
    objcopy: 'objcopy',
    run: true,
  },
  'aarch64-obj': {
    files: { 'a.c': FREESTANDING_C },
    steps: [['clang', '--target=aarch64-linux-gnu', '-g', '-O1', '-c', 'a.c', '-o', 'out']],
    out: 'out',
  },
  'aarch64-exe': {
    files: { 'a.c': FREESTANDING_C },
    steps: [
      [
        'clang',
        '--target=aarch64-linux-gnu',
        '-g',
        '-O1',
        '-nostdlib',
        '-static',
        '-fuse-ld=lld',
        '-Wl,--build-id=sha1',
        'a.c',
        '-o',
        'out',
      ],
    ],
    out: 'out',
    objcopy: 'llvm-objcopy',
  },
  'riscv64-obj': {
    files: { 'a.c': FREESTANDING_C },
    steps: [['clang', '--target=riscv64-linux-gnu', '-g', '-O1', '-c', 'a.c', '-o', 'out']],
    out: 'out',
  },
  'riscv64-exe': {
    files: { 'a.c': FREESTANDING_C },
    steps: [
      [
        'clang',
        '--target=riscv64-linux-gnu',
        '-O1',
        '-g',
        '-nostdlib',
        '-static',
        '-fuse-ld=lld',
        '-mno-relax',
        '-Wl,--build-id=sha1',
        'a.c',
        '-o',
        'out',
      ],
    ],
    out: 'out',
    objcopy: 'llvm-objcopy',
  },
  'ppc64-obj': {
    files: { 'a.c': FREESTANDING_C },
    steps: [['clang', '--target=powerpc64-linux-gnu', '-g', '-O1', '-c', 'a.c', '-o', 'out']],
    out: 'out',
  },
  'ppc64-exe': {
    files: { 'a.c': FREESTANDING_C },
    steps: [
      [
        'clang',
        '--target=powerpc64-linux-gnu',
        '-O1',
        '-nostdlib',
        '-static',
        '-fuse-ld=lld',
        '-Wl,--build-id=sha1',
        'a.c',
        '-o',
        'out',
      ],
    ],
    out: 'out',
    objcopy: 'llvm-objcopy',
  },
  'mips-obj': {
    files: { 'a.c': FREESTANDING_C },
    steps: [['clang', '--target=mips-linux-gnu', '-g', '-O1', '-c', 'a.c', '-o', 'out']],
    out: 'out',
  },
  'mips-exe': {
    files: { 'a.c': FREESTANDING_C },
    steps: [
      [
        'clang',
        '--target=mips-linux-gnu',
        '-O1',
        '-g',
        '-nostdlib',
        '-static',
        '-fuse-ld=lld',
        '-Wl,-e,_start',
        '-Wl,--build-id=sha1',
        'a.c',
        '-o',
        'out',
      ],
    ],
    out: 'out',
    objcopy: 'llvm-objcopy',
  },
  'nasm-elf32': {
    files: { 'a.asm': NASM_OBJ },
    steps: [['nasm', '-f', 'elf32', '-g', '-F', 'dwarf', 'a.asm', '-o', 'out']],
    out: 'out',
  },
  'nasm-elf64': {
    files: { 'a.asm': NASM_OBJ },
    steps: [['nasm', '-f', 'elf64', '-g', '-F', 'dwarf', 'a.asm', '-o', 'out']],
    out: 'out',
  },
  'mb1-kernel': {
    files: { 'k.asm': MB1_KERNEL_ASM, 'k.ld': MB1_KERNEL_LD },
    steps: [
      ['nasm', '-f', 'elf32', '-g', '-F', 'dwarf', 'k.asm', '-o', 'k.o'],
      ['ld.lld', '-m', 'elf_i386', '-T', 'k.ld', '--build-id=sha1', 'k.o', '-o', 'out'],
    ],
    out: 'out',
    objcopy: 'objcopy',
  },
  'higher-half': {
    files: { 'k.asm': HIGHER_HALF_ASM, 'k.ld': HIGHER_HALF_LD },
    steps: [
      ['nasm', '-f', 'elf64', '-g', '-F', 'dwarf', 'k.asm', '-o', 'k.o'],
      ['ld.lld', '-m', 'elf_x86_64', '-T', 'k.ld', 'k.o', '-o', 'out'],
    ],
    out: 'out',
    objcopy: 'objcopy',
  },
  'pvh-kernel': {
    files: { 'k.asm': PVH_KERNEL_ASM, 'k.ld': PVH_KERNEL_LD },
    steps: [
      ['nasm', '-f', 'elf64', '-g', '-F', 'dwarf', 'k.asm', '-o', 'k.o'],
      ['ld.lld', '-m', 'elf_x86_64', '-T', 'k.ld', '--build-id=sha1', 'k.o', '-o', 'out'],
    ],
    out: 'out',
    objcopy: 'objcopy',
  },
};

export const FIXTURE_NAMES = Object.keys(RECIPES);
export const LINKED_FIXTURES = FIXTURE_NAMES.filter((n) => RECIPES[n]!.objcopy);

let root: string | undefined;
const cache = new Map<string, Fixture>();

/** Builds (once) and returns the fixture `name`. Throws with the tool's output when a build fails. */
export function fixture(name: string): Fixture {
  const hit = cache.get(name);
  if (hit) return hit;
  const recipe = RECIPES[name];
  if (!recipe) throw new Error(`unknown fixture ${name}`);
  if (!root) {
    root = mkdtempSync(join(tmpdir(), 'kiln-elf-fixtures-'));
    const dir = root;
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
  }
  const dir = mkdtempSync(join(root, `${name}-`));
  for (const [file, text] of Object.entries(recipe.files)) writeFileSync(join(dir, file), text);
  for (const argv of recipe.steps) {
    const r = tool(argv, { cwd: dir });
    if (r.status !== 0)
      throw new Error(
        `fixture ${name}: ${argv.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}${r.error ?? ''}`,
      );
  }
  const path = join(dir, recipe.out);
  const f: Fixture = {
    name,
    path,
    bytes: new Uint8Array(readFileSync(path)),
    objcopy: recipe.objcopy ?? 'llvm-objcopy',
  };
  if (recipe.run) {
    const r = tool([path]);
    f.runs = { stdout: r.stdout, code: r.status ?? -1 };
  }
  cache.set(name, f);
  return f;
}

/** Writes bytes next to the fixtures and returns the path (executable, for running). */
export function scratch(name: string, bytes: Uint8Array): string {
  if (!root) fixture('nasm-elf64');
  const path = join(root!, name);
  writeFileSync(path, bytes, { mode: 0o755 });
  return path;
}
