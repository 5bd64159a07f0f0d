/**
 * Diagnostics → causes. A rule table (first match wins; a project can put its own rules first)
 * names the class of each blocking error and warning, explains it, and gives a fix hint with
 * the diagnostic's own names filled in (`{symbol}`, `{name}`, `{file}`, `{other}`).
 */
import type { Diagnostic } from './diagnostics.js';

/** A rule of `kiln status`: a diagnostic pattern, the class it names and what to do about it. */
export interface ClassRule {
  /** Stable id: `redefinition`, `conflicting-builtin`, `undefined-reference`, ... */
  id: string;
  title: string;
  explanation: string;
  /** Fix hint; `{symbol}`, `{name}`, `{file}`, `{other}`, `{code}` are replaced from the diagnostic. */
  fix: string;
  /** Matches the message (and optionally the code). */
  pattern?: RegExp;
  code?: RegExp;
  tools?: Array<Diagnostic['tool']>;
  /** Extra test after the pattern matched. */
  when?: (d: Diagnostic, m: RegExpExecArray | null) => boolean;
  /** Fills `{name}`/`{other}` from the match and the notes. */
  fill?: (d: Diagnostic, m: RegExpExecArray | null) => Record<string, string>;
}

/** The class a diagnostic fell into, with its explanation and fix. */
export interface Classification {
  id: string;
  title: string;
  explanation: string;
  fix: string;
  /** Errors, and warnings promoted by policy, block the build. */
  blocking: boolean;
}

/** A project's own classification rules and the warnings it treats as blocking (`report` in the config). */
export interface ClassifyPolicy {
  /** Warning codes that block (`-Wimplicit-function-declaration`, or `*` for all warnings). */
  promoteWarnings?: string[];
  /** Project rules, tried before the built-in table. */
  rules?: ClassRule[];
}

