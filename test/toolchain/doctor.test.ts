import { describe, expect, it } from 'vitest';
import { matchRule } from '../../src/toolchain/doctor.js';
import { repoRoot, runKiln } from '../_helpers.js';
import { join } from 'node:path';

describe('kiln doctor', () => {
  it("reports the project's tools with versions", () => {
    const r = runKiln(['doctor', '--json'], { cwd: join(repoRoot, 'examples/hello') });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      project: string;
      checks: Array<{ name: string; ok: boolean; version?: string }>;
    };
    expect(out.project).toBe('hello');
    expect(out.checks.find((c) => c.name === 'nasm')).toMatchObject({
      ok: true,
      version: expect.stringMatching(/NASM version 2\./),
    });
  });

  it('says what is missing and how to fix it, exit 1', () => {
    const r = runKiln(['doctor'], { cwd: join(repoRoot, 'examples/hello'), env: { PATH: '/nonexistent' } });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/MISSING nasm/);
    expect(r.stdout).toMatch(/fix: apt install nasm/);
  });

  it("its rules name the cause of the seeds' known failures", () => {
    expect(matchRule("error[E0463]: can't find crate for `core`")?.fix).toMatch(/rust-src/);
    expect(matchRule('error: the option `Z` is only accepted on the nightly compiler')?.fix).toMatch(/nightly/);
    expect(matchRule('error: linker `rust-lld` not found')?.fix).toMatch(/lld/);
    expect(matchRule("kernel.c:(.text+0x1c): undefined reference to `kalloc'")?.cause).toBe('undefined reference');
  });
});
