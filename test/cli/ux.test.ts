// The command line as a new user meets it: wrong arguments give one `error:` line (with where and
// a hint), exit 2 for usage errors and 1 for failures, no stack trace, nothing half-written, and
// valid JSON with --json. Each test is a regression for a fix of the UX pass.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';

const dir = tempDir('kiln-ux-');
const text = join(dir, 'notes.txt');
writeFileSync(text, 'just some text\n');
const content = join(dir, 'content');
mkdirSync(content, { recursive: true });
writeFileSync(join(content, 'a.txt'), 'hello\n');

/** The one-line error a failed command printed, asserting the shape every error shares. */
function errorOf(result: ReturnType<typeof runKiln>): string {
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^error: /);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  return result.stderr;
}

describe('usage errors exit 2', () => {
  it('a missing output argument or required option of an image command exits 2', () => {
    const missingOut = runKiln(['image', 'cpio'], { cwd: dir });
    expect(missingOut.status).toBe(2);
    expect(errorOf(missingOut)).toContain('give the archive to write (OUT)');
    const missingSize = runKiln(['image', 'fat', join(dir, 'f.img')], { cwd: dir });
    expect(missingSize.status).toBe(2);
    expect(errorOf(missingSize)).toContain('--size is required');
  });

  it('a malformed size exits 2 with the units in the hint', () => {
    const result = runKiln(['image', 'gpt', join(dir, 'g.img'), '--size', '12X'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(errorOf(result)).toContain('"12X"');
    expect(result.stderr).toContain('hint: units are K, M, G, T');
    expect(existsSync(join(dir, 'g.img'))).toBe(false);
  });

  it('a FAT label or cluster size that cannot be is a usage error (exit 2), and nothing is written', () => {
    const out = join(dir, 'label.img');
    const label = runKiln(['image', 'fat', out, '--size', '2M', '--label', 'TOOLONGLABEL123'], { cwd: dir });
    expect(label.status).toBe(2);
    expect(errorOf(label)).toContain('volume label "TOOLONGLABEL123" has 15 characters, 1..11 fit');
    expect(label.stderr).toContain('hint: a FAT label is 1..11');
    const cluster = runKiln(['image', 'fat', out, '--size', '2M', '--cluster-size', '3'], { cwd: dir });
    expect(cluster.status).toBe(2);
    expect(errorOf(cluster)).toContain('cluster size must be a power of two');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('image raw names the option of a missing or folder input file (exit 2, no internal error)', () => {
    const out = join(dir, 'raw.img');
    const missing = runKiln(['image', 'raw', out, '--size', '1M', '--region', '0:nope.bin'], { cwd: dir });
    expect(missing.status).toBe(2);
    expect(errorOf(missing)).toBe(
      'error: --region "0:nope.bin": nope.bin: no such file\n  hint: build it first, or check the path\n',
    );
    const folder = runKiln(['image', 'raw', out, '--size', '1M', '--region', '0:content'], { cwd: dir });
    expect(folder.status).toBe(2);
    expect(errorOf(folder)).toContain('error: --region "0:content": content: is a folder, not a file');
    const portix = runKiln(
      ['image', 'raw', out, '--portix', '--stage1', 'nope.bin', '--stage2', 'nope.bin', '--kernel', 'nope.bin'],
      { cwd: dir },
    );
    expect(portix.status).toBe(2);
    expect(errorOf(portix)).toContain('error: --stage1: nope.bin: no such file');
    expect(existsSync(out)).toBe(false);
  });

  it('run --dry-run outside a project with nothing to boot exits 2', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const result = runKiln(['run', '--dry-run'], { cwd: empty });
    expect(result.status).toBe(2);
    expect(errorOf(result)).toContain('nothing to boot');
    expect(result.stderr).toContain('hint: give --kernel FILE');
  });
});

describe('image outputs in a folder that does not exist', () => {
  for (const args of [
    ['image', 'cpio', 'missing/out.cpio', '--from', 'content'],
    ['image', 'fat', 'missing/out.img', '--size', '2M', '--from', 'content'],
    ['image', 'iso', 'missing/out.iso', '--from', 'content'],
    ['image', 'convert', 'notes.txt', 'missing/out.vdi'],
  ]) {
    it(`kiln ${args.slice(0, 2).join(' ')} names the output and its folder, not a temporary file`, () => {
      const result = runKiln(args, { cwd: dir });
      expect(result.status).toBe(2);
      const out = args.find((a) => a.startsWith('missing/'))!;
      expect(errorOf(result)).toContain(`error: ${out}: cannot write: the folder missing does not exist`);
      expect(result.stderr).not.toContain('.tmp');
      expect(result.stderr).toContain('hint: create it first (mkdir -p missing)');
      expect(existsSync(join(dir, 'missing'))).toBe(false);
    });
  }
});

describe('format readers name the file they read', () => {
  for (const format of ['fat', 'gpt', 'mbr', 'cpio', 'raw']) {
    it(`kiln image ${format} ls on a text file says which file`, () => {
      const result = runKiln(['image', format, 'ls', text], { cwd: dir });
      expect(result.status).toBe(1);
      expect(errorOf(result)).toMatch(
        new RegExp(`^error: ${text.replace(/[.]/g, '\\.')}: offset 0x0 \\(0\\): ${format}: `),
      );
    });
  }

  it('the JSON error of image gpt ls carries the file in its location', () => {
    const result = runKiln(['image', 'gpt', 'ls', '--json', text], { cwd: dir });
    expect(result.status).toBe(1);
    const parsed = JSON.parse(result.stdout) as {
      ok: boolean;
      error: { code: string; location: { file: string; offset: number } };
    };
    expect(parsed.ok).toBe(false);
    expect(parsed.error.location).toEqual({ file: text, offset: 0 });
  });
});

describe('project commands', () => {
  const project = join(dir, 'project');

  it('kiln init in the current folder does not suggest `cd .`', () => {
    mkdirSync(project, { recursive: true });
    const result = runKiln(['init'], { cwd: project });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('next: npm install && npx kiln test');
    expect(result.stderr).not.toContain('cd .');
  });

  it('kiln graph --json prints the JSON graph (like --format json)', () => {
    const result = runKiln(['graph', '--json'], { cwd: project });
    expect(result.status).toBe(0);
    const graph = JSON.parse(result.stdout) as { steps: Array<{ name: string }> };
    expect(graph.steps.map((s) => s.name)).toEqual(['boot', 'disk']);
  });

  it('kiln run --dry-run in a project honours --memory and --smp (they were ignored)', () => {
    const plain = runKiln(['run', '--dry-run'], { cwd: project });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/ -m 512M -smp 1 /);
    const given = runKiln(['run', '--dry-run', '--memory', '1G', '--smp', '2', '--machine', 'pc'], { cwd: project });
    expect(given.status, given.stderr).toBe(0);
    expect(given.stdout).toMatch(/^qemu-system-x86_64 -machine pc .* -m 1024M -smp 2 .*-drive file=.*project\.img/);
    const bad = runKiln(['run', '--dry-run', '--smp', '0'], { cwd: project });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('error: --smp: expected a whole number >= 1, got "0"');
  });

  it("kiln run --debug in a project without a --debug option says it means stack traces, and where QEMU's log went", () => {
    const plain = runKiln(['run', '--dry-run', '--debug'], { cwd: project });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).toContain(
      "kiln: --debug: project has no --debug option, so it turns on kiln's stack traces; QEMU's -d log is --qemu-debug",
    );
    expect(plain.stdout).not.toContain(' -d int');
    const qemu = runKiln(['run', '--dry-run', '--qemu-debug'], { cwd: project });
    expect(qemu.status, qemu.stderr).toBe(0);
    expect(qemu.stdout).toMatch(/ -d int,cpu_reset -D \S+qemu-debug\.log/);
    expect(qemu.stderr).not.toContain('--debug:');
  });

  it('kiln graph --json reports an unknown project option as JSON, exit 2', () => {
    const result = runKiln(['graph', '--json', '--bogus'], { cwd: project });
    expect(result.status).toBe(2);
    const parsed = JSON.parse(result.stdout) as { ok: boolean; error: { code: string } };
    expect(parsed).toMatchObject({ ok: false, error: { code: 'OPTION_UNKNOWN' } });
  });
});

describe('abi gen', () => {
  it('a schema without a version says the key is missing (not "undefined undefined")', () => {
    const schema = join(dir, 'noversion.abi.json');
    writeFileSync(schema, '{"name":"demo"}\n');
    const out = join(dir, 'abi-out');
    const result = runKiln(['abi', 'gen', schema, '-o', out], { cwd: dir });
    expect(result.status).toBe(2);
    expect(errorOf(result)).toContain(
      'version: expected a semver string like "1.0.0", found nothing (the key is missing)',
    );
    expect(result.stderr).not.toContain('undefined');
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});

describe('--json on usage errors commander reports', () => {
  for (const args of [
    ['image', 'gpt', 'ls', '--json'],
    ['elf', 'info', '--json'],
    ['clean', '--json'],
  ]) {
    it(`kiln ${args.join(' ')} prints one JSON error on stdout and exits 2`, () => {
      const result = runKiln(args, { cwd: dir });
      expect(result.status).toBe(2);
      const parsed = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string } };
      expect(parsed.ok).toBe(false);
      expect(parsed.error.code).toBe('CLI_USAGE');
      expect(parsed.error.message).toMatch(/^(missing required argument|unknown option)/);
      expect(result.stderr).toMatch(/^error: /);
    });
  }
});

describe('project int options', () => {
  const project = join(dir, 'int-option');
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, 'kiln.config.ts'),
    `import { defineConfig, option, nasm } from 'kiln';\n` +
      `export default defineConfig({\n  name: 'intopt',\n` +
      `  options: { lba: option.int({ default: 65, min: 65, max: 4096, help: 'kernel LBA' }) },\n` +
      `  build() { return { components: { boot: nasm.bin({ source: 'boot.asm' }) } }; },\n});\n`,
  );
  writeFileSync(join(project, 'boot.asm'), 'db 0\n');

  it('a value below the minimum is not called "not an integer"', () => {
    const result = runKiln(['graph', '--lba=5'], { cwd: project });
    expect(result.status).toBe(2);
    expect(errorOf(result)).toContain(
      'error: --lba: expected an integer from 65 to 4096, got "5": below the minimum of 65',
    );
    expect(result.stderr).toContain('hint: kernel LBA (default: 65)');
  });

  it('a non-number names the allowed range', () => {
    const result = runKiln(['graph', '--lba=abc'], { cwd: project });
    expect(result.status).toBe(2);
    expect(errorOf(result)).toContain('error: --lba: expected an integer from 65 to 4096, got "abc"\n');
  });
});

