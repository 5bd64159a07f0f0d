// The build state (.kiln/state.json, lean; fingerprints apart in .kiln/fingerprints.json): a state kiln
// cannot use is set aside with one warning and never trusted; the previous format is migrated; a stale
// output is never up to date.
import { existsSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';
import { events, runs, writeProject } from './_project.js';

const root = tempDir('kiln-state-');

function project(name: string): { dir: string; build: (...flags: string[]) => ReturnType<typeof runKiln> } {
  const dir = join(root, name);
  writeProject(dir, [
    { name: 'a', inputs: ['a.src'] },
    { name: 'b', deps: ['a'] },
    { name: 'c', inputs: ['c.src'] },
  ]);
  writeFileSync(join(dir, 'a.src'), 'v1');
  writeFileSync(join(dir, 'c.src'), 'c1');
  const build = (...flags: string[]) =>
    runKiln(['build', ...flags], { cwd: dir, env: { RUNS_LOG: join(dir, 'runs.log') } });
  return { dir, build };
}

const stateFile = (dir: string) => join(dir, 'build/x86_64-debug/.kiln/state.json');
const fingerprintsFile = (dir: string) => join(dir, 'build/x86_64-debug/.kiln/fingerprints.json');
const counts = (stdout: string) => events(stdout).find((e) => e.type === 'build-finish')!.counts;
const warningLines = (stderr: string) => stderr.split('\n').filter((l) => /warning/.test(l));

describe('the build state', () => {
  it.each([
    ['garbage', '{"version":4,"files":{'],
    ['an unexpected shape', '{"version":4,"files":{},"steps":{"a":{"key":1}}}'],
    ['another format', '{"version":99,"files":{},"steps":{}}'],
    ['not a state at all', '[1,2,3]'],
  ])('a state file holding %s: one warning line, every step checked again, the next build quiet', (_what, text) => {
    const { dir, build } = project(`corrupt-${_what.replace(/\W/g, '-')}`);
    expect(build('--plain').status).toBe(0);
    writeFileSync(stateFile(dir), text);
    const r = build('--plain');
    expect(r.status, r.stderr).toBe(0);
    expect(warningLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/kiln: warning: ignoring the build state: .*state\.json .*; every step is checked again/);
    // Nothing was trusted: every step was looked up again (restored from the cache, not run).
    expect(r.stderr).toMatch(/\(0 ran, 3 from cache, 0 up to date\)/);
    expect(runs(dir)).toHaveLength(3);
    expect(readFileSync(join(dir, 'build/x86_64-debug/b.txt'), 'utf8')).toBe('b(a(v1))');
    const next = build('--json');
    expect(next.status, next.stderr).toBe(0);
    expect(events(next.stdout).filter((e) => e.type === 'warning')).toHaveLength(0);
    expect(counts(next.stdout)).toMatchObject({ 'up-to-date': 3 });
  });

  it('a corrupt state and no cache: every step runs again', () => {
    const { dir, build } = project('corrupt-no-cache');
    expect(build('--plain').status).toBe(0);
    writeFileSync(stateFile(dir), '\u0000\u0001 not json');
    rmSync(join(dir, '.kiln/cache'), { recursive: true, force: true });
    const r = build('--json');
    expect(r.status, r.stderr).toBe(0);
    const warnings = events(r.stdout).filter((e) => e.type === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/^ignoring the build state: .*state\.json is corrupt/);
    expect(counts(r.stdout)).toMatchObject({ ran: 3 });
    expect(runs(dir).sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });

  it('a state in the previous format (3, fingerprints inline) is migrated: nothing reruns, no warning', () => {
    const { dir, build } = project('migrate');
    expect(build('--plain').status).toBe(0);
    // The format-3 file the previous kiln wrote: each record with its fingerprint inline.
    const lean = JSON.parse(readFileSync(stateFile(dir), 'utf8'));
    const fingerprints = JSON.parse(readFileSync(fingerprintsFile(dir), 'utf8')).steps;
    const steps = Object.fromEntries(
      Object.entries(lean.steps as Record<string, { key: string; outputs: object }>).map(([name, r]) => [
        name,
        { key: r.key, outputs: r.outputs, fingerprint: fingerprints[name] },
      ]),
    );
    writeFileSync(stateFile(dir), JSON.stringify({ version: 3, files: lean.files, steps }));
    unlinkSync(fingerprintsFile(dir));
    const r = build('--json');
    expect(r.status, r.stderr).toBe(0);
    expect(events(r.stdout).filter((e) => e.type === 'warning')).toHaveLength(0);
    expect(counts(r.stdout)).toMatchObject({ 'up-to-date': 3, ran: 0, cached: 0 });
    expect(JSON.parse(readFileSync(stateFile(dir), 'utf8')).version).toBe(4);
    expect(Object.keys(JSON.parse(readFileSync(fingerprintsFile(dir), 'utf8')).steps).sort()).toEqual(['a', 'b', 'c']);
    // The migrated fingerprints still explain a rerun.
    writeFileSync(join(dir, 'a.src'), 'v2');
    const edited = build('--json');
    const a = events(edited.stdout).find((e) => e.type === 'step-finish' && e.step === 'a')!;
    expect(a).toMatchObject({ status: 'ran', reason: 'file:a.src changed' });
  });

  it('a stale output is never up to date: an edited source reruns its step and what reads it; a deleted output comes back', () => {
    const { dir, build } = project('stale');
    expect(build('--plain').status).toBe(0);
    writeFileSync(join(dir, 'a.src'), 'v2');
    const edited = build('--json');
    expect(edited.status, edited.stderr).toBe(0);
    expect(counts(edited.stdout)).toMatchObject({ ran: 2, 'up-to-date': 1 });
    expect(readFileSync(join(dir, 'build/x86_64-debug/b.txt'), 'utf8')).toBe('b(a(v2))');
    unlinkSync(join(dir, 'build/x86_64-debug/c.txt'));
    const deleted = build('--json');
    expect(deleted.status, deleted.stderr).toBe(0);
    expect(readFileSync(join(dir, 'build/x86_64-debug/c.txt'), 'utf8')).toBe('c(c1)');
    expect(counts(deleted.stdout)).toMatchObject({ 'up-to-date': 2 });
  });

  it('without the fingerprints file a rerun still says why, and the file is written again', () => {
    const { dir, build } = project('no-fingerprints');
    expect(build('--plain').status).toBe(0);
    unlinkSync(fingerprintsFile(dir));
    const noop = build('--json');
    expect(counts(noop.stdout)).toMatchObject({ 'up-to-date': 3 });
    writeFileSync(join(dir, 'c.src'), 'c2');
    const r = build('--json');
    expect(r.status, r.stderr).toBe(0);
    const c = events(r.stdout).find((e) => e.type === 'step-finish' && e.step === 'c')!;
    expect(c).toMatchObject({ status: 'ran', reason: 'inputs changed' });
    expect(existsSync(fingerprintsFile(dir))).toBe(true);
    writeFileSync(join(dir, 'c.src'), 'c3');
    const again = events(build('--json').stdout).find((e) => e.type === 'step-finish' && e.step === 'c')!;
    expect(again).toMatchObject({ status: 'ran', reason: 'file:c.src changed' });
  });
});
