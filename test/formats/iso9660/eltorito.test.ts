import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempDir, tool } from '../../_helpers.js';
import { FormatError, KilnError } from '../../../src/errors.js';
import { buildTree } from '../../../src/formats/io/tree.js';
import { FileSource } from '../../../src/formats/io/block-source.js';
import { readU32, readU64 } from '../../../src/formats/io/bytes.js';
import {
  buildBootCatalog,
  parseBootCatalog,
  patchBootInfoTable,
  checkHddImage,
  writeIsoFile,
  readIso,
  readIsoFileBytes,
  type CatalogEntry,
} from '../../../src/formats/iso9660/index.js';
import { buildBiosDisk, buildNoEmulationImage, qemuBoot, EXIT_OK } from './_fixtures.js';

const dir = tempDir('kiln-eltorito-');

describe('El Torito boot catalog', () => {
  it('round-trips catalogs with sections (fast-check) and the validation checksum sums to zero', () => {
    const entry = fc.record({
      platform: fc.constantFrom(0, 0xef),
      media: fc.constantFrom(0, 4),
      bootable: fc.constant(true),
      loadSegment: fc.integer({ min: 0, max: 0xffff }),
      systemType: fc.integer({ min: 0, max: 255 }),
      sectorCount: fc.integer({ min: 0, max: 0xffff }),
      lba: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 20 }), (entries: CatalogEntry[]) => {
        const bytes = buildBootCatalog(entries);
        const parsed = parseBootCatalog(bytes);
        expect(parsed.checksumValid).toBe(true);
        expect(parsed.platform).toBe(entries[0]!.platform);
        expect(parsed.entries).toEqual(entries);
      }),
    );
  });

  it('rejects a sector that is not a catalog', () => {
    expect(() => parseBootCatalog(new Uint8Array(2048))).toThrow(FormatError);
    expect(() => parseBootCatalog(new Uint8Array(10))).toThrow(/TRUNCATED|64 bytes/);
  });

  it('patches the boot information table exactly as xorriso -boot-info-table does', async () => {
    const src = join(dir, 'bit');
    mkdirSync(join(src, 'boot'), { recursive: true });
    const image = new Uint8Array(randomBytes(8192 + 6)); // a trailing partial word, too
    writeFileSync(join(src, 'boot/boot.img'), image);
    const ref = join(dir, 'bit-xorriso.iso');
    const r = tool([
      'xorriso',
      '-as',
      'mkisofs',
      '-quiet',
      '-b',
      'boot/boot.img',
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
      '-o',
      ref,
      src,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const source = await FileSource.open(ref);
    try {
      const iso = await readIso(source);
      const lba = iso.boot!.entries[0]!.lba;
      const theirs = await readIsoFileBytes(
        source,
        iso.entries.find((e) => e.path === 'boot/boot.img')!,
      );
      const ours = image.slice();
      patchBootInfoTable(ours, 16, lba);
      expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
    } finally {
      await source.close();
    }
  });
});

