/**
 * Which gdb can debug the guest. Debian's host `gdb` is built for the host's architecture only
 * (gdb 13.1 on x86_64: `set architecture aarch64` is an "Undefined item"); `gdb-multiarch` (its own
 * Debian package) or a cross gdb (`aarch64-linux-gnu-gdb`, `aarch64-none-elf-gdb`) debugs other
 * arches. kiln asks the host gdb once, and names the package when nothing fits.
 */
import { spawnSync } from 'node:child_process';
import { arch as hostArch } from 'node:os';
import { findExecutable } from '../util/which.js';
import type { QemuArch } from './types.js';

/** The gdb for an arch (`gdb` or `gdb-multiarch`), whether it is installed, and why. */
export interface GdbChoice {
  /** The gdb to run (may be missing: see `found`). */
  command: string;
  /** The command exists and debugs this arch. */
  found: boolean;
  /** Why this gdb, or how to get one (shown after the gdb command line). */
  note?: string;
}

const GDB_ARCH: Record<QemuArch, string> = { x86_64: 'i386:x86-64', i386: 'i386', aarch64: 'aarch64' };

/** Asks a gdb whether it knows the architecture (`set architecture NAME` fails with "Undefined item" otherwise). */
export function gdbSupports(gdb: string, arch: QemuArch): boolean {
  const r = spawnSync(gdb, ['-nx', '-batch', '-ex', `set architecture ${GDB_ARCH[arch]}`], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return r.status === 0 && !/Undefined item|not supported/i.test(`${r.stdout}${r.stderr}`);
}

/**
 * The gdb for a guest arch: the host gdb when it knows the arch, else gdb-multiarch or a cross gdb
 * found on PATH, else `gdb-multiarch` with a note on how to install it.
 * @example chooseGdb('aarch64') // { command: 'gdb-multiarch', found: true, note: 'the host gdb debugs x86 only: using gdb-multiarch' }
 */
export function chooseGdb(
  arch: QemuArch,
  probe: (gdb: string, arch: QemuArch) => boolean = gdbSupports,
  inPath: (cmd: string) => string | undefined = findExecutable,
): GdbChoice {
  const native = arch === 'x86_64' || arch === 'i386' ? hostArch() === 'x64' : hostArch() === 'arm64';
  if (native && inPath('gdb')) return { command: 'gdb', found: true };
  const host = inPath('gdb') ? 'gdb' : undefined;
  if (host && probe(host, arch)) return { command: 'gdb', found: true };
  const cross = ['gdb-multiarch', `${arch}-linux-gnu-gdb`, `${arch}-none-elf-gdb`, `${arch}-elf-gdb`];
  const why = host ? `the host gdb cannot debug ${arch}` : 'no gdb on PATH';
  for (const candidate of cross) {
    if (inPath(candidate)) return { command: candidate, found: true, note: `${why}: using ${candidate}` };
  }
  return {
    command: 'gdb-multiarch',
    found: false,
    note: `${why}, and gdb-multiarch is not installed: apt-get install gdb-multiarch (or put a cross gdb such as ${arch}-linux-gnu-gdb on PATH)`,
  };
}
