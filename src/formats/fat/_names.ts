/**
 * FAT names: long-name validation, 8.3 short-name generation and VFAT long-name entries.
 *
 * Spec: Microsoft "FAT: General Overview of On-Disk Format" v1.03 (fatgen103), sections
 * "FAT Long Directory Entries" (ordinal, 13 UCS-2 characters per entry, LDIR_Chksum),
 * "Name Limits and Character Sets", "Basis-Name Generation Algorithm" and
 * "Numeric-Tail Generation Algorithm". The NTRes case bits (0x08 lower-case base, 0x10 lower-case
 * extension) are the Windows NT extension that Linux vfat and Windows use for all-lower-case 8.3
 * names, so such names need no long-name entries.
 */
import { KilnError } from '../../errors.js';

/** Characters a long name may not contain (fatgen103, "Name Limits"), besides controls < 0x20. */
const LONG_ILLEGAL = new Set(['"', '*', '/', ':', '<', '>', '?', '\\', '|']);
/** Characters allowed in a short name besides A-Z and 0-9 (fatgen103, DIR_Name). */
const SHORT_SPECIAL = new Set(['$', '%', "'", '-', '_', '@', '~', '`', '!', '(', ')', '{', '}', '^', '#', '&']);

/** Anything that needs a closer look: controls, illegal characters, surrogates. */
const SUSPECT_LONG = /[\x00-\x1f\x7f"*/:<>?\\|\ud800-\udfff]/;

/** Most UTF-16 code units a long name may have (fatgen103: 255 characters). */
export const MAX_LONG_NAME = 255;

/** Short-name characters only, with at most one dot and not at the start: its basis name is a plain cut. */
const PLAIN_NAME = /^[A-Z0-9$%'\-_@~`!(){}^#&]+(?:\.[A-Z0-9$%'\-_@~`!(){}^#&]*)?$/;

/** The short-name characters as a table by ASCII code, for the per-character loops. */
const SHORT_ASCII = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) SHORT_ASCII[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) SHORT_ASCII[c] = 1;
for (const c of SHORT_SPECIAL) SHORT_ASCII[c.charCodeAt(0)] = 1;

export function isShortChar(c: string): boolean {
  const code = c.charCodeAt(0);
  return c.length === 1 && code < 128 && SHORT_ASCII[code] === 1;
}

/**
 * Throws FAT_NAME_INVALID unless `name` is a legal FAT long name. `where` is the image path.
 * @example checkLongName('BOOTX64.EFI', 'EFI/BOOT/BOOTX64.EFI')
 */
export function checkLongName(name: string, where: string): void {
  const fail = (why: string): never => {
    throw new KilnError(
      'FAT_NAME_INVALID',
      `${JSON.stringify(where)}: ${JSON.stringify(name)} is not a legal FAT file name: ${why}`,
      {
        location: { file: where },
        hint: 'FAT names are at most 255 characters, may not contain control characters or " * / : < > ? \\ |, and may not end in a dot or a space',
      },
    );
  };
  if (name.length === 0) fail('it is empty');
  if (name === '.' || name === '..') fail('it is reserved');
  if (name.length > MAX_LONG_NAME) fail(`it has ${name.length} UTF-16 code units, at most ${MAX_LONG_NAME} fit`);
  if (name.endsWith('.') || name.endsWith(' '))
    fail('it ends in a dot or a space (Windows strips them, so the name could not be looked up)');
  if (!SUSPECT_LONG.test(name)) return; // the common case: one native scan
  for (const c of name) {
    if (c.charCodeAt(0) < 0x20 || c === '\x7f')
      fail(`it contains the control character U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    if (LONG_ILLEGAL.has(c)) fail(`it contains ${JSON.stringify(c)}`);
  }
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = name.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) fail('it contains an unpaired UTF-16 surrogate');
      i++;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      fail('it contains an unpaired UTF-16 surrogate');
    }
  }
}

/** The key under which FAT compares names (case-insensitive, as Windows' up-case table does). */
export function nameKey(name: string): string {
  return name.toUpperCase();
}

/** An 11-byte short name (8 + 3, space padded) plus the NTRes case bits. */
export interface ShortName {
  /** 11 ASCII bytes as stored in DIR_Name. */
  raw: string;
  /** NTRes bits: 0x08 base is lower case, 0x10 extension is lower case. */
  caseBits: number;
  /** Whether long-name entries are needed to store the name exactly. */
  needsLong: boolean;
}

