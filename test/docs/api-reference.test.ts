// `npm run docs`: TypeDoc's HTML reference for every subpath of package.json "exports", failing on an
// exported symbol without a doc comment (kiln's own sources must pass; a fixture package with one
// undocumented export must fail, naming it).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runAsync, tempDir } from '../_helpers.js';

const script = join(repoRoot, 'scripts', 'docs.mjs');

describe('npm run docs (TypeDoc API reference)', () => {
  it('documents every subpath export of kiln, each as its own module page', async () => {
    const out = tempDir('kiln-docs-');
    const r = await runAsync(['node', script, '--out', out], { cwd: repoRoot, timeoutMs: 420_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
    expect(subpaths.length).toBeGreaterThanOrEqual(20);
    for (const key of subpaths) {
      const page = key === '.' ? 'kiln.html' : `kiln_${key.slice(2)}.html`;
      expect(existsSync(join(out, 'modules', page)), page).toBe(true);
    }
    // A documented option reaches the page: CargoOptions.std explains the sysroot route.
    const cargo = readFileSync(join(out, 'interfaces', 'kiln.CargoOptions.html'), 'utf8');
    expect(cargo).toContain('cached sysroot');
  }, 480_000);

  it('has a runnable example for every subpath, importing that subpath (run by test/cli/init.test.ts)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    for (const key of Object.keys(pkg.exports).filter((k) => k !== './package.json')) {
      const name = key === '.' ? 'kiln' : key.slice(2);
      const file = join(repoRoot, 'docs', 'examples', `${name}.mjs`);
      expect(existsSync(file), file).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain(`from '${key === '.' ? 'kiln' : `kiln/${name}`}'`);
    }
  });

  it('fails on an exported symbol without a doc comment, and names it', async () => {
    const root = tempDir('kiln-docs-fixture-');
    mkdirSync(join(root, 'src'));
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({
        name: 'fixture',
        type: 'module',
        exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      }),
    );
    writeFileSync(
      join(root, 'tsconfig.build.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          types: [],
        },
        include: ['src'],
      }),
    );
    writeFileSync(
      join(root, 'src', 'index.ts'),
      '/** Documented. */\nexport const documented = 1;\nexport function forgotten(): number {\n  return 2;\n}\n',
    );
    const r = await runAsync(['node', script, '--root', root, '--out', join(root, 'api')], {
      cwd: root,
      timeoutMs: 120_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/forgotten.*does not have any documentation/);
    expect(r.stdout + r.stderr).not.toMatch(/documented \(/);
    expect(existsSync(join(root, 'api', 'index.html'))).toBe(false);
  }, 180_000);
});
