import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { kilnBin, runKiln, tempDir, waitUntil } from '../_helpers.js';
import { events, runs, writeProject } from './_project.js';

const root = tempDir('kiln-graph-');
let dir: string;
let n = 0;
const env = () => ({ RUNS_LOG: join(dir, 'runs.log') });
const build = (...args: string[]) => runKiln(['build', '--json', ...args], { cwd: dir, env: env() });

// a → b → d, a → c → d, e independent
const diamond = [
  { name: 'a', inputs: ['a.src'] },
  { name: 'b', deps: ['a'], inputs: ['b.src'] },
  { name: 'c', deps: ['a'] },
  { name: 'd', deps: ['b', 'c'] },
  { name: 'e', inputs: ['e.src'] },
];

beforeEach(() => {
  dir = join(root, `p${n++}`);
  writeProject(dir, diamond);
  for (const f of ['a', 'b', 'e']) writeFileSync(join(dir, `${f}.src`), `${f}-v1`);
});

describe('kiln build', () => {
  it('runs steps in dependency order and writes outputs under build/<arch>-<profile>/', () => {
    const r = build();
    expect(r.status, r.stderr).toBe(0);
    const order = runs(dir);
    expect(order.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    const log = readFileSync(join(dir, 'runs.log'), 'utf8');
    const time = (s: string, what: string) => Number(new RegExp(`^${s} ${what} (\\d+)$`, 'm').exec(log)![1]);
    expect(time('a', 'end')).toBeLessThanOrEqual(time('b', 'start'));
    expect(time('b', 'end')).toBeLessThanOrEqual(time('d', 'start'));
    expect(time('c', 'end')).toBeLessThanOrEqual(time('d', 'start'));
    expect(readFileSync(join(dir, 'build/x86_64-debug/d.txt'), 'utf8')).toBe('d(b(b-v1|a(a-v1))|c(a(a-v1)))');
    const finish = events(r.stdout).find((e) => e.type === 'build-finish')!;
    expect(finish.ok).toBe(true);
    expect(existsSync(join(dir, 'build/logs/build.log'))).toBe(true);
  });

  it('runs independent steps in parallel with -j', () => {
    // Each step finishes only once all three started: a build running them one at a time never ends.
    writeProject(dir, [
      { name: 'p1', wait: 'starts:3' },
      { name: 'p2', wait: 'starts:3' },
      { name: 'p3', wait: 'starts:3' },
    ]);
    expect(build('-j', '3').status).toBe(0);
    // All three started before any finished: they overlapped. Compared by their order in the log (each
    // step appends its line as it happens); millisecond stamps can be equal.
    const lines = readFileSync(join(dir, 'runs.log'), 'utf8').split('\n');
    const starts = lines.flatMap((l, i) => (/^p\d start \d+$/.test(l) ? [i] : []));
    const ends = lines.flatMap((l, i) => (/^p\d end \d+$/.test(l) ? [i] : []));
    expect(starts).toHaveLength(3);
    expect(ends).toHaveLength(3);
    expect(Math.max(...starts)).toBeLessThan(Math.min(...ends));
  });

  it('a second build runs zero steps', () => {
    expect(build().status).toBe(0);
    const r = build();
    expect(r.status).toBe(0);
    const finish = events(r.stdout).find((e) => e.type === 'build-finish')!;
    expect(finish.counts).toMatchObject({ ran: 0, cached: 0, 'up-to-date': 5 });
    expect(runs(dir)).toHaveLength(5);
  });

  it('touching one input reruns exactly its dependents; same content after touch reruns nothing', () => {
    expect(build().status).toBe(0);
    writeFileSync(join(dir, 'b.src'), 'b-v2');
    const r = build();
    expect(r.status).toBe(0);
    expect(runs(dir).slice(5).sort()).toEqual(['b', 'd']);
    const started = events(r.stdout).filter((e) => e.type === 'step-start');
    expect(started.find((e) => e.step === 'b')!.reason).toContain('file:b.src changed');
    // mtime changes but content does not: hash from content, nothing runs.
    const t = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'e.src'), t, t);
    expect(build().status).toBe(0);
    expect(runs(dir)).toHaveLength(7);
  });

  it('early cutoff: a rerun that produces identical output does not rerun its dependents', () => {
    writeProject(dir, [
      { name: 'gen', inputs: ['a.src'] },
      { name: 'use', deps: ['gen'] },
    ]);
    const envC = { ...env(), CONSTANT_OUTPUT: '' };
    expect(runKiln(['build'], { cwd: dir, env: envC }).status).toBe(0);
    // gen's env changes (so it reruns) but its output stays byte-identical? No: make it constant on both runs.
    writeFileSync(join(dir, 'a.src'), 'changed');
    const r = runKiln(['build', '--json'], { cwd: dir, env: { ...env(), CONSTANT_OUTPUT: 'gen' } });
    expect(r.status).toBe(0);
    // gen ran (input and env changed); its output changed to 'constant', so use ran too.
    expect(runs(dir).slice(2)).toEqual(['gen', 'use']);
    writeFileSync(join(dir, 'a.src'), 'changed again');
    const r2 = runKiln(['build', '--json'], { cwd: dir, env: { ...env(), CONSTANT_OUTPUT: 'gen' } });
    const fin = events(r2.stdout).filter((e) => e.type === 'step-finish');
    expect(fin.find((e) => e.step === 'gen')!.status).toBe('ran');
    expect(fin.find((e) => e.step === 'use')!.status).toBe('up-to-date');
  });

  it('restores from the cache after the build folder is removed, verifying objects', () => {
    expect(build().status).toBe(0);
    rmSync(join(dir, 'build'), { recursive: true });
    const r = build();
    expect(events(r.stdout).find((e) => e.type === 'build-finish')!.counts).toMatchObject({ ran: 0, cached: 5 });
    expect(runs(dir)).toHaveLength(5);
    expect(readFileSync(join(dir, 'build/x86_64-debug/d.txt'), 'utf8')).toBe('d(b(b-v1|a(a-v1))|c(a(a-v1)))');
  });

  it('--clean is a complete rebuild: the build folder goes and every step runs again (nothing from the cache)', () => {
    expect(build().status).toBe(0);
    writeFileSync(join(dir, 'build/x86_64-debug/stray.txt'), 'left over');
    const r = build('--clean');
    expect(r.status, r.stderr).toBe(0);
    expect(events(r.stdout).find((e) => e.type === 'build-finish')!.counts).toMatchObject({ ran: 5, cached: 0 });
    expect(runs(dir)).toHaveLength(10);
    expect(existsSync(join(dir, 'build/x86_64-debug/stray.txt'))).toBe(false);
    expect(readFileSync(join(dir, 'build/x86_64-debug/d.txt'), 'utf8')).toBe('d(b(b-v1|a(a-v1))|c(a(a-v1)))');
  });

  it('a corrupt cache object is detected and the step reruns', () => {
    expect(build().status).toBe(0);
    const out = join(dir, 'build/x86_64-debug/a.txt');
    rmSync(join(dir, 'build'), { recursive: true });
    // Corrupt every object in the CAS (as a crash or disk error would).
    const cas = join(dir, '.kiln/cache/cas');
    for (const sub of readdirSync(cas))
      for (const f of readdirSync(join(cas, sub))) writeFileSync(join(cas, sub, f), 'garbage');
    const r = build();
    expect(r.status).toBe(0);
    expect(runs(dir)).toHaveLength(10);
    expect(readFileSync(out, 'utf8')).toBe('a(a-v1)');
  });

  it('a failing step shows its command, exit code and output tail; dependents are skipped; --keep-going finishes independent steps', () => {
    const r = runKiln(['build', '--plain', '-j', '1'], { cwd: dir, env: { ...env(), FAIL_STEP: 'b' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('FAILED b');
    expect(r.stderr).toContain('exit code 3');
    expect(r.stderr).toContain('error: boom at line 3');
    expect(r.stderr).toMatch(/command: .*step\.mjs b/);
    // Skipped steps come after the failure, on one line with a count (not a line each).
    expect(r.stderr).toMatch(/skipped 1 step that needs a failed step: d\n|not started: \d steps .*\bd\b/);
    expect(r.stderr.indexOf('FAILED b')).toBeLessThan(r.stderr.search(/skipped|not started/));
    const k = runKiln(['build', '--json', '--keep-going'], { cwd: dir, env: { ...env(), FAIL_STEP: 'b' } });
    const fin = events(k.stdout).filter((e) => e.type === 'step-finish');
    expect(fin.find((e) => e.step === 'e')!.status).not.toBe('skipped');
    expect(fin.find((e) => e.step === 'c')!.status).not.toBe('skipped');
    expect(fin.find((e) => e.step === 'd')!.status).toBe('skipped');
    expect(existsSync(join(dir, 'build/x86_64-debug/b.txt'))).toBe(false);
  });

  it('kill -9 mid-build, then a rebuild is correct', async () => {
    writeProject(dir, [{ name: 'slow1', wait: 'file:release' }, { name: 'slow2', deps: ['slow1'] }, { name: 'fast' }]);
    const child = spawn(process.execPath, [kilnBin, 'build', '--plain'], {
      cwd: dir,
      env: { ...process.env, ...env() },
      stdio: 'ignore',
      detached: true,
    });
    // Once slow1 has started (it waits for a file that does not exist yet), kill kiln and its children at once.
    await waitUntil(() => readFileSafe(join(dir, 'runs.log')).includes('slow1 start'));
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.on('exit', r));
    writeFileSync(join(dir, 'release'), '');
    const r = build();
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'build/x86_64-debug/slow2.txt'), 'utf8')).toBe('slow2(slow1())');
    const again = build();
    expect(events(again.stdout).find((e) => e.type === 'build-finish')!.counts).toMatchObject({ ran: 0 });
  });

  it('a second concurrent build waits for the lock and says so; --no-wait fails', async () => {
    // The first build's step holds the lock until the test creates `release`.
    writeProject(dir, [{ name: 'slow', wait: 'file:release' }]);
    const first = spawn(process.execPath, [kilnBin, 'build', '--plain'], {
      cwd: dir,
      env: { ...process.env, ...env() },
      stdio: 'ignore',
    });
    const firstExit = new Promise<number | null>((r) => first.on('exit', (c) => r(c)));
    await waitUntil(() => readFileSafe(join(dir, 'runs.log')).includes('slow start'));
    const noWait = runKiln(['build', '--no-wait'], { cwd: dir, env: env() });
    expect(noWait.status).toBe(1);
    expect(noWait.stderr).toMatch(/another kiln \(pid \d+\) is building/);
    const second = spawn(process.execPath, [kilnBin, 'build', '--plain'], {
      cwd: dir,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env() },
    });
    let secondErr = '';
    second.stderr.setEncoding('utf8').on('data', (c: string) => (secondErr += c));
    const secondExit = new Promise<number | null>((r) => second.on('exit', (c) => r(c)));
    // The second build says it waits; only then does the first one's step finish.
    await waitUntil(() => /waiting for the build lock held by pid \d+/.test(secondErr));
    writeFileSync(join(dir, 'release'), '');
    expect(await firstExit).toBe(0);
    expect(await secondExit, secondErr).toBe(0);
    expect(runs(dir)).toEqual(['slow']);
  });

  it('writes a Chrome trace and renders the graph', () => {
    const trace = join(dir, 'trace.json');
    expect(runKiln(['build', '--trace', trace], { cwd: dir, env: env() }).status).toBe(0);
    const t = JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: Array<{ name: string; ph: string }> };
    expect(t.traceEvents.filter((e) => e.ph === 'X').map((e) => e.name)).toEqual(
      expect.arrayContaining(['a', 'b', 'c', 'd', 'e', 'build']),
    );
    const dot = runKiln(['graph', '--format', 'dot'], { cwd: dir });
    expect(dot.stdout).toContain('"a" -> "b"');
    const mermaid = runKiln(['graph', '--format', 'mermaid'], { cwd: dir });
    expect(mermaid.stdout).toContain('b --> d');
  });
});

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('Ctrl-C', () => {
  it('kills the whole subprocess tree, writes no output and exits 130', async () => {
    const d = join(root, 'sigint');
    writeProject(d, []);
    // A step whose command starts a grandchild (sleep) and waits for it.
    writeFileSync(
      join(d, 'kiln.config.ts'),
      `import { defineConfig, command, out } from 'kiln';
export default defineConfig({ name: 'sigint', components: {
  slow: command({ argv: ['sh', '-c', 'echo $$ > pids.txt; sleep 300 & echo $! >> pids.txt; wait; echo done > "$0"', out('slow.txt')], outputs: ['slow.txt'], untracked: true }),
} });
`,
    );
    const child = spawn(process.execPath, [kilnBin, 'build', '--plain'], {
      cwd: d,
      env: { ...process.env, CI: 'true' },
      stdio: 'ignore',
    });
    await waitUntil(() => readFileSafe(join(d, 'pids.txt')).trim().split('\n').length >= 2);
    const pids = readFileSafe(join(d, 'pids.txt')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(130);
    // Gone, or a zombie waiting for a reaper (a container's PID 1 may not reap): not running. A kill
    // signal takes effect asynchronously, so wait for it; a survivor (sleep 300) times the test out.
    const running = (pid: number) => !['', 'Z'].includes(/\) (\S)/.exec(readFileSafe(`/proc/${pid}/stat`))?.[1] ?? '');
    await waitUntil(() => !pids.some(running));
    expect(existsSync(join(d, 'build/x86_64-debug/slow.txt'))).toBe(false);
  });
});
