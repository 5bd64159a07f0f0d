/**
 * The kiln build manifest: a small versioned binary record embedded in a kernel section
 * (`.kiln.manifest`, `.nonos.manifest`) and signed with it. The format is kiln's own and is
 * specified in sign/README.md ("Manifest format"); this file is its reference encoder/decoder.
 *
 *   header  : magic "KMAN" | u16 format version (1) | u16 header size (12) | u32 total length
 *   entries : u16 tag | u32 length | value        (all integers little-endian)
 *
 * Entries appear in ascending tag order; repeatable entries are sorted by their key and unique.
 * The decoder checks every length against the remaining bytes and a limit before reading, and
 * rejects anything not in canonical form, so decode(encode(m)) == m and encode(decode(b)) == b.
 */
import { ByteReader, toHex, writeU16, writeU64 } from '../formats/io/bytes.js';
import { ALGORITHM_IDS, algorithmFromId, KEY_ID_LENGTH, type SignatureAlgorithm } from './keys.js';
import { encodeTlv, tlvSize } from './_tlv.js';

/** The first four bytes of a kernel manifest. */
export const MANIFEST_MAGIC = 'KMAN';
/** The manifest format version kiln writes and reads. */
export const MANIFEST_VERSION = 1;
/** Bytes of the manifest header (magic, version, header size, total length) before its TLV entries. */
export const MANIFEST_HEADER_SIZE = 12;
/** Limits the decoder enforces (and the encoder too, so it never writes what it cannot read). */
export const MANIFEST_LIMITS = { totalSize: 1 << 20, text: 4096, entries: 65535, abiHash: 64 } as const;

/** Tags of manifest entries (sign/README.md). Tags with bit 15 set are ignorable extensions. */
export const MANIFEST_TAGS = {
  project: 0x01,
  version: 0x02,
  gitCommit: 0x03,
  buildTime: 0x04,
  arch: 0x05,
  profile: 0x06,
  kernelHash: 0x07,
  initrdMember: 0x08,
  toolchain: 0x09,
  flag: 0x0a,
  abiHash: 0x0b,
  signer: 0x0c,
  canonicalization: 0x0d,
} as const;

/**
 * How the signed message is made from the file (sign/README.md, "Canonicalization"):
 * `zero` hashes the whole file with the signature sections' bytes replaced by zeros (kiln's default);
 * `exclude` hashes the file with those bytes left out (NØNOS: "excluding signature section").
 */
export type Canonicalization = 'zero' | 'exclude';
/** The byte a signature record stores for each canonicalization. */
export const CANONICALIZATION_IDS: Readonly<Record<Canonicalization, number>> = { zero: 0, exclude: 1 };

/** A key a manifest says signed the kernel. */
export interface ManifestSigner {
  algorithm: SignatureAlgorithm;
  keyId: string;
}

/** What a manifest records. */
export interface Manifest {
  project: string;
  /** The project's version string. */
  version?: string;
  gitCommit?: string;
  /** Seconds since 1970 (SOURCE_DATE_EPOCH). */
  buildTime: number;
  /** Target architecture, e.g. `x86_64`. */
  arch: string;
  /** Build profile, e.g. `release`. */
  profile: string;
  /** BLAKE3 of the kernel's loadable content (see `loadableHash`), 32 bytes. */
  kernelHash: Uint8Array;
  /** BLAKE3 of every initrd member, by path inside the initrd. */
  initrd: Record<string, Uint8Array>;
  /** Tool name -> version, e.g. `{ clang: '14.0.6', 'ld.lld': '14.0.6' }`. */
  toolchain: Record<string, string>;
  /** The flags policy applied, free-form key -> value. */
  flags: Record<string, string>;
  /** Hash of the ABI definition, when the project has one (1..64 bytes). */
  abiHash?: Uint8Array;
  /** Keys that sign this kernel; a verifier requires a valid signature from each. */
  signers: ManifestSigner[];
  /** The canonicalization rule of the signatures; absent means `zero` (manifests before the entry). */
  canonicalization?: Canonicalization;
  /** Ignorable extension entries (tag >= 0x8000) kept as they were read. */
  extensions?: { tag: number; value: Uint8Array }[];
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function textBytes(what: string, value: string): Uint8Array {
  const bytes = utf8.encode(value);
  if (bytes.length > MANIFEST_LIMITS.text)
    throw new RangeError(
      `manifest "${what}" expected at most ${MANIFEST_LIMITS.text} bytes of UTF-8, got ${bytes.length}`,
    );
  return bytes;
}

interface Entry {
  tag: number;
  value: Uint8Array;
}

function kvValue(key: Uint8Array, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + key.length + value.length);
  writeU16(out, 0, key.length, true);
  out.set(key, 2);
  writeU16(out, 2 + key.length, value.length, true);
  out.set(value, 4 + key.length);
  return out;
}

