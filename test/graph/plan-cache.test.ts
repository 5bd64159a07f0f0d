// The plan cache through the real CLI: a build whose config, imports, options, env and target did
// not change does not evaluate the config again (the config counts its own evaluations in
// evals.log); any of those changing re-plans; a source edit does not re-plan but still rebuilds,
// running the step from the cached plan (its options kept as data); a step the cached plan cannot
// run (a kind the config defines, holding a function) makes kiln plan for real when it must run.
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runKiln, runKilnAsync, tempDir } from '../_helpers.js';
import { buildX86Kernel } from '../qemu/_kernels.js';
import { type PlanRequestKey, lookupPlan, planCachePath } from '../../src/graph/plan-cache.js';

const root = tempDir('kiln-plan-cache-');
let n = 0;

/**
 * A project whose config imports lib.ts (the text the step writes), reads the env var
 * PLAN_GREETING and lists the folder parts/ (one step per file), has a `flavor` option and two
 * arches and profiles. Each evaluation of the config appends a line to evals.log.
 */
function project(): string {
  const dir = join(root, `p${n++}`);
  mkdirSync(join(dir, 'parts'), { recursive: true });
  writeFileSync(join(dir, 'lib.ts'), `export const text = 'one';\n`);
  writeFileSync(join(dir, 'src.txt'), 'source 1\n');
  writeFileSync(join(dir, 'parts', 'a.txt'), 'part a\n');
  writeFileSync(
    join(dir, 'kiln.config.ts'),
    `import { appendFileSync, readdirSync } from 'node:fs';
import { defineConfig, command, out } from 'kiln';
import { text } from './lib.ts';
appendFileSync(${JSON.stringify(join(dir, 'evals.log'))}, 'eval\\n');
export default defineConfig({
  name: 'plan-cache',
  arch: ['x86_64', 'aarch64'],
  profiles: ['debug', 'release'],
  options: { flavor: { type: 'string', default: 'plain', help: 'a word for the note' } },
  build(t) {
    const greeting = process.env.PLAN_GREETING ?? 'hello';
    const note = [text, greeting, t.options.flavor].join(' ');
    const components: Record<string, ReturnType<typeof command>> = {
      note: command({ argv: ['sh', '-c', 'printf "%s" "$0" > "$1"', note, out('note.txt')], outputs: ['note.txt'] }),
      copy: command({ argv: ['cp', 'src.txt', out('copy.txt')], inputs: ['src.txt'], outputs: ['copy.txt'] }),
    };
    // Steps reading other steps' outputs: their keys hold artifact refs (a handle, a named output).
    components.both = command({
      argv: ['sh', '-c', 'cat "$0" "$1" > "$2"', components.note, components.copy.output('copy.txt'), out('both.txt')],
      outputs: ['both.txt'], env: ['NOT_SET_HERE'],
    });
    for (const f of readdirSync('parts')) {
      components['part-' + f.replace('.txt', '')] = command({ argv: ['cp', 'parts/' + f, out(f)], inputs: ['parts/' + f], outputs: [f] });
    }
    return { components };
  },
});
`,
  );
  return dir;
}

const evals = (dir: string): number => readFileSync(join(dir, 'evals.log'), 'utf8').split('\n').filter(Boolean).length;

function build(dir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): string {
  const r = runKiln(['build', '--plain', ...args], { cwd: dir, env: { PLAN_GREETING: undefined, ...env } });
  expect(r.stderr).not.toContain('error');
  expect(r.status).toBe(0);
  return r.stderr;
}

const note = (dir: string, target = 'x86_64-debug'): string =>
  readFileSync(join(dir, 'build', target, 'note.txt'), 'utf8');

