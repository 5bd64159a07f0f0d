import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';

describe('kiln image raw', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'boot.asm'), 'bits 16\norg 0x7c00\njmp $\ntimes 510-($-$$) db 0\ndw 0xAA55\n');
  writeFileSync(
    join(dir, 'stage2.asm'),
    'bits 16\norg 0x7e00\n[map symbols stage2.map]\njmp start\nalign 4\nkernel_lba: dd 0\nkernel_sectors: dw 0\nstart: hlt\ntimes 2000 db 0x90\n',
  );
  for (const n of ['boot', 'stage2']) tool(['nasm', '-f', 'bin', `${n}.asm`, '-o', `${n}.bin`], { cwd: dir });
  writeFileSync(join(dir, 'kernel.bin'), new Uint8Array(100000).fill(0x6b));
  mkdirSync(join(dir, 'storage'));
  writeFileSync(join(dir, 'storage', 'HELLO.TXT'), 'hi\n');

  it('writes the Portix layout with the kernel LBA patched at a nasm symbol and a FAT partition', () => {
    const out = join(dir, 'portix.img');
    const r = runKiln([
      'image',
      'raw',
      out,
      '--portix',
      '--stage1',
      join(dir, 'boot.bin'),
      '--stage2',
      join(dir, 'stage2.bin'),
      '--kernel',
      join(dir, 'kernel.bin'),
      '--symbols',
      `stage2=${join(dir, 'stage2.map')}@0x7e00`,
      '--kernel-lba-at',
      'kernel_lba',
      '--kernel-sectors-at',
      'kernel_sectors',
      '--size',
      '64M',
      '--partition',
      `fat32:fat=${join(dir, 'storage')}`,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      patches: Array<{ offset: number; value: number }>;
      partition: { startLba: number; sectors: number };
    };
    expect(result.patches).toEqual([
      { region: 'stage2', offset: 4, type: 'u32', endian: 'le', value: 65 },
      { region: 'stage2', offset: 8, type: 'u16', endian: 'le', value: 196 },
    ]);
    const disk = readFileSync(out);
    expect(disk.readUInt32LE(512 + 4)).toBe(65);
    expect(disk.readUInt16LE(512 + 8)).toBe(196);
    expect(disk[65 * 512]).toBe(0x6b);
    expect(tool(['sfdisk', '--verify', out]).stdout).toContain('No errors detected.');
    expect(tool(['mdir', '-i', `${out}@@${result.partition.startLba * 512}`, '-b', '::/']).stdout).toMatch(
      /HELLO\.TXT/,
    );
    const ls = runKiln(['image', 'raw', 'ls', out, '--json']);
    expect(JSON.parse(ls.stdout)).toMatchObject({
      bootSignature: true,
      mbr: { partitions: [{ type: 0x0c, startLba: 2048 }] },
    });
  });

  it('builds a generic layout from --region and --patch', () => {
    const out = join(dir, 'generic.img');
    const r = runKiln([
      'image',
      'raw',
      out,
      '--size',
      '1M',
      '--region',
      `0:${join(dir, 'boot.bin')}:mbr`,
      '--region',
      `4:${join(dir, 'kernel.bin')}:k`,
      '--patch',
      'mbr:2:u32be:lba(k)',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out).readUInt32BE(2)).toBe(4);
  });

  it('picks the partition type byte from the FAT type for --partition fat=DIR, and refuses FAT32 where it cannot fit', () => {
    const out = join(dir, 'small.img');
    const args = [
      'image',
      'raw',
      out,
      '--portix',
      '--stage1',
      join(dir, 'boot.bin'),
      '--stage2',
      join(dir, 'stage2.bin'),
      '--kernel',
      join(dir, 'kernel.bin'),
    ];
    const r = runKiln([...args, '--partition', `fat=${join(dir, 'storage')}`, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { partition: { type: number; startLba: number } };
    expect([0x01, 0x0e]).toContain(result.partition.type);
    const part = join(dir, 'small-part.img');
    writeFileSync(part, readFileSync(out).subarray(result.partition.startLba * 512));
    const fsck = tool(['fsck.fat', '-n', part]);
    expect(fsck.status, fsck.stdout).toBe(0);
    expect(fsck.stdout).toMatch(/1 files/);
    const fat32 = runKiln([...args, '--partition', `fat32:fat=${join(dir, 'storage')}`]);
    expect(fat32.status).toBe(1);
    expect(fat32.stderr).toMatch(/too small for FAT32/);
  });

  it('refuses Portix inputs that break the layout, saying by how much', () => {
    writeFileSync(join(dir, 'big-stage2.bin'), new Uint8Array(64 * 512 + 10));
    const r = runKiln([
      'image',
      'raw',
      join(dir, 'x.img'),
      '--portix',
      '--stage1',
      join(dir, 'boot.bin'),
      '--stage2',
      join(dir, 'big-stage2.bin'),
      '--kernel',
      join(dir, 'kernel.bin'),
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error: raw: stage2 is 32778 bytes \(65 sectors\), 10 bytes over its limit of 64 sectors/);
    const small = runKiln([
      'image',
      'raw',
      join(dir, 'y.img'),
      '--portix',
      '--stage1',
      join(dir, 'boot.bin'),
      '--stage2',
      join(dir, 'stage2.bin'),
      '--kernel',
      join(dir, 'kernel.bin'),
      '--size',
      '7M',
    ]);
    expect(small.stderr).toMatch(/1048576 bytes below the minimum of 8 MiB/);
    const noSig = runKiln([
      'image',
      'raw',
      join(dir, 'z.img'),
      '--portix',
      '--stage1',
      join(dir, 'kernel.bin'),
      '--stage2',
      join(dir, 'stage2.bin'),
      '--kernel',
      join(dir, 'kernel.bin'),
    ]);
    expect(noSig.stderr).toMatch(/stage1 is 100000 bytes; it must be exactly 512 \(99488 bytes over\)/);
  });
});
