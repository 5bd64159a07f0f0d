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
// The linker's own name, as GNU ld prints it before a message (`/usr/bin/ld: `, `x86_64-elf-ld: `). The
// folder belongs to that name only: a message without it starts with the source's own absolute path.
const LD_TOOL = String.raw`(?:(?:\S*\/)?(?:[\w.]+-)?ld[\w.]*: )?`;
// `file:line:`, `file:(.text+0x5):` or `(.text+0x5):` before a GNU ld message.
const LD_WHERE = String.raw`(?:([^\s()][^()]*?):)?(?:(\d+)|\(([^)]*)\)):?`;
const LD_IN_FUNCTION = new RegExp(String.raw`^${LD_TOOL}(.+?): in function [\x60'‘](.+?)['’]:$`);
const GNU_UNDEF = new RegExp(String.raw`^${LD_TOOL}${LD_WHERE} undefined reference to [\x60'‘](.+?)['’]$`);
const GNU_RELOC = new RegExp(String.raw`^${LD_TOOL}${LD_WHERE} (relocation truncated to fit: (R_\w+) .*)$`);
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
  // GCC quotes names with ‘ ’ in UTF-8 locales: one quote style for the rules.
  const lines = stripAnsi(text).replace(/\r/g, '').replace(/[‘’]/g, "'").split('\n');
  const parser = new DiagnosticParser(options);
  for (let i = 0; i < lines.length; i++) parser.feed(lines[i]!, lines[i + 1]);
  return parser.out
    .filter((d) => d.message !== '' || d.tool === 'cmake')
    .map((d) => (d.tool === 'cmake' && d.message === '' ? { ...d, message: `${d.code ?? 'CMake'} failed` } : d));
}

/** `{ step }` when the options name one, spread into every diagnostic. */
type StepField = { step: string } | Record<string, never>;

/**
 * The line-by-line parser. Some formats span lines (lld's `>>>` lines, CMake's indented body,
 * rustc's `-->` location, include chains, GNU ld's `in function` line): it keeps what the
 * following lines continue. Each `read*` method consumes the line (true) or leaves it to the next.
 */
class DiagnosticParser {
  readonly out: Diagnostic[] = [];
  private readonly cc: DiagnosticTool;
  private readonly step: StepField;
  private includeChain: string[] = [];
  private inFunction: { object: string; fn: string } | undefined;
  private lld: Diagnostic | undefined;
  private lldSkip = false;
  private prevWasInclude = false;
  private gccDepth = 0;
  private rust: Diagnostic | undefined;
  private cmake: Diagnostic | undefined;
  /** The last C error/warning: notes that follow belong to it. */
  private lastOwner: Diagnostic | undefined;

  constructor(private readonly options: ParseOptions) {
    this.cc = options.compiler ?? 'cc';
    this.step = options.step ? { step: options.step } : {};
  }

  feed(line: string, next: string | undefined): void {
    if (this.readRustJson(line) || this.readLldContinuation(line) || this.readCmakeBody(line, next)) return;
    if (this.readRustLocation(line) || this.readInclude(line)) return;
    this.prevWasInclude = false;
    this.gccDepth = 0;
    if (DRIVER_SUMMARY.test(line)) return;
    if (this.readInFunction(line) || this.readGnuUndefined(line) || this.readGnuReloc(line)) return;
    if (this.readLinker(line) || this.readCmakeHead(line) || this.readNasmFatal(line) || this.readDriver(line)) return;
    if (this.readCDiagnostic(line) || this.readLineDiagnostic(line)) return;
    this.readRustHead(line);
  }

  /** A JSON message from cargo/rustc. */
  private readRustJson(line: string): boolean {
    if (!line.startsWith('{') || !line.includes('"message"')) return false;
    const d = parseRustJsonLine(line);
    if (d) this.out.push({ ...d, ...this.step });
    return true;
  }

  /** ld.lld's `>>>` lines after its error: references, the definition, a `did you mean`. */
  private readLldContinuation(line: string): boolean {
    const lld = this.lld;
    if (!lld || !line.startsWith('>>>')) {
      this.lld = undefined;
      return false;
    }
    const hint = /^>>> did you mean: (.+)$/.exec(line);
    if (hint) {
      lld.suggestion = hint[1]!.trim();
      this.lldSkip = true;
      return true;
    }
    if (/^>>> referenced by /.test(line)) this.lldSkip = false;
    if (this.lldSkip || /^>>> (defined (in|at)|referenced \d+ more times)/.test(line)) return true;
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
    return true;
  }

