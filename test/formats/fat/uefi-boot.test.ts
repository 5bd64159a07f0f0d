// UEFI firmware (OVMF under QEMU) reads kiln's FAT12, FAT16 and FAT32 volumes: it finds
// \EFI\BOOT\BOOTX64.EFI (a GRUB image built here with grub-mkimage) on the image, loads and runs it,
// and the program prints a marker on the serial port. Slow (firmware boot under TCG): one boot per type.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { missingTools, tempDir } from '../../_helpers.js';
import { writeImageFile } from '../../../src/formats/io/block-writer.js';
import { buildTree } from '../../../src/formats/io/tree.js';
import { esp, writeFat, type FatType } from '../../../src/formats/fat/index.js';

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
const missing = missingTools({
  [`OVMF (${OVMF_CODE})`]: existsSync(OVMF_CODE),
  'grub-mkimage': spawnSync('grub-mkimage', ['--version']).status === 0,
  'qemu-system-x86_64': spawnSync('qemu-system-x86_64', ['--version']).status === 0,
});
const MARKER = 'KILN-FAT-BOOT-OK';

describe.skipIf(missing)('OVMF boots BOOTX64.EFI from kiln FAT volumes', () => {
  const dir = tempDir('kiln-fat-uefi-');
  let loader: Uint8Array | undefined;
  const efiProgram = (): Uint8Array => {
    if (loader) return loader;
    writeFileSync(
      join(dir, 'early.cfg'),
      `serial --unit=0 --speed=115200\nterminal_output serial\necho ${MARKER}\nhalt\n`,
    );
    const r = spawnSync(
      'grub-mkimage',
      [
        '-O',
        'x86_64-efi',
        '-o',
        join(dir, 'BOOTX64.EFI'),
        '-c',
        join(dir, 'early.cfg'),
        '-p',
        '/EFI/BOOT',
        'serial',
        'terminal',
        'echo',
        'halt',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    loader = new Uint8Array(readFileSync(join(dir, 'BOOTX64.EFI')));
    return loader;
  };

  test.each([
    [12, 2 << 20],
    [16, 32 << 20],
    [32, 64 << 20],
  ] as Array<[FatType, number]>)(
    'FAT%i (%i bytes)',
    async (type, size) => {
      const image = join(dir, `fat${type}.img`);
      const files = { 'EFI/BOOT/BOOTX64.EFI': efiProgram(), 'readme.txt': 'kiln' };
      if (type === 32) {
        const part = esp({ size, files, label: 'EFI' });
        expect(part.fatType).toBe(32);
        await writeImageFile(image, part.size, (sink) => part.fill(sink));
      } else {
        await writeImageFile(image, size, (sink) => writeFat(sink, buildTree(files), { type, label: 'EFI' }));
      }
      const vars = join(dir, `vars${type}.fd`);
      copyFileSync(OVMF_VARS, vars);
      const r = spawnSync(
        'qemu-system-x86_64',
        [
          '-machine',
          'q35',
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
          '-drive',
          `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`,
          '-drive',
          `if=pflash,format=raw,file=${vars}`,
          '-drive',
          `format=raw,file=${image},if=ide`,
        ],
        { encoding: 'latin1', timeout: 170_000, killSignal: 'SIGKILL' },
      );
      expect(r.stdout, `QEMU output (status ${r.status}, signal ${r.signal}):\n${r.stdout.slice(-2000)}`).toContain(
        MARKER,
      );
    },
    180_000,
  );
});
