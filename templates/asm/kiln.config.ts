import { defineConfig, nasm, raw } from 'kiln';

// A 512-byte BIOS boot sector: prints on COM1 and exits QEMU through isa-debug-exit.
const boot = nasm.bin({ source: 'boot.asm', exactSize: 512 });
// A 1 MiB disk with the boot sector at LBA 0 (firmware wants a disk larger than one sector).
const disk = raw({ size: '1M', regions: [{ name: 'boot', lba: 0, content: boot, exactSize: 512, bootSignature: true }], output: '__NAME__.img' });

export default defineConfig({
  name: '__NAME__',
  components: { boot },
  images: { disk },
  run: { image: disk, exit: { kind: 'isa-debug-exit', success: 0 } },
  tests: {
    hello: { expect: ['Hello from __NAME__'], timeout: 30 },
  },
});
