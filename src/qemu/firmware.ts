/**
 * Firmware discovery: SeaBIOS (x86_64 BIOS), OVMF (x86_64 UEFI, optionally Secure Boot) and
 * AAVMF / QEMU_EFI (aarch64 UEFI), at the paths Debian, Ubuntu, Fedora and Arch install them.
 * Writable UEFI variable stores are copied per run, never used in place.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import type { FirmwareKind, FirmwarePaths, QemuArch, ResolvedFirmware } from './types.js';

/** A firmware code image and the variable store template that goes with it. @inline */
interface Pair {
  code: string;
  vars: string;
}

/**
 * Candidate firmware files, most preferred first. Exported so `kiln doctor` can list them.
 * @example FIRMWARE_CANDIDATES.ovmf[0].code // '/usr/share/OVMF/OVMF_CODE_4M.fd'
 */
export const FIRMWARE_CANDIDATES = {
  seabios: ['/usr/share/seabios/bios-256k.bin', '/usr/share/qemu/bios-256k.bin', '/usr/share/seabios/bios.bin'],
  ovmf: [
    { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
    { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
    { code: '/usr/share/edk2/ovmf/OVMF_CODE.fd', vars: '/usr/share/edk2/ovmf/OVMF_VARS.fd' },
    { code: '/usr/share/edk2/x64/OVMF_CODE.4m.fd', vars: '/usr/share/edk2/x64/OVMF_VARS.4m.fd' },
    { code: '/usr/share/edk2-ovmf/x64/OVMF_CODE.fd', vars: '/usr/share/edk2-ovmf/x64/OVMF_VARS.fd' },
  ] as Pair[],
  ovmfSecure: [
    { code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd' },
    { code: '/usr/share/OVMF/OVMF_CODE.secboot.fd', vars: '/usr/share/OVMF/OVMF_VARS.ms.fd' },
    { code: '/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd', vars: '/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd' },
    { code: '/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd', vars: '/usr/share/edk2/x64/OVMF_VARS.4m.fd' },
  ] as Pair[],
  aavmf: [
    { code: '/usr/share/AAVMF/AAVMF_CODE.fd', vars: '/usr/share/AAVMF/AAVMF_VARS.fd' },
    { code: '/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw', vars: '/usr/share/edk2/aarch64/vars-template-pflash.raw' },
  ] as Pair[],
  aavmfSecure: [{ code: '/usr/share/AAVMF/AAVMF_CODE.ms.fd', vars: '/usr/share/AAVMF/AAVMF_VARS.ms.fd' }] as Pair[],
  aarch64Bios: [
    '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd',
    '/usr/share/edk2/aarch64/QEMU_EFI.fd',
    '/usr/share/qemu/edk2-aarch64-code.fd',
  ],
};

/** What firmware a boot needs: arch, BIOS or UEFI, Secure Boot, and paths that override the search. */
export interface FirmwareRequest {
  arch: QemuArch;
  kind: FirmwareKind;
  secureBoot?: boolean;
  paths?: FirmwarePaths;
  /** Where the per-run copy of the variable store goes. */
  runDir: string;
  /** Do not copy the variable store (the path is still returned). */
  noCopy?: boolean;
  /** Replaces existsSync (tests). */
  exists?: (path: string) => boolean;
}

function missing(what: string, tried: string[], pkg: string, flag: string): KilnError {
  return new KilnError('FIRMWARE_NOT_FOUND', `${what} not found (looked at ${tried.join(', ')})`, {
    hint: `install it (Debian/Ubuntu: apt-get install ${pkg}) or give its path (${flag})`,
    details: { tried, package: pkg },
  });
}

/**
 * Finds the firmware for a machine and copies the UEFI variable store into `runDir`.
 * @example
 * const fw = resolveFirmware({ arch: 'x86_64', kind: 'uefi', runDir: 'build/logs' });
 * // { kind: 'pflash', code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: 'build/logs/OVMF_VARS.fd', ... }
 */
export function resolveFirmware(request: FirmwareRequest): ResolvedFirmware {
  const exists = request.exists ?? existsSync;
  const paths = request.paths ?? {};
  const { arch, kind } = request;
  const checkGiven = (path: string, what: string): string => {
    if (!exists(path))
      throw new KilnError('FIRMWARE_NOT_FOUND', `${what} ${path} does not exist`, {
        location: { file: path },
        hint: "fix the firmware path, or leave it out to use the distribution's firmware",
      });
    return path;
  };
  const x86 = arch !== 'aarch64';
  if (kind === 'uefi' && arch === 'i386' && !paths.bios && !paths.code) {
    throw new KilnError(
      'FIRMWARE_UNSUPPORTED',
      'no 32-bit UEFI firmware (OVMF IA32) is installed: Debian ships OVMF for x86_64 only',
      {
        hint: 'boot i386 with BIOS (firmware: "bios"), give an IA32 OVMF with --uefi-code/--uefi-vars, or build for x86_64',
      },
    );
  }
  if (kind === 'none' || (kind === 'bios' && x86 && !paths.bios)) {
    if (kind === 'bios' && x86) {
      const found = FIRMWARE_CANDIDATES.seabios.find(exists);
      if (!found) throw missing('SeaBIOS (bios-256k.bin)', FIRMWARE_CANDIDATES.seabios, 'seabios', '--bios FILE');
      return { kind: 'default', description: `SeaBIOS (${found})` };
    }
    return { kind: 'default', description: x86 ? 'SeaBIOS (QEMU default)' : 'no firmware (direct kernel boot)' };
  }
  if (kind === 'bios') {
    if (arch === 'aarch64' && !paths.bios) {
      throw new KilnError(
        'FIRMWARE_UNSUPPORTED',
        'aarch64 virt has no BIOS: boot a kernel directly (no firmware) or use UEFI',
        { hint: 'use --firmware uefi (AAVMF) or --kernel with no firmware' },
      );
    }
    return { kind: 'bios-file', path: checkGiven(paths.bios!, 'BIOS file'), description: `BIOS ${paths.bios}` };
  }
  // UEFI.
  if (paths.bios)
    return {
      kind: 'bios-file',
      path: checkGiven(paths.bios, 'UEFI firmware'),
      description: `UEFI (-bios ${paths.bios})`,
    };
  const secure = request.secureBoot ?? false;
  let pair: Pair | undefined;
  if (paths.code || paths.vars) {
    if (!paths.code || !paths.vars)
      throw new KilnError('FIRMWARE_INCOMPLETE', 'UEFI pflash needs both a code file and a variable store template', {
        hint: 'give both --uefi-code and --uefi-vars (or neither)',
      });
    pair = { code: checkGiven(paths.code, 'UEFI code'), vars: checkGiven(paths.vars, 'UEFI variable store') };
  } else {
    const list = x86
      ? secure
        ? FIRMWARE_CANDIDATES.ovmfSecure
        : FIRMWARE_CANDIDATES.ovmf
      : secure
        ? FIRMWARE_CANDIDATES.aavmfSecure
        : FIRMWARE_CANDIDATES.aavmf;
    pair = list.find((p) => exists(p.code) && exists(p.vars));
    if (!pair) {
      if (arch === 'aarch64' && !secure) {
        const bios = FIRMWARE_CANDIDATES.aarch64Bios.find(exists);
        if (bios) return { kind: 'bios-file', path: bios, description: `UEFI (QEMU_EFI, -bios ${bios})` };
      }
      const tried = list.flatMap((p) => [p.code, p.vars]);
      throw x86
        ? missing(
            secure ? 'OVMF Secure Boot firmware' : 'OVMF firmware',
            tried,
            'ovmf',
            '--uefi-code FILE --uefi-vars FILE',
          )
        : missing(
            secure ? 'AAVMF Secure Boot firmware' : 'AAVMF firmware',
            tried,
            'qemu-efi-aarch64',
            '--uefi-code FILE --uefi-vars FILE',
          );
    }
  }
  const vars = join(request.runDir, x86 ? 'OVMF_VARS.fd' : 'AAVMF_VARS.fd');
  if (!request.noCopy) {
    mkdirSync(request.runDir, { recursive: true });
    copyFileSync(pair.vars, vars);
  }
  const name = x86 ? 'OVMF' : 'AAVMF';
  return {
    kind: 'pflash',
    code: pair.code,
    vars,
    varsTemplate: pair.vars,
    secureBoot: secure,
    description: `${name}${secure ? ' Secure Boot' : ''} (${pair.code}, variables copied from ${pair.vars})`,
  };
}
