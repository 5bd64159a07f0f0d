// strip() and grubEfi()/grubEsp() steps: a stripped ELF whose DWARF gdb finds again through
// .gnu_debuglink (CRC checked against zlib), and a GPT whose ESP holds GRUB's x86_64-efi image
// (a PE32+ per llvm-objdump) with the generated grub.cfg, kernel and module (read back with mtools).
// The full boot of such a disk under OVMF is proven by test/examples/kozo.test.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { grubEsp } from '../../src/steps/grub.js';
import { runKiln, tempDir, tool } from '../_helpers.js';

const dir = join(tempDir('kiln-grub-strip-'), 'p');
const files: Record<string, string> = {
  'main.c': 'int counter;\nvoid tick(void) { counter++; }\nvoid _start(void) { for (;;) tick(); }\n',
  'kiln.config.ts': `import { defineConfig, cc, strip, cpio, gpt, grubEsp, text } from 'kiln';
const kernel = cc.exe({ name: 'kernel', sources: ['main.c'], cflags: ['-g'] });
const small = strip({ name: 'kernel-strip', input: kernel, output: 'dist/kernel.elf', debugFile: 'dist/kernel.debug' });
const initrd = cpio({ files: { '/hello': text('hi\\n') }, output: 'initrd.cpio' });
const disk = gpt({ name: 'disk', size: '48M', partitions: [grubEsp({ size: '34M', kernel: { file: small, name: 'k.elf' }, modules: [{ file: initrd, name: 'initrd.cpio', args: 'rd' }], cmdline: 'quiet', title: 'T' })], output: 'disk.img' });
export default defineConfig({ name: 'gs', profiles: ['debug'], components: { kernel }, images: { disk }, steps: { small } });
`,
};
const out = (f: string) => join(dir, 'build/x86_64-debug', f);

describe('strip() and grubEsp()', () => {
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = runKiln(['build', '--plain'], { cwd: dir, timeoutMs: 180_000 });
    expect(r.status, r.stderr).toBe(0);
  }, 200_000);

  it("strip(): no DWARF or symbols left, a .gnu_debuglink whose CRC is the debug file's, and gdb finds the lines again", () => {
    const sections = tool(['llvm-readelf', '-S', out('dist/kernel.elf')]).stdout;
    expect(sections).not.toMatch(/\.debug_|\.symtab/);
    expect(sections).toContain('.gnu_debuglink');
    expect(tool(['llvm-readelf', '-S', out('dist/kernel.debug')]).stdout).toMatch(/\.debug_info/);
    const dump = join(dir, 'link.bin');
    expect(
      tool([
        'llvm-objcopy',
        '--dump-section',
        `.gnu_debuglink=${dump}`,
        out('dist/kernel.elf'),
        join(dir, 'scratch.elf'),
      ]).status,
    ).toBe(0);
    const link = readFileSync(dump);
    expect(link.subarray(0, link.indexOf(0)).toString()).toBe('kernel.debug');
    expect(link.readUInt32LE(link.length - 4)).toBe(crc32(readFileSync(out('dist/kernel.debug'))));
    const gdb = tool(['gdb', '-batch', '-nx', '-ex', 'info line tick', out('dist/kernel.elf')]);
    expect(gdb.stdout).toMatch(/Line 2 of "[^"]*main\.c"/);
  });

  it('grubEsp(): the ESP holds BOOTX64.EFI (PE32+), the generated grub.cfg, the kernel and the module', () => {
    expect(tool(['llvm-objdump', '-h', out('BOOTX64.EFI')]).stdout).toMatch(/file format (coff|pei)-x86-64/);
    const img = out('disk.img');
    const dumpText = tool(['sfdisk', '--dump', img]).stdout;
    expect(dumpText).toMatch(/type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B/i);
    const at = `${img}@@${Number(/start=\s*(\d+)/.exec(dumpText)![1]) * 512}`;
    const cfg = tool(['mtype', '-i', at, '::/boot/grub/grub.cfg']).stdout;
    expect(cfg).toContain("menuentry 'T' {");
    expect(cfg).toContain('multiboot2 /boot/k.elf quiet');
    expect(cfg).toContain('module2 /boot/initrd.cpio rd');
    expect(cfg).toContain('terminal_output serial console');
    const efi = join(dir, 'from-esp.efi');
    expect(tool(['mcopy', '-i', at, '::/EFI/BOOT/BOOTX64.EFI', efi]).status).toBe(0);
    expect(readFileSync(efi).equals(readFileSync(out('BOOTX64.EFI')))).toBe(true);
    expect(tool(['mdir', '-i', at, '::/boot']).stdout).toMatch(/K\s+ELF|k\.elf/i);
  });

  it('grubEsp(): bad or repeated file names are refused before anything is built', () => {
    expect(() => grubEsp({ size: '32M', kernel: { file: 'k.elf', name: 'my kernel' } })).toThrow(/plain file name/);
    expect(() =>
      grubEsp({ size: '32M', kernel: { file: 'k.elf', name: 'a' }, modules: [{ file: 'm', name: 'a' }] }),
    ).toThrow(/used twice/);
  });
});
