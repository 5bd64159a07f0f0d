/**
 * A guest that prints nothing: after a few seconds without one serial byte, kiln says so and names
 * the likely causes for this machine (a hung boot is otherwise silent until the timeout).
 */
import type { ResolvedMachine } from './types.js';

/**
 * Seconds of total silence before kiln says so: BIOS and direct-kernel boots print their first
 * serial line in under 0.6 s here, UEFI firmware takes about 4-6 s.
 * @example silentAfterSeconds(machine) // 5
 */
export function silentAfterSeconds(m: ResolvedMachine): number {
  return m.firmware.kind === 'pflash' || m.firmware.description.startsWith('UEFI') ? 20 : 5;
}

/**
 * The likely causes of a silent boot, most likely first, for this machine.
 * @example silentBootCauses(machine)[0] // 'machine q35: IDE drives are AHCI ports there; a legacy IDE driver sees no disk (use machine "pc")'
 */
export function silentBootCauses(m: ResolvedMachine): string[] {
  const causes: string[] = [];
  const ide = m.disks.some((d) => d.interface === 'ide' && d.media === 'disk');
  if (m.arch !== 'aarch64' && m.machine === 'q35' && ide) {
    causes.push(
      'machine q35: its IDE drives are AHCI (SATA) ports; a driver for the legacy ports 0x1f0/0x170 sees no disk (use machine "pc")',
    );
  }
  const uefi = m.firmware.kind === 'pflash' || m.firmware.description.startsWith('UEFI');
  if (m.kernel === undefined && m.disks.length > 0) {
    causes.push(
      uefi
        ? 'firmware UEFI: the disk needs an EFI System Partition with \\EFI\\BOOT\\BOOTX64.EFI (BOOTAA64.EFI); a BIOS boot sector is ignored'
        : 'firmware BIOS: the first disk needs a boot sector ending in 0x55 0xAA; a UEFI-only image does not boot (firmware: "uefi")',
    );
    causes.push(
      `boot order: the firmware boots ${m.disks[0]!.path} (${m.disks[0]!.interface} unit ${m.disks[0]!.index ?? 0}) first; put the bootable disk first or at index 0`,
    );
  }
  causes.push(
    m.arch === 'aarch64'
      ? "serial: the kernel writes to a UART that is not the machine's first (PL011 at 0x09000000 on virt)"
      : 'serial: the kernel prints to VGA only (kiln runs with -display none) or programs a COM1 other than 0x3f8',
  );
  return causes;
}

/** One message: `the guest printed nothing in 5 s; likely causes: (1) ... (2) ...`. */
export function silentBootMessage(m: ResolvedMachine, seconds: number): string {
  return `the guest printed nothing in ${seconds} s; likely causes: ${silentBootCauses(m)
    .map((c, i) => `(${i + 1}) ${c}`)
    .join(' ')}`;
}
