// Timeouts are validated (issue 15, item 6): 0, negative, not a number, or more than Node's timer
// holds (2^31-1 ms = 2,147,483 s) is a usage error with the accepted range (exit 2), on the command
// line and in a config; the largest accepted value really waits (a real guest passes).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKiln, runKilnAsync, tempDir } from '../_helpers.js';
import { buildX86Kernel } from '../qemu/_kernels.js';

const dir = tempDir('kiln-timeouts-');
const RANGE = 'expected a number of seconds > 0 and <= 2147483 (about 24.8 days';
const BAD = ['0', '-5', 'abc', '', '2147484', '1e12', 'Infinity', 'NaN'];
let kernel = '';

beforeAll(() => {
  kernel = buildX86Kernel(join(dir, 'k'), 'ok');
});

describe('--timeout, --idle-timeout, --step-timeout', () => {
  for (const [command, flag] of [
    ['test', '--timeout'],
    ['test', '--idle-timeout'],
    ['test', '--step-timeout'],
    ['run', '--timeout'],
  ] as const) {
    it(`kiln ${command} ${flag}: ${BAD.map((b) => JSON.stringify(b)).join(', ')} → exit 2 with the range`, () => {
      for (const value of BAD) {
        const r = runKiln(
          [command, '--kernel', kernel, '--accel', 'tcg', '--no-serial', `${flag}=${value}`].filter(
            (a) => command === 'run' || a !== '--no-serial',
          ),
          { cwd: dir },
        );
        expect(r.status, `${flag}=${value}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`${flag}: ${RANGE}`);
        expect(r.stderr).toContain(`got ${JSON.stringify(value)}`);
        expect(r.stderr).not.toMatch(/timeout after/);
      }
    });
  }

  it('the largest accepted --timeout (2147483 s) waits: the guest passes', async () => {
    const r = await runKilnAsync(
      ['test', '--kernel', kernel, '--accel', 'tcg', '--expect', 'KILN-END', '--timeout', '2147483'],
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PASS/);
  }, 120_000);
});

describe('timeouts in a config', () => {
  const project = (name: string, body: string): string => {
    const p = join(dir, name);
    mkdirSync(p, { recursive: true });
    writeFileSync(
      join(p, 'kiln.config.ts'),
      `import { defineConfig, command } from 'kiln';\nexport default defineConfig(${body});\n`,
    );
    return p;
  };

  it('tests.<name>.timeout / idleTimeout out of range: exit 2 naming the config path and the range', () => {
    for (const [key, value] of [
      ['timeout', '0'],
      ['timeout', '1e12'],
      ['idleTimeout', '-1'],
      ['stepTimeout', '2147484'],
    ]) {
      const p = project(
        `t-${key}-${value}`,
        `{ name: 't', run: { kernel: 'k.elf' }, tests: { boot: { ${key}: ${value}, expect: ['x'] } } }`,
      );
      const r = runKiln(['graph'], { cwd: p });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`tests.boot.${key}: ${RANGE}`);
    }
  });

  it('command({ timeout }) out of range is refused when the graph is planned', () => {
    const p = project('cmd', `{ name: 'c', steps: { slow: command({ argv: ['true'], outputs: [], timeout: 3e9 }) } }`);
    const r = runKiln(['graph'], { cwd: p });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`steps.slow.timeout: ${RANGE}`);
  });
});
