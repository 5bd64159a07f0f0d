// A node:test suite written as an OS project would: `import { bootConsole } from 'kiln/qemu'`
// (the package's own exports, built dist/), one boot, many commands. Run by boot-console.test.ts
// with KILN_SHELL_KERNEL pointing at the shell kernel of _shell-kernels.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bootConsole } from 'kiln/qemu';

let c;
before(async () => {
  c = await bootConsole({
    kernel: process.env.KILN_SHELL_KERNEL,
    accel: 'tcg',
    exit: { kind: 'serial' },
    logDir: process.env.KILN_LOG_DIR,
  });
  await c.expect('$ ', { timeout: 60 });
});
after(async () => {
  await c?.exit();
});

test('echo answers', async () => {
  assert.equal(await c.run('echo node test'), 'node test');
});

test('a pid is captured and killed', async () => {
  await c.send('pid\n');
  const pid = await c.capture(/pid=(\d+)\r?\n/);
  await c.expect('$ ');
  assert.equal(await c.run(`kill ${pid}`), `killed ${pid}`);
});

test('the monitor says the VM runs', async () => {
  assert.match(await c.monitor('info status'), /VM status: running/);
});
