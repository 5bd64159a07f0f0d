// Parsers for what the reference tools print: binutils `readelf --wide` and `llvm-readobj` (LLVM style).
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/** Runs a tool, requires exit 0 and no warnings/errors on stderr; returns stdout. */
export function clean(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000, maxBuffer: 512 << 20 });
  expect(r.error, `${argv.join(' ')} could not run`).toBeUndefined();
  expect(r.stderr, `${argv.join(' ')} printed on stderr`).toBe('');
  expect(r.status, `${argv.join(' ')} exit code\n${r.stdout}`).toBe(0);
  return r.stdout;
}

/** Numbers as readobj prints them: `SHT_NOTE (0x7)` -> 7, `0x194` -> 0x194, `36` -> 36. */
export function num(text: string): bigint {
  const paren = /\((0x[0-9A-Fa-f]+)\)\s*$/.exec(text);
  if (paren) return BigInt(paren[1]!);
  const t = text.trim();
  if (/^0x[0-9A-Fa-f]+$/.test(t)) return BigInt(t);
  if (/^-?\d+$/.test(t)) return BigInt(t);
  throw new Error(`not a number: ${text}`);
}

/** The `Name { Key: value ... }` blocks of llvm-readobj output; `Flags [ (0x6)` becomes Flags: '(0x6)'. */
export function llvmBlocks(text: string, block: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  let current: Record<string, string> | undefined;
  let depth = 0;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!current) {
      if (t === `${block} {`) {
        current = {};
        depth = 1;
      }
      continue;
    }
    if (t.endsWith('{') || t.endsWith('[')) {
      depth++;
      continue;
    }
    if (t.startsWith('Magic:')) continue;
    const flags = /^(\w+) \[ (\(0x[0-9A-Fa-f]+\))$/.exec(t);
    if (flags) {
      if (depth === 1) current[flags[1]!] = flags[2]!;
      depth++;
      continue;
    }
    if (t === '}' || t === ']') {
      depth--;
      if (depth === 0) {
        out.push(current);
        current = undefined;
      }
      continue;
    }
    const kv = /^([\w/]+): ?(.*)$/.exec(t);
    // Keys of nested blocks (ElfHeader > Ident) are kept too when the outer block has no such key.
    if (kv && (depth === 1 || !(kv[1]! in current))) current[kv[1]!] = kv[2]!;
  }
  return out;
}

/** `readelf -h`: Key -> value. */
export function readelfHeader(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s{2}([^:]+):\s+(.*)$/.exec(line);
    if (m) out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

export interface ReadelfSection {
  index: number;
  name: string;
  type: string;
  addr: bigint;
  off: number;
  size: number;
  es: number;
  flags: string;
  lk: number;
  inf: number;
  al: number;
}
/** `readelf -S --wide` section table. */
export function readelfSections(text: string): ReadelfSection[] {
  const out: ReadelfSection[] = [];
  const re =
    /^\s*\[\s*(\d+)\] (.*?)\s*(\S+)\s+([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+) +([A-Za-z]*) +(\d+) +(\d+) +(\d+)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    out.push({
      index: Number(m[1]),
      name: m[2]!,
      type: m[3]!,
      addr: BigInt(`0x${m[4]}`),
      off: parseInt(m[5]!, 16),
      size: parseInt(m[6]!, 16),
      es: parseInt(m[7]!, 16),
      flags: m[8]!,
      lk: Number(m[9]),
      inf: Number(m[10]),
      al: Number(m[11]),
    });
  }
  return out;
}

export interface ReadelfSegment {
  type: string;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: bigint;
  flags: string;
  align: bigint;
}
/** `readelf -l --wide` program headers. */
export function readelfSegments(text: string): ReadelfSegment[] {
  const out: ReadelfSegment[] = [];
  const re = /^\s+(\S+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) 0x([0-9a-f]+)$/;
  const reZeroAlign = /^\s+(\S+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) (0)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line) ?? reZeroAlign.exec(line);
    if (!m) continue;
    out.push({
      type: m[1]!,
      offset: parseInt(m[2]!, 16),
      vaddr: BigInt(`0x${m[3]}`),
      paddr: BigInt(`0x${m[4]}`),
      filesz: parseInt(m[5]!, 16),
      memsz: BigInt(`0x${m[6]}`),
      flags: m[7]!,
      align: m[8] === '0' ? 0n : BigInt(`0x${m[8]}`),
    });
  }
  return out;
}

export interface ReadelfSymbol {
  table: string;
  index: number;
  value: bigint;
  size: bigint;
  type: string;
  bind: string;
  vis: string;
  ndx: string;
  name: string;
  /** The name as printed, with `@VERSION` / `@@VERSION` (the ` (n)` index removed). */
  printed: string;
}
/** `readelf -s --wide`: every symbol of every table (version suffixes `@...` removed from names). */
export function readelfSymbols(text: string): ReadelfSymbol[] {
  const out: ReadelfSymbol[] = [];
  let table = '';
  for (const line of text.split('\n')) {
    const t = /^Symbol table '([^']+)'/.exec(line);
    if (t) {
      table = t[1]!;
      continue;
    }
    const m = /^\s*(\d+): ([0-9a-f]+)\s+(0x[0-9a-f]+|\d+) (\S+)\s+(\S+)\s+(\S+)(?:\s+\[[^\]]*\])?\s+(\S+) ?(.*)$/.exec(
      line,
    );
    if (!m) continue;
    out.push({
      table,
      index: Number(m[1]),
      value: BigInt(`0x${m[2]}`),
      size: BigInt(m[3]!),
      type: m[4]!,
      bind: m[5]!,
      vis: m[6]!,
      ndx: m[7]!,
      // readelf appends the symbol version to .dynsym names (`puts@GLIBC_2.2.5 (2)`); .symtab names are printed as stored.
      name: table === '.dynsym' ? m[8]!.replace(/ \(\d+\)$/, '').replace(/@.*$/, '') : m[8]!,
      printed: m[8]!.replace(/ \(\d+\)$/, ''),
    });
  }
  return out;
}

export interface ReadelfNote {
  source: string;
  owner: string;
  size: number;
  description: string;
  buildId?: string;
}
/** `readelf -n --wide`. */
export function readelfNotes(text: string): ReadelfNote[] {
  const out: ReadelfNote[] = [];
  let source = '';
  for (const line of text.split('\n')) {
    const s = /^Displaying notes found (?:in|at file offset): (\S+)/.exec(line);
    if (s) {
      source = s[1]!;
      continue;
    }
    const m = /^\s{2}(\S+)\s+0x([0-9a-f]{8})\t(.*)$/.exec(line);
    if (m) {
      out.push({ source, owner: m[1]!, size: parseInt(m[2]!, 16), description: m[3]! });
      const id = /Build ID: ([0-9a-f]+)/.exec(m[3]!);
      if (id) out[out.length - 1]!.buildId = id[1];
      continue;
    }
    const id = /^\s+Build ID: ([0-9a-f]+)/.exec(line);
    if (id && out.length) out[out.length - 1]!.buildId = id[1];
  }
  return out;
}

export interface ReadelfDynamic {
  tag: bigint;
  name: string;
  value: string;
}
/** `readelf -d --wide`. */
export function readelfDynamic(text: string): ReadelfDynamic[] {
  const out: ReadelfDynamic[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*0x([0-9a-f]+) \((\w+)\)\s+(.*)$/.exec(line);
    if (m) out.push({ tag: BigInt(`0x${m[1]}`), name: m[2]!, value: m[3]!.trim() });
  }
  return out;
}
