/**
 * Where signing keys come from: an explicit key file, the `SIGNING_KEY` environment variable,
 * the project's development key (generated on first use into `<project>/.kiln/keys/`), or an
 * external signer command (external-signer.ts). A release build refuses the development key,
 * recognized by its key id whichever way it arrives, unless `allowDevKey` is set (`--allow-dev-key`).
 * Key files are written with mode 0600 in a 0700 folder.
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KilnError } from '../errors.js';
import {
  ALGORITHM_LENGTHS,
  decodeSeedText,
  formatKeyFile,
  generateKeyPair,
  makeSigningKey,
  parseKeyFile,
  publicKeyFromBytes,
  signingKeyFromSeed,
  type GeneratedKeyPair,
  type PublicKey,
  type SignatureAlgorithm,
  type SigningKey,
} from './keys.js';

/** Environment variable holding the Ed25519 seed (hex or base64), as in NØNOS's CI. */
export const SIGNING_KEY_ENV = 'SIGNING_KEY';
/** Environment variable holding the ML-DSA-65 seed for hybrid signing. */
export const SIGNING_KEY_ML_DSA_ENV = 'SIGNING_KEY_ML_DSA';

/** Folder of the development keys inside a project. */
export const DEV_KEY_DIR = join('.kiln', 'keys');

/** File names `writeKeyFiles` uses for an algorithm.
 * @example
 * keyFileNames('ed25519') // { secret: 'kiln-ed25519.key', public: 'kiln-ed25519.pub' }
 */
export function keyFileNames(algorithm: SignatureAlgorithm, prefix = 'kiln'): { secret: string; public: string } {
  return { secret: `${prefix}-${algorithm}.key`, public: `${prefix}-${algorithm}.pub` };
}

async function writeNew(path: string, text: string, mode: number, overwrite: boolean): Promise<void> {
  const flags = overwrite
    ? fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC
    : fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;
  let handle;
  try {
    handle = await open(path, flags, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KilnError('KEY_FILE_EXISTS', 'key file already exists; kiln never overwrites a key', {
        location: { file: path },
        hint: 'choose another --out folder, or delete the old key yourself if you really mean to replace it',
      });
    }
    throw error;
  }
  try {
    await handle.chmod(mode); // the umask may have narrowed or the file pre-existed: set it exactly
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/**
 * Writes `<dir>/<prefix>-<algorithm>.key` (mode 0600) and `.pub` (0644); the folder is created
 * with mode 0700 when missing. Refuses to overwrite an existing key unless `overwrite`.
 * @example
 * const pair = await generateKeyPair('ed25519');
 * const { secretPath, publicPath } = await writeKeyFiles(pair, 'keys/');
 */
export async function writeKeyFiles(
  pair: GeneratedKeyPair,
  dir: string,
  options: { prefix?: string; overwrite?: boolean } = {},
): Promise<{ secretPath: string; publicPath: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const names = keyFileNames(pair.algorithm, options.prefix);
  const secretPath = join(dir, names.secret);
  const publicPath = join(dir, names.public);
  const common = { algorithm: pair.algorithm, publicKey: pair.publicKey.publicKey, keyId: pair.publicKey.keyId };
  await writeNew(
    secretPath,
    formatKeyFile({ kind: 'secret', ...common, seed: pair.seed }),
    0o600,
    options.overwrite ?? false,
  );
  await writeNew(publicPath, formatKeyFile({ kind: 'public', ...common }), 0o644, options.overwrite ?? false);
  return { secretPath, publicPath };
}

/**
 * Loads a signing key from a file (kiln key file, PEM PKCS#8 Ed25519, 64 hex digits or 32 raw
 * bytes). Prints nothing; a file readable by group or others is reported by `keyFileLooseBits`,
 * which the CLI checks.
 * @example
 * const key = await loadSigningKeyFile('keys/kiln-ed25519.key');
 */
export async function loadSigningKeyFile(path: string, options: { isDev?: boolean } = {}): Promise<SigningKey> {
  const data = await readKeyBytes(path);
  const parsed = await parseKeyFile(data, { expect: 'secret', file: path });
  if (parsed.kind !== 'secret' || !parsed.seed) {
    throw new KilnError('KEY_NOT_SECRET', 'this is a public key file; signing needs the secret key', {
      location: { file: path },
      hint: 'pass the .key file written by `kiln keygen`, not the .pub file',
    });
  }
  // A dev key passed explicitly (--key .kiln/keys/dev-ed25519.key) is still a dev key.
  const isDev = options.isDev ?? /(^|[\\/])\.kiln[\\/]keys[\\/]dev-[^\\/]+\.key$/.test(resolve(path));
  return signingKeyFromSeed(parsed.algorithm, parsed.seed, { source: isDev ? 'dev' : 'file', origin: path, isDev });
}

/**
 * Loads the public keys in a file (a kiln .pub or .key file, PEM SPKI/PKCS#8, 64 hex digits or
 * 32 raw bytes = an Ed25519 public key).
 * @example
 * const keys = [await loadPublicKeyFile('kiln-ed25519.pub')];
 */
export async function loadPublicKeyFile(path: string): Promise<PublicKey> {
  const parsed = await parseKeyFile(await readKeyBytes(path), { expect: 'public', file: path });
  return publicKeyFromBytes(parsed.algorithm, parsed.publicKey);
}

async function readKeyBytes(path: string): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new KilnError(
        'KEY_FILE_MISSING',
        `is ${info.isDirectory() ? 'a folder' : 'not a regular file'}, not a key file`,
        {
          location: { file: path },
          hint: 'give the key file itself (e.g. .kiln/keys/kiln-ed25519.key), not its folder',
        },
      );
    }
    if (info.size > 1 << 20) {
      throw new KilnError('KEY_FILE_TOO_LARGE', `a key file is at most a few KiB, this one has ${info.size} bytes`, {
        location: { file: path },
        hint: 'check the path',
      });
    }
    return new Uint8Array(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KilnError('KEY_FILE_MISSING', 'key file not found', {
        location: { file: path },
        hint: 'create one with `kiln keygen --out DIR`',
      });
    }
    throw error;
  }
}