describe('a folder or a file where the other is expected', () => {
  it('image ls, elf info and audit on a folder say so (no internal error)', () => {
    for (const [args, says] of [
      [['image', 'ls', content], 'is a folder, not an image file'],
      [['image', 'fat', 'ls', content], 'is a folder, not an image file'],
      [['elf', 'info', content], 'is a folder, not an ELF file'],
      [['audit', content], 'is a folder, not an ELF file'],
    ] as const) {
      const result = runKiln([...args], { cwd: dir });
      expect(result.status, args.join(' ')).toBe(1);
      expect(errorOf(result).startsWith(`error: ${content}: ${says}\n`), result.stderr).toBe(true);
      expect(result.stderr).toMatch(/\n {2}hint: give /);
    }
  });

  it('sign/verify --key FOLDER and abi gen FOLDER say the path is a folder (no internal EISDIR)', () => {
    for (const args of [
      ['sign', text, '--key', content],
      ['verify', text, '--key', content],
    ]) {
      const result = runKiln(args, { cwd: dir });
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(
        `error: ${content}: is a folder, not a key file\n  hint: give the key file itself`,
      );
      expect(result.stderr).not.toMatch(/internal error|EISDIR/);
    }
    const abi = runKiln(['abi', 'gen', content, '-o', join(dir, 'abi-folder-out')], { cwd: dir });
    expect(abi.status).toBe(2);
    expect(errorOf(abi)).toContain('is a folder, not a file');
    expect(existsSync(`${text}.sig`)).toBe(false);
  });

  it('extracting into, or keygen --out, a path that is a file says it is not a folder', () => {
    const archive = join(dir, 'x.cpio');
    expect(runKiln(['image', 'cpio', archive, '--from', content], { cwd: dir }).status).toBe(0);
    for (const args of [
      ['image', 'cpio', 'extract', archive, text],
      ['keygen', '--out', text],
    ]) {
      const result = runKiln(args, { cwd: dir });
      expect(result.status, args.join(' ')).toBe(1);
      expect(errorOf(result)).toBe(`error: ${text}: exists and is not a folder\n`);
    }
  });
});

