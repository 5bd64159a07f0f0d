// KOZO with kiln instead of build.zig + cargo + scripts, in the seed's order:
//   1. ABI generation: abi/kozo.abi.toml → kozo_abi.h / kozo_abi.rs / kozo_abi.zig (one hash)
//   2. Rust services (Layer 1): no_std, panic=abort, thin LTO, stack protector, for a target spec
//      kiln generates (sysroot route), each carrying the ABI hash in a .kozo.abi section
//   3. Zig microkernel (Layer 0): ReleaseSafe, no FPU, stack probes, x86_64 + aarch64 assembly
//   4. Image assembly: CPIO initrd, stripped + signed kernel, UEFI GPT disk (GRUB EFI on the ESP)
// Hardening (§3) is the profile policy below, checked after linking by audit() steps.
import { defineConfig, abi, cargo, cc, zig, strip, sign, audit, cpio, gpt, grubEsp, kilnBootAbi, kilnBootEsp } from 'kiln';
import type { PolicySet, RunConfig, StepHandle, TestConfig } from 'kiln';

/** KOZO §3 "Security-Hardened Build Flags", as kiln's per-layer policy (release profile). */
const hardened: PolicySet = {
  // Kernel | Zig | ReleaseSafe | runtime bounds checks, no-FPU, stack probes (+ §4: higher-half code model)
  kernel: { optimize: 'safe', fpu: false, redZone: false, stackProbes: true, codeModel: 'kernel', debugInfo: true },
  // Services | Rust | release | LTO (thin), panic=abort, stack protection
  services: { optimize: 'fast', lto: 'thin', panic: 'abort', stackProtector: true, debugInfo: true },
  // Common | ASM | NX stack, PIE
  asm: { nxStack: true, pie: true },
};

const SERVICES = ['init', 'logger'] as const;

