// The kiln keygen / sign / verify commands, run as the built CLI (npm run build first).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';
import { buildNasmKernel } from './_kernels.js';

const dir = tempDir('kiln-sign-cli-');
let kernel: string;

beforeAll(() => {
  kernel = join(dir, 'kernel.elf');
  writeFileSync(kernel, buildNasmKernel(dir));
});

function secretSeed(path: string): string {
  return /^seed: ([0-9a-f]+)$/m.exec(readFileSync(path, 'utf8'))![1]!;
}

describe('kiln keygen', () => {
  it('writes 0600 secret keys, prints the public key hex, key id and constants, never the secret', () => {
    const r = runKiln(['keygen', '--algo', 'hybrid', '--out', join(dir, 'keys')]);
    expect(r.stderr).toMatch(/^sign with: kiln sign FILE/);
    expect(r.status).toBe(0);
    const edSeed = secretSeed(join(dir, 'keys', 'kiln-ed25519.key'));
    const mlSeed = secretSeed(join(dir, 'keys', 'kiln-ml-dsa-65.key'));
    for (const name of ['kiln-ed25519.key', 'kiln-ml-dsa-65.key'])
      expect(statSync(join(dir, 'keys', name)).mode & 0o777).toBe(0o600);
    const pub = /^public: ([0-9a-f]+)$/m.exec(readFileSync(join(dir, 'keys', 'kiln-ed25519.pub'), 'utf8'))![1]!;
    expect(r.stdout).toContain(`public key (hex): ${pub}`);
    expect(r.stdout).toMatch(/ed25519 key [0-9a-f]{16}/);
    expect(r.stdout).toMatch(/static const unsigned char KILN_ED25519_PUBLIC_KEY\[32\]/);
    expect(r.stdout).toMatch(/pub const KILN_ML_DSA_65_PUBLIC_KEY: \[u8; 1952\]/);
    expect(r.stdout).toMatch(/pub const kiln_ed25519_public_key: \[32\]u8/);
    for (const secret of [edSeed, mlSeed]) {
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
    // A second run refuses to overwrite.
    const again = runKiln(['keygen', '--out', join(dir, 'keys')]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
  });
});

describe('kiln sign / verify', () => {
  it('signs a kernel with NØNOS sections (hybrid), verify exits 0; readelf accepts the result', () => {
    const out = join(dir, 'signed.elf');
    const keys = join(dir, 'keys');
    const s = runKiln(
      [
        'sign',
        kernel,
        '--out',
        out,
        '--key',
        join(keys, 'kiln-ed25519.key'),
        '--key',
        join(keys, 'kiln-ml-dsa-65.key'),
        '--hybrid',
        '--nonos',
        '--toolchain',
        'nasm=2.16',
        '--project',
        'nonos',
        '--release',
      ],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/\.nonos\.sig: ed25519 key [0-9a-f]{16} \(file\)/);
    const v = runKiln([
      'verify',
      out,
      '--nonos',
      '--key',
      join(keys, 'kiln-ed25519.pub'),
      '--key',
      join(keys, 'kiln-ml-dsa-65.pub'),
      '--json',
    ]);
    expect(v.status).toBe(0);
    const json = JSON.parse(v.stdout) as {
      ok: boolean;
      manifest: { project: string; buildTime: number; toolchain: Record<string, string>; signers: unknown[] };
    };
    expect(json.ok).toBe(true);
    expect(json.manifest.project).toBe('nonos');
    expect(json.manifest.buildTime).toBe(1700000000);
    expect(json.manifest.toolchain).toEqual({ nasm: '2.16' });
    expect(json.manifest.signers).toHaveLength(2);
    const r = tool(['readelf', '-a', '-W', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/\.nonos\.manifest/);
    // Reproducible: same inputs, same SOURCE_DATE_EPOCH, same bytes (Ed25519 and ML-DSA signing are deterministic).
    const out2 = join(dir, 'signed2.elf');
    runKiln(
      [
        'sign',
        kernel,
        '--out',
        out2,
        '--key',
        join(keys, 'kiln-ed25519.key'),
        '--key',
        join(keys, 'kiln-ml-dsa-65.key'),
        '--hybrid',
        '--nonos',
        '--toolchain',
        'nasm=2.16',
        '--project',
        'nonos',
      ],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
    // (profile differs: debug vs release) -> sign once more exactly as the first time
    const out3 = join(dir, 'signed3.elf');
    runKiln(
      [
        'sign',
        kernel,
        '--out',
        out3,
        '--key',
        join(keys, 'kiln-ed25519.key'),
        '--key',
        join(keys, 'kiln-ml-dsa-65.key'),
        '--hybrid',
        '--nonos',
        '--toolchain',
        'nasm=2.16',
        '--project',
        'nonos',
        '--release',
      ],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
    expect(Buffer.compare(readFileSync(out), readFileSync(out3))).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFileSync(out2))).not.toBe(0);
  });

  it('verify exits 1 and names the failing check for a tampered kernel; --json too', () => {
    const out = join(dir, 'signed.elf');
    const bytes = readFileSync(out);
    const text = /\.text\s+PROGBITS\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(tool(['readelf', '-S', '-W', out]).stdout)!;
    const tampered = join(dir, 'tampered.elf');
    const copy = Buffer.from(bytes);
    copy[parseInt(text[1]!, 16)]! ^= 0x90;
    writeFileSync(tampered, copy);
    const keys = join(dir, 'keys');
    const v = runKiln([
      'verify',
      tampered,
      '--nonos',
      '--key',
      join(keys, 'kiln-ed25519.pub'),
      '--key',
      join(keys, 'kiln-ml-dsa-65.pub'),
    ]);
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/INVALID \(manifest-mismatch\)/);
    expect(v.stderr).toMatch(/FAIL kernel hash/);
    const j = runKiln([
      'verify',
      tampered,
      '--nonos',
      '--key',
      join(keys, 'kiln-ed25519.pub'),
      '--key',
      join(keys, 'kiln-ml-dsa-65.pub'),
      '--json',
    ]);
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, reason: 'manifest-mismatch' });
    // Missing the ML-DSA key: unknown key id.
    const k = runKiln(['verify', out, '--nonos', '--key', join(keys, 'kiln-ed25519.pub'), '--json']);
    expect(JSON.parse(k.stdout)).toMatchObject({ ok: false, reason: 'unknown-key-id' });
  });

  it('SIGNING_KEY from the environment signs; the key never appears in any output, even on error', () => {
    const seed = 'a1'.repeat(32);
    const out = join(dir, 'env-signed.elf');
    const s = runKiln(['sign', kernel, '--out', out, '--release', '--json'], { env: { SIGNING_KEY: seed } });
    expect(s.status).toBe(0);
    expect(JSON.parse(s.stdout).keys[0]).toMatchObject({ source: 'env', origin: 'SIGNING_KEY' });
    expect(s.stdout + s.stderr).not.toContain(seed);
    const bad = `${seed.slice(0, 62)}zz`;
    const e = runKiln(['--debug', 'sign', kernel, '--out', join(dir, 'x.elf')], { env: { SIGNING_KEY: bad } });
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/SIGNING_KEY: expected 64 hex digits/);
    expect(e.stdout + e.stderr).not.toContain(bad);
    expect(e.stdout + e.stderr).not.toContain(seed.slice(0, 62));
  });

  it('--release refuses the dev key; without --release the dev key is created in .kiln/keys (0600)', () => {
    const project = join(dir, 'proj');
    const r = runKiln(['sign', kernel, '--out', join(dir, 'dev.elf'), '--release', '--project-dir', project], {
      env: { SIGNING_KEY: '' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/release build refuses the development key/);
    const d = runKiln(['sign', kernel, '--out', join(dir, 'dev.elf'), '--project-dir', project], {
      env: { SIGNING_KEY: '' },
    });
    expect(d.status).toBe(0);
    expect(d.stdout).toMatch(/development key/);
    expect(statSync(join(project, '.kiln', 'keys', 'dev-ed25519.key')).mode & 0o777).toBe(0o600);
    const v = runKiln(['verify', join(dir, 'dev.elf'), '--key', join(project, '.kiln', 'keys', 'dev-ed25519.pub')]);
    expect(v.status).toBe(0);
  });

  it('a non-ELF artifact gets a detached .sig; verify checks it (exit 1 after a change)', () => {
    const blob = join(dir, 'initrd.cpio');
    writeFileSync(blob, Buffer.alloc(70000, 7));
    const keys = join(dir, 'keys');
    expect(runKiln(['sign', blob, '--key', join(keys, 'kiln-ed25519.key')]).status).toBe(0);
    expect(statSync(`${blob}.sig`).size).toBeGreaterThan(64);
    expect(runKiln(['verify', blob, '--key', join(keys, 'kiln-ed25519.pub')]).status).toBe(0);
    writeFileSync(blob, Buffer.alloc(70000, 8));
    const v = runKiln(['verify', blob, '--key', join(keys, 'kiln-ed25519.pub')]);
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/INVALID \(hash\)/);
  });
});

