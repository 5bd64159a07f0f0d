// buildQemuCommand is pure: these tests pin the argv for each machine profile and boot medium,
// and check properties over generated machines (no undefined, option values escaped, order).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildQemuCommand,
  escapeOpt,
  gdbInstructions,
  resolveFirmware,
  type ResolvedMachine,
} from '../../src/qemu/index.js';
import { KilnError } from '../../src/errors.js';

function machine(over: Partial<ResolvedMachine> = {}): ResolvedMachine {
  return {
    name: 't',
    arch: 'x86_64',
    qemu: 'qemu-system-x86_64',
    machine: 'q35',
    machineProps: [],
    cpu: undefined,
    accel: 'tcg',
    accelNote: 'accel: tcg (asked for)',
    memory: '512M',
    smp: 1,
    firmware: { kind: 'default', description: 'SeaBIOS' },
    disks: [],
    kernel: undefined,
    devices: [],
    args: [],
    network: false,
    exit: undefined,
    gdb: undefined,
    debug: false,
    testMode: false,
    logDir: '/b/logs',
    serialLog: '/b/logs/serial.log',
    debugLog: undefined,
    qmpSocket: undefined,
    ...over,
  };
}

const kernelInfo = {
  path: '/k.elf',
  arch: 'x86_64' as const,
  protocol: 'pvh' as const,
  description: 'PVH',
  isElf: true,
  elfClass: 64 as const,
  entry: 0x100000,
  bootEntry: 0x100000,
  loadAddress: 0x100000,
};