  /** CMake message body: indented lines until a blank line that is followed by a non-indented one. */
  private readCmakeBody(line: string, next: string | undefined): boolean {
    const cmake = this.cmake;
    if (!cmake) return false;
    if (/^\s+\S/.test(line)) {
      cmake.message = cmake.message ? `${cmake.message} ${line.trim()}` : line.trim();
      return true;
    }
    if (line.trim() === '' && (next ?? '').startsWith('  ')) return true;
    this.cmake = undefined;
    return false;
  }

  /** Rust rendered text: the location line follows the header. */
  private readRustLocation(line: string): boolean {
    const rust = this.rust;
    if (!rust) return false;
    const m = RUST_LOC.exec(line);
    if (m) {
      rust.file = m[1]!;
      rust.line = Number(m[2]);
      rust.column = Number(m[3]);
      this.rust = undefined;
      return true;
    }
    if (line.trim() !== '' && !/^\s*\|/.test(line)) this.rust = undefined;
    return false;
  }

  /**
   * clang: one `In file included from` line per level, outermost first; GCC: the innermost
   * first, then `from` lines. includeChain is kept outermost first.
   */
  private readInclude(line: string): boolean {
    let m: RegExpExecArray | null;
    if ((m = INCLUDED_FIRST.exec(line))) {
      if (!this.prevWasInclude) this.includeChain = [];
      this.includeChain.push(`${m[1]}:${m[2]}`);
      this.prevWasInclude = true;
      return true;
    }
    if (this.includeChain.length && (m = INCLUDED_MORE.exec(line))) {
      this.includeChain.splice(this.includeChain.length - this.gccDepth - 1, 0, `${m[1]}:${m[2]}`);
      this.gccDepth++;
      this.prevWasInclude = true;
      return true;
    }
    return false;
  }

  /** GNU ld's `obj.o: in function 'f':`, which names the referrer of the lines that follow. */
  private readInFunction(line: string): boolean {
    const m = LD_IN_FUNCTION.exec(line);
    if (!m) return false;
    this.inFunction = { object: m[1]!, fn: m[2]! };
    return true;
  }

  /** The referrer from a preceding `in function` line. */
  private referrer(): string[] | undefined {
    return this.inFunction ? [`${this.inFunction.fn} (${this.inFunction.object})`] : undefined;
  }

  private readGnuUndefined(line: string): boolean {
    const m = GNU_UNDEF.exec(line);
    if (!m) return false;
    const d: Diagnostic = {
      tool: 'ld',
      severity: 'error',
      code: 'undefined-reference',
      message: `undefined reference to \`${m[4]}'`,
      symbol: m[4]!,
      ...this.step,
    };
    const file = m[1] ?? this.inFunction?.object;
    if (file) d.file = file;
    if (m[2]) d.line = Number(m[2]);
    d.referencedBy = this.referrer() ?? [m[3] ? `${file ?? ''}:(${m[3]})` : (file ?? '')];
    this.out.push(d);
    return true;
  }

