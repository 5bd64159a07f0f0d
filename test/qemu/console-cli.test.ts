// Talking to a guest from the command line (built CLI, real QEMU under TCG, the line-editing shell
// kernel of _shell-kernels.ts): piped stdin into `kiln run`, a terminal with the Ctrl-] escape,
// `kiln test --send/--key/--expect` in order, `--script` files (text and TypeScript), and a
// project whose kiln.config.ts test carries a script.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readJUnit } from '../../src/report/junit.js';
import { kilnBin, repoRoot, runKilnAsync, tempDir } from '../_helpers.js';
import { buildX86Shell } from './_shell-kernels.js';

const dir = tempDir('kiln-console-cli-');
let shell = '';

beforeAll(() => {
  shell = buildX86Shell(join(dir, 'k'));
});

describe("kiln run with the guest's console", () => {
  it("piped stdin reaches the guest's serial port: printf 'echo ...\\nexit\\n' | kiln run", async () => {
    const r = await runKilnAsync(
      ['run', '--kernel', shell, '--accel', 'tcg', '--log-dir', join(dir, 'run-pipe'), '--timeout', '120'],
      { input: 'echo piped through stdin\nexit\n' },
    );
    expect(r.stderr).toContain('guest exit code 0');
    expect(r.status).toBe(0);
    expect(r.stdout.replace(/\r/g, '')).toMatch(/^piped through stdin$/m);
    expect(r.stdout).toContain('bye');
  }, 180_000);

  it('on a terminal keys go to the guest (Ctrl-C included) and Ctrl-] stops QEMU', async () => {
    // util-linux `script` gives kiln a pseudo-terminal as stdin; we type into it.
    const command = [
      process.execPath,
      kilnBin,
      'run',
      '--kernel',
      shell,
      '--accel',
      'tcg',
      '--log-dir',
      join(dir, 'run-tty'),
      '--timeout',
      '120',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    const seen = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`not seen: ${JSON.stringify(text)} in ${JSON.stringify(out)}`)),
          90_000,
        );
        const check = () => {
          if (out.includes(text)) {
            clearTimeout(timer);
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await seen('$ ');
    child.stdin.write('echo half');
    await seen('echo half');
    child.stdin.write('\x03'); // Ctrl-C: the guest's shell prints ^C and a new prompt; kiln keeps running
    await seen('^C');
    child.stdin.write('echo from the terminal\r');
    await seen('\nfrom the terminal\r'); // the guest's answer on a line of its own
    child.stdin.write('\x1d'); // Ctrl-]
    const code = await closed;
    expect(out).toContain('kiln: keys go to the guest (Ctrl-C too); Ctrl-] stops QEMU');
    expect(out).toContain('kiln: stopped with the escape key (Ctrl-])');
    expect(code).toBe(1);
  }, 180_000);
});

