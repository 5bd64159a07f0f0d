// Real QEMU (TCG) boots of tiny aarch64 kernels built here with clang (virt, cortex-a57, GICv3;
// PL011 at 0x09000000; exit through semihosting SYS_EXIT or PSCI SYSTEM_OFF).
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  readJUnit,
  runTests,
  testResultsToJUnit,
  type QemuTestResult,
  type QemuTestSpec,
} from '../../src/qemu/index.js';
import { tempDir } from '../_helpers.js';
import { buildA64Kernel, processGone, type KernelMode } from './_kernels.js';

const dir = tempDir('kiln-qemu-a64-');

describe('kiln test on aarch64 (virt, -kernel ELF, semihosting / PSCI)', () => {
  let results: QemuTestResult[] = [];
  let junit = '';
  beforeAll(async () => {
    const k = (mode: KernelMode) => buildA64Kernel(join(dir, 'k'), mode);
    const spec = (name: string, mode: KernelMode, over: Partial<QemuTestSpec> = {}): QemuTestSpec => ({
      name,
      arch: 'aarch64',
      kernel: k(mode),
      accel: 'tcg',
      expect: ['kiln test kernel aarch64', 'KILN-END'],
      timeout: 90,
      logDir: join(dir, 'logs', name),
      ...over,
    });
    const summary = await runTests(
      [
        spec('exit0', 'ok'),
        spec('exit3', 'fail'),
        spec('hang', 'hang', { timeout: 6 }),
        spec('panic', 'panic'),
        spec('ktap', 'ktap', { ktap: true }),
        spec('psci', 'psci', { exit: { kind: 'psci' } }),
      ],
      { jobs: 2 },
    );
    results = summary.results;
    junit = testResultsToJUnit(results);
  }, 300_000);
  const get = (name: string) => results.find((r) => r.name === name)!;
  const suite = (name: string) => readJUnit(junit).find((s) => s.name === `${name} [aarch64]`)!;

  it('machine profile: virt,gic-version=3 with cortex-a57 and semihosting', () => {
    const argv = get('exit0').argv.join(' ');
    expect(argv).toMatch(/^qemu-system-aarch64 -machine virt,gic-version=3 -cpu cortex-a57 /);
    expect(argv).toContain('-semihosting-config enable=on,target=native');
    expect(get('exit0').kernelNote).toMatch(/ELF64 aarch64, entry 0x40080000/);
  });

  it('print and exit 0 through SYS_EXIT passes; exit 3 fails with the code', () => {
    expect(get('exit0')).toMatchObject({ status: 'passed', guestExitCode: 0 });
    expect(get('exit3')).toMatchObject({
      status: 'failed',
      failure: 'exit-code',
      guestExitCode: 3,
      reason: 'unexpected exit code: the guest reported 3, expected 0',
    });
    expect(suite('exit3').cases[0]!.status).toBe('failed');
    expect(suite('exit0').cases[0]!.status).toBe('passed');
  });

  it('hang: timeout, registers (PC) dumped, QEMU gone', () => {
    const r = get('hang');
    expect(r.failure).toBe('timeout');
    expect(r.registers).toMatch(/PC=/);
    expect(processGone(r.pid)).toBe(true);
  });

  it('panic: fail pattern', () => {
    expect(get('panic')).toMatchObject({ failure: 'fail-pattern' });
    expect(suite('panic').cases[0]!.message).toMatch(/^fail pattern/);
  });

  it('KTAP cases from an aarch64 boot', () => {
    const r = get('ktap');
    expect(r.ktap).toMatchObject({ total: 6, passed: 2, failed: 1, skipped: 2, todo: 1 });
    expect(
      suite('ktap')
        .cases.filter((c) => c.status === 'skipped')
        .map((c) => c.name),
    ).toEqual(['memory.huge_pages', 'timer', 'scheduler']);
  });

  it('PSCI SYSTEM_OFF is seen over QMP as SHUTDOWN guest-shutdown = exit code 0', () => {
    const r = get('psci');
    expect(r).toMatchObject({ status: 'passed', guestExitCode: 0, shutdownReason: 'guest-shutdown' });
    for (const x of results) expect(processGone(x.pid)).toBe(true);
  });
});
