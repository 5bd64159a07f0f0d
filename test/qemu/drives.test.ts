// Drives in run/test sections: the interface table, pc for IDE, q35 refused with the reason, and a
// real boot whose boot sector reads the second IDE disk and writes to it: through a snapshot the
// file stays what was built; a persisted drive keeps the write in its own copy.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/errors.js';
import {
  DRIVE_INTERFACES,
  buildQemuCommand,
  machineSpecFromConfig,
  resolveMachine,
  runTests,
} from '../../src/qemu/index.js';
import type { RunSectionLike } from '../../src/qemu/from-config.js';
import { tempDir, tool } from '../_helpers.js';

const dir = tempDir('kiln-drives-');

// Reads LBA 0 of the primary slave with ATA PIO, prints its first 16 bytes, writes 'W' over it, exits 0.
const BOOT_SECTOR = `
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  mov bl, 0x20             ; READ SECTORS
  call ata_command
  mov di, 0x8000
  mov cx, 256
  mov dx, 0x1f0
  rep insw
  mov si, 0x8000
  mov cx, 16
  mov dx, 0x3f8
print:
  lodsb
  out dx, al
  loop print
  mov al, 10
  out dx, al
  mov di, 0x8000
  mov cx, 512
  mov al, 'W'
  rep stosb
  mov bl, 0x30             ; WRITE SECTORS
  call ata_command
  mov si, 0x8000
  mov cx, 256
  mov dx, 0x1f0
  rep outsw
  mov dx, 0x1f7
  mov al, 0xe7             ; FLUSH CACHE
  out dx, al
  call wait_ready
  mov dx, 0xf4
  xor al, al
  out dx, al
halt:
  hlt
  jmp halt
ata_command:               ; LBA 0, one sector, slave; command in bl; waits for DRQ
  mov dx, 0x1f6
  mov al, 0xf0
  out dx, al
  mov dx, 0x1f2
  mov al, 1
  out dx, al
  xor al, al
  inc dx
  out dx, al
  inc dx
  out dx, al
  inc dx
  out dx, al
  mov dx, 0x1f7
  mov al, bl
  out dx, al
.wait:
  in al, dx
  test al, 0x80
  jnz .wait
  test al, 0x08
  jz .wait
  ret
wait_ready:
  in al, dx
  test al, 0x80
  jnz wait_ready
  ret
times 510 - ($ - $$) db 0
dw 0xaa55
`;

function buildDisks(): { boot: string; data: string } {
  const asm = join(dir, 'boot.asm');
  writeFileSync(asm, BOOT_SECTOR);
  const boot = join(dir, 'boot.img');
  const r = tool(['nasm', '-f', 'bin', '-o', boot, asm]);
  if (r.status !== 0) throw new Error(`nasm: ${r.stderr}`);
  const data = join(dir, 'data.img');
  const bytes = new Uint8Array(64 * 1024);
  bytes.set(new TextEncoder().encode('DATA-ON-SECOND-DISK'), 0);
  writeFileSync(data, bytes);
  return { boot, data };
}

describe('drives', () => {
  it('an IDE drive selects machine pc, keeps its index, boots through a snapshot; q35 is refused with the reason', () => {
    const run: RunSectionLike<string> = {
      drives: [
        { image: 'boot.img', interface: 'ide' },
        { image: 'fs.img', interface: 'ide', index: 1, readOnly: true },
      ],
    };
    const spec = machineSpecFromConfig(run, 'i386', { resolvePath: (p) => `/b/${p}` });
    expect(spec.machine).toBe('pc');
    expect(spec.disks).toEqual([
      { path: '/b/boot.img', media: 'disk', snapshot: true, interface: 'ide', index: 0 },
      { path: '/b/fs.img', media: 'disk', snapshot: true, interface: 'ide', index: 1, readOnly: true },
    ]);
    let error: unknown;
    try {
      machineSpecFromConfig({ ...run, machine: 'q35' }, 'x86_64', { resolvePath: (p) => p, section: 'tests.boot' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KilnError);
    expect((error as KilnError).code).toBe('QEMU_IDE_ON_Q35');
    expect((error as KilnError).message).toMatch(/AHCI/);
    expect((error as KilnError).location?.configPath).toBe('tests.boot.drives');
  });

  it('every interface in the table becomes QEMU options; floppy and nvme too', async () => {
    const { boot, data } = buildDisks();
    for (const name of Object.keys(DRIVE_INTERFACES) as Array<keyof typeof DRIVE_INTERFACES>) {
      // An SD card needs a board with an SD controller (raspi3b); the others sit on a PC.
      const board =
        name === 'sd'
          ? { arch: 'aarch64' as const, machine: 'raspi3b', firmware: 'none' as const, args: ['-S'] }
          : { arch: 'i386' as const };
      const m = await resolveMachine(
        {
          ...board,
          disks: [
            { path: boot, interface: name, index: 1, snapshot: true },
            { path: data, interface: name },
          ],
          logDir: join(dir, 'l'),
        },
        { dryRun: true },
      );
      const argv = buildQemuCommand(m).join(' ');
      expect(argv).toContain(`file=${boot},format=raw,snapshot=on`);
      if (name === 'floppy') expect(argv).toContain('if=floppy,index=1');
      if (name === 'nvme') expect(argv).toMatch(/-device nvme,drive=disk0,serial=kiln1/);
      if (name === 'usb') expect(argv.match(/qemu-xhci/g)).toHaveLength(1);
      if (name === 'sd') expect(argv).toContain(`-drive file=${boot},format=raw,snapshot=on,if=sd`);
    }
  });

  it('a guest that writes its second disk leaves the built file untouched (snapshot); persist writes its own copy', async () => {
    const { boot, data } = buildDisks();
    const before = readFileSync(data);
    const copy = join(dir, 'persisted.img');
    const runSpecs = (persist: boolean) => {
      const run: RunSectionLike<string> = {
        drives: [
          { image: boot, interface: 'ide', index: 0 },
          { image: data, interface: 'ide', index: 1, persist },
        ],
        qemu: 'qemu-system-i386',
      };
      const spec = machineSpecFromConfig(run, 'i386', {
        resolvePath: (p) => p,
        logRoot: join(dir, persist ? 'persist' : 'snap'),
        persistPath: (p) => (copyFileSync(p, copy), copy),
      });
      return [
        {
          ...spec,
          name: persist ? 'persist' : 'snapshot',
          expect: ['DATA-ON-SECOND-D'],
          timeout: 60,
          accel: 'tcg' as const,
        },
      ];
    };
    const snap = await runTests(runSpecs(false), { jobs: 1 });
    expect(snap.results[0]!.status, snap.results[0]!.reason).toBe('passed');
    expect(snap.results[0]!.argv.join(' ')).toContain('qemu-system-i386');
    expect(readFileSync(data).equals(before)).toBe(true);
    const persisted = await runTests(runSpecs(true), { jobs: 1 });
    expect(persisted.results[0]!.status, persisted.results[0]!.reason).toBe('passed');
    expect(readFileSync(data).equals(before)).toBe(true);
    expect(new TextDecoder().decode(readFileSync(copy).subarray(0, 4))).toBe('WWWW');
  }, 180_000);
});
