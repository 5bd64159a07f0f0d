/**
 * Compiler, assembler and linker diagnostics → one record shape.
 *
 * Formats read (from the tools' own documentation and real output):
 * - GCC / Clang: `file:line:col: error|warning|note|fatal error: message [-Wflag]` (GCC manual
 *   "Diagnostic Message Formatting Options"; clang's default text diagnostics), with the
 *   `In file included from a.c:3:` / `from b.h:2:` chain that precedes a diagnostic.
 * - rustc / cargo: `--message-format=json` lines (`{"reason":"compiler-message","message":{...}}`,
 *   rustc's JSON diagnostic format: level, code.code, spans[].file_name/line_start/column_start,
 *   is_primary) and the plain rendered text (`error[E0308]: msg` + `  --> file:line:col`).
 * - Zig: `file:line:col: error: msg` (same shape as clang, tool = zig).
 * - NASM: `file:line: error: msg` / `file:line: warning: msg [-w+flag]`, `nasm: fatal: msg`.
 * - GNU ld: `file.o: in function 'f':` + `file.c:(.text+0x5): undefined reference to 'sym'`,
 *   `relocation truncated to fit: R_X86_64_32 against ...`.
 * - ld.lld: `ld.lld: error: undefined symbol: sym` + `>>> referenced by file.c:5` / `>>> obj.o:(func)`,
 *   `ld.lld: error: file.o:(.text+0x1): relocation R_X86_64_32 out of range: ...`.
 * - CMake: `CMake Error at path/CMakeLists.txt:12 (add_executable):` + indented message lines.
 */
import { PROJECT_PREFIX } from '../toolchain/path-map.js';

/** The tool a diagnostic came from. */
export type DiagnosticTool = 'clang' | 'gcc' | 'cc' | 'rustc' | 'zig' | 'nasm' | 'ld' | 'cmake';
/** A diagnostic's severity as the tool printed it. */
export type Severity = 'error' | 'warning' | 'note';

/** One compiler, assembler or linker message, parsed: tool, file, line, column, severity, code, text. */
export interface Diagnostic {
  tool: DiagnosticTool;
  /** Source path as the tool printed it (made project-relative by {@link relativizeDiagnostics}). */
  file?: string;
  line?: number;
  column?: number;
  severity: Severity;
  /** Tool code: `-Wunused-variable`, `E0308`, `R_X86_64_32`, `fatal`. */
  code?: string;
  message: string;
  /** Linker: the undefined symbol. */
  symbol?: string;
  /** Linker: who references the symbol (function or file:line). */
  referencedBy?: string[];
  /** Linker: lld's `did you mean:` guess. */
  suggestion?: string;
  /** C preprocessor: the include chain, outermost first (`a.c:3`). */
  includedFrom?: string[];
  /** The kiln step whose output held this diagnostic. */
  step?: string;
  /** Notes the compiler attached (`previous definition is here`, `forward declaration of ...`). */
  notes?: Array<{ file?: string; line?: number; message: string }>;
  /** An error that is a warning made fatal (`[-Werror,-Wflag]`). */
  promoted?: boolean;
}

/** Options of `parseDiagnostics`: which compiler printed the output, which step ran it. */
export interface ParseOptions {
  /** What compiled: decides clang vs gcc vs zig for the shared `file:line:col:` format. */
  compiler?: 'clang' | 'gcc' | 'cc' | 'zig';
  step?: string;
}

const C_DIAG = /^(.+?):(\d+):(\d+): (fatal error|error|warning|note|remark): (.*)$/;
const LINE_DIAG = /^(.+?):(\d+): (fatal error|error|warning|note|panic|Error|Warning): (.*)$/;
const INCLUDED_FIRST = /^In file included from (.+?):(\d+)(?::\d+)?[:,]$/;
const INCLUDED_MORE = /^\s+from (.+?):(\d+)(?::\d+)?[:,]$/;
const FLAG_SUFFIX = / \[(-W[^\]]+|-w[+-][^\]]+)\]$/;
const ASM_EXT = /\.(asm|nasm|inc|mac)$/i;

const LD_PREFIX =
  /^(?:\S*\/)?(?:ld(?:\.bfd|\.gold)?|ld\.lld|ld64\.lld|lld|rust-lld|x86_64-[\w-]*ld|aarch64-[\w-]*ld)(?:\.exe)?: (error|warning): (.*)$/;
