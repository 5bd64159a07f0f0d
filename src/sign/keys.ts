/**
 * Signing keys: algorithms, key ids, the kiln key file format, key generation and public key
 * export as C / Rust / Zig constants. The format is kiln's own; sign/README.md documents it.
 *
 * Secret material is never part of a message, an error, `JSON.stringify` or `util.inspect`:
 * a SigningKey keeps its seed in a closure and exposes only `sign(message)`.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign } from 'node:crypto';
import { inspect } from 'node:util';
import { KilnError } from '../errors.js';
import { fromHex, toHex } from '../formats/io/bytes.js';
import { blake3 } from './blake3.js';
import {
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SEED_LENGTH,
  ed25519PrivateKeyObject,
  ed25519PublicKey,
  ed25519RandomSeed,
  ed25519RawPublicKey,
  ed25519RawSeed,
  ed25519Verify,
  ED25519_SIGNATURE_LENGTH,
} from './ed25519.js';
import {
  ML_DSA_65_PUBLIC_KEY_LENGTH,
  ML_DSA_65_SEED_LENGTH,
  ML_DSA_65_SIGNATURE_LENGTH,
  mlDsa65KeyPair,
  mlDsa65PublicKey,
  mlDsa65RandomSeed,
  mlDsa65SignWithSecretKey,
  mlDsa65Verify,
} from './ml-dsa.js';

/** A signature algorithm kiln supports. */
export type SignatureAlgorithm = 'ed25519' | 'ml-dsa-65';

/** The signature algorithms kiln signs and verifies with. */
export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ['ed25519', 'ml-dsa-65'];

/** Numeric ids used in binary records (manifest signer entries, detached signatures). */
export const ALGORITHM_IDS: Readonly<Record<SignatureAlgorithm, number>> = { ed25519: 1, 'ml-dsa-65': 2 };

/**
 * algorithmFromId.
 * @example
 * algorithmFromId(2) // 'ml-dsa-65'
 */
export function algorithmFromId(id: number): SignatureAlgorithm | undefined {
  return SIGNATURE_ALGORITHMS.find((a) => ALGORITHM_IDS[a] === id);
}

/** Lengths per algorithm: seed (the private key kiln stores), public key, signature. */
export const ALGORITHM_LENGTHS: Readonly<
  Record<SignatureAlgorithm, { seed: number; publicKey: number; signature: number }>
> = {
  ed25519: { seed: ED25519_SEED_LENGTH, publicKey: ED25519_PUBLIC_KEY_LENGTH, signature: ED25519_SIGNATURE_LENGTH },
  'ml-dsa-65': {
    seed: ML_DSA_65_SEED_LENGTH,
    publicKey: ML_DSA_65_PUBLIC_KEY_LENGTH,
    signature: ML_DSA_65_SIGNATURE_LENGTH,
  },
};

/** Length in bytes of a key id. */
export const KEY_ID_LENGTH = 8;

/** A public key with its algorithm and key id. Safe to print. */
export interface PublicKey {
  readonly algorithm: SignatureAlgorithm;
  readonly publicKey: Uint8Array;
  /** 16 hex digits: the first 8 bytes of BLAKE3("kiln-key-id-v1" 0x00 algorithm 0x00 publicKey). */
  readonly keyId: string;
}

/** Where a signing key came from (printed by `kiln sign`; never the key itself). */
export type KeySource = 'file' | 'env' | 'dev' | 'external' | 'memory';