/**
 * The mode bits of a secret key file that give access to group or others (0 when private).
 * @example
 * if (await keyFileLooseBits('k.key')) console.warn('chmod 600 k.key');
 */
export async function keyFileLooseBits(path: string): Promise<number> {
  return (await stat(path)).mode & 0o077;
}

/**
 * A file mode's permission bits in octal as chmod takes them: `0644`, `0600`, `4755`.
 * @example
 * formatFileMode(0o100644) // '0644'
 */
export function formatFileMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Options of `resolveSigningKey`. */
export interface ResolveKeyOptions {
  /** Algorithm wanted (default ed25519). */
  algorithm?: SignatureAlgorithm;
  /** An explicit key file: wins over everything else. */
  keyFile?: string;
  /** Environment to read SIGNING_KEY / SIGNING_KEY_ML_DSA from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Project root: the dev key lives in `<projectDir>/.kiln/keys/`. Without it there is no dev key. */
  projectDir?: string;
  /** A release build: the dev key is refused unless `allowDevKey`. */
  release?: boolean;
  allowDevKey?: boolean;
  /** Do not fall back to (or create) the dev key. */
  noDevKey?: boolean;
}

/** The flag that lets a release build sign with the development key (CLI; `allowDevKey` in a config). */
export const ALLOW_DEV_KEY_FLAG = '--allow-dev-key';

/**
 * Key ids of the project's development keys: every `dev-*.pub` (else `dev-*.key`) in
 * `<projectDir>/.kiln/keys/`, the dev key store. Empty when the store does not exist.
 * @example
 * (await devKeyIds('.')).has(key.keyId) // this key is the project's dev key, however it arrived
 */
