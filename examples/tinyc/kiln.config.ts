import { cc, command, defineConfig, guest, link, objcopy, out, raw } from 'kiln';

// tinyc: a 32-bit C teaching kernel. A BIOS boot block (GNU as through clang) that kiln pads and
// signs, a kernel of many C files sharing headers (each compile's depfile tracks which), a host
// mkfs built for the build machine that makes the file-system disk, two IDE disks, a serial shell.
export default defineConfig({
  name: 'tinyc',
  arch: 'i386',
  build: () => {
    const bootObj = cc.obj({ name: 'boot', sources: ['boot/boot.S'], output: 'boot.o' });
    const bootElf = link({ name: 'bootblock.elf', objects: [bootObj], linkerScript: 'boot/boot.ld' });
    const bootBin = objcopy({ name: 'bootblock', input: bootElf, sections: ['.text'], output: 'bootblock.bin' });

    const kernel = cc.exe({
      name: 'kernel',
      sources: ['kernel/*.c', 'kernel/entry.S'],
      include: ['include'],
      std: 'c11',
      cflags: ['-Wall', '-Wextra', '-Werror'],
      linkerScript: 'kernel/kernel.ld',
      output: 'kernel.elf',
    });
    const kernelBin = objcopy({ name: 'kernel-bin', input: kernel, output: 'kernel.bin' });
    // Boot block at LBA 0 (signed by kiln), the kernel from LBA 1: the boot block loads 64 sectors.
    const bootDisk = raw({
      name: 'boot-disk', size: '1M', output: 'tinyc-boot.img',
      regions: [
        { name: 'boot', lba: 0, content: bootBin, bootSignature: 'write' },
        { name: 'kernel', lba: 1, content: kernelBin, maxSectors: 64 },
      ],
    });

    const mkfs = cc.exe({ name: 'mkfs', host: true, sources: ['tools/mkfs.c'], include: ['include'], cflags: ['-Wall', '-Werror'] });
    const files = ['files/hello.txt', 'files/motd.txt'];
    const fsDisk = command({ name: 'fs-disk', argv: [mkfs, out('tinyc-fs.img'), '256', ...files], inputs: files, outputs: ['tinyc-fs.img'] });

    const drives = [
      { image: bootDisk, interface: 'ide' as const, index: 0 },
      { image: fsDisk, interface: 'ide' as const, index: 1 },
    ];
    return {
      components: { kernel, mkfs },
      images: { bootDisk, fsDisk },
      run: { drives, machine: 'pc', qemu: 'qemu-system-i386', symbols: kernel, exit: { kind: 'isa-debug-exit' as const, success: 0 } },
      tests: {
        boot: { expect: ['tinyfs mounted, 2 files', 'tinyc> '], exit: { kind: 'serial' as const }, timeout: 60 },
        // Types at the shell: lists and reads the disk, writes a file to it (through the snapshot), exits.
        shell: {
          exit: { kind: 'isa-debug-exit' as const, success: 0 }, timeout: 90, stepTimeout: 20,
          script: [
            guest.expect('tinyc> '), guest.send('echo hello kiln\r'), guest.expect(/^hello kiln\r?$/m),
            guest.send('ls\r'), guest.expect(/^motd\.txt \d+/m),
            guest.send('cat hello.txt\r'), guest.expect('Hello from tinyfs'),
            guest.send('write note.txt written by the guest\r'), guest.expect('wrote 21 bytes to note.txt'),
            guest.send('cat note.txt\r'), guest.expect('written by the guest'),
            guest.send('exit\r'), guest.expect('bye'),
          ],
        },
      },
    };
  },
});
