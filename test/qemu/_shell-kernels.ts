// Test kernels with a line-editing shell on the first serial port: COM1 (x86_64, nasm, PVH
// -kernel) and the PL011 (aarch64 virt, clang + ld.lld). Both speak the same little language:
//   echo TEXT      prints TEXT
//   pid            prints pid=N (N = 1000 + commands run so far: changes between runs of pid)
//   kill N         prints "killed N" for the last pid printed, "no such process N" otherwise
//   slow           reads one line one character at a time, pausing a few ms before each read,
//                  then prints "slow: LEN bytes: TEXT"
//   hang           prints "hanging" and never reads again
//   com2 TEXT      (x86_64) prints TEXT on COM2, the second serial port
//   pci N          (x86_64) prints "pci N: VVVV:DDDD", the vendor and device id of PCI 00:N.0
//                  (ffff:ffff when the slot is empty): sees a device hot-plugged by the monitor
//   exit           exits through isa-debug-exit (x86_64) / semihosting (aarch64) with code 0
// Line editing: backspace (DEL or BS) erases with "\b \b", Ctrl-C prints ^C and a new prompt,
// Ctrl-U erases the line. The prompt is "$ ".
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tool = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000 });

function check(r: ReturnType<typeof tool>, what: string): void {
  if (r.status !== 0)
    throw new Error(`${what} failed (${r.status}): ${r.stderr}${r.stdout}${r.error ? String(r.error) : ''}`);
}

