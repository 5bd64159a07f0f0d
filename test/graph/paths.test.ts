// Paths and names (issue #17 item 6): an absolute --build-dir is used as given, build(t) sees the
// target's build folder as t.dir, and a bad step name is refused naming the exact rule it breaks.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';

const root = tempDir('kiln-paths-');

describe('paths and step names', () => {
  it('an absolute --build-dir is honoured, and t.dir is that target folder', () => {
    const dir = join(root, 'p');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { defineConfig, command, out } from 'kiln';
export default defineConfig({ name: 'paths', build: (t) => ({
  components: { where: command({ argv: ['sh', '-c', 'printf %s "$0" > "$1"', t.dir, out('dir.txt')], outputs: ['dir.txt'] }) },
}) });
`,
    );
    const abs = join(root, 'elsewhere', 'out');
    const r = runKiln(['build', '--plain', '--build-dir', abs], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(abs, 'x86_64-debug', 'dir.txt'), 'utf8')).toBe(join(abs, 'x86_64-debug'));
    expect(existsSync(join(dir, root.slice(1)))).toBe(false);
    expect(existsSync(join(dir, 'build'))).toBe(false);
  });

  it('a step named "_cat" is refused because of its first character, "a/b" because of the slash', () => {
    const dir = join(root, 'names');
    mkdirSync(dir, { recursive: true });
    for (const [name, rule] of [
      ['_cat', /step name "_cat" must start with a letter or digit, not "_"/],
      ['a/b', /"\/" at position 2 is none of them/],
    ] as const) {
      writeFileSync(
        join(dir, 'kiln.config.ts'),
        `import { defineConfig, command, out } from 'kiln';
export default defineConfig({ name: 'names', components: { ${JSON.stringify(name)}: command({ argv: ['true', out('x.txt')], outputs: ['x.txt'] }) } });
`,
      );
      const r = runKiln(['build', '--plain'], { cwd: dir });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(rule);
    }
  });
});