function sortedPairs(what: string, record: Record<string, string | Uint8Array>): [Uint8Array, string | Uint8Array][] {
  const pairs = Object.entries(record).map(
    ([k, v]) => [textBytes(`${what} key`, k), v] as [Uint8Array, string | Uint8Array],
  );
  pairs.sort((a, b) => compareBytes(a[0], b[0]));
  return pairs;
}

/**
 * Encodes a manifest in canonical form.
 * @example
 * const bytes = encodeManifest({ project: 'nonos', buildTime: 315532800, arch: 'x86_64', profile: 'release',
 *   kernelHash, initrd: {}, toolchain: {}, flags: {}, signers: [{ algorithm: 'ed25519', keyId }] });
 */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const entries: Entry[] = [];
  const text = (tag: number, what: string, value: string | undefined) => {
    if (value !== undefined) entries.push({ tag, value: textBytes(what, value) });
  };
  text(MANIFEST_TAGS.project, 'project', manifest.project);
  text(MANIFEST_TAGS.version, 'version', manifest.version);
  text(MANIFEST_TAGS.gitCommit, 'gitCommit', manifest.gitCommit);
  if (!Number.isSafeInteger(manifest.buildTime) || manifest.buildTime < 0)
    throw new RangeError(`manifest "buildTime" expected a non-negative integer, got ${manifest.buildTime}`);
  const time = new Uint8Array(8);
  writeU64(time, 0, manifest.buildTime, true);
  entries.push({ tag: MANIFEST_TAGS.buildTime, value: time });
  text(MANIFEST_TAGS.arch, 'arch', manifest.arch);
  text(MANIFEST_TAGS.profile, 'profile', manifest.profile);
  if (!(manifest.kernelHash instanceof Uint8Array) || manifest.kernelHash.length !== 32)
    throw new RangeError('manifest "kernelHash" expected 32 bytes');
  entries.push({ tag: MANIFEST_TAGS.kernelHash, value: manifest.kernelHash });
  for (const [name, hash] of sortedPairs('initrd', manifest.initrd)) {
    if (!(hash instanceof Uint8Array) || hash.length !== 32)
      throw new RangeError('manifest "initrd" hashes expected 32 bytes each');
    const value = new Uint8Array(2 + name.length + 32);
    writeU16(value, 0, name.length, true);
    value.set(name, 2);
    value.set(hash, 2 + name.length);
    entries.push({ tag: MANIFEST_TAGS.initrdMember, value });
  }
  for (const [k, v] of sortedPairs('toolchain', manifest.toolchain))
    entries.push({ tag: MANIFEST_TAGS.toolchain, value: kvValue(k, textBytes('toolchain value', v as string)) });
  for (const [k, v] of sortedPairs('flags', manifest.flags))
    entries.push({ tag: MANIFEST_TAGS.flag, value: kvValue(k, textBytes('flags value', v as string)) });
  if (manifest.abiHash !== undefined) {
    if (manifest.abiHash.length < 1 || manifest.abiHash.length > MANIFEST_LIMITS.abiHash)
      throw new RangeError(`manifest "abiHash" expected 1..${MANIFEST_LIMITS.abiHash} bytes`);
    entries.push({ tag: MANIFEST_TAGS.abiHash, value: manifest.abiHash });
  }
  const signers = manifest.signers.map((s) => {
    if (!/^[0-9a-f]{16}$/.test(s.keyId))
      throw new RangeError(`manifest signer "keyId" expected 16 lowercase hex digits, got ${JSON.stringify(s.keyId)}`);
    const value = new Uint8Array(1 + KEY_ID_LENGTH);
    value[0] = ALGORITHM_IDS[s.algorithm];
    value.set(Buffer.from(s.keyId, 'hex'), 1);
    return value;
  });
  signers.sort(compareBytes);
  for (let i = 1; i < signers.length; i++)
    if (compareBytes(signers[i - 1]!, signers[i]!) === 0) throw new RangeError('manifest "signers" has a duplicate');
  for (const value of signers) entries.push({ tag: MANIFEST_TAGS.signer, value });
  if (manifest.canonicalization !== undefined) {
    const id = CANONICALIZATION_IDS[manifest.canonicalization];
    if (id === undefined)
      throw new RangeError(
        `manifest "canonicalization" expected zero or exclude, got ${JSON.stringify(manifest.canonicalization)}`,
      );
    entries.push({ tag: MANIFEST_TAGS.canonicalization, value: Uint8Array.of(id) });
  }
  const extensions = [...(manifest.extensions ?? [])].sort((a, b) => a.tag - b.tag);
  for (const e of extensions) {
    if (!Number.isInteger(e.tag) || e.tag < 0x8000 || e.tag > 0xffff)
      throw new RangeError(`manifest extension tag expected 0x8000..0xffff, got ${e.tag}`);
    entries.push({ tag: e.tag, value: e.value });
  }
  if (entries.length > MANIFEST_LIMITS.entries)
    throw new RangeError(`manifest expected at most ${MANIFEST_LIMITS.entries} entries, got ${entries.length}`);
  // Layout, then emit.
  const total = tlvSize(MANIFEST_HEADER_SIZE, entries);
  if (total > MANIFEST_LIMITS.totalSize)
    throw new RangeError(`manifest expected at most ${MANIFEST_LIMITS.totalSize} bytes, got ${total}`);
  return encodeTlv(MANIFEST_MAGIC, MANIFEST_VERSION, MANIFEST_HEADER_SIZE, entries);
}

