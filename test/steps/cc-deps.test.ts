// Discovered dependencies of cc steps (depfiles, kept like ninja's deps log): a header edit recompiles
// exactly its includers (counted from --json step-action events), a touch recompiles nothing, a deleted
// header is handled, a header the config never names is tracked, a generated header read without a
// dependency on its producer is a clear error; cc.exe({ host: true }) builds a tool later steps run.
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';
import { events } from '../graph/_project.js';

const dir = join(tempDir('kiln-cc-deps-'), 'p');

function write(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const build = (...args: string[]) => {
  const r = runKiln(['build', '--json', ...args], { cwd: dir });
  const evs = events(r.stdout);
  return {
    r,
    evs,
    compiled: evs
      .filter((e) => e.type === 'step-action')
      .map((e) => e.input as string)
      .sort(),
    ran: evs
      .filter((e) => e.type === 'step-finish' && e.status === 'ran')
      .map((e) => e.step as string)
      .sort(),
  };
};

describe('cc: discovered header dependencies', () => {
  it('reruns exactly the includers of an edited header; touch and identical content rerun nothing; deletion is handled', () => {
    write({
      // k/local.h is included relatively and named nowhere in the config: only the depfile knows it.
      'k/a.c': '#include "local.h"\n#include "shared.h"\nint a(void) { return LOCAL + SHARED; }\n',
      'k/b.c': '#include "shared.h"\nint b(void) { return SHARED; }\n',
      'k/c.c': '#include "gone.h"\nint c(void) { return GONE; }\n',
      'k/local.h': '#define LOCAL 1\n',
      'inc/shared.h': '#define SHARED 2\n',
      'inc/gone.h': '#define GONE 3\n',
      'tools/gen.c':
        '#include <stdio.h>\nint main(int argc, char **argv) { FILE *f = fopen(argv[1], "w"); fprintf(f, "#define GEN 7\\n"); return fclose(f); }\n',
      'kiln.config.ts': `import { defineConfig, cc, command, out } from 'kiln';
const gen = cc.exe({ name: 'mkhdr', host: true, sources: ['tools/gen.c'] });
const header = command({ name: 'genh', argv: [gen, out('gen/gen.h')], outputs: ['gen/gen.h'] });
const objs = cc.obj({ name: 'k', sources: ['k/*.c'], include: ['inc'], output: 'k.o' });
const user = cc.obj({ name: 'user', sources: ['user.c'], include: [header.output('gen/gen.h')], output: 'user.o' });
export default defineConfig({ name: 'deps', components: { objs, user } });
`,
      'user.c': '#include "gen.h"\nint u(void) { return GEN; }\n',
    });
    const first = build();
    expect(first.r.status, first.r.stderr + first.r.stdout).toBe(0);
    expect(first.compiled).toEqual(['k/a.c', 'k/b.c', 'k/c.c', 'tools/gen.c', 'user.c']);
    // The host tool ran during the build and its output was compiled in.
    expect(readFileSync(join(dir, 'build/x86_64-debug/gen/gen.h'), 'utf8')).toBe('#define GEN 7\n');

    writeFileSync(join(dir, 'k/local.h'), '#define LOCAL 10\n');
    expect(build().compiled).toEqual(['k/a.c']);
    writeFileSync(join(dir, 'inc/shared.h'), '#define SHARED 20\n');
    expect(build().compiled).toEqual(['k/a.c', 'k/b.c']);

    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'inc/shared.h'), later, later);
    const touched = build();
    expect(touched.compiled).toEqual([]);
    expect(touched.ran).toEqual([]);

    // c.c stops including gone.h, and gone.h is deleted: only c.c recompiles, no "input missing" error.
    writeFileSync(join(dir, 'k/c.c'), 'int c(void) { return 3; }\n');
    rmSync(join(dir, 'inc/gone.h'));
    const gone = build();
    expect(gone.r.status, gone.r.stderr).toBe(0);
    expect(gone.compiled).toEqual(['k/c.c']);
    expect(build().ran).toEqual([]);
  }, 120_000);

  it('a compile that reads a generated header without depending on its producer is refused with both step names', () => {
    write({
      'kiln.config.ts': `import { defineConfig, cc, command, out } from 'kiln';
const header = command({ name: 'genh', argv: ['sh', '-c', 'echo "#define GEN 7" > "$0"', out('gen/gen.h')], outputs: ['gen/gen.h'] });
const user = cc.obj({ name: 'user', sources: ['user.c'], cflags: ['-Ibuild/x86_64-debug/gen'], output: 'user.o' });
export default defineConfig({ name: 'deps', components: { header, user } });
`,
    });
    rmSync(join(dir, 'build'), { recursive: true, force: true });
    runKiln(['build', 'genh'], { cwd: dir });
    const r = build();
    expect(r.r.status).toBe(1);
    expect(r.r.stdout + r.r.stderr).toMatch(
      /step \\?"user\\?" read gen\/gen\.h, an output of step \\?"genh\\?", without depending on it/,
    );
  }, 120_000);
});
