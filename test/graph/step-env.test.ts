// Secrets never reach a step (issue 15, item 3): steps run with an allow-listed environment. A
// command() that dumps its environment into an output, into the build log and into a failure's
// tail is built with SIGNING_KEY set as hex, as base64 and as a raw string, next to a real sign()
// step that uses it; the key appears in no file under the project and in no output stream.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';

const root = tempDir('kiln-step-env-');
const node = JSON.stringify(process.execPath);
// Prints the whole environment (stdout and stderr), writes its output, and fails when told to.
const DUMP =
  'const e = JSON.stringify(process.env, null, 1); console.log(e); console.error(e); ' +
  "require('fs').writeFileSync(process.argv[1], e); if (process.argv[2] === 'fail') { console.error('error: dumped'); process.exit(1); }";

const files: Record<string, string> = {
  'kernel/main.c': 'void _start(void) { for (;;) {} }\n',
  'kernel/link.ld':
    'ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.text*) } .data : { *(.data*) } .bss : { *(.bss*) } }\n',
  'kiln.config.ts': `import { defineConfig, cc, command, out, sign } from 'kiln';
const kernel = cc.exe({ name: 'kernel', sources: ['kernel/main.c'], linkerScript: 'kernel/link.ld' });
const signed = sign({ input: kernel, output: 'kernel.signed.elf' });
export default defineConfig({ name: 'envdemo', components: { kernel }, images: { signed }, steps: {
  envfile: command({ argv: ['/usr/bin/env'], outputs: ['env.txt'], stdout: 'env.txt', env: ['DECLARED_OK'] }),
  envlog: command({ argv: [${node}, '-e', ${JSON.stringify(DUMP)}, out('printed.txt')], outputs: ['printed.txt'], untracked: true }),
  envfail: command({ argv: [${node}, '-e', ${JSON.stringify(DUMP)}, out('failed.txt'), 'fail'], outputs: ['failed.txt'] }),
} });
`,
};

function project(name: string): string {
  const dir = join(root, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/** Every file under `dir` (build/, .kiln/, logs, state, cache objects). */
function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const info = statSync(path);
    if (info.isDirectory()) out.push(...allFiles(path));
    else if (info.isFile()) out.push(path);
  }
  return out;
}

/** The files and streams that hold any of `needles`. */
function leaks(dir: string, streams: Record<string, string>, needles: string[]): string[] {
  const found: string[] = [];
  for (const file of allFiles(dir)) {
    const bytes = readFileSync(file);
    for (const n of needles) if (bytes.includes(Buffer.from(n))) found.push(`${file}: ${n.slice(0, 6)}…`);
  }
  for (const [name, text] of Object.entries(streams))
    for (const n of needles) if (text.includes(n)) found.push(`${name}: ${n.slice(0, 6)}…`);
  return found;
}

const variants = (() => {
  const seed = randomBytes(32);
  const hex = seed.toString('hex');
  const base64 = seed.toString('base64');
  return [
    { name: 'hex', value: hex, needles: [hex, hex.toUpperCase(), base64], signs: true },
    { name: 'base64', value: base64, needles: [base64, hex], signs: true },
    {
      name: 'raw',
      value: `correct horse battery staple ${randomBytes(8).toString('hex')}`,
      needles: [] as string[],
      signs: false,
    },
  ].map((v) => ({ ...v, needles: [...v.needles, v.value] }));
})();

