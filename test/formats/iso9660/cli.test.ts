// `kiln image iso` and `kiln image grub-iso` through the built CLI (npm run build first).
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync, symlinkSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runKiln, tempDir, tool } from '../../_helpers.js';
import { buildBiosDisk, buildMultiboot2Kernel, qemuBoot, EXIT_OK } from './_fixtures.js';

const dir = tempDir('kiln-iso-cli-');

describe('kiln image iso', () => {
  it('writes an ISO from a folder, lists it as JSON and extracts it', () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'boot/grub'), { recursive: true });
    writeFileSync(join(root, 'boot/grub/grub.cfg'), 'set timeout=0\n');
    writeFileSync(join(root, 'README'), 'hello\n');
    symlinkSync('README', join(root, 'LINK'));
    const out = join(dir, 'out.iso');
    const w = runKiln(['image', 'iso', out, '--from', root, '--volume-id', 'MY_OS']);
    expect(w.status, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/ISO9660 level 3, .* 2 files, volume id MY_OS, Rock Ridge, Joliet/);
    const ls = runKiln(['image', 'iso', 'ls', out, '--json']);
    expect(ls.status, ls.stderr).toBe(0);
    const image = JSON.parse(ls.stdout);
    expect(image.volumeId).toBe('MY_OS');
    expect(image.entries.map((e: { path: string }) => e.path).sort()).toEqual([
      'LINK',
      'README',
      'boot',
      'boot/grub',
      'boot/grub/grub.cfg',
    ]);
    const x = runKiln(['image', 'iso', 'extract', out, join(dir, 'x')]);
    expect(x.status, x.stderr).toBe(0);
    expect(x.stdout).toMatch(/extracted 2 files, 2 directories and 1 symlinks/);
    expect(readFileSync(join(dir, 'x/boot/grub/grub.cfg'), 'utf8')).toBe('set timeout=0\n');
    expect(readlinkSync(join(dir, 'x/LINK'))).toBe('README');
    expect(tool(['isoinfo', '-d', '-i', out]).stdout).toMatch(/Volume id: MY_OS/);
  });

  it('makes a hard-disk-emulation CD from a raw BIOS disk that boots in QEMU', async () => {
    const disk = await buildBiosDisk(dir);
    const root = join(dir, 'empty');
    mkdirSync(root);
    const out = join(dir, 'hdd.iso');
    const w = runKiln(['image', 'iso', out, '--from', root, '--bios-boot', disk, '--hd-emul']);
    expect(w.status, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/El Torito BIOS \(hard-disk emulation\)/);
    const ls = runKiln(['image', 'iso', 'ls', out]);
    expect(ls.stdout).toMatch(/BIOS hard disk, sector \d+, load 1 × 512 bytes, partition type 0x1/);
    const r = await qemuBoot(['-M', 'pc', '-cdrom', out, '-boot', 'd'], 90_000);
    expect(r.output).toContain('kiln-hdd ok');
    expect(r.code).toBe(EXIT_OK);
  }, 120_000);

  it("makes the UEFI ESP from a folder with kiln's FAT writer (--efi-dir) and a hybrid GPT", async () => {
    const root = join(dir, 'root-efi');
    const esp = join(dir, 'esp-dir');
    mkdirSync(root);
    mkdirSync(join(esp, 'EFI/BOOT'), { recursive: true });
    writeFileSync(join(root, 'hello.txt'), 'hello');
    writeFileSync(join(esp, 'EFI/BOOT/BOOTX64.EFI'), Buffer.alloc(200_000, 0x4d));
    const out = join(dir, 'efi.iso');
    const w = runKiln(['image', 'iso', out, '--from', root, '--efi-dir', esp, '--hybrid', '--json']);
    expect(w.status, w.stderr).toBe(0);
    const report = tool(['xorriso', '-indev', out, '-report_el_torito', 'plain']).stdout;
    const m = /El Torito boot img :\s+1\s+UEFI\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)/.exec(report);
    expect(m, report).not.toBeNull();
    const [sectors, lba] = [Number(m![1]), Number(m![2])];
    const espImage = join(dir, 'esp-from-iso.img');
    writeFileSync(espImage, readFileSync(out).subarray(lba * 2048, lba * 2048 + sectors * 512));
    expect(tool(['fsck.fat', '-n', espImage]).status).toBe(0);
    const copy = join(dir, 'BOOTX64.copy');
    expect(tool(['mcopy', '-n', '-i', espImage, '::/EFI/BOOT/BOOTX64.EFI', copy]).status).toBe(0);
    expect(readFileSync(copy).equals(Buffer.alloc(200_000, 0x4d))).toBe(true);
    expect(tool(['sgdisk', '-v', out]).stdout).toMatch(/No problems found/);
  });

  it('says what is wrong', () => {
    const r = runKiln(['image', 'iso', join(dir, 'x.iso')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--from DIR is required/);
    const bad = join(dir, 'not-an-iso');
    writeFileSync(bad, Buffer.alloc(40_000));
    const l = runKiln(['image', 'iso', 'ls', bad]);
    expect(l.status).not.toBe(0);
    expect(l.stderr).toMatch(/no ISO9660 volume descriptor at sector 16/);
    expect(l.stderr).toMatch(/hint: this is not an ISO9660 image/);
  });
});

describe('kiln image grub-iso', () => {
  it('builds a GRUB ISO that boots the kernel from a CD under SeaBIOS', async () => {
    const kdir = join(dir, 'k');
    mkdirSync(kdir);
    const kernel = await buildMultiboot2Kernel(kdir);
    writeFileSync(join(kdir, 'init.bin'), 'init');
    const out = join(dir, 'grub.iso');
    const w = runKiln([
      'image',
      'grub-iso',
      out,
      '--kernel',
      kernel,
      '--module',
      `${join(kdir, 'init.bin')}=init-args`,
      '--cmdline',
      'quiet x=1',
      '--json',
    ]);
    expect(w.status, w.stderr).toBe(0);
    const result = JSON.parse(w.stdout);
    expect(result.config).toContain('multiboot2 /boot/kernel.elf quiet x=1');
    expect(result.config).toContain('module2 /boot/init.bin init-args');
    const r = await qemuBoot(['-M', 'pc', '-cdrom', out, '-boot', 'd'], 90_000);
    expect(r.output).toContain('kiln-mb2 ok cmdline=quiet x=1 module=init-args');
    expect(r.code).toBe(EXIT_OK);
  }, 120_000);
});