export async function devKeyIds(projectDir: string): Promise<Set<string>> {
  const dir = join(projectDir, DEV_KEY_DIR);
  const ids = new Set<string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return ids;
  }
  for (const name of names.filter((n) => /^dev-.+\.(pub|key)$/.test(n)).sort()) {
    const isPublic = name.endsWith('.pub');
    if (!isPublic && names.includes(name.replace(/\.key$/, '.pub'))) continue;
    try {
      const parsed = await parseKeyFile(await readKeyBytes(join(dir, name)), {
        expect: isPublic ? 'public' : 'secret',
        file: name,
      });
      ids.add(parsed.keyId);
    } catch {
      /* an unreadable file in the store is no key */
    }
  }
  // A NØNOS checkout's dev_signing_key.bin is a dev key even before kiln wrote its public key.
  const raw = join(projectDir, RAW_DEV_KEY_FILE);
  try {
    const seed = new Uint8Array(await readKeyBytes(raw));
    if (seed.length === ALGORITHM_LENGTHS.ed25519.seed) ids.add((await signingKeyFromSeed('ed25519', seed)).keyId);
    seed.fill(0);
  } catch {
    /* no raw dev key */
  }
  return ids;
}

/**
 * The same key marked as the development key when its key id is in the project's dev key store
 * (a dev key copied elsewhere, or its seed put into SIGNING_KEY, is still the dev key).
 */
async function recognizeDevKey(key: SigningKey, projectDir: string | undefined): Promise<SigningKey> {
  if (key.isDev || projectDir === undefined || !(await devKeyIds(projectDir)).has(key.keyId)) return key;
  const { sign, algorithm, publicKey, keyId, source, origin } = key;
  return makeSigningKey({ algorithm, publicKey, keyId, source, origin, isDev: true, sign });
}

/**
 * Refuses the development key in a release build unless allowed, whichever way it arrived (key
 * file, SIGNING_KEY, the dev key store); the key is recognized by its key id.
 * @example
 * const key = await checkReleaseKey(await loadSigningKeyFile(path), { projectDir: '.', release: true });
 */
export async function checkReleaseKey(
  key: SigningKey,
  options: { projectDir?: string; release?: boolean; allowDevKey?: boolean },
): Promise<SigningKey> {
  const checked = await recognizeDevKey(key, options.projectDir);
  if (checked.isDev && options.release && !options.allowDevKey) {
    throw devKeyInRelease(
      `a release build refuses the development key ${checked.keyId} (from ${checked.origin})`,
      checked.algorithm,
    );
  }
  return checked;
}

function devKeyInRelease(message: string, algorithm: SignatureAlgorithm): KilnError {
  const envName = algorithm === 'ed25519' ? SIGNING_KEY_ENV : SIGNING_KEY_ML_DSA_ENV;
  return new KilnError('SIGN_DEV_KEY_IN_RELEASE', message, {
    hint:
      `sign releases with your own key: --key FILE (or sign({ key })) or ${envName} (create one with \`kiln keygen\`); ` +
      `to sign a release with the development key anyway (local tests only), pass ${ALLOW_DEV_KEY_FLAG}`,
  });
}

/**
 * Finds the signing key: `keyFile`, else the environment variable, else the project's dev key
 * (created on first use). External signers are made with `externalSigner` and passed directly.
 * A release build refuses the development key from any of these (`checkReleaseKey`).
 * @example
 * const key = await resolveSigningKey({ projectDir: '.', release: profile === 'release' });
 */
export async function resolveSigningKey(options: ResolveKeyOptions = {}): Promise<SigningKey> {
  return checkReleaseKey(await findSigningKey(options), options);
}

