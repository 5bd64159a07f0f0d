/**
 * Signing and verifying ELF kernels. The canonicalization (exactly what is hashed and signed) is
 * specified in sign/README.md ("Canonicalization"); in short:
 *
 *   kernel hash    = BLAKE3 over, for each PT_LOAD in program-header order, a 40-byte record
 *                    (p_vaddr, p_paddr, p_filesz, p_memsz as u64 LE, p_flags as u32 LE, 4 zero
 *                    bytes) followed by the segment's file bytes, where bytes belonging to the
 *                    manifest or signature sections (if a linker script placed them in a
 *                    segment) count as zeros. Stored in the manifest.
 *   canonical hash = BLAKE3 over the whole file with the contents of the signature sections
 *                    (Ed25519 and ML-DSA) zeroed (rule `zero`, the default) or left out (rule
 *                    `exclude`; the manifest records it). This 32-byte value is the signed message.
 *
 * Flow: set the manifest section (with a zero kernel hash), set the signature section(s)
 * zero-filled at their final size, compute the kernel hash on that final layout and patch it
 * into the manifest in place, compute the canonical hash, sign, patch the signatures in place.
 * Uses the ELF reader/writer of formats/elf (ELF32/ELF64, both endiannesses).
 */
import { KilnError } from '../errors.js';
import { DEFAULT_SIGN_SECTIONS, type SignSections } from './sections.js';
import { toHex, writeU32, writeU64 } from '../formats/io/bytes.js';
import {
  findSection,
  PT_LOAD,
  readElf,
  removeSection,
  setSection,
  SHF_ALLOC,
  type ElfFile,
  type ElfSection,
} from '../formats/elf/index.js';
import { createBlake3, feedWithoutRanges, feedWithZeroedRanges, type ByteRange } from './blake3.js';
import {
  ALGORITHM_LENGTHS,
  verifySignature,
  type PublicKey,
  type SignatureAlgorithm,
  type SigningKey,
} from './keys.js';
import { decodeManifest, encodeManifest, type Canonicalization, type Manifest } from './manifest.js';

export { DEFAULT_SIGN_SECTIONS, NONOS_SIGN_SECTIONS, type SignSections } from './sections.js';

/** What the caller gives for the manifest; kiln fills `kernelHash` and `signers`. */
export type ManifestInput = Omit<Manifest, 'kernelHash' | 'signers' | 'canonicalization'>;

/** Options of `signElf`. */
export interface SignElfOptions {
  /** One Ed25519 key (required) and optionally one ML-DSA-65 key (hybrid). */
  keys: SigningKey[];
  manifest: ManifestInput;
  sections?: Partial<SignSections>;
  /** How the signed message is made (recorded in the manifest when given; default `zero`). */
  canonicalization?: Canonicalization;
}

/** One signature written into the file. */
export interface WrittenSignature {
  algorithm: SignatureAlgorithm;
  keyId: string;
  section: string;
  signature: Uint8Array;
}

/** Result of `signElf`. */
export interface SignElfResult {
  /** The signed ELF. */
  bytes: Uint8Array;
  manifest: Manifest;
  kernelHash: Uint8Array;
  /** The signed message: BLAKE3 of the file with the signature sections zeroed. */
  canonicalHash: Uint8Array;
  signatures: WrittenSignature[];
}

function resolveSections(sections: Partial<SignSections> | undefined): SignSections {
  const s = { ...DEFAULT_SIGN_SECTIONS, ...sections };
  const names = [s.signature, s.mlDsaSignature, s.manifest];
  if (new Set(names).size !== 3) throw new RangeError(`section names must differ, got ${names.join(', ')}`);
  return s;
}

function sectionRange(section: ElfSection | undefined): ByteRange[] {
  return section && section.data.length > 0 ? [{ offset: section.offset, length: section.data.length }] : [];
}

/**
 * BLAKE3 of the loadable content (see the file comment), with `exclude` ranges counted as zeros.
 * @example
 * const kernelHash = await loadableHash(readElf(bytes));
 */
export async function loadableHash(elf: ElfFile, exclude: readonly ByteRange[] = []): Promise<Uint8Array> {
  const hasher = await createBlake3();
  const record = new Uint8Array(40);
  for (const segment of elf.segments) {
    if (segment.type !== PT_LOAD) continue;
    record.fill(0);
    writeU64(record, 0, segment.vaddr, true);
    writeU64(record, 8, segment.paddr, true);
    writeU64(record, 16, segment.filesz, true);
    writeU64(record, 24, segment.memsz, true);
    writeU32(record, 32, segment.flags, true);
    hasher.update(record);
    const end = segment.offset + segment.filesz;
    if (end > elf.bytes.length) {
      throw new KilnError(
        'ELF_SEGMENT_OUTSIDE_FILE',
        `segment ${segment.index} ends at ${end}, after the end of the ${elf.bytes.length}-byte file`,
        {
          location: { offset: segment.headerOffset },
          hint: 'the file is truncated',
        },
      );
    }
    const inner = exclude.map((r) => ({ offset: r.offset - segment.offset, length: r.length }));
    feedWithZeroedRanges(hasher, elf.bytes.subarray(segment.offset, end), inner);
  }
  return hasher.digest();
}

