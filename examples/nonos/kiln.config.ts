// NØNOS "Building the Kernel" with kiln: cargo + build.rs (which compiles the C post-quantum
// library) for the generated x86_64-nonos target spec, then kiln's sign() embeds the manifest
// (.nonos.manifest) and the Ed25519 signature over BLAKE3 (.nonos.sig) into kernel.bin — the
// signed ELF64 — with the dev key, SIGNING_KEY (CI) or a key file (production).
import { defineConfig, cargo, strip, sign, gpt, kilnBootEsp } from 'kiln';

export default defineConfig({
  name: 'nonos',
  version: '0.1.0',
  arch: 'x86_64',
  // release: refuses the auto-generated dev key (SIGNING_KEY or a key file is required).
  profiles: { debug: {}, release: { release: true } },
  build() {
    // cargo build --release --target x86_64-nonos.json -Zbuild-std=core,alloc
    //   -Zbuild-std-features=compiler-builtins-mem: kiln uses the committed spec and builds core, alloc and
    //   compiler_builtins (mem) into a sysroot with Debian's Rust 1.63 + rust-src (or uses
    //   -Zbuild-std where a nightly with rust-src exists).
    const elf = cargo.bin({
      name: 'kernel',
      path: '.',
      package: 'nonos-kernel',
      // x86_64-nonos.json: no red zone (interrupt handlers), software float (no SSE/MMX in kernel
      // context), abort on panic.
      target: 'x86_64-nonos.json',
      layer: 'kernel',
      linkerScript: 'linker.ld',
      // build.rs runs clang and llvm-ar (the tools kiln found) on pqclean/.
      env: { NONOS_CC: 'clang', NONOS_AR: 'llvm-ar' },
      output: 'kernel.elf',
    });
    // "Size ~221 KB (stripped)": the DWARF goes to kernel.debug (gdb finds it through .gnu_debuglink);
    // the symbol table stays. Stripping happens before signing, so the signature covers the final file.
    const stripped = strip({ name: 'strip', input: elf, mode: 'debug', debugFile: 'kernel.debug', output: 'kernel.stripped.elf' });
    // Manifest + Ed25519 signature over BLAKE3 (signature section excluded), in the NØNOS sections.
    // The manifest records kiln's version and, as the seed asks, the toolchain's: clang builds the
    // C (build.rs), ld.lld links. (rustc is chosen by kiln's cargo step, not from PATH: not listed.)
    // canonicalization 'exclude': the seed's "BLAKE3 hash of kernel binary (excluding signature section)",
    // the signature section's bytes left out of the hash (recorded in the manifest; kiln verify follows it).
    const kernel = sign({
      name: 'sign', input: stripped, sections: 'nonos', canonicalization: 'exclude', project: 'nonos', version: '0.1.0',
      toolchain: ['clang', 'ld.lld'], output: 'kernel.bin',
    });
    const exit = { kind: 'isa-debug-exit', success: 0 } as const;
    // Verified boot: a UEFI disk whose loader (kiln-boot) checks kernel.bin's .nonos.sig with the
    // key sign() used, by the manifest's 'exclude' rule, before it jumps to kernel_main in long mode.
    const verifiedBoot = gpt({
      name: 'verified-boot',
      size: '64M',
      partitions: [kilnBootEsp({ arch: 'x86_64', size: '40M', kernel, verify: { sections: 'nonos' } })],
      output: 'nonos-verified-boot.img',
    });
    const selfTest = ['NONOS: PQClean self-test: sha3-256 ok, shake128 ok, ml-kem ntt ok (result 0x7)', /sha3-256\("NONOS"\) = [0-9a-f]{64}/, 'NONOS: self-test passed'];
    return {
      components: { elf, stripped },
      images: { verifiedBoot },
      steps: { kernel },
      // QEMU -kernel boots the signed ELF64 through its PVH note (.note.Xen, 32-bit entry).
      run: { kernel, symbols: elf, machine: 'pc', exit },
      tests: {
        boot: {
          kernel, machine: 'pc', exit, timeout: 90,
          expect: [/NONOS kernel_main at 0x10[0-9a-f]{4}/, 'NONOS: started through the PVH note', ...selfTest],
        },
        // The same kernel.bin from the verified-boot disk under OVMF.
        verifiedBoot: {
          image: verifiedBoot, firmware: 'uefi', machine: 'q35', exit, timeout: 180,
          expect: [
            /kiln-boot: signature ok \(key [0-9a-f]{16}, Ed25519/,
            /NONOS kernel_main at 0x10[0-9a-f]{4}/, 'NONOS: started by kiln-boot (record v1, signature verified: true)', ...selfTest,
          ],
          fail: ['kiln-boot: REFUSED', 'kiln-boot: ERROR'],
        },
      },
    };
  },
});
