import { defineConfig, zig } from 'kiln';

// A 32-bit freestanding Zig kernel: QEMU loads the ELF with -kernel through the multiboot header
// in src/main.zig, in 32-bit protected mode with paging off. Serial output on COM1; the result
// leaves through isa-debug-exit.
const kernel = zig.exe({ root: 'src/main.zig', linkerScript: 'linker.ld' });

export default defineConfig({
  name: '__NAME__',
  arch: 'i386',
  components: { kernel },
  run: { kernel, exit: { kind: 'isa-debug-exit', success: 0 } },
  tests: {
    boot: { expect: ['Hello from __NAME__', 'kernel: 6 * 7 = 42'], timeout: 30 },
  },
});
