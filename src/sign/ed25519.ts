/**
 * Ed25519 signatures. Spec: RFC 8032 §5.1 (PureEd25519: 32-byte private seed, 32-byte public key,
 * 64-byte signature). Implementation: Node's built-in crypto (OpenSSL, ~35 µs a signature here).
 * Raw 32-byte keys are converted to KeyObjects through fixed DER prefixes (RFC 8410 §7:
 * PKCS#8 OneAsymmetricKey and SubjectPublicKeyInfo with id-Ed25519, OID 1.3.101.112).
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

/** Bytes of an Ed25519 private key seed. */
export const ED25519_SEED_LENGTH = 32;
/** Bytes of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_LENGTH = 32;
/** Bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_LENGTH = 64;

// RFC 8410 §7 / §10.3: PKCS#8 v1 wrapping of a 32-byte seed, and SPKI wrapping of a public key.
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

function checkLength(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    // Never echo key material: only the length.
    throw new RangeError(
      `"${what}" expected ${length} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
    );
  }
}

/** A Node KeyObject for a 32-byte Ed25519 seed (RFC 8032 §5.1.5 private key).
 * @example
 * crypto.sign(null, message, ed25519PrivateKeyObject(seed))
 */
export function ed25519PrivateKeyObject(seed: Uint8Array): KeyObject {
  checkLength('Ed25519 seed', seed, ED25519_SEED_LENGTH);
  const der = new Uint8Array(PKCS8_PREFIX.length + 32);
  der.set(PKCS8_PREFIX, 0);
  der.set(seed, PKCS8_PREFIX.length);
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** A Node KeyObject for a 32-byte Ed25519 public key.
 * @example
 * crypto.verify(null, message, ed25519PublicKeyObject(publicKey), signature)
 */
export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  checkLength('Ed25519 public key', publicKey, ED25519_PUBLIC_KEY_LENGTH);
  const der = new Uint8Array(SPKI_PREFIX.length + 32);
  der.set(SPKI_PREFIX, 0);
  der.set(publicKey, SPKI_PREFIX.length);
  return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
}

/** The raw 32-byte public key of an Ed25519 KeyObject (private or public).
 * @example
 * ed25519RawPublicKey(crypto.createPublicKey(pemText)) // 32 bytes
 */
export function ed25519RawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('"key" expected an Ed25519 key');
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

/** The raw 32-byte seed of an Ed25519 private KeyObject (e.g. one read from a PEM file).
 * @example
 * ed25519RawSeed(crypto.createPrivateKey(pemText)) // 32 bytes (secret)
 */
export function ed25519RawSeed(key: KeyObject): Uint8Array {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519')
    throw new TypeError('"key" expected an Ed25519 private key');
  const jwk = key.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.d as string, 'base64url'));
}

/**
 * Derives the public key of a seed (RFC 8032 §5.1.5).
 * @example
 * const pub = ed25519PublicKey(seed); // 32 bytes
 */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  return ed25519RawPublicKey(ed25519PrivateKeyObject(seed));
}

/**
 * Signs `message` (RFC 8032 §5.1.6). kiln signs the 32-byte BLAKE3 hash of the artifact.
 * @example
 * const signature = ed25519Sign(seed, hash); // 64 bytes
 */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, ed25519PrivateKeyObject(seed)));
}

/**
 * Verifies a signature (RFC 8032 §5.1.7). Returns false (never throws) for a wrong-length signature.
 * @example
 * if (!ed25519Verify(publicKey, hash, signature)) throw new Error('bad signature');
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  try {
    return nodeVerify(null, message, ed25519PublicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** A fresh random 32-byte seed from the OS CSPRNG.
 * @example
 * const seed = ed25519RandomSeed();
 */
export function ed25519RandomSeed(): Uint8Array {
  return new Uint8Array(randomBytes(ED25519_SEED_LENGTH));
}