const X86_SHELL = `
BITS 32
section .note.Xen note alloc noexec nowrite align=4
  dd 4, 4, 18
  db "Xen", 0
  dd _start
section .text progbits alloc exec nowrite align=16
global _start
_start:
  mov esp, stack_top
  mov esi, banner
  call puts
prompt:
  mov esi, promptmsg
  call puts
  mov dword [linelen], 0
readloop:
  call getc
  cmp al, 13
  je enter
  cmp al, 10
  je enter
  cmp al, 0x7f
  je backspace
  cmp al, 8
  je backspace
  cmp al, 3
  je ctrlc
  cmp al, 0x15
  je ctrlu
  cmp al, 0x20
  jb readloop
  mov ecx, [linelen]
  cmp ecx, 250
  jae readloop
  mov [line + ecx], al
  inc dword [linelen]
  call putc
  jmp readloop
backspace:
  cmp dword [linelen], 0
  je readloop
  dec dword [linelen]
  mov esi, erase
  call puts
  jmp readloop
ctrlu:
  cmp dword [linelen], 0
  je readloop
  dec dword [linelen]
  mov esi, erase
  call puts
  jmp ctrlu
ctrlc:
  mov esi, ctrlcmsg
  call puts
  jmp prompt
enter:
  mov esi, crlf
  call puts
  mov ecx, [linelen]
  mov byte [line + ecx], 0
  inc dword [count]
  cmp ecx, 0
  je prompt
  mov edi, w_echo
  call command
  jnz .not_echo
  call puts
  mov esi, crlf
  call puts
  jmp prompt
.not_echo:
  mov edi, w_pid
  call command
  jnz .not_pid
  mov eax, [count]
  add eax, 1000
  mov [curpid], eax
  mov esi, pidmsg
  call puts
  mov eax, [curpid]
  call putdec
  mov esi, crlf
  call puts
  jmp prompt
.not_pid:
  mov edi, w_kill
  call command
  jnz .not_kill
  call parsedec
  mov ebx, eax
  cmp eax, [curpid]
  jne .nosuch
  cmp eax, 0
  je .nosuch
  mov esi, killedmsg
  call puts
  mov dword [curpid], 0
  jmp .killnum
.nosuch:
  mov esi, nosuchmsg
  call puts
.killnum:
  mov eax, ebx
  call putdec
  mov esi, crlf
  call puts
  jmp prompt
.not_kill:
  mov edi, w_slow
  call command
  jnz .not_slow
  xor ebx, ebx
.slowloop:
  call delay
  call getc
  cmp al, 13
  je .slowdone
  cmp al, 10
  je .slowdone
  cmp ebx, 250
  jae .slowloop
  mov [line + ebx], al
  inc ebx
  jmp .slowloop
.slowdone:
  mov byte [line + ebx], 0
  mov esi, slowmsg
  call puts
  mov eax, ebx
  call putdec
  mov esi, bytesmsg
  call puts
  mov esi, line
  call puts
  mov esi, crlf
  call puts
  jmp prompt
.not_slow:
  mov edi, w_hang
  call command
  jnz .not_hang
  mov esi, hangmsg
  call puts
  cli
.h: hlt
  jmp .h
.not_hang:
  mov edi, w_com2
  call command
  jnz .not_com2
.c2: lodsb
  test al, al
  jz .c2done
  call putc2
  jmp .c2
.c2done:
  mov al, 13
  call putc2
  mov al, 10
  call putc2
  jmp prompt
.not_com2:
  mov edi, w_pci
  call command
  jnz .not_pci
  call parsedec
  mov ebx, eax
  mov esi, pcimsg
  call puts
  mov eax, ebx
  call putdec
  mov esi, colonmsg
  call puts
  mov eax, ebx
  shl eax, 11
  or eax, 0x80000000        ; config address: enable, bus 0, device N, function 0, register 0
  mov dx, 0xcf8
  out dx, eax
  mov dx, 0xcfc
  in eax, dx
  mov ebx, eax
  call puthex16             ; vendor (low half)
  mov al, ':'
  call putc
  mov eax, ebx
  shr eax, 16
  call puthex16             ; device (high half)
  mov esi, crlf
  call puts
  jmp prompt
.not_pci:
  mov edi, w_exit
  call command
  jnz .unknown
  mov esi, byemsg
  call puts
  mov eax, 0
  mov dx, 0xf4
  out dx, eax
.spin: hlt
  jmp .spin
.unknown:
  mov esi, unknownmsg
  call puts
  mov esi, line
  call puts
  mov esi, crlf
  call puts
  jmp prompt

; command: edi = word ("echo " with its space, or "pid" alone). ZF set when the line is that
; command; esi then points after the word.
command:
  mov esi, line
.c: mov al, [edi]
  test al, al
  jz .end
  cmp al, [esi]
  jne .no
  inc esi
  inc edi
  jmp .c
.end:
  cmp byte [edi - 1], ' '
  je .yes
  cmp byte [esi], 0
  jne .no
.yes:
  xor eax, eax
  ret
.no:
  or eax, 1
  ret

parsedec:                   ; esi = digits -> eax
  xor eax, eax
.p: movzx ecx, byte [esi]
  sub ecx, '0'
  cmp ecx, 9
  ja .d
  imul eax, eax, 10
  add eax, ecx
  inc esi
  jmp .p
.d: ret

putdec:                     ; eax -> decimal on COM1
  mov edi, numbuf + 15
  mov byte [edi], 0
  mov ecx, 10
.n: xor edx, edx
  div ecx
  add dl, '0'
  dec edi
  mov [edi], dl
  test eax, eax
  jnz .n
  mov esi, edi
  jmp puts

puthex16:                   ; ax -> 4 lower-case hex digits on COM1
  mov ecx, 4
.x: rol ax, 4
  push eax
  and al, 0x0f
  add al, '0'
  cmp al, '9'
  jbe .o
  add al, 'a' - '9' - 1
.o: call putc
  pop eax
  loop .x
  ret

delay:                      ; a few ms of port I/O (each access leaves TCG's translated code)
  push ecx
  mov ecx, 3000
.l: in al, 0x80
  loop .l
  pop ecx
  ret

getc:                       ; al = next byte from COM1 (polls LSR.DR)
  push edx
  mov dx, 0x3fd
.w: in al, dx
  test al, 1
  jz .w
  mov dx, 0x3f8
  in al, dx
  pop edx
  ret

putc:                       ; al to COM1 (polls LSR.THRE)
  push edx
  push eax
  mov dx, 0x3fd
.w: in al, dx
  test al, 0x20
  jz .w
  pop eax
  mov dx, 0x3f8
  out dx, al
  pop edx
  ret

putc2:                      ; al to COM2
  push edx
  push eax
  mov dx, 0x2fd
.w: in al, dx
  test al, 0x20
  jz .w
  pop eax
  mov dx, 0x2f8
  out dx, al
  pop edx
  ret

puts:                       ; esi = NUL-terminated string
  lodsb
  test al, al
  jz .done
  call putc
  jmp puts
.done:
  ret

section .rodata progbits alloc noexec nowrite align=4
banner: db "kiln shell x86_64", 13, 10, 0
promptmsg: db "$ ", 0
crlf: db 13, 10, 0
erase: db 8, " ", 8, 0
ctrlcmsg: db "^C", 13, 10, 0
pidmsg: db "pid=", 0
killedmsg: db "killed ", 0
nosuchmsg: db "no such process ", 0
slowmsg: db "slow: ", 0
bytesmsg: db " bytes: ", 0
hangmsg: db "hanging", 13, 10, 0
byemsg: db "bye", 13, 10, 0
unknownmsg: db "unknown command: ", 0
w_echo: db "echo ", 0
w_pid: db "pid", 0
w_kill: db "kill ", 0
w_slow: db "slow", 0
w_hang: db "hang", 0
w_com2: db "com2 ", 0
w_exit: db "exit", 0
w_pci: db "pci ", 0
pcimsg: db "pci ", 0
colonmsg: db ": ", 0
section .bss nobits alloc noexec write align=16
linelen: resd 1
count: resd 1
curpid: resd 1
line: resb 256
numbuf: resb 16
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

/** Builds the x86_64 shell kernel (ELF64 with a PVH note); returns its path. */
export function buildX86Shell(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const asm = join(dir, 'shell-x86.asm');
  const ld = join(dir, 'shell-x86.ld');
  const obj = join(dir, 'shell-x86.o');
  const elf = join(dir, 'shell-x86.elf');
  writeFileSync(asm, X86_SHELL);
  writeFileSync(ld, X86_LD);
  check(tool(['nasm', '-f', 'elf64', '-o', obj, asm]), 'nasm');
  check(tool(['ld.lld', '-m', 'elf_x86_64', '-T', ld, '-o', elf, obj]), 'ld.lld');
  return elf;
}

const A64_SHELL = `
/* aarch64 virt: -kernel ELF at EL1, MMU off; PL011 at 0x09000000 (DR at +0, FR at +0x18). */
typedef unsigned long u64;
#define UART_DR ((volatile unsigned int *)0x09000000)
#define UART_FR ((volatile unsigned int *)0x09000018)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
static void putc_(char c) { while (*UART_FR & FR_TXFF) {} *UART_DR = (unsigned int)(unsigned char)c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static char getc_(void) { while (*UART_FR & FR_RXFE) {} return (char)(*UART_DR & 0xff); }
static void putdec(unsigned long n) {
  char b[24]; int i = 23; b[i] = 0;
  do { b[--i] = (char)('0' + n % 10); n /= 10; } while (n);
  puts_(b + i);
}
static unsigned long parsedec(const char *s) { unsigned long n = 0; while (*s >= '0' && *s <= '9') n = n * 10 + (unsigned long)(*s++ - '0'); return n; }
static const char *command(const char *line, const char *word) {
  while (*word) { if (*line != *word) return 0; line++; word++; }
  if (word[-1] == ' ' || *line == 0) return line;
  return 0;
}
static void delay(void) { for (volatile int i = 0; i < 200000; i++) {} }
static void semihost_exit(u64 code) {
  u64 block[2] = { 0x20026, code };
  register u64 x0 __asm__("x0") = 0x18;
  register u64 x1 __asm__("x1") = (u64)block;
  __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
}
static char line[256];
void kmain(void) {
  unsigned long count = 0, pid = 0;
  puts_("kiln shell aarch64\\r\\n");
  for (;;) {
    int len = 0;
    puts_("$ ");
    for (;;) {
      char c = getc_();
      if (c == '\\r' || c == '\\n') break;
      if (c == 0x7f || c == 8) { if (len) { len--; puts_("\\b \\b"); } continue; }
      if (c == 0x15) { while (len) { len--; puts_("\\b \\b"); } continue; }
      if (c == 3) { puts_("^C\\r\\n"); len = -1; break; }
      if ((unsigned char)c < 0x20 || len >= 250) continue;
      line[len++] = c; putc_(c);
    }
    if (len < 0) continue;
    puts_("\\r\\n");
    line[len] = 0;
    count++;
    const char *arg;
    if (len == 0) continue;
    if ((arg = command(line, "echo "))) { puts_(arg); puts_("\\r\\n"); }
    else if (command(line, "pid")) { pid = 1000 + count; puts_("pid="); putdec(pid); puts_("\\r\\n"); }
    else if ((arg = command(line, "kill "))) {
      unsigned long n = parsedec(arg);
      if (n && n == pid) { puts_("killed "); pid = 0; } else puts_("no such process ");
      putdec(n); puts_("\\r\\n");
    }
    else if (command(line, "slow")) {
      int n = 0;
      for (;;) { delay(); char c = getc_(); if (c == '\\r' || c == '\\n') break; if (n < 250) line[n++] = c; }
      line[n] = 0;
      puts_("slow: "); putdec((unsigned long)n); puts_(" bytes: "); puts_(line); puts_("\\r\\n");
    }
    else if (command(line, "hang")) { puts_("hanging\\r\\n"); for (;;) __asm__ volatile("wfi"); }
    else if (command(line, "exit")) { puts_("bye\\r\\n"); semihost_exit(0); }
    else { puts_("unknown command: "); puts_(line); puts_("\\r\\n"); }
  }
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

/** Builds the aarch64 shell kernel (ELF at 0x40080000); returns its path. */
export function buildA64Shell(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'shell-a64.c');
  const ld = join(dir, 'shell-a64.ld');
  const elf = join(dir, 'shell-a64.elf');
  writeFileSync(src, A64_SHELL);
  writeFileSync(ld, A64_LD);
  check(
    tool([
      'clang',
      '--target=aarch64-none-elf',
      '-ffreestanding',
      '-nostdlib',
      '-fuse-ld=lld',
      '-mgeneral-regs-only',
      '-O2',
      `-Wl,-T,${ld}`,
      '-o',
      elf,
      src,
    ]),
    'clang aarch64',
  );
  return elf;
}
