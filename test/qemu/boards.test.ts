// Machine profiles as data: each known board's CPU, memory, SMP, PCI, serial-port and exit checks
// (resolveMachine without starting QEMU), the judged serial port's argv, unknown machines left to the
// user's flags, and a real boot where every expectation matched but the guest never exited.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BOARDS,
  buildQemuCommand,
  resolveMachine,
  runTests,
  serialArgs,
  type MachineSpec,
} from '../../src/qemu/index.js';
import { KilnError } from '../../src/errors.js';
import { tempDir, tool } from '../_helpers.js';
import { buildA64Kernel } from './_kernels.js';

const dir = tempDir('kiln-boards-');
let kernel = '';
beforeAll(() => {
  kernel = buildA64Kernel(join(dir, 'k'), 'hang');
}, 120_000);

async function argvOf(spec: MachineSpec): Promise<string[]> {
  return buildQemuCommand(
    await resolveMachine(
      { arch: 'aarch64', kernel, accel: 'tcg', logDir: join(dir, 'logs'), ...spec },
      { dryRun: true },
    ),
  );
}
async function refusal(spec: MachineSpec): Promise<KilnError> {
  try {
    await argvOf(spec);
  } catch (error) {
    expect(error).toBeInstanceOf(KilnError);
    return error as KilnError;
  }
  throw new Error('expected a KilnError');
}
const after = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

describe('board profiles', () => {
  it('raspi3b: no -cpu, 1 GiB and 4 CPUs by default, serial exit', async () => {
    const argv = await argvOf({ machine: 'raspi3b' });
    expect(argv).not.toContain('-cpu');
    expect(after(argv, '-m')).toBe('1024M');
    expect(after(argv, '-smp')).toBe('4');
    expect(argv).not.toContain('-semihosting-config');
    expect(BOARDS.raspi3b!.pci).toBe(false);
  });

  it('raspi3b: memory, smp and cpu the board cannot have are refused naming the board and what it takes', async () => {
    const mem = await refusal({ machine: 'raspi3b', memory: '512M' });
    expect(mem.code).toBe('QEMU_BOARD_MEMORY');
    expect(mem.message).toBe('machine raspi3b: has exactly 1G of RAM; memory 512M was asked for');
    expect(mem.hint).toMatch(/remove memory/);
    const smp = await refusal({ machine: 'raspi3b', smp: 1 });
    expect(smp.code).toBe('QEMU_BOARD_SMP');
    expect(smp.message).toBe('machine raspi3b: has exactly 4 CPUs; smp 1 was asked for');
    const cpu = await refusal({ machine: 'raspi3b', cpu: 'cortex-a57' });
    expect(cpu.code).toBe('QEMU_BOARD_CPU');
    expect(cpu.message).toMatch(/has cortex-a53 CPUs whatever -cpu says/);
    // The CPU it has anyway is accepted (and passed, since the user asked).
    expect(await argvOf({ machine: 'raspi3b', cpu: 'cortex-a53' })).toContain('cortex-a53');
  });

  it('raspi3b: PCI devices, NICs and PSCI are refused (no PCI bus, no PSCI)', async () => {
    expect((await refusal({ machine: 'raspi3b', devices: ['virtio-rng-pci'] })).message).toMatch(
      /has no PCI bus, so device virtio-rng-pci cannot be plugged in/,
    );
    expect((await refusal({ machine: 'raspi3b', network: true })).code).toBe('QEMU_BOARD_NO_PCI');
    expect((await refusal({ machine: 'raspi3b', exit: { kind: 'psci' } })).code).toBe('QEMU_BOARD_EXIT');
    expect((await refusal({ machine: 'raspi3b', disks: [{ path: kernel, interface: 'virtio' }] })).message).toMatch(
      /cannot attach a virtio drive \(it has no PCI bus\)/,
    );
  });

  it('raspi3ap: 512 MiB exactly; xlnx-zcu102: 1 to 6 CPUs, an audio backend so QEMU does not hunt for one', async () => {
    expect(after(await argvOf({ machine: 'raspi3ap' }), '-m')).toBe('512M');
    expect((await refusal({ machine: 'raspi3ap', memory: '1G' })).message).toBe(
      'machine raspi3ap: has exactly 512M of RAM; memory 1G was asked for',
    );
    const zcu = await argvOf({ machine: 'xlnx-zcu102', smp: 6 });
    expect(zcu).toContain('-audiodev');
    expect(after(zcu, '-smp')).toBe('6');
    expect((await refusal({ machine: 'xlnx-zcu102', smp: 7 })).message).toBe(
      'machine xlnx-zcu102: has 1 to 6 CPUs; smp 7 was asked for',
    );
  });

  it('virt keeps cortex-a57 and GICv3; a board of another arch is refused', async () => {
    const argv = await argvOf({});
    expect(after(argv, '-machine')).toBe('virt,gic-version=3');
    expect(after(argv, '-cpu')).toBe('cortex-a57');
    const wrong = await refusal({ machine: 'q35' });
    expect(wrong.code).toBe('QEMU_BOARD_ARCH');
    expect(wrong.message).toBe('machine q35: is an x86_64/i386 board; the target is aarch64');
  });

  it("an unknown machine gets only the user's flags: no -cpu unless asked", async () => {
    const argv = await argvOf({ machine: 'sbsa-ref', smp: 2 });
    expect(after(argv, '-machine')).toBe('sbsa-ref');
    expect(argv).not.toContain('-cpu');
    expect(after(await argvOf({ machine: 'sbsa-ref', cpu: 'neoverse-n1' }), '-cpu')).toBe('neoverse-n1');
  });
});

