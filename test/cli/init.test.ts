// kiln init: templates that build, boot and pass `kiln test` out of the box, installed the way a
// user installs kiln (npm pack's tarball into a folder outside the repository), type-checked by tsc;
// and init never overwrites an existing project.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runAsync, runKilnAsync, tempDir } from '../_helpers.js';

/** Path → sha256 of every file under `dir` (node_modules left out). */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(join(dir, prefix))) {
    if (entry === 'node_modules') continue;
    const rel = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(join(dir, rel)).isDirectory()) Object.assign(out, snapshot(dir, rel));
    else
      out[rel] = createHash('sha256')
        .update(readFileSync(join(dir, rel)))
        .digest('hex');
  }
  return out;
}

describe('kiln init (from the repository)', () => {
  it('writes the template, package.json, tsconfig.json and .gitignore', async () => {
    const dir = join(tempDir('kiln-init-'), 'my-kernel');
    const r = await runKilnAsync(['init', dir, '--template', 'c']);
    expect(r.status, r.stderr).toBe(0);
    expect(Object.keys(snapshot(dir)).sort()).toEqual([
      '.gitignore',
      'kiln.config.ts',
      'linker.ld',
      'package.json',
      'src/boot.S',
      'src/io.h',
      'src/kernel.c',
      'src/serial.c',
      'tsconfig.json',
    ]);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.scripts).toEqual({ build: 'kiln build', test: 'kiln test' });
    expect(pkg.devDependencies.kiln).toBe(`file:${repoRoot}`);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8').split('\n')).toEqual(
      expect.arrayContaining(['build/', '.kiln/']),
    );
    expect(readFileSync(join(dir, 'kiln.config.ts'), 'utf8')).toContain("name: 'my-kernel'");
  });

  it('over an existing project changes no file, and names the files that exist', async () => {
    const dir = join(tempDir('kiln-init-'), 'existing');
    expect((await runKilnAsync(['init', dir, '--template', 'asm'])).status).toBe(0);
    writeFileSync(join(dir, 'boot.asm'), '; my own boot sector\n');
    const before = snapshot(dir);
    for (const template of ['asm', 'c', 'rust', 'zig']) {
      const r = await runKilnAsync(['init', dir, '--template', template]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/already has .*kiln\.config\.ts/);
      expect(r.stderr).toContain('writes nothing over existing files');
      expect(snapshot(dir)).toEqual(before);
    }
  });

  it('merges into an existing package.json and .gitignore without changing what is there', async () => {
    const dir = tempDir('kiln-init-merge-');
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'mine', version: '3.0.0', scripts: { test: 'make check' } }),
    );
    writeFileSync(join(dir, '.gitignore'), '*.o\nbuild/\n');
    expect((await runKilnAsync(['init', dir])).status).toBe(0);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'mine', version: '3.0.0', scripts: { test: 'make check', build: 'kiln build' } });
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('*.o\nbuild/\n.kiln/\nnode_modules/\n');
  });

  it('refuses an unknown template with the list', async () => {
    const r = await runKilnAsync(['init', tempDir('kiln-init-'), '--template', 'cobol']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('expected asm | c | rust | zig');
  });
});

