/**
 * File identifiers: ECMA-119 7.5 (file identifiers: d-characters, name + "." + extension + ";1"),
 * 7.6 (directory identifiers), 10.1-10.3 (interchange levels 1-3: 8.3 names, then up to 30/31
 * characters), 9.3 (ordering of directory records); Joliet (Microsoft, "Joliet Specification"
 * 1995, UCS-2 big-endian names up to 64 characters, forbidden characters * / : ; ? \).
 */

/** ECMA-119 §10 interchange level. */
export type IsoLevel = 1 | 2 | 3;

/** Anything but a d-character, one match per code point (a surrogate pair becomes one `_`). */
const NOT_D_CHAR = /[^A-Z0-9_]/gu;

function toDChars(text: string): string {
  return text.toUpperCase().replace(NOT_D_CHAR, '_');
}

/** Splits an identifier `NAME.EXT;1` into its ordering keys (ECMA-119 9.3). */
function splitIdentifier(id: string): { name: string; ext: string; version: number } {
  const semi = id.lastIndexOf(';');
  const version = semi >= 0 ? Number(id.slice(semi + 1)) || 0 : 0;
  const base = semi >= 0 ? id.slice(0, semi) : id;
  const dot = base.indexOf('.');
  return dot >= 0 ? { name: base.slice(0, dot), ext: base.slice(dot + 1), version } : { name: base, ext: '', version };
}

function comparePadded(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = i < a.length ? a.charCodeAt(i) : 0x20;
    const cb = i < b.length ? b.charCodeAt(i) : 0x20;
    if (ca !== cb) return ca - cb;
  }
  return 0;
}

/**
 * ECMA-119 9.3 ordering of file identifiers: by name (shorter padded with spaces), then extension,
 * then version number descending. Joliet identifiers are ordered the same way by UCS-2 code units.
 * @example ['B.TXT;1', 'A.TXT;1'].sort(compareIdentifiers) // ['A.TXT;1', 'B.TXT;1']
 */
export function compareIdentifiers(a: string, b: string): number {
  const x = splitIdentifier(a);
  const y = splitIdentifier(b);
  return comparePadded(x.name, y.name) || comparePadded(x.ext, y.ext) || y.version - x.version;
}

/**
 * A key whose plain string order is the {@link compareIdentifiers} order, for identifiers made of
 * characters from U+0020 up (all ISO9660 and Joliet identifiers the writer makes): name and
 * extension without trailing spaces (space padding makes them equal), each closed by U+0001 (below
 * every such character, so a shorter name sorts first), then the version, descending (see
 * versionSortKey). Sorting by precomputed keys avoids splitting both identifiers on every comparison.
 * @example ['B.TXT;1', 'A.TXT;1'].sort((a, b) => (identifierSortKey(a) < identifierSortKey(b) ? -1 : 1)) // ['A.TXT;1', 'B.TXT;1']
 */
export function identifierSortKey(id: string): string {
  // splitIdentifier without its object and slices (this runs for every name of the tree, twice).
  const semi = id.lastIndexOf(';');
  const end = semi >= 0 ? semi : id.length;
  let dot = id.indexOf('.');
  if (dot >= end) dot = -1;
  const version = semi >= 0 ? Number(id.slice(semi + 1)) || 0 : 0;
  const versionKey = version === 1 ? VERSION_1_KEY : version === 0 ? VERSION_0_KEY : versionSortKey(version);
  const name = trimSpaces(id, 0, dot >= 0 ? dot : end);
  const ext = dot >= 0 ? trimSpaces(id, dot + 1, end) : '';
  return `${name}\u0001${ext}\u0001${versionKey}`;
}

/**
 * Version numbers in descending order as one-byte characters (keys of one-byte names stay one-byte
 * strings): 0-254 as U+00FF down to U+0001, larger ones as U+0000 and a character below them.
 */
function versionSortKey(version: number): string {
  const v = Math.min(0xffff, Math.max(0, version));
  return v < 0xff ? String.fromCharCode(0xff - v) : `\u0000${String.fromCharCode(0xffff - v)}`;
}
const VERSION_0_KEY = versionSortKey(0);
const VERSION_1_KEY = versionSortKey(1);