describe('buildQemuCommand', () => {
  it('x86_64 kernel boot in test mode (ExoV6 style -kernel, serial on stdio)', () => {
    const argv = buildQemuCommand(
      machine({
        kernel: { path: '/k.elf', initrd: '/initrd.cpio', append: 'console=ttyS0 quiet', info: kernelInfo },
        exit: { kind: 'isa-debug-exit', iobase: 0xf4, iosize: 4, successCode: 0 },
        testMode: true,
        qmpSocket: '/b/logs/qmp.sock',
      }),
    );
    expect(argv).toEqual([
      'qemu-system-x86_64',
      '-machine',
      'q35',
      '-accel',
      'tcg',
      '-m',
      '512M',
      '-smp',
      '1',
      '-display',
      'none',
      '-monitor',
      'none',
      '-serial',
      'stdio',
      '-nic',
      'none',
      '-kernel',
      '/k.elf',
      '-initrd',
      '/initrd.cpio',
      '-append',
      'console=ttyS0 quiet',
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x4',
      '-no-reboot',
      '-no-shutdown',
      '-qmp',
      'unix:/b/logs/qmp.sock,server=on,wait=off',
      '-S',
    ]);
  });

  it('aarch64 virt with GICv3, cortex-a57, semihosting, ISO as a virtio-scsi CD-ROM (Kosh style)', () => {
    const argv = buildQemuCommand(
      machine({
        arch: 'aarch64',
        qemu: 'qemu-system-aarch64',
        machine: 'virt',
        machineProps: ['gic-version=3'],
        cpu: 'cortex-a57',
        firmware: { kind: 'bios-file', path: '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd', description: 'UEFI' },
        disks: [{ path: '/kosh.iso', format: 'raw', media: 'cdrom', interface: 'virtio', snapshot: false }],
        exit: { kind: 'semihosting', successCode: 0 },
      }),
    );
    expect(argv.join(' ')).toBe(
      'qemu-system-aarch64 -machine virt,gic-version=3 -cpu cortex-a57 -accel tcg -m 512M -smp 1 -display none -monitor none -serial stdio -nic none ' +
        '-bios /usr/share/qemu-efi-aarch64/QEMU_EFI.fd -device virtio-scsi-pci,id=scsi0 -drive file=/kosh.iso,format=raw,if=none,id=cd0,media=cdrom,readonly=on ' +
        '-device scsi-cd,drive=cd0,bus=scsi0.0 -semihosting-config enable=on,target=native',
    );
  });

  it('raw disk on IDE (Portix style), snapshot in tests, OVMF pflash pair', () => {
    const argv = buildQemuCommand(
      machine({
        firmware: {
          kind: 'pflash',
          code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
          vars: '/b/logs/OVMF_VARS.fd',
          varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
          secureBoot: false,
          description: 'OVMF',
        },
        disks: [
          { path: '/portix.img', format: 'raw', media: 'disk', interface: 'ide', snapshot: true },
          { path: '/d.vdi', format: 'vdi', media: 'disk', interface: 'virtio', snapshot: false },
        ],
      }),
    );
    const s = argv.join(' ');
    expect(s).toContain(
      '-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd -drive if=pflash,format=raw,unit=1,file=/b/logs/OVMF_VARS.fd',
    );
    expect(s).toContain('-drive file=/portix.img,format=raw,snapshot=on,if=ide,index=0,media=disk');
    expect(s).toContain('-drive file=/d.vdi,format=vdi,if=none,id=disk1 -device virtio-blk-pci,drive=disk1');
    expect(s).not.toContain('smm=on');
    expect(s).not.toContain('-no-shutdown');
  });

  it('Secure Boot turns on SMM and secure pflash', () => {
    const argv = buildQemuCommand(
      machine({
        firmware: {
          kind: 'pflash',
          code: '/c.fd',
          vars: '/v.fd',
          varsTemplate: '/t.fd',
          secureBoot: true,
          description: 'OVMF SB',
        },
      }),
    );
    expect(argv.slice(1, 3)).toEqual(['-machine', 'q35,smm=on']);
    expect(argv.join(' ')).toContain('-global driver=cfi.pflash01,property=secure,value=on');
  });

  it('--gdb halts with a stub and --debug logs interrupts beside serial.log; raw args come last', () => {
    const m = machine({
      kernel: { path: '/k.elf', info: kernelInfo },
      gdb: { port: 4321, symbols: '/k.elf' },
      debug: true,
      debugLog: '/b/logs/qemu-debug.log',
      args: ['-d', 'guest_errors'],
      devices: ['virtio-rng-pci'],
    });
    const argv = buildQemuCommand(m);
    const s = argv.join(' ');
    expect(s).toContain(
      '-device virtio-rng-pci -no-reboot -d int,cpu_reset -D /b/logs/qemu-debug.log -S -gdb tcp::4321 -d guest_errors',
    );
    expect(argv.slice(-2)).toEqual(['-d', 'guest_errors']);
    const g = gdbInstructions(m);
    expect(g.argv).toEqual(['gdb', '-q', '/k.elf', '-ex', 'target remote localhost:4321', '-ex', 'break *0x100000']);
    expect(g.notes.join('\n')).toMatch(/loads at 0x100000/);
  });

  it('doubles commas inside file names (QEMU option syntax)', () => {
    expect(escapeOpt('/a,b/c.img')).toBe('/a,,b/c.img');
    const argv = buildQemuCommand(
      machine({ disks: [{ path: '/x,y.img', format: 'raw', media: 'disk', interface: 'ide', snapshot: false }] }),
    );
    expect(argv).toContain('file=/x,,y.img,format=raw,if=ide,index=0,media=disk');
  });

  it('property: argv is strings only, starts with the binary, the same input gives the same argv', () => {
    const arb = fc.record({
      arch: fc.constantFrom('x86_64' as const, 'aarch64' as const),
      memory: fc.integer({ min: 16, max: 8192 }).map((n) => `${n}M`),
      smp: fc.integer({ min: 1, max: 16 }),
      testMode: fc.boolean(),
      debug: fc.boolean(),
      network: fc.boolean(),
      disks: fc.array(
        fc.record({
          path: fc.string({ minLength: 1 }).map((s) => `/${s}`),
          format: fc.constantFrom('raw' as const, 'qcow2' as const, 'vdi' as const, 'vmdk' as const),
          media: fc.constantFrom('disk' as const, 'cdrom' as const),
          interface: fc.constantFrom('ide' as const, 'virtio' as const, 'nvme' as const, 'usb' as const),
          snapshot: fc.boolean(),
        }),
        { maxLength: 4 },
      ),
      args: fc.array(fc.string(), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(arb, (p) => {
        const m = machine({
          ...p,
          qmpSocket: p.testMode ? '/q.sock' : undefined,
          debugLog: p.debug ? '/d.log' : undefined,
        });
        const a = buildQemuCommand(m);
        const b = buildQemuCommand(m);
        expect(a).toEqual(b);
        expect(a[0]).toBe('qemu-system-x86_64');
        for (const x of a) expect(typeof x).toBe('string');
        // Every -drive carries its path with commas doubled, so QEMU cannot read a path as options.
        const drives = a.filter((_, i) => a[i - 1] === '-drive');
        expect(drives.length).toBe(p.disks.length);
        p.disks.forEach((d, i) =>
          expect(drives[i]!.startsWith(`file=${d.path.replace(/,/g, ',,')},format=${d.format}`)).toBe(true),
        );
        expect(a.includes('-no-shutdown')).toBe(p.testMode);
        expect(a.slice(a.length - p.args.length)).toEqual(p.args);
      }),
      { numRuns: 300 },
    );
  });
});

describe('resolveFirmware', () => {
  const all = (paths: string[]) => (p: string) => paths.includes(p);
  it('x86_64 UEFI finds OVMF 4M and copies nothing in noCopy mode', () => {
    const fw = resolveFirmware({
      arch: 'x86_64',
      kind: 'uefi',
      runDir: '/run',
      noCopy: true,
      exists: all(['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd']),
    });
    expect(fw).toMatchObject({
      kind: 'pflash',
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      vars: '/run/OVMF_VARS.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      secureBoot: false,
    });
  });
  it('Secure Boot picks the .secboot code and the .ms variables', () => {
    const fw = resolveFirmware({
      arch: 'x86_64',
      kind: 'uefi',
      secureBoot: true,
      runDir: '/run',
      noCopy: true,
      exists: all(['/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', '/usr/share/OVMF/OVMF_VARS_4M.ms.fd']),
    });
    expect(fw).toMatchObject({
      kind: 'pflash',
      code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
      secureBoot: true,
    });
  });
  it('aarch64 UEFI prefers the AAVMF pflash pair, else -bios QEMU_EFI.fd', () => {
    expect(
      resolveFirmware({
        arch: 'aarch64',
        kind: 'uefi',
        runDir: '/r',
        noCopy: true,
        exists: all(['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd']),
      }),
    ).toMatchObject({ kind: 'pflash', code: '/usr/share/AAVMF/AAVMF_CODE.fd', vars: '/r/AAVMF_VARS.fd' });
    expect(
      resolveFirmware({
        arch: 'aarch64',
        kind: 'uefi',
        runDir: '/r',
        noCopy: true,
        exists: all(['/usr/share/qemu-efi-aarch64/QEMU_EFI.fd']),
      }),
    ).toMatchObject({ kind: 'bios-file', path: '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd' });
  });
  it('missing firmware names the Debian package', () => {
    const err = (() => {
      try {
        resolveFirmware({ arch: 'x86_64', kind: 'uefi', runDir: '/r', noCopy: true, exists: () => false });
      } catch (e) {
        return e;
      }
    })() as KilnError;
    expect(err).toBeInstanceOf(KilnError);
    expect(err.code).toBe('FIRMWARE_NOT_FOUND');
    expect(err.hint).toContain('apt-get install ovmf');
    const a64 = (() => {
      try {
        resolveFirmware({ arch: 'aarch64', kind: 'uefi', runDir: '/r', noCopy: true, exists: () => false });
      } catch (e) {
        return e;
      }
    })() as KilnError;
    expect(a64.hint).toContain('qemu-efi-aarch64');
    const bios = (() => {
      try {
        resolveFirmware({ arch: 'x86_64', kind: 'bios', runDir: '/r', noCopy: true, exists: () => false });
      } catch (e) {
        return e;
      }
    })() as KilnError;
    expect(bios.hint).toContain('apt-get install seabios');
  });
  it('an overridden path must exist; aarch64 has no BIOS', () => {
    expect(() =>
      resolveFirmware({
        arch: 'x86_64',
        kind: 'uefi',
        runDir: '/r',
        paths: { code: '/nope', vars: '/nope2' },
        exists: () => false,
      }),
    ).toThrow(/does not exist/);
    expect(() => resolveFirmware({ arch: 'aarch64', kind: 'bios', runDir: '/r', exists: () => true })).toThrow(
      /no BIOS/,
    );
  });
});