describe('El Torito and hybrid images', () => {
  it('writes BIOS + UEFI entries that xorriso and isoinfo report, with a GPT that sgdisk accepts', async () => {
    const boot = new Uint8Array(2048 * 3).fill(0x90);
    const espImage = new Uint8Array(64 * 1024).fill(0xe5);
    const mbrCode = new Uint8Array(512).fill(0xcc);
    const out = join(dir, 'both.iso');
    const tree = buildTree({ 'boot/bios.img': boot, 'boot/efi.img': espImage, README: 'x' });
    const plan = await writeIsoFile(out, tree, {
      epoch: 1_700_000_000,
      boot: {
        entries: [
          { platform: 'bios', image: 'boot/bios.img', bootInfoTable: true },
          { platform: 'efi', image: 'boot/efi.img' },
        ],
      },
      hybrid: { mbrCode, mbrPatch: 'grub2' },
    });
    const biosLba = plan.extents.get('boot/bios.img')![0]!.lba;
    const efiLba = plan.extents.get('boot/efi.img')![0]!.lba;

    const report = tool(['xorriso', '-indev', out, '-report_el_torito', 'plain']);
    expect(report.stdout).toMatch(
      new RegExp(`El Torito boot img :\\s+1\\s+BIOS\\s+y\\s+none\\s+0x0000\\s+0x00\\s+4\\s+${biosLba}`),
    );
    expect(report.stdout).toMatch(
      new RegExp(`El Torito boot img :\\s+2\\s+UEFI\\s+y\\s+none\\s+0x0000\\s+0x00\\s+128\\s+${efiLba}`),
    );
    expect(report.stdout).toMatch(/El Torito img path :\s+1\s+\/boot\/bios\.img/);
    expect(report.stdout).toMatch(/El Torito img opts :\s+1\s+boot-info-table/);
    const info = tool(['isoinfo', '-d', '-i', out]);
    expect(info.stdout).toMatch(/El Torito VD version 1 found, boot catalog is in sector \d+/);
    expect(info.stdout).toMatch(/Boot media 0 \(No Emulation Boot\)/);
    expect(info.stdout).toMatch(/Nsect 4/);

    const sg = tool(['sgdisk', '-v', out]);
    expect(sg.stdout).toMatch(/No problems found/);
    const print = tool(['sgdisk', '-p', out]);
    expect(print.stdout).toMatch(
      new RegExp(`^\\s+1\\s+${efiLba * 4}\\s+${efiLba * 4 + 127}\\s.*EF00\\s+EFI System`, 'm'),
    );
    const bytes = readFileSync(out);
    expect(bytes[446 + 4]).toBe(0xee); // protective MBR
    expect(readU64(bytes, 0x1b0, true)).toBe(biosLba * 4 + 4); // --grub2-mbr patch
    expect(bytes.subarray(0, 0x1b0).every((b) => b === 0xcc)).toBe(true);
    expect(bytes.length % 2048).toBe(0);

    const iso = await readIso(await FileSource.open(out));
    expect(iso.boot!.entries.map((e) => [e.platform, e.lba])).toEqual([
      [0, biosLba],
      [0xef, efiLba],
    ]);
  });

  it('writes an MBR-only hybrid (0xEF entry) and an isohdpfx-style patch when asked', async () => {
    const out = join(dir, 'mbr.iso');
    const plan = await writeIsoFile(out, buildTree({ 'b.img': new Uint8Array(2048).fill(1) }), {
      boot: {
        entries: [
          { platform: 'bios', image: 'b.img' },
          { platform: 'efi', image: new Uint8Array(4096).fill(2) },
        ],
      },
      hybrid: { gpt: false, mbrCode: new Uint8Array(440), mbrPatch: 'isohdpfx' },
    });
    const fdisk = tool(['sfdisk', '--dump', out]);
    expect(fdisk.stdout).toMatch(/type=17, bootable/);
    expect(fdisk.stdout).toMatch(/size=\s*8, type=ef/);
    const bytes = readFileSync(out);
    expect(readU32(bytes, 0x1b0, true)).toBe(plan.extents.get('b.img')![0]!.lba * 4);
  });

  it('checks hard-disk-emulation images', () => {
    const mbr = new Uint8Array(512);
    expect(() => checkHddImage(mbr, 512, true, 'x')).toThrow(/55 AA/);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const info = checkHddImage(mbr, 1 << 20, true, 'x');
    expect(info.systemType).toBe(1);
    expect(info.patchedMbr![446]).toBe(0x80);
    expect(readU32(info.patchedMbr!, 446 + 8, true)).toBe(1);
    expect(() => checkHddImage(mbr, 1 << 20, false, 'x')).toThrow(KilnError);
    mbr[446 + 4] = 0x83;
    mbr[462 + 4] = 0x0c;
    expect(() => checkHddImage(mbr, 1 << 20, true, 'x')).toThrow(/exactly one partition/);
    mbr[462 + 4] = 0;
    expect(checkHddImage(mbr, 1 << 20, true, 'x')).toEqual({ systemType: 0x83 });
  });
});

describe('El Torito boots in QEMU (SeaBIOS, TCG)', () => {
  it('boots a raw BIOS disk image through hard-disk emulation, served as drive 0x80', async () => {
    const disk = await buildBiosDisk(dir);
    const out = join(dir, 'hdd.iso');
    const { fileContent } = await import('../../../src/formats/io/content.js');
    await writeIsoFile(out, buildTree({ 'portix.img': await fileContent(disk) }), {
      boot: { entries: [{ platform: 'bios', emulation: 'hdd', image: 'portix.img' }] },
    });
    const info = tool(['isoinfo', '-d', '-i', out]);
    expect(info.stdout).toMatch(/Boot media 4 \(Hard Disk Emulation\)/);
    const r = await qemuBoot(['-M', 'pc', '-cdrom', out, '-boot', 'd'], 90_000);
    expect(r.timedOut).toBe(false);
    expect(r.output).toContain('kiln-hdd ok: drive 0x80, 16x63 geometry, sector 16000 read');
    expect(r.code).toBe(EXIT_OK);
    // The boot code on the ISO is the input's; only the partition table was filled in.
    const source = await FileSource.open(out);
    const iso = await readIso(source);
    const onIso = await readIsoFileBytes(
      source,
      iso.entries.find((e) => e.path === 'portix.img')!,
    );
    await source.close();
    const input = readFileSync(disk);
    expect(Buffer.from(onIso.subarray(0, 446)).equals(input.subarray(0, 446))).toBe(true);
    expect(Buffer.from(onIso.subarray(512)).equals(input.subarray(512))).toBe(true);
  }, 120_000);

  it('boots a no-emulation image that sees its boot information table', async () => {
    const img = await buildNoEmulationImage(dir);
    const out = join(dir, 'noemul.iso');
    const { fileContent } = await import('../../../src/formats/io/content.js');
    await writeIsoFile(out, buildTree({ 'boot/noemul.img': await fileContent(img) }), {
      boot: { entries: [{ platform: 'bios', image: 'boot/noemul.img', bootInfoTable: true }] },
    });
    const r = await qemuBoot(['-M', 'pc', '-cdrom', out, '-boot', 'd'], 90_000);
    expect(r.output).toContain('kiln-noemul ok: boot info table pvd=16 length=2048');
    expect(r.code).toBe(EXIT_OK);
  }, 120_000);
});