const REPEATABLE = new Set<number>([
  MANIFEST_TAGS.initrdMember,
  MANIFEST_TAGS.toolchain,
  MANIFEST_TAGS.flag,
  MANIFEST_TAGS.signer,
]);
const KNOWN = new Set<number>(Object.values(MANIFEST_TAGS));

/** Where each entry of an encoded manifest is (for tests and for `kiln verify --json`). */
export interface ManifestEntryLocation {
  tag: number;
  /** Offset of the entry's tag within the manifest. */
  offset: number;
  /** Offset and length of its value. */
  valueOffset: number;
  valueLength: number;
}

/**
 * Decodes and validates a manifest. Trailing zero bytes after the record are allowed (a section
 * reserved larger than the record); anything else is a FormatError with the offset.
 * @example
 * const manifest = decodeManifest(sectionBytes);
 * console.log(manifest.project, toHex(manifest.kernelHash));
 */
export function decodeManifest(bytes: Uint8Array, options: { base?: number } = {}): Manifest {
  return decodeManifestWithLocations(bytes, options).manifest;
}

/** `decodeManifest` that also returns where every entry is.
 * @example
 * const { entries } = decodeManifestWithLocations(bytes); entries.find((e) => e.tag === MANIFEST_TAGS.kernelHash)?.valueOffset;
 */
export function decodeManifestWithLocations(
  bytes: Uint8Array,
  options: { base?: number } = {},
): { manifest: Manifest; entries: ManifestEntryLocation[]; length: number } {
  const r = new ByteReader(bytes, 'manifest', { base: options.base ?? 0 });
  const total = readManifestHeader(r, bytes);
  const body = r.slice(0, total, 'manifest record');
  body.seek(MANIFEST_HEADER_SIZE);
  const decoder = new ManifestDecoder();
  while (body.remaining > 0) decoder.readEntry(body);
  return { manifest: decoder.finish(body), entries: decoder.locations, length: total };
}

