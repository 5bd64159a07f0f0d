/**
 * kiln/sign: hashing (BLAKE3), signatures (Ed25519, ML-DSA-65), keys, build manifests, signing
 * and verifying ELF kernels and other artifacts. A pure library: nothing here prints, reads the
 * config or spawns a process, except `externalSigner`, which runs the signer command it is given.
 * Formats and canonicalization: src/sign/README.md.
 */
export {
  BLAKE3_LENGTH,
  blake3,
  blake3Content,
  blake3WithZeroedRanges,
  createBlake3,
  feedWithoutRanges,
  feedWithZeroedRanges,
  normalizeRanges,
} from './blake3.js';
export type { Blake3Hasher, ByteRange } from './blake3.js';
export {
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SEED_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  ed25519PrivateKeyObject,
  ed25519PublicKey,
  ed25519PublicKeyObject,
  ed25519RawPublicKey,
  ed25519RawSeed,
  ed25519Sign,
  ed25519Verify,
} from './ed25519.js';
export {
  ML_DSA_65_PUBLIC_KEY_LENGTH,
  ML_DSA_65_SECRET_KEY_LENGTH,
  ML_DSA_65_SEED_LENGTH,
  ML_DSA_65_SIGNATURE_LENGTH,
  mlDsa65KeyPair,
  mlDsa65PublicKey,
  mlDsa65Sign,
  mlDsa65SignWithSecretKey,
  mlDsa65Verify,
} from './ml-dsa.js';
export {
  ALGORITHM_IDS,
  ALGORITHM_LENGTHS,
  KEY_FILE_HEADER,
  KEY_ID_LENGTH,
  SIGNATURE_ALGORITHMS,
  algorithmFromId,
  computeKeyId,
  decodeSeedText,
  formatKeyFile,
  generateKeyPair,
  makeSigningKey,
  parseKeyFile,
  publicKeyConstant,
  publicKeyFromBytes,
  signingKeyFromSeed,
  verifySignature,
} from './keys.js';
export type {
  ConstantLanguage,
  GeneratedKeyPair,
  KeyFileContents,
  KeySource,
  PublicKey,
  SignatureAlgorithm,
  SigningKey,
} from './keys.js';
export {
  DEV_KEY_DIR,
  SIGNING_KEY_ENV,
  SIGNING_KEY_ML_DSA_ENV,
  ALLOW_DEV_KEY_FLAG,
  RAW_DEV_KEY_FILE,
  checkReleaseKey,
  devKeyIds,
  devSigningKey,
  formatFileMode,
  keyFileLooseBits,
  keyFileNames,
  loadPublicKeyFile,
  loadSigningKeyFile,
  resolveSigningKey,
  writeKeyFiles,
} from './key-store.js';
export type { ResolveKeyOptions } from './key-store.js';
export { externalSigner } from './external-signer.js';
export type { ExternalSignerOptions } from './external-signer.js';
export {
  CANONICALIZATION_IDS,
  MANIFEST_HEADER_SIZE,
  MANIFEST_LIMITS,
  MANIFEST_MAGIC,
  MANIFEST_TAGS,
  MANIFEST_VERSION,
  decodeManifest,
  decodeManifestWithLocations,
  encodeManifest,
  manifestToJson,
} from './manifest.js';
export type { Canonicalization, Manifest, ManifestEntryLocation, ManifestSigner } from './manifest.js';
export {
  DEFAULT_SIGN_SECTIONS,
  NONOS_SIGN_SECTIONS,
  VERIFY_CHECK_ORDER,
  canonicalHash,
  loadableHash,
  signElf,
  verifyElf,
} from './elf-sign.js';
export type {
  ManifestInput,
  SignElfOptions,
  SignElfResult,
  SignSections,
  VerifyCheck,
  VerifyElfOptions,
  VerifyFailure,
  VerifyResult,
  WrittenSignature,
} from './elf-sign.js';
export {
  DETACHED_MAGIC,
  DETACHED_VERSION,
  decodeDetachedSignature,
  encodeDetachedSignature,
  signBlob,
  verifyBlob,
} from './detached.js';
export type { DetachedSignature } from './detached.js';
