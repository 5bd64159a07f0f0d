// Tiny test kernels built from source inside the tests (nasm for x86_64, clang for aarch64).
// Each prints on the serial port and ends in one way chosen by MODE.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tool = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000 });

export type KernelMode = 'ok' | 'fail' | 'hang' | 'panic' | 'triple' | 'ktap' | 'silent-exit' | 'psci' | 'prompt';
const MODES: Record<KernelMode, number> = {
  ok: 1,
  fail: 2,
  hang: 3,
  panic: 4,
  triple: 5,
  ktap: 6,
  'silent-exit': 7,
  psci: 8,
  prompt: 9,
};

/** KTAP the kernels print: 2 top-level cases + a suite of 3 (pass, fail, skip) and a TODO. */
export const KTAP_TEXT = [
  'KTAP version 1',
  '1..4',
  'ok 1 boot_sanity',
  '    KTAP version 1',
  '    # Subtest: memory',
  '    1..3',
  '    ok 1 alloc_page',
  '    # free_page: EXPECTATION FAILED at mm.c:42',
  '    not ok 2 free_page',
  '    ok 3 huge_pages # SKIP no huge pages under TCG',
  'not ok 2 memory',
  'ok 3 timer # SKIP no HPET',
  'not ok 4 scheduler # TODO not written yet',
];

function check(r: ReturnType<typeof tool>, what: string): void {
  if (r.status !== 0)
    throw new Error(`${what} failed (${r.status}): ${r.stderr}${r.stdout}${r.error ? String(r.error) : ''}`);
}

const X86_ASM = (ktap: string) => `
; PVH kernel: QEMU enters _start in 32-bit protected mode, paging off (Xen PVH boot ABI).
BITS 32
section .note.Xen note alloc noexec nowrite align=4
  dd 4, 4, 18              ; namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY
  db "Xen", 0
  dd _start
section .text progbits alloc exec nowrite align=16
global _start
_start:
  mov esp, stack_top
%if MODE == 7
  jmp exit0
%endif
  mov esi, banner
  call puts
%if MODE == 1
  mov esi, endmsg
  call puts
exit0:
  mov eax, 0
  jmp do_exit
%elif MODE == 7
exit0:
  mov eax, 0
  jmp do_exit
%elif MODE == 2
  mov esi, endmsg
  call puts
  mov eax, 3
  jmp do_exit
%elif MODE == 3
  mov esi, hangmsg
  call puts
  cli
.h: hlt
  jmp .h
%elif MODE == 4
  mov esi, panicmsg
  call puts
.p: pause
  jmp .p
%elif MODE == 5
  mov esi, triplemsg
  call puts
  lidt [null_idt]
  int3                      ; no IDT: #GP, #DF, then a triple fault (reset)
.t: jmp .t
%elif MODE == 9
  mov esi, promptmsg
  call puts
.w: hlt
  jmp .w
%elif MODE == 6
  mov esi, ktap
  call puts
  mov esi, endmsg
  call puts
  mov eax, 0
  jmp do_exit
%endif
do_exit:
  mov dx, 0xf4              ; isa-debug-exit: QEMU exits with (eax << 1) | 1
  out dx, eax
.spin:
  hlt
  jmp .spin

puts:                       ; esi = NUL-terminated string, to COM1 (0x3f8) polling LSR.THRE
  lodsb
  test al, al
  jz .done
  mov ah, al
  mov dx, 0x3fd
.wait:
  in al, dx
  test al, 0x20
  jz .wait
  mov dx, 0x3f8
  mov al, ah
  out dx, al
  jmp puts
.done:
  ret

section .rodata progbits alloc noexec nowrite align=4
null_idt: dw 0
  dd 0
banner: db "kiln test kernel x86_64", 13, 10, 0
endmsg: db "KILN-END", 13, 10, 0
hangmsg: db "going to sleep forever", 13, 10, 0
panicmsg: db "PANIC: kernel panic: the test kernel broke on purpose", 13, 10, 0
triplemsg: db "loading a null IDT, then int3", 13, 10, 0
promptmsg: db "kiln> ", 0
ktap: db ${ktap}, 0
section .bss nobits alloc noexec write align=16
  resb 4096
stack_top:
`;

