import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/errors.js';
import { toHex } from '../../src/formats/io/bytes.js';
import {
  computeKeyId,
  devSigningKey,
  externalSigner,
  formatKeyFile,
  generateKeyPair,
  loadPublicKeyFile,
  loadSigningKeyFile,
  parseKeyFile,
  publicKeyConstant,
  resolveSigningKey,
  signingKeyFromSeed,
  verifySignature,
  writeKeyFiles,
} from '../../src/sign/index.js';
import { tempDir, tool } from '../_helpers.js';

const dir = tempDir('kiln-keys-');
const SEED = new Uint8Array(32).map((_, i) => i + 1);
const SEED_HEX = toHex(SEED);
const SEED_B64 = Buffer.from(SEED).toString('base64');
const message = new Uint8Array(32).fill(0x42);

/** Runs `fn` and returns every string it produced: thrown message/hint/JSON, return value printed. */
async function everythingPrinted(fn: () => Promise<unknown>): Promise<string> {
  try {
    const value = await fn();
    return `${inspect(value, { depth: 10, showHidden: true })}\n${JSON.stringify(value)}\n${String(value)}`;
  } catch (error) {
    const e = error as KilnError;
    return `${e.message}\n${e.hint ?? ''}\n${JSON.stringify(e.toJSON?.() ?? {})}\n${e.stack}\n${inspect(e)}`;
  }
}

