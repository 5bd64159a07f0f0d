// Image steps in a real project: a nasm stage 1 + payload in a fixed-LBA raw disk with a FAT32
// partition, a CPIO initrd, a GPT disk with an ESP, an ISO booting the raw disk by hard-disk
// emulation, and VDI/VMDK conversions; each checked by the reference tool.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';

const dir = join(tempDir('kiln-image-steps-'), 'p');
const files: Record<string, string> = {
  'stage1.asm': `bits 16\norg 0x7c00\nstart: jmp start\ntimes 446-($-$$) db 0\ntimes 64 db 0\ndw 0xaa55\n`,
  'payload.txt': 'payload at LBA 8\n',
  'readme.txt': 'hello from the FAT partition\n',
  'kiln.config.ts': `import { defineConfig, nasm, raw, cpio, gpt, esp, iso, vdi, vmdk, text } from 'kiln';
export default defineConfig({
  name: 'images',
  build: () => {
    const stage1 = nasm.bin({ source: 'stage1.asm', exactSize: 512 });
    const disk = raw({
      size: '8M', minSize: '8M',
      regions: [
        { name: 'stage1', lba: 0, content: stage1, exactSize: 512, bootSignature: true },
        { name: 'payload', lba: 8, content: 'payload.txt', maxSectors: 4 },
      ],
      patches: [{ region: 'stage1', at: 2, type: 'u16', value: { lbaOf: 'payload' } }],
      partition: { files: { '/README.TXT': 'readme.txt' }, label: 'STORAGE' },
      output: 'disk.img',
    });
    const initrd = cpio({ files: { '/bin/init': 'payload.txt', '/etc/motd': text('hi\\n'), '/dev/console': { kind: 'char', major: 5, minor: 1, mode: 0o600 } } });
    const uefi = gpt({ size: '48M', partitions: [esp({ size: '40M', files: { '/EFI/BOOT/BOOTX64.EFI': 'payload.txt', '/kernel.elf': stage1 } })], output: 'uefi.img' });
    const cd = iso({ files: { '/readme.txt': 'readme.txt' }, bios: { emulation: 'hdd', image: disk }, output: 'dist/disk.iso' });
    return { images: { disk, initrd, uefi, cd, vdi: vdi(disk, { output: 'dist/disk.vdi' }), vmdk: vmdk(disk, { output: 'dist/disk.vmdk', subformat: 'streamOptimized' }) } };
  },
});
`,
};

describe('image steps', () => {
  const out = () => join(dir, 'build/x86_64-debug');
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = runKiln(['build', '--plain'], { cwd: dir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);

  it('raw: regions at their LBAs, the patch, the FAT32 partition registered in stage 1', () => {
    const disk = readFileSync(join(out(), 'disk.img'));
    expect(disk.length).toBe(8 << 20);
    expect(disk.readUInt16LE(2)).toBe(8);
    expect(disk.subarray(8 * 512, 8 * 512 + 17).toString()).toBe('payload at LBA 8\n');
    expect(disk[510]).toBe(0x55);
    expect(disk[450]).toBe(0x01); // 7 MiB: FAT12 (FAT32 needs about 33 MiB), MBR type 0x01
    const start = disk.readUInt32LE(454);
    const sfdisk = tool(['sfdisk', '--json', join(out(), 'disk.img')]);
    expect(JSON.parse(sfdisk.stdout).partitiontable.partitions[0].start).toBe(start);
    const fat = tool(['mtype', '-i', `${join(out(), 'disk.img')}@@${start * 512}`, '::/README.TXT']);
    expect(fat.stdout).toBe('hello from the FAT partition\n');
  });

  it('cpio: GNU cpio lists the files and the device node', () => {
    const r = tool(['cpio', '-itv', '-F', join(out(), 'initrd.cpio')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/crw-------.* 5,\s+1 .*dev\/console/);
    expect(r.stdout).toMatch(/bin\/init/);
  });

  it('gpt: sgdisk verifies the disk; the ESP holds the files', () => {
    const v = tool(['sgdisk', '-v', join(out(), 'uefi.img')]);
    expect(v.stdout).toContain('No problems found');
    const p = tool(['sgdisk', '-p', join(out(), 'uefi.img')]);
    expect(p.stdout).toMatch(/EF00/);
  });

  it('iso with hard-disk emulation, vdi and vmdk are accepted by xorriso and qemu-img', () => {
    const x = tool(['xorriso', '-indev', join(out(), 'dist/disk.iso'), '-report_el_torito', 'plain'], {});
    expect(x.stdout + x.stderr).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+hd/);
    for (const f of ['dist/disk.vdi', 'dist/disk.vmdk']) {
      expect(tool(['qemu-img', 'check', join(out(), f)]).status).toBe(0);
      const cmp = tool(['qemu-img', 'compare', join(out(), 'disk.img'), join(out(), f)]);
      expect(cmp.stdout).toContain('Images are identical');
    }
  });

  it('is reproducible: a clean rebuild gives the same bytes', () => {
    const before = ['disk.img', 'initrd.cpio', 'uefi.img', 'dist/disk.iso', 'dist/disk.vdi', 'dist/disk.vmdk'].map(
      (f) => readFileSync(join(out(), f)),
    );
    const r = runKiln(['build', '--plain', '--force'], { cwd: dir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.status, r.stderr).toBe(0);
    const after = ['disk.img', 'initrd.cpio', 'uefi.img', 'dist/disk.iso', 'dist/disk.vdi', 'dist/disk.vmdk'].map((f) =>
      readFileSync(join(out(), f)),
    );
    after.forEach((b, i) => expect(Buffer.compare(b, before[i]!)).toBe(0));
  }, 120_000);
});
