// GRUB ISO for a multiboot2 kernel, built by kiln (grub-mkimage + kiln's FAT and ISO writers),
// booted three ways in QEMU (TCG): CD-ROM under SeaBIOS, CD-ROM under OVMF, hard disk under
// SeaBIOS; plus hard disk under OVMF (through the GPT's ESP).
import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, tool } from '../_helpers.js';
import { KilnError } from '../../src/errors.js';
import { FileSource, MemorySource } from '../../src/formats/io/block-source.js';
import { openFat } from '../../src/formats/fat/index.js';
import { readIso, readIsoFileBytes } from '../../src/formats/iso9660/index.js';
import { buildGrubIso, grubConfig, type GrubIsoResult } from '../../src/toolchain/grub.js';
import { buildMultiboot2Kernel, qemuBoot, ovmfArgs, EXIT_OK } from '../formats/iso9660/_fixtures.js';

const dir = tempDir('kiln-grub-');
const EXPECTED = 'kiln-mb2 ok cmdline=console=ttyS0 answer=42 module=initrd-arg';
let iso: string;
let result: GrubIsoResult;
let kernel: string;

beforeAll(async () => {
  kernel = await buildMultiboot2Kernel(dir);
  writeFileSync(join(dir, 'initrd.cpio'), Buffer.alloc(10_000, 0x33));
  iso = join(dir, 'os.iso');
  result = await buildGrubIso(iso, {
    kernel,
    modules: [{ path: join(dir, 'initrd.cpio'), args: 'initrd-arg' }],
    cmdline: 'console=ttyS0 answer=42',
    epoch: 1_700_000_000,
  });
}, 120_000);

describe('grub.cfg generation', () => {
  it('has the serial console, timeout 0, multiboot2 and module2 lines', () => {
    const cfg = grubConfig({
      kernel: '/x/kernel.elf',
      modules: ['/x/initrd.cpio', { path: '/y/fs.srv', name: 'fs', args: 'root=1' }],
      cmdline: 'quiet',
    });
    expect(cfg).toContain(
      'serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\n',
    );
    expect(cfg).toContain('set timeout=0');
    expect(cfg).toContain(
      '  multiboot2 /boot/kernel.elf quiet\n  module2 /boot/initrd.cpio\n  module2 /boot/fs root=1\n  boot\n',
    );
    expect(grubConfig({ kernel: 'k', serial: false, timeout: 5 })).not.toContain('serial');
  });
});

