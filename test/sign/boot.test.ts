// A signed kernel still boots: a PVH kernel (ELF64 with a Xen PHYS32_ENTRY note, what
// `qemu-system-x86_64 -kernel` loads) is signed with kiln (hybrid, NØNOS sections), verified,
// and booted under QEMU (TCG). The guest prints on COM1 and exits through isa-debug-exit.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';

const dir = tempDir('kiln-sign-boot-');

const KERNEL = `
bits 32
section .note.Xen note alloc
align 4
    dd 4, 4, 18          ; namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY
    db "Xen", 0
    dd pvh_start
section .text
global pvh_start
pvh_start:
    mov esi, msg
.next:
    mov al, [esi]
    test al, al
    jz .done
    mov dx, 0x3f8
    out dx, al
    inc esi
    jmp .next
.done:
    mov al, 0x21         ; QEMU exits with (0x21 << 1) | 1 = 67
    mov dx, 0xf4
    out dx, al
.spin:
    hlt
    jmp .spin
section .rodata
msg: db "signed kernel booted", 10, 0
`;

describe('a signed kernel boots', () => {
  it('sign (hybrid, .nonos.*) -> verify -> qemu -kernel prints and exits 67', () => {
    const work = join(dir, 'pvh');
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'k.asm'), KERNEL);
    writeFileSync(
      join(work, 'link.ld'),
      'ENTRY(pvh_start)\nSECTIONS { . = 0x100000; .text : { *(.text) } .rodata : { *(.rodata) } .note.Xen : { *(.note.Xen) } }\n',
    );
    expect(tool(['nasm', '-f', 'elf64', 'k.asm', '-o', 'k.o'], { cwd: work }).status).toBe(0);
    expect(tool(['ld.lld', '-static', '-T', 'link.ld', 'k.o', '-o', 'kernel.elf'], { cwd: work }).status).toBe(0);
    const keys = join(work, 'keys');
    expect(runKiln(['keygen', '--algo', 'hybrid', '--out', keys, '--no-constants']).status).toBe(0);
    const signed = join(work, 'kernel.signed.elf');
    const s = runKiln([
      'sign',
      join(work, 'kernel.elf'),
      '--out',
      signed,
      '--nonos',
      '--hybrid',
      '--key',
      join(keys, 'kiln-ed25519.key'),
      '--key',
      join(keys, 'kiln-ml-dsa-65.key'),
    ]);
    expect(s.status).toBe(0);
    const v = runKiln([
      'verify',
      signed,
      '--nonos',
      '--key',
      join(keys, 'kiln-ed25519.pub'),
      '--key',
      join(keys, 'kiln-ml-dsa-65.pub'),
    ]);
    expect(v.status).toBe(0);
    const q = tool(
      [
        'qemu-system-x86_64',
        '-accel',
        'tcg',
        '-M',
        'q35',
        '-display',
        'none',
        '-serial',
        'stdio',
        '-no-reboot',
        '-monitor',
        'none',
        '-device',
        'isa-debug-exit,iobase=0xf4,iosize=4',
        '-kernel',
        signed,
      ],
      { timeoutMs: 120_000 },
    );
    expect(q.stdout).toContain('signed kernel booted');
    expect(q.status).toBe(67);
  }, 180_000);
});
