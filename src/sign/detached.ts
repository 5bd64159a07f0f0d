/**
 * Detached signatures for artifacts that are not ELF files (disk images, initrds, raw binaries):
 * a small `.sig` file beside the artifact. Format (sign/README.md "Detached signature format"):
 *
 *   header  : magic "KSIG" | u16 format version (1) | u16 header size (12) | u32 total length
 *   entries : u16 tag | u32 length | value   (little-endian, ascending tags)
 *     0x01 content hash  : 32 bytes, BLAKE3 of the artifact (the signed message)
 *     0x02 content size  : u64, the artifact's size in bytes
 *     0x03 signature     : u8 algorithm id | 8-byte key id | signature (repeatable, sorted)
 *
 * The signed message is the 32-byte BLAKE3 hash, as for ELF kernels and external signers.
 */
import { KilnError } from '../errors.js';
import { ByteReader, toHex, writeU64 } from '../formats/io/bytes.js';
import { contentSize, type Content } from '../formats/io/content.js';
import { blake3Content } from './blake3.js';
import { encodeTlv } from './_tlv.js';
import { finishResult, type VerifyCheck, type VerifyFailure, type VerifyResult } from './elf-sign.js';
import {
  ALGORITHM_IDS,
  ALGORITHM_LENGTHS,
  algorithmFromId,
  KEY_ID_LENGTH,
  verifySignature,
  type PublicKey,
  type SignatureAlgorithm,
  type SigningKey,
} from './keys.js';

/** The first four bytes of a detached signature file (`.sig`). */
export const DETACHED_MAGIC = 'KSIG';
/** The detached signature format version kiln writes and reads. */
export const DETACHED_VERSION = 1;
const HEADER = 12;

/** A decoded detached signature file. */
export interface DetachedSignature {
  hash: Uint8Array;
  size: number;
  signatures: { algorithm: SignatureAlgorithm; keyId: string; signature: Uint8Array }[];
}

/**
 * Encodes a detached signature file.
 * @example const file = encodeDetachedSignature({ hash, size, signatures: [{ algorithm: 'ed25519', keyId, signature }] });
 */
export function encodeDetachedSignature(sig: DetachedSignature): Uint8Array {
  if (sig.hash.length !== 32) throw new RangeError('"hash" expected 32 bytes');
  const entries: { tag: number; value: Uint8Array }[] = [{ tag: 1, value: sig.hash }];
  const size = new Uint8Array(8);
  writeU64(size, 0, sig.size, true);
  entries.push({ tag: 2, value: size });
  const sigs = sig.signatures.map((s) => {
    if (s.signature.length !== ALGORITHM_LENGTHS[s.algorithm].signature)
      throw new RangeError(`${s.algorithm} signature expected ${ALGORITHM_LENGTHS[s.algorithm].signature} bytes`);
    const value = new Uint8Array(1 + KEY_ID_LENGTH + s.signature.length);
    value[0] = ALGORITHM_IDS[s.algorithm];
    value.set(Buffer.from(s.keyId, 'hex'), 1);
    value.set(s.signature, 1 + KEY_ID_LENGTH);
    return value;
  });
  sigs.sort((a, b) => Buffer.compare(a.subarray(0, 1 + KEY_ID_LENGTH), b.subarray(0, 1 + KEY_ID_LENGTH)));
  for (const value of sigs) entries.push({ tag: 3, value });
  return encodeTlv(DETACHED_MAGIC, DETACHED_VERSION, HEADER, entries);
}

/**
 * Decodes a detached signature file (every length checked before it is used).
 * @example const sig = decodeDetachedSignature(readFileSync('disk.img.sig'));
 */