const X86_LD = `ENTRY(_start)
SECTIONS {
  . = 0x100000;
  .text : { *(.text) }
  .rodata : { *(.rodata) }
  .note.Xen : { *(.note.Xen) }
  .bss : { *(.bss) }
  /DISCARD/ : { *(.note.GNU-stack) }
}
`;

function nasmString(lines: string[]): string {
  return lines.map((l) => `"${l}", 13, 10`).join(', ');
}

/** Builds an x86_64 ELF64 PVH kernel for a mode; returns its path. */
export function buildX86Kernel(dir: string, mode: KernelMode): string {
  mkdirSync(dir, { recursive: true });
  const asm = join(dir, 'x86.asm');
  const ld = join(dir, 'x86.ld');
  writeFileSync(asm, X86_ASM(nasmString(KTAP_TEXT)));
  writeFileSync(ld, X86_LD);
  const obj = join(dir, `x86-${mode}.o`);
  const elf = join(dir, `x86-${mode}.elf`);
  check(tool(['nasm', '-f', 'elf64', `-DMODE=${MODES[mode]}`, '-o', obj, asm]), 'nasm');
  check(tool(['ld.lld', '-m', 'elf_x86_64', '-T', ld, '-o', elf, obj]), 'ld.lld');
  return elf;
}

const A64_C = (ktap: string) => `
/* aarch64 virt test kernel: -kernel ELF starts at EL1, MMU off; PL011 at 0x09000000 needs no setup. */
typedef unsigned long u64;
#define UART ((volatile unsigned int *)0x09000000)
static void puts_(const char *s) { while (*s) *UART = (unsigned int)*s++; }
static void semihost_exit(u64 code) {
  /* SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit (0x20026) and the exit code */
  u64 block[2] = { 0x20026, code };
  register u64 x0 __asm__("x0") = 0x18;
  register u64 x1 __asm__("x1") = (u64)block;
  __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
}
static void psci_off(void) {
  register u64 x0 __asm__("x0") = 0x84000008; /* PSCI SYSTEM_OFF */
  __asm__ volatile("hvc #0" : : "r"(x0) : "memory");
}
void kmain(void) {
  puts_("kiln test kernel aarch64\\r\\n");
#if MODE == 1
  puts_("KILN-END\\r\\n"); semihost_exit(0);
#elif MODE == 2
  puts_("KILN-END\\r\\n"); semihost_exit(3);
#elif MODE == 3
  puts_("going to sleep forever\\r\\n");
#elif MODE == 4
  puts_("PANIC: kernel panic: the test kernel broke on purpose\\r\\n");
#elif MODE == 6
  puts_(${JSON.stringify(ktap)}); puts_("KILN-END\\r\\n"); semihost_exit(0);
#elif MODE == 8
  puts_("KILN-END\\r\\n"); psci_off();
#endif
  for (;;) __asm__ volatile("wfi");
}
__asm__(".section .text.boot,\\"ax\\"\\n.global _start\\n_start:\\n ldr x0, =stack_top\\n mov sp, x0\\n bl kmain\\n1: wfi\\n b 1b\\n");
`;

const A64_LD = `ENTRY(_start)
SECTIONS {
  . = 0x40080000;
  .text : { *(.text.boot) *(.text*) }
  .rodata : { *(.rodata*) }
  .data : { *(.data*) }
  .bss : { *(.bss*) *(COMMON) }
  . = ALIGN(16);
  . += 0x4000;
  stack_top = .;
}
`;

/** Builds an aarch64 ELF kernel (linked at 0x40080000) for a mode; returns its path. */
export function buildA64Kernel(dir: string, mode: KernelMode): string {
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'a64.c');
  const ld = join(dir, 'a64.ld');
  writeFileSync(src, A64_C(KTAP_TEXT.map((l) => `${l}\r\n`).join('')));
  writeFileSync(ld, A64_LD);
  const elf = join(dir, `a64-${mode}.elf`);
  check(
    tool([
      'clang',
      '--target=aarch64-none-elf',
      '-ffreestanding',
      '-nostdlib',
      '-fuse-ld=lld',
      '-mgeneral-regs-only',
      '-O2',
      `-DMODE=${MODES[mode]}`,
      `-Wl,-T,${ld}`,
      '-o',
      elf,
      src,
    ]),
    'clang aarch64',
  );
  return elf;
}

/** True when no process with this pid exists (QEMU and its process group were reaped). */
export function processGone(pid: number | undefined): boolean {
  if (pid === undefined) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
