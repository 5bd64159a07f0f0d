import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';

const root = tempDir('kiln-config-');
let n = 0;
function project(config: string, files: Record<string, string> = {}): string {
  const dir = join(root, `c${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kiln.config.ts'), config);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('config errors', () => {
  it('a wrong enum value names the file, the config path, what was expected and found; exit 2, no stack', () => {
    const dir = project(
      `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'x', arch: 'x86' as never });\n`,
    );
    const r = runKiln(['build'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: kiln.config.ts: arch: expected "x86_64" | "i386" | "aarch64", got "x86"');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a wrong value inside a component is reported with its path', () => {
    const dir = project(`import { defineConfig, command } from 'kiln';
export default defineConfig({ name: 'x', components: { kernel: command({ argv: ['true'], outputs: 'k.elf' as never }) } });\n`);
    const r = runKiln(['build'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: kiln.config.ts: components.kernel.outputs: expected array, got "k.elf"');
  });

  it("a partition's FAT options: a too-long label and a FAT width that does not exist, each with its path and the allowed values", () => {
    const dir = project(`import { defineConfig, gpt } from 'kiln';
export default defineConfig({ name: 'x', components: { disk: gpt({ size: '8M', partitions: [{ type: 'esp', size: '4M', files: {}, fat: { label: 'A LABEL TOO LONG', type: 13 as never } }] }) } });\n`);
    const r = runKiln(['build'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'components.disk.partitions[0].fat.label: Too big: expected string to have <=11 characters',
    );
    expect(r.stderr).toContain('kiln.config.ts: components.disk.partitions[0].fat.type: expected 12 | 16 | 32, got 13');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unknown key is named', () => {
    const dir = project(
      `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'x', compnents: {} } as never);\n`,
    );
    const r = runKiln(['build'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown key "compnents"');
  });

  it('a missing input file names the step and the file', () => {
    const dir = project(`import { defineConfig, command, out } from 'kiln';
export default defineConfig({ name: 'x', components: { boot: command({ argv: ['cp', 'boot.asm', out('b')], inputs: ['boot.asm'], outputs: ['b'] }) } });\n`);
    const r = runKiln(['build', '--plain'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/boot\.asm: components\.boot: step "boot": input boot\.asm does not exist/);
  });

  it('no config found: says so and how to create one', () => {
    const r = runKiln(['build'], { cwd: tempDir('kiln-empty-') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no kiln\.config\.ts found/);
    expect(r.stderr).toMatch(/kiln init/);
  });

  it('a syntax error in the config is a load error with the file', () => {
    const dir = project(`export default {{{`);
    const r = runKiln(['build'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/error: kiln\.config\.ts.*could not load the config/);
  });
});

describe('project options', () => {
  const config = `import { defineConfig, option, write } from 'kiln';
export default defineConfig({
  name: 'opts',
  options: {
    mode: option.enum(['raw', 'iso', 'vdi'], { default: 'raw', help: 'output format' }),
    size: option.size({ default: '8M', min: '8M', help: 'disk image size' }),
    debug: option.bool({ help: 'debug build' }),
  },
  build: (t) => ({ components: { info: write({ path: 'info.txt', content: JSON.stringify(t.options) + ' ' + t.id }) } }),
});\n`;
  it('are listed in build --help with type and default', () => {
    const r = runKiln(['build', '--help'], { cwd: project(config) });
    expect(r.stdout).toMatch(/--mode=<raw\|iso\|vdi>\s+output format \("raw" \| "iso" \| "vdi"; default: "raw"\)/);
    expect(r.stdout).toMatch(/--size=<size>\s+disk image size/);
  });
  it('are set with --name=value and typed', () => {
    const dir = project(config);
    const r = runKiln(['build', '--mode=iso', '--size=16', '--debug', '--profile', 'release'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'build/x86_64-release/info.txt'), 'utf8')).toBe(
      '{"mode":"iso","size":16777216,"debug":true} x86_64-release',
    );
  });
  it('bad values are rejected with the expected type', () => {
    const dir = project(config);
    const bad = runKiln(['build', '--mode=floppy'], { cwd: dir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--mode: expected "raw" | "iso" | "vdi", got "floppy"');
    const small = runKiln(['build', '--size=4'], { cwd: dir });
    expect(small.status).toBe(2);
    expect(small.stderr).toContain('below the minimum of 8M');
    const unknown = runKiln(['build', '--colour=red'], { cwd: dir });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('this project has no option "colour"');
  });
});