/** A key that can sign. The secret is not reachable from this object's properties. */
export interface SigningKey extends PublicKey {
  readonly source: KeySource;
  /** True for the auto-generated development key (refused by release profiles). */
  readonly isDev: boolean;
  /** A description of the origin for messages: a path, `SIGNING_KEY`, a command name. */
  readonly origin: string;
  /** Signs `message` (kiln always passes the 32-byte BLAKE3 hash). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * The key id of a public key: 16 hex digits.
 * @example
 * await computeKeyId('ed25519', publicKey); // e.g. '3f9c0a51d2e87b64'
 */
export async function computeKeyId(algorithm: SignatureAlgorithm, publicKey: Uint8Array): Promise<string> {
  const label = new TextEncoder().encode(`kiln-key-id-v1\0${algorithm}\0`);
  const input = new Uint8Array(label.length + publicKey.length);
  input.set(label, 0);
  input.set(publicKey, label.length);
  return toHex((await blake3(input)).subarray(0, KEY_ID_LENGTH));
}

function checkAlgorithm(algorithm: string): asserts algorithm is SignatureAlgorithm {
  if (!SIGNATURE_ALGORITHMS.includes(algorithm as SignatureAlgorithm)) {
    throw new KilnError('SIGN_UNKNOWN_ALGORITHM', `unknown signature algorithm ${JSON.stringify(algorithm)}`, {
      hint: `use one of: ${SIGNATURE_ALGORITHMS.join(', ')}`,
    });
  }
}

/**
 * A PublicKey record from raw bytes (checks the length for the algorithm).
 * @example
 * const key = await publicKeyFromBytes('ed25519', fromHex('d75a98...'));
 */
export async function publicKeyFromBytes(algorithm: SignatureAlgorithm, publicKey: Uint8Array): Promise<PublicKey> {
  checkAlgorithm(algorithm);
  const want = ALGORITHM_LENGTHS[algorithm].publicKey;
  if (publicKey.length !== want) {
    throw new KilnError('KEY_BAD_LENGTH', `${algorithm} public key: expected ${want} bytes, got ${publicKey.length}`, {
      hint: 'check that the file holds the public key of the right algorithm',
    });
  }
  return Object.freeze({
    algorithm,
    publicKey: new Uint8Array(publicKey),
    keyId: await computeKeyId(algorithm, publicKey),
  });
}

/**
 * Verifies a signature with a public key of either algorithm (false, never throws, on bad input).
 * @example
 * verifySignature(key, hash, signature) // true or false
 */
export function verifySignature(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  return key.algorithm === 'ed25519'
    ? ed25519Verify(key.publicKey, message, signature)
    : mlDsa65Verify(key.publicKey, message, signature);
}

function derivePublic(algorithm: SignatureAlgorithm, seed: Uint8Array): Uint8Array {
  return algorithm === 'ed25519' ? ed25519PublicKey(seed) : mlDsa65PublicKey(seed);
}

/**
 * A SigningKey over a seed held in memory. The seed is copied into a closure; the returned
 * object prints as `SigningKey(ed25519 <key id>, <origin>)`.
 * @example
 * const key = await signingKeyFromSeed('ed25519', seed, { source: 'memory', origin: 'test' });
 * const signature = await key.sign(hash);
 */
export async function signingKeyFromSeed(
  algorithm: SignatureAlgorithm,
  seed: Uint8Array,
  options: { source?: KeySource; origin?: string; isDev?: boolean } = {},
): Promise<SigningKey> {
  checkAlgorithm(algorithm);
  const want = ALGORITHM_LENGTHS[algorithm].seed;
  if (!(seed instanceof Uint8Array) || seed.length !== want) {
    throw new KilnError(
      'KEY_BAD_LENGTH',
      `${algorithm} secret key: expected a ${want}-byte seed, got ${seed instanceof Uint8Array ? seed.length : 0} bytes`,
      {
        hint: `a kiln secret key is the ${want}-byte seed, as hex (${want * 2} digits) or base64`,
      },
    );
  }
  // Expand the key once; the closure holds only the opaque KeyObject / expanded ML-DSA key.
  let publicKey: Uint8Array;
  let signFn: (message: Uint8Array) => Uint8Array;
  if (algorithm === 'ed25519') {
    const keyObject = ed25519PrivateKeyObject(seed);
    publicKey = ed25519RawPublicKey(keyObject);
    signFn = (message) => new Uint8Array(nodeSign(null, message, keyObject));
  } else {
    const pair = mlDsa65KeyPair(seed);
    publicKey = pair.publicKey;
    const secretKey = pair.secretKey;
    signFn = (message) => mlDsa65SignWithSecretKey(secretKey, message);
  }
  const keyId = await computeKeyId(algorithm, publicKey);
  return makeSigningKey({
    algorithm,
    publicKey,
    keyId,
    source: options.source ?? 'memory',
    origin: options.origin ?? 'memory',
    isDev: options.isDev ?? false,
    sign: async (message) => signFn(message),
  });
}

/** Builds a SigningKey object that cannot leak what its `sign` closure holds.
 * @example
 * const key = makeSigningKey({ algorithm: 'ed25519', publicKey, keyId, source: 'external', origin: 'hsm', isDev: false, sign: async (m) => hsmSign(m) });
 */
export function makeSigningKey(fields: {
  algorithm: SignatureAlgorithm;
  publicKey: Uint8Array;
  keyId: string;
  source: KeySource;
  origin: string;
  isDev: boolean;
  sign: (message: Uint8Array) => Promise<Uint8Array>;
}): SigningKey {
  const { sign, ...visible } = fields;
  const key: SigningKey = {
    ...visible,
    sign,
    toJSON() {
      return {
        algorithm: visible.algorithm,
        keyId: visible.keyId,
        source: visible.source,
        origin: visible.origin,
        isDev: visible.isDev,
        publicKey: toHex(visible.publicKey),
      };
    },
    [inspect.custom]() {
      return `SigningKey(${visible.algorithm} ${visible.keyId}, ${visible.source}${visible.isDev ? ', dev' : ''})`;
    },
  } as SigningKey;
  return Object.freeze(key);
}

/** A freshly generated key pair: the seed (secret) and its public key record. */
export interface GeneratedKeyPair {
  algorithm: SignatureAlgorithm;
  /** Secret: write it only with `writeKeyFiles` (mode 0600). */
  seed: Uint8Array;
  publicKey: PublicKey;
}

/**
 * Generates a key pair from the OS CSPRNG (or from `seed`, for tests and deterministic setups).
 * @example
 * const pair = await generateKeyPair('ed25519');
 * console.log(pair.publicKey.keyId);
 */
export async function generateKeyPair(algorithm: SignatureAlgorithm, seed?: Uint8Array): Promise<GeneratedKeyPair> {
  checkAlgorithm(algorithm);
  const s = seed ? new Uint8Array(seed) : algorithm === 'ed25519' ? ed25519RandomSeed() : mlDsa65RandomSeed();
  if (s.length !== ALGORITHM_LENGTHS[algorithm].seed)
    throw new RangeError(`"seed" expected ${ALGORITHM_LENGTHS[algorithm].seed} bytes, got ${s.length}`);
  const publicKey = await publicKeyFromBytes(algorithm, derivePublic(algorithm, s));
  const pair = { algorithm, seed: s, publicKey } as GeneratedKeyPair;
  // Keep the seed out of accidental printing of the pair.
  Object.defineProperty(pair, 'seed', { value: s, enumerable: false });
  return pair;
}

// ---------------------------------------------------------------------------------------------
// Key files (sign/README.md "Key files")

/** The first line of a kiln key file. */
export const KEY_FILE_HEADER = 'kiln-key v1';

/** Parsed contents of a key file. `seed` is present for secret key files only. */
export interface KeyFileContents {
  kind: 'secret' | 'public';
  algorithm: SignatureAlgorithm;
  publicKey: Uint8Array;
  keyId: string;
  seed?: Uint8Array;
}

/**
 * Serializes a key file (text). Secret files carry the seed; write them with mode 0600.
 * @example
 * const text = formatKeyFile({ kind: 'public', algorithm: 'ed25519', publicKey, keyId });
 */
export function formatKeyFile(contents: KeyFileContents): string {
  const lines = [
    KEY_FILE_HEADER,
    contents.kind === 'secret'
      ? '# SECRET signing key: keep private (mode 0600), never commit it'
      : '# public key: safe to share and to embed in a bootloader',
    `kind: ${contents.kind}`,
    `algorithm: ${contents.algorithm}`,
    `key-id: ${contents.keyId}`,
    `public: ${toHex(contents.publicKey)}`,
  ];
  if (contents.kind === 'secret') {
    if (!contents.seed) throw new TypeError('"seed" is required for a secret key file');
    lines.push(`seed: ${toHex(contents.seed)}`);
  }
  return `${lines.join('\n')}\n`;
}

function keyError(code: string, message: string, file: string | undefined, hint: string): KilnError {
  return new KilnError(code, message, { location: file ? { file } : undefined, hint });
}

const PEM_RE = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/;

/**
 * Reads a key file in any accepted form (see sign/README.md): kiln's text format, PEM
 * (PKCS#8 Ed25519 private key, SPKI Ed25519 public key), 64 hex digits, or 32 raw bytes.
 * `expect` says how to read a bare 32-byte value (`secret`: an Ed25519 seed; `public`: a public key).
 * Errors never quote the file's contents.
 * @example
 * const parsed = await parseKeyFile(readFileSync('kiln-ed25519.key'), { expect: 'secret', file: 'kiln-ed25519.key' });
 */
export async function parseKeyFile(
  data: Uint8Array,
  options: { expect: 'secret' | 'public'; file?: string },
): Promise<KeyFileContents> {
  const file = options.file;
  const text = Buffer.from(data).toString('latin1');
  if (text.startsWith(KEY_FILE_HEADER)) return parseKiln(text, file);
  const pem = PEM_RE.exec(text);
  if (pem) return parsePem(text, pem[1]!, file);
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return rawEd25519(fromHex(trimmed), options.expect);
  if (data.length === 32) return rawEd25519(new Uint8Array(data), options.expect);
  throw keyError(
    'KEY_FILE_UNKNOWN_FORMAT',
    'not a key file kiln can read',
    file,
    'expected a kiln key file (from `kiln keygen`), a PEM Ed25519 key, 64 hex digits or 32 raw bytes',
  );

  async function rawEd25519(bytes: Uint8Array, kind: 'secret' | 'public'): Promise<KeyFileContents> {
    if (kind === 'public') {
      const pub = await publicKeyFromBytes('ed25519', bytes);
      return { kind, algorithm: 'ed25519', publicKey: pub.publicKey, keyId: pub.keyId };
    }
    const publicKey = ed25519PublicKey(bytes);
    return { kind, algorithm: 'ed25519', publicKey, keyId: await computeKeyId('ed25519', publicKey), seed: bytes };
  }
}

async function parseKiln(text: string, file: string | undefined): Promise<KeyFileContents> {
  const fields = new Map<string, string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (index === 0 || line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0)
      throw keyError(
        'KEY_FILE_INVALID',
        `line ${index + 1}: expected "name: value"`,
        file,
        'regenerate the key with `kiln keygen`',
      );
    const name = line.slice(0, colon).trim();
    if (fields.has(name))
      throw keyError(
        'KEY_FILE_INVALID',
        `line ${index + 1}: "${name}" appears twice`,
        file,
        'regenerate the key with `kiln keygen`',
      );
    fields.set(name, line.slice(colon + 1).trim());
  }
  const kind = fields.get('kind');
  const algorithm = fields.get('algorithm') ?? '';
  if (kind !== 'secret' && kind !== 'public')
    throw keyError(
      'KEY_FILE_INVALID',
      '"kind" must be secret or public',
      file,
      'regenerate the key with `kiln keygen`',
    );
  if (!SIGNATURE_ALGORITHMS.includes(algorithm as SignatureAlgorithm)) {
    throw keyError(
      'KEY_FILE_INVALID',
      `unknown algorithm ${JSON.stringify(algorithm.slice(0, 32))}`,
      file,
      `use one of: ${SIGNATURE_ALGORITHMS.join(', ')}`,
    );
  }
  const alg = algorithm as SignatureAlgorithm;
  const lengths = ALGORITHM_LENGTHS[alg];
  const hexField = (name: string, length: number): Uint8Array => {
    const value = fields.get(name) ?? '';
    if (value.length !== length * 2 || !/^[0-9a-fA-F]*$/.test(value)) {
      throw keyError(
        'KEY_FILE_INVALID',
        `"${name}" must be ${length * 2} hex digits`,
        file,
        'regenerate the key with `kiln keygen`',
      );
    }
    return fromHex(value);
  };
  const publicKey = hexField('public', lengths.publicKey);
  const keyId = await computeKeyId(alg, publicKey);
  if (fields.has('key-id') && fields.get('key-id')!.toLowerCase() !== keyId) {
    throw keyError(
      'KEY_FILE_INVALID',
      `"key-id" ${fields.get('key-id')} does not match the public key (expected ${keyId})`,
      file,
      'the file was edited by hand: regenerate it with `kiln keygen`',
    );
  }
  if (kind === 'public') return { kind, algorithm: alg, publicKey, keyId };
  const seed = hexField('seed', lengths.seed);
  const derived = derivePublic(alg, seed);
  if (toHex(derived) !== toHex(publicKey)) {
    throw keyError(
      'KEY_FILE_INVALID',
      'the seed does not match the public key in the file',
      file,
      'the file is damaged or was edited: regenerate it with `kiln keygen`',
    );
  }
  return { kind, algorithm: alg, publicKey, keyId, seed };
}