describe('the judged serial port', () => {
  it('port 1 on stdio, port 0 logged to its own file; the ports are checked against the board', async () => {
    const argv = await argvOf({ machine: 'raspi3b', serial: { port: 1, log: [0] } });
    const serials = argv.flatMap((a, i) => (a === '-serial' ? [argv[i + 1]] : []));
    expect(serials).toEqual([`file:${join(dir, 'logs', 'serial0.log')}`, 'stdio']);
    expect(serialArgs({ serial: { port: 2, files: [] } })).toEqual([
      '-serial',
      'null',
      '-serial',
      'null',
      '-serial',
      'stdio',
    ]);
    expect(serialArgs({})).toEqual(['-serial', 'stdio']);
    const bad = await refusal({ machine: 'raspi3b', serial: { port: 2 } });
    expect(bad.code).toBe('QEMU_BAD_SERIAL_PORT');
    expect(bad.message).toMatch(
      /machine raspi3b has serial ports 0 to 1 \(0 = PL011 UART0 \(0x3f201000\), 1 = mini UART/,
    );
  });
});

describe('a test that matched everything but never exited', () => {
  it('names the exit kind it waited for and suggests serial', async () => {
    const { results } = await runTests(
      [
        {
          name: 'no-exit',
          arch: 'aarch64',
          kernel,
          accel: 'tcg',
          expect: ['kiln test kernel aarch64'],
          timeout: 8,
          logDir: join(dir, 'logs', 'no-exit'),
        },
      ],
      { jobs: 1 },
    );
    const r = results[0]!;
    expect(r.failure).toBe('timeout');
    expect(r.reason).toMatch(
      /every expectation matched, but the guest never exited: kiln waited for a semihosting SYS_EXIT \(exit kind semihosting\)/,
    );
    expect(r.reason).toMatch(/exit: \{ kind: 'serial' \}/);
  }, 120_000);
});

describe('xlnx-zcu102 boots', () => {
  it('a kernel printing on the Cadence UART0 passes with the board defaults (serial exit, no -cpu)', async () => {
    const src = join(dir, 'zcu.S');
    writeFileSync(
      src,
      `.global _start
_start:
    mrs x0, mpidr_el1
    and x0, x0, #3
    cbnz x0, 3f
    ldr x1, =0xff000000      // Cadence UART0: CR = TXEN | RXEN
    mov w2, #0x14
    str w2, [x1]
    adr x3, msg
1:  ldrb w4, [x3], #1
    cbz w4, 3f
2:  ldr w5, [x1, #0x2c]      // SR bit 4: TX FIFO full
    tbnz w5, #4, 2b
    str w4, [x1, #0x30]      // TX/RX FIFO
    b 1b
3:  wfe
    b 3b
msg: .asciz "kiln on xlnx-zcu102: Cadence UART0\\r\\n"
`,
    );
    expect(tool(['clang', '--target=aarch64-unknown-none-elf', '-c', src, '-o', join(dir, 'zcu.o')]).status).toBe(0);
    expect(
      tool(['ld.lld', '-Ttext=0x100000', '-e', '_start', '-o', join(dir, 'zcu.elf'), join(dir, 'zcu.o')]).status,
    ).toBe(0);
    const { results } = await runTests(
      [
        {
          name: 'zcu102',
          arch: 'aarch64',
          machine: 'xlnx-zcu102',
          kernel: join(dir, 'zcu.elf'),
          accel: 'tcg',
          expect: ['kiln on xlnx-zcu102: Cadence UART0'],
          timeout: 60,
          logDir: join(dir, 'logs', 'zcu'),
        },
      ],
      { jobs: 1 },
    );
    const r = results[0]!;
    expect(r.status, r.reason).toBe('passed');
    expect(r.argv.join(' ')).toMatch(/-machine xlnx-zcu102 -accel tcg -m 512M -smp 1 /);
    expect(r.argv).not.toContain('-cpu');
    expect(r.argv).toContain('-audiodev');
  }, 120_000);
});
