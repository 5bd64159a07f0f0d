// Test fixtures built from source in the test: a multiboot2 kernel (nasm + ld.lld) and a BIOS
// boot sector for hard-disk emulation; a QEMU launcher that always kills QEMU on timeout.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunResult } from '../../../src/util/process.js';

const KERNEL_ASM = String.raw`
; multiboot2 test kernel: prints "kiln-mb2 ok cmdline=<...> module=<...>" to COM1 and exits via isa-debug-exit (0x21).
bits 32
section .multiboot2 progbits alloc noexec nowrite align=8
mb2:
  dd 0xE85250D6, 0, mb2_end - mb2, -(0xE85250D6 + (mb2_end - mb2))
  dw 0, 0
  dd 8
mb2_end:
section .text
global _start
_start:
  cli
  mov esp, stack_top
  mov edi, ebx
  cmp eax, 0x36d76289
  jne .bad
  mov esi, msg
  call puts
  lea esi, [edi + 8]
.tag:
  mov eax, [esi]
  test eax, eax
  jz .done
  cmp eax, 1
  jne .mod
  push esi
  add esi, 8
  call puts
  pop esi
  jmp .next
.mod:
  cmp eax, 3
  jne .next
  push esi
  mov esi, modmsg
  call puts
  mov esi, [esp]
  add esi, 16
  call puts
  pop esi
.next:
  mov eax, [esi + 4]
  add eax, 7
  and eax, ~7
  add esi, eax
  jmp .tag
.done:
  mov esi, nl
  call puts
  mov eax, 0x21
  jmp exit
.bad:
  mov esi, badmsg
  call puts
  mov eax, 0x13
exit:
  mov dx, 0xf4
  out dx, eax
.h: hlt
  jmp .h
puts:
  lodsb
  test al, al
  jz .r
  mov ah, al
  mov dx, 0x3fd
.w: in al, dx
  test al, 0x20
  jz .w
  mov al, ah
  mov dx, 0x3f8
  out dx, al
  jmp puts
.r: ret
section .rodata
msg: db 13, 10, "kiln-mb2 ok cmdline=", 0
nl: db 13, 10, 0
modmsg: db " module=", 0
badmsg: db 13, 10, "kiln-mb2 bad magic", 13, 10, 0
section .bss
align 16
stack: resb 4096
stack_top:
`;

const LINKER_SCRIPT = `ENTRY(_start)
SECTIONS {
  . = 1M;
  .text : { *(.multiboot2) *(.text) }
  .rodata : { *(.rodata) }
  .bss : { *(.bss) }
}
`;

/** QEMU exit status for the kernels' isa-debug-exit write of 0x21: (0x21 << 1) | 1. */
export const EXIT_OK = 67;

