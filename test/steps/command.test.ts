// command({ stdout }): what a tool prints becomes one of the step's outputs (no shell redirection);
// the tool's exit code is still the step's result, and a bad stdout name is a config error.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';

const project = (name: string, script: string, stdout = 'report.txt') => {
  const dir = join(tempDir('kiln-command-'), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'kiln.config.ts'),
    `import { defineConfig, command } from 'kiln';
export default defineConfig({ name: 'c', steps: {
  report: command({ argv: [${JSON.stringify(process.execPath)}, '-e', ${JSON.stringify(script)}], outputs: ['report.txt'], stdout: ${JSON.stringify(stdout)} }),
} });
`,
  );
  return dir;
};

describe('command({ stdout })', () => {
  it('writes what the command prints (stdout and stderr) to the named output', () => {
    const dir = project(
      'ok',
      "console.log('test a ... ok'); console.error('warning: slow'); console.log('test result: ok');",
    );
    const r = runKiln(['build', '--plain'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'build/x86_64-debug/report.txt'), 'utf8').split('\n').filter(Boolean).sort()).toEqual(
      ['test a ... ok', 'test result: ok', 'warning: slow'],
    );
  });

  it('fails the step with the exit code and the output when the command fails', () => {
    const dir = project('fail', "console.log('test b ... FAILED'); process.exit(101);");
    const r = runKiln(['build', '--plain'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exit code 101|exited with 101|status 101/);
    expect(r.stderr).toContain('test b ... FAILED');
  });

  it('refuses a stdout that is not one of the outputs', () => {
    const dir = project('bad', "console.log('x')", 'other.txt');
    const r = runKiln(['build', '--plain'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/steps\.report\.stdout: stdout must name one of outputs/);
  });
});
