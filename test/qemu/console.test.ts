// Console scripts against real QEMU (TCG) guests with a line-editing shell: COM1 (x86_64, nasm)
// and the PL011 (aarch64, clang). Every assertion reads kiln's result object or its JUnit file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  guest,
  readJUnit,
  runTests,
  testResultsToJUnit,
  type QemuArch,
  type QemuTestResult,
  type QemuTestSpec,
  type ScriptStep,
} from '../../src/qemu/index.js';
import { tempDir } from '../_helpers.js';
import { processGone } from './_kernels.js';
import { buildA64Shell, buildX86Shell } from './_shell-kernels.js';

const dir = tempDir('kiln-console-');
const kernels = {} as Record<QemuArch, string>;

beforeAll(() => {
  kernels.x86_64 = buildX86Shell(join(dir, 'k'));
  kernels.aarch64 = buildA64Shell(join(dir, 'k'));
});

// 21 round trips of `echo N` (each: send, see the answer on a line of its own, see the prompt again).
const roundTrips = (n: number): ScriptStep[] =>
  Array.from({ length: n }, (_, i) => [
    guest.send(`echo line ${i + 1}\n`),
    guest.expect(new RegExp(`^line ${i + 1}$`, 'm'), { timeout: 20 }),
    guest.expect('$ '),
  ]).flat();

// Every printable ASCII character once (minus the shell's own specials), then digits: 150 bytes.
const SLOW_TEXT =
  `${Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('')}${'0123456789'.repeat(6)}`.slice(
    0,
    150,
  );

const shellScript = (): ScriptStep[] => [
  guest.expect('$ ', { timeout: 60 }),
  ...roundTrips(21),
  // Line editing: backspace erases, Ctrl-U kills the line, Ctrl-C gives a fresh prompt.
  guest.send('echo abX'),
  guest.key('backspace'),
  guest.send('c\n'),
  guest.expect(/^abc$/m),
  guest.send('echo junk'),
  guest.key('ctrl-u'),
  guest.send('echo clean\n'),
  guest.expect(/^clean$/m),
  guest.send('echo never'),
  guest.key('ctrl-c'),
  guest.expect('^C'),
  guest.expect('$ '),
  // Capture a value and reuse it.
  guest.send('pid\n'),
  guest.capture(/pid=(\d+)/, 'pid'),
  guest.send((v) => `kill ${v.pid}\n`),
  guest.expect(/^killed \d+$/m),
  guest.send('kill 1\n'),
  guest.expect(/^no such process 1$/m),
  // QEMU's monitor: pause the VM, see it paused, resume, and the guest answers again.
  guest.send('stop\n', { to: 'monitor' }),
  guest.send('info status\n', { to: 'monitor' }),
  guest.expect('VM status: paused', { on: 'monitor' }),
  guest.send('cont\n', { to: 'monitor' }),
  guest.send('info status\n', { to: 'monitor' }),
  guest.expect('VM status: running', { on: 'monitor' }),
  guest.send('echo after monitor\n'),
  guest.expect(/^after monitor$/m),
  // A guest that reads one character every few milliseconds gets every byte, in order.
  guest.send('slow\n'),
  guest.send(`${SLOW_TEXT}\n`, { charDelay: 2 }),
  guest.expect(`slow: ${SLOW_TEXT.length} bytes: ${SLOW_TEXT}\n`, { timeout: 60 }),
  // ... and without a delay too: QEMU's UART backend reads only what the FIFO takes.
  guest.send('slow\n'),
  guest.send(`${SLOW_TEXT}\n`),
  guest.expect(`slow: ${SLOW_TEXT.length} bytes: ${SLOW_TEXT}\n`, { timeout: 60 }),
  guest.expect('$ '),
  guest.send('exit\n'),
];

const spec = (name: string, arch: QemuArch, script: ScriptStep[], over: Partial<QemuTestSpec> = {}): QemuTestSpec => ({
  name,
  arch,
  kernel: kernels[arch],
  accel: 'tcg',
  timeout: 240,
  logDir: join(dir, 'logs', `${name}-${arch}`),
  script,
  ...over,
});