async function must(argv: string[]): Promise<RunResult> {
  const r = await run(argv, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.output}`);
  return r;
}

/** Assembles and links the multiboot2 kernel (ELF32), optionally padded to `padTo` bytes with a section. */
export async function buildMultiboot2Kernel(dir: string, padTo = 0): Promise<string> {
  const asm = join(dir, 'kernel.asm');
  const pad = padTo > 0 ? `\nsection .rodata\npad: times ${padTo} db 0x5a\n` : '';
  writeFileSync(asm, KERNEL_ASM + pad);
  writeFileSync(join(dir, 'link.ld'), LINKER_SCRIPT);
  await must(['nasm', '-f', 'elf32', asm, '-o', join(dir, 'kernel.o')]);
  await must([
    'ld.lld',
    '-m',
    'elf_i386',
    '-T',
    join(dir, 'link.ld'),
    '-o',
    join(dir, 'kernel.elf'),
    join(dir, 'kernel.o'),
  ]);
  return join(dir, 'kernel.elf');
}

const BOOT_SECTOR_ASM = String.raw`
; An 8 MiB raw BIOS disk (Portix's default size): the boot sector checks it runs as drive 0x80 with
; the 16 heads x 63 sectors geometry, reads sector 16000 (CHS 15/13/62) with INT 13h AH=02h and
; prints it. (SeaBIOS serves emulated disks with the old CHS calls only: AH=42h fails there.)
bits 16
org 0x7c00
start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov [drive], dl
  cmp dl, 0x80
  jne fail
  mov ah, 0x08
  int 0x13
  jc fail
  cmp dh, 15
  jne fail
  and cl, 0x3f
  cmp cl, 63
  jne fail
  xor bx, bx
  mov es, bx
  mov ax, 0x0201
  mov ch, 15
  mov cl, 62
  mov dh, 13
  mov dl, [drive]
  mov bx, 0x8000
  int 0x13
  jc fail
  mov si, 0x8000
  call puts
  mov eax, 0x21
  jmp exit
fail:
  mov si, failmsg
  call puts
  mov eax, 0x13
exit:
  mov dx, 0xf4
  out dx, eax
.h: hlt
  jmp .h
puts:
  lodsb
  test al, al
  jz .r
  mov ah, al
  mov dx, 0x3fd
.w: in al, dx
  test al, 0x20
  jz .w
  mov al, ah
  mov dx, 0x3f8
  out dx, al
  jmp puts
.r: ret
drive: db 0
failmsg: db "kiln-hdd fail", 13, 10, 0
times 446-($-$$) db 0
times 510-($-$$) db 0
dw 0xaa55
times 16000*512-($-$$) db 0
db "kiln-hdd ok: drive 0x80, 16x63 geometry, sector 16000 read", 13, 10, 0
times 16384*512-($-$$) db 0
`;

/** Assembles an 8 MiB raw BIOS disk image (no partition table) whose boot sector prints sector 16000. */
export async function buildBiosDisk(dir: string): Promise<string> {
  const asm = join(dir, 'disk.asm');
  writeFileSync(asm, BOOT_SECTOR_ASM);
  await must(['nasm', '-f', 'bin', asm, '-o', join(dir, 'disk.img')]);
  return join(dir, 'disk.img');
}

export interface BootResult {
  code: number | null;
  output: string;
  timedOut: boolean;
}

/** Boots QEMU (TCG) with `args`; serial on stdio; killed after `timeoutMs`. */
export async function qemuBoot(args: string[], timeoutMs = 120_000): Promise<BootResult> {
  const argv = [
    'qemu-system-x86_64',
    '-accel',
    'tcg',
    '-m',
    '256',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=0x04',
    ...args,
  ];
  const r = await run(argv, { timeoutMs });
  return { code: r.code, output: r.output, timedOut: r.timedOut };
}

/** Arguments for OVMF with a per-run copy of the variable store. */
export function ovmfArgs(dir: string, tag: string): string[] {
  const vars = join(dir, `OVMF_VARS.${tag}.fd`);
  copyFileSync('/usr/share/OVMF/OVMF_VARS_4M.fd', vars);
  return [
    '-M',
    'q35',
    '-drive',
    'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
    '-drive',
    `if=pflash,format=raw,unit=1,file=${vars}`,
  ];
}

export function bytesOf(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

const NO_EMUL_ASM = String.raw`
; El Torito no-emulation boot image: checks the boot information table the ISO writer patched in.
bits 16
org 0x7c00
  jmp short start
  nop
times 8-($-$$) db 0
bi_pvd: dd 0
bi_file: dd 0
bi_length: dd 0
bi_csum: dd 0
times 40 db 0
start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  cmp dword [bi_pvd], 16
  jne fail
  cmp dword [bi_length], 2048
  jne fail
  mov si, okmsg
  call puts
  mov eax, 0x21
  jmp exit
fail:
  mov si, failmsg
  call puts
  mov eax, 0x13
exit:
  mov dx, 0xf4
  out dx, eax
.h: hlt
  jmp .h
puts:
  lodsb
  test al, al
  jz .r
  mov ah, al
  mov dx, 0x3fd
.w: in al, dx
  test al, 0x20
  jz .w
  mov al, ah
  mov dx, 0x3f8
  out dx, al
  jmp puts
.r: ret
okmsg: db "kiln-noemul ok: boot info table pvd=16 length=2048", 13, 10, 0
failmsg: db "kiln-noemul bad boot info table", 13, 10, 0
times 2048-($-$$) db 0
`;

/** Assembles a 2048-byte no-emulation boot image that checks its boot information table. */
export async function buildNoEmulationImage(dir: string): Promise<string> {
  const asm = join(dir, 'noemul.asm');
  writeFileSync(asm, NO_EMUL_ASM);
  await must(['nasm', '-f', 'bin', asm, '-o', join(dir, 'noemul.img')]);
  return join(dir, 'noemul.img');
}
