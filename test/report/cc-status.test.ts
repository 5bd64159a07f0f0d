// kiln status on a failed C compile (issue #17 item 7): the error comes before the warnings that
// follow it, the fix is the compiler's own suggestion (clang's "did you mean 'return'?"), locations
// are project files (a cc step's compiler runs in the project folder), and a C syntax error gets no
// NASM advice while a NASM one does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/report/classify.js';
import { runKiln, tempDir } from '../_helpers.js';

const dir = join(tempDir('kiln-cc-status-'), 'p');

describe('kiln status for C', () => {
  it('ranks the error first, prefers the compiler fix-it, names project files', () => {
    mkdirSync(join(dir, 'k'), { recursive: true });
    // The warning (line 2) comes before the error (line 4) in the source and in clang's output order here.
    writeFileSync(
      join(dir, 'k/a.c'),
      'static int h(int y) { int z; return y; }\nint q(void) { return h(1); }\nint g(int x)\n{\n\tretrun x;\n}\n',
    );
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { defineConfig, cc } from 'kiln';
export default defineConfig({ name: 'st', arch: 'i386', components: { k: cc.obj({ name: 'k', sources: ['k/a.c'], cflags: ['-Wall'], output: 'k.o' }) } });
`,
    );
    expect(runKiln(['build', '--plain'], { cwd: dir }).status).toBe(1);
    const r = runKiln(['status', '--json'], { cwd: dir });
    const report = JSON.parse(r.stdout) as {
      diagnostics: Array<{ severity: string; file: string; line: number; fix: string }>;
    };
    expect(report.diagnostics.map((d) => `${d.severity} ${d.file}:${d.line}`)).toEqual([
      'error k/a.c:5',
      'warning k/a.c:1',
    ]);
    expect(report.diagnostics[0]!.fix).toBe("replace `retrun` with `return` at k/a.c:5 (the compiler's suggestion)");
    expect(report.diagnostics[0]!.fix).not.toMatch(/declare `retrun`/);
  }, 120_000);

  it('gives NASM advice only for assembly files', () => {
    const c = classify({
      tool: 'clang',
      severity: 'error',
      file: 'k/a.c',
      line: 3,
      message: "expected ';' after expression",
    });
    expect(c.id).toBe('syntax-error');
    expect(c.fix).not.toMatch(/NASM|instruction/i);
    const asm = classify({
      tool: 'nasm',
      severity: 'error',
      file: 'boot.asm',
      line: 3,
      message: 'parser: instruction expected',
    });
    expect(asm.fix).toMatch(/instruction spelling/);
  });
});