describe('key ids and key files', () => {
  it('key id = first 8 bytes of BLAKE3("kiln-key-id-v1\\0" algorithm "\\0" public key)', async () => {
    const pair = await generateKeyPair('ed25519', SEED);
    const { blake3 } = await import('@noble/hashes/blake3.js');
    const label = new TextEncoder().encode('kiln-key-id-v1\0ed25519\0');
    const expected = toHex(blake3(new Uint8Array([...label, ...pair.publicKey.publicKey])).subarray(0, 8));
    expect(pair.publicKey.keyId).toBe(expected);
    expect(await computeKeyId('ml-dsa-65', pair.publicKey.publicKey)).not.toBe(expected);
  });

  it('writes the secret key 0600 (folder 0700) and the public key 0644; never overwrites', async () => {
    const pair = await generateKeyPair('ed25519');
    const out = join(dir, 'keys-a');
    const { secretPath, publicPath } = await writeKeyFiles(pair, out);
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
    expect(statSync(publicPath).mode & 0o777).toBe(0o644);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    await expect(writeKeyFiles(pair, out)).rejects.toMatchObject({ code: 'KEY_FILE_EXISTS' });
    const text = readFileSync(secretPath, 'utf8');
    expect(text.split('\n')[0]).toBe('kiln-key v1');
    expect(text).toMatch(/^kind: secret$/m);
    expect(readFileSync(publicPath, 'utf8')).not.toMatch(/seed/);
    const key = await loadSigningKeyFile(secretPath);
    const pub = await loadPublicKeyFile(publicPath);
    expect(key.keyId).toBe(pair.publicKey.keyId);
    expect(pub.keyId).toBe(pair.publicKey.keyId);
    expect(verifySignature(pub, message, await key.sign(message))).toBe(true);
  });

  it('ML-DSA-65 key files round-trip and sign', async () => {
    const pair = await generateKeyPair('ml-dsa-65');
    const { secretPath, publicPath } = await writeKeyFiles(pair, join(dir, 'keys-ml'));
    const key = await loadSigningKeyFile(secretPath);
    const pub = await loadPublicKeyFile(publicPath);
    expect(pub.publicKey.length).toBe(1952);
    expect(verifySignature(pub, message, await key.sign(message))).toBe(true);
  });

  it('reads OpenSSL PEM Ed25519 keys, 64 hex digits and 32 raw bytes', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'k.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(join(dir, 'k.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
    const key = await loadSigningKeyFile(join(dir, 'k.pem'));
    const pub = await loadPublicKeyFile(join(dir, 'k.pub.pem'));
    expect(key.keyId).toBe(pub.keyId);
    expect(verifySignature(pub, message, await key.sign(message))).toBe(true);
    // openssl itself verifies what kiln signed with the PEM key.
    const sig = await key.sign(message);
    writeFileSync(join(dir, 'msg'), message);
    writeFileSync(join(dir, 'msg.sig'), sig);
    const r = tool([
      'openssl',
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      join(dir, 'k.pub.pem'),
      '-rawin',
      '-in',
      join(dir, 'msg'),
      '-sigfile',
      join(dir, 'msg.sig'),
    ]);
    expect(r.stdout + r.stderr).toMatch(/Signature Verified Successfully/);
    writeFileSync(join(dir, 'seed.hex'), `${SEED_HEX}\n`);
    writeFileSync(join(dir, 'dev_signing_key.bin'), SEED);
    const a = await loadSigningKeyFile(join(dir, 'seed.hex'));
    const b = await loadSigningKeyFile(join(dir, 'dev_signing_key.bin'));
    expect(a.keyId).toBe(b.keyId);
  });

  it('rejects a tampered key file (seed and public key disagree) without quoting it', async () => {
    const pair = await generateKeyPair('ed25519', SEED);
    const other = await generateKeyPair('ed25519', new Uint8Array(32).fill(9));
    const text = formatKeyFile({
      kind: 'secret',
      algorithm: 'ed25519',
      publicKey: other.publicKey.publicKey,
      keyId: other.publicKey.keyId,
      seed: pair.seed,
    });
    const printed = await everythingPrinted(() =>
      parseKeyFile(new TextEncoder().encode(text), { expect: 'secret', file: 'x.key' }),
    );
    expect(printed).toMatch(/does not match/);
    expect(printed).not.toContain(SEED_HEX);
  });

  it('public key constants for C, Rust and Zig hold the key bytes', async () => {
    const pair = await generateKeyPair('ed25519', SEED);
    const bytes = Array.from(pair.publicKey.publicKey, (b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ');
    const flat = (s: string) => s.replace(/,\s+/g, ', ');
    expect(publicKeyConstant(pair.publicKey, 'c')).toMatch(
      /static const unsigned char KILN_ED25519_PUBLIC_KEY\[32\] = \{/,
    );
    expect(flat(publicKeyConstant(pair.publicKey, 'c'))).toContain(bytes);
    expect(publicKeyConstant(pair.publicKey, 'rust')).toMatch(/pub const KILN_ED25519_PUBLIC_KEY: \[u8; 32\] = \[/);
    expect(publicKeyConstant(pair.publicKey, 'zig')).toMatch(/pub const kiln_ed25519_public_key: \[32\]u8 = \.\{/);
    // The C constant compiles.
    writeFileSync(
      join(dir, 'key.c'),
      `${publicKeyConstant(pair.publicKey, 'c')}\nint main(void) { return KILN_ED25519_PUBLIC_KEY[0] == ${pair.publicKey.publicKey[0]} ? 0 : 1; }\n`,
    );
    expect(tool(['cc', '-Wall', '-Werror', join(dir, 'key.c'), '-o', join(dir, 'key')]).status).toBe(0);
    expect(tool([join(dir, 'key')]).status).toBe(0);
  });
});

describe('key sources', () => {
  it('SIGNING_KEY as hex or base64 gives the same key; a bad value is refused without being shown', async () => {
    const hex = await resolveSigningKey({ env: { SIGNING_KEY: SEED_HEX } });
    const b64 = await resolveSigningKey({ env: { SIGNING_KEY: SEED_B64 } });
    expect(hex.keyId).toBe((await generateKeyPair('ed25519', SEED)).publicKey.keyId);
    expect(b64.keyId).toBe(hex.keyId);
    expect(hex.source).toBe('env');
    const bad = `${SEED_HEX.slice(0, 60)}zz`;
    const printed = await everythingPrinted(() => resolveSigningKey({ env: { SIGNING_KEY: bad } }));
    expect(printed).toMatch(/KEY_ENV_INVALID|value not shown/);
    expect(printed).not.toContain(bad);
    expect(printed).not.toContain(SEED_HEX.slice(0, 60));
  });

  it('the dev key is generated on first use into <project>/.kiln/keys (0600) and reused', async () => {
    const project = join(dir, 'project');
    const first = await resolveSigningKey({ projectDir: project, env: {} });
    expect(first.isDev).toBe(true);
    const path = join(project, '.kiln', 'keys', 'dev-ed25519.key');
    expect(existsSync(path)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(project, '.kiln', 'keys')).mode & 0o777).toBe(0o700);
    const again = await devSigningKey(project);
    expect(again.keyId).toBe(first.keyId);
    // Passed explicitly as a key file, it is still recognized as the dev key.
    expect((await loadSigningKeyFile(path)).isDev).toBe(true);
    const ml = await resolveSigningKey({ projectDir: project, env: {}, algorithm: 'ml-dsa-65' });
    expect(ml.algorithm).toBe('ml-dsa-65');
    expect(statSync(join(project, '.kiln', 'keys', 'dev-ml-dsa-65.key')).mode & 0o777).toBe(0o600);
  });

  it('a release build refuses the dev key unless allowDevKey; explicit keys and SIGNING_KEY are fine', async () => {
    const project = join(dir, 'project-release');
    await expect(resolveSigningKey({ projectDir: project, env: {}, release: true })).rejects.toMatchObject({
      code: 'SIGN_DEV_KEY_IN_RELEASE',
    });
    expect(existsSync(join(project, '.kiln'))).toBe(false);
    expect((await resolveSigningKey({ projectDir: project, env: {}, release: true, allowDevKey: true })).isDev).toBe(
      true,
    );
    expect(
      (await resolveSigningKey({ projectDir: project, env: { SIGNING_KEY: SEED_HEX }, release: true })).source,
    ).toBe('env');
  });

  it('a signing key never shows its secret: inspect, JSON, String, errors', async () => {
    const key = await signingKeyFromSeed('ed25519', SEED, { origin: 'test' });
    const printed = await everythingPrinted(async () => key);
    expect(printed).not.toContain(SEED_HEX);
    expect(printed).not.toContain(SEED_B64);
    expect(printed).toContain(key.keyId);
    // Wrong-length seeds: the error gives the length, not the bytes.
    const long = new Uint8Array(33).fill(0xab);
    const err = await everythingPrinted(() => signingKeyFromSeed('ed25519', long));
    expect(err).toMatch(/32-byte seed, got 33 bytes/);
    expect(err).not.toMatch(/abab/);
  });

  it('an external signer gets the 32-byte hash on stdin and returns the signature (raw or hex); its output is checked', async () => {
    const pair = await generateKeyPair('ed25519', SEED);
    const keyPath = join(dir, 'hsm.key');
    writeFileSync(
      keyPath,
      formatKeyFile({
        kind: 'secret',
        algorithm: 'ed25519',
        publicKey: pair.publicKey.publicKey,
        keyId: pair.publicKey.keyId,
        seed: pair.seed,
      }),
    );
    chmodSync(keyPath, 0o600);
    // A stand-in HSM: a separate Node process that signs stdin with the key file (the way a PKCS#11 tool would).
    const script = join(dir, 'hsm.mjs');
    writeFileSync(
      script,
      `
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
const seed = Buffer.from(readFileSync(process.argv[2], 'utf8').match(/^seed: (\\w+)$/m)[1], 'hex');
const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
const input = readFileSync(0);
if (input.length !== 32) { console.error('expected 32 bytes, got ' + input.length); process.exit(3); }
const sig = sign(null, input, key);
process.stdout.write(process.argv[3] === 'hex' ? sig.toString('hex') + '\\n' : sig);
`,
    );
    for (const mode of ['raw', 'hex']) {
      const signer = externalSigner({ command: [process.execPath, script, keyPath, mode], publicKey: pair.publicKey });
      expect(signer.source).toBe('external');
      expect(verifySignature(pair.publicKey, message, await signer.sign(message))).toBe(true);
    }
    const wrong = await generateKeyPair('ed25519', new Uint8Array(32).fill(5));
    const mismatched = externalSigner({
      command: [process.execPath, script, keyPath, 'raw'],
      publicKey: wrong.publicKey,
    });
    await expect(mismatched.sign(message)).rejects.toMatchObject({ code: 'SIGNER_WRONG_KEY' });
    const failing = externalSigner({ command: [process.execPath, '-e', 'process.exit(4)'], publicKey: pair.publicKey });
    await expect(failing.sign(message)).rejects.toMatchObject({ code: 'SIGNER_FAILED' });
    const missing = externalSigner({ command: ['/nonexistent/hsm-sign'], publicKey: pair.publicKey });
    await expect(missing.sign(message)).rejects.toThrow(/command not found/);
  });
});

describe("dev_signing_key.bin (a NØNOS checkout's raw 32-byte dev key)", () => {
  it('is the Ed25519 dev key when present next to the project; its public key goes to .kiln/keys/', async () => {
    const {
      devSigningKey,
      resolveSigningKey: resolveKey,
      signingKeyFromSeed: fromSeed,
      loadPublicKeyFile: loadPub,
    } = await import('../../src/sign/index.js');
    const project = tempDir('kiln-raw-dev-key-');
    const seed = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
    writeFileSync(join(project, 'dev_signing_key.bin'), seed);
    const expected = await fromSeed('ed25519', seed);
    const key = await resolveKey({ projectDir: project, env: {} });
    expect(key.keyId).toBe(expected.keyId);
    expect(key.isDev).toBe(true);
    expect(key.origin).toBe(join(project, 'dev_signing_key.bin'));
    expect((await loadPub(join(project, '.kiln/keys/dev-signing-key.pub'))).keyId).toBe(expected.keyId);
    // kiln made no key of its own, and ML-DSA still uses kiln's dev key file.
    expect(existsSync(join(project, '.kiln/keys/dev-ed25519.key'))).toBe(false);
    expect((await devSigningKey(project, 'ml-dsa-65')).algorithm).toBe('ml-dsa-65');
    // A release build refuses it like any dev key.
    await expect(resolveKey({ projectDir: project, env: {}, release: true })).rejects.toMatchObject({
      code: 'SIGN_DEV_KEY_IN_RELEASE',
    });
  });

  it('a file that is not exactly 32 bytes is refused with its path and size', async () => {
    const { resolveSigningKey: resolveKey } = await import('../../src/sign/index.js');
    const project = tempDir('kiln-raw-dev-key-');
    writeFileSync(join(project, 'dev_signing_key.bin'), new Uint8Array(31));
    const error = await resolveKey({ projectDir: project, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KilnError);
    expect(error).toMatchObject({ code: 'KEY_BAD_LENGTH', location: { file: join(project, 'dev_signing_key.bin') } });
    expect((error as KilnError).message).toContain('has 31 bytes');
  });
});
