// Kosh with kiln instead of scripts/build.sh + scripts/build-iso.sh: one Cargo workspace; the kernel
// and the userspace services built per package for the project's own target specs x86_64-kosh.json
// / aarch64-kosh.json (core + alloc from kiln's sysroot route: the build-std equivalent on Debian's
// Rust 1.63; rust-toolchain.toml's nightly is used when it has rust-src and accepts the spec);
// the drivers built for the standard (host) target as static libraries; a GRUB ISO (multiboot2
// kernel + the services as modules) for x86_64; for aarch64 a UEFI ISO whose El Torito image holds
// kiln-boot, the kernel and the services as a CPIO initrd (AAVMF), and the kernel booted with -kernel.
import { defineConfig, option, nasm, cargo, grubIso, command, guest, cpio, iso, kilnBootFiles } from 'kiln';
import type { StepHandle, Project } from 'kiln';

export default defineConfig({
  name: 'kosh',
  arch: ['x86_64', 'aarch64'],
  profiles: { debug: {}, release: { release: true } },
  options: {
    'unit-tests': option.bool({ help: 'also run `cargo test --workspace` (host, rustup toolchain) as a build step' }),
  },
  build(t) {
    const x86 = t.arch === 'x86_64';
    // The seed's committed target specs, one per arch (the kernel and the services share it and its sysroot).
    const target = x86 ? 'x86_64-kosh.json' : 'aarch64-kosh.json';

    // Kernel: cargo build --package kosh-kernel --target <arch>-kosh.json -Z build-std=core,alloc
    const entry = x86 ? nasm.obj({ name: 'kernel-entry', source: 'kernel/src/arch/boot.asm', format: 'elf64' }) : undefined;
    const kernel = cargo.bin({
      name: 'kernel',
      path: '.',
      package: 'kosh-kernel',
      target,
      std: 'sysroot',
      layer: 'kernel',
      linkerScript: x86 ? 'kernel/x86_64.ld' : 'kernel/aarch64.ld',
      ...(entry ? { objects: [entry] } : {}),
      output: 'kosh-kernel.elf',
    });

    // Userspace services: the same target, the services layer (stack protector, LTO in release).
    const services: Record<string, StepHandle> = {};
    for (const pkg of ['kosh-init', 'kosh-fs-service', 'kosh-driver-manager']) {
      services[pkg] = cargo.bin({ name: pkg, path: '.', package: pkg, target, std: 'sysroot', layer: 'services', linkerScript: 'userspace/user.ld', output: `${pkg}.elf` });
    }

    // Drivers (standard target): cargo build --package kosh-<class>-driver --release
    const drivers: Record<string, StepHandle> = {};
    for (const d of ['storage', 'network', 'graphics']) {
      drivers[`kosh-${d}-driver`] = cargo.lib({ name: `kosh-${d}-driver`, path: '.', package: `kosh-${d}-driver`, target: 'host', layer: 'services', output: `libkosh_${d}_driver.a` });
    }

    const project: Project = {
      components: { kernel, ...(entry ? { entry } : {}), ...services, ...drivers },
      steps: {},
    };
    if (t.options['unit-tests']) {
      // cargo test --workspace: host unit tests (std), run with rustup's cargo on the host target.
      project.steps!.unitTests = command({
        name: 'unit-tests',
        // The report file is the step's output; cargo's exit code is the step's result.
        // The kernel's tests boot in QEMU (cargo test --target x86_64-kosh.json through kiln runner), not on the host.
        argv: ['cargo', 'test', '--workspace', '--exclude', 'kosh-kernel', '--offline', '--target-dir', 'target/host-tests'],
        inputs: ['**/*.{rs,toml,lock}'],
        outputs: ['unit-tests.txt'],
        stdout: 'unit-tests.txt',
        timeout: 600,
      });
    }

    if (x86) {
      // build-iso.sh: GRUB (BIOS + UEFI hybrid) loading the multiboot2 kernel and the services as modules.
      const iso = grubIso({
        name: 'kosh-iso', kernel, output: 'kosh.iso',
        modules: Object.values(services),
        // The multiboot2 module string the kernel lists each service by.
        moduleArgs: Object.keys(services).map((pkg) => `${pkg} role=${pkg === 'kosh-init' ? 'init' : 'service'}`),
      });
      project.images = { iso };
      project.run = { cdrom: iso, firmware: 'bios', exit: { kind: 'isa-debug-exit', success: 0 } };
      project.tests = {
        boot: {
          cdrom: iso, firmware: 'bios', exit: { kind: 'isa-debug-exit', success: 0 }, timeout: 120,
          expect: [
            'kosh: kernel started on x86_64',
            'kosh: 3 boot module(s)',
            /module 0: kosh-init role=init \(\d+ bytes\) ELF64 x86_64 entry 0x4/,
            "service 'init'",
            /module 1: kosh-fs-service role=service/,
            "service 'fs-service'",
            /module 2: kosh-driver-manager role=service/,
            "service 'driver-manager'",
            'kosh: 3 service(s) ready to start',
            'kosh: ipc ping-pong ok: 8 round trips',
            'kosh: capability check ok: send with a RECV-only capability -> Denied',
            'kosh: all self-tests passed',
          ],
        },
        // The same hybrid ISO through GRUB's x86_64-efi image under OVMF (the seed's "UEFI boot support").
        'boot-uefi': {
          cdrom: iso, firmware: 'uefi', exit: { kind: 'isa-debug-exit', success: 0 }, timeout: 180,
          expect: ['kosh: kernel started on x86_64', 'kosh: 3 boot module(s)', 'kosh: 3 service(s) ready to start', 'kosh: all self-tests passed'],
        },
      };
    } else {
      // qemu-system-aarch64 -M virt -cpu cortex-a57 -cdrom kosh.iso: no arm64 GRUB here, so the ISO's
      // UEFI boot image holds kiln-boot (kiln's own loader), which hands the kernel the services as
      // the modules of a CPIO initrd. -kernel stays the quick route.
      const initrd = cpio({ name: 'services-initrd', files: Object.fromEntries(Object.entries(services).map(([pkg, s]) => [`/${pkg}`, s])), output: 'kosh-services.cpio' });
      const cd = iso({ name: 'kosh-iso', volumeId: 'KOSH', uefi: { size: '16M', files: kilnBootFiles({ arch: 'aarch64', kernel, initrd }) }, output: 'kosh.iso' });
      project.images = { iso: cd };
      project.run = { kernel, machine: 'virt', cpu: 'cortex-a57', exit: { kind: 'semihosting' } };
      project.tests = {
        'boot-uefi': {
          cdrom: cd, firmware: 'uefi', machine: 'virt', cpu: 'cortex-a57', exit: { kind: 'semihosting' }, timeout: 240,
          expect: [
            'kiln-boot: initrd /initrd.cpio', 'kosh: kernel started on aarch64 (kiln-boot', 'kosh: 3 boot module(s)',
            /module \d: kosh-init \(\d+ bytes\) ELF64 aarch64 entry 0x/, 'kosh: 3 service(s) ready to start', 'kosh: all self-tests passed',
          ],
          fail: ['kiln-boot: ERROR', 'KERNEL PANIC'],
        },
        boot: {
          kernel, machine: 'virt', cpu: 'cortex-a57', exit: { kind: 'semihosting' }, timeout: 120,
          expect: ['kosh: kernel started on aarch64', 'kosh: 0 boot module(s)', 'kosh: ipc ping-pong ok: 8 round trips', 'kosh: capability check ok: send with a RECV-only capability -> Denied', 'kosh: all self-tests passed'],
        },
        // The kernel's shell (kernel/src/shell.rs), driven by a console script. The first key is
        // typed ahead (sent before the VM runs, so it waits in the PL011 when the self-tests end).
        shell: {
          kernel, machine: 'virt', cpu: 'cortex-a57', exit: { kind: 'semihosting' }, timeout: 120, stepTimeout: 30,
          script: [
            guest.send('\r'),
            guest.expect('kosh: all self-tests passed', { timeout: 90 }), guest.expect('kosh> '),
            guest.send('echo hello kosh\r'), guest.expect(/^hello kosh\r?$/m), guest.expect('kosh> '),
            guest.send('ping 5\r'), guest.capture(/ping-pong ok: 5 round trips, \d+ context switches, checksum (\d+)/, 'checksum'), guest.expect('ping: 0 failure(s)'),
            guest.send((v) => `echo checksum was ${v.checksum}\r`), guest.expect(/^checksum was 55\r?$/m),
            guest.send('caps\r'), guest.expect('caps: 0 failure(s)'),
            guest.send('ping x\r'), guest.expect('ping: expected a number of round trips 1-1000'),
            guest.send('exit\r'), guest.expect('kosh: shutting down'),
          ],
        },
      };
    }
    return project;
  },
});
