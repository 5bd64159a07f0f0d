/**
 * `kiln init [DIR]`: a minimal working project — a 512-byte x86 boot sector (nasm) that prints on
 * the serial port and exits QEMU, with a test.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { action } from './_shared.js';

const CONFIG = (name: string) => `import { defineConfig, nasm, raw } from 'kiln';

// A 512-byte BIOS boot sector: prints on COM1 and exits QEMU through isa-debug-exit.
const boot = nasm.bin({ source: 'boot.asm', exactSize: 512 });
// A 1 MiB disk with the boot sector at LBA 0 (firmware wants a disk larger than one sector).
const disk = raw({ size: '1M', regions: [{ name: 'boot', lba: 0, content: boot, exactSize: 512, bootSignature: true }], output: '${name}.img' });

export default defineConfig({
  name: '${name}',
  components: { boot },
  images: { disk },
  run: { image: disk, exit: { kind: 'isa-debug-exit', success: 0 } },
  tests: {
    hello: { expect: ['Hello from ${name}'], timeout: 30 },
  },
});
`;

const BOOT = (name: string) => `; Minimal BIOS boot sector: serial output on COM1 (0x3f8), then isa-debug-exit (0xf4).
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov si, message
.next:
    lodsb
    test al, al
    jz .done
    mov dx, 0x3fd          ; line status: wait for the transmitter
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, [si - 1]
    mov dx, 0x3f8
    out dx, al
    jmp .next
.done:
    mov dx, 0xf4           ; isa-debug-exit: QEMU exits with (0 << 1) | 1 = 1
    xor ax, ax
    out dx, al
.halt:
    hlt
    jmp .halt

message: db 'Hello from ${name}', 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xaa55
`;

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a minimal working project (nasm boot sector + QEMU test) in DIR')
    .argument('[dir]', 'folder to create the project in', '.')
    .option('--name <name>', 'project name (default: the folder name)')
    .option('--force', 'overwrite an existing kiln.config.ts', false)
    .action(action(async (dir: string, flags: { name?: string; force: boolean }) => {
      const root = resolve(dir);
      const name = (flags.name ?? basename(root)).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'my-os';
      const configPath = join(root, 'kiln.config.ts');
      if (existsSync(configPath) && !flags.force) {
        throw new KilnError('INIT_EXISTS', `${relative(process.cwd(), configPath) || configPath} already exists`, { hint: 'use --force to overwrite it', exitCode: 2 });
      }
      mkdirSync(root, { recursive: true });
      writeFileSync(configPath, CONFIG(name));
      writeFileSync(join(root, 'boot.asm'), BOOT(name));
      if (!existsSync(join(root, '.gitignore'))) writeFileSync(join(root, '.gitignore'), 'build/\n.kiln/\n');
      const shown = relative(process.cwd(), root) || '.';
      process.stderr.write(`created ${name} in ${shown}: kiln.config.ts, boot.asm\nnext: ${shown === '.' ? '' : `cd ${shown} && `}kiln build && kiln run\n`);
    }));
}