function splitName(name: string): { base: string; ext: string; dots: number } {
  const dots = name.split('.').length - 1;
  const at = name.lastIndexOf('.');
  return at <= 0 ? { base: name, ext: '', dots } : { base: name.slice(0, at), ext: name.slice(at + 1), dots };
}

function letterCase(text: string): 'lower' | 'upper' | 'none' | 'mixed' {
  const hasLower = text !== text.toUpperCase();
  const hasUpper = text !== text.toLowerCase();
  return hasLower && hasUpper ? 'mixed' : hasLower ? 'lower' : hasUpper ? 'upper' : 'none';
}

/** Formats base/ext (already valid short characters) into the 11-byte DIR_Name field. */
export function rawShortName(base: string, ext: string): string {
  return base.padEnd(8, ' ') + ext.padEnd(3, ' ');
}

/**
 * If `name` is a valid 8.3 name once upper-cased, returns it (with case bits, and whether long
 * entries are still needed for mixed case); otherwise undefined.
 */
export function exactShortName(name: string): ShortName | undefined {
  if (name.length > 12) return undefined;
  const { base, ext, dots } = splitName(name);
  if (dots > 1 || base.length < 1 || base.length > 8 || ext.length > 3 || (dots === 1 && ext.length === 0))
    return undefined;
  const upperBase = base.toUpperCase();
  const upperExt = ext.toUpperCase();
  // toUpperCase may change the length (ß → SS) or produce non-ASCII: both are not exact.
  if (upperBase.length !== base.length || upperExt.length !== ext.length) return undefined;
  for (const c of upperBase + upperExt) if (!isShortChar(c)) return undefined;
  const baseCase = letterCase(base);
  const extCase = letterCase(ext);
  const needsLong = baseCase === 'mixed' || extCase === 'mixed';
  const caseBits = needsLong ? 0 : (baseCase === 'lower' ? 0x08 : 0) | (extCase === 'lower' ? 0x10 : 0);
  return { raw: rawShortName(upperBase, upperExt), caseBits, needsLong };
}

/**
 * The basis name of fatgen103's "Basis-Name Generation Algorithm": upper-cased, illegal characters
 * replaced by `_` (lossy), spaces and leading dots removed, base truncated to 8 and extension (after
 * the last dot) to 3 characters. One pass over the characters (it runs for every long name).
 */
export function basisName(name: string): { base: string; ext: string } {
  const text = name.toUpperCase();
  if (PLAIN_NAME.test(text)) {
    // The common case (`file_00042.bin`): nothing to drop or replace, only to cut. (Checked with one
    // native match: a per-character loop runs in the interpreter in a short-lived process.)
    const dot = text.indexOf('.');
    return dot < 0
      ? { base: text.slice(0, 8), ext: '' }
      : { base: text.slice(0, Math.min(dot, 8)), ext: text.slice(dot + 1, dot + 4) };
  }
  // Spaces go everywhere and dots before the first other character: the whole leading run of both.
  let start = 0;
  while (start < text.length && (text.charCodeAt(start) === 0x2e || text.charCodeAt(start) === 0x20)) start++;
  const lastDot = text.lastIndexOf('.');
  const hasExt = lastDot >= start;
  return {
    base: shortPart(text, start, hasExt ? lastDot : text.length, 8) || '_',
    ext: hasExt ? shortPart(text, lastDot + 1, text.length, 3) : '',
  };
}

/**
 * Characters [from, to) of an upper-cased name as a short-name part, at most `limit` long: spaces
 * and (embedded) dots dropped, every other code point outside the short-name set (a surrogate pair
 * is one) replaced by `_`.
 */
function shortPart(text: string, from: number, to: number, limit: number): string {
  let out = '';
  for (let i = from; i < to && out.length < limit; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x20 || code === 0x2e) continue;
    if (code < 128 && SHORT_ASCII[code] === 1) {
      out += text[i];
    } else {
      out += '_';
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < to && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    }
  }
  return out;
}

/**
 * Picks short names for all entries of one directory, without collisions: names that are valid
 * 8.3 names keep them (first, so generated names never take them); the others get a basis name
 * with the lowest free numeric tail `~1`, `~2`, ... (the base shortened to make room).
 * Throws FAT_NAME_CONFLICT for two names equal apart from case (FAT compares names case-insensitively).
 * @example assignShortNames(['readme.txt', 'A long name.txt'], 'docs')
 */
