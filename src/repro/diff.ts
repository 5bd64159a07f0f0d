/**
 * Format-aware comparison of two builds' outputs, in the spirit of diffoscope but in-process and
 * with kiln's own readers: an ELF difference is named by section (and for string-bearing sections
 * by the differing strings), a difference inside a CPIO/FAT/ISO image or a GPT/MBR disk by member
 * path, field or partition, recursively; anything else by byte offset and the printable strings
 * that differ.
 */
import { isElf } from '../formats/detect.js';
import { readElf, type ElfFile, type ElfSection } from '../formats/elf/index.js';
import { openContainer, type Container } from './members.js';

/** One explained difference between the two sides. */
export interface Difference {
  /** Where, outermost first: the output file, then members, partitions, sections. */
  where: string[];
  /** What differs, in words. */
  what: string;
  /** The first differing byte offset within the innermost `where`, when known. */
  offset?: number;
  /** Values or strings present only on side A / only on side B. */
  onlyA?: string[];
  onlyB?: string[];
}

export interface CompareOptions {
  /** Most differences reported for one output (default 40). */
  maxDifferences?: number;
  /** Most strings listed per side for one difference (default 6). */
  maxStrings?: number;
}

interface Limits {
  maxDifferences: number;
  maxStrings: number;
}

const MAX_NESTING = 5;
const MIN_STRING = 4;
const BINARY_MIN_STRING = 12;
const SHT_STRTAB = 3;
const SHF_STRINGS = 0x20;

/** A section of NUL-terminated strings (string tables, .debug_str, .comment). */
function isStringSection(section: ElfSection): boolean {
  return section.type === SHT_STRTAB || (section.flags & SHF_STRINGS) !== 0;
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The first offset at which `a` and `b` differ (the shorter length when one is a prefix). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  // Compare in 64 KiB blocks first: Buffer.compare is native.
  const block = 65536;
  let i = 0;
  while (i + block <= n && Buffer.compare(a.subarray(i, i + block), b.subarray(i, i + block)) === 0) i += block;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The printable ASCII runs of at least four characters in `bytes` (as `strings` prints them). */
export function printableStrings(bytes: Uint8Array, minLength = MIN_STRING): Set<string> {
  const found = new Set<string>();
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const c = i < bytes.length ? bytes[i]! : 0;
    const printable = c >= 0x20 && c < 0x7f;
    if (printable && start < 0) start = i;
    if (!printable && start >= 0) {
      if (i - start >= minLength) found.add(Buffer.from(bytes.subarray(start, i)).toString('latin1'));
      start = -1;
    }
  }
  return found;
}

/** Strings found on one side only, at most `max` per side. */
function stringDelta(
  a: Uint8Array,
  b: Uint8Array,
  max: number,
  minLength: number,
): { onlyA: string[]; onlyB: string[] } {
  const sa = printableStrings(a, minLength);
  const sb = printableStrings(b, minLength);
  const onlyA = [...sa].filter((s) => !sb.has(s)).slice(0, max);
  const onlyB = [...sb].filter((s) => !sa.has(s)).slice(0, max);
  return { onlyA, onlyB };
}

/** A difference between two unstructured byte arrays: offset, sizes and the strings that differ. */
function rawDifference(
  a: Uint8Array,
  b: Uint8Array,
  where: string[],
  label: string,
  limits: Limits,
  minString = MIN_STRING,
): Difference {
  const offset = firstDifference(a, b);
  const sizes = a.length === b.length ? `${a.length} bytes each` : `${a.length} vs ${b.length} bytes`;
  const { onlyA, onlyB } = stringDelta(a, b, limits.maxStrings, minString);
  return {
    where,
    what: `${label} differ from offset 0x${offset.toString(16)} (${sizes})`,
    offset,
    ...(onlyA.length ? { onlyA } : {}),
    ...(onlyB.length ? { onlyB } : {}),
  };
}

function tryReadElf(bytes: Uint8Array): ElfFile | undefined {
  try {
    return readElf(bytes);
  } catch {
    return undefined;
  }
}

/** Sections keyed by name, with `#2`, `#3` for repeated names (relocation sections of one name). */
function sectionsByName(elf: ElfFile): Map<string, ElfSection> {
  const map = new Map<string, ElfSection>();
  for (const section of elf.sections) {
    if (section.index === 0) continue;
    let key = section.name || `[${section.index}]`;
    for (let n = 2; map.has(key); n++) key = `${section.name}#${n}`;
    map.set(key, section);
  }
  return map;
}

