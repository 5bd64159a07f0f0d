// kiln/qemu: boot a machine and judge it, as `kiln test` does. The guest is a 49-byte BIOS boot
// sector (assembled from the nasm source below) that prints a line on COM1 and reports success
// through the isa-debug-exit device; the harness checks both the line and the exit code.
//
//   bits 16 / org 0x7c00 / cli / xor ax, ax / mov ds, ax / mov si, msg / mov dx, 0x3f8
//   .next: lodsb / test al, al / jz .done / out dx, al / jmp .next
//   .done: mov al, 0 / out 0xf4, al / .hang: hlt / jmp .hang
//   msg db "hello from kiln/qemu", 13, 10, 0
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex } from 'kiln/io';
import { runQemuTest } from 'kiln/qemu';

const code = fromHex('fa31c08ed8be1a7cbaf803ac84c07403eeebf8b000e6f4f4ebfd68656c6c6f2066726f6d206b696c6e2f71656d750d0a00');
const disk = new Uint8Array(1 << 20); // a 1 MiB disk: the boot sector, then zeros
disk.set(code, 0);
disk.set([0x55, 0xaa], 510);
const dir = mkdtempSync(join(tmpdir(), 'kiln-example-'));
writeFileSync(join(dir, 'boot.img'), disk);

const result = await runQemuTest({
  name: 'hello',
  arch: 'x86_64',
  disks: [{ path: join(dir, 'boot.img'), format: 'raw' }],
  exit: { kind: 'isa-debug-exit', success: 0 },
  expect: ['hello from kiln/qemu'],
  timeout: 60,
  logDir: join(dir, 'logs'),
});
console.log(`${result.name}: ${result.status}${result.reason ? ` (${result.reason})` : ''} in ${(result.durationMs / 1000).toFixed(1)} s`);
assert.equal(result.status, 'passed', result.reason);