/** `text.slice(start, end)` without trailing U+0020 (only that character pads; String#trimEnd also strips others). */
function trimSpaces(text: string, start: number, end: number): string {
  while (end > start && text.charCodeAt(end - 1) === 0x20) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * The ISO9660 identifier for a file (`NAME.EXT;1`) or directory (`NAME`) at `level`, before collision handling.
 * @example isoIdentifier('kernel-image.elf64', false, 1) // 'KERNEL_I.ELF;1'
 */
export function isoIdentifier(name: string, isDirectory: boolean, level: IsoLevel): string {
  if (isDirectory) {
    const d = toDChars(name) || '_';
    return d.slice(0, level === 1 ? 8 : 31);
  }
  const dot = name.lastIndexOf('.');
  let base = toDChars(dot > 0 ? name.slice(0, dot) : dot === 0 ? '' : name);
  let ext = toDChars(dot >= 0 ? name.slice(dot + 1) : '');
  if (level === 1) {
    base = base.slice(0, 8);
    ext = ext.slice(0, 3);
  } else {
    ext = ext.slice(0, Math.min(ext.length, 8));
    base = base.slice(0, 30 - ext.length);
  }
  if (base === '' && ext === '') base = '_';
  return `${base}.${ext};1`;
}

/** Control characters, `* / : ; ? \\` and characters outside UCS-2 (one match per code point). */
const NOT_JOLIET_CHAR = /[\u0000-\u001f*/:;?\\]|[\u{10000}-\u{10ffff}]/gu;

/**
 * The Joliet identifier (at most 64 UCS-2 characters, no version number, `* / : ; ? \\` replaced).
 * @example jolietIdentifier('a:b.txt') // 'a_b.txt'
 */
export function jolietIdentifier(name: string): string {
  const out = name.replace(NOT_JOLIET_CHAR, '_');
  if (out.length <= 64) return out;
  const dot = out.lastIndexOf('.');
  const ext = dot > 0 && out.length - dot <= 16 ? out.slice(dot) : '';
  return out.slice(0, 64 - ext.length) + ext;
}

/**
 * Makes the identifiers of one directory unique: a later name that collides (after mangling) with
 * an earlier one gets a `~N` (Joliet) or digits (ISO) suffix inside the same length limits.
 * `names` are the originals in their byte order; returns identifiers in the same order.
 */
export function uniqueIdentifiers(
  names: readonly string[],
  make: (name: string) => string,
  kind: 'iso' | 'joliet',
  maxStem: (id: string) => number,
): string[] {
  const used = new Set<string>();
  const out: string[] = [];
  const key = kind === 'joliet' ? (s: string) => s.toLowerCase() : (s: string) => s;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    let id = make(name);
    if (used.has(key(id))) {
      const { stem, tail } = splitForSuffix(id, kind);
      for (let n = 1; ; n++) {
        const suffix = kind === 'joliet' ? `~${n}` : String(n);
        const limit = maxStem(id);
        const candidate = stem.slice(0, Math.max(0, limit - suffix.length)) + suffix + tail;
        if (!used.has(key(candidate))) {
          id = candidate;
          break;
        }
        if (n > 1_000_000) throw new RangeError(`cannot make ${JSON.stringify(name)} unique`);
      }
    }
    used.add(key(id));
    out.push(id);
  }
  return out;
}

function splitForSuffix(id: string, kind: 'iso' | 'joliet'): { stem: string; tail: string } {
  if (kind === 'iso') {
    const dot = id.indexOf('.');
    return dot >= 0 ? { stem: id.slice(0, dot), tail: id.slice(dot) } : { stem: id, tail: '' };
  }
  const dot = id.lastIndexOf('.');
  return dot > 0 ? { stem: id.slice(0, dot), tail: id.slice(dot) } : { stem: id, tail: '' };
}

/** How long the stem (part before the extension) of an ISO identifier may be at `level`. */
export function isoStemLimit(id: string, isDirectory: boolean, level: IsoLevel): number {
  if (isDirectory) return level === 1 ? 8 : 31;
  const { ext } = splitIdentifier(id);
  return level === 1 ? 8 : 30 - ext.length;
}

/** How long the stem of a Joliet identifier may be. */
export function jolietStemLimit(id: string): number {
  const dot = id.lastIndexOf('.');
  return 64 - (dot > 0 ? id.length - dot : 0);
}

/** Encodes a Joliet identifier as UCS-2 big-endian bytes. */
export function encodeUcs2(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[2 * i] = c >> 8;
    out[2 * i + 1] = c & 0xff;
  }
  return out;
}

/** Decodes UCS-2 big-endian bytes (an odd trailing byte is ignored). */
export function decodeUcs2(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
  return out;
}
