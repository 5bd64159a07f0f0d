import { defineConfig, cc } from 'kiln';

// A 32-bit C kernel: QEMU loads the ELF with -kernel through its multiboot header (src/boot.S),
// in 32-bit protected mode with paging off, so C runs at once. Serial output on COM1; the result
// leaves through isa-debug-exit.
const kernel = cc.exe({
  sources: ['src/*.c', 'src/*.S'],
  include: ['src'],
  std: 'c11',
  linkerScript: 'linker.ld',
  output: 'kernel.elf',
});

export default defineConfig({
  name: '__NAME__',
  arch: 'i386',
  components: { kernel },
  run: { kernel, exit: { kind: 'isa-debug-exit', success: 0 } },
  tests: {
    boot: { expect: ['Hello from __NAME__', 'kernel: 2 + 2 = 4'], timeout: 30 },
  },
});
