// QEMU (SeaBIOS) boots a kiln Portix-layout disk: stage1 at LBA 0 loads 64 sectors of stage2 from
// LBA 1; stage2 loads the kernel from the LBA and sector count kiln patched into it (at nasm
// symbols); the kernel, whose marker sits at its end, prints it on COM1 and exits through
// isa-debug-exit. A FAT32 partition registered in stage1's table fills the rest of the disk.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { portixLayout, writeRawFile } from '../../../src/formats/raw/index.js';
import { fatFiller } from '../../../src/formats/fat/index.js';
import { buildTree } from '../../../src/formats/io/tree.js';
import { run } from '../../../src/util/process.js';
import { missingTools, tempDir, tool } from '../../_helpers.js';

const BOOT = `bits 16
org 0x7c00
start: cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov [drive], dl
  mov si, dap
  mov ah, 0x42
  int 0x13
  jc fail
  mov dl, [drive]
  jmp 0:0x7e00
fail: hlt
  jmp fail
drive: db 0
dap: db 0x10, 0
  dw 64
  dw 0x7e00, 0
  dq 1
times 446-($-$$) db 0
times 64 db 0
dw 0xAA55
`;

const STAGE2 = `bits 16
org 0x7e00
[map symbols stage2.map]
  jmp start
align 4
kernel_lba: dd 0
kernel_sectors: dw 0
start: mov [drive], dl
  mov ax, [kernel_sectors]
  mov [dap + 2], ax
  mov eax, [kernel_lba]
  mov [dap + 8], eax
  mov si, dap
  mov ah, 0x42
  int 0x13
  jc fail
  jmp 0x1000:0
fail: hlt
  jmp fail
drive: db 0
dap: db 0x10, 0
  dw 0
  dw 0, 0x1000
  dq 0
times 3000 db 0
`;

const KERNEL = `bits 16
org 0
  mov ax, cs
  mov ds, ax
  mov si, marker
.next: lodsb
  test al, al
  jz .done
  mov dx, 0x3f8
  out dx, al
  jmp .next
.done: mov al, 0x10
  out 0xf4, al
.hang: hlt
  jmp .hang
times 6000 db 0x90
marker: db 'PORTIX-KERNEL-OK', 13, 10, 0
`;

const missing = missingTools({
  nasm: tool(['nasm', '-v']).status === 0,
  'qemu-system-x86_64': tool(['qemu-system-x86_64', '--version']).status === 0,
});

describe.skipIf(missing)('QEMU boots a kiln Portix-layout disk', () => {
  it('loads stage2 and the kernel through the patched LBA and sector count', async () => {
    const dir = tempDir();
    for (const [name, text] of [
      ['boot', BOOT],
      ['stage2', STAGE2],
      ['kernel', KERNEL],
    ] as const) {
      writeFileSync(join(dir, `${name}.asm`), text);
      const r = tool(['nasm', '-f', 'bin', `${name}.asm`, '-o', `${name}.bin`], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
    }
    const symbols: Record<string, number> = {};
    for (const m of readFileSync(join(dir, 'stage2.map'), 'utf8').matchAll(
      /^\s*([0-9A-F]+)\s+[0-9A-F]+\s+(\w+)\s*$/gim,
    ))
      symbols[m[2]!] = parseInt(m[1]!, 16) - 0x7e00;
    const bin = (name: string) => new Uint8Array(readFileSync(join(dir, `${name}.bin`)));
    const disk = join(dir, 'portix.img');
    const layout = await writeRawFile(
      disk,
      portixLayout({
        stage1: bin('boot'),
        stage2: bin('stage2'),
        kernel: bin('kernel'),
        size: '48M',
        stage2Symbols: symbols,
        kernelLbaAt: { symbol: 'kernel_lba' },
        kernelSectorsAt: { symbol: 'kernel_sectors' },
        partition: { type: 'fat32', fill: fatFiller(buildTree({ 'HELLO.TXT': 'storage\n' }), { type: 32 }) },
      }),
    );
    expect(layout.patches.map((p) => Number(p.value))).toEqual([65, Math.ceil(bin('kernel').length / 512)]);
    expect(Math.ceil(bin('kernel').length / 512)).toBeGreaterThan(1);
    const serial = join(dir, 'serial.log');
    const r = await run(
      [
        'qemu-system-x86_64',
        '-M',
        'pc',
        '-accel',
        'tcg',
        '-m',
        '64',
        '-display',
        'none',
        '-no-reboot',
        '-serial',
        `file:${serial}`,
        '-device',
        'isa-debug-exit,iobase=0xf4,iosize=0x04',
        '-drive',
        `format=raw,file=${disk}`,
      ],
      { timeoutMs: 90_000 },
    );
    const log = existsSync(serial) ? readFileSync(serial, 'latin1') : '';
    expect(r.timedOut, log).toBe(false);
    expect(log).toContain('PORTIX-KERNEL-OK');
    expect(r.code).toBe((0x10 << 1) | 1);
    expect(tool(['sfdisk', '--verify', disk]).stdout).toContain('No errors detected.');
  }, 150_000);
});