describe('--config and config syntax errors', () => {
  const project = join(dir, 'broken-config');
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'boot.asm'), 'db 0\n');

  it('a syntax error in kiln.config.ts points at its line and column', () => {
    writeFileSync(
      join(project, 'kiln.config.ts'),
      "import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'x' ,, });\n",
    );
    const result = runKiln(['build'], { cwd: project });
    expect(result.status).toBe(2);
    expect(errorOf(result)).toMatch(
      /^error: kiln\.config\.ts:2:42: could not load the config: ParseError: Unexpected token\n/,
    );
  });

  it('--config with a missing file names that file (not "no kiln.config.ts found in ../../nope.ts")', () => {
    const result = runKiln(['graph', '--config', 'nope.ts'], { cwd: project });
    expect(result.status).toBe(2);
    expect(errorOf(result)).toBe(
      'error: --config nope.ts: no such file\n  hint: give the path of a kiln.config.ts, or of the folder holding one\n',
    );
  });

  it("--config with an existing non-config file loads that file, not the folder's kiln.config.ts", () => {
    const result = runKiln(['graph', '--config', 'boot.asm'], { cwd: project });
    expect(result.status).toBe(2);
    expect(errorOf(result)).toMatch(/^error: boot\.asm: could not load the config/);
  });
});
