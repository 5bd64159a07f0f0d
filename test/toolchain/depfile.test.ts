// The depfile parser against what the real tools write (gcc/clang -MD -MP, nasm -MD) and the escapes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDepfile } from '../../src/toolchain/depfile.js';
import { tempDir, tool } from '../_helpers.js';

const dir = tempDir('kiln-depfile-');

describe('parseDepfile', () => {
  it('reads continuations, escaped spaces, $$ and phony -MP rules', () => {
    const d = parseDepfile('out/k.o: src/k.c inc/a.h \\\n  inc/my\\ types.h cost$$.h\ninc/a.h:\n\ninc/my\\ types.h:\n');
    expect(d).toEqual({ targets: ['out/k.o'], inputs: ['src/k.c', 'inc/a.h', 'inc/my types.h', 'cost$.h'] });
  });

  it('matches what clang, gcc and nasm write', () => {
    mkdirSync(join(dir, 'inc dir'), { recursive: true });
    writeFileSync(join(dir, 'inc dir', 'a.h'), '#define A 1\n');
    writeFileSync(join(dir, 'b.h'), '#include "inc dir/a.h"\n');
    writeFileSync(join(dir, 'k.c'), '#include "b.h"\nint k(void) { return A; }\n');
    for (const cc of ['clang', 'gcc']) {
      const r = tool([cc, '-c', '-MD', '-MP', '-MF', join(dir, `${cc}.d`), '-o', join(dir, `${cc}.o`), 'k.c'], {
        cwd: dir,
      });
      expect(r.status, r.stderr).toBe(0);
      const d = parseDepfile(readFileSync(join(dir, `${cc}.d`), 'utf8'));
      expect(d.targets).toEqual([join(dir, `${cc}.o`)]);
      // gcc also names /usr/include/stdc-predef.h (hosted): system headers are the tool's, not the project's.
      expect(d.inputs.filter((p) => !p.startsWith('/usr/'))).toEqual(['k.c', 'b.h', 'inc dir/a.h']);
    }
    writeFileSync(join(dir, 'inc.asm'), 'db 1\n');
    writeFileSync(join(dir, 'boot.asm'), '%include "inc.asm"\n');
    // nasm 2.16.01's -MD (while assembling) leaves %include files out; -M -MF (preprocess only) lists them.
    const md = tool(['nasm', '-f', 'bin', '-MD', join(dir, 'boot.d'), '-o', join(dir, 'boot.bin'), 'boot.asm'], {
      cwd: dir,
    });
    expect(md.status, md.stderr).toBe(0);
    expect(parseDepfile(readFileSync(join(dir, 'boot.d'), 'utf8')).inputs).toEqual(['boot.asm']);
    const m = tool(['nasm', '-f', 'bin', '-M', '-MF', join(dir, 'm.d'), '-MT', 'boot.bin', 'boot.asm'], { cwd: dir });
    expect(m.status, m.stderr).toBe(0);
    expect(parseDepfile(readFileSync(join(dir, 'm.d'), 'utf8'))).toEqual({
      targets: ['boot.bin'],
      inputs: ['boot.asm', 'inc.asm'],
    });
  });
});
