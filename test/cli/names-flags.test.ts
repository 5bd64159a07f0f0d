// Names and flags: a project option named like a kiln flag is refused when the config loads (naming
// both); --build-dir works for run and test too; kiln run --gdb names a gdb that can debug aarch64
// (gdb-multiarch) and kiln doctor says how to get one.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/main.js';
import { KILN_FLAGS } from '../../src/cli/_flags.js';
import { chooseGdb, gdbSupports } from '../../src/qemu/index.js';
import { runDoctor } from '../../src/toolchain/doctor.js';
import { runKiln, runKilnAsync, tempDir } from '../_helpers.js';
import { buildA64Kernel } from '../qemu/_kernels.js';

function project(options: string, extra = ''): string {
  const dir = join(tempDir('kiln-names-'), 'p');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'kiln.config.ts'),
    `import { defineConfig, option, write } from 'kiln';
export default defineConfig({
  name: 'names',
  options: { ${options} },
  build: (t) => ({ steps: { note: write({ path: 'note.txt', content: JSON.stringify(t.options) }) }${extra} }),
});
`,
  );
  return dir;
}

describe('project options and kiln flags', () => {
  it("KILN_FLAGS is exactly the long flags of kiln's project commands", async () => {
    const program = await createProgram();
    const real: Record<string, Set<string>> = {};
    for (const cmd of program.commands) {
      if (!['build', 'run', 'test', 'dev', 'graph', 'status', 'repro', 'clean'].includes(cmd.name())) continue;
      for (const o of cmd.options) {
        const name = o.long!.replace(/^--(no-)?/, '');
        (real[name] ??= new Set()).add(cmd.name());
      }
    }
    for (const [name, commands] of Object.entries(real))
      expect([...commands].sort(), `--${name}`).toEqual(
        [...(KILN_FLAGS[name] ?? [])].filter((c) => c !== 'kiln' && commands.has(c)).sort(),
      );
    for (const name of Object.keys(real)) expect(KILN_FLAGS[name], `--${name} missing from KILN_FLAGS`).toBeDefined();
  });

  it('an option named initrd is refused at load time, naming the option and the flag', () => {
    const dir = project(`initrd: option.string({ default: 'a.cpio', help: 'which initrd' })`);
    for (const cmd of [['build'], ['test'], ['run', '--dry-run']]) {
      const r = runKiln(
        [...cmd, '--plain'].filter((a) => a !== '--plain' || cmd[0] === 'build'),
        { cwd: dir },
      );
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/project option "initrd" has the name of kiln's own --initrd \(kiln run, kiln test\)/);
      expect(r.stderr).toMatch(/options\.initrd/);
      expect(r.stderr).toMatch(/rename the option/);
    }
    // A project's own --debug stays allowed (kiln leaves the flag to it).
    expect(runKiln(['build', '--plain'], { cwd: project(`debug: option.bool({ help: 'debug build' })`) }).status).toBe(
      0,
    );
  });

  it('--build-dir is accepted by kiln run and kiln test, and the build goes there', async () => {
    const dir = join(tempDir('kiln-names-'), 'p');
    mkdirSync(dir, { recursive: true });
    copyFileSync(buildA64Kernel(join(dir, 'k'), 'ok'), join(dir, 'k.elf'));
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { defineConfig, copy } from 'kiln';
export default defineConfig({
  name: 'names', arch: 'aarch64',
  build: () => {
    const kernel = copy({ from: 'k.elf', to: 'kernel.elf' });
    return { components: { kernel }, run: { kernel }, tests: { boot: { expect: ['KILN-END'], timeout: 90 } } };
  },
});
`,
    );
    const out = join(dir, '..', 'elsewhere');
    const run = runKiln(['run', '--build-dir', out, '--dry-run'], { cwd: dir });
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(out, 'aarch64-debug', 'kernel.elf'))).toBe(true);
    const test = await runKilnAsync(['test', '--build-dir', join(out, 't')], { cwd: dir, timeoutMs: 120_000 });
    expect(test.status, test.stderr).toBe(0);
    expect(test.stderr).toMatch(/PASS boot \[aarch64\]/);
    expect(existsSync(join(out, 't', 'aarch64-debug', 'kernel.elf'))).toBe(true);
    expect(existsSync(join(dir, 'build'))).toBe(false);
  }, 180_000);
});

describe('gdb for the guest arch', () => {
  it('the host gdb does not know aarch64; gdb-multiarch does (measured here)', () => {
    expect(gdbSupports('gdb', 'aarch64')).toBe(false);
    expect(gdbSupports('gdb-multiarch', 'aarch64')).toBe(true);
    expect(chooseGdb('aarch64')).toMatchObject({
      command: 'gdb-multiarch',
      found: true,
      note: expect.stringMatching(/host gdb cannot debug aarch64: using gdb-multiarch/),
    });
    expect(chooseGdb('x86_64')).toEqual({ command: 'gdb', found: true });
  });

  it('without gdb-multiarch or a cross gdb, kiln names the package', () => {
    const only =
      (...names: string[]) =>
      (cmd: string) =>
        names.includes(cmd) ? `/usr/bin/${cmd}` : undefined;
    const choice = chooseGdb('aarch64', () => false, only('gdb'));
    expect(choice).toMatchObject({ command: 'gdb-multiarch', found: false });
    expect(choice.note).toMatch(/apt-get install gdb-multiarch/);
    expect(chooseGdb('aarch64', () => false, only('gdb', 'aarch64-none-elf-gdb')).command).toBe('aarch64-none-elf-gdb');
  });

  it('kiln run --gdb on aarch64 prints a gdb-multiarch command line', async () => {
    const kernel = buildA64Kernel(join(tempDir('kiln-gdb-'), 'k'), 'ok');
    const r = await runKilnAsync(
      ['run', '--arch', 'aarch64', '--kernel', kernel, '--gdb', '47124', '--timeout', '3', '--no-serial'], // not 47123: tinyc's gdb test may run at the same time in the other worker
      { timeoutMs: 60_000 },
    );
    expect(r.stderr).toMatch(/In another terminal:\n {2}gdb-multiarch -q \S+ .*-ex 'target remote localhost:47124'/);
    expect(r.stderr).toMatch(/kiln: the host gdb cannot debug aarch64: using gdb-multiarch/);
  }, 90_000);

  it('kiln doctor says how to get gdb-multiarch when it is missing', async () => {
    const [check] = await runDoctor({ 'gdb-multiarch': 'kiln run --gdb on aarch64' }, { PATH: '/nonexistent' });
    expect(check).toMatchObject({ name: 'gdb-multiarch', ok: false, fix: 'apt install gdb-multiarch' });
    const dir = project(`size: option.size({ default: 1024, help: 'a size' })`, `, run: { kernel: 'k.elf' }`);
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      readConfig(dir).replace("name: 'names',", "name: 'names', arch: 'aarch64',"),
    );
    const r = runKiln(['doctor', '--json'], { cwd: dir });
    const checks = JSON.parse(r.stdout).checks as Array<{ name: string; needed: string }>;
    expect(checks.find((c) => c.name === 'gdb-multiarch')?.needed).toMatch(/kiln run --gdb on aarch64/);
  });
});

function readConfig(dir: string): string {
  return readFileSync(join(dir, 'kiln.config.ts'), 'utf8');
}
