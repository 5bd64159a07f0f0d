import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';

describe('kiln image gpt', () => {
  const dir = tempDir();
  const esp = join(dir, 'esp');
  mkdirSync(join(esp, 'EFI/BOOT'), { recursive: true });
  writeFileSync(join(esp, 'EFI/BOOT/BOOTX64.EFI'), new Uint8Array(70000).fill(0x4d));
  const rootImg = join(dir, 'root.img');
  writeFileSync(rootImg, new Uint8Array(3 << 20).fill(0x33));

  it('writes a disk sgdisk accepts, with a FAT ESP from a folder and a partition from a file', () => {
    const out = join(dir, 'disk.img');
    const r = runKiln([
      'image',
      'gpt',
      out,
      '--size',
      '64M',
      '--seed',
      'kozo',
      '--part',
      'esp:32M:fat=' + esp + ':EFI System',
      '--part',
      `linux-root-x86_64:-:${rootImg}:root`,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      diskGuid: string;
      partitions: Array<{ firstLba: number; lastLba: number; name: string }>;
    };
    expect(result.partitions.map((p) => [p.firstLba, p.name])).toEqual([
      [2048, 'EFI System'],
      [67584, 'root'],
    ]);
    const v = tool(['sgdisk', '-v', out]);
    expect(v.stdout).toContain('No problems found.');
    expect(v.stdout).not.toMatch(/warning|caution/i);
    const p = tool(['sgdisk', '-p', out]);
    expect(p.stdout).toContain(`Disk identifier (GUID): ${result.diskGuid.toUpperCase()}`);
    expect(p.stdout).toMatch(/^\s+1\s+2048\s+67583\s+32\.0 MiB\s+EF00\s+EFI System$/m);
    // The ESP holds the file (mtools reads the FAT volume at the partition offset).
    const mdir = tool(['mdir', '-i', `${out}@@${2048 * 512}`, '-b', '::/EFI/BOOT']);
    expect(mdir.stdout).toMatch(/BOOTX64\.EFI/);
    expect(
      readFileSync(out)
        .subarray(67584 * 512, 67584 * 512 + 4)
        .every((b) => b === 0x33),
    ).toBe(true);
    const ls = runKiln(['image', 'gpt', 'ls', out, '--json']);
    expect(ls.status, ls.stderr).toBe(0);
    const info = JSON.parse(ls.stdout) as { problems: string[]; partitions: Array<{ typeName: string }> };
    expect(info.problems).toEqual([]);
    expect(info.partitions.map((x) => x.typeName)).toEqual(['esp', 'linux-root-x86_64']);
    expect(runKiln(['image', 'gpt', 'ls', out]).stdout).toMatch(/esp\s+EFI System/);
  });

  it('is reproducible and sparse', () => {
    const a = join(dir, 'a.img');
    const b = join(dir, 'b.img');
    for (const out of [a, b])
      expect(
        runKiln(['image', 'gpt', out, '--size', '512M', '--part', `esp:64M:${rootImg}`, '--part', 'linux:-']).status,
      ).toBe(0);
    expect(tool(['cmp', a, b]).status).toBe(0);
    expect(statSync(a).blocks * 512).toBeLessThan(5 << 20);
  });

  it('reports damage and bad input clearly', () => {
    const out = join(dir, 'bad.img');
    expect(runKiln(['image', 'gpt', out, '--size', '8M', '--part', 'linux:-']).status).toBe(0);
    const bytes = readFileSync(out);
    bytes[bytes.length - 512 + 30]! ^= 0xff;
    writeFileSync(out, bytes);
    const ls = runKiln(['image', 'gpt', 'ls', out]);
    expect(ls.status).toBe(1);
    expect(ls.stderr).toMatch(/^problem: backup GPT: header CRC32/m);
    const tooBig = runKiln([
      'image',
      'gpt',
      join(dir, 'x.img'),
      '--size',
      '4M',
      '--part',
      `esp:-:${rootImg}`,
      '--part',
      'linux:2M',
    ]);
    expect(tooBig.status).toBe(1);
    expect(tooBig.stderr).toMatch(
      /error: gpt: partition 1 ends at LBA 8191, 16896 bytes \(16\.5 KiB\) past the last usable LBA 8158/,
    );
    expect(runKiln(['image', 'gpt', join(dir, 'y.img'), '--size', '8M', '--part', 'ntfs:-']).stderr).toMatch(
      /unknown GPT partition type "ntfs"[\s\S]*hint: use a type GUID or one of: esp/,
    );
  });
});