export function assignShortNames(names: readonly string[], dir: string): ShortName[] {
  const result: Array<ShortName | undefined> = new Array(names.length);
  const taken = new Set<string>();
  const seen = new Map<string, string>();
  for (const name of names) {
    const key = nameKey(name);
    const other = seen.get(key);
    if (other !== undefined) {
      throw new KilnError(
        'FAT_NAME_CONFLICT',
        `${JSON.stringify(dir || '/')}: ${JSON.stringify(other)} and ${JSON.stringify(name)} differ only in case, which FAT cannot tell apart`,
        {
          location: { file: dir || '/' },
          hint: 'rename one of them',
        },
      );
    }
    seen.set(key, name);
  }
  for (let i = 0; i < names.length; i++) {
    const exact = exactShortName(names[i]!);
    if (exact && !taken.has(exact.raw)) {
      result[i] = exact;
      taken.add(exact.raw);
    }
  }
  // A candidate `BASE~N.EXT` depends only on the first 6 characters of the basis (8 less the
  // shortest tail, ~1) and the extension: names that agree on those try the same candidates. So,
  // keyed by them, the first tail not yet tried: all lower ones are taken (and stay taken), and
  // `file_00001.bin`, `file_00002.bin`, ... (all FILE_0~N.BIN) cost one try each, not one per
  // earlier name.
  const nextTail = new Map<string, number>();
  next: for (let i = 0; i < names.length; i++) {
    if (result[i]) continue;
    const { base, ext } = basisName(names[i]!);
    const basis = `${base.slice(0, 6)}.${ext}`;
    for (let n = nextTail.get(basis) ?? 1; n <= 999_999; n++) {
      const tail = `~${n}`;
      const raw = rawShortName(base.slice(0, 8 - tail.length) + tail, ext);
      if (!taken.has(raw)) {
        taken.add(raw);
        nextTail.set(basis, n + 1);
        result[i] = { raw, caseBits: 0, needsLong: true };
        continue next;
      }
    }
    throw new KilnError(
      'FAT_DIRECTORY_FULL',
      `${JSON.stringify(dir || '/')}: no free short name for ${JSON.stringify(names[i])}`,
    );
  }
  return result as ShortName[];
}

/**
 * LDIR_Chksum: the rotate-right byte sum of the 11-byte short name (fatgen103, ChkSum()).
 * @example shortNameChecksum('README  TXT') // 115
 */
export function shortNameChecksum(raw: Uint8Array | string): number {
  let sum = 0;
  if (typeof raw === 'string') {
    for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + raw.charCodeAt(i)) & 0xff;
  } else {
    for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + raw[i]!) & 0xff;
  }
  return sum;
}

/** Number of long-name entries a name needs (13 UTF-16 units each). */
export function longEntryCount(name: string): number {
  return Math.ceil(name.length / 13);
}

/** Offsets of the 13 name characters inside a long-name entry (LDIR_Name1, Name2, Name3). */
export const LONG_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] as const;

/**
 * Writes the long-name entries for `name` at `offset` in `buf`, in on-disk order (last part first,
 * its ordinal ORed with 0x40), each carrying `checksum`.
 */
export function writeLongEntries(buf: Uint8Array, offset: number, name: string, checksum: number): number {
  const length = name.length;
  const count = longEntryCount(name);
  // Padding first (0xFFFF in every name slot, one native fill), then only the name's units and its
  // NUL terminator are stored: this runs for most entries of a directory.
  buf.fill(0xff, offset, offset + count * 32);
  for (let k = 0; k < count; k++) {
    const ordinal = count - k; // entries are stored from the last part to the first
    const at = offset + k * 32;
    buf[at] = ordinal | (k === 0 ? 0x40 : 0);
    buf[at + 11] = 0x0f;
    buf[at + 12] = 0;
    buf[at + 13] = checksum;
    buf[at + 26] = 0;
    buf[at + 27] = 0;
    const start = (ordinal - 1) * 13;
    const stop = Math.min(13, length - start);
    for (let j = 0; j < stop; j++) {
      const unit = name.charCodeAt(start + j);
      const o = at + LONG_CHAR_OFFSETS[j]!;
      buf[o] = unit & 0xff;
      buf[o + 1] = unit >> 8;
    }
    if (stop < 13) {
      const o = at + LONG_CHAR_OFFSETS[stop]!;
      buf[o] = 0;
      buf[o + 1] = 0;
    }
  }
  return count * 32;
}