/** Checks the 12-byte header and that only zero bytes follow the record; returns the record's length. */
function readManifestHeader(r: ByteReader, bytes: Uint8Array): number {
  r.need(MANIFEST_HEADER_SIZE, 'manifest header');
  if (r.ascii(4, 'magic') !== MANIFEST_MAGIC) r.fail('MANIFEST_BAD_MAGIC', `expected magic "${MANIFEST_MAGIC}"`, 0);
  const version = r.u16(true, 'format version');
  if (version !== MANIFEST_VERSION)
    r.fail(
      'MANIFEST_UNSUPPORTED_VERSION',
      `format version ${version} is not supported (this kiln reads version ${MANIFEST_VERSION})`,
      4,
    );
  const headerSize = r.u16(true, 'header size');
  if (headerSize !== MANIFEST_HEADER_SIZE)
    r.fail('MANIFEST_BAD_HEADER', `header size ${headerSize}, expected ${MANIFEST_HEADER_SIZE}`, 6);
  const total = r.u32(true, 'total length');
  if (total < MANIFEST_HEADER_SIZE || total > MANIFEST_LIMITS.totalSize || total > bytes.length) {
    r.fail(
      'MANIFEST_BAD_LENGTH',
      `total length ${total} is outside ${MANIFEST_HEADER_SIZE}..${Math.min(bytes.length, MANIFEST_LIMITS.totalSize)}`,
      8,
    );
  }
  for (let i = total; i < bytes.length; i++)
    if (bytes[i] !== 0) r.fail('MANIFEST_TRAILING_DATA', 'non-zero bytes after the manifest record', i);
  return total;
}

/** A length-limited, strictly UTF-8 text value. */
function readText(v: ByteReader, length: number, what: string): string {
  if (length > MANIFEST_LIMITS.text)
    v.fail('MANIFEST_TEXT_TOO_LONG', `${what}: ${length} bytes, at most ${MANIFEST_LIMITS.text}`);
  const start = v.position;
  const raw = v.bytesView(length, what);
  try {
    return strictUtf8.decode(raw);
  } catch {
    return v.fail('MANIFEST_BAD_UTF8', `${what} is not valid UTF-8`, start);
  }
}

/** A toolchain or flag entry: u16-length key and value; the key's bytes are its sort key. */
function readKeyValue(v: ByteReader, what: string): [string, string, Uint8Array] {
  const klen = v.u16(true, `${what} key length`);
  const keyStart = v.position;
  const key = readText(v, klen, `${what} key`);
  const keyBytes = v.bytes.subarray(keyStart, keyStart + klen);
  const vlen = v.u16(true, `${what} value length`);
  const value = readText(v, vlen, `${what} value`);
  return [key, value, keyBytes];
}

/** The entries read so far, before the required ones are checked. */
type ManifestDraft = Partial<Manifest> & {
  initrd: Record<string, Uint8Array>;
  toolchain: Record<string, string>;
  flags: Record<string, string>;
  signers: ManifestSigner[];
};

/** Reads the entries one by one, checking their canonical order (tags ascend, repeats sorted and unique). */
class ManifestDecoder {
  readonly m: ManifestDraft = {
    initrd: Object.create(null) as Record<string, Uint8Array>,
    toolchain: Object.create(null) as Record<string, string>,
    flags: Object.create(null) as Record<string, string>,
    signers: [],
  };
  readonly extensions: { tag: number; value: Uint8Array }[] = [];
  readonly locations: ManifestEntryLocation[] = [];
  private lastTag = -1;
  private lastValue: Uint8Array | undefined;
  private count = 0;

  readEntry(body: ByteReader): void {
    const entryAt = body.position;
    if (++this.count > MANIFEST_LIMITS.entries)
      body.fail('MANIFEST_TOO_MANY_ENTRIES', `more than ${MANIFEST_LIMITS.entries} entries`);
    const tag = body.u16(true, 'entry tag');
    const length = body.u32(true, 'entry length');
    const v = body.slice(body.position, length, `entry 0x${tag.toString(16)} value`);
    body.skip(length);
    this.locations.push({ tag, offset: entryAt, valueOffset: entryAt + 6, valueLength: length });
    this.checkOrder(tag, v);
    this.readValue(tag, length, v);
    if (v.remaining !== 0)
      v.fail('MANIFEST_BAD_ENTRY', `entry 0x${tag.toString(16)}: ${v.remaining} unused bytes at its end`);
    this.lastTag = tag;
  }

