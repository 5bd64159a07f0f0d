// `kiln image ls` detects every supported format from its magic and lists it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';

const dir = tempDir('kiln-image-ls-');
const tree = join(dir, 'tree');
mkdirSync(join(tree, 'EFI/BOOT'), { recursive: true });
writeFileSync(join(tree, 'EFI/BOOT/BOOTX64.EFI'), 'not really an EFI program\n');
writeFileSync(join(tree, 'hello.txt'), 'hello\n');

const make = (args: string[]) => {
  const r = runKiln(['image', ...args]);
  expect(r.status, r.stderr).toBe(0);
};

describe('kiln image ls', () => {
  it('lists CPIO, FAT, GPT, ISO, VDI and VMDK images, detected by magic', () => {
    make(['cpio', join(dir, 'a.cpio'), '--from', tree]);
    make(['fat', join(dir, 'a.fat'), '--size', '4M', '--from', tree]);
    make(['gpt', join(dir, 'a.gpt'), '--size', '64M', '--part', `esp:40M:fat=${tree}`]);
    make(['iso', join(dir, 'a.iso'), '--from', tree]);
    make(['convert', join(dir, 'a.gpt'), join(dir, 'a.vdi'), '--format', 'vdi']);
    make(['convert', join(dir, 'a.gpt'), join(dir, 'a.vmdk'), '--format', 'vmdk']);
    const ls = (f: string) => runKiln(['image', 'ls', join(dir, f)]);
    expect(ls('a.cpio').stdout).toMatch(/hello\.txt/);
    expect(ls('a.fat').stdout).toMatch(/hello\.txt/);
    expect(ls('a.gpt').stdout).toMatch(/c12a7328-f81f-11d2-ba4b-00a0c93ec93b|EFI System|esp/i);
    expect(ls('a.iso').stdout).toMatch(/hello\.txt/);
    expect(ls('a.vdi').stdout).toMatch(/"format": "vdi"/);
    expect(ls('a.vmdk').stdout).toMatch(/"format": "vmdk"/);
  });

  it('says what a file is not', () => {
    writeFileSync(join(dir, 'junk.bin'), 'junk');
    const r = runKiln(['image', 'ls', join(dir, 'junk.bin')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not an image kiln can read/);
  });
});
