// Status report pieces: Ninja's build.ninja / .ninja_log / dry run on a real CMake build, the
// history diff, and the renderers (text, Markdown, JSON, HTML) on a real kiln build.
import { readFileSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildStatus,
  diffEntries,
  findDefinitions,
  ninjaProgress,
  parseBuildNinja,
  parseNinjaLog,
  progressChart,
  readHistory,
  renderHtml,
  renderMarkdown,
  renderText,
} from '../../src/report/index.js';
import type { ChangeEntry } from '../../src/report/index.js';
import { runKiln, runKilnAsync, tempDir, tool } from '../_helpers.js';

describe('ninja', () => {
  const dir = tempDir('kiln-ninja-');
  const build = join(dir, 'b');
  beforeAll(() => {
    mkdirSync(join(dir, 'src'));
    writeFileSync(
      join(dir, 'CMakeLists.txt'),
      'cmake_minimum_required(VERSION 3.16)\nproject(t C)\nadd_library(util STATIC src/a.c src/b.c)\nadd_executable(app src/main.c)\ntarget_link_libraries(app util)\n',
    );
    writeFileSync(join(dir, 'src/a.c'), 'int a(void) { return 1; }\n');
    writeFileSync(join(dir, 'src/b.c'), 'int b(void) { return 2; }\n');
    writeFileSync(join(dir, 'src/main.c'), 'int a(void); int b(void);\nint main(void) { return a() + b() - 3; }\n');
    expect(tool(['cmake', '-S', dir, '-B', build, '-G', 'Ninja', '-DCMAKE_C_COMPILER=clang']).status).toBe(0);
  });

  it('build.ninja: compile, archive and link edges, without CMake housekeeping', () => {
    const edges = parseBuildNinja(build);
    expect(edges.map((e) => [e.kind, e.output]).sort()).toEqual([
      ['archive', 'libutil.a'],
      ['compile', 'CMakeFiles/app.dir/src/main.c.o'],
      ['compile', 'CMakeFiles/util.dir/src/a.c.o'],
      ['compile', 'CMakeFiles/util.dir/src/b.c.o'],
      ['link', 'app'],
    ]);
    expect(edges.find((e) => e.output === 'CMakeFiles/util.dir/src/a.c.o')!.inputs).toEqual([join(dir, 'src/a.c')]);
  });

  it('progress from ninja itself: 0/5 before, 5/5 after, 3/5 after touching a.c (object + archive + link dirty)', async () => {
    expect((await ninjaProgress(build))!).toMatchObject({ total: 5, built: 0, source: 'ninja-dry-run' });
    expect(tool(['ninja', '-C', build]).status).toBe(0);
    expect((await ninjaProgress(build))!).toMatchObject({ total: 5, built: 5 });
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'src/a.c'), later, later);
    const p = (await ninjaProgress(build))!;
    expect(p.pending.sort()).toEqual(['CMakeFiles/util.dir/src/a.c.o', 'app', 'libutil.a']);
    expect(p.built).toBe(2);
    // The dry run neither builds nor logs.
    const log = parseNinjaLog(readFileSync(join(build, '.ninja_log'), 'utf8'));
    expect(log.map((e) => e.output).sort()).toEqual([
      'CMakeFiles/app.dir/src/main.c.o',
      'CMakeFiles/util.dir/src/a.c.o',
      'CMakeFiles/util.dir/src/b.c.o',
      'app',
      'libutil.a',
    ]);
    expect(log.every((e) => e.endMs >= e.startMs && /^[0-9a-f]+$/.test(e.hash))).toBe(true);
  });
});

describe('history diff', () => {
  const entry = fc.record({
    key: fc.string({ minLength: 1, maxLength: 6 }),
    class: fc.constant('c'),
    location: fc.constant('f:1'),
    message: fc.constant('m'),
  });
  it('fixed = previous − current, new = current − previous (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(entry), fc.array(entry), (prev: ChangeEntry[], cur: ChangeEntry[]) => {
        const { fixed, new: added } = diffEntries(prev, cur);
        const curKeys = new Set(cur.map((e) => e.key));
        const prevKeys = new Set(prev.map((e) => e.key));
        expect(fixed.every((e) => !curKeys.has(e.key))).toBe(true);
        expect(added.every((e) => !prevKeys.has(e.key))).toBe(true);
        expect(prev.filter((e) => !curKeys.has(e.key))).toEqual(fixed);
        expect(diffEntries(cur, cur)).toEqual({ fixed: [], new: [] });
      }),
      { numRuns: 500 },
    );
  });
});