/** The signed message: BLAKE3 of the whole file with the signature sections' contents zeroed
 * (`zero`, the default) or left out (`exclude`).
 * @example
 * const message = await canonicalHash(readElf(bytes), NONOS_SIGN_SECTIONS, 'exclude');
 */
export async function canonicalHash(
  elf: ElfFile,
  sections: Partial<SignSections> = {},
  rule: Canonicalization = 'zero',
): Promise<Uint8Array> {
  const s = resolveSections(sections);
  const hasher = await createBlake3();
  const ranges = [...sectionRange(findSection(elf, s.signature)), ...sectionRange(findSection(elf, s.mlDsaSignature))];
  if (rule === 'exclude') feedWithoutRanges(hasher, elf.bytes, ranges);
  else feedWithZeroedRanges(hasher, elf.bytes, ranges);
  return hasher.digest();
}

function excludedRanges(elf: ElfFile, s: SignSections): ByteRange[] {
  return [s.manifest, s.signature, s.mlDsaSignature].flatMap((name) => sectionRange(findSection(elf, name)));
}

/** Sets a section to `data`, keeping a larger pre-reserved allocated section's size (zero padding). */
function putSection(bytes: Uint8Array, name: string, data: Uint8Array): Uint8Array {
  const elf = readElf(bytes);
  const existing = findSection(elf, name);
  if (existing && existing.flags & SHF_ALLOC && existing.size !== data.length) {
    if (existing.size < data.length) {
      throw new KilnError(
        'SIGN_SECTION_TOO_SMALL',
        `${name} is reserved with ${existing.size} bytes in the image; kiln needs ${data.length}`,
        {
          hint: `reserve at least ${data.length} bytes for ${name} in the linker script (e.g. \`${name} : { . += ${data.length}; }\`)`,
        },
      );
    }
    const padded = new Uint8Array(existing.size);
    padded.set(data, 0);
    return setSection(elf, name, padded);
  }
  return setSection(elf, name, data, existing ? {} : { align: 8 });
}

/**
 * Signs an ELF kernel: embeds the manifest, the Ed25519 signature and, with an ML-DSA-65 key,
 * the hybrid signature. Returns new bytes; the input is not modified.
 * @example
 * const key = await resolveSigningKey({ projectDir: '.' });
 * const { bytes } = await signElf(kernel, {
 *   keys: [key],
 *   manifest: { project: 'nonos', buildTime: resolveEpoch(), arch: 'x86_64', profile: 'release', initrd: {}, toolchain: {}, flags: {} },
 *   sections: NONOS_SIGN_SECTIONS,
 * });
 */
export async function signElf(input: Uint8Array, options: SignElfOptions): Promise<SignElfResult> {
  const s = resolveSections(options.sections);
  const ed = options.keys.filter((k) => k.algorithm === 'ed25519');
  const ml = options.keys.filter((k) => k.algorithm === 'ml-dsa-65');
  if (ed.length !== 1 || ml.length > 1 || ed.length + ml.length !== options.keys.length) {
    throw new KilnError(
      'SIGN_BAD_KEYS',
      `signing an ELF needs exactly one Ed25519 key and at most one ML-DSA-65 key; got ${options.keys.map((k) => k.algorithm).join(', ') || 'none'}`,
      {
        hint: 'pass one --key for Ed25519, and with --hybrid one ML-DSA-65 key',
      },
    );
  }
  const keys = [ed[0]!, ...ml];
  const signers = keys.map((k) => ({ algorithm: k.algorithm, keyId: k.keyId }));
  const draft: Manifest = {
    ...options.manifest,
    kernelHash: new Uint8Array(32),
    signers,
    ...(options.canonicalization ? { canonicalization: options.canonicalization } : {}),
  };
  const draftBytes = encodeManifest(draft);

  let bytes = putSection(input, s.manifest, draftBytes);
  bytes = putSection(bytes, s.signature, new Uint8Array(ALGORITHM_LENGTHS.ed25519.signature));
  if (ml.length) bytes = putSection(bytes, s.mlDsaSignature, new Uint8Array(ALGORITHM_LENGTHS['ml-dsa-65'].signature));
  else if (findSection(readElf(bytes), s.mlDsaSignature)) bytes = removeSection(bytes, s.mlDsaSignature);
  if (bytes === input) bytes = input.slice();

  // Kernel hash on the final layout, patched into the manifest in place (same length).
  let elf = readElf(bytes);
  const kernelHash = await loadableHash(elf, excludedRanges(elf, s));
  const manifest: Manifest = { ...draft, kernelHash };
  const manifestBytes = encodeManifest(manifest);
  const manifestSection = findSection(elf, s.manifest)!;
  if (manifestBytes.length !== draftBytes.length)
    throw new Error('internal: manifest length changed between draft and final');
  bytes.set(manifestBytes, manifestSection.offset);
  elf = readElf(bytes);

  const message = await canonicalHash(elf, s, manifest.canonicalization ?? 'zero');
  const signatures: WrittenSignature[] = [];
  for (const key of keys) {
    const section = findSection(elf, key.algorithm === 'ed25519' ? s.signature : s.mlDsaSignature)!;
    const signature = await key.sign(message);
    if (signature.length !== ALGORITHM_LENGTHS[key.algorithm].signature)
      throw new Error(`internal: ${key.algorithm} signature of ${signature.length} bytes`);
    bytes.set(signature, section.offset);
    signatures.push({ algorithm: key.algorithm, keyId: key.keyId, section: section.name, signature });
  }
  return { bytes, manifest, kernelHash, canonicalHash: message, signatures };
}

