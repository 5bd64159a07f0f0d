// Real QEMU (TCG) boots of tiny PVH kernels built here with nasm. Each behaviour is asserted from
// kiln's result object and from the JUnit file, and every QEMU process is gone afterwards.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import {
  readJUnit,
  runMachine,
  runQemuTest,
  runTests,
  testResultsToJUnit,
  type QemuTestResult,
  type QemuTestSpec,
} from '../../src/qemu/index.js';
import { tempDir } from '../_helpers.js';
import { buildX86Kernel, processGone, type KernelMode } from './_kernels.js';

const dir = tempDir('kiln-qemu-x86-');
const kernels = {} as Record<KernelMode, string>;

beforeAll(() => {
  for (const mode of ['ok', 'fail', 'hang', 'panic', 'triple', 'ktap', 'prompt'] as const)
    kernels[mode] = buildX86Kernel(join(dir, 'k'), mode);
});

const spec = (name: string, mode: KernelMode, over: Partial<QemuTestSpec> = {}): QemuTestSpec => ({
  name,
  kernel: kernels[mode],
  accel: 'tcg',
  expect: ['kiln test kernel x86_64', 'KILN-END'],
  timeout: 90,
  logDir: join(dir, 'logs', name),
  ...over,
});

describe('kiln test on x86_64 (PVH -kernel, isa-debug-exit, QMP)', () => {
  let results: QemuTestResult[] = [];
  let junit = '';

  beforeAll(async () => {
    const summary = await runTests(
      [
        spec('exit0', 'ok'),
        spec('exit3', 'fail'),
        spec('hang', 'hang', { timeout: 6, expect: ['KILN-END'] }),
        spec('idle', 'hang', { timeout: 90, idleTimeout: 3, expect: ['KILN-END'] }),
        spec('panic', 'panic'),
        spec('triple', 'triple'),
        spec('ktap', 'ktap', { ktap: true }),
        spec('qemu-dies', 'ok', { args: ['-device', 'no-such-device-kiln'] }),
        spec('success33', 'fail', { exit: { kind: 'isa-debug-exit', successCode: 3 } }),
        spec('prompt', 'prompt', { exit: { kind: 'serial' }, expect: ['kiln test kernel', 'kiln> '] }),
      ],
      { jobs: 2 },
    );
    results = summary.results;
    junit = testResultsToJUnit(results);
    writeFileSync(join(dir, 'junit.xml'), junit);
  }, 300_000);

  const get = (name: string) => results.find((r) => r.name === name)!;
  const suite = (name: string) => readJUnit(junit).find((s) => s.name === `${name} [x86_64]`)!;

  it('print and exit 0: passes on exit code AND the end marker', () => {
    const r = get('exit0');
    expect(r.status).toBe('passed');
    expect(r.guestExitCode).toBe(0);
    expect(r.qemuExit).toMatchObject({ code: 1, signal: null }); // (0 << 1) | 1
    expect(r.expectations.every((e) => e.matched)).toBe(true);
    expect(r.kernelNote).toMatch(/PVH ELF note/);
    expect(r.accelNote).toMatch(/^accel: tcg/);
    expect(readFileSync(r.serialLog, 'utf8')).toContain('KILN-END');
    expect(suite('exit0').cases[0]).toMatchObject({ name: 'boot', status: 'passed' });
  });

  it('exit with a failure code: unexpected exit code, decoded from (v << 1) | 1', () => {
    const r = get('exit3');
    expect(r.status).toBe('failed');
    expect(r.failure).toBe('exit-code');
    expect(r.guestExitCode).toBe(3);
    expect(r.qemuExit?.code).toBe(7);
    expect(r.reason).toBe('unexpected exit code: the guest reported 3 (QEMU status 7 = (3 << 1) | 1), expected 0');
    expect(suite('exit3').cases[0]).toMatchObject({ status: 'failed', message: r.reason });
    // The same kernel passes when 3 is declared the success code.
    expect(get('success33').status).toBe('passed');
  });

  it('hang: the overall timeout fires, registers are dumped, QEMU is gone', () => {
    const r = get('hang');
    expect(r.status).toBe('failed');
    expect(r.failure).toBe('timeout');
    expect(r.reason).toBe('timeout after 6 s: expect 1/1 "KILN-END" not seen (0 of 1 expectations matched)');
    expect(r.registers).toMatch(/EIP=/);
    expect(r.serialTail).toContain('going to sleep forever');
    expect(processGone(r.pid)).toBe(true);
    expect(suite('hang').cases[0]!.details).toContain('going to sleep forever');
  });

  it('idle timeout: no serial output for N s', () => {
    const r = get('idle');
    expect(r.failure).toBe('idle-timeout');
    expect(r.reason).toMatch(/^no serial output for 3 s \(idle timeout\)/);
    expect(processGone(r.pid)).toBe(true);
  });

  it('panic: the default fail pattern stops the test at once', () => {
    const r = get('panic');
    // The first trigger wins and the 90 s deadline would be 'timeout': the run stopped on the match, not the deadline.
    expect(r.failure).toBe('fail-pattern');
    expect(r.reason).toBe(
      'fail pattern /\\bpanic\\b/i matched: "PANIC: kernel panic: the test kernel broke on purpose"',
    );
    expect(processGone(r.pid)).toBe(true);
    expect(suite('panic').cases[0]!.message).toMatch(/fail pattern/);
  });

  it('triple fault: QMP SHUTDOWN guest-reset, registers in the report and the JUnit file', () => {
    const r = get('triple');
    expect(r.failure).toBe('triple-fault');
    expect(r.shutdownReason).toBe('guest-reset');
    expect(r.registers).toMatch(/IDT=\s+00000000 00000000/); // the null IDT the kernel loaded
    expect(r.reason).toMatch(/^triple fault/);
    expect(suite('triple').cases[0]!.details).toMatch(/info registers[\s\S]*IDT=/);
    expect(processGone(r.pid)).toBe(true);
  });

  it('KTAP: one boot becomes many cases (pass, fail, skip, todo) in the result and the JUnit file', () => {
    const r = get('ktap');
    expect(r.status).toBe('failed');
    expect(r.failure).toBe('ktap');
    expect(r.reason).toBe('KTAP: 1 of 6 cases failed (memory.free_page)');
    expect(r.guestExitCode).toBe(0);
    expect(r.ktap).toMatchObject({ total: 6, passed: 2, failed: 1, skipped: 2, todo: 1 });
    const cases = suite('ktap').cases;
    expect(cases.map((c) => `${c.name}:${c.status}`)).toEqual([
      'boot:failed',
      'boot_sanity:passed',
      'memory.alloc_page:passed',
      'memory.free_page:failed',
      'memory.huge_pages:skipped',
      'timer:skipped',
      'scheduler:skipped',
    ]);
    expect(cases[3]!.details).toBe('free_page: EXPECTATION FAILED at mm.c:42');
  });

  it('QEMU dying at start: "QEMU crashed" with its own error line', () => {
    const r = get('qemu-dies');
    expect(r.failure).toBe('qemu-crashed');
    expect(r.reason).toMatch(/^QEMU crashed: .*no-such-device-kiln/);
    expect(r.stderrTail.join('\n')).toMatch(/no-such-device-kiln/);
  });

  it('exit kind serial: a prompt without a newline ends the test as passed, then QEMU is stopped', () => {
    const r = get('prompt');
    expect(r.status, r.reason).toBe('passed');
    expect(r.evidence).toContain('exit kind serial: every expectation matched');
    expect(r.serialTail.at(-1)).toBe('kiln> ');
    expect(r.argv.join(' ')).not.toContain('isa-debug-exit');
    expect(processGone(r.pid)).toBe(true);
  });

  it('every QEMU of the matrix is gone; UEFI variable stores were not needed; JUnit totals add up', () => {
    for (const r of results) expect(processGone(r.pid)).toBe(true);
    const suites = readJUnit(junit);
    expect(suites.length).toBe(10);
    expect(suites.flatMap((s) => s.cases).filter((c) => c.status === 'failed').length).toBe(8); // 7 failing boots + memory.free_page
  });
});