describe('kiln sign --signer-command (HSM-style external signer)', () => {
  it('signs through the command (hash on stdin, signature on stdout) and verifies', () => {
    const keys = join(dir, 'keys');
    const script = join(dir, 'hsm.mjs');
    writeFileSync(
      script,
      `
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
const seed = Buffer.from(readFileSync(process.argv[2], 'utf8').match(/^seed: (\\w+)$/m)[1], 'hex');
const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
process.stdout.write(sign(null, readFileSync(0), key));
`,
    );
    const out = join(dir, 'hsm-signed.elf');
    const s = runKiln(
      [
        'sign',
        kernel,
        '--out',
        out,
        '--release',
        '--signer-command',
        `${process.execPath} ${script} ${join(keys, 'kiln-ed25519.key')}`,
        '--signer-public',
        join(keys, 'kiln-ed25519.pub'),
        '--json',
      ],
      { env: { SIGNING_KEY: '' } },
    );
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    expect(JSON.parse(s.stdout).keys[0]).toMatchObject({ source: 'external', dev: false });
    const v = runKiln(['verify', out, '--key', join(keys, 'kiln-ed25519.pub')]);
    expect(v.stderr + v.stdout).toMatch(/valid: signed by ed25519/);
    expect(v.status).toBe(0);
    // The audit's kernel layer checks that signature with the key.
    const a = runKiln(['audit', out, '--layer', 'kernel', '--key', join(keys, 'kiln-ed25519.pub'), '--all', '--json']);
    expect(a.stderr).toBe('');
    const report = JSON.parse(a.stdout) as {
      reports: { findings: { rule: string; status: string; evidence: string }[] }[];
    };
    const sig = report.reports[0]!.findings.find((f) => f.rule === 'signature')!;
    expect(sig.status).toBe('pass');
    expect(sig.evidence).toMatch(/^valid: signed by ed25519/);
  });
});