export function decodeDetachedSignature(bytes: Uint8Array): DetachedSignature {
  const r = new ByteReader(bytes, 'detached signature');
  if (r.ascii(4, 'magic') !== DETACHED_MAGIC) r.fail('SIG_BAD_MAGIC', `expected magic "${DETACHED_MAGIC}"`, 0);
  const version = r.u16(true, 'version');
  if (version !== DETACHED_VERSION) r.fail('SIG_UNSUPPORTED_VERSION', `format version ${version} is not supported`, 4);
  if (r.u16(true, 'header size') !== HEADER) r.fail('SIG_BAD_HEADER', `header size must be ${HEADER}`, 6);
  const total = r.u32(true, 'total length');
  if (total !== bytes.length)
    r.fail('SIG_BAD_LENGTH', `total length ${total} but the file has ${bytes.length} bytes`, 8);
  let hash: Uint8Array | undefined;
  let size: number | undefined;
  const signatures: DetachedSignature['signatures'] = [];
  let last = 0;
  while (r.remaining > 0) {
    const at = r.position;
    const tag = r.u16(true, 'tag');
    const length = r.u32(true, 'length');
    const v = r.slice(r.position, length, `entry ${tag}`);
    r.skip(length);
    if (tag < last || (tag === last && tag !== 3))
      r.fail('SIG_NOT_CANONICAL', `entry ${tag} out of order or repeated`, at);
    last = tag;
    if (tag === 1) {
      if (length !== 32) r.fail('SIG_BAD_ENTRY', 'hash must be 32 bytes', at);
      hash = new Uint8Array(v.bytesView(32));
    } else if (tag === 2) {
      if (length !== 8) r.fail('SIG_BAD_ENTRY', 'size must be 8 bytes', at);
      size = v.u64(true, 'size');
    } else if (tag === 3) {
      const algorithm = algorithmFromId(v.u8('algorithm'));
      if (!algorithm) r.fail('SIG_UNKNOWN_ALGORITHM', 'unknown signature algorithm id', at + 6);
      const keyId = toHex(v.bytesView(KEY_ID_LENGTH, 'key id'));
      const want = ALGORITHM_LENGTHS[algorithm!].signature;
      if (v.remaining !== want)
        r.fail('SIG_BAD_ENTRY', `${algorithm} signature must be ${want} bytes, got ${v.remaining}`, at);
      signatures.push({ algorithm: algorithm!, keyId, signature: new Uint8Array(v.bytesView(want)) });
    } else {
      r.fail('SIG_UNKNOWN_TAG', `entry tag ${tag} is not defined`, at);
    }
  }
  if (!hash || size === undefined) r.fail('SIG_MISSING_ENTRY', 'hash and size entries are required', 0);
  return { hash: hash!, size: size!, signatures };
}

/**
 * Signs any artifact (streamed from disk when given as FileContent) and returns the detached
 * signature file's bytes.
 * @example
 * const sig = await signBlob(await fileContent('disk.img'), [key]);
 * await writeFile('disk.img.sig', sig);
 */
export async function signBlob(content: Content, keys: SigningKey[]): Promise<Uint8Array> {
  if (keys.length === 0)
    throw new KilnError('SIGN_BAD_KEYS', 'no signing key given', { hint: 'pass --key FILE or set SIGNING_KEY' });
  const hash = await blake3Content(content);
  const signatures = [];
  for (const key of keys)
    signatures.push({ algorithm: key.algorithm, keyId: key.keyId, signature: await key.sign(hash) });
  return encodeDetachedSignature({ hash, size: contentSize(content), signatures });
}

/**
 * Verifies a detached signature. `requireAlgorithms` makes a missing algorithm fail (a detached
 * file does not sign its own list of signatures, so hybrid must be demanded by the verifier).
 * @example
 * const result = await verifyBlob(await fileContent('disk.img'), readFileSync('disk.img.sig'), keys);
 */
export async function verifyBlob(
  content: Content,
  signatureFile: Uint8Array,
  publicKeys: readonly PublicKey[],
  options: { requireAlgorithms?: SignatureAlgorithm[] } = {},
): Promise<VerifyResult> {
  const checks: VerifyCheck[] = [];
  const verifiedBy: VerifyResult['verifiedBy'] = [];
  let sig: DetachedSignature;
  try {
    sig = decodeDetachedSignature(signatureFile);
  } catch (error) {
    checks.push({
      check: 'manifest-invalid',
      ok: false,
      detail: error instanceof KilnError ? error.toLine() : String(error),
    });
    return finishResult(checks, { verifiedBy });
  }
  const hash = await blake3Content(content);
  const hashOk = toHex(hash) === toHex(sig.hash) && contentSize(content) === sig.size;
  checks.push({
    check: 'hash',
    ok: hashOk,
    detail: hashOk
      ? `content hash ${toHex(hash)}`
      : `the artifact hashes to ${toHex(hash)} (${contentSize(content)} bytes), the signature file says ${toHex(sig.hash)} (${sig.size} bytes)`,
  });
  const required = new Set<SignatureAlgorithm>(['ed25519', ...(options.requireAlgorithms ?? [])]);
  for (const s of sig.signatures) required.add(s.algorithm);
  for (const algorithm of required) {
    const check: VerifyFailure = algorithm === 'ed25519' ? 'ed25519' : 'ml-dsa';
    const entries = sig.signatures.filter((s) => s.algorithm === algorithm);
    if (entries.length === 0) {
      checks.push({ check, ok: false, detail: `no ${algorithm} signature in the signature file` });
      continue;
    }
    for (const entry of entries) {
      const key = publicKeys.find((k) => k.algorithm === algorithm && k.keyId === entry.keyId);
      if (!key) {
        checks.push({
          check: 'unknown-key-id',
          ok: false,
          detail: `signed by ${algorithm} key ${entry.keyId}, which is not among the keys given`,
        });
        continue;
      }
      const ok = verifySignature(key, sig.hash, entry.signature);
      checks.push({
        check,
        ok,
        detail: ok
          ? `${algorithm} signature by ${key.keyId} is valid`
          : `${algorithm} signature by ${key.keyId} does not verify`,
      });
      if (ok) verifiedBy.push({ algorithm, keyId: key.keyId });
    }
  }
  return finishResult(checks, { canonicalHash: toHex(sig.hash), verifiedBy });
}