describe('kiln run on x86_64', () => {
  it("the exit code is the guest's; serial is logged; --debug writes QEMU's interrupt log beside it", async () => {
    const logDir = join(dir, 'run');
    const r = await runMachine({ kernel: kernels.fail, accel: 'tcg', logDir, debug: true }, { timeout: 90 });
    expect(r.guestExitCode).toBe(3);
    expect(readFileSync(join(logDir, 'serial.log'), 'utf8')).toContain('KILN-END');
    expect(r.argv).toEqual(
      expect.arrayContaining(['-no-reboot', '-d', 'int,cpu_reset', '-D', join(logDir, 'qemu-debug.log')]),
    );
    expect(existsSync(join(logDir, 'qemu-debug.log'))).toBe(true);
    expect(processGone(r.pid)).toBe(true);
  }, 120_000);

  it("a triple fault under --debug is in QEMU's log (cpu_reset, check_exception)", async () => {
    const logDir = join(dir, 'run-triple');
    const r = await runMachine({ kernel: kernels.triple, accel: 'tcg', logDir, debug: true }, { timeout: 90 });
    expect(r.exit?.code).toBe(0); // -no-reboot turns the reset into an exit 0: why tests use QMP
    expect(r.problem).toBeUndefined();
    const log = readFileSync(join(logDir, 'qemu-debug.log'), 'utf8');
    expect(log).toMatch(/check_exception/);
    expect(log).toMatch(/Triple fault|CPU Reset/i);
  }, 120_000);

  it('runQemuTest alone: started paused (-S), resumed over QMP', async () => {
    const r = await runQemuTest({
      name: 'solo',
      kernel: kernels.ok,
      accel: 'tcg',
      expect: ['KILN-END'],
      timeout: 90,
      logDir: join(dir, 'solo'),
    });
    expect(r.status).toBe('passed');
    expect(r.argv).toContain('-S'); // started paused, resumed over QMP
    expect(r.evidence).toContain('QMP: VM started');
  }, 120_000);
});