async function parsePem(text: string, label: string, file: string | undefined): Promise<KeyFileContents> {
  try {
    if (label === 'PRIVATE KEY') {
      const key = createPrivateKey({ key: text, format: 'pem' });
      if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
      const seed = ed25519RawSeed(key);
      const publicKey = ed25519RawPublicKey(key);
      return { kind: 'secret', algorithm: 'ed25519', publicKey, keyId: await computeKeyId('ed25519', publicKey), seed };
    }
    if (label === 'PUBLIC KEY') {
      const key = createPublicKey({ key: text, format: 'pem' });
      if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
      const publicKey = ed25519RawPublicKey(key);
      return { kind: 'public', algorithm: 'ed25519', publicKey, keyId: await computeKeyId('ed25519', publicKey) };
    }
  } catch {
    // fall through: the message must not include OpenSSL's text, which may quote input.
  }
  throw keyError(
    'KEY_FILE_INVALID',
    `PEM "${label}" is not an Ed25519 key kiln can read`,
    file,
    'PEM files must hold an Ed25519 PKCS#8 private key or SPKI public key (openssl genpkey -algorithm ed25519)',
  );
}

/**
 * Decodes a secret key given as text: hex (64 digits) or base64 of the 32-byte seed (the
 * `SIGNING_KEY` environment variable). The value is never quoted in errors.
 * @example
 * const seed = decodeSeedText(process.env.SIGNING_KEY!, 'SIGNING_KEY');
 */