/** Functions the C library (and compilers' builtins) already define: a global with one of these names clashes. */
export const LIBC_NAMES = new Set([
  'log',
  'log2',
  'log10',
  'exp',
  'pow',
  'sqrt',
  'sin',
  'cos',
  'tan',
  'floor',
  'ceil',
  'round',
  'fabs',
  'abs',
  'labs',
  'y0',
  'y1',
  'j0',
  'j1',
  'gamma',
  'remainder',
  'printf',
  'sprintf',
  'snprintf',
  'puts',
  'putchar',
  'malloc',
  'free',
  'calloc',
  'realloc',
  'memcpy',
  'memset',
  'memmove',
  'memcmp',
  'strlen',
  'strcpy',
  'strncpy',
  'strcmp',
  'strncmp',
  'strcat',
  'strchr',
  'index',
  'rindex',
  'time',
  'clock',
  'signal',
  'exit',
  'abort',
  'wait',
  'kill',
  'sleep',
  'open',
  'close',
  'read',
  'write',
  'link',
  'unlink',
  'dup',
  'select',
  'random',
  'div',
  'remove',
  'rename',
  'exec',
  'fork',
]);

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** The built-in rule table, most specific first. */
export const CLASS_RULES: ClassRule[] = [
  {
    id: 'conflicting-builtin',
    title: 'name clashes with a C library function',
    explanation:
      'A global variable or function uses the name of a standard library function (declared by a libc/math header or known to the compiler as a builtin), so the two declarations conflict.',
    fix: "rename the kernel's `{name}` (e.g. `fs_{name}`) and its uses, or stop including the header that declares {name}()",
    pattern:
      /(?:redefinition of '(\w+)' as different kind of symbol|incompatible redeclaration of library function '(\w+)'|built-in function '(\w+)' declared as non-function|conflicting types for built-in function '(\w+)'|'(\w+)' redeclared as different kind of symbol)/,
    when: (d, m) => {
      const name = m?.slice(1).find(Boolean) ?? '';
      if (!/redefinition of|redeclared as/.test(d.message)) return true;
      return (
        LIBC_NAMES.has(name) ||
        (d.notes ?? []).some((n) => /\b(math|stdlib|stdio|string|unistd)\.h$/.test(n.file ?? ''))
      );
    },
    fill: (_d, m) => ({ name: m?.slice(1).find(Boolean) ?? '' }),
  },
  {
    id: 'redefinition',
    title: 'redefinition / duplicate header',
    explanation:
      'The same type, function or macro is defined twice in one translation unit, typically because two copies of a header (with different include guards) are both included.',
    fix: 'keep one definition: {other}',
    pattern:
      /redefinition of|conflicting types for|redeclared as different kind|typedef redefinition|macro redefined|duplicate (?:member|case)|multiple definition of|duplicate symbol/,
    fill: (d) => {
      const prev = (d.notes ?? []).find((n) => /previous|here/.test(n.message));
      if (prev?.file && d.file && prev.file !== d.file && baseName(prev.file) === baseName(d.file)) {
        return {
          other: `${d.file} and ${prev.file} are two copies of one header; keep ${prev.file.includes('include/') ? prev.file : d.file}, remove the other (e.g. git mv it to .bak) and include the kept one`,
        };
      }
      if (prev?.file)
        return {
          other: `the first definition is at ${prev.file}${prev.line ? `:${prev.line}` : ''}; remove one, or guard the header with #pragma once`,
        };
      if (d.tool === 'ld')
        return {
          other: 'a symbol is defined in two objects; make one `static` or remove the duplicate source from the build',
        };
      return { other: 'remove the second definition or add an include guard / #pragma once' };
    },
  },
  {
    id: 'undefined-reference',
    title: 'undefined reference',
    explanation:
      'The linker found a call or use of a symbol that no object or library in the link defines: the source that defines it is not built, not linked, or spelled differently.',
    fix: "add the source file that defines `{symbol}` to the build (e.g. to the CMake target's sources), or link the library that provides it",
    pattern: /undefined (?:reference to|symbol)/,
    fill: (d) => ({ symbol: d.symbol ?? '' }),
  },
  {
    id: 'relocation',
    title: 'relocation / code-model mismatch',
    explanation:
      'Code uses 32-bit absolute addresses (R_X86_64_32/32S) for a symbol that is linked above 4 GiB (a higher-half kernel), or 32-bit code was assembled into a 64-bit object.',
    fix:
      'make {file} 64-bit clean: `{symbol}` is linked above 4 GiB, so use RIP-relative `lea {symbol}(%rip)` or `movabs $' +
      '{symbol}` instead of a 32-bit absolute address; or build the file only for i386 (exclude it from the x86_64 sources); C code needs -mcmodel=kernel',
    code: /^R_(?:X86_64|386|AARCH64)_/,
    pattern:
      /relocation (?:truncated to fit|R_\w+ out of range|R_\w+ against .* can ?not be used)|relocation .* out of range|32-bit absolute addressing is not supported in 64-bit mode/,
    fill: (d) => ({ file: d.file ?? 'the object', symbol: d.symbol ?? 'the symbol' }),
  },
  {
    id: 'incomplete-type',
    title: 'incomplete type',
    explanation:
      'A struct is only forward-declared where its size or members are needed: the header with its definition is not included (or the definition was never written).',
    fix: '{other}include the header that defines `struct {name}` in {file}, or add the definition',
    pattern:
      /incomplete (?:definition of )?type '(?:struct |union |enum )?(\w+)'|(?:variable|field) has incomplete type '(?:struct |union |enum )?(\w+)'|invalid application of 'sizeof' to an incomplete type '(?:struct |union )?(\w+)'|dereferencing pointer to incomplete type '(?:struct |union )?(\w+)'|invalid use of undefined type '(?:struct |union )?(\w+)'|has incomplete type/,
    fill: (d, m) => {
      const fwd = (d.notes ?? []).find((n) => /forward declaration/.test(n.message) && n.file);
      return {
        name: m?.slice(1).find(Boolean) ?? '',
        file: d.file ?? '',
        other: fwd ? `it is only forward-declared (${fwd.file}:${fwd.line}): ` : '',
      };
    },
  },
  {
    id: 'missing-include',
    title: 'missing include',
    explanation: 'An #include (or %include) names a file that is in none of the include paths.',
    fix: 'add the folder holding {name} to the include directories (target_include_directories), fix the path, or create the header',
    pattern:
      /'([^']+)' file not found|([^\s:]+\.h(?:pp)?): No such file or directory|unable to open include file [`']([^`']+)'/,
    fill: (_d, m) => ({ name: m?.slice(1).find(Boolean) ?? '' }),
  },
  {
    id: 'missing-crate-or-target',
    title: 'missing crate or target',
    explanation:
      'Cargo or rustc cannot find a crate (not a dependency in Cargo.toml, not vendored, or no core for a custom target) or the target specification.',
    fix: 'add `{name}` to [dependencies] in Cargo.toml (vendored: crates.io may be unreachable), or build core for the target (kiln cargo std: "sysroot")',
    pattern:
      /can't find crate for `(\w+)`|unresolved import `(\w+)`|use of undeclared crate or module `(\w+)`|failed to resolve: use of undeclared crate or module `(\w+)`|no matching package named `([\w-]+)`|could not find specification for target|error loading target specification|target may not be installed|unable to find (?:package|module) '?([\w.-]+)/i,
    when: (d) => d.tool === 'rustc' || d.tool === 'zig' || /target|package/.test(d.message),
    fill: (_d, m) => ({ name: m?.slice(1).find(Boolean) ?? 'the crate' }),
  },
  {
    id: 'linker-script',
    title: 'linker script error',
    explanation:
      'The linker script is missing, has a syntax error, or the layout it describes does not fit (overlapping sections, a memory region overflowed).',
    fix: 'fix {file} (the line given), or the path passed with -T',
    code: /^linker-script$/,
    pattern:
      /linker script|cannot find linker script|unable to open linker script|memory region .* overflowed|section .* overlaps|unable to move location counter backward/,
    fill: (d) => ({ file: d.file ?? 'the linker script' }),
  },
  {
    id: 'undeclared-identifier',
    title: 'undeclared identifier or type',
    explanation:
      'A name is used without a declaration in scope: a macro or prototype lives in a header that is not included, or was never defined.',
    fix: 'declare `{name}` (define it or include the header that declares it) in {file}',
    pattern:
      /use of undeclared identifier '(\w+)'|unknown type name '(\w+)'|'(\w+)' undeclared|implicit declaration of function '(\w+)'|call to undeclared function '(\w+)'|cannot find value `(\w+)` in this scope|use of undeclared identifier `?(\w+)`?/,
    fill: (d, m) => ({ name: m?.slice(1).find(Boolean) ?? '', file: d.file ?? '' }),
  },
  {
    id: 'type-mismatch',
    title: 'type mismatch',
    explanation: 'A value of one type is used where another is required.',
    fix: 'convert the value explicitly or change the declared type at {file}',
    code: /^E0308$/,
    pattern: /mismatched types|incompatible (?:pointer |integer )?(?:types|to integer)|expected type|cannot convert/,
    fill: (d) => ({ file: d.file ? `${d.file}:${d.line ?? ''}` : 'the location given' }),
  },
  {
    id: 'syntax-error',
    title: 'syntax error',
    explanation:
      'The parser rejected the source: a typo, a missing token, or an instruction/directive the assembler does not know.',
    fix: 'fix the syntax at {file} (see the message){asm}',
    pattern:
      /parser: |expected (?:';'|'\)'|'\}'|expression|identifier|declaration|`[^`]+`)|instruction expected|invalid combination of opcode and operands|unknown directive|invalid instruction|unexpected token|label or instruction expected|symbol .* not defined|expected one of/,
    // The NASM advice only for assembly: a C syntax error gets no hint about instructions.
    fill: (d) => ({
      file: d.file ? `${d.file}:${d.line ?? ''}` : 'the location given',
      asm: d.tool === 'nasm' ? '; check the instruction spelling and operand size' : '',
    }),
  },
  {
    id: 'cmake',
    title: 'CMake configuration error',
    explanation: 'CMake could not configure the project (a missing source, an unknown command, a bad argument).',
    fix: 'fix {file} at the line given, then rerun kiln build (CMake reconfigures)',
    tools: ['cmake'],
    fill: (d) => ({ file: d.file ? `${d.file}:${d.line ?? ''}` : 'CMakeLists.txt' }),
  },
];