describe('the plan cache', () => {
  it('a second build with nothing changed does not evaluate the config, and is up to date', () => {
    const dir = project();
    build(dir);
    expect(evals(dir)).toBe(1);
    const again = build(dir);
    expect(evals(dir)).toBe(1);
    expect(again).toContain('(0 ran, 0 from cache, 4 up to date)');
    expect(readdirSync(join(dir, '.kiln', 'plans'))).toHaveLength(1);
  });

  it('a change to a file the config imports re-plans, and the build uses it', () => {
    const dir = project();
    build(dir);
    writeFileSync(join(dir, 'lib.ts'), `export const text = 'two';\n`);
    const out = build(dir);
    expect(evals(dir)).toBe(2);
    expect(out).toContain('built note');
    expect(note(dir)).toBe('two hello plain');
  });

  it('an option, an env var the config reads, the arch and the profile re-plan; other env vars do not', () => {
    const dir = project();
    build(dir);
    build(dir, ['--flavor=spicy']);
    expect(evals(dir)).toBe(2);
    expect(note(dir)).toBe('one hello spicy');
    build(dir, [], { PLAN_GREETING: 'hi' });
    expect(evals(dir)).toBe(3);
    expect(note(dir)).toBe('one hi plain');
    build(dir, [], { PLAN_GREETING: 'hi', SOME_OTHER_VAR: 'x' });
    expect(evals(dir)).toBe(3);
    build(dir, ['--arch', 'aarch64']);
    expect(evals(dir)).toBe(4);
    expect(note(dir, 'aarch64-debug')).toBe('one hello plain');
    build(dir, ['--profile', 'release']);
    expect(evals(dir)).toBe(5);
    // Back to a request seen before, with the same env: its plan is still valid.
    build(dir, ['--flavor=spicy'], { PLAN_GREETING: 'hi' });
    expect(evals(dir)).toBe(6);
    build(dir, ['--flavor=spicy'], { PLAN_GREETING: 'hi' });
    expect(evals(dir)).toBe(6);
  });

  it('a folder the config lists gaining a file re-plans and builds the new step', () => {
    const dir = project();
    build(dir);
    writeFileSync(join(dir, 'parts', 'b.txt'), 'part b\n');
    const out = build(dir);
    expect(evals(dir)).toBe(2);
    expect(out).toContain('built part-b');
    expect(readFileSync(join(dir, 'build', 'x86_64-debug', 'b.txt'), 'utf8')).toBe('part b\n');
  });

  it('a source edit does not re-plan, and the edited step still rebuilds (never up to date with a stale output)', () => {
    const dir = project();
    build(dir);
    writeFileSync(join(dir, 'src.txt'), 'source 2\n');
    const out = build(dir);
    expect(out).toContain('built copy');
    expect(out).toContain('built both');
    // The steps ran from the cached plan: their options (argv with out() placeholders, a handle and
    // a named output of other steps) came back from the plan file, and the config was not evaluated.
    expect(evals(dir)).toBe(1);
    expect(readFileSync(join(dir, 'build', 'x86_64-debug', 'copy.txt'), 'utf8')).toBe('source 2\n');
    expect(readFileSync(join(dir, 'build', 'x86_64-debug', 'both.txt'), 'utf8')).toBe('one hello plainsource 2\n');
    rmSync(join(dir, 'build', 'x86_64-debug', 'copy.txt'));
    expect(build(dir)).toMatch(/(built|restored) copy/);
    expect(readFileSync(join(dir, 'build', 'x86_64-debug', 'copy.txt'), 'utf8')).toBe('source 2\n');
    expect(build(dir)).toContain('4 up to date');
    expect(evals(dir)).toBe(1);
  });

  it('a step option changed in the config re-plans, and the step runs with the new option, not the cached one', () => {
    const dir = project();
    build(dir);
    const config = join(dir, 'kiln.config.ts');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(`'printf "%s" "$0" > "$1"'`, `'printf "[%s]" "$0" > "$1"'`),
    );
    const out = build(dir);
    expect(evals(dir)).toBe(2);
    expect(out).toContain('built note');
    expect(note(dir)).toBe('[one hello plain]');
    // The new plan is the cached one now: an edit then runs from it, with the new option.
    writeFileSync(join(dir, 'lib.ts'), `export const text = 'one';\n// touched\n`);
    build(dir);
    expect(evals(dir)).toBe(3);
    rmSync(join(dir, 'build', 'x86_64-debug', 'note.txt'));
    rmSync(join(dir, '.kiln', 'cache'), { recursive: true });
    expect(build(dir)).toContain('built note');
    expect(evals(dir)).toBe(3);
    expect(note(dir)).toBe('[one hello plain]');
  });

  it('a step of a kind the config defines (options holding a function) is planned for real when it must run', () => {
    const dir = join(root, `p${n++}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'src.txt'), 'a\n');
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { command, defineConfig, defineStep, out } from 'kiln';
appendFileSync(${JSON.stringify(join(dir, 'evals.log'))}, 'eval\\n');
const shout = defineStep<{ name?: string; render: (text: string) => string }>({
  kind: 'shout',
  version: 1,
  declare: () => ({ inputs: ['src.txt'], outputs: ['shout.txt'] }),
  async make(o, ctx) {
    writeFileSync(ctx.outPath(), o.render(readFileSync(ctx.path('src.txt'), 'utf8')));
  },
});
export default defineConfig({
  name: 'custom-kind',
  build: () => {
    const loud = shout({ render: (t) => t.toUpperCase() });
    const copy = command({ argv: ['cp', loud, out('copy.txt')], outputs: ['copy.txt'] });
    return { components: { loud, copy } };
  },
});
`,
    );
    build(dir);
    expect(evals(dir)).toBe(1);
    const [file] = readdirSync(join(dir, '.kiln', 'plans'));
    const plan = JSON.parse(readFileSync(join(dir, '.kiln', 'plans', file!), 'utf8')) as {
      graph: { steps: Array<{ name: string; slow?: string }> };
    };
    expect(plan.graph.steps.find((s) => s.name === 'loud')?.slow).toBe("its kind shout is not one of kiln's own");
    expect(plan.graph.steps.find((s) => s.name === 'copy')?.slow).toBeUndefined();
    // Up to date: served by the cached plan.
    expect(build(dir)).toContain('2 up to date');
    expect(evals(dir)).toBe(1);
    // The custom step must run: kiln plans for real, and both outputs are current.
    writeFileSync(join(dir, 'src.txt'), 'b\n');
    const out = build(dir);
    expect(evals(dir)).toBe(2);
    expect(out).toContain('built loud');
    expect(readFileSync(join(dir, 'build', 'x86_64-debug', 'copy.txt'), 'utf8')).toBe('B\n');
  });

  it('a corrupt plan cache is ignored with one line', () => {
    const dir = project();
    build(dir);
    const [file] = readdirSync(join(dir, '.kiln', 'plans'));
    appendFileSync(join(dir, '.kiln', 'plans', file!), 'garbage');
    const out = build(dir);
    expect(out.split('\n').filter((l) => l.includes('plan cache'))).toEqual([
      expect.stringMatching(/^kiln: ignoring a corrupt plan cache \(.*\.json: /),
    ]);
    expect(evals(dir)).toBe(2);
    expect(build(dir)).not.toContain('plan cache');
    expect(evals(dir)).toBe(2);
  });

  it("kiln's version is part of the key", () => {
    const dir = project();
    build(dir);
    const { version, id } = JSON.parse(readFileSync(join(repoRoot, 'dist', 'build-id.json'), 'utf8')) as {
      version: string;
      id: string;
    };
    const key: PlanRequestKey = {
      configPath: join(dir, 'kiln.config.ts'),
      kilnVersion: `${version}+${id}`,
      projectArgs: [],
    };
    const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1' };
    delete env.PLAN_GREETING;
    expect('graph' in lookupPlan(key, env)).toBe(true);
    const other = { ...key, kilnVersion: `${version}+another-build` };
    expect(planCachePath(other)).not.toBe(planCachePath(key));
    expect(lookupPlan(other, env)).toEqual({ miss: 'absent' });
    // The same file claimed by another version is not used either.
    writeFileSync(planCachePath(other), readFileSync(planCachePath(key)));
    expect(lookupPlan(other, env)).toEqual({ miss: 'changed' });
  });
});

