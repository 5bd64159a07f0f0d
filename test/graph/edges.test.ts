// The graph's edges (issue 15, item 10): outputs that are a file and a folder of each other are a
// plan-time conflict naming both config paths; `x/../same.txt` is normalized before the inside
// check; a symlink planted in build/ is replaced, never written through (run and cache-restore
// paths); `kiln clean` takes the build lock; a corrupt cache object says so in one line; a build()
// that never returns meets a deadline naming the config.
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kilnBin, runKiln, tempDir } from '../_helpers.js';

const root = tempDir('kiln-edges-');
const node = JSON.stringify(process.execPath);

function project(name: string, config: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig, command, out, write } from 'kiln';\n${config}\n`);
  return dir;
}

describe('output paths at plan time', () => {
  it('a file and a folder of it (d, d/f.txt) across steps: exit 2 naming both config paths, either order', () => {
    for (const [first, second] of [
      ['d', 'd/f.txt'],
      ['d/f.txt', 'd'],
    ] as const) {
      const dir = project(
        `conflict-${first.replace('/', '_')}`,
        `export default defineConfig({ name: 'c', steps: {
  a: write({ path: '${first}', content: 'a' }),
  b: write({ path: '${second}', content: 'b' }),
} });`,
      );
      for (const command of ['build', 'graph']) {
        const r = runKiln([command], { cwd: dir });
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain('step "a" (steps.a)');
        expect(r.stderr).toContain('step "b" (steps.b)');
        expect(r.stderr).toMatch(
          /writes the file d, and step "\w" \(steps\.\w\) writes d\/f\.txt inside it as a folder/,
        );
        expect(r.stderr).not.toMatch(/EEXIST|ENOTDIR|at .*\.js:\d+/);
      }
      expect(existsSync(join(dir, 'build'))).toBe(false);
    }
  });

  it('the same conflict inside one step, and deeper (d and d/e/f.txt)', () => {
    const dir = project(
      'conflict-one-step',
      `export default defineConfig({ name: 'c', steps: {
  one: command({ argv: ['true'], outputs: ['d/e/f.txt', 'd'] }),
} });`,
    );
    const r = runKiln(['graph'], { cwd: dir });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('writes the file d, and step "one" (steps.one) writes d/e/f.txt inside it as a folder');
  });

  it('x/../same.txt is same.txt (normalized before the inside check); ../escape.txt is refused', () => {
    const ok = project(
      'normalize',
      `export default defineConfig({ name: 'n', steps: { s: write({ path: 'x/../same.txt', content: 'same' }) } });`,
    );
    const r = runKiln(['build', '--plain'], { cwd: ok });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(ok, 'build/x86_64-debug/same.txt'), 'utf8')).toBe('same');
    const bad = project(
      'escape',
      `export default defineConfig({ name: 'n', steps: { s: write({ path: 'x/../../escape.txt', content: 'no' }) } });`,
    );
    const e = runKiln(['build', '--plain'], { cwd: bad });
    expect(e.status).toBe(2);
    expect(e.stderr).toContain('output "x/../../escape.txt" must stay inside the build folder');
    expect(existsSync(join(bad, 'build/escape.txt'))).toBe(false);
  });
});

describe('outputs are never written through a symlink planted in build/', () => {
  const outside = join(root, 'outside');
  const dir = project(
    'symlinks',
    `export default defineConfig({ name: 's', steps: {
  top: write({ path: 'top.txt', content: 'top from kiln' }),
  nested: write({ path: 'sub/f.txt', content: 'nested from kiln' }),
} });`,
  );
  const target = join(dir, 'build/x86_64-debug');

  const plant = (): void => {
    rmSync(outside, { recursive: true, force: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'victim.txt'), 'victim');
    rmSync(join(target, 'top.txt'), { force: true });
    rmSync(join(target, 'sub'), { recursive: true, force: true });
    symlinkSync(join(outside, 'victim.txt'), join(target, 'top.txt'));
    symlinkSync(outside, join(target, 'sub'));
  };
  const expectReplaced = (): void => {
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('victim');
    expect(readdirSync(outside)).toEqual(['victim.txt']);
    expect(lstatSync(join(target, 'top.txt')).isFile()).toBe(true);
    expect(lstatSync(join(target, 'sub')).isDirectory()).toBe(true);
    expect(readFileSync(join(target, 'top.txt'), 'utf8')).toBe('top from kiln');
    expect(readFileSync(join(target, 'sub/f.txt'), 'utf8')).toBe('nested from kiln');
  };

  it('when outputs are restored from the cache', () => {
    expect(runKiln(['build', '--plain'], { cwd: dir }).status).toBe(0);
    plant();
    const r = runKiln(['build', '--json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"status":"cached"');
    expectReplaced();
  });

  it('when a step runs and its outputs are moved into place', () => {
    plant();
    const r = runKiln(['build', '--json', '--force'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"status":"ran"');
    expectReplaced();
  });
});

describe('kiln clean and the build lock', () => {
  it('--no-wait refuses while a build runs; a waiting clean says so and the build still succeeds', async () => {
    const dir = project(
      'clean-lock',
      `export default defineConfig({ name: 'l', steps: {
  slow: command({ argv: [${node}, '-e', "setTimeout(() => require('fs').writeFileSync(process.argv[1], 'done'), 4000)", out('slow.txt')], outputs: ['slow.txt'] }),
} });`,
    );
    const lock = join(dir, 'build/x86_64-debug/.kiln/lock');
    const build = spawn(process.execPath, [kilnBin, 'build', '--plain'], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buildErr = '';
    build.stderr.setEncoding('utf8').on('data', (c: string) => (buildErr += c));
    const built = new Promise<number | null>((r) => build.on('close', (code) => r(code)));
    for (let i = 0; i < 300 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(lock)).toBe(true);

    const refused = runKiln(['clean', '--no-wait'], { cwd: dir });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/another kiln \(pid \d+\) is building in this folder/);
    expect(existsSync(join(dir, 'build/x86_64-debug/.kiln'))).toBe(true);

    const clean = spawn(process.execPath, [kilnBin, 'clean'], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let cleanErr = '';
    clean.stderr.setEncoding('utf8').on('data', (c: string) => (cleanErr += c));
    const cleaned = new Promise<number | null>((r) => clean.on('close', (code) => r(code)));
    expect(await built, buildErr).toBe(0);
    expect(await cleaned, cleanErr).toBe(0);
    expect(cleanErr).toMatch(/waiting for the build lock of build\/x86_64-debug held by pid \d+/);
    expect(buildErr).toContain('built slow');
    expect(existsSync(join(dir, 'build'))).toBe(false);
  }, 60_000);
});

describe('a corrupt cache object', () => {
  it('is reported in one line and rebuilt', () => {
    const dir = project(
      'corrupt',
      `export default defineConfig({ name: 'k', steps: { w: write({ path: 'w.txt', content: 'content' }) } });`,
    );
    expect(runKiln(['build', '--plain'], { cwd: dir }).status).toBe(0);
    rmSync(join(dir, 'build'), { recursive: true });
    const cas = join(dir, '.kiln/cache/cas');
    for (const sub of readdirSync(cas))
      for (const f of readdirSync(join(cas, sub))) writeFileSync(join(cas, sub, f), 'garbage');
    const r = runKiln(['build', '--plain'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.includes('was corrupt'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/warning: cache object [0-9a-f]{16}… was corrupt: rebuilt/);
    expect(readFileSync(join(dir, 'build/x86_64-debug/w.txt'), 'utf8')).toBe('content');
  });
});

describe('a build() that never returns', () => {
  const dir = project(
    'hang',
    `export default defineConfig({ name: 'h', build: () => new Promise(() => { setInterval(() => {}, 1000); }) });`,
  );

  it('meets the deadline (KILN_CONFIG_TIMEOUT) with a message naming the config; exit 2', () => {
    const r = runKiln(['build', '--plain'], { cwd: dir, env: { KILN_CONFIG_TIMEOUT: '1' }, timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('kiln.config.ts: build: build() did not return within 1 s');
    expect(r.stderr).toContain('KILN_CONFIG_TIMEOUT=SECONDS (default 30)');
  });

  it('a bad KILN_CONFIG_TIMEOUT is a usage error with the range', () => {
    const r = runKiln(['graph'], { cwd: dir, env: { KILN_CONFIG_TIMEOUT: '0' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('KILN_CONFIG_TIMEOUT: expected a number of seconds > 0');
  });
});