/** Why a verification failed (the first failing check, in this order). */
export type VerifyFailure =
  | 'not-elf'
  | 'missing-section'
  | 'manifest-invalid'
  | 'unknown-key-id'
  | 'manifest-mismatch'
  | 'hash'
  | 'ed25519'
  | 'ml-dsa';

/** Order in which failures are reported: the most specific cause first. */
export const VERIFY_CHECK_ORDER: readonly VerifyFailure[] = [
  'not-elf',
  'missing-section',
  'manifest-invalid',
  'unknown-key-id',
  'manifest-mismatch',
  'hash',
  'ed25519',
  'ml-dsa',
];

/** One check and its outcome. */
export interface VerifyCheck {
  check: VerifyFailure;
  ok: boolean;
  detail: string;
}

/** Result of `verifyElf` / `verifyBlob`. */
export interface VerifyResult {
  ok: boolean;
  /** The first failing check (VERIFY_CHECK_ORDER), when not ok. */
  reason?: VerifyFailure;
  /** One line saying what was verified or what failed. */
  message: string;
  checks: VerifyCheck[];
  manifest?: Manifest;
  /** The signed message (hex). */
  canonicalHash?: string;
  /** The kernel hash computed from the file (hex). */
  kernelHash?: string;
  /** Signers that verified: algorithm + key id. */
  verifiedBy: { algorithm: SignatureAlgorithm; keyId: string }[];
  /** The rule the signature was checked with, from the manifest (absent entry: `zero`). */
  canonicalization?: { rule: Canonicalization; recorded: boolean };
}

/** Options of `verifyElf`. */
export interface VerifyElfOptions {
  sections?: Partial<SignSections>;
  /** Algorithms that must have signed, whatever the manifest says (e.g. both, for hybrid). */
  requireAlgorithms?: SignatureAlgorithm[];
}

/**
 * Builds a VerifyResult from checks: `reason` is the first failing check in VERIFY_CHECK_ORDER (shared with detached.ts).
 * @example
 * finishResult([{ check: 'ed25519', ok: false, detail: 'bad' }], { verifiedBy: [] }).reason // 'ed25519'
 */
export function finishResult(
  checks: VerifyCheck[],
  extra: Omit<VerifyResult, 'ok' | 'reason' | 'message' | 'checks'>,
): VerifyResult {
  const failed = VERIFY_CHECK_ORDER.map((name) => checks.find((c) => c.check === name && !c.ok)).find(
    (c) => c !== undefined,
  );
  if (failed)
    return { ok: false, reason: failed.check, message: `${failed.check}: ${failed.detail}`, checks, ...extra };
  const by = extra.verifiedBy.map((v) => `${v.algorithm} ${v.keyId}`).join(' + ');
  return { ok: true, message: `valid: signed by ${by}`, checks, ...extra };
}

/**
 * Verifies a signed ELF against a set of public keys. Never throws for a bad file: the result
 * names the failing check (`reason`) and lists every check that ran.
 * @example
 * const result = await verifyElf(bytes, [await loadPublicKeyFile('kiln-ed25519.pub')]);
 * if (!result.ok) console.error(result.reason, result.message);
 */