describe('console scripts on a line-editing shell (x86_64 COM1, aarch64 PL011)', () => {
  let results: QemuTestResult[] = [];
  let junit = '';
  const get = (name: string, arch: QemuArch) => results.find((r) => r.name === name && r.arch === arch)!;

  beforeAll(async () => {
    const specs: QemuTestSpec[] = [];
    for (const arch of ['x86_64', 'aarch64'] as const) {
      specs.push(spec('shell', arch, shellScript()));
      specs.push(
        spec(
          'silent',
          arch,
          [
            guest.expect('$ ', { timeout: 60 }),
            guest.send('hang\n'),
            guest.expect('hanging'),
            guest.send('echo hi\n'),
            guest.expect(/^hi$/m, { timeout: 4 }),
            guest.send('exit\n'),
          ],
          { timeout: 240 },
        ),
      );
      specs.push(
        spec('exits-early', arch, [
          guest.expect('$ ', { timeout: 60 }),
          guest.send('exit\n'),
          guest.expect('never printed'),
        ]),
      );
    }
    specs.push(
      spec('com2', 'x86_64', [
        guest.expect('$ ', { timeout: 60 }),
        guest.send('com2 hello second port\n'),
        guest.expect('hello second port', { on: 'serial1', timeout: 20 }),
        guest.send('exit\n'),
      ]),
    );
    // The monitor hot-plugs a PCI device and the guest sees it in the slot that was empty.
    specs.push(
      spec(
        'hotplug',
        'x86_64',
        [
          guest.expect('$ ', { timeout: 60 }),
          guest.send('pci 6\n'),
          guest.expect(/^pci 6: ffff:ffff$/m),
          guest.send('device_add virtio-rng-pci,id=rng0,addr=6\n', { to: 'monitor' }),
          guest.send('info pci\n', { to: 'monitor' }),
          guest.expect('Class 0255: PCI device 1af4:1005', { on: 'monitor' }),
          guest.send('pci 6\n'),
          guest.expect(/^pci 6: 1af4:1005$/m),
          guest.send('exit\n'),
        ],
        { machine: 'pc' },
      ),
    );
    // A virtio console is wired up (QEMU accepts it, kiln connects and writes) even with no guest driver.
    specs.push(
      spec('virtcon', 'x86_64', [
        guest.expect('$ ', { timeout: 60 }),
        guest.send('hello\n', { to: 'virtcon' }),
        guest.send('exit\n'),
      ]),
    );
    specs.push(spec('plain-expect', 'x86_64', [], { expect: ['kiln shell', '$ ', 'not in the output'], timeout: 8 }));
    const summary = await runTests(specs, { jobs: 2 });
    results = summary.results;
    junit = testResultsToJUnit(results);
    writeFileSync(join(dir, 'junit.xml'), junit);
  }, 900_000);

  for (const arch of ['x86_64', 'aarch64'] as const) {
    it(`${arch}: a script of 21+ round trips, line editing, capture + reuse, the monitor and a slow reader passes`, () => {
      const r = get('shell', arch);
      expect(r.reason).toBeUndefined();
      expect(r.status).toBe('passed');
      expect(r.guestExitCode).toBe(0);
      const steps = r.script!.steps;
      expect(steps.every((s) => s.status === 'passed')).toBe(true);
      expect(steps.filter((s) => s.step.startsWith('expect /^line ')).length).toBe(21);
      const pid = r.script!.captured.pid!;
      expect(pid).toMatch(/^\d+$/);
      expect(steps.find((s) => s.step === 'capture pid /pid=(\\d+)/')?.captured).toEqual({ name: 'pid', value: pid });
      expect(steps.find((s) => s.step === 'expect /^killed \\d+$/m')?.matched).toBe(`killed ${pid}`);
      expect(steps.find((s) => s.step === 'send (text from captured values)')?.sent).toBe(
        JSON.stringify(`kill ${pid}\n`),
      );
      expect(r.evidence).toContain(`script: all ${steps.length} steps passed`);
      // JUnit: one case per step after the boot case, with the step's description as the name.
      const suite = readJUnit(junit).find((s) => s.name === `shell [${arch}]`)!;
      expect(suite.cases.length).toBe(1 + steps.length);
      expect(suite.cases.slice(1).every((c) => c.status === 'passed' && c.classname === `shell.${arch}.script`)).toBe(
        true,
      );
      expect(processGone(r.pid)).toBe(true);
    });

    it(`${arch}: a guest that stops answering fails in the named step after that step's 4 s, not the test's 240 s`, () => {
      const r = get('silent', arch);
      expect(r.status).toBe('failed');
      expect(r.failure).toBe('script');
      expect(r.reason).toBe('step 5/6: expect /^hi$/m not seen within 4 s (after "echo hi\\n" was sent)');
      const step = r.script!.steps[4]!;
      // The halted guest never echoed what was typed: the console ends with its last words.
      expect(step.tail?.slice(-2)).toEqual(['$ hang', 'hanging']);
      expect(r.script!.steps[5]).toMatchObject({ status: 'not-run' });
      const suite = readJUnit(junit).find((s) => s.name === `silent [${arch}]`)!;
      expect(suite.cases[5]).toMatchObject({ status: 'failed', message: r.reason });
      expect(suite.cases[5]!.details).toContain('--- last ');
      expect(suite.cases[6]).toMatchObject({ status: 'skipped', message: 'not run: an earlier step failed' });
    });

    it(`${arch}: QEMU exiting while a step waits names the step and the exit`, () => {
      const r = get('exits-early', arch);
      expect(r.status).toBe('failed');
      expect(r.failure).toBe('script');
      const exit = arch === 'x86_64' ? 'exit status 1' : 'exit status 0';
      expect(r.reason).toBe(
        `step 3/3: expect "never printed" not seen before QEMU exited (${exit}) (after "exit\\n" was sent)`,
      );
      expect(r.guestExitCode).toBe(0);
    });
  }

  it('x86_64: a step can read the second serial port (COM2 → serial1, logged to serial1.log)', () => {
    const r = get('com2', 'x86_64');
    expect(r.reason).toBeUndefined();
    // Port order: COM1 on stdio, then COM2 on the serial1 socket.
    expect(r.argv.join(' ')).toMatch(
      /-chardev socket,id=kiln-serial1,path=[^ ]+,server=on,wait=off -serial stdio -serial chardev:kiln-serial1/,
    );
  });

  it('x86_64: the monitor hot-plugs a PCI device and the guest reads it in the slot that was empty', () => {
    const r = get('hotplug', 'x86_64');
    expect(r.reason).toBeUndefined();
    expect(r.script!.steps.map((s) => s.matched).filter(Boolean)).toEqual([
      '$ ',
      'pci 6: ffff:ffff',
      'Class 0255: PCI device 1af4:1005',
      'pci 6: 1af4:1005',
    ]);
  });

  it('x86_64: a virtio console is on the command line and kiln writes to it', () => {
    const r = get('virtcon', 'x86_64');
    expect(r.reason).toBeUndefined();
    expect(r.argv.join(' ')).toMatch(
      /-device virtio-serial-pci,id=kiln-vser -chardev socket,id=kiln-virtcon,path=[^ ]+,server=on,wait=off -device virtconsole,chardev=kiln-virtcon,name=kiln.0,bus=kiln-vser.0/,
    );
  });

  it('a plain expect list that times out names the first unmatched pattern', () => {
    const r = get('plain-expect', 'x86_64');
    expect(r.failure).toBe('timeout');
    expect(r.reason).toBe('timeout after 8 s: expect 3/3 "not in the output" not seen (2 of 3 expectations matched)');
  });
});
