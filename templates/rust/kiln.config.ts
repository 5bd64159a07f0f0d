import { defineConfig, cargo } from 'kiln';

// A no_std Rust kernel for QEMU's aarch64 virt board. kiln generates the target spec
// (aarch64-kiln: no FPU/SIMD, panic=abort) and builds core for it: with rust-src through
// -Zbuild-std, else from Debian's rust-src as a sysroot (the route is in the build log).
// QEMU loads the ELF with -kernel; output on the PL011 UART; the verdict leaves through semihosting.
const kernel = cargo.bin({
  path: '.',
  package: 'kernel',
  target: { name: 'aarch64-kiln' },
  linkerScript: 'linker.ld',
  output: 'kernel.elf',
});

export default defineConfig({
  name: '__NAME__',
  arch: 'aarch64',
  components: { kernel },
  run: { kernel, machine: 'virt', cpu: 'cortex-a57', exit: { kind: 'semihosting' } },
  tests: {
    boot: { expect: ['Hello from __NAME__', 'kernel: 6 * 7 = 42'], timeout: 60 },
  },
});