describe('status of a real kiln build, rendered', () => {
  const dir = tempDir('kiln-status-');
  beforeAll(() => {
    mkdirSync(join(dir, 'src/core'), { recursive: true });
    mkdirSync(join(dir, 'src/util'), { recursive: true });
    writeFileSync(
      join(dir, 'CMakeLists.txt'),
      'cmake_minimum_required(VERSION 3.16)\nproject(t C)\nadd_executable(app src/core/main.c src/util/u.c)\ntarget_compile_options(app PRIVATE -Wall)\n',
    );
    writeFileSync(
      join(dir, 'src/core/main.c'),
      'int u(void);\nint h(void) { int unused; return 0; }\nint main(void) {\n  return u() + missing_value;\n}\n',
    );
    writeFileSync(join(dir, 'src/util/u.c'), 'int u(void) {\n  int x;\n  return 0;\n}\n');
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      "import { defineConfig, cmake } from 'kiln';\nexport default defineConfig({ name: 't', arch: 'x86_64', build() { return { components: { app: cmake({ name: 't', keepGoing: true, artifacts: { app: 'app' } }) } }; } });\n",
    );
  });

  it('text, Markdown, JSON and HTML say the same thing; --promote makes a warning block; the fix shows as fixed', () => {
    runKiln(['build', '--keep-going'], { cwd: dir, timeoutMs: 180_000 });
    const r = runKiln(['status', '--json'], { cwd: dir });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as Awaited<ReturnType<typeof buildStatus>>;
    expect(report.classes.map((c) => [c.id, c.count, c.locations])).toEqual([
      ['undeclared-identifier', 1, ['src/core/main.c:4']],
    ]);
    expect(report.counts).toMatchObject({ blocking: 1, warnings: 2 });
    expect(report.directories).toEqual([
      { dir: 'src/core/', status: 'errors', errors: 1, warnings: 1, targets: { built: 0, total: 1 } },
      { dir: 'src/util/', status: 'warnings', errors: 0, warnings: 1, targets: { built: 1, total: 1 } },
    ]);
    // Warnings in a file with errors still count toward the file's directory status.
    expect(
      report.diagnostics
        .filter((d) => d.severity === 'warning')
        .map((d) => d.file)
        .sort(),
    ).toEqual(['src/core/main.c', 'src/util/u.c']);

    const text = runKiln(['status'], { cwd: dir, env: {} }).stdout;
    expect(text).toMatch(/1 blocking error · 0\/1 steps ok · 1\/3 targets built \(Ninja\) · 2 warnings/);
    expect(text).toMatch(
      /undeclared identifier or type \[undeclared-identifier\]: 1\n\s+at src\/core\/main\.c:4\n\s+fix: declare `missing_value` \(define it or include the header that declares it\) in src\/core\/main\.c/,
    );
    const md = runKiln(['status', '--md'], { cwd: dir }).stdout;
    expect(md).toMatch(/^## 🔴 t x86_64-debug build status/);
    expect(md).toContain('| undeclared identifier or type | 1 | `src/core/main.c:4` |');
    expect(md).toContain('| `src/util/` | ⚠️ warnings | 1/1 | 0 | 1 |');

    const promoted = JSON.parse(
      runKiln(['status', '--json', '--promote', '-Wunused-variable', '--no-record'], { cwd: dir }).stdout,
    ) as typeof report;
    expect(promoted.classes.find((c) => c.id === 'promoted-warning')!.count).toBe(2);

    writeFileSync(
      join(dir, 'src/core/main.c'),
      'int u(void);\nint h(void) { int unused; return 0; }\nint main(void) {\n  return u();\n}\n',
    );
    runKiln(['build', '--keep-going'], { cwd: dir, timeoutMs: 180_000 });
    const after = JSON.parse(runKiln(['status', '--json'], { cwd: dir }).stdout) as typeof report;
    expect(after.ok).toBe(true);
    expect(after.changes!.fixed.map((e) => e.location)).toEqual(['src/core/main.c:4']);
    expect(after.targets).toMatchObject({ built: 3, total: 3 });
    // Only main.c was recompiled: u.c's warning is carried over from the build that printed it.
    expect(tool(['grep', '-c', 'u.c.o', join(dir, 'build/x86_64-debug/.kiln/logs/t.log')]).stdout.trim()).toBe('0');
    expect(
      after.diagnostics
        .filter((d) => d.severity === 'warning')
        .map((d) => d.file)
        .sort(),
    ).toEqual(['src/core/main.c', 'src/util/u.c']);
    expect(after.directories.find((d) => d.dir === 'src/util/')!.status).toBe('warnings');

    const buildDir = join(dir, 'build/x86_64-debug');
    const history = readHistory(buildDir).reports;
    expect(history.map((h) => [h.blocking, h.built, h.total])).toEqual([
      [1, 1, 3],
      [0, 3, 3],
    ]);
    const html = renderHtml(after, history);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).toContain('<code>src/util/</code>');
    const points = /<polyline[^>]*stroke="#2e7d32"[^>]*points="([^"]+)"/
      .exec(html)![1]!
      .split(' ')
      .map((p) => Number(p.split(',')[1]));
    expect(points[0]).toBeGreaterThan(points[1]!); // 1/3 built is lower on the chart than 3/3
    expect(renderText(after)).toContain('1 fixed, 0 new, 0 remaining');
    expect(renderMarkdown(after)).toContain('- ✅ fixed: `src/core/main.c:4`');
  }, 400_000);

  it('the chart handles no history and one entry', () => {
    expect(progressChart([])).toContain('no history yet');
    expect(
      progressChart([{ buildTime: 0, ok: true, built: 1, total: 1, blocking: 0, warnings: 0, entries: [] }]),
    ).toMatch(/<circle cx="320.0"/);
  });

  it('no build yet: a KilnError with a hint', () => {
    const empty = tempDir('kiln-status-empty-');
    writeFileSync(
      join(empty, 'kiln.config.ts'),
      "import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'e', build() { return {}; } });\n",
    );
    const r = runKiln(['status'], { cwd: empty });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/error: .*no build record/);
    expect(r.stderr).toMatch(/hint: run `kiln build --keep-going` first/);
  });
});