const LD_IN_FUNCTION = /^(?:\S*\/)?(?:ld[\w.]*: )?(.+?): in function [`'‘](.+?)['’]:$/;
const GNU_UNDEF =
  /^(?:\S*\/)?(?:ld[\w.]*: )?(?:([^\s()][^()]*?):)?(?:(\d+)|\(([^)]*)\)):? undefined reference to [`'‘](.+?)['’]$/;
const GNU_RELOC =
  /^(?:\S*\/)?(?:ld[\w.]*: )?(?:([^\s()][^()]*?):)?(?:(\d+)|\(([^)]*)\)):? (relocation truncated to fit: (R_\w+) .*)$/;
const LLD_REF = /^>>> (?:referenced by|defined at|defined in) (.*)$/;
const LLD_MORE = /^>>>\s+(.*)$/;
const RELOC_CODE = /\b(R_(?:X86_64|386|AARCH64|RISCV)_\w+)\b/;
const CMAKE_AT = /^CMake (Error|Warning)(?: \(dev\))? at (.+?):(\d+) \((\w+)\):\s*$/;
const CMAKE_PLAIN = /^CMake (Error|Warning)(?: \(dev\))?: (.*)$/;
const RUST_HEAD = /^(error|warning)(?:\[(E\d{4})\])?: (.*)$/;
const RUST_LOC = /^\s*--> (.+?):(\d+):(\d+)$/;
const NASM_FATAL = /^nasm: (fatal|error|warning): (.*)$/;
const DRIVER_SUMMARY =
  /^(?:clang(?:-\d+)?|gcc|cc|collect2|c\+\+|g\+\+): error: (?:linker command failed|ld returned \d+ exit status)/;
const DRIVER = /^(clang(?:-\d+)?|gcc|cc): (error|warning): (.*)$/;

function severityOf(word: string): Severity {
  word = word.toLowerCase();
  if (word === 'warning') return 'warning';
  if (word === 'note' || word === 'remark') return 'note';
  return 'error';
}

function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}

/**
 * Parses a tool's text output (any mix of the formats above) into diagnostics.
 *
 * @example
 * parseDiagnostics("kernel/fs/log.c:12:19: error: redefinition of 'log' as different kind of symbol", { compiler: 'clang' })
 * // [{ tool: 'clang', file: 'kernel/fs/log.c', line: 12, column: 19, severity: 'error', message: "redefinition of 'log' as different kind of symbol" }]
 */
