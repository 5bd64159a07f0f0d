/**
 * ML-DSA-65 signatures. Spec: FIPS 204 (August 2024), §5 (ML-DSA.KeyGen from a 32-byte seed ξ,
 * ML-DSA.Sign / ML-DSA.Verify with an empty context string), Table 2 (ML-DSA-65: public key
 * 1952 bytes, private key 4032 bytes, signature 3309 bytes).
 *
 * Implementation: @noble/post-quantum. Node 20 has no ML-DSA. noble's code is written to be
 * auditable but, unlike noble-curves/noble-hashes, has NOT been independently audited: kiln
 * uses it only beside Ed25519 (hybrid), so a kernel verifies only if both signatures hold.
 *
 * kiln stores the 32-byte seed ξ as the private key (FIPS 204 §3.6.3 allows keeping the seed)
 * and signs deterministically (FIPS 204 §3.4: rnd = 0^32) so a signed artifact is reproducible.
 */
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { randomBytes } from 'node:crypto';

/** Bytes of an ML-DSA-65 key generation seed. */
export const ML_DSA_65_SEED_LENGTH = 32;
/** Bytes of an ML-DSA-65 public key (FIPS 204). */
export const ML_DSA_65_PUBLIC_KEY_LENGTH = 1952;
/** Bytes of an ML-DSA-65 secret key (FIPS 204). */
export const ML_DSA_65_SECRET_KEY_LENGTH = 4032;
/** Bytes of an ML-DSA-65 signature (FIPS 204). */
export const ML_DSA_65_SIGNATURE_LENGTH = 3309;

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== ML_DSA_65_SEED_LENGTH) {
    throw new RangeError(
      `"ML-DSA-65 seed" expected ${ML_DSA_65_SEED_LENGTH} bytes, got ${seed instanceof Uint8Array ? seed.length : typeof seed}`,
    );
  }
}

/**
 * ML-DSA.KeyGen_internal(ξ) (FIPS 204 Algorithm 6): the key pair of a 32-byte seed.
 * @example
 * const { publicKey } = mlDsa65KeyPair(seed); // 1952-byte public key
 */
export function mlDsa65KeyPair(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  checkSeed(seed);
  const { publicKey, secretKey } = ml_dsa65.keygen(seed);
  return { publicKey: new Uint8Array(publicKey), secretKey: new Uint8Array(secretKey) };
}

/** The 1952-byte public key of a seed.
 * @example
 * const pub = mlDsa65PublicKey(seed); // 1952 bytes
 */
export function mlDsa65PublicKey(seed: Uint8Array): Uint8Array {
  return mlDsa65KeyPair(seed).publicKey;
}

/**
 * ML-DSA.Sign (FIPS 204 Algorithm 2) with an empty context, deterministic variant.
 * @example
 * const signature = mlDsa65Sign(seed, hash); // 3309 bytes
 */
export function mlDsa65Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  const { secretKey } = mlDsa65KeyPair(seed);
  try {
    return new Uint8Array(ml_dsa65.sign(message, secretKey, { extraEntropy: false }));
  } finally {
    secretKey.fill(0);
  }
}

/**
 * ML-DSA.Sign with an already expanded 4032-byte secret key (saves the key expansion when one
 * key signs many messages).
 * @example
 * const { secretKey } = mlDsa65KeyPair(seed);
 * const signature = mlDsa65SignWithSecretKey(secretKey, hash);
 */
export function mlDsa65SignWithSecretKey(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (secretKey.length !== ML_DSA_65_SECRET_KEY_LENGTH)
    throw new RangeError(`"secretKey" expected ${ML_DSA_65_SECRET_KEY_LENGTH} bytes, got ${secretKey.length}`);
  return new Uint8Array(ml_dsa65.sign(message, secretKey, { extraEntropy: false }));
}

/**
 * ML-DSA.Verify (FIPS 204 Algorithm 3) with an empty context. Never throws for malformed input.
 * @example
 * const ok = mlDsa65Verify(publicKey, hash, signature);
 */
export function mlDsa65Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ML_DSA_65_PUBLIC_KEY_LENGTH || signature.length !== ML_DSA_65_SIGNATURE_LENGTH) return false;
  try {
    return ml_dsa65.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** A fresh random 32-byte seed from the OS CSPRNG.
 * @example
 * const seed = mlDsa65RandomSeed();
 */
export function mlDsa65RandomSeed(): Uint8Array {
  return new Uint8Array(randomBytes(ML_DSA_65_SEED_LENGTH));
}