describe('undefined references in a real kiln CMake build', () => {
  const dir = tempDir('kiln-status-undef-');
  beforeAll(() => {
    for (const sub of ['src/core', 'src/extra']) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(
      join(dir, 'CMakeLists.txt'),
      'cmake_minimum_required(VERSION 3.16)\nproject(t C)\nadd_executable(app src/core/main.c)\n',
    );
    // main.c declares both functions (prototypes are not definitions); each is defined on one line
    // in a file that is not in the build.
    writeFileSync(
      join(dir, 'src/core/main.c'),
      'int extra_fn(void);\nint v(void);\nint main(void) {\n  return extra_fn() + v();\n}\n',
    );
    writeFileSync(join(dir, 'src/extra/e.c'), 'int extra_fn(void) { return 3; }\n');
    writeFileSync(join(dir, 'src/extra/v2.c'), 'static int w;\nint v(void) { return w; }\n');
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      "import { defineConfig, cmake } from 'kiln';\nexport default defineConfig({ name: 't', arch: 'x86_64', build() { return { components: { app: cmake({ name: 't', keepGoing: true, artifacts: { app: 'app' } }) } }; } });\n",
    );
  });

  it('both references are at the project source (ld names it by the path-map prefix), each with its defining file', async () => {
    expect((await runKilnAsync(['build', '--keep-going'], { cwd: dir, timeoutMs: 180_000 })).status).toBe(1);
    const r = runKiln(['status', '--json', '--no-record'], { cwd: dir });
    const report = JSON.parse(r.stdout) as Awaited<ReturnType<typeof buildStatus>>;
    const undef = report.diagnostics.filter((d) => d.class === 'undefined-reference');
    expect(undef.map((d) => [d.symbol, d.file, d.line]).sort()).toEqual([
      ['extra_fn', 'src/core/main.c', 4],
      ['v', 'src/core/main.c', 4],
    ]);
    expect(undef.find((d) => d.symbol === 'extra_fn')!.fix).toBe(
      "`extra_fn` is defined in src/extra/e.c, which is not in the build: add src/extra/e.c to the target's sources in CMakeLists.txt",
    );
    expect(undef.find((d) => d.symbol === 'v')!.fix).toMatch(/^`v` is defined in src\/extra\/v2\.c, which is not in/);
  }, 300_000);

  it('findDefinitions: one-line and multi-line definitions and labels, never prototypes or calls', () => {
    const p = tempDir('kiln-defs-');
    writeFileSync(join(p, 'proto.c'), 'int one(void);\nint two(int a, int b);\nextern void *three(void);\n');
    writeFileSync(join(p, 'calls.c'), 'one();\nx = two(1, 2);\n  three();\nfour(1); { }\n');
    writeFileSync(join(p, 'one.c'), 'static inline int one(void) { return 1; }\n');
    writeFileSync(join(p, 'two.c'), 'int\ntwo(int a,\n    int b)\n{\n  return a + b;\n}\n');
    writeFileSync(join(p, 'three.c'), 'void *three(void) {\n  return 0;\n}\n');
    writeFileSync(join(p, 'entry.S'), '.globl five\nfive:\n  ret\n');
    const found = findDefinitions(p, new Set(['one', 'two', 'three', 'four', 'five']));
    expect(Object.fromEntries([...found].sort())).toEqual({
      five: 'entry.S',
      one: 'one.c',
      three: 'three.c',
      two: 'two.c',
    });
    // A demangled C++ name from ld is text, not a pattern (`++` once made the search throw).
    expect([...findDefinitions(p, new Set(['Foo::operator++()', 'one']))]).toEqual([['one', 'one.c']]);
  });
});