export function parseDiagnostics(text: string, options: ParseOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  // GCC quotes names with ‘ ’ in UTF-8 locales: one quote style for the rules.
  const lines = stripAnsi(text).replace(/\r/g, '').replace(/[‘’]/g, "'").split('\n');
  const cc: DiagnosticTool = options.compiler ?? 'cc';
  const step = options.step ? { step: options.step } : {};
  let includeChain: string[] = [];
  let inFunction: { object: string; fn: string } | undefined;
  let lld: Diagnostic | undefined;
  let lldSkip = false;
  let prevWasInclude = false;
  let gccDepth = 0;
  let rust: Diagnostic | undefined;
  let cmake: Diagnostic | undefined;
  /** The last C error/warning: notes that follow belong to it. */
  let lastOwner: Diagnostic | undefined;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    // A JSON message from cargo/rustc.
    if (line.startsWith('{') && line.includes('"message"')) {
      const d = parseRustJsonLine(line);
      if (d) out.push({ ...d, ...step });
      continue;
    }
    // ld.lld continuation lines.
    if (lld && line.startsWith('>>>')) {
      const hint = /^>>> did you mean: (.+)$/.exec(line);
      if (hint) {
        lld.suggestion = hint[1]!.trim();
        lldSkip = true;
        continue;
      }
      if (/^>>> referenced by /.test(line)) lldSkip = false;
      if (lldSkip || /^>>> (defined (in|at)|referenced \d+ more times)/.test(line)) continue;
      const m = LLD_REF.exec(line) ?? LLD_MORE.exec(line);
      if (m) {
        const ref = m[1]!.trim();
        (lld.referencedBy ??= []).push(ref);
        const loc = /\((\/[^()]+):(\d+)\)$/.exec(ref) ?? /^([^\s()]+):(\d+)(?: \(|$)/.exec(ref);
        if (loc && (lld.file === undefined || /\.(o|obj)$/.test(lld.file))) {
          lld.file = loc[1]!;
          lld.line = Number(loc[2]);
        }
      }
      continue;
    }
    lld = undefined;
    // CMake message body: indented lines until a blank line that is followed by a non-indented one.
    if (cmake) {
      if (/^\s+\S/.test(line)) {
        cmake.message = cmake.message ? `${cmake.message} ${line.trim()}` : line.trim();
        continue;
      }
      if (line.trim() === '' && (lines[i + 1] ?? '').startsWith('  ')) continue;
      cmake = undefined;
    }
    // Rust rendered text: the location line follows the header.
    if (rust) {
      const m = RUST_LOC.exec(line);
      if (m) {
        rust.file = m[1]!;
        rust.line = Number(m[2]);
        rust.column = Number(m[3]);
        rust = undefined;
        continue;
      }
      if (line.trim() !== '' && !/^\s*\|/.test(line)) rust = undefined;
    }

    let m: RegExpExecArray | null;
    // clang: one `In file included from` line per level, outermost first; GCC: the innermost
    // first, then `from` lines. includeChain is kept outermost first.
    if ((m = INCLUDED_FIRST.exec(line))) {
      if (!prevWasInclude) includeChain = [];
      includeChain.push(`${m[1]}:${m[2]}`);
      prevWasInclude = true;
      continue;
    }
    if (includeChain.length && (m = INCLUDED_MORE.exec(line))) {
      includeChain.splice(includeChain.length - gccDepth - 1, 0, `${m[1]}:${m[2]}`);
      gccDepth++;
      prevWasInclude = true;
      continue;
    }
    prevWasInclude = false;
    gccDepth = 0;
    if (DRIVER_SUMMARY.test(line)) continue;
    if ((m = LD_IN_FUNCTION.exec(line))) {
      inFunction = { object: m[1]!, fn: m[2]! };
      continue;
    }
    if ((m = GNU_UNDEF.exec(line))) {
      const d: Diagnostic = {
        tool: 'ld',
        severity: 'error',
        code: 'undefined-reference',
        message: `undefined reference to \`${m[4]}'`,
        symbol: m[4]!,
        ...step,
      };
      const file = m[1] ?? inFunction?.object;
      if (file) d.file = file;
      if (m[2]) d.line = Number(m[2]);
      if (inFunction) d.referencedBy = [`${inFunction.fn} (${inFunction.object})`];
      else d.referencedBy = [m[3] ? `${file ?? ''}:(${m[3]})` : (file ?? '')];
      out.push(d);
      continue;
    }
    if ((m = GNU_RELOC.exec(line))) {
      const d: Diagnostic = { tool: 'ld', severity: 'error', code: m[5]!, message: m[4]!, ...step };
      const file = m[1] ?? inFunction?.object;
      if (file) d.file = file;
      if (m[2]) d.line = Number(m[2]);
      const target = /against (?:symbol )?[`'‘]([^'’]+)['’]/.exec(m[4]!);
      if (target) d.symbol = target[1]!;
      if (inFunction) d.referencedBy = [`${inFunction.fn} (${inFunction.object})`];
      out.push(d);
      continue;
    }
    if ((m = LD_PREFIX.exec(line))) {
      const message = m[2]!;
      const d: Diagnostic = { tool: 'ld', severity: severityOf(m[1]!), message, ...step };
      const undef = /^undefined (?:symbol|reference): (.+)$/.exec(message);
      if (undef) {
        d.symbol = undef[1]!.trim();
        d.code = 'undefined-reference';
      }
      const reloc = RELOC_CODE.exec(message);
      if (reloc && /relocation/.test(message)) {
        d.code = reloc[1]!;
        const target = /references (?:section )?'?([\w.$]+)'?\s*$|against (?:symbol )?[`'‘]([^'’]+)['’]/.exec(message);
        if (target) d.symbol = (target[1] ?? target[2])!;
      }
      // `ld.lld: error: obj.o:(.text+0x1): relocation ...` / `ld.lld: error: script.ld:3: ...`
      const at = /^([^\s:]+?\.(?:o|obj|a|ld|lds|x))(?::(\d+)|:\(([^)]*)\))?: (.*)$/.exec(message);
      if (at) {
        d.file = at[1]!;
        if (at[2]) d.line = Number(at[2]);
        if (at[3]) d.referencedBy = [`${at[1]}:(${at[3]})`];
        d.message = at[4]!;
        if (/\.(ld|lds|x)$/.test(at[1]!) && !d.code) d.code = 'linker-script';
      }
      out.push(d);
      lld = d;
      lldSkip = false;
      continue;
    }
    if ((m = CMAKE_AT.exec(line))) {
      cmake = {
        tool: 'cmake',
        severity: m[1] === 'Error' ? 'error' : 'warning',
        file: m[2]!,
        line: Number(m[3]),
        code: m[4]!,
        message: '',
        ...step,
      };
      out.push(cmake);
      continue;
    }
    if ((m = CMAKE_PLAIN.exec(line))) {
      cmake = { tool: 'cmake', severity: m[1] === 'Error' ? 'error' : 'warning', message: m[2]!.trim(), ...step };
      out.push(cmake);
      continue;
    }
    if ((m = NASM_FATAL.exec(line))) {
      out.push({
        tool: 'nasm',
        severity: severityOf(m[1]!),
        ...(m[1] === 'fatal' ? { code: 'fatal' } : {}),
        message: m[2]!,
        ...step,
      });
      continue;
    }
    if ((m = DRIVER.exec(line))) {
      out.push({
        tool: m[1]!.startsWith('clang') ? 'clang' : 'gcc',
        severity: severityOf(m[2]!),
        message: m[3]!,
        ...step,
      });
      continue;
    }
    if ((m = C_DIAG.exec(line))) {
      let message = m[5]!;
      const d: Diagnostic = {
        tool: ASM_EXT.test(m[1]!) ? 'nasm' : cc,
        file: m[1]!,
        line: Number(m[2]),
        column: Number(m[3]),
        severity: severityOf(m[4]!),
        message,
        ...step,
      };
      const flag = FLAG_SUFFIX.exec(message);
      if (flag) {
        d.code = flag[1]!
          .split(',')
          .filter((f) => f !== '-Werror')
          .pop()!;
        message = message.slice(0, flag.index);
        d.message = message;
      } else if (m[4] === 'fatal error') d.code = 'fatal';
      if (flag && /(^|,)-Werror(,|=|$)/.test(flag[1]!)) d.promoted = true;
      if (d.severity === 'note') {
        includeChain = [];
        const owner = lastOwner;
        if (owner) {
          (owner.notes ??= []).push({ file: d.file!, line: d.line!, message: d.message });
          continue;
        }
      } else {
        if (includeChain.length) d.includedFrom = includeChain;
        includeChain = [];
        inFunction = undefined;
        lastOwner = d;
      }
      out.push(d);
      continue;
    }
    if ((m = LINE_DIAG.exec(line)) && !/^\s/.test(line)) {
      let message = m[4]!;
      const asm = options.compiler === undefined || ASM_EXT.test(m[1]!) || /\.s$/i.test(m[1]!);
      const d: Diagnostic = {
        tool: asm ? 'nasm' : cc,
        file: m[1]!,
        line: Number(m[2]),
        severity: severityOf(m[3]!),
        message,
        ...step,
      };
      const flag = FLAG_SUFFIX.exec(message);
      if (flag) {
        d.code = flag[1]!;
        message = message.slice(0, flag.index);
        d.message = message;
      }
      out.push(d);
      continue;
    }
    if (
      (m = RUST_HEAD.exec(line)) &&
      !/^error: (could not compile|aborting due to)/.test(line) &&
      !/^warning: (`[^`]+` \(\w+\) generated \d+ warnings?|build failed)/.test(line)
    ) {
      rust = { tool: 'rustc', severity: severityOf(m[1]!), message: m[3]!, ...(m[2] ? { code: m[2] } : {}), ...step };
      out.push(rust);
      continue;
    }
  }
  return out
    .filter((d) => d.message !== '' || d.tool === 'cmake')
    .map((d) => (d.tool === 'cmake' && d.message === '' ? { ...d, message: `${d.code ?? 'CMake'} failed` } : d));
}

interface RustSpan {
  file_name: string;
  line_start: number;
  column_start: number;
  is_primary: boolean;
  expansion?: unknown;
}
interface RustMessage {
  message: string;
  code?: { code: string } | null;
  level: string;
  spans: RustSpan[];
  rendered?: string | null;
  children?: RustMessage[];
}

/** One cargo `--message-format=json` line (or a bare rustc `--error-format=json` line). */
function parseRustJsonLine(line: string): Diagnostic | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const v = value as { reason?: string; message?: RustMessage };
  const msg: RustMessage | undefined =
    v.reason === 'compiler-message'
      ? v.message
      : v.reason === undefined && typeof (value as RustMessage).level === 'string'
        ? (value as RustMessage)
        : undefined;
  if (!msg || typeof msg.message !== 'string' || typeof msg.level !== 'string') return undefined;
  if (/^(aborting due to|\d+ warnings? emitted|For more information)/.test(msg.message)) return undefined;
  const level = msg.level.startsWith('error') ? 'error' : msg.level === 'warning' ? 'warning' : 'note';
  if (level === 'note' && msg.level !== 'note') return undefined; // failure-note, help
  const spans = (Array.isArray(msg.spans) ? msg.spans : []).filter(
    (x): x is RustSpan =>
      !!x &&
      typeof x === 'object' &&
      typeof x.file_name === 'string' &&
      Number.isInteger(x.line_start) &&
      Number.isInteger(x.column_start),
  );
  const primary = spans.find((s) => s.is_primary) ?? spans[0];
  const d: Diagnostic = { tool: 'rustc', severity: level, message: msg.message };
  if (msg.code && typeof msg.code === 'object' && typeof msg.code.code === 'string') d.code = msg.code.code;
  if (primary) {
    d.file = primary.file_name;
    d.line = primary.line_start;
    d.column = primary.column_start;
  }
  return d;
}

/**
 * A stable identity for deduplication: the same message at the same place, whichever step printed it.
 *
 * @example
 * diagnosticKey({ tool: 'clang', severity: 'error', file: 'a.c', line: 3, message: 'x' }) // 'error|a.c|3||||x'
 */
export function diagnosticKey(d: Diagnostic): string {
  return [d.severity, d.file ?? '', d.line ?? '', d.column ?? '', d.code ?? '', d.symbol ?? '', d.message].join('|');
}

/**
 * Removes repeats (the same header warning printed for every file including it, the same
 * diagnostic printed by two steps), merging the linker's `referencedBy` lists.
 *
 * @example
 * dedupeDiagnostics([...parseDiagnostics(a), ...parseDiagnostics(b)])
 */
export function dedupeDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const seen = new Map<string, Diagnostic>();
  for (const d of list) {
    const key = diagnosticKey(d);
    const prev = seen.get(key);
    if (!prev) {
      seen.set(key, { ...d, ...(d.referencedBy ? { referencedBy: [...d.referencedBy] } : {}) });
      continue;
    }
    for (const r of d.referencedBy ?? []) if (!(prev.referencedBy ??= []).includes(r)) prev.referencedBy.push(r);
  }
  return [...seen.values()];
}

/**
 * Makes absolute file paths relative to the project folder (and strips `../` prefixes that point
 * back into it from a CMake build folder), so locations read `kernel/fs/log.c:12`.
 *
 * @example
 * relativizeDiagnostics(list, '/work/exov6', '/work/exov6/build/x86_64-debug/.kiln/work/cmake-kernel')
 */
export function relativizeDiagnostics(list: Diagnostic[], projectDir: string, cwd?: string): Diagnostic[] {
  const root = projectDir.replace(/\/+$/, '');
  const fix = (p: string): string => {
    let abs = p;
    // A debug-info path under kiln's path map names the project folder by its stand-in.
    if (p.startsWith(`${PROJECT_PREFIX}/`)) abs = normalize(`${root}/${p.slice(PROJECT_PREFIX.length + 1)}`);
    else if (!p.startsWith('/') && cwd) abs = normalize(`${cwd}/${p}`);
    if (abs === root) return '.';
    if (abs.startsWith(`${root}/`)) return abs.slice(root.length + 1);
    return p;
  };
  return list.map((d) => ({
    ...d,
    ...(d.file ? { file: fix(d.file) } : {}),
    ...(d.includedFrom ? { includedFrom: d.includedFrom.map((x) => fixLoc(x, fix)) } : {}),
    ...(d.notes ? { notes: d.notes.map((n) => (n.file ? { ...n, file: fix(n.file) } : n)) } : {}),
    ...(d.referencedBy
      ? {
          referencedBy: d.referencedBy.map((x) =>
            x.replace(/(^|\()(\/[^\s:()]+)/g, (_all, pre: string, path: string) => `${pre}${fix(path)}`),
          ),
        }
      : {}),
  }));
}

function fixLoc(loc: string, fix: (p: string) => string): string {
  const m = /^(.*?)(:\d+)$/.exec(loc);
  return m ? `${fix(m[1]!)}${m[2]}` : fix(loc);
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/**
 * `file:line` (or `file`, or the tool) for messages.
 *
 * @example
 * formatLocation({ tool: 'nasm', severity: 'error', file: 'boot.asm', line: 4, message: 'x' }) // 'boot.asm:4'
 */
export function formatLocation(d: Diagnostic): string {
  if (!d.file) return d.tool;
  return d.line !== undefined ? `${d.file}:${d.line}` : d.file;
}
