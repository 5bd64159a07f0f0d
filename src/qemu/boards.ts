/**
 * Machine profiles as data: what each QEMU 7.2 board needs and has (hw/arm/raspi.c,
 * hw/arm/xlnx-zcu102.c, hw/arm/virt.c, hw/i386/pc_q35.c / pc_piix.c; constraints measured with
 * `qemu-system-aarch64 -M <board> -smp N -m SIZE`, see ENVIRONMENT.md). A profile carries the CPU
 * QEMU uses (and whether `-cpu` can change it), memory and SMP limits, whether the board has PCI,
 * which controllers its disks can use, its serial ports in QEMU's `-serial` order, and the exit
 * kinds a guest can use on it. `checkBoard` checks a user's choices against the profile before
 * QEMU starts; an unknown machine has no profile and gets the user's flags as they are.
 */
import { KilnError } from '../errors.js';
import type { ExitSpec, QemuArch } from './types.js';

export type ExitKind = ExitSpec['kind'];

/**
 * What kiln knows about a QEMU board: the arches it boots, its CPU, memory and CPU-count limits, buses, serial
 * ports and default exit.
 */
export interface BoardProfile {
  /** QEMU machine name (`-M`). */
  readonly name: string;
  /** Arches it boots (q35/pc: x86_64 and i386). */
  readonly arches: readonly QemuArch[];
  readonly description: string;
  /** Machine properties added unless the user sets the same property. */
  readonly props: readonly string[];
  /**
   * `default`: the `-cpu` kiln passes when the user gives none (undefined: no `-cpu`, QEMU's own);
   * `fixed`: the board's CPUs are this model whatever `-cpu` says, so another model is refused.
   */
  readonly cpu: { readonly default?: string; readonly fixed?: string };
  /** Memory in MiB: `exact` = the only size QEMU accepts. */
  readonly memory: { readonly default: number; readonly exact?: boolean; readonly min?: number; readonly max?: number };
  readonly smp: { readonly default: number; readonly min: number; readonly max: number };
  /** Has a PCI bus (virtio-*-pci, nvme, qemu-xhci, PCI NICs). */
  readonly pci: boolean;
  /** Disk controllers the board has, the first the default (undefined: none kiln can attach yet). */
  readonly diskInterfaces: readonly string[];
  /** Serial ports in `-serial` order: index 0 is QEMU's first `-serial`. */
  readonly serialPorts: readonly string[];
  readonly defaultExit: ExitKind;
  readonly exits: readonly ExitKind[];
  /** QEMU arguments the board always needs (before the user's). */
  readonly args: readonly string[];
}

const X86_EXITS: readonly ExitKind[] = ['isa-debug-exit', 'serial'];

/**
 * The boards kiln knows, by QEMU machine name.
 * @example BOARDS.raspi3b.smp // { default: 4, min: 4, max: 4 }
 */
