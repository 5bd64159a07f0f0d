// Outputs in build/ never share storage with cache objects: an in-place write to an output (a guest
// writing its disk, a tool editing a file) cannot change what the cache holds.
import { appendFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';
import { events, runs, writeProject } from './_project.js';

const dir = join(tempDir('kiln-outputs-'), 'p');

describe('outputs and the cache', () => {
  it('an in-place write to an output leaves every cache object intact; the next build restores the output, running nothing', () => {
    writeProject(dir, [
      { name: 'a', inputs: ['a.src'] },
      { name: 'b', deps: ['a'] },
    ]);
    writeFileSync(join(dir, 'a.src'), 'v1');
    const build = () => runKiln(['build', '--json'], { cwd: dir, env: { RUNS_LOG: join(dir, 'runs.log') } });
    expect(build().status).toBe(0);
    const out = join(dir, 'build/x86_64-debug/a.txt');
    const cas = join(dir, '.kiln/cache/cas');
    const objects = readdirSync(cas).flatMap((sub) => readdirSync(join(cas, sub)).map((f) => join(cas, sub, f)));
    expect(objects.length).toBeGreaterThanOrEqual(2);
    // No output is the same file (inode) as an object.
    const inodes = new Set(objects.map((o) => statSync(o).ino));
    expect(inodes.has(statSync(out).ino)).toBe(false);
    appendFileSync(out, ' edited in place');
    for (const o of objects)
      expect(createHash('sha256').update(readFileSync(o)).digest('hex')).toBe(o.split('/').pop());
    const r = build();
    expect(r.status, r.stderr).toBe(0);
    expect(events(r.stdout).find((e) => e.type === 'build-finish')!.counts).toMatchObject({ ran: 0 });
    expect(readFileSync(out, 'utf8')).toBe('a(v1)');
    expect(runs(dir)).toEqual(['a', 'b']);
  });
});
