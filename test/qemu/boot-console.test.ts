// bootConsole (kiln/qemu) against a real QEMU (TCG) shell guest: one boot, many commands, from
// vitest here and from node:test in a child process (through the package's own `kiln/qemu` export).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootConsole, ConsoleError, type GuestConsole } from '../../src/qemu/index.js';
import { repoRoot, runAsync, tempDir } from '../_helpers.js';
import { processGone } from './_kernels.js';
import { buildA64Shell, buildX86Shell } from './_shell-kernels.js';

const dir = tempDir('kiln-boot-console-');
let x86 = '';
let a64 = '';

beforeAll(() => {
  x86 = buildX86Shell(join(dir, 'k'));
  a64 = buildA64Shell(join(dir, 'k'));
});

describe('bootConsole on the x86_64 shell', () => {
  let c: GuestConsole;
  beforeAll(async () => {
    c = await bootConsole({
      kernel: x86,
      accel: 'tcg',
      exit: { kind: 'isa-debug-exit' },
      consoles: ['serial1'],
      logDir: join(dir, 'x86'),
      timeout: 30,
    });
    await c.expect('$ ', { timeout: 60 });
  }, 120_000);
  afterAll(async () => {
    await c?.exit();
  });

  it("run() returns each command's output, 25 times in one boot", async () => {
    for (let i = 1; i <= 25; i++) expect(await c.run(`echo round ${i}`)).toBe(`round ${i}`);
  }, 120_000);

  it('capture() returns a group that the next command reuses', async () => {
    await c.send('pid\n');
    const pid = await c.capture(/pid=(\d+)\n/);
    await c.expect('$ ');
    expect(await c.run(`kill ${pid}`)).toBe(`killed ${pid}`);
    expect(await c.run(`kill ${pid}`)).toBe(`no such process ${pid}`);
  }, 60_000);

  it('keys, the second serial port and the monitor', async () => {
    await c.send('echo never');
    await c.key('ctrl-c');
    await c.expect('^C\n$ ');
    await c.send('com2 on the second port\n');
    await c.expect('on the second port', { on: 'serial1' });
    await c.expect('$ ');
    expect(await c.monitor('info status')).toContain('VM status: running');
  }, 60_000);

  it('a wait that times out is a ConsoleError naming the pattern and the last send', async () => {
    await c.send('hang\n');
    await c.expect('hanging');
    await c.send('echo hi\n');
    const error = await c.expect(/^hi$/m, { timeout: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).message).toBe('expect /^hi$/m not seen within 2 s (after "echo hi\\n" was sent)');
    expect((error as ConsoleError).tail.at(-1)).toBe('hanging');
    const r = await c.exit();
    expect(r.stopped).toBe(true);
    expect(processGone(c.pid)).toBe(true);
  }, 60_000);
});

describe('bootConsole on the aarch64 shell', () => {
  it('the guest ends by itself: exit({ wait }) returns its semihosting code', async () => {
    const c = await bootConsole({ arch: 'aarch64', kernel: a64, accel: 'tcg', logDir: join(dir, 'a64') });
    await c.expect('$ ', { timeout: 60 });
    expect(await c.run('echo arm')).toBe('arm');
    await c.send('exit\n');
    const r = await c.exit({ wait: 30 });
    expect(r).toMatchObject({ stopped: false, guestExitCode: 0 });
    // Later waits end at once, saying why.
    await expect(c.expect('anything')).rejects.toThrow(
      /not seen before (QEMU exited \(exit status 0\)|exit\(\) stopped QEMU)/,
    );
  }, 120_000);
});

describe('bootConsole from node:test', () => {
  it("an OS project's node:test suite imports kiln/qemu and passes", async () => {
    const r = await runAsync(
      [process.execPath, '--test', '--test-reporter=spec', join(repoRoot, 'test', 'qemu', '_node-test-console.mjs')],
      {
        cwd: repoRoot,
        env: { ...process.env, KILN_SHELL_KERNEL: x86, KILN_LOG_DIR: join(dir, 'node-test') },
        timeoutMs: 150_000,
      },
    );
    expect(r.stdout).toMatch(/pass 3/);
    expect(r.status).toBe(0);
  }, 180_000);
});