export const BOARDS: Readonly<Record<string, BoardProfile>> = {
  q35: {
    name: 'q35',
    arches: ['x86_64', 'i386'],
    description: 'PC with Q35 chipset (PCIe, AHCI)',
    props: [],
    cpu: {},
    memory: { default: 512, min: 16 },
    smp: { default: 1, min: 1, max: 255 },
    pci: true,
    diskInterfaces: ['ide', 'virtio', 'nvme', 'usb'],
    serialPorts: ['COM1 (0x3f8)', 'COM2 (0x2f8)', 'COM3 (0x3e8)', 'COM4 (0x2e8)'],
    defaultExit: 'isa-debug-exit',
    exits: X86_EXITS,
    args: [],
  },
  pc: {
    name: 'pc',
    arches: ['x86_64', 'i386'],
    description: 'PC with i440FX + PIIX (legacy IDE, ISA)',
    props: [],
    cpu: {},
    memory: { default: 512, min: 16 },
    smp: { default: 1, min: 1, max: 255 },
    pci: true,
    diskInterfaces: ['ide', 'virtio', 'nvme', 'usb', 'floppy'],
    serialPorts: ['COM1 (0x3f8)', 'COM2 (0x2f8)', 'COM3 (0x3e8)', 'COM4 (0x2e8)'],
    defaultExit: 'isa-debug-exit',
    exits: X86_EXITS,
    args: [],
  },
  virt: {
    name: 'virt',
    arches: ['aarch64'],
    description: 'QEMU Arm virtual machine (GICv3, PL011, PCIe)',
    props: ['gic-version=3'],
    cpu: { default: 'cortex-a57' },
    memory: { default: 512, min: 16 },
    smp: { default: 1, min: 1, max: 512 },
    pci: true,
    diskInterfaces: ['virtio', 'nvme', 'usb'],
    serialPorts: ['PL011 (0x09000000)'],
    defaultExit: 'semihosting',
    exits: ['semihosting', 'psci', 'serial'],
    args: [],
  },
  raspi3b: {
    name: 'raspi3b',
    arches: ['aarch64'],
    description: 'Raspberry Pi 3B (BCM2837, four Cortex-A53, 1 GiB)',
    props: [],
    cpu: { fixed: 'cortex-a53' },
    memory: { default: 1024, exact: true },
    smp: { default: 4, min: 4, max: 4 },
    pci: false,
    diskInterfaces: ['sd'],
    serialPorts: ['PL011 UART0 (0x3f201000)', 'mini UART (AUX, 0x3f215040)'],
    defaultExit: 'serial',
    exits: ['semihosting', 'serial'],
    args: [],
  },
  raspi3ap: {
    name: 'raspi3ap',
    arches: ['aarch64'],
    description: 'Raspberry Pi 3A+ (BCM2837, four Cortex-A53, 512 MiB)',
    props: [],
    cpu: { fixed: 'cortex-a53' },
    memory: { default: 512, exact: true },
    smp: { default: 4, min: 4, max: 4 },
    pci: false,
    diskInterfaces: ['sd'],
    serialPorts: ['PL011 UART0 (0x3f201000)', 'mini UART (AUX, 0x3f215040)'],
    defaultExit: 'serial',
    exits: ['semihosting', 'serial'],
    args: [],
  },
  'xlnx-zcu102': {
    name: 'xlnx-zcu102',
    arches: ['aarch64'],
    description: 'Xilinx ZynqMP ZCU102 (Cortex-A53 APUs + Cortex-R5F RPUs from -smp)',
    props: [],
    cpu: { fixed: 'cortex-a53' },
    memory: { default: 512, min: 16 },
    smp: { default: 1, min: 1, max: 6 },
    pci: false,
    diskInterfaces: ['sd'],
    serialPorts: ['Cadence UART0 (0xff000000)', 'Cadence UART1 (0xff010000)'],
    defaultExit: 'serial',
    exits: ['semihosting', 'serial'],
    // Its DisplayPort has an audio device: without an audio backend QEMU hunts for PulseAudio/JACK modules and says so.
    args: ['-audiodev', 'none,id=kiln-audio'],
  },
};

/**
 * The profile of a machine (properties after a comma ignored), or undefined for a machine kiln does not know.
 * @example findBoard('raspi3b')?.pci // false
 */
export function findBoard(machine: string): BoardProfile | undefined {
  const name = machine.split(',')[0]!;
  return Object.prototype.hasOwnProperty.call(BOARDS, name) ? BOARDS[name] : undefined;
}

/** The boards of one arch, for help texts and hints. */
export function boardsOf(arch: QemuArch): BoardProfile[] {
  return Object.values(BOARDS).filter((b) => b.arches.includes(arch));
}

function mib(n: number): string {
  return n % 1024 === 0 ? `${n / 1024}G` : `${n}M`;
}

/** What a user chose, after kiln's defaults were applied. */
export interface BoardChoices {
  arch: QemuArch;
  cpu: string | undefined;
  memoryMiB: number;
  smp: number;
  diskInterfaces: readonly string[];
  devices: readonly string[];
  network: boolean;
  exit: ExitKind;
  /** The user set `memory` / `smp` / `cpu` themselves (a default never fails a check). */
  given: { memory: boolean; smp: boolean; cpu: boolean };
}

function fail(board: BoardProfile, code: string, message: string, hint: string): never {
  throw new KilnError(code, `machine ${board.name}: ${message}`, { hint, exitCode: 2 });
}