describe('step environments (allow-list)', () => {
  for (const variant of variants) {
    it(`SIGNING_KEY as ${variant.name}: in no file under the project and in no output stream`, () => {
      const dir = project(variant.name);
      const token = `ghp_${randomBytes(12).toString('hex')}`;
      const mlDsa = randomBytes(32).toString('hex');
      const env = {
        SIGNING_KEY: variant.value,
        SIGNING_KEY_ML_DSA: mlDsa,
        GITHUB_TOKEN: token,
        AWS_SECRET_ACCESS_KEY: token.toUpperCase(),
        DECLARED_OK: 'declared-value',
        UNDECLARED_PLAIN: 'not-on-the-list',
        SOURCE_DATE_EPOCH: '1700000000',
      };
      const json = runKiln(['build', '--json', '-k', '-j', '1'], { cwd: dir, env });
      const plain = runKiln(['build', '--plain', '-k', '-j', '1'], { cwd: dir, env });
      const status = runKiln(['status', '--json'], { cwd: dir, env });
      // The build ran: envfail failed on purpose, the rest succeeded (sign only with a valid key).
      expect(json.status, json.stderr).toBe(1);
      const finish = json.stdout
        .split('\n')
        .filter((l) => l.includes('"step-finish"'))
        .map((l) => JSON.parse(l) as { step: string; status: string });
      const statusOf = (step: string) => finish.find((e) => e.step === step)?.status;
      expect(statusOf('envfile')).toBe('ran');
      expect(statusOf('envlog')).toBe('ran');
      expect(statusOf('envfail')).toBe('failed');
      expect(statusOf('signed')).toBe(variant.signs ? 'ran' : 'failed');
      if (!variant.signs)
        expect(json.stdout).toContain(
          'SIGNING_KEY: expected 64 hex digits or the base64 of 32 bytes (value not shown)',
        );

      // What the step saw: the allow-list, its declared variable, the build's epoch; no secret.
      const seen = readFileSync(join(dir, 'build/x86_64-debug/env.txt'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('=')[0]);
      expect(seen).toContain('PATH');
      expect(seen).toContain('HOME');
      expect(seen).toContain('DECLARED_OK');
      expect(readFileSync(join(dir, 'build/x86_64-debug/env.txt'), 'utf8')).toContain('SOURCE_DATE_EPOCH=1700000000');
      for (const name of [
        'SIGNING_KEY',
        'SIGNING_KEY_ML_DSA',
        'GITHUB_TOKEN',
        'AWS_SECRET_ACCESS_KEY',
        'UNDECLARED_PLAIN',
      ])
        expect(seen).not.toContain(name);
      // The dump really reached the logs (so the absence below means something).
      expect(readFileSync(join(dir, 'build/logs/build.log'), 'utf8')).toContain('"SOURCE_DATE_EPOCH": "1700000000"');

      const found = leaks(
        dir,
        {
          'build --json stdout': json.stdout,
          'build --json stderr': json.stderr,
          'build --plain': plain.stdout + plain.stderr,
          'status --json': status.stdout + status.stderr,
        },
        [...variant.needles, mlDsa, token, token.toUpperCase()],
      );
      expect(found).toEqual([]);
    }, 180_000);
  }

  it('a step that declares a secret-looking variable is refused at plan time, naming the rule', () => {
    const dir = join(root, 'declared');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { defineConfig, command } from 'kiln';
export default defineConfig({ name: 'd', steps: {
  leak: command({ argv: ['/usr/bin/env'], outputs: ['e.txt'], stdout: 'e.txt', env: ['PATH', 'NPM_TOKEN'] }),
} });
`,
    );
    const r = runKiln(['build', '--plain'], { cwd: dir, env: { NPM_TOKEN: 'x' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('steps.leak.env');
    expect(r.stderr).toContain('"NPM_TOKEN"');
    expect(r.stderr).toMatch(/never get a secret/);
    expect(r.stderr).toMatch(/starting with SIGNING_KEY/);
    const graph = runKiln(['graph'], { cwd: dir });
    expect(graph.status).toBe(2);
  });

  it('cargo env: a secret-looking name is refused when the config is validated', () => {
    const dir = join(root, 'cargo-env');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { defineConfig, cargo } from 'kiln';
export default defineConfig({ name: 'c', components: { k: cargo.bin({ path: 'kernel', env: { DEPLOY_API_KEY: 'x' } }) } });
`,
    );
    const r = runKiln(['graph'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/components\.k\.env.*DEPLOY_API_KEY|DEPLOY_API_KEY.*looks secret/);
  });
});