const PROMOTED: ClassRule = {
  id: 'promoted-warning',
  title: 'warning promoted to an error',
  explanation: 'A warning that the build policy (-Werror, -Werror=flag, or the report policy) treats as an error.',
  fix: 'fix the code the warning points at ({code}), or relax the policy for this flag',
};

const OTHER: ClassRule = {
  id: 'other',
  title: 'other error',
  explanation: 'An error no rule recognises.',
  fix: 'read the message and the step log',
};
const WARNING: ClassRule = {
  id: 'warning',
  title: 'warning',
  explanation: 'A warning that does not block the build.',
  fix: 'fix it, or silence the flag on purpose',
};

/**
 * The compiler's own fix-it, when its message carries one: clang's and gcc's `use of undeclared
 * identifier 'retrun'; did you mean 'return'?` → replace `retrun` with `return` at the location.
 */
export function compilerSuggestion(d: Diagnostic): string | undefined {
  const m = /'([^']+)'[^']*?; did you mean '([^']+)'\?/.exec(d.message) ?? /did you mean '([^']+)'\?/.exec(d.message);
  if (!m) return undefined;
  const at = d.file ? ` at ${d.file}${d.line ? `:${d.line}` : ''}` : '';
  return m.length === 3
    ? `replace \`${m[1]}\` with \`${m[2]}\`${at} (the compiler's suggestion)`
    : `use \`${m[1]}\`${at} (the compiler's suggestion)`;
}

function apply(
  rule: ClassRule,
  d: Diagnostic,
  m: RegExpExecArray | null,
  blocking: boolean,
  idOverride?: string,
): Classification {
  const suggestion = d.tool === 'clang' || d.tool === 'gcc' || d.tool === 'cc' ? compilerSuggestion(d) : undefined;
  if (suggestion)
    return { id: idOverride ?? rule.id, title: rule.title, explanation: rule.explanation, fix: suggestion, blocking };
  const vars: Record<string, string> = {
    symbol: d.symbol ?? '',
    code: d.code ?? '',
    file: d.file ?? 'the file',
    name: '',
    other: '',
    asm: '',
    ...Object.fromEntries(Object.entries(rule.fill?.(d, m) ?? {}).filter(([, v]) => v !== '')),
  };
  const fix = rule.fix.replace(/\{(\w+)\}/g, (_all, k: string) => vars[k] ?? '');
  return { id: idOverride ?? rule.id, title: rule.title, explanation: rule.explanation, fix, blocking };
}

function matches(rule: ClassRule, d: Diagnostic): { ok: boolean; m: RegExpExecArray | null } {
  if (rule.tools && !rule.tools.includes(d.tool)) return { ok: false, m: null };
  let m: RegExpExecArray | null = null;
  const byCode = rule.code !== undefined && d.code !== undefined && rule.code.test(d.code);
  if (rule.pattern) m = rule.pattern.exec(d.message);
  if (!byCode && rule.pattern && !m) return { ok: false, m: null };
  if (!byCode && !rule.pattern && !rule.tools) return { ok: false, m: null };
  if (rule.when && !rule.when(d, m)) return { ok: false, m: null };
  return { ok: true, m };
}

/**
 * Names the cause of one diagnostic.
 *
 * @example
 * classify({ tool: 'ld', severity: 'error', message: 'undefined symbol: kalloc', symbol: 'kalloc' }).id // 'undefined-reference'
 */
export function classify(d: Diagnostic, policy: ClassifyPolicy = {}): Classification {
  const promotedByPolicy =
    d.severity === 'warning' && !!d.code && !!policy.promoteWarnings?.some((w) => w === '*' || w === d.code);
  if (d.severity === 'warning' && !promotedByPolicy) {
    // Warnings keep their cause (for the per-directory table) but never block.
    for (const rule of [...(policy.rules ?? []), ...CLASS_RULES]) {
      const { ok, m } = matches(rule, d);
      if (ok) return apply(rule, d, m, false);
    }
    return apply(WARNING, d, null, false);
  }
  if (promotedByPolicy || d.promoted) return apply(PROMOTED, d, null, true);
  for (const rule of [...(policy.rules ?? []), ...CLASS_RULES]) {
    const { ok, m } = matches(rule, d);
    if (ok) return apply(rule, d, m, true);
  }
  return apply(OTHER, d, null, true);
}

/**
 * The rule (title, explanation) for a class id, for renderers.
 *
 * @example
 * classRule('relocation').title // 'relocation / code-model mismatch'
 */
export function classRule(id: string, policy: ClassifyPolicy = {}): Pick<ClassRule, 'id' | 'title' | 'explanation'> {
  return (
    [...(policy.rules ?? []), ...CLASS_RULES, PROMOTED, OTHER, WARNING].find((r) => r.id === id) ?? {
      id,
      title: id,
      explanation: '',
    }
  );
}
