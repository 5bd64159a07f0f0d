/**
 * The QEMU command line, built from a fully resolved machine. Pure: no file system, no
 * environment, the same input always gives the same argv (QEMU 7.2 option syntax,
 * docs/system/invocation).
 */
import { PROJECT_PREFIX } from '../toolchain/path-map.js';
import { zigSourceMaps } from '../toolchain/zig-root.js';
import { driveArgv, escapeOpt } from './drives.js';
import type { ResolvedMachine } from './types.js';

export { escapeOpt };

/**
 * `-serial` options in port order: the judged port on stdio (kiln reads it), the `serial1` console's
 * socket on port 1 when a console script asked for it, logged ports to their files, ports in between
 * to `null`.
 * @example serialArgs({ serial: { port: 1, files: [{ port: 0, path: '/b/logs/serial0.log' }] } }) // ['-serial', 'file:/b/logs/serial0.log', '-serial', 'stdio']
 */
export function serialArgs(m: Pick<ResolvedMachine, 'serial' | 'consoleSockets'>): string[] {
  const judged = m.serial?.port ?? 0;
  const files = m.serial?.files ?? [];
  const socket1 = m.consoleSockets?.serial1;
  const count = Math.max(judged, socket1 ? 1 : 0, ...files.map((f) => f.port)) + 1;
  const argv: string[] = socket1
    ? ['-chardev', `socket,id=kiln-serial1,path=${escapeOpt(socket1)},server=on,wait=off`]
    : [];
  for (let port = 0; port < count; port++) {
    const file = files.find((f) => f.port === port);
    argv.push(
      '-serial',
      port === judged ? 'stdio' : port === 1 && socket1 ? 'chardev:kiln-serial1' : file ? `file:${file.path}` : 'null',
    );
  }
  return argv;
}

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
  if (
    m.firmware.kind === 'pflash' &&
    m.firmware.secureBoot &&
    m.arch !== 'aarch64' &&
    !props.some((p) => p.startsWith('smm='))
  )
    props.push('smm=on');
  argv.push('-machine', [m.machine, ...props].join(','));
  if (m.cpu) argv.push('-cpu', m.cpu);
  argv.push('-accel', m.accel, '-m', m.memory, '-smp', String(m.smp));
  argv.push('-display', 'none', '-monitor', 'none', ...serialArgs(m));
  if (!m.network) argv.push('-nic', 'none');
  switch (m.firmware.kind) {
    case 'default':
      break;
    case 'bios-file':
      argv.push('-bios', m.firmware.path);
      break;
    case 'pflash':
      if (m.firmware.secureBoot && m.arch !== 'aarch64')
        argv.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
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
  if (m.exit?.kind === 'isa-debug-exit')
    argv.push(
      '-device',
      `isa-debug-exit,iobase=0x${m.exit.iobase.toString(16)},iosize=0x${m.exit.iosize.toString(16)}`,
    );
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
 * Extra consoles as unix sockets QEMU listens on (kiln connects before the VM runs): a virtio console
 * (`virtconsole` on a `virtio-serial-pci` bus, port name `kiln.0`). The second serial port's socket
 * is placed by `serialArgs`, in port order.
 * @example consoleArgs(machine) // ['-device', 'virtio-serial-pci,id=kiln-vser', '-chardev', 'socket,id=kiln-virtcon,…', '-device', 'virtconsole,…']
 */
export function consoleArgs(m: Pick<ResolvedMachine, 'consoleSockets'>): string[] {
  const argv: string[] = [];
  const { virtcon } = m.consoleSockets ?? {};
  if (virtcon) {
    argv.push('-device', 'virtio-serial-pci,id=kiln-vser');
    argv.push(
      '-chardev',
      `socket,id=kiln-virtcon,path=${escapeOpt(virtcon)},server=on,wait=off`,
      '-device',
      'virtconsole,chardev=kiln-virtcon,name=kiln.0,bus=kiln-vser.0',
    );
  }
  return argv;
}

/**
 * The `gdb` command line matching a machine started with `gdb`, plus a line on where the kernel loads.
 * @example
 * gdbInstructions(machine).command // "gdb -q build/kernel.elf -ex 'target remote localhost:1234'"
 */
export function gdbInstructions(
  m: ResolvedMachine,
  options: { sourceDir?: string; /** The gdb to run (chooseGdb): default `gdb`. */ gdb?: string } = {},
): { argv: string[]; notes: string[] } {
  if (!m.gdb) throw new TypeError('"machine.gdb" expected, got undefined');
  const argv = [options.gdb ?? 'gdb', '-q'];
  if (m.gdb.symbols) argv.push(m.gdb.symbols);
  // kiln's builds write the project folder as /kiln/src (toolchain/path-map.ts) and some sources
  // relative to it: map the one back and search the other from the project folder.
  if (options.sourceDir)
    argv.push(
      '-ex',
      `set substitute-path ${PROJECT_PREFIX} ${options.sourceDir}`,
      // Zig's objects name the canonical folder they were compiled in (toolchain/zig-root.ts).
      ...(m.gdb.symbols ? zigSourceMaps(m.gdb.symbols, options.sourceDir) : []),
      '-ex',
      `directory ${options.sourceDir}`,
    );
  const notes: string[] = [];
  const info = m.kernel?.info;
  if (m.arch === 'x86_64' && info && (info.protocol === 'pvh' || info.protocol.startsWith('multiboot'))) {
    // The guest starts in 32-bit protected mode; gdb follows the ELF's arch, which is right once in long mode.
    notes.push('the kernel starts in 32-bit protected mode: use `set architecture i386` until it enters long mode');
  }
  if (m.gdb.symbolsClass === 32 && m.arch !== 'aarch64') {
    // gdb takes the architecture from an ELF32 (i386), but qemu-system-x86_64's stub always sends the
    // 64-bit register set ("Remote 'g' packet reply is too long"): read it as x86-64 there.
    const qemu64 = /x86_64[^/]*$/.test(m.qemu);
    argv.push('-ex', `set architecture ${qemu64 ? 'i386:x86-64' : 'i386'}`);
    if (qemu64)
      notes.push(
        '32-bit kernel under qemu-system-x86_64: gdb shows 64-bit registers ($rip, $rsp); qemu: "qemu-system-i386" gives the i386 view',
      );
  }
  argv.push('-ex', `target remote localhost:${m.gdb.port}`);
  if (info) {
    const hex = (n: number) => `0x${n.toString(16)}`;
    const entry = info.bootEntry ?? info.entry;
    if (info.loadAddress !== undefined)
      notes.unshift(
        `kernel ${info.path} loads at ${hex(info.loadAddress)}${entry !== undefined ? `, QEMU enters it at ${hex(entry)} (${info.protocol})` : ''}`,
      );
    if (entry !== undefined) argv.push('-ex', `break *${hex(entry)}`);
  }
  if (!m.gdb.symbols)
    notes.push(
      'no unstripped ELF given: pass --symbols FILE to get symbols (gdb: add-symbol-file FILE ADDR for a relocated image)',
    );
  return { argv, notes };
}