describe('buildGrubIso', () => {
  it('lays out kernel, modules, grub.cfg, GRUB El Torito images and a FAT ESP that fsck.fat and mtools accept', async () => {
    const source = await FileSource.open(iso);
    try {
      const image = await readIso(source);
      const byPath = new Map(image.entries.map((e) => [e.path, e]));
      expect(
        Buffer.from(await readIsoFileBytes(source, byPath.get('boot/kernel.elf')!)).equals(readFileSync(kernel)),
      ).toBe(true);
      expect(new TextDecoder().decode(await readIsoFileBytes(source, byPath.get('boot/grub/grub.cfg')!))).toBe(
        result.config,
      );
      expect(image.boot!.entries.map((e) => e.platform)).toEqual([0, 0xef]);
      expect(image.boot!.entries[0]!.lba).toBe(byPath.get('boot/grub/i386-pc/eltorito.img')!.extents[0]!.lba);
      const espSector = image.boot!.entries[1]!.lba;
      const espSectors = image.boot!.entries[1]!.sectorCount;
      expect(espSectors).toBeGreaterThan(0);
      // The GPT's ESP partition covers exactly the El Torito UEFI image.
      expect(tool(['sgdisk', '-i', '1', iso]).stdout).toMatch(
        new RegExp(`First sector: ${espSector * 4} [\\s\\S]*Partition size: ${espSectors} sectors`),
      );
      const esp = await source.read(espSector * 2048, espSectors * 512);
      const espPath = join(dir, 'esp.img');
      writeFileSync(espPath, esp);
      const fsck = tool(['fsck.fat', '-n', espPath]);
      expect(fsck.status, fsck.stdout).toBe(0);
      expect(fsck.stdout).not.toMatch(/differ|corrupt|invalid/i);
      const mdir = tool(['mdir', '-i', espPath, '::/EFI/BOOT']);
      expect(mdir.stdout).toMatch(/BOOTX64\s+EFI\s+\d+/);
      const copied = join(dir, 'BOOTX64.EFI');
      expect(tool(['mcopy', '-n', '-i', espPath, '::/EFI/BOOT/BOOTX64.EFI', copied]).status).toBe(0);
      expect(Buffer.from(readFileSync(copied)).equals(Buffer.from(result.images.efi!))).toBe(true);
      const fat = await openFat(new MemorySource(esp));
      expect(fat).toBeTruthy();
      // The GRUB core block list (--grub2-boot-info) and MBR patch (--grub2-mbr) point at core.img.
      const lba = image.boot!.entries[0]!.lba;
      const bytes = readFileSync(iso);
      expect(bytes.readBigUInt64LE(0x1b0)).toBe(BigInt(lba * 4 + 4));
      expect(bytes.readBigUInt64LE(lba * 2048 + 2548)).toBe(BigInt(lba * 4 + 5));
      const report = tool(['xorriso', '-indev', iso, '-report_el_torito', 'plain']);
      expect(report.stdout).toMatch(/El Torito img opts :\s+1\s+.*grub2-boot-info/);
      expect(tool(['sgdisk', '-v', iso]).stdout).toMatch(/No problems found/);
    } finally {
      await source.close();
    }
  });

  it('is reproducible: a second build is bit-identical', async () => {
    const again = join(dir, 'again.iso');
    await buildGrubIso(again, {
      kernel,
      modules: [{ path: join(dir, 'initrd.cpio'), args: 'initrd-arg' }],
      cmdline: 'console=ttyS0 answer=42',
      epoch: 1_700_000_000,
    });
    expect(readFileSync(again).equals(readFileSync(iso))).toBe(true);
  }, 120_000);

  it('reports a missing kernel clearly', async () => {
    const error = await buildGrubIso(join(dir, 'x.iso'), { kernel: join(dir, 'nope.elf') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KilnError);
    expect((error as KilnError).code).toBe('GRUB_INPUT_MISSING');
    await expect(buildGrubIso(join(dir, 'y.iso'), { kernel, volumeId: 'my os' })).rejects.toMatchObject({
      code: 'ISO_BAD_IDENTIFIER',
    });
  });
});

describe('the GRUB hybrid ISO boots the multiboot2 kernel (QEMU, TCG)', () => {
  it('as a CD-ROM under SeaBIOS', async () => {
    const r = await qemuBoot(['-M', 'pc', '-cdrom', iso, '-boot', 'd'], 90_000);
    expect(r.timedOut, r.output).toBe(false);
    expect(r.output).toContain(EXPECTED);
    expect(r.code).toBe(EXIT_OK);
  }, 120_000);

  it('as a CD-ROM under OVMF (UEFI)', async () => {
    const r = await qemuBoot([...ovmfArgs(dir, 'cd'), '-cdrom', iso], 120_000);
    expect(r.timedOut, r.output.slice(-2000)).toBe(false);
    expect(r.output).toContain(EXPECTED);
    expect(r.code).toBe(EXIT_OK);
  }, 150_000);

  it('as a hard disk under SeaBIOS (boot_hybrid.img MBR)', async () => {
    const r = await qemuBoot(['-M', 'pc', '-drive', `format=raw,file=${iso},snapshot=on`], 90_000);
    expect(r.timedOut, r.output).toBe(false);
    expect(r.output).toContain(EXPECTED);
    expect(r.code).toBe(EXIT_OK);
  }, 120_000);

  it('reads its own grub.cfg when another kiln GRUB ISO of the same epoch is attached', async () => {
    // Both ISOs share the volume date (the epoch): GRUB must not find the other one by UUID.
    const other = join(dir, 'other.iso');
    await buildGrubIso(other, { kernel, cmdline: 'the-other-iso', epoch: 1_700_000_000 });
    const r = await qemuBoot(
      ['-M', 'pc', '-drive', `format=raw,file=${other},snapshot=on,if=ide,index=0`, '-cdrom', iso, '-boot', 'd'],
      90_000,
    );
    expect(r.output).toContain(EXPECTED);
    expect(r.output).not.toContain('the-other-iso');
    expect(r.code).toBe(EXIT_OK);
  }, 120_000);

  it('as a hard disk under OVMF (GPT ESP)', async () => {
    const r = await qemuBoot([...ovmfArgs(dir, 'hd'), '-drive', `format=raw,file=${iso},snapshot=on`], 120_000);
    expect(r.timedOut, r.output.slice(-2000)).toBe(false);
    expect(r.output).toContain(EXPECTED);
    expect(r.code).toBe(EXIT_OK);
  }, 150_000);
});
