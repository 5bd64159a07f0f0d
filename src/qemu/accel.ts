/**
 * Accelerator choice. KVM is used only when a probe proves it runs guest code, and faster than
 * TCG: on some hosts /dev/kvm exists and QEMU hangs with `-accel kvm`, on others (nested
 * virtualization) every VM exit costs ~25 µs and a SeaBIOS boot takes 7 s instead of 0.1 s.
 * The probe boots a 64 KiB BIOS image that does 20,000 port writes (VM exits under KVM) and then
 * writes 0x2a to isa-debug-exit (QEMU exits with (0x2a << 1) | 1 = 85), once under KVM with a
 * 3 s deadline and once under TCG. Its verdict is cached per (QEMU binary, host kernel, /dev/kvm) in
 * accel-probe.json in kiln's cache folder so later runs cost one stat.
 */
import { accessSync, constants, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { arch as hostArch, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kilnCacheDir } from '../util/cache-dir.js';
import { run } from '../util/process.js';
import { findExecutable } from '../util/which.js';
import type { Accel, QemuArch } from './types.js';

/** The accelerator a run uses (`tcg` unless KVM is proven to work) and why. */
export interface AccelChoice {
  accel: Accel;
  /** One line: why. */
  note: string;
}

const PROBE_EXIT = (0x2a << 1) | 1;
const memo = new Map<string, AccelChoice>();

function cacheFile(): string {
  return join(kilnCacheDir(), 'accel-probe.json');
}

/**
 * 64 KiB BIOS image. Reset vector (offset 0xFFF0): `jmp f000:e000`; at 0xE000 (real mode):
 * `mov cx,20000; l: out 0x80,al; loop l; mov al,0x2a; out 0xf4,al; hlt; jmp $-1`.
 * @example writeFileSync('probe.bin', probeBiosImage()) // qemu-system-x86_64 -bios probe.bin ... exits 85
 */
export function probeBiosImage(): Uint8Array {
  const image = new Uint8Array(65536);
  image.set([0xea, 0x00, 0xe0, 0x00, 0xf0], 0xfff0);
  image.set([0xb9, 0x20, 0x4e, 0xe6, 0x80, 0xe2, 0xfc, 0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd], 0xe000);
  return image;
}

/**
 * Picks KVM or TCG for a guest arch. `requested` `kvm`/`tcg` is honoured as given (so is the
 * environment variable KILN_ACCEL); `auto` probes.
 * @example
 * const { accel, note } = await chooseAccel('x86_64', 'qemu-system-x86_64');
 * console.log(note); // "accel: tcg (/dev/kvm exists but a KVM probe did not finish in 3 s)"
 */
export async function chooseAccel(
  arch: QemuArch,
  qemu: string,
  requested: 'auto' | Accel = 'auto',
): Promise<AccelChoice> {
  const env = process.env.KILN_ACCEL;
  if (requested === 'auto' && (env === 'kvm' || env === 'tcg'))
    return { accel: env, note: `accel: ${env} (KILN_ACCEL)` };
  if (requested !== 'auto') return { accel: requested, note: `accel: ${requested} (asked for)` };
  const hostMatches =
    ((arch === 'x86_64' || arch === 'i386') && hostArch() === 'x64') || (arch === 'aarch64' && hostArch() === 'arm64');
  if (!hostMatches)
    return { accel: 'tcg', note: `accel: tcg (${arch} guest on a ${hostArch()} host: KVM cannot run it)` };
  let kvmStat;
  try {
    kvmStat = statSync('/dev/kvm');
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', note: 'accel: tcg (/dev/kvm is missing or not accessible)' };
  }
  if (arch !== 'x86_64') return { accel: 'tcg', note: 'accel: tcg (the KVM probe only knows x86_64 guests)' };
  let qemuKey = qemu;
  try {
    const st = statSync(qemu.includes('/') ? qemu : (findExecutable(qemu) ?? qemu));
    qemuKey = `${qemu}:${st.size}:${st.mtimeMs}`;
  } catch {
    /* keep the name */
  }
  const key = `${qemuKey}|${release()}|${kvmStat.rdev}:${kvmStat.ctimeMs}`;
  const cached = memo.get(key) ?? readCache(key);
  if (cached) {
    memo.set(key, cached);
    return cached;
  }
  const choice = await probeKvm(qemu);
  memo.set(key, choice);
  writeCache(key, choice);
  return choice;
}

function readCache(key: string): AccelChoice | undefined {
  try {
    const data = JSON.parse(readFileSync(cacheFile(), 'utf8')) as Record<string, AccelChoice>;
    const hit = data[key];
    if (hit && (hit.accel === 'kvm' || hit.accel === 'tcg') && typeof hit.note === 'string')
      return { accel: hit.accel, note: `${hit.note} [cached probe]` };
  } catch {
    /* no cache */
  }
  return undefined;
}

function writeCache(key: string, choice: AccelChoice): void {
  try {
    const file = cacheFile();
    mkdirSync(join(file, '..'), { recursive: true });
    let data: Record<string, AccelChoice> = {};
    try {
      data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, AccelChoice>;
    } catch {
      /* fresh */
    }
    data[key] = choice;
    writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  } catch {
    /* a cache is optional */
  }
}

/**
 * Boots the probe BIOS under KVM (3 s deadline), then under TCG, and compares.
 * @example (await probeKvm('qemu-system-x86_64')).note // 'accel: tcg (KVM works but is slower than TCG here: ...)'
 */
export async function probeKvm(qemu: string, timeoutMs = 3000): Promise<AccelChoice> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-kvm-probe-'));
  try {
    const bios = join(dir, 'probe.bin');
    writeFileSync(bios, probeBiosImage());
    const argv = (accel: Accel) => [
      qemu,
      '-accel',
      accel,
      '-M',
      'pc',
      '-nodefaults',
      '-display',
      'none',
      '-no-reboot',
      '-bios',
      bios,
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x04',
    ];
    const result = await run(argv('kvm'), { timeoutMs });
    if (result.code === PROBE_EXIT) {
      const tcg = await run(argv('tcg'), { timeoutMs: 10_000 });
      const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
      if (tcg.code !== PROBE_EXIT || result.durationMs <= tcg.durationMs * 1.2)
        return {
          accel: 'kvm',
          note: `accel: kvm (probe guest ran under KVM in ${s(result.durationMs)}, TCG ${s(tcg.durationMs)})`,
        };
      return {
        accel: 'tcg',
        note: `accel: tcg (KVM works but is slower than TCG here: ${s(result.durationMs)} vs ${s(tcg.durationMs)} for 20,000 port writes; nested virtualization?)`,
      };
    }
    if (result.timedOut)
      return {
        accel: 'tcg',
        note: `accel: tcg (/dev/kvm exists but a KVM probe did not finish in ${timeoutMs / 1000} s)`,
      };
    const why = result.stderr.trim().split('\n').pop() || `exit code ${result.code}`;
    return { accel: 'tcg', note: `accel: tcg (KVM probe failed: ${why})` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
