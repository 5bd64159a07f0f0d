// A release refuses the development key however it arrives (issue 15, item 4): from the dev key
// store, as a key file (the store's own file or a copy), through SIGNING_KEY (hex or base64),
// recognized by its key id; --allow-dev-key (the flag the hint names) lets it through.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';

const dir = join(tempDir('kiln-release-key-'), 'p');
const blob = join(dir, 'artifact.bin');
const devKey = join(dir, '.kiln/keys/dev-ed25519.key');
let devSeedHex = '';
let devKeyId = '';

const noKey = { SIGNING_KEY: '' };
const signRelease = (args: string[], env: NodeJS.ProcessEnv = noKey) =>
  runKiln(['sign', blob, '--release', '--project-dir', dir, '--json', ...args], { cwd: dir, env });

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(blob, 'a release artifact\n');
  // A debug signature creates the project's dev key (the dev key store, .kiln/keys).
  const debug = runKiln(['sign', blob, '--project-dir', dir, '--json'], { cwd: dir, env: noKey });
  expect(debug.status, debug.stderr).toBe(0);
  devKeyId = (JSON.parse(debug.stdout) as { keys: Array<{ keyId: string }> }).keys[0]!.keyId;
  devSeedHex = /^seed: ([0-9a-f]{64})$/m.exec(readFileSync(devKey, 'utf8'))![1]!;
});

function expectRefused(r: ReturnType<typeof runKiln>, from: string): void {
  expect(r.status, r.stdout + r.stderr).toBe(1);
  const error = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
  expect(error.code).toBe('SIGN_DEV_KEY_IN_RELEASE');
  expect(error.message).toContain(`development key ${devKeyId} (from ${from})`);
  expect(error.hint).toContain('pass --allow-dev-key');
}

describe('kiln sign --release', () => {
  it('refuses the dev key from the store when nothing else is given', () => {
    const r = signRelease([]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('SIGN_DEV_KEY_IN_RELEASE');
    expect(r.stdout).toContain('pass --allow-dev-key');
  });

  it("refuses the dev key given as --key (the store's file, and a copy elsewhere)", () => {
    expectRefused(signRelease(['--key', devKey]), devKey);
    const copy = join(dir, 'release.key');
    copyFileSync(devKey, copy);
    expectRefused(signRelease(['--key', copy]), copy);
  });

  it("refuses the dev key's seed in SIGNING_KEY, as hex and as base64", () => {
    expectRefused(signRelease([], { SIGNING_KEY: devSeedHex }), 'SIGNING_KEY');
    expectRefused(signRelease([], { SIGNING_KEY: Buffer.from(devSeedHex, 'hex').toString('base64') }), 'SIGNING_KEY');
  });

  it('--allow-dev-key lets each route through, and the output says it is the dev key', () => {
    for (const [args, env] of [
      [['--key', devKey], noKey],
      [[], { SIGNING_KEY: devSeedHex }],
      [[], noKey],
    ] as const) {
      const r = signRelease(['--allow-dev-key', ...args], env);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const keys = (JSON.parse(r.stdout) as { keys: Array<{ keyId: string; dev: boolean }> }).keys;
      expect(keys).toEqual([expect.objectContaining({ keyId: devKeyId, dev: true })]);
    }
  });

  it('accepts another key from SIGNING_KEY in a release', () => {
    const other = 'ab'.repeat(32);
    const r = signRelease([], { SIGNING_KEY: other });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { keys: Array<{ keyId: string; dev: boolean }> }).keys[0]).toMatchObject({
      dev: false,
    });
  });

  it('a key file readable by others is reported with its mode in octal', () => {
    const loose = join(dir, 'loose.key');
    copyFileSync(devKey, loose);
    chmodSync(loose, 0o644);
    const r = runKiln(['sign', blob, '--key', loose, '--project-dir', dir], { cwd: dir, env: noKey });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${loose} is readable by group or others (mode 0644); run chmod 600`);
  });
});

describe('kiln build --profile release', () => {
  const project = join(tempDir('kiln-release-build-'), 'p');
  const files: Record<string, string> = {
    'kernel/main.c': 'void _start(void) { for (;;) {} }\n',
    'kernel/link.ld':
      'ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.text*) } .data : { *(.data*) } .bss : { *(.bss*) } }\n',
    'kiln.config.ts': `import { defineConfig, cc, sign } from 'kiln';
const kernel = cc.exe({ name: 'kernel', sources: ['kernel/main.c'], linkerScript: 'kernel/link.ld' });
export default defineConfig({ name: 'rel', components: { kernel }, images: { signed: sign({ input: kernel }) } });
`,
  };
  const build = (args: string[], env: NodeJS.ProcessEnv = noKey) =>
    runKiln(['build', '--plain', '--profile', 'release', ...args], { cwd: project, env });

  beforeAll(() => {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(project, name, '..'), { recursive: true });
      writeFileSync(join(project, name), text);
    }
    // The debug profile creates this project's dev key.
    const debug = runKiln(['build', '--plain'], { cwd: project, env: noKey });
    expect(debug.status, debug.stderr).toBe(0);
  });

  it('refuses the dev key from the store, with the hint naming --allow-dev-key', () => {
    const r = build([]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'FAILED signed: a release build refuses the development key (no key file given and SIGNING_KEY is not set)',
    );
    expect(r.stderr).toContain('pass --allow-dev-key');
  });

  it("refuses the dev key's seed arriving through SIGNING_KEY (recognized by key id)", () => {
    const seed = /^seed: ([0-9a-f]{64})$/m.exec(readFileSync(join(project, '.kiln/keys/dev-ed25519.key'), 'utf8'))![1]!;
    const r = build([], { SIGNING_KEY: seed });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED signed: a release build refuses the development key [0-9a-f]{16} \(from SIGNING_KEY\)/,
    );
    expect(r.stderr).not.toContain(seed);
    expect(existsSync(join(project, 'build/x86_64-release/kernel.signed.elf'))).toBe(false);
  });

  it('--allow-dev-key builds the release with the dev key; without it again, the cached result is not reused', () => {
    const allowed = build(['--allow-dev-key']);
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(existsSync(join(project, 'build/x86_64-release/kernel.signed.elf'))).toBe(true);
    const again = build([]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('refuses the development key');
  });
});
