// Test shards: `kiln test --shard K/N` splits the project's tests × arches so that the N shards
// together run every test exactly once (real QEMU boots of examples/hello's disk), balanced by the
// durations in last-test.json when it exists; `kiln test --merge-junit` joins the shards' reports
// and refuses a test that ran in two.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJUnit } from '../../src/report/junit.js';
import { assignShards, parseShard } from '../../src/report/shard.js';
import { repoRoot, runKiln, runKilnAsync, tempDir } from '../_helpers.js';

describe('assignShards', () => {
  it('every item lands in exactly one shard, for any count; without durations they are dealt out by id', () => {
    const items = ['e', 'a', 'd', 'c', 'b'].map((id) => ({ id }));
    for (let n = 1; n <= 7; n++) {
      const parts = assignShards(items, n);
      expect(parts).toHaveLength(n);
      expect(parts.flat().sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    }
    expect(assignShards(items, 2)).toEqual([
      ['e', 'a', 'c'],
      ['d', 'b'],
    ]);
    // The order the tests were listed in does not change the split.
    expect(assignShards([...items].reverse(), 2).map((p) => [...p].sort())).toEqual([
      ['a', 'c', 'e'],
      ['b', 'd'],
    ]);
  });

  it('balances by duration, longest first; an unknown duration counts as the median', () => {
    const parts = assignShards(
      [{ id: 'a', durationMs: 9000 }, { id: 'b', durationMs: 5000 }, { id: 'c', durationMs: 4000 }, { id: 'd' }],
      2,
    );
    // Longest first: a (9) → 1, b (5) → 2, d (the median, 5; after b by id) → 2, c (4) → 1: 13 | 10.
    expect(parts).toEqual([
      ['a', 'c'],
      ['b', 'd'],
    ]);
  });

  it('--shard takes K/N with 1 <= K <= N', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3'])
      expect(() => parseShard(bad), bad).toThrow(/--shard: expected K\/N/);
  });
});

describe('kiln test --shard K/N (QEMU)', () => {
  const work = tempDir('kiln-shard-');
  const dir = join(work, 'hello');
  const from = join(repoRoot, 'examples/hello');
  cpSync(from, dir, { recursive: true, filter: (src) => !/\/(build|\.kiln)(\/|$)/.test(src.slice(from.length)) });
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
  writeFileSync(
    join(dir, 'kiln.config.ts'),
    readFileSync(join(dir, 'kiln.config.ts'), 'utf8').replace(
      "hello: { expect: ['Hello from hello'], timeout: 30 },",
      names.map((n) => `${n}: { expect: ['Hello from hello'], timeout: 60 },`).join('\n    '),
    ),
  );
  const suites = (file: string): string[] => readJUnit(readFileSync(file, 'utf8')).map((s) => s.name);

  it('shards 1/2 and 2/2 together run every test exactly once; --merge-junit joins their reports', async () => {
    const s1 = join(work, 'shard-1.xml');
    const s2 = join(work, 'shard-2.xml');
    const r1 = await runKilnAsync(['test', '--shard', '1/2', '--junit', s1], { cwd: dir, timeoutMs: 300_000 });
    expect(r1.status, r1.stderr).toBe(0);
    expect(r1.stderr).toMatch(/shard 1\/2: 3 of 5 tests \(.*\), dealt out by name \(no last-test\.json\)/);
    const r2 = await runKilnAsync(['test', '--shard', '2/2', '--junit', s2], { cwd: dir, timeoutMs: 300_000 });
    expect(r2.status, r2.stderr).toBe(0);
    const all = [...suites(s1), ...suites(s2)];
    expect(all.sort()).toEqual(names.map((n) => `${n} [x86_64]`).sort());
    expect(r1.stderr.match(/^PASS /gm)!.length + r2.stderr.match(/^PASS /gm)!.length).toBe(5);
    // Each shard records beside last-test.json, never in it: it is what every shard balances by.
    expect(existsSync(join(dir, 'build/logs/tests/last-test.json'))).toBe(false);
    for (const k of [1, 2]) expect(existsSync(join(dir, `build/logs/tests/last-test.shard-${k}-of-2.json`))).toBe(true);

    const merged = join(work, 'junit.xml');
    const m = runKiln(['test', '--merge-junit', merged, s1, s2], { cwd: dir });
    expect(m.status, m.stderr).toBe(0);
    expect(readFileSync(merged, 'utf8')).toMatch(/<testsuites[^>]*tests="5"[^>]*failures="0"/);
    expect(suites(merged).sort()).toEqual(all.sort());
    const twice = runKiln(['test', '--merge-junit', join(work, 'bad.xml'), s1, s1], { cwd: dir });
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(
      /test suite "\w+ \[x86_64\]" is in .*shard-1\.xml and in .*shard-1\.xml: it ran in two shards/,
    );
  }, 600_000);

  it('with last-test.json the split is balanced by its durations', async () => {
    const durations: Record<string, number> = { alpha: 9000, bravo: 5000, charlie: 4000, delta: 1000, echo: 1000 };
    mkdirSync(join(dir, 'build/logs/tests'), { recursive: true });
    writeFileSync(
      join(dir, 'build/logs/tests/last-test.json'),
      JSON.stringify({
        version: 1,
        time: 0,
        results: names.map((name) => ({
          name,
          arch: 'x86_64',
          status: 'passed',
          durationMs: durations[name],
          expectations: [],
          measurements: [],
          evidence: [],
        })),
      }),
    );
    // alpha (9) + delta (1) = 10 | bravo (5) + charlie (4) + echo (1) = 10
    const r = await runKilnAsync(['test', '--shard', '1/2', '--dry-run'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /shard 1\/2: 2 of 5 tests \(alpha \[x86_64\], delta \[x86_64\]\), balanced by the durations in build\/logs\/tests\/last-test\.json/,
    );
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  }, 300_000);
});
