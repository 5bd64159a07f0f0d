// The `kiln run` / `kiln test` commands (built CLI): exit code = the guest's verdict, serial on the
// terminal or not, --dry-run, --gdb with a real gdb session, JUnit and JSON, an arch matrix with -j.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readJUnit } from '../../src/report/junit.js';
import { kilnBin, runKiln, tempDir } from '../_helpers.js';
import { buildA64Kernel, buildX86Kernel, processGone } from './_kernels.js';

const dir = tempDir('kiln-qemu-cli-');
let ok = '';
let fail = '';

beforeAll(() => {
  ok = buildX86Kernel(join(dir, 'k'), 'ok');
  fail = buildX86Kernel(join(dir, 'k'), 'fail');
  for (const arch of ['x86_64', 'aarch64'] as const) {
    mkdirSync(join(dir, arch), { recursive: true });
    copyFileSync(arch === 'x86_64' ? ok : buildA64Kernel(join(dir, 'k'), 'ok'), join(dir, arch, 'kernel.elf'));
  }
});

describe('kiln run', () => {
  it("shows serial on the terminal, logs it, and exits with the guest's code", () => {
    const logs = join(dir, 'run-ok');
    const r = runKiln(['run', '--kernel', ok, '--accel', 'tcg', '--log-dir', logs]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('KILN-END');
    expect(r.stderr).toMatch(/kiln: kernel: PVH ELF note/);
    expect(readFileSync(join(logs, 'serial.log'), 'utf8')).toContain('KILN-END');
  });

  it('--no-serial keeps the terminal quiet; exit code 3 from isa-debug-exit status 7', () => {
    const logs = join(dir, 'run-fail');
    const r = runKiln(['run', '--kernel', fail, '--accel', 'tcg', '--no-serial', '--log-dir', logs]);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('guest exit code 3 (QEMU exit status 7)');
    // --no-serial means no serial logging at all (Portix's "Disable serial port logging"): no serial.log.
    expect(existsSync(join(logs, 'serial.log'))).toBe(false);
  });

  it('--timeout stops a hanging guest: exit code 1, the reason, QEMU gone', () => {
    const hang = buildX86Kernel(join(dir, 'k'), 'hang');
    const r = runKiln([
      'run',
      '--kernel',
      hang,
      '--accel',
      'tcg',
      '--timeout',
      '3',
      '--log-dir',
      join(dir, 'run-hang'),
    ]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('going to sleep forever');
    expect(r.stderr).toContain('kiln: timeout after 3 s (QEMU killed)');
    const ps = spawnSync('pgrep', ['-f', hang], { encoding: 'utf8' }); // QEMU's argv holds the kernel path
    expect(ps.stdout.trim()).toBe('');
  });

  it('--dry-run prints the exact command and starts nothing', () => {
    const logs = join(dir, 'dry');
    const r = runKiln([
      'run',
      '--kernel',
      ok,
      '--accel',
      'tcg',
      '--memory',
      '256M',
      '--smp',
      '2',
      '--append',
      'console=ttyS0',
      '--log-dir',
      logs,
      '--dry-run',
      '--',
      '-d',
      'guest_errors',
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(
      `qemu-system-x86_64 -machine q35 -accel tcg -m 256M -smp 2 -display none -monitor none -serial stdio -nic none -kernel ${ok} -append console=ttyS0 -device isa-debug-exit,iobase=0xf4,iosize=0x4 -d guest_errors`,
    );
    expect(existsSync(join(logs, 'serial.log'))).toBe(false);
  });

  it('an empty command or a missing image: error with what to do', () => {
    const r = runKiln(['run', '--accel', 'tcg']);
    expect(r.status).toBe(2); // a usage error: nothing given to boot
    expect(r.stderr).toMatch(/error: nothing to boot/);
    expect(r.stderr).toMatch(/hint: give --kernel FILE, --image FILE or --cdrom FILE/);
    const missing = runKiln(['run', '--image', join(dir, 'nope.img'), '--accel', 'tcg']);
    expect(missing.stderr).toMatch(/disk image .*nope\.img does not exist/);
    const noQemu = runKiln(['test', '--kernel', ok, '--qemu', join(dir, 'no-qemu-here'), '--accel', 'tcg']);
    expect(noQemu.status).toBe(1);
    expect(noQemu.stderr).toMatch(/error: .*no-qemu-here not found\n\s+hint: check the --qemu path/);
  });

  it('--gdb PORT: halts, prints the gdb command, and a real gdb stops at the kernel entry', async () => {
    const port = 20000 + (process.pid % 20000);
    const child = spawn(
      process.execPath,
      [kilnBin, 'run', '--kernel', ok, '--accel', 'tcg', '--gdb', String(port), '--log-dir', join(dir, 'gdb')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const gdbLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no gdb line: ${stderr}`)), 60_000);
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /^\s+(gdb -q .*)$/m.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    expect(gdbLine).toBe(`gdb -q ${ok} -ex 'target remote localhost:${port}' -ex 'break *0x100000'`);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const g = spawnSync(
      'gdb',
      [
        '-q',
        '-batch',
        ok,
        '-ex',
        `target remote localhost:${port}`,
        '-ex',
        'break *0x100000',
        '-ex',
        'continue',
        '-ex',
        'continue',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(g.stdout).toMatch(/Breakpoint 1, 0x0+100000 in _start/);
    expect(await exited).toBe(0);
    expect(stdout).toContain('KILN-END');
    expect(processGone(child.pid)).toBe(true);
  }, 120_000);
});

describe('kiln test', () => {
  it('pass: exit code 0, JUnit and JSON agree', () => {
    const junit = join(dir, 'pass.xml');
    const r = runKiln([
      'test',
      '--kernel',
      ok,
      '--accel',
      'tcg',
      '--expect',
      'kiln test kernel',
      'KILN-END',
      '--junit',
      junit,
      '--json',
      '--log-dir',
      join(dir, 't-pass'),
    ]);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout) as {
      ok: boolean;
      results: { status: string; guestExitCode: number; evidence: string[] }[];
    };
    expect(json.ok).toBe(true);
    expect(json.results[0]).toMatchObject({ status: 'passed', guestExitCode: 0 });
    expect(readJUnit(readFileSync(junit, 'utf8'))[0]!.cases[0]).toMatchObject({ name: 'boot', status: 'passed' });
  });

  it('fail: exit code 1, one-line reason and the last serial lines on stderr', () => {
    const junit = join(dir, 'fail.xml');
    const r = runKiln([
      'test',
      '--kernel',
      fail,
      '--accel',
      'tcg',
      '--expect',
      'KILN-END',
      '--junit',
      junit,
      '--log-dir',
      join(dir, 't-fail'),
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^FAIL x86-fail \[x86_64\] \([\d.]+ s\): unexpected exit code: the guest reported 3 \(QEMU status 7 = \(3 << 1\) \| 1\), expected 0$/m,
    );
    expect(r.stderr).toMatch(/last 2 serial lines .*:\n\s+\| kiln test kernel x86_64\n\s+\| KILN-END/);
    expect(readJUnit(readFileSync(junit, 'utf8'))[0]!.cases[0]!.status).toBe('failed');
    // --exit-code declares what success looks like.
    expect(
      runKiln([
        'test',
        '--kernel',
        fail,
        '--accel',
        'tcg',
        '--expect',
        'KILN-END',
        '--exit-code',
        '3',
        '--log-dir',
        join(dir, 't-fail3'),
      ]).status,
    ).toBe(0);
  });

  it('a missing expectation fails even with the right exit code (a verdict never rests on one signal)', () => {
    const r = runKiln([
      'test',
      '--kernel',
      ok,
      '--accel',
      'tcg',
      '--expect',
      'KILN-END',
      '/never printed \\d+/',
      '--log-dir',
      join(dir, 't-miss'),
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /missing expectation \/never printed \\d\+\/ \(1 of 2 expectations matched\) before QEMU exited \(exit status 1\)/,
    );
  });

  it('matrix: --arch x86_64 --arch aarch64 with {arch} in the path, -j 2, JUnit has both', () => {
    const junit = join(dir, 'matrix.xml');
    const r = runKiln([
      'test',
      '--kernel',
      join(dir, '{arch}', 'kernel.elf'),
      '--name',
      'hello',
      '--arch',
      'x86_64',
      '--arch',
      'aarch64',
      '-j',
      '2',
      '--accel',
      'tcg',
      '--expect',
      'KILN-END',
      '--junit',
      junit,
      '--log-dir',
      join(dir, 't-matrix'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PASS hello \[x86_64\]/);
    expect(r.stderr).toMatch(/PASS hello \[aarch64\]/);
    expect(
      readJUnit(readFileSync(junit, 'utf8'))
        .map((s) => s.name)
        .sort(),
    ).toEqual(['hello [aarch64]', 'hello [x86_64]']);
    expect(existsSync(join(dir, 't-matrix', 'aarch64', 'serial.log'))).toBe(true);
  });

  it('--dry-run shows the test-mode command (QMP, -no-reboot -no-shutdown, -S)', () => {
    const r = runKiln(['test', '--kernel', ok, '--accel', 'tcg', '--dry-run', '--log-dir', join(dir, 't-dry')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      `-no-reboot -no-shutdown -qmp unix:${join(dir, 't-dry')}/qmp.sock,server=on,wait=off -S`,
    );
    expect(r.stderr).toMatch(/drop -S/);
  });
});
