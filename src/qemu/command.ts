/**
 * The QEMU command line, built from a fully resolved machine. Pure: no file system, no
 * environment, the same input always gives the same argv (QEMU 7.2 option syntax,
 * docs/system/invocation).
 */
import { driveArgv, escapeOpt } from './drives.js';
import type { ResolvedMachine } from './types.js';

export { escapeOpt };

/**
 * Builds QEMU's argv (program first) for a resolved machine. Serial goes to stdout
 * (`-serial stdio`), which kiln reads, logs and optionally shows.
 * @example
 * const machine = await resolveMachine({ kernel: 'build/kernel.elf' }, { testMode: true });
 * const argv = buildQemuCommand(machine);
 * // ['qemu-system-x86_64', '-machine', 'q35', '-accel', 'tcg', '-m', '512M', ...]
 */
export function buildQemuCommand(m: ResolvedMachine): string[] {
  const argv: string[] = [m.qemu];
  const props = [...m.machineProps];
  if (m.firmware.kind === 'pflash' && m.firmware.secureBoot && m.arch !== 'aarch64' && !props.some((p) => p.startsWith('smm='))) props.push('smm=on');
  argv.push('-machine', [m.machine, ...props].join(','));
  if (m.cpu) argv.push('-cpu', m.cpu);
  argv.push('-accel', m.accel, '-m', m.memory, '-smp', String(m.smp));
  argv.push('-display', 'none', '-monitor', 'none', '-serial', 'stdio');
  if (!m.network) argv.push('-nic', 'none');
  switch (m.firmware.kind) {
    case 'default':
      break;
    case 'bios-file':
      argv.push('-bios', m.firmware.path);
      break;
    case 'pflash':
      if (m.firmware.secureBoot && m.arch !== 'aarch64') argv.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
      argv.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${escapeOpt(m.firmware.code)}`);
      argv.push('-drive', `if=pflash,format=raw,unit=1,file=${escapeOpt(m.firmware.vars)}`);
      break;
  }
  argv.push(...driveArgv(m.disks, m.machine));
  if (m.kernel) {
    argv.push('-kernel', m.kernel.path);
    if (m.kernel.initrd) argv.push('-initrd', m.kernel.initrd);
    if (m.kernel.append !== undefined && m.kernel.append !== '') argv.push('-append', m.kernel.append);
  }
  if (m.exit?.kind === 'isa-debug-exit') argv.push('-device', `isa-debug-exit,iobase=0x${m.exit.iobase.toString(16)},iosize=0x${m.exit.iosize.toString(16)}`);
  if (m.exit?.kind === 'semihosting') argv.push('-semihosting-config', 'enable=on,target=native');
  for (const device of m.devices) argv.push('-device', device);
  if (m.testMode || m.debug) argv.push('-no-reboot');
  if (m.testMode) argv.push('-no-shutdown');
  if (m.qmpSocket) argv.push('-qmp', `unix:${escapeOpt(m.qmpSocket)},server=on,wait=off`);
  argv.push(...consoleArgs(m));
  if (m.debug && m.debugLog) argv.push('-d', 'int,cpu_reset', '-D', m.debugLog);
  // Test mode starts paused and kiln resumes over QMP (`cont`) once connected, so no QMP event is missed.
  if (m.gdb || (m.testMode && m.qmpSocket)) argv.push('-S');
  if (m.gdb) argv.push('-gdb', `tcp::${m.gdb.port}`);
  argv.push(...m.args);
  return argv;
}

/**
 * Extra consoles as unix sockets QEMU listens on (kiln connects before the VM runs): the second
 * serial port, and a virtio console (`virtconsole` on a `virtio-serial-pci` bus, port name `kiln.0`).
 * @example consoleArgs(machine) // ['-chardev', 'socket,id=kiln-serial1,path=…,server=on,wait=off', '-serial', 'chardev:kiln-serial1']
 */
export function consoleArgs(m: Pick<ResolvedMachine, 'consoleSockets'>): string[] {
  const argv: string[] = [];
  const { serial1, virtcon } = m.consoleSockets ?? {};
  if (serial1) argv.push('-chardev', `socket,id=kiln-serial1,path=${escapeOpt(serial1)},server=on,wait=off`, '-serial', 'chardev:kiln-serial1');
  if (virtcon) {
    argv.push('-device', 'virtio-serial-pci,id=kiln-vser');
    argv.push('-chardev', `socket,id=kiln-virtcon,path=${escapeOpt(virtcon)},server=on,wait=off`, '-device', 'virtconsole,chardev=kiln-virtcon,name=kiln.0,bus=kiln-vser.0');
  }
  return argv;
}

/**
 * The `gdb` command line matching a machine started with `gdb`, plus a line on where the kernel loads.
 * @example
 * gdbInstructions(machine).command // "gdb -q build/kernel.elf -ex 'target remote localhost:1234'"
 */
export function gdbInstructions(m: ResolvedMachine): { argv: string[]; notes: string[] } {
  if (!m.gdb) throw new TypeError('"machine.gdb" expected, got undefined');
  const argv = ['gdb', '-q'];
  if (m.gdb.symbols) argv.push(m.gdb.symbols);
  const notes: string[] = [];
  const info = m.kernel?.info;
  if (m.arch === 'x86_64' && info && (info.protocol === 'pvh' || info.protocol.startsWith('multiboot'))) {
    // The guest starts in 32-bit protected mode; gdb follows the ELF's arch, which is right once in long mode.
    notes.push('the kernel starts in 32-bit protected mode: use `set architecture i386` until it enters long mode');
  }
  argv.push('-ex', `target remote localhost:${m.gdb.port}`);
  if (info) {
    const hex = (n: number) => `0x${n.toString(16)}`;
    const entry = info.bootEntry ?? info.entry;
    if (info.loadAddress !== undefined) notes.unshift(`kernel ${info.path} loads at ${hex(info.loadAddress)}${entry !== undefined ? `, QEMU enters it at ${hex(entry)} (${info.protocol})` : ''}`);
    if (entry !== undefined) argv.push('-ex', `break *${hex(entry)}`);
  }
  if (!m.gdb.symbols) notes.push('no unstripped ELF given: pass --symbols FILE to get symbols (gdb: add-symbol-file FILE ADDR for a relocated image)');
  return { argv, notes };
}