  private checkOrder(tag: number, v: ByteReader): void {
    if (tag < this.lastTag)
      v.fail(
        'MANIFEST_NOT_CANONICAL',
        `entry tag 0x${tag.toString(16)} after 0x${this.lastTag.toString(16)}: tags must ascend`,
        0,
      );
    if (tag === this.lastTag && !REPEATABLE.has(tag))
      v.fail('MANIFEST_DUPLICATE', `entry tag 0x${tag.toString(16)} appears twice`, 0);
    if (tag !== this.lastTag) this.lastValue = undefined;
  }

  /** A repeated entry's sort key must be greater than the one before it. */
  private sortKey(tag: number, v: ByteReader, key: Uint8Array): void {
    if (tag === this.lastTag && this.lastValue && compareBytes(this.lastValue, key) >= 0)
      v.fail('MANIFEST_NOT_CANONICAL', `entries with tag 0x${tag.toString(16)} must be sorted and unique`, 0);
    this.lastValue = key;
  }

  private readValue(tag: number, length: number, v: ByteReader): void {
    const m = this.m;
    switch (tag) {
      case MANIFEST_TAGS.project:
        m.project = readText(v, length, 'project');
        break;
      case MANIFEST_TAGS.version:
        m.version = readText(v, length, 'version');
        break;
      case MANIFEST_TAGS.gitCommit:
        m.gitCommit = readText(v, length, 'git commit');
        break;
      case MANIFEST_TAGS.arch:
        m.arch = readText(v, length, 'arch');
        break;
      case MANIFEST_TAGS.profile:
        m.profile = readText(v, length, 'profile');
        break;
      case MANIFEST_TAGS.buildTime: {
        if (length !== 8) v.fail('MANIFEST_BAD_ENTRY', `build time: ${length} bytes, expected 8`, 0);
        m.buildTime = v.u64(true, 'build time');
        break;
      }
      case MANIFEST_TAGS.kernelHash: {
        if (length !== 32) v.fail('MANIFEST_BAD_ENTRY', `kernel hash: ${length} bytes, expected 32`, 0);
        m.kernelHash = new Uint8Array(v.bytesView(32, 'kernel hash'));
        break;
      }
      case MANIFEST_TAGS.initrdMember:
        this.readInitrdMember(tag, v);
        break;
      case MANIFEST_TAGS.toolchain:
      case MANIFEST_TAGS.flag: {
        const what = tag === MANIFEST_TAGS.toolchain ? 'toolchain' : 'flag';
        const [key, value, keyBytes] = readKeyValue(v, what);
        this.sortKey(tag, v, keyBytes);
        (tag === MANIFEST_TAGS.toolchain ? m.toolchain : m.flags)[key] = value;
        break;
      }
      case MANIFEST_TAGS.abiHash: {
        if (length < 1 || length > MANIFEST_LIMITS.abiHash)
          v.fail('MANIFEST_BAD_ENTRY', `ABI hash: ${length} bytes, expected 1..${MANIFEST_LIMITS.abiHash}`, 0);
        m.abiHash = new Uint8Array(v.bytesView(length, 'ABI hash'));
        break;
      }
      case MANIFEST_TAGS.signer:
        this.readSigner(tag, length, v);
        break;
      case MANIFEST_TAGS.canonicalization:
        m.canonicalization = readCanonicalization(length, v);
        break;
      default:
        this.readExtension(tag, length, v);
    }
  }

  private readInitrdMember(tag: number, v: ByteReader): void {
    const nlen = v.u16(true, 'initrd name length');
    const nameStart = v.position;
    const name = readText(v, nlen, 'initrd name');
    this.sortKey(tag, v, v.bytes.subarray(nameStart, nameStart + nlen));
    this.m.initrd[name] = new Uint8Array(v.bytesView(32, 'initrd member hash'));
  }

