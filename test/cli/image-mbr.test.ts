import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';

describe('kiln image mbr', () => {
  const dir = tempDir();
  it('writes a disk sfdisk verifies and lists, and lists it itself', () => {
    const part = join(dir, 'p.img');
    writeFileSync(part, new Uint8Array(1 << 20).fill(1));
    const out = join(dir, 'mbr.img');
    const r = runKiln([
      'image',
      'mbr',
      out,
      '--size',
      '32M',
      '--part',
      `fat32:8M:${part}`,
      '--part',
      '83:-',
      '--bootable',
      '1',
      '--signature',
      '0xcafe1234',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      diskSignature: '0xcafe1234',
      partitions: [{ startLba: 2048, sectors: 16384, bootable: true }, { type: 0x83 }],
    });
    const verify = tool(['sfdisk', '--verify', out]);
    expect(verify.stdout).toContain('No errors detected.');
    const json = JSON.parse(tool(['sfdisk', '--json', out]).stdout) as {
      partitiontable: { id: string; partitions: Array<{ start: number; type: string; bootable?: boolean }> };
    };
    expect(json.partitiontable.id).toBe('0xcafe1234');
    expect(json.partitiontable.partitions.map((p) => [p.start, p.type, p.bootable ?? false])).toEqual([
      [2048, 'c', true],
      [18432, '83', false],
    ]);
    const ls = runKiln(['image', 'mbr', 'ls', out, '--json']);
    expect(ls.status, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toMatchObject({
      diskSignature: '0xcafe1234',
      problems: [],
      partitions: [{ typeName: 'fat32', bootable: true }, { typeName: 'linux' }],
    });
  });

  it('says how many bytes over and refuses non-MBR input', () => {
    const r = runKiln(['image', 'mbr', join(dir, 'x.img'), '--size', '4M', '--part', 'linux:8M']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error: mbr: partition 1 ends at byte \d+, 5242880 bytes \(5 MiB\) past the end/);
    const junk = join(dir, 'junk.img');
    writeFileSync(junk, new Uint8Array(4096));
    const ls = runKiln(['image', 'mbr', 'ls', junk]);
    expect(ls.status).toBe(1);
    expect(ls.stderr).toMatch(/bytes 510-511 are 00 00, not 55 AA/);
  });
});
