/**
 * The ELF section names signing writes, on their own so that a command naming them (sign, verify,
 * audit, the machine flags) does not load the signature algorithms (ML-DSA's tables cost ~30 ms).
 */

/** Names of the sections kiln writes. */
export interface SignSections {
  /** The 64-byte Ed25519 signature. */
  signature: string;
  /** The 3309-byte ML-DSA-65 signature (hybrid signing only). */
  mlDsaSignature: string;
  /** The manifest record. */
  manifest: string;
}

/** kiln's default section names. */
export const DEFAULT_SIGN_SECTIONS: Readonly<SignSections> = Object.freeze({
  signature: '.kiln.sig',
  mlDsaSignature: '.kiln.sig.mldsa',
  manifest: '.kiln.manifest',
});
/** The names the NØNOS kernel uses. */
export const NONOS_SIGN_SECTIONS: Readonly<SignSections> = Object.freeze({
  signature: '.nonos.sig',
  mlDsaSignature: '.nonos.sig.mldsa',
  manifest: '.nonos.manifest',
});