function compareElfHeaders(a: ElfFile, b: ElfFile, where: string[]): Difference[] {
  const fields: Array<[string, unknown, unknown]> = [
    ['entry point', a.header.entry, b.header.entry],
    ['type', a.header.type, b.header.type],
    ['machine', a.header.machine, b.header.machine],
    ['program headers', a.segments.length, b.segments.length],
  ];
  return fields
    .filter(([, x, y]) => x !== y)
    .map(([name, x, y]) => ({ where, what: `ELF ${name} differs`, onlyA: [String(x)], onlyB: [String(y)] }));
}

function compareElf(a: ElfFile, b: ElfFile, where: string[], limits: Limits): Difference[] {
  const out = compareElfHeaders(a, b, where);
  const sa = sectionsByName(a);
  const sb = sectionsByName(b);
  for (const name of sa.keys())
    if (!sb.has(name)) out.push({ where: [...where, name], what: 'section only in build A' });
  for (const name of sb.keys())
    if (!sa.has(name)) out.push({ where: [...where, name], what: 'section only in build B' });
  for (const [name, x] of sa) {
    const y = sb.get(name);
    if (!y || sameBytes(x.data, y.data)) continue;
    // In binary sections short printable runs are noise (offsets, opcodes): list longer strings only.
    const minString = isStringSection(x) ? MIN_STRING : BINARY_MIN_STRING;
    out.push(
      rawDifference(x.data, y.data, [...where, name], `section ${name} (${x.typeName}) contents`, limits, minString),
    );
  }
  if (out.length === 0) {
    // Every section matches: the difference is in the headers or the layout between sections.
    out.push({ where, what: 'ELF headers or padding between sections differ (every section is identical)' });
  }
  return out;
}

function compareFields(
  a: Record<string, string | number>,
  b: Record<string, string | number>,
  where: string[],
  label: string,
): Difference[] {
  const out: Difference[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[key] !== b[key])
      out.push({
        where,
        what: `${label} ${key} differs`,
        onlyA: [String(a[key] ?? '(none)')],
        onlyB: [String(b[key] ?? '(none)')],
      });
  }
  return out;
}

async function compareContainers(
  a: Container,
  b: Container,
  where: string[],
  limits: Limits,
  depth: number,
): Promise<Difference[]> {
  const out = compareFields(a.fields, b.fields, where, a.format);
  const ma = new Map(a.members.map((m) => [m.path, m]));
  const mb = new Map(b.members.map((m) => [m.path, m]));
  for (const path of ma.keys())
    if (!mb.has(path)) out.push({ where: [...where, path], what: `${ma.get(path)!.kind} only in build A` });
  for (const path of mb.keys())
    if (!ma.has(path)) out.push({ where: [...where, path], what: `${mb.get(path)!.kind} only in build B` });
  for (const [path, x] of ma) {
    if (out.length >= limits.maxDifferences) break;
    const y = mb.get(path);
    if (!y) continue;
    out.push(...compareFields(x.meta, y.meta, [...where, path], x.kind));
    if (x.read && y.read) {
      const [bytesA, bytesB] = await Promise.all([x.read(), y.read()]);
      out.push(...(await compareNested(bytesA, bytesB, [...where, path], limits, depth + 1)));
    }
  }
  if (out.length === 0) out.push({ where, what: `${a.format}: every member matches; the bytes between them differ` });
  return out;
}

async function compareNested(
  a: Uint8Array,
  b: Uint8Array,
  where: string[],
  limits: Limits,
  depth: number,
): Promise<Difference[]> {
  if (sameBytes(a, b)) return [];
  if (depth < MAX_NESTING && isElf(a) && isElf(b)) {
    const ea = tryReadElf(a);
    const eb = tryReadElf(b);
    if (ea && eb) return compareElf(ea, eb, where, limits);
  }
  if (depth < MAX_NESTING) {
    const [ca, cb] = await Promise.all([openContainer(a), openContainer(b)]);
    if (ca && cb && ca.format === cb.format) {
      const nested = await compareContainers(ca, cb, where, limits, depth);
      // A container whose members and fields all match but whose bytes differ: say where.
      if (nested.length === 1 && nested[0]!.what.includes('every member matches'))
        return [rawDifference(a, b, where, 'bytes', limits)];
      return nested;
    }
  }
  return [rawDifference(a, b, where, 'bytes', limits)];
}

/**
 * Explains how two versions of one output differ; an empty list when the bytes are identical.
 * `name` is the output's path, the first element of every difference's `where`.
 */
export async function compareOutputs(
  a: Uint8Array,
  b: Uint8Array,
  name: string,
  options: CompareOptions = {},
): Promise<Difference[]> {
  const limits: Limits = { maxDifferences: options.maxDifferences ?? 40, maxStrings: options.maxStrings ?? 6 };
  const found = await compareNested(a, b, [name], limits, 0);
  return found.slice(0, limits.maxDifferences);
}
