// Portix with kiln instead of scripts/build.py: NASM two-stage BIOS boot, a Rust kernel with a
// committed x86_64-portix target spec, kernel.bin by objcopy, a fixed-LBA raw disk patched by kiln
// (stage 2 learns the kernel's LBA and size from the layout), a FAT storage partition, and the
// iso / vdi / vmdk / ventoy-sim distribution formats.
import { defineConfig, option, nasm, cargo, objcopy, raw, iso, vdi, vmdk, text, guest } from 'kiln';
import type { RunConfig, StepHandle } from 'kiln';

export default defineConfig({
  name: 'portix',
  arch: 'x86_64',
  profiles: { release: { release: true }, debug: {} },
  options: {
    mode: option.enum(['raw', 'iso', 'vdi', 'vmdk', 'ventoy-sim'], { default: 'raw', help: 'output format' }),
    size: option.size({ default: '8M', min: '8M', help: 'disk image size in MB (at least 8 MB for the kernel and the FAT storage)' }),
    debug: option.bool({ help: 'debug symbols, debug assertions and verbose serial logging' }),
    'kernel-lba': option.int({ default: 65, min: 65, max: 4096, help: 'first sector of the kernel (stage 2 is patched with it)' }),
  },
  build(t) {
    const { mode, size, debug } = t.options;
    const kernelLba = t.options['kernel-lba'];
    const verbose = debug ? 1 : 0;

    // 1. Assembly: stage 1 (exactly 512 bytes), stage 2 (at most 64 sectors), the ISR stubs.
    const boot = nasm.bin({ source: 'boot/boot.asm', exactSize: 512 });
    const stage2 = nasm.bin({ source: 'boot/stage2.asm', maxSize: 64 * 512, defines: { VERBOSE: verbose } });
    const isr = nasm.obj({ source: 'kernel/src/arch/isr.asm', format: 'elf64' });

    // 2. The Rust kernel: no_std, panic=abort, the project's own kernel/x86_64-portix.json as it is
    //    (the seed's: x86_64-unknown-none-elf, no red zone, -mmx,-sse,+soft-float; its rust-lld is
    //    linked as ld.lld where rust-lld is not installed).
    const kernel = cargo.bin({
      name: 'kernel',
      path: 'kernel',
      target: 'kernel/x86_64-portix.json',
      linkerScript: 'kernel/linker.ld',
      objects: [isr],
      features: debug ? ['verbose'] : [],
      rustflags: debug ? ['-C', 'debug-assertions=on'] : [],
      output: 'kernel.elf',
    });

    // 3. Binary extraction (objcopy -O binary).
    const kernelBin = objcopy({ input: kernel, output: 'kernel.bin' });

    // 4. The disk: LBA 0 stage 1, LBA 1-64 stage 2, the kernel from kernel-lba, FAT storage after it.
    //    The FAT partition ends on a 255×63 cylinder boundary: SeaBIOS's El Torito hard-disk
    //    emulation (mode=iso) takes the whole disk's geometry from partition 1's end CHS.
    const cylinder = 255 * 63;
    const storageEnd = Math.floor(size / 512 / cylinder) * cylinder;
    const disk = raw({
      name: 'portix',
      size, minSize: '8M',
      regions: [
        { name: 'stage1', lba: 0, content: boot, exactSize: 512, bootSignature: true },
        { name: 'stage2', lba: 1, content: stage2, maxSectors: 64 },
        { name: 'kernel', lba: kernelLba, minLba: 65, content: kernelBin },
      ],
      patches: [
        { region: 'stage2', at: 4, type: 'u32', value: { lbaOf: 'kernel' } },
        { region: 'stage2', at: 8, type: 'u16', value: { sectorsOf: 'kernel' } },
      ],
      partition: { label: 'PORTIX', startLba: 2048, size: (storageEnd - 2048) * 512, files: { '/README.TXT': text('Portix FAT storage\r\n') } },
      output: 'portix.img',
    });

    // 5. Distribution formats.
    const images: Record<string, StepHandle> = { disk };
    let run: RunConfig = { image: disk };
    if (mode === 'iso') {
      images.iso = iso({ name: 'portix-iso', bios: { emulation: 'hdd', image: disk }, files: { '/README.TXT': text('Portix boots from this CD by hard-disk emulation\r\n') }, hybrid: false, output: 'dist/portix.iso' });
      run = { cdrom: images.iso };
    } else if (mode === 'vdi') {
      images.vdi = vdi(disk, { name: 'portix-vdi', output: 'dist/portix.vdi' });
      run = { image: images.vdi };
    } else if (mode === 'vmdk') {
      images.vmdk = vmdk(disk, { name: 'portix-vmdk', output: 'dist/portix.vmdk' });
      run = { image: images.vmdk };
    } else if (mode === 'ventoy-sim') {
      // The raw image as partition 1 of a larger disk, chainloaded the way Ventoy boots an image.
      const sectors = size / 512;
      const chainloader = nasm.bin({ source: 'boot/ventoy-mbr.asm', exactSize: 512, defines: { IMAGE_LBA: 2048, IMAGE_SECTORS: sectors } });
      images.ventoy = raw({
        name: 'portix-ventoy',
        size: 2048 * 512 + size + (1 << 20),
        regions: [
          { name: 'mbr', lba: 0, content: chainloader, exactSize: 512, bootSignature: true },
          { name: 'image', lba: 2048, content: disk },
        ],
        output: 'dist/portix-ventoy.img',
      });
      run = { image: images.ventoy };
    }

    // The seed's build/ layout: the stages, the kernel and the disk at the top, the converted
    // images under dist/ (kiln keeps the originals in build/x86_64-<profile>/).
    const artifacts: Record<string, StepHandle> = { 'boot.bin': boot, 'stage2.bin': stage2, 'isr.o': isr, 'kernel.bin': kernelBin, 'portix.img': disk };
    if (images.iso) artifacts['dist/portix.iso'] = images.iso;
    if (images.vdi) artifacts['dist/portix.vdi'] = images.vdi;
    if (images.vmdk) artifacts['dist/portix.vmdk'] = images.vmdk;
    if (images.ventoy) artifacts['dist/portix-ventoy.img'] = images.ventoy;

    const expectBoot = ['Portix stage2: loading kernel', 'Portix kernel: long mode', 'timer ticks: 10', 'timer ticks: 20', 'Portix: timer OK'];
    return {
      components: { boot, stage2, isr, kernel, kernelBin },
      images,
      artifacts,
      // --debug: QEMU's debug log (interrupts, CPU resets) in build/logs/debug.log, as the seed's.
      run: { ...run, exit: { kind: 'isa-debug-exit', success: 0 }, machine: 'pc', ...(debug ? { debugLog: 'build/logs/debug.log' } : {}) },
      tests: {
        boot: { expect: debug ? [...expectBoot.slice(0, 2), '[debug] IDT at', ...expectBoot.slice(2)] : expectBoot, timeout: 90 },
        // The shell: a key typed during the timer test opens it; then a command, its answer, a
        // counter captured and reused, Ctrl-C, and a clean exit through isa-debug-exit.
        shell: {
          timeout: 90,
          stepTimeout: 20,
          script: [
            guest.expect('Portix kernel: long mode', { timeout: 60 }),
            guest.send('\r'),
            guest.expect('portix> '),
            guest.send('echo hello from kiln\n'), guest.expect(/^hello from kiln\r?$/m), guest.expect('portix> '),
            guest.send('ticks\n'), guest.capture(/ticks: (\d+)\r?\n/, 'ticks'), guest.expect('portix> '),
            guest.send('echo half a line'), guest.key('ctrl-c'), guest.expect('^C'), guest.expect('portix> '),
            guest.send((v) => `echo was ${v.ticks}\n`), guest.expect(/^was \d+\r?$/m),
            guest.send('exit\n'), guest.expect('Portix: shutting down'),
          ],
        },
      },
    };
  },
});