async function findSigningKey(options: ResolveKeyOptions): Promise<SigningKey> {
  const algorithm = options.algorithm ?? 'ed25519';
  if (options.keyFile) {
    const key = await loadSigningKeyFile(options.keyFile);
    if (key.algorithm !== algorithm) {
      throw new KilnError(
        'KEY_WRONG_ALGORITHM',
        `this key file holds an ${key.algorithm} key, ${algorithm} was needed`,
        {
          location: { file: options.keyFile },
          hint:
            algorithm === 'ml-dsa-65'
              ? 'create one with `kiln keygen --algo ml-dsa-65`'
              : 'create one with `kiln keygen --algo ed25519`',
        },
      );
    }
    return key;
  }
  const env = options.env ?? process.env;
  const envName = algorithm === 'ed25519' ? SIGNING_KEY_ENV : SIGNING_KEY_ML_DSA_ENV;
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const seed = decodeSeedText(fromEnv, envName, ALGORITHM_LENGTHS[algorithm].seed);
    try {
      return await signingKeyFromSeed(algorithm, seed, { source: 'env', origin: envName });
    } finally {
      seed.fill(0);
    }
  }
  if (options.noDevKey || !options.projectDir) {
    throw new KilnError('SIGN_NO_KEY', `no ${algorithm} signing key: no key file given and ${envName} is not set`, {
      hint: `pass --key FILE (create one with \`kiln keygen --algo ${algorithm}\`) or set ${envName}`,
    });
  }
  if (options.release && !options.allowDevKey) {
    // Refused before the dev key is created: a release build never generates one.
    throw devKeyInRelease(
      `a release build refuses the development key (no key file given and ${envName} is not set)`,
      algorithm,
    );
  }
  return devSigningKey(options.projectDir, algorithm);
}

/**
 * A NØNOS checkout's dev key: 32 raw bytes (an Ed25519 seed) in `dev_signing_key.bin` next to the
 * project. When present it is the project's Ed25519 dev key (kiln generates none).
 */
export const RAW_DEV_KEY_FILE = 'dev_signing_key.bin';

/** Loads `dev_signing_key.bin`; writes its public key to `.kiln/keys/dev-signing-key.pub` for `kiln verify`. */
async function rawDevSigningKey(path: string, keyDir: string): Promise<SigningKey> {
  const seed = new Uint8Array(await readKeyBytes(path));
  try {
    if (seed.length !== ALGORITHM_LENGTHS.ed25519.seed) {
      throw new KilnError(
        'KEY_BAD_LENGTH',
        `${RAW_DEV_KEY_FILE} has ${seed.length} bytes; a dev key file is an Ed25519 seed of exactly 32 raw bytes`,
        {
          location: { file: path },
          hint: `write 32 random bytes (head -c 32 /dev/urandom > ${RAW_DEV_KEY_FILE}) or remove it to let kiln make its own dev key`,
        },
      );
    }
    const key = await signingKeyFromSeed('ed25519', seed, { source: 'dev', origin: path, isDev: true });
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    const pub = formatKeyFile({ kind: 'public', algorithm: 'ed25519', publicKey: key.publicKey, keyId: key.keyId });
    await writeNew(join(keyDir, 'dev-signing-key.pub'), pub, 0o644, true);
    return key;
  } finally {
    seed.fill(0);
  }
}

/**
 * The project's development key, generated on first use into `<projectDir>/.kiln/keys/dev-<algorithm>.key`
 * (0600; the folder 0700) with its `.pub` beside it.
 * @example
 * const dev = await devSigningKey(process.cwd()); // dev.isDev === true
 */
export async function devSigningKey(
  projectDir: string,
  algorithm: SignatureAlgorithm = 'ed25519',
): Promise<SigningKey> {
  const dir = join(projectDir, DEV_KEY_DIR);
  const raw = join(projectDir, RAW_DEV_KEY_FILE);
  if (algorithm === 'ed25519' && (await stat(raw).catch(() => undefined))) return rawDevSigningKey(raw, dir);
  const path = join(dir, keyFileNames(algorithm, 'dev').secret);
  try {
    return await loadSigningKeyFile(path, { isDev: true });
  } catch (error) {
    if (!(error instanceof KilnError) || error.code !== 'KEY_FILE_MISSING') throw error;
  }
  const pair = await generateKeyPair(algorithm);
  try {
    await writeKeyFiles(pair, dir, { prefix: 'dev' });
  } catch (error) {
    // Another process created it first: use theirs.
    if (!(error instanceof KilnError) || error.code !== 'KEY_FILE_EXISTS') throw error;
  } finally {
    pair.seed.fill(0);
  }
  await chmod(dir, 0o700);
  return loadSigningKeyFile(path, { isDev: true });
}
