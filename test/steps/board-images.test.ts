// The board image steps in a real project: tar() (ustar), cpio({ format: 'odc' }), mbr() with a
// FAT partition from files, and blob() objects for each arch, checked with tar, cpio, sfdisk,
// mtools, nm and ld.lld; built from a sub-folder to show nothing depends on the working directory.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';

const dir = join(tempDir('kiln-board-images-'), 'p');
const files: Record<string, string> = {
  'rootfs/hello.txt': 'hello from the initrd\n',
  'config.txt': 'arm_64bit=1\n',
  'kiln.config.ts': `import { defineConfig, tar, cpio, mbr, blob, text } from 'kiln';
export default defineConfig({
  name: 'boards',
  arch: ['x86_64', 'aarch64'],
  build: () => {
    const initrd = tar({ files: { '/hello.txt': 'rootfs/hello.txt', '/etc/motd': text('motd\\n'), '/bin': { kind: 'dir' } } });
    const odc = cpio({ files: { '/hello.txt': 'rootfs/hello.txt', '/dev/console': { kind: 'char', major: 5, minor: 1 } }, format: 'odc', output: 'initrd.odc' });
    const sd = mbr({ size: '64M', partitions: [{ size: '48M', files: { '/config.txt': 'config.txt', '/data/readme.txt': text('on the card\\n') }, fat: { label: 'BOOT' }, bootable: true }, { size: '8M', type: 'linux' }], output: 'sd.img' });
    const initrdObj = blob({ file: initrd, symbol: 'initrd_tar' });
    const configObj = blob({ file: 'config.txt' });
    const i386Obj = blob({ file: 'config.txt', arch: 'i386', symbol: 'cfg32', output: 'cfg32.o' });
    return { images: { initrd, odc, sd }, components: { initrdObj, configObj, i386Obj } };
  },
});
`,
};

describe('board image steps (tar, odc cpio, mbr, blob)', () => {
  const out = (arch = 'x86_64') => join(dir, `build/${arch}-debug`);
  beforeAll(() => {
    mkdirSync(join(dir, 'rootfs'), { recursive: true });
    mkdirSync(join(dir, 'elsewhere'), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    for (const arch of ['x86_64', 'aarch64']) {
      // From a sub-folder: paths in the config are relative to the config, never to the working directory.
      const r = runKiln(['build', '--plain', '--arch', arch], {
        cwd: join(dir, 'elsewhere'),
        env: { SOURCE_DATE_EPOCH: '1700000000' },
      });
      expect(r.status, r.stderr + r.stdout).toBe(0);
    }
  }, 180_000);

  it('tar(): GNU tar lists a reproducible ustar archive', () => {
    const r = tool(['tar', '-tvf', join(out(), 'initrd.tar'), '--numeric-owner', '--utc']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'drwxr-xr-x 0/0               0 2023-11-14 22:13 bin/',
      'drwxr-xr-x 0/0               0 2023-11-14 22:13 etc/',
      '-rw-r--r-- 0/0               5 2023-11-14 22:13 etc/motd',
      '-rw-r--r-- 0/0              22 2023-11-14 22:13 hello.txt',
    ]);
    expect(
      Buffer.compare(readFileSync(join(out(), 'initrd.tar')), readFileSync(join(out('aarch64'), 'initrd.tar'))),
    ).toBe(0);
  });

  it("cpio({ format: 'odc' }): cpio -itv lists a 070707 archive", () => {
    const bytes = readFileSync(join(out(), 'initrd.odc'));
    expect(bytes.subarray(0, 6).toString()).toBe('070707');
    const r = tool(['cpio', '-itv', '--quiet', '-F', join(out(), 'initrd.odc')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^crw-------\s+1 root\s+root\s+5,\s+1 .* dev\/console$/m);
    expect(r.stdout).toMatch(/^-rw-r--r--\s+1 root\s+root\s+22 .* hello\.txt$/m);
  });

  it('mbr(): sfdisk sees two partitions (FAT16 by size: type 0x0e), mtools reads the FAT one', () => {
    const r = tool(['sfdisk', '--json', join(out(), 'sd.img')]);
    expect(r.status).toBe(0);
    const parts = JSON.parse(r.stdout).partitiontable.partitions as Array<{
      start: number;
      size: number;
      type: string;
      bootable?: boolean;
    }>;
    expect(parts.map((p) => [p.type, p.size * 512, p.bootable ?? false])).toEqual([
      ['e', 48 << 20, true],
      ['83', 8 << 20, false],
    ]);
    const at = `${join(out(), 'sd.img')}@@${parts[0]!.start * 512}`;
    expect(tool(['mtype', '-i', at, '::/config.txt']).stdout).toBe('arm_64bit=1\n');
    expect(tool(['mtype', '-i', at, '::/data/readme.txt']).stdout).toBe('on the card\n');
    expect(tool(['mlabel', '-s', '-i', at, '::']).stdout).toMatch(/Volume label is BOOT/);
  });

  it("blob(): objects for the target's machine with _binary_<symbol>_* symbols, linkable by ld.lld", () => {
    expect(tool(['readelf', '-h', join(out(), 'initrd_tar.o')]).stdout).toMatch(
      /Machine:\s+Advanced Micro Devices X86-64/,
    );
    expect(tool(['readelf', '-h', join(out('aarch64'), 'initrd_tar.o')]).stdout).toMatch(/Machine:\s+AArch64/);
    expect(tool(['readelf', '-h', join(out(), 'cfg32.o')]).stdout).toMatch(
      /Class:\s+ELF32[\s\S]*Machine:\s+Intel 80386/,
    );
    const nm = tool(['nm', join(out(), 'config_txt.o')]).stdout;
    expect(nm).toMatch(/ R _binary_config_txt_start$/m);
    expect(nm).toMatch(/^000000000000000c A _binary_config_txt_size$/m);
    const tarSize = readFileSync(join(out(), 'initrd.tar')).length;
    expect(tool(['nm', join(out(), 'initrd_tar.o')]).stdout).toContain(
      `${tarSize.toString(16).padStart(16, '0')} A _binary_initrd_tar_size`,
    );
    const linked = join(dir, 'linked.elf');
    const r = tool(['ld.lld', '-m', 'aarch64elf', '-e', '0', '-o', linked, join(out('aarch64'), 'initrd_tar.o')]);
    expect(r.stderr).toBe('');
    expect(readFileSync(linked).includes(readFileSync(join(out('aarch64'), 'initrd.tar')))).toBe(true);
  });
});