/**
 * Checks choices against a board profile, throwing a KilnError that names the board, the value and
 * what the board takes.
 * @example checkBoard(BOARDS.raspi3b!, { arches: ['aarch64'], cpu: undefined, memoryMiB: 512, smp: 4, ... }) // throws QEMU_BOARD_MEMORY
 */
export function checkBoard(board: BoardProfile, c: BoardChoices): void {
  if (!board.arches.includes(c.arch)) {
    const arch = board.arches[0]!;
    fail(
      board,
      'QEMU_BOARD_ARCH',
      `is an ${board.arches.join('/')} board; the target is ${c.arch}`,
      `build for ${arch} (--arch ${arch}), or choose one of: ${boardsOf(c.arch)
        .map((b) => b.name)
        .join(', ')}`,
    );
  }
  if (c.given.cpu && board.cpu.fixed && c.cpu !== board.cpu.fixed) {
    fail(
      board,
      'QEMU_BOARD_CPU',
      `has ${board.cpu.fixed} CPUs whatever -cpu says (QEMU ignores -cpu ${c.cpu} on it)`,
      `remove cpu (kiln passes no -cpu for ${board.name}), or set it to ${board.cpu.fixed}`,
    );
  }
  const m = board.memory;
  if (m.exact && c.memoryMiB !== m.default) {
    fail(
      board,
      'QEMU_BOARD_MEMORY',
      `has exactly ${mib(m.default)} of RAM; memory ${mib(c.memoryMiB)} was asked for`,
      `remove memory (kiln uses ${mib(m.default)} for ${board.name}) or set it to ${mib(m.default)}`,
    );
  }
  if ((m.min !== undefined && c.memoryMiB < m.min) || (m.max !== undefined && c.memoryMiB > m.max)) {
    fail(
      board,
      'QEMU_BOARD_MEMORY',
      `takes ${m.min !== undefined ? mib(m.min) : '0'} to ${m.max !== undefined ? mib(m.max) : 'any size'} of RAM; memory ${mib(c.memoryMiB)} was asked for`,
      `set memory within that range (default ${mib(m.default)})`,
    );
  }
  const s = board.smp;
  if (c.smp < s.min || c.smp > s.max) {
    const range = s.min === s.max ? `exactly ${s.min} CPUs` : `${s.min} to ${s.max} CPUs`;
    fail(
      board,
      'QEMU_BOARD_SMP',
      `has ${range}; smp ${c.smp} was asked for`,
      `remove smp (kiln uses ${s.default} for ${board.name}) or set it within that range`,
    );
  }
  for (const iface of c.diskInterfaces) {
    if (!board.diskInterfaces.includes(iface)) {
      const why = !board.pci && ['virtio', 'nvme', 'usb'].includes(iface) ? ' (it has no PCI bus)' : '';
      fail(
        board,
        'QEMU_BOARD_DRIVE',
        `cannot attach a ${iface} drive${why}`,
        board.diskInterfaces.length
          ? `use interface: ${board.diskInterfaces.map((i) => JSON.stringify(i)).join(' or ')}`
          : `${board.name} has no disk controller kiln can attach`,
      );
    }
  }
  if (!board.pci) {
    const pciDevice = c.devices.find((d) => /-pci(,|$)|^(nvme|qemu-xhci|e1000|rtl8139|ahci)(,|$)/.test(d));
    if (pciDevice)
      fail(
        board,
        'QEMU_BOARD_NO_PCI',
        `has no PCI bus, so device ${pciDevice} cannot be plugged in`,
        "use the board's own peripherals (or virtio-*-device on a board with virtio-mmio)",
      );
    if (c.network)
      fail(
        board,
        'QEMU_BOARD_NO_PCI',
        'has no PCI bus for a network card',
        "leave network off (the board's own NIC, if any, needs no -nic model)",
      );
  }
  if (!board.exits.includes(c.exit)) {
    fail(
      board,
      'QEMU_BOARD_EXIT',
      `has no ${c.exit} exit`,
      `use exit: { kind: ${board.exits.map((e) => JSON.stringify(e)).join(' | ')} }`,
    );
  }
}