export function decodeSeedText(value: string, what: string, length = 32): Uint8Array {
  const v = value.trim();
  if (new RegExp(`^[0-9a-fA-F]{${length * 2}}$`).test(v)) return fromHex(v);
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) {
    const bytes = new Uint8Array(Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
    if (bytes.length === length) return bytes;
  }
  throw new KilnError(
    'KEY_ENV_INVALID',
    `${what}: expected ${length * 2} hex digits or the base64 of ${length} bytes (value not shown)`,
    {
      hint: `generate one with \`kiln keygen\` and set ${what} to its seed, e.g. ${what}=$(openssl rand -hex ${length})`,
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Public key export for bootloaders

/** Language of a public-key constant. */
export type ConstantLanguage = 'c' | 'rust' | 'zig';

function byteList(bytes: Uint8Array, indent: string, perLine = 12): string {
  const items = Array.from(bytes, (b) => `0x${b.toString(16).padStart(2, '0')}`);
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += perLine) lines.push(indent + items.slice(i, i + perLine).join(', ') + ',');
  return lines.join('\n');
}

/**
 * The public key as a constant to paste into a bootloader.
 * @example
 * publicKeyConstant(key, 'rust', 'KILN_ED25519_PUBKEY')
 * // pub const KILN_ED25519_PUBKEY: [u8; 32] = [ 0xd7, ... ];
 */
export function publicKeyConstant(key: PublicKey, language: ConstantLanguage, name?: string): string {
  const ident = name ?? `KILN_${key.algorithm.replace(/-/g, '_').toUpperCase()}_PUBLIC_KEY`;
  const n = key.publicKey.length;
  const comment = `${key.algorithm} public key, key id ${key.keyId}`;
  switch (language) {
    case 'c':
      return `/* ${comment} */\nstatic const unsigned char ${ident}[${n}] = {\n${byteList(key.publicKey, '    ')}\n};\n`;
    case 'rust':
      return `/// ${comment}\npub const ${ident}: [u8; ${n}] = [\n${byteList(key.publicKey, '    ')}\n];\n`;
    case 'zig':
      return `/// ${comment}\npub const ${ident.toLowerCase()}: [${n}]u8 = .{\n${byteList(key.publicKey, '    ')}\n};\n`;
  }
}