export default defineConfig({
  name: 'kozo',
  version: '0.0.1-dev',
  arch: ['x86_64', 'aarch64'],
  profiles: {
    release: { release: true, policy: hardened },
    debug: { policy: { ...hardened, kernel: { ...hardened.kernel, optimize: 'debug' }, services: { ...hardened.services, optimize: 'debug', lto: false } } },
  },
  build(t) {
    const { arch } = t;

    // 1. ABI generation. Every consumer takes the generated file as an artifact, so the ABI comes
    //    first and an unchanged schema rebuilds nothing. The graph orders by data, not as the
    //    seed's strictly linear chain: the kernel needs the ABI and boot.o, not the services, so on
    //    x86_64 it builds alongside them; the image waits for both.
    //    abi.lock.json is the released ABI: `kiln abi check abi/kozo.abi.toml` fails on drift.
    const kozoAbi = abi({ schema: 'abi/kozo.abi.toml', lock: 'abi/abi.lock.json', langs: ['c', 'rust', 'zig'] });

    // 2. Rust services: one static ELF per service for `<arch>-kozo-svc` (target JSON generated
    //    by kiln from the policy; core/alloc from the sysroot kiln builds with Debian's rust-src).
    const services: Record<string, StepHandle> = {};
    const stripped: Record<string, StepHandle> = {};
    const audits: Record<string, StepHandle> = {};
    for (const name of SERVICES) {
      services[name] = cargo.bin({
        name: `svc-${name}`,
        path: 'services',
        package: name,
        layer: 'services',
        target: { name: `${arch}-kozo-svc` },
        std: 'sysroot',
        linkerScript: 'services/link.ld',
        // Small binaries: 4 KiB segment alignment (ld.lld's aarch64 default is 64 KiB).
        rustflags: ['-C', 'link-arg=-zmax-page-size=4096'],
        env: { KOZO_ABI_RS: kozoAbi.output('abi/kozo_abi.rs') },
        output: `services/${name}.elf`,
      });
      // The image gets stripped services; the DWARF stays in build/<target>/debug/.
      stripped[name] = strip({ name: `strip-${name}`, input: services[name], output: `initrd/${name}`, debugFile: `debug/${name}.debug` });
      // Services row of §3, as audit rules (static, so PIE/RELRO do not apply; W^X and NX do).
      audits[`audit-${name}`] = audit({
        name: `audit-${name}`,
        input: services[name],
        layer: 'services',
        policy: { wxorx: true, nxStack: true, pie: 'any', stackProtector: true, panicAbort: true, entryInSegment: true },
      });
    }

    // 4a. The initrd (before the kernel: aarch64 links it into the kernel image).
    const initrd = cpio({ name: 'initrd', files: Object.fromEntries(SERVICES.map((n) => [`/${n}`, stripped[n]!])), output: 'kozo-initrd.cpio' });

    // 3. The Zig microkernel with its architecture's assembly (clang through cc.obj, asm layer).
    const objects: StepHandle[] = [cc.obj({ name: 'boot', sources: [`kernel/arch/${arch}/boot.S`], layer: 'asm', output: 'kernel/boot.o' })];
    if (arch === 'aarch64') {
      // QEMU's -kernel with an ELF does not load an -initrd for a non-Linux image: link it in.
      objects.push(cc.obj({ name: 'initrd-blob', sources: ['kernel/arch/aarch64/initrd.S'], include: [initrd], layer: 'asm', output: 'kernel/initrd.o' }));
    }
    const bootAbi = kilnBootAbi({ langs: ['zig'] });
    const kernel = zig.exe({
      name: 'kernel',
      root: 'kernel/main.zig',
      layer: 'kernel',
      // CPU: baseline (generic ARMv8-A on aarch64, §4 "V8A"). Not cortex_a57: its crypto feature
      // depends on NEON, and Zig re-adds NEON behind the policy's -fp_armv8-neon.
      linkerScript: `kernel/arch/${arch}/linker.ld`,
      objects,
      // kiln_boot_abi: the record kiln-boot hands over (kernel/kilnboot.zig reads it).
      modules: { kozo_abi: kozoAbi.output('abi/kozo_abi.zig'), kiln_boot_abi: bootAbi.output('abi/kiln_boot_abi.zig') },
      output: 'kernel/kozo.elf',
    });

    // 4b. Production kernel: stripped (DWARF kept in kozo.debug, found by gdb via .gnu_debuglink),
    //     then signed (manifest with the initrd members' BLAKE3 + Ed25519 signature).
    const kernelStripped = strip({ name: 'kernel-strip', input: kernel, output: 'kozo.stripped.elf', debugFile: 'kozo.debug' });
    const signed = sign({ name: 'kernel-sign', input: kernelStripped, initrd, version: '0.0.1-dev', output: 'kozo.elf' });
    // Kernel + ASM rows of §3 and §5's "stripped, DWARF kept" as audit rules on the image's kernel
    // (no-FPU is enforced by the policy's codegen flags; the audit reports it as far as the ELF shows).
    audits['audit-kernel'] = audit({
      name: 'audit-kernel',
      input: signed,
      layer: 'kernel',
      policy: { wxorx: true, nxStack: true, entryInSegment: true, stripped: true, debugInfo: 'separate', requireSignature: true, noFpu: true },
    });

    const images: Record<string, StepHandle> = { initrd };
    const steps: Record<string, StepHandle> = { ...audits };
    let run: RunConfig;
    if (arch === 'x86_64') {
      // 4c. UEFI GPT disk: ESP with GRUB's x86_64-efi as \EFI\BOOT\BOOTX64.EFI, the multiboot2
      //     kernel and the initrd as a module2.
      images.disk = gpt({
        name: 'disk',
        size: '64M',
        partitions: [grubEsp({ size: '40M', title: 'KOZO', kernel: { file: signed, name: 'kozo.elf' }, modules: [{ file: initrd, name: 'initrd.cpio', args: 'initrd' }], cmdline: 'kozo.console=com1' })],
        output: 'kozo.img',
      });
      // §5 unit tests: the CNode logic (and the CPIO/ELF readers) under `zig test` on the host.
      steps.unitTests = zig.test({ name: 'kernel-unit-tests', root: 'kernel/tests.zig', modules: { kozo_abi: kozoAbi.output('abi/kozo_abi.zig') } });
      // §4: the kernel enables PAE + NX itself and reports pae/nx/x2apic from CPUID (QEMU 7.2's
      // TCG offers no x2APIC on any CPU model; -cpu host under KVM would).
      run = { image: images.disk, firmware: 'uefi', machine: 'q35', exit: { kind: 'isa-debug-exit', success: 0 }, timeout: 120 };
    } else {
      // §4: virt with a GICv3 (gic-version=3), a v8-A cortex-a57.
      run = { kernel: signed, machine: 'virt,gic-version=3', cpu: 'cortex-a57', exit: { kind: 'semihosting', success: 0 }, timeout: 60 };
    }

    // 4d. The same signed kernel and initrd through kiln-boot, kiln's UEFI loader, which checks the
    //     kernel's signature (the key sign() used) and the initrd's hashes before it starts it. The
    //     kernel's kiln-boot note names its 64-bit entry (GRUB keeps using the multiboot2 one).
    images.kilnBoot = gpt({
      name: 'kiln-boot-disk',
      size: '64M',
      partitions: [kilnBootEsp({ arch, size: '40M', kernel: signed, initrd, cmdline: 'kozo.console=kiln-boot', verify: {} })],
      output: 'kozo-kiln-boot.img',
    });

    const boot: TestConfig = {
      ...run,
      expect: [
        /KOZO microkernel \(Zig [0-9.]+, (x86_64|aarch64), (ReleaseSafe|Debug)\)/,
        // §4 aarch64: GICv3 distributor + redistributor brought up, a timer interrupt taken through it.
        ...(arch === 'aarch64' ? [/gic: GICv3 distributor at 0x8000000, \d+ interrupt lines/, /gic: timer interrupt 30 taken through the GIC/] : []),
        /abi: kozo 0\.1\.0 hash [0-9a-f]{64}/,
        /service init: \d+ bytes, abi [0-9a-f]{16} ok/,
        /service logger: \d+ bytes, abi [0-9a-f]{16} ok/,
        'abi: hash matches all services',
        /cnode: self-test passed \(\d+ checks\)/,
        'KOZO: all checks passed, exiting',
      ],
      fail: ['KOZO panic', 'MISMATCH', 'FAILED'],
    };
    const kilnBootRun: RunConfig = arch === 'x86_64'
      ? { image: images.kilnBoot, firmware: 'uefi', machine: 'q35', exit: { kind: 'isa-debug-exit', success: 0 }, timeout: 180 }
      : { image: images.kilnBoot, firmware: 'uefi', machine: 'virt,gic-version=3', cpu: 'cortex-a57', exit: { kind: 'semihosting', success: 0 }, timeout: 240 };
    const kilnBoot: TestConfig = {
      ...kilnBootRun,
      expect: [
        /kiln-boot: entry 0x[0-9a-f]+ from the kiln-boot note/,
        /kiln-boot: signature ok \(key [0-9a-f]{16}, Ed25519/,
        'kiln-boot: initrd hashes ok (2 members)',
        /boot: kiln-boot record v1, \d+ memory regions, verified=true initrd_verified=true/,
        'cmdline: kozo.console=kiln-boot',
        ...(arch === 'aarch64' ? [/gic: timer interrupt 30 taken through the GIC/] : []),
        'abi: hash matches all services',
        'KOZO: all checks passed, exiting',
      ],
      fail: ['KOZO panic', 'MISMATCH', 'FAILED', 'kiln-boot: REFUSED', 'kiln-boot: ERROR'],
    };
    return {
      components: { ...services, kernel },
      images,
      steps: { abi: kozoAbi, kernelStripped, signed, ...steps },
      run,
      tests: { boot, kilnBoot },
    };
  },
});
