// A Raspberry Pi 3 kernel built, imaged and tested with kiln on QEMU's raspi3b board: clang and
// ld.lld build a freestanding AArch64 ELF; a ustar initrd is linked in as a blob; an MBR SD card with
// a FAT partition is built before the boot; two tests judge the PL011 (serial port 0) and the mini
// UART (serial port 1), each logging the other port to a file.
import { defineConfig, cc, tar, mbr, blob } from 'kiln';

const expectLines = (port: string) => [
  `kiln pi3 on ${port}`,
  /running at EL[123] on a Raspberry Pi 3/,
  /sd: SD[SH]C card ready/,
  /sd: MBR partition 1 type 0x0[bce6] at LBA 2048/,
  /sd: FAT(12|16|32), \d+ clusters/,
  'sd: HELLO.TXT, 62 bytes: Hello from the SD card: read by kiln\'s pi3 kernel over SDHCI.',
  /initrd: \d+ bytes at 0x/,
  'initrd: dir  etc/',
  'initrd: file etc/arch 6 bytes: ARM64',
  'initrd: file etc/motd 28 bytes: hello from the ustar initrd',
  'PI3-END',
];

export default defineConfig({
  name: 'pi3',
  arch: 'aarch64',
  build: () => {
    const initrd = tar({ files: { '/etc/motd': 'rootfs/etc/motd', '/etc/arch': 'rootfs/etc/arch' } });
    const initrdObj = blob({ file: initrd, symbol: 'initrd_tar' });
    const kernel = cc.exe({
      name: 'kernel',
      sources: ['src/start.S', 'src/kernel.c'],
      cflags: ['-mgeneral-regs-only'],
      linkerScript: 'link.ld',
      objects: [initrdObj],
      output: 'kernel8.elf',
    });
    // 48 MiB is no power of two: the drive asks kiln to boot a copy padded to 64 MiB.
    const sd = mbr({ size: '48M', partitions: [{ files: { '/HELLO.TXT': 'card/hello.txt' }, fat: { label: 'PI3BOOT' }, bootable: true }], output: 'sd.img' });
    return {
      components: { kernel, initrdObj },
      images: { initrd, sd },
      run: { machine: 'raspi3b', kernel, drives: [{ image: sd, interface: 'sd', pad: true }] },
      tests: {
        pl011: { expect: expectLines('PL011'), serial: { port: 0, log: [1] }, timeout: 120 },
        'mini-uart': { expect: expectLines('mini UART'), serial: { port: 1, log: [0] }, timeout: 120 },
        // The same kernel and card on the Pi 3A+ (512 MiB, same peripherals).
        raspi3ap: { machine: 'raspi3ap', expect: expectLines('PL011'), timeout: 120 },
      },
    };
  },
});
