// Booting images under SeaBIOS: a raw disk with an MBR boot sector (Portix style), the same disk as
// qcow2 / VDI / VMDK (formats detected from the file's magic), and an ISO both as a CD-ROM
// (El Torito no-emulation, Kosh's -cdrom) and as a disk (the boot sector in the ISO's system area).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  detectDiskFormat,
  readJUnit,
  runTests,
  testResultsToJUnit,
  type QemuTestResult,
} from '../../src/qemu/index.js';
import { tempDir } from '../_helpers.js';
import { processGone } from './_kernels.js';

const dir = tempDir('kiln-qemu-images-');
const sh = (argv: string[]) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

// Real-mode boot sector: print a line on COM1, write 0 to isa-debug-exit, halt.
const BOOT_ASM = `BITS 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov si, msg
.l: lodsb
  test al, al
  jz .d
  mov dx, 0x3f8
  out dx, al
  jmp .l
.d: mov dx, 0xf4
  xor al, al
  out dx, al
.s: hlt
  jmp .s
msg: db "KILN-DISK-OK", 13, 10, 0
times 510-($-$$) db 0
dw 0xaa55
times 2048-($-$$) db 0
`;

const paths = { raw: '', qcow2: '', vdi: '', vmdk: '', iso: '' };

beforeAll(() => {
  writeFileSync(join(dir, 'boot.asm'), BOOT_ASM);
  const bin = join(dir, 'boot.bin');
  sh(['nasm', '-f', 'bin', '-o', bin, join(dir, 'boot.asm')]);
  paths.raw = join(dir, 'disk.img');
  sh(['dd', `if=${bin}`, `of=${paths.raw}`, 'bs=512', 'count=1', 'status=none']);
  sh(['truncate', '-s', '1M', paths.raw]);
  paths.qcow2 = join(dir, 'disk-qcow2.bin'); // a misleading extension: the magic decides
  sh(['qemu-img', 'convert', '-O', 'qcow2', paths.raw, paths.qcow2]);
  paths.vdi = join(dir, 'disk.vdi');
  sh(['qemu-img', 'convert', '-O', 'vdi', paths.raw, paths.vdi]);
  paths.vmdk = join(dir, 'disk.vmdk');
  sh(['qemu-img', 'convert', '-O', 'vmdk', paths.raw, paths.vmdk]);
  const root = join(dir, 'isoroot');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'README.TXT'), 'kiln\n');
  sh(['cp', bin, join(root, 'boot.bin')]);
  paths.iso = join(dir, 'hybrid.iso');
  sh([
    'xorriso',
    '-as',
    'mkisofs',
    '-quiet',
    '-o',
    paths.iso,
    '-b',
    'boot.bin',
    '-no-emul-boot',
    '-boot-load-size',
    '4',
    '-G',
    bin,
    root,
  ]);
  // SeaBIOS cannot boot a hard disk smaller than one cylinder (16 heads × 63 sectors = 504 KiB):
  // pad the (370 KiB) ISO as real hybrid ISOs are padded.
  sh(['truncate', '-s', '2M', paths.iso]);
});

describe('disk and ISO boots (SeaBIOS)', () => {
  let results: QemuTestResult[] = [];
  let junit = '';
  beforeAll(async () => {
    const t = (name: string, disk: { path: string; media?: 'disk' | 'cdrom' }, machine?: string) => ({
      name,
      disks: [disk],
      accel: 'tcg' as const,
      expect: ['KILN-DISK-OK'],
      timeout: 90,
      logDir: join(dir, 'logs', name),
      ...(machine ? { machine } : {}),
    });
    const summary = await runTests(
      [
        t('raw', { path: paths.raw }),
        t('raw-pc', { path: paths.raw }, 'pc'),
        t('qcow2', { path: paths.qcow2 }),
        t('vdi', { path: paths.vdi }),
        t('vmdk', { path: paths.vmdk }),
        t('iso-cdrom', { path: paths.iso, media: 'cdrom' }),
        t('iso-disk', { path: paths.iso }),
      ],
      { jobs: 2 },
    );
    results = summary.results;
    junit = testResultsToJUnit(results);
  }, 300_000);
  const get = (name: string) => results.find((r) => r.name === name)!;

  it('detects formats from magic bytes first, then the extension', () => {
    expect(detectDiskFormat(paths.raw)).toBe('raw');
    expect(detectDiskFormat(paths.qcow2)).toBe('qcow2');
    expect(detectDiskFormat(paths.vdi)).toBe('vdi');
    expect(detectDiskFormat(paths.vmdk)).toBe('vmdk');
    expect(detectDiskFormat(join(dir, 'missing.qcow2'))).toBe('qcow2');
  });

  it('every medium boots and passes, in the result and the JUnit file; disks are opened in snapshot mode', () => {
    for (const r of results) {
      expect(r.status, `${r.name}: ${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
      expect(processGone(r.pid)).toBe(true);
    }
    expect(readJUnit(junit).map((s) => `${s.name}:${s.cases[0]!.status}`)).toEqual(
      results.map((r) => `${r.name} [x86_64]:passed`),
    );
    expect(get('raw').argv).toContain(`file=${paths.raw},format=raw,snapshot=on,if=ide,index=0,media=disk`);
    expect(get('qcow2').argv.join(' ')).toContain('format=qcow2');
    expect(get('vdi').argv.join(' ')).toContain('format=vdi');
    expect(get('vmdk').argv.join(' ')).toContain('format=vmdk');
    expect(get('raw-pc').argv.slice(1, 3)).toEqual(['-machine', 'pc']);
  });

  it('an ISO boots as a CD-ROM (El Torito) and as a disk (system area)', () => {
    expect(get('iso-cdrom').argv).toContain(`file=${paths.iso},format=raw,if=ide,index=0,media=cdrom`);
    expect(get('iso-disk').argv).toContain(`file=${paths.iso},format=raw,snapshot=on,if=ide,index=0,media=disk`);
    expect(get('iso-cdrom').guestExitCode).toBe(0);
    expect(get('iso-disk').guestExitCode).toBe(0);
  });
});