describe('kiln test, run and graph on the cached plan', () => {
  it('boot what the plan cache holds without evaluating the config, after building a stale output from it', async () => {
    const dir = join(root, `boot${n++}`);
    mkdirSync(dir, { recursive: true });
    const kernels = join(dir, 'kernels');
    copyFileSync(buildX86Kernel(kernels, 'ok'), join(dir, 'k.elf'));
    const failing = buildX86Kernel(kernels, 'fail');
    const config = (expected: string): string => `import { appendFileSync } from 'node:fs';
import { copy, defineConfig } from 'kiln';
appendFileSync(${JSON.stringify(join(dir, 'evals.log'))}, 'eval\\n');
export default defineConfig({
  name: 'boot-from-cache',
  build: () => {
    const kernel = copy({ from: 'k.elf', to: 'kernel.elf' });
    const exit = { kind: 'isa-debug-exit' as const, success: 0 };
    return {
      components: { kernel },
      run: { kernel, exit },
      tests: { boot: { expect: [/${expected}/], exit, timeout: 60 } },
    };
  },
});
`;
    writeFileSync(join(dir, 'kiln.config.ts'), config('KILN-END'));
    const kiln = (args: string[]) => runKilnAsync(args, { cwd: dir, timeoutMs: 120_000 });

    const first = await kiln(['graph']);
    expect(first.stdout).toContain('kernel (copy)');
    expect(evals(dir)).toBe(1);
    expect((await kiln(['graph', '--format', 'json'])).stdout).toContain('"kind": "copy"');
    expect(evals(dir)).toBe(1);

    // kiln test builds the kernel from the cached plan (the copy step runs), then boots it.
    const passed = await kiln(['test']);
    expect(passed.stderr).toContain('1 passed, 0 failed');
    expect(passed.status).toBe(0);
    expect(evals(dir)).toBe(1);
    const ran = await kiln(['run', '--timeout', '60']);
    expect(ran.stderr).toContain('guest exit code 0');
    expect(evals(dir)).toBe(1);

    // A changed source: the stale kernel is rebuilt from the cached plan before the boot (it fails now).
    copyFileSync(failing, join(dir, 'k.elf'));
    const failed = await kiln(['test']);
    expect(failed.stderr).toContain('0 passed, 1 failed');
    expect(failed.status).toBe(1);
    expect(evals(dir)).toBe(1);

    // A changed tests section re-plans (the config is read again) and is what the test checks.
    copyFileSync(join(kernels, 'x86-ok.elf'), join(dir, 'k.elf'));
    writeFileSync(join(dir, 'kiln.config.ts'), config('NEVER-PRINTED'));
    const replanned = await kiln(['test']);
    expect(replanned.stderr).toContain('0 passed, 1 failed');
    expect(evals(dir)).toBe(2);
  }, 300_000);
});