describe('kiln installed from its npm tarball into a project outside the repository', () => {
  const root = tempDir('kiln-installed-');
  let tarball = '';
  const zig = join(repoRoot, 'node_modules', '@ryoppippi', 'zig-linux-x64', 'zig');
  const env = {
    ...process.env,
    ZIG: zig,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };

  beforeAll(async () => {
    // dist/ is built by npm test; --ignore-scripts skips prepack's second build.
    const pack = await runAsync(['npm', 'pack', '--ignore-scripts', '--pack-destination', root], {
      cwd: repoRoot,
      timeoutMs: 120_000,
    });
    expect(pack.status, pack.stderr).toBe(0);
    tarball = join(root, pack.stdout.trim().split('\n').at(-1)!);
  }, 180_000);

  for (const template of ['asm', 'c', 'rust', 'zig'] as const) {
    it(`--template ${template}: npm install, npx kiln init, tsc --noEmit and npx kiln test pass`, async () => {
      const dir = join(root, `proj-${template}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: `proj-${template}`, private: true, type: 'module' }),
      );
      const install = await runAsync(
        ['npm', 'install', '--prefer-offline', '--no-save=false', '-D', tarball, 'typescript@5'],
        { cwd: dir, env, timeoutMs: 300_000 },
      );
      expect(install.status, install.stderr).toBe(0);
      const init = await runAsync(['npx', '--no-install', 'kiln', 'init', '--template', template], {
        cwd: dir,
        env,
        timeoutMs: 60_000,
      });
      expect(init.status, init.stderr).toBe(0);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(pkg.devDependencies.kiln).toMatch(/^file:.*kiln-.*\.tgz$/);
      expect(pkg.scripts.test).toBe('kiln test');
      const tsc = await runAsync(['npx', '--no-install', 'tsc', '--noEmit'], { cwd: dir, env, timeoutMs: 120_000 });
      expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
      const test = await runAsync(['npx', '--no-install', 'kiln', 'test'], {
        cwd: dir,
        env: { ...env, CI: 'true' },
        timeoutMs: 300_000,
      });
      expect(test.status, test.stdout + test.stderr).toBe(0);
      expect(test.stdout + test.stderr).toMatch(/1 passed, 0 failed/);
    }, 900_000);
  }

  // docs/examples/<subpath>.mjs, one per package.json export, run against the tarball installed above
  // (proj-asm's node_modules): what a user copying them gets.
  it('the runnable example of every subpath export passes against the installed package', async () => {
    const dir = join(root, 'proj-asm', 'examples');
    const tmp = join(root, 'examples-tmp');
    mkdirSync(tmp, { recursive: true });
    cpSync(join(repoRoot, 'docs', 'examples'), dir, { recursive: true });
    const failures: string[] = [];
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.mjs'))
      .sort()) {
      const r = await runAsync(['node', join(dir, file)], {
        cwd: dir,
        env: { ...env, TMPDIR: tmp },
        timeoutMs: 120_000,
      });
      if (r.status !== 0 || r.stdout.trim() === '') failures.push(`${file}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
  }, 600_000);

  // What an editor shows on hover: the TypeScript language service (the one editors run) over the C
  // template's kiln.config.ts, typed by the installed package's .d.ts files.
  it('hovering a step option or a config field in kiln.config.ts shows its doc comment', () => {
    const dir = join(root, 'proj-c');
    const file = join(dir, 'kiln.config.ts');
    const text = readFileSync(file, 'utf8');
    const parsed = ts.getParsedCommandLineOfConfigFile(
      join(dir, 'tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
    );
    const options = parsed?.options ?? {};
    const host: ts.LanguageServiceHost = {
      getScriptFileNames: () => [file],
      getScriptVersion: () => '1',
      getScriptSnapshot: (name) =>
        ts.sys.fileExists(name) ? ts.ScriptSnapshot.fromString(ts.sys.readFile(name) ?? '') : undefined,
      getCurrentDirectory: () => dir,
      getCompilationSettings: () => options,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: ts.sys.fileExists,
      readFile: ts.sys.readFile,
      readDirectory: ts.sys.readDirectory,
      directoryExists: ts.sys.directoryExists,
      getDirectories: ts.sys.getDirectories,
    };
    const service = ts.createLanguageService(host);
    const hover = (word: string): string => {
      const info = service.getQuickInfoAtPosition(file, text.indexOf(word) + 1);
      return ts.displayPartsToString(info?.documentation ?? []);
    };
    expect(hover('linkerScript')).toContain('Linker script');
    expect(hover('sources')).toContain('C/assembly sources');
    expect(hover('exit:')).toContain('How the guest reports its result');
    expect(hover('cc.exe') + hover('exe(')).toContain('links one executable');
  }, 120_000);

  it('a misspelled step option fails tsc with the option name', async () => {
    const dir = join(root, 'proj-c');
    const config = readFileSync(join(dir, 'kiln.config.ts'), 'utf8');
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      config.replace("linkerScript: 'linker.ld'", "linkerScirpt: 'linker.ld'"),
    );
    const tsc = await runAsync(['npx', '--no-install', 'tsc', '--noEmit'], { cwd: dir, env, timeoutMs: 120_000 });
    expect(tsc.status).not.toBe(0);
    expect(tsc.stdout).toContain("'linkerScirpt' does not exist");
    writeFileSync(join(dir, 'kiln.config.ts'), config);
  }, 180_000);
});