export async function verifyElf(
  bytes: Uint8Array,
  publicKeys: readonly PublicKey[],
  options: VerifyElfOptions = {},
): Promise<VerifyResult> {
  const s = resolveSections(options.sections);
  const checks: VerifyCheck[] = [];
  const verifiedBy: VerifyResult['verifiedBy'] = [];
  let elf: ElfFile;
  try {
    elf = readElf(bytes);
  } catch (error) {
    checks.push({ check: 'not-elf', ok: false, detail: error instanceof KilnError ? error.toLine() : String(error) });
    return finishResult(checks, { verifiedBy });
  }
  const manifestSection = findSection(elf, s.manifest);
  const sigSection = findSection(elf, s.signature);
  const missing = [!manifestSection && s.manifest, !sigSection && s.signature].filter(Boolean);
  if (missing.length) {
    checks.push({
      check: 'missing-section',
      ok: false,
      detail: `no ${missing.join(' and no ')} section (the file is not signed, or was signed with other section names)`,
    });
    return finishResult(checks, { verifiedBy });
  }
  checks.push({ check: 'missing-section', ok: true, detail: `${s.manifest} and ${s.signature} present` });
  let manifest: Manifest;
  try {
    manifest = decodeManifest(manifestSection!.data, { base: manifestSection!.offset });
  } catch (error) {
    checks.push({
      check: 'manifest-invalid',
      ok: false,
      detail: error instanceof KilnError ? error.toLine() : String(error),
    });
    return finishResult(checks, { verifiedBy });
  }
  const edSigners = manifest.signers.filter((x) => x.algorithm === 'ed25519');
  if (edSigners.length !== 1) {
    checks.push({
      check: 'manifest-invalid',
      ok: false,
      detail: `the manifest lists ${edSigners.length} Ed25519 signers, expected 1`,
    });
    return finishResult(checks, { manifest, verifiedBy });
  }
  checks.push({
    check: 'manifest-invalid',
    ok: true,
    detail: `manifest of ${manifest.project} ${manifest.version ?? ''}`.trim(),
  });

  const kernelHash = await loadableHash(elf, excludedRanges(elf, s));
  const kernelOk = toHex(kernelHash) === toHex(manifest.kernelHash);
  checks.push({
    check: 'manifest-mismatch',
    ok: kernelOk,
    detail: kernelOk
      ? `loadable content matches the manifest (${toHex(kernelHash)})`
      : `the loadable content hashes to ${toHex(kernelHash)}, the manifest says ${toHex(manifest.kernelHash)}`,
  });

  const rule = manifest.canonicalization ?? 'zero';
  const message = await canonicalHash(elf, s, rule);
  const canonicalization = { rule, recorded: manifest.canonicalization !== undefined };
  const required = new Set<SignatureAlgorithm>([
    ...manifest.signers.map((x) => x.algorithm),
    ...(options.requireAlgorithms ?? []),
  ]);
  for (const algorithm of required) {
    const check: VerifyFailure = algorithm === 'ed25519' ? 'ed25519' : 'ml-dsa';
    const signer = manifest.signers.find((x) => x.algorithm === algorithm);
    if (!signer) {
      checks.push({
        check,
        ok: false,
        detail: `a ${algorithm} signature is required but the manifest lists no ${algorithm} signer`,
      });
      continue;
    }
    const key = publicKeys.find((k) => k.algorithm === algorithm && k.keyId === signer.keyId);
    if (!key) {
      const given = publicKeys.filter((k) => k.algorithm === algorithm).map((k) => k.keyId);
      checks.push({
        check: 'unknown-key-id',
        ok: false,
        detail: `signed by ${algorithm} key ${signer.keyId}, which is not among the keys given (${given.length ? given.join(', ') : `no ${algorithm} key given`})`,
      });
      continue;
    }
    const section = algorithm === 'ed25519' ? sigSection : findSection(elf, s.mlDsaSignature);
    if (!section) {
      checks.push({
        check: 'missing-section',
        ok: false,
        detail: `the manifest lists ${algorithm} key ${signer.keyId} but there is no ${s.mlDsaSignature} section`,
      });
      continue;
    }
    const want = ALGORITHM_LENGTHS[algorithm].signature;
    if (section.data.length !== want) {
      checks.push({
        check,
        ok: false,
        detail: `${section.name} has ${section.data.length} bytes, a ${algorithm} signature has ${want}`,
      });
      continue;
    }
    const ok = verifySignature(key, message, section.data);
    checks.push({
      check,
      ok,
      detail: ok
        ? `${algorithm} signature by ${key.keyId} is valid`
        : `${algorithm} signature in ${section.name} does not verify with key ${key.keyId} (the file or the signature was changed)`,
    });
    if (ok) verifiedBy.push({ algorithm, keyId: key.keyId });
  }
  return finishResult(checks, {
    manifest,
    canonicalHash: toHex(message),
    kernelHash: toHex(kernelHash),
    verifiedBy,
    canonicalization,
  });
}