  private readSigner(tag: number, length: number, v: ByteReader): void {
    if (length !== 1 + KEY_ID_LENGTH)
      v.fail('MANIFEST_BAD_ENTRY', `signer: ${length} bytes, expected ${1 + KEY_ID_LENGTH}`, 0);
    this.sortKey(tag, v, v.bytes.subarray(0, 1 + KEY_ID_LENGTH));
    const id = v.u8('signer algorithm');
    const algorithm = algorithmFromId(id);
    if (!algorithm) v.fail('MANIFEST_UNKNOWN_ALGORITHM', `signer algorithm id ${id} is unknown`, 0);
    this.m.signers.push({ algorithm: algorithm!, keyId: toHex(v.bytesView(KEY_ID_LENGTH, 'key id')) });
  }

  /** A tag of 0x8000 and above that this version does not define: kept as it is. */
  private readExtension(tag: number, length: number, v: ByteReader): void {
    if (KNOWN.has(tag) || tag < 0x8000)
      v.fail(
        'MANIFEST_UNKNOWN_TAG',
        `entry tag 0x${tag.toString(16)} is not defined in format version ${MANIFEST_VERSION}`,
        0,
      );
    this.sortKey(tag, v, v.bytes);
    this.extensions.push({ tag, value: new Uint8Array(v.bytes) });
    v.skip(length);
  }

  /** The manifest, once every required entry is there. */
  finish(body: ByteReader): Manifest {
    const m = this.m;
    for (const [key, what] of [
      ['project', 'project'],
      ['buildTime', 'build time'],
      ['arch', 'arch'],
      ['profile', 'profile'],
      ['kernelHash', 'kernel hash'],
    ] as const) {
      if (m[key] === undefined) body.fail('MANIFEST_MISSING_ENTRY', `the required entry "${what}" is missing`, 0);
    }
    return {
      project: m.project!,
      ...(m.version !== undefined ? { version: m.version } : {}),
      ...(m.gitCommit !== undefined ? { gitCommit: m.gitCommit } : {}),
      buildTime: m.buildTime!,
      arch: m.arch!,
      profile: m.profile!,
      kernelHash: m.kernelHash!,
      initrd: { ...m.initrd },
      toolchain: { ...m.toolchain },
      flags: { ...m.flags },
      ...(m.abiHash !== undefined ? { abiHash: m.abiHash } : {}),
      signers: m.signers,
      ...(m.canonicalization !== undefined ? { canonicalization: m.canonicalization } : {}),
      ...(this.extensions.length ? { extensions: this.extensions } : {}),
    };
  }
}

function readCanonicalization(length: number, v: ByteReader): Canonicalization {
  if (length !== 1) v.fail('MANIFEST_BAD_ENTRY', `canonicalization: ${length} bytes, expected 1`, 0);
  const id = v.u8('canonicalization');
  const rule = (Object.keys(CANONICALIZATION_IDS) as Canonicalization[]).find((k) => CANONICALIZATION_IDS[k] === id);
  if (!rule) v.fail('MANIFEST_BAD_ENTRY', `canonicalization id ${id} is unknown (0 = zero, 1 = exclude)`, 0);
  return rule!;
}

/** A JSON-friendly view of a manifest (hashes as hex).
 * @example
 * console.log(JSON.stringify(manifestToJson(decodeManifest(bytes)), null, 2));
 */
export function manifestToJson(manifest: Manifest): Record<string, unknown> {
  return {
    project: manifest.project,
    version: manifest.version,
    gitCommit: manifest.gitCommit,
    buildTime: manifest.buildTime,
    buildTimeIso: manifest.buildTime <= 8.64e12 ? new Date(manifest.buildTime * 1000).toISOString() : undefined,
    arch: manifest.arch,
    profile: manifest.profile,
    kernelHash: toHex(manifest.kernelHash),
    initrd: Object.fromEntries(Object.entries(manifest.initrd).map(([k, v]) => [k, toHex(v)])),
    toolchain: manifest.toolchain,
    flags: manifest.flags,
    abiHash: manifest.abiHash ? toHex(manifest.abiHash) : undefined,
    signers: manifest.signers,
    canonicalization: manifest.canonicalization ?? 'zero',
  };
}