describe('kiln test --send / --key / --script', () => {
  it('--expect, --send and --key run in command-line order as a script; --json carries every step', async () => {
    const r = await runKilnAsync(
      [
        'test',
        '--kernel',
        shell,
        '--accel',
        'tcg',
        '--exit',
        'serial',
        '--log-dir',
        join(dir, 'send'),
        '--json',
        '--expect',
        '$ ',
        '--send',
        'echo one\\n',
        '--expect',
        '/^one$/m',
        '--send',
        'echo tw',
        '--key',
        'backspace',
        '--send',
        'wo\\n',
        '--expect',
        '/^two$/m',
        '--expect',
        '$ ',
      ],
      { timeoutMs: 180_000 },
    );
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout) as {
      ok: boolean;
      results: Array<{
        status: string;
        expectations: unknown[];
        script: { steps: Array<{ index: number; step: string; status: string; durationMs: number; matched?: string }> };
      }>;
    };
    expect(json.ok).toBe(true);
    const res = json.results[0]!;
    expect(res.expectations).toEqual([]);
    expect(res.script.steps.map((s) => s.step)).toEqual([
      'expect "$ "',
      'send "echo one\\n"',
      'expect /^one$/m',
      'send "echo tw"',
      'key backspace',
      'send "wo\\n"',
      'expect /^two$/m',
      'expect "$ "',
    ]);
    expect(res.script.steps.every((s) => s.status === 'passed' && typeof s.durationMs === 'number')).toBe(true);
    expect(res.script.steps[6]!.matched).toBe('two'); // the backspace erased the second w
  }, 180_000);

  it('a text --script whose guest stops answering fails in the named step, with JUnit per step', async () => {
    const file = join(dir, 'hang.script');
    writeFileSync(
      file,
      [
        '# the shell stops reading after `hang`',
        'expect $ ',
        'send hang\\n',
        'expect hanging',
        'send echo hi\\n',
        'expect timeout=3 /^hi$/m',
        'send exit\\n',
        '',
      ].join('\n'),
    );
    const junit = join(dir, 'hang.xml');
    const r = await runKilnAsync(
      [
        'test',
        '--kernel',
        shell,
        '--accel',
        'tcg',
        '--timeout',
        '200',
        '--log-dir',
        join(dir, 'hang'),
        '--script',
        file,
        '--junit',
        junit,
      ],
      { timeoutMs: 180_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('FAIL shell-x86 [x86_64]');
    expect(r.stderr).toContain('step 5/6: expect /^hi$/m not seen within 3 s (after "echo hi\\n" was sent)');
    const cases = readJUnit(readFileSync(junit, 'utf8'))[0]!.cases;
    expect(cases.map((c) => c.status)).toEqual(['failed', 'passed', 'passed', 'passed', 'passed', 'failed', 'skipped']);
    expect(cases[5]!.name).toBe('5 expect /^hi$/m');
  }, 180_000);

  it('a TypeScript --script module: captured values are reused, the monitor answers', async () => {
    const file = join(dir, 'shell.script.ts');
    writeFileSync(
      file,
      `import { guest } from 'kiln';
export default [
  guest.expect('$ '),
  guest.send('pid\\n'),
  guest.capture(/pid=(\\d+)\\r?\\n/, 'pid'),
  guest.send((v) => \`kill \${v.pid}\\n\`),
  guest.expect(/^killed \\d+$/m),
  guest.send('info status\\n', { to: 'monitor' }),
  guest.expect('VM status: running', { on: 'monitor' }),
];
`,
    );
    const r = await runKilnAsync(
      [
        'test',
        '--kernel',
        shell,
        '--accel',
        'tcg',
        '--exit',
        'serial',
        '--log-dir',
        join(dir, 'ts'),
        '--script',
        file,
        '--json',
      ],
      { timeoutMs: 180_000 },
    );
    expect(r.stderr).toBe('');
    const res = (
      JSON.parse(r.stdout) as {
        results: Array<{
          status: string;
          script: { captured: Record<string, string>; steps: Array<{ matched?: string }> };
        }>;
      }
    ).results[0]!;
    expect(res.status).toBe('passed');
    expect(res.script.steps[4]!.matched).toBe(`killed ${res.script.captured.pid}`);
  }, 180_000);

  it('a bad --script line is a usage error naming the file and line', async () => {
    const file = join(dir, 'bad.script');
    writeFileSync(file, 'expect $ \nsned x\n');
    const r = await runKilnAsync(['test', '--kernel', shell, '--script', file], { timeoutMs: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('bad.script:2');
    expect(r.stderr).toContain('unknown step "sned"');
  }, 60_000);
});

describe('a project test with a script in kiln.config.ts', () => {
  it('passes through kiln test, and a bad step is refused with its config path', async () => {
    const project = join(dir, 'project');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(project, { recursive: true });
    copyFileSync(shell, join(project, 'shell.elf'));
    const config = (steps: string) => `import { defineConfig, guest } from 'kiln';
export default defineConfig({
  name: 'shelltest',
  tests: {
    shell: {
      kernel: 'shell.elf',
      exit: { kind: 'serial' },
      stepTimeout: 30,
      script: [${steps}],
    },
  },
});
`;
    writeFileSync(
      join(project, 'kiln.config.ts'),
      config(
        `guest.expect('$ '), guest.send('echo from config\\n'), guest.expect(/^from config$/m), guest.key('ctrl-c'), guest.expect('^C')`,
      ),
    );
    const r = await runKilnAsync(['test', '--json'], { cwd: project, timeoutMs: 180_000 });
    const res = JSON.parse(r.stdout) as { ok: boolean; results: Array<{ name: string; script: { steps: unknown[] } }> };
    expect(res.ok).toBe(true);
    expect(res.results[0]!.script.steps.length).toBe(5);
    writeFileSync(join(project, 'kiln.config.ts'), config(`guest.expect('$ '), { kind: 'key', key: 'ctrl-1' }`));
    const bad = await runKilnAsync(['test'], { cwd: project, timeoutMs: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('tests.shell.script[1].key: expected a key such as ctrl-c');
  }, 240_000);
});
