// QEMU + OVMF boots a kiln GPT disk whose ESP (written by formats/fat through a fill callback)
// holds a UEFI program built here with clang; the program prints a marker on ConOut (which OVMF
// mirrors to the serial port) and shuts the machine down.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeGptFile, readGpt } from '../../../src/formats/gpt/index.js';
import { esp } from '../../../src/formats/fat/index.js';
import { fileContent } from '../../../src/formats/io/content.js';
import { run } from '../../../src/util/process.js';
import { missingTools, tempDir, tool } from '../../_helpers.js';

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

const PROGRAM = `
typedef unsigned long long UINTN; typedef unsigned short CHAR16; typedef void *EFI_HANDLE;
typedef struct { char hdr[24]; } EFI_TABLE_HEADER;
typedef struct OUT { void *Reset; UINTN (*OutputString)(struct OUT *, CHAR16 *); } OUT;
/* EFI_RUNTIME_SERVICES: header, then 10 function pointers before ResetSystem (UEFI 2.10 §4.5) */
typedef struct { EFI_TABLE_HEADER Hdr; void *before[10]; void (*ResetSystem)(int, UINTN, UINTN, void *); } RUNTIME;
typedef struct { EFI_TABLE_HEADER Hdr; CHAR16 *Vendor; unsigned Revision; EFI_HANDLE InH; void *In; EFI_HANDLE OutH; OUT *ConOut; EFI_HANDLE ErrH; void *Err; RUNTIME *Runtime; } SYSTEM_TABLE;
UINTN efi_main(EFI_HANDLE image, SYSTEM_TABLE *st) {
  st->ConOut->OutputString(st->ConOut, (CHAR16 *)L"KILN-GPT-ESP-OK\\r\\n");
  st->Runtime->ResetSystem(2 /* EfiResetShutdown */, 0, 0, 0);
  for (;;) {}
}
`;

const missing = missingTools({
  [`OVMF (${OVMF_CODE})`]: existsSync(OVMF_CODE),
  'qemu-system-x86_64': tool(['qemu-system-x86_64', '--version']).status === 0,
  clang: tool(['clang', '--version']).status === 0,
});

describe.skipIf(missing)('QEMU/OVMF boots a kiln GPT disk', () => {
  it('runs BOOTX64.EFI from the ESP', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'hello.c'), PROGRAM);
    const cc = tool([
      'clang',
      '-target',
      'x86_64-unknown-windows',
      '-ffreestanding',
      '-fshort-wchar',
      '-mno-red-zone',
      '-nostdlib',
      '-fuse-ld=lld',
      '-Wl,-entry:efi_main',
      '-Wl,-subsystem:efi_application',
      '-o',
      join(dir, 'BOOTX64.EFI'),
      join(dir, 'hello.c'),
    ]);
    expect(cc.status, cc.stderr).toBe(0);
    const disk = join(dir, 'disk.img');
    await writeGptFile(disk, {
      size: '64M',
      seed: 'qemu-boot',
      partitions: [
        esp({ size: '40M', files: { '/EFI/BOOT/BOOTX64.EFI': await fileContent(join(dir, 'BOOTX64.EFI')) } }),
      ],
    });
    const info = await readGpt(new Uint8Array(readFileSync(disk)), { strict: true });
    expect(info.partitions[0]).toMatchObject({ typeName: 'esp', name: 'EFI System Partition', firstLba: 2048 });
    copyFileSync(OVMF_VARS, join(dir, 'vars.fd'));
    const serial = join(dir, 'serial.log');
    const r = await run(
      [
        'qemu-system-x86_64',
        '-M',
        'q35',
        '-accel',
        'tcg',
        '-m',
        '256',
        '-display',
        'none',
        '-no-reboot',
        '-serial',
        `file:${serial}`,
        '-drive',
        `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
        '-drive',
        `if=pflash,format=raw,unit=1,file=${join(dir, 'vars.fd')}`,
        '-drive',
        `format=raw,file=${disk}`,
      ],
      { timeoutMs: 150_000 },
    );
    const log = existsSync(serial) ? readFileSync(serial, 'latin1') : '';
    expect(r.timedOut, log.slice(-2000)).toBe(false);
    expect(log).toContain('KILN-GPT-ESP-OK');
    expect(r.code).toBe(0);
  }, 200_000);
});