  private readGnuReloc(line: string): boolean {
    const m = GNU_RELOC.exec(line);
    if (!m) return false;
    const d: Diagnostic = { tool: 'ld', severity: 'error', code: m[5]!, message: m[4]!, ...this.step };
    const file = m[1] ?? this.inFunction?.object;
    if (file) d.file = file;
    if (m[2]) d.line = Number(m[2]);
    const target = /against (?:symbol )?[`'‘]([^'’]+)['’]/.exec(m[4]!);
    if (target) d.symbol = target[1]!;
    const referrer = this.referrer();
    if (referrer) d.referencedBy = referrer;
    this.out.push(d);
    return true;
  }

  /** `ld: error: ...` / `ld.lld: error: ...`: undefined symbols, relocations, a file or linker-script location. */
  private readLinker(line: string): boolean {
    const m = LD_PREFIX.exec(line);
    if (!m) return false;
    const message = m[2]!;
    const d: Diagnostic = { tool: 'ld', severity: severityOf(m[1]!), message, ...this.step };
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
    this.out.push(d);
    this.lld = d;
    this.lldSkip = false;
    return true;
  }

  private readCmakeHead(line: string): boolean {
    let m: RegExpExecArray | null;
    if ((m = CMAKE_AT.exec(line))) {
      this.cmake = {
        tool: 'cmake',
        severity: m[1] === 'Error' ? 'error' : 'warning',
        file: m[2]!,
        line: Number(m[3]),
        code: m[4]!,
        message: '',
        ...this.step,
      };
    } else if ((m = CMAKE_PLAIN.exec(line))) {
      this.cmake = {
        tool: 'cmake',
        severity: m[1] === 'Error' ? 'error' : 'warning',
        message: m[2]!.trim(),
        ...this.step,
      };
    } else return false;
    this.out.push(this.cmake);
    return true;
  }

  private readNasmFatal(line: string): boolean {
    const m = NASM_FATAL.exec(line);
    if (!m) return false;
    this.out.push({
      tool: 'nasm',
      severity: severityOf(m[1]!),
      ...(m[1] === 'fatal' ? { code: 'fatal' } : {}),
      message: m[2]!,
      ...this.step,
    });
    return true;
  }

  /** The compiler driver's own messages (`clang: error: ...`). */
  private readDriver(line: string): boolean {
    const m = DRIVER.exec(line);
    if (!m) return false;
    this.out.push({
      tool: m[1]!.startsWith('clang') ? 'clang' : 'gcc',
      severity: severityOf(m[2]!),
      message: m[3]!,
      ...this.step,
    });
    return true;
  }

  /** `file:line:col: severity: message [-Wflag]`; a note joins the error or warning before it. */
  private readCDiagnostic(line: string): boolean {
    const m = C_DIAG.exec(line);
    if (!m) return false;
    const d: Diagnostic = {
      tool: ASM_EXT.test(m[1]!) ? 'nasm' : this.cc,
      file: m[1]!,
      line: Number(m[2]),
      column: Number(m[3]),
      severity: severityOf(m[4]!),
      message: m[5]!,
      ...this.step,
    };
    const flag = FLAG_SUFFIX.exec(d.message);
    if (flag) {
      d.code = flag[1]!
        .split(',')
        .filter((f) => f !== '-Werror')
        .pop()!;
      d.message = d.message.slice(0, flag.index);
    } else if (m[4] === 'fatal error') d.code = 'fatal';
    if (flag && /(^|,)-Werror(,|=|$)/.test(flag[1]!)) d.promoted = true;
    if (d.severity === 'note') {
      this.includeChain = [];
      const owner = this.lastOwner;
      if (owner) {
        (owner.notes ??= []).push({ file: d.file!, line: d.line!, message: d.message });
        return true;
      }
    } else {
      if (this.includeChain.length) d.includedFrom = this.includeChain;
      this.includeChain = [];
      this.inFunction = undefined;
      this.lastOwner = d;
    }
    this.out.push(d);
    return true;
  }

  /** `file:line: severity: message`: NASM, gas, or a compiler without columns. */
  private readLineDiagnostic(line: string): boolean {
    const m = LINE_DIAG.exec(line);
    if (!m || /^\s/.test(line)) return false;
    const asm = this.options.compiler === undefined || ASM_EXT.test(m[1]!) || /\.s$/i.test(m[1]!);
    const d: Diagnostic = {
      tool: asm ? 'nasm' : this.cc,
      file: m[1]!,
      line: Number(m[2]),
      severity: severityOf(m[3]!),
      message: m[4]!,
      ...this.step,
    };
    const flag = FLAG_SUFFIX.exec(d.message);
    if (flag) {
      d.code = flag[1]!;
      d.message = d.message.slice(0, flag.index);
    }
    this.out.push(d);
    return true;
  }

  /** rustc's rendered `error[E0308]: message` (its summary lines are not diagnostics). */
  private readRustHead(line: string): boolean {
    const m = RUST_HEAD.exec(line);
    if (
      !m ||
      /^error: (could not compile|aborting due to)/.test(line) ||
      /^warning: (`[^`]+` \(\w+\) generated \d+ warnings?|build failed)/.test(line)
    )
      return false;
    this.rust = {
      tool: 'rustc',
      severity: severityOf(m[1]!),
      message: m[3]!,
      ...(m[2] ? { code: m[2] } : {}),
      ...this.step,
    };
    this.out.push(this.rust);
    return true;
  }
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
export function dedupeDiagnostics<T extends Diagnostic>(list: T[]): T[] {
  const seen = new Map<string, T>();
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
