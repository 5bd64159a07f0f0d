// kiln audit as a gate: exit codes, the table, --json, policy files.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditElf, policyFor, RELEASE_POLICY } from '../../src/audit/index.js';
import { KilnError } from '../../src/errors.js';
import { runKiln, tempDir, tool } from '../_helpers.js';

const dir = tempDir('kiln-audit-cli-');
let weak: string;
let hardened: string;

beforeAll(() => {
  const src = join(dir, 'p.c');
  writeFileSync(
    src,
    '#include <stdio.h>\n#include <string.h>\nint main(int c, char **v) { char b[32]; strcpy(b, c > 1 ? v[1] : "x"); puts(b); return 0; }\n',
  );
  weak = join(dir, 'weak');
  hardened = join(dir, 'hardened');
  expect(
    tool(['gcc', '-O0', '-z', 'execstack', '-no-pie', '-fno-stack-protector', '-D_FORTIFY_SOURCE=0', src, '-o', weak])
      .status,
  ).toBe(0);
  expect(
    tool([
      'gcc',
      '-O2',
      '-fstack-protector-strong',
      '-D_FORTIFY_SOURCE=2',
      '-fpie',
      '-pie',
      '-Wl,-z,relro,-z,now',
      '-Wl,-z,noexecstack',
      src,
      '-o',
      hardened,
    ]).status,
  ).toBe(0);
});

describe('kiln audit', () => {
  it('exits 1 with a table of violations for the weak binary, 0 for the hardened one', () => {
    const bad = runKiln(['audit', weak, hardened, '--policy', 'release']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/policy release, layer userspace/);
    expect(bad.stdout).toMatch(/weak\s+nx-stack\s+FAIL\s+PT_GNU_STACK without X\s+PT_GNU_STACK RWX/);
    expect(bad.stdout).toMatch(/weak\s+pie\s+FAIL/);
    expect(bad.stdout).toMatch(/weak\s+stack-protector\s+FAIL/);
    expect(bad.stdout).not.toMatch(/hardened\s+\S+\s+FAIL/);
    expect(bad.stdout).toMatch(/violation\(s\) in 1 of 2 file\(s\)/);
    const good = runKiln(['audit', hardened]);
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/1 file\(s\) pass/);
  });

  it('--json gives the findings; a policy file can relax or tighten rules', () => {
    const j = runKiln(['audit', weak, '--json']);
    expect(j.status).toBe(1);
    const out = JSON.parse(j.stdout) as { ok: boolean; reports: { findings: { rule: string; status: string }[] }[] };
    expect(out.ok).toBe(false);
    expect(
      out.reports[0]!.findings.filter((f) => f.status === 'fail')
        .map((f) => f.rule)
        .sort(),
    ).toEqual(['fortify', 'nx-stack', 'pie', 'relro', 'stack-protector']);
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ wxorx: true, pie: 'forbidden' }));
    expect(runKiln(['audit', weak, '--policy', policy]).status).toBe(0);
    expect(runKiln(['audit', hardened, '--policy', policy]).status).toBe(1);
    writeFileSync(policy, JSON.stringify({ layers: { kernel: { stripped: true } } }));
    expect(runKiln(['audit', hardened, '--policy', policy, '--layer', 'kernel']).status).toBe(1);
    writeFileSync(policy, JSON.stringify({ pie: 'maybe' }));
    const invalid = runKiln(['audit', hardened, '--policy', policy]);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toMatch(/pie/);
  });

  it('the debug policy lets the weak binary through except for what no build may do', () => {
    const r = runKiln(['audit', weak, '--policy', 'debug']);
    expect(r.status).toBe(1); // its stack is executable: nx-stack is in every policy
    expect(r.stdout).toMatch(/nx-stack\s+FAIL/);
    expect(r.stdout).not.toMatch(/\bpie\s+FAIL/);
  });
});

describe('audit fuzz', () => {
  it('mutated ELF files: auditElf returns findings (or one elf finding), never throws', async () => {
    const seed = new Uint8Array(readFileSync(hardened));
    const runs = Number(process.env.KILN_FUZZ_RUNS ?? 300);
    const policy = policyFor(RELEASE_POLICY, 'userspace');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: 4096 }), v: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        async (edits) => {
          const bytes = seed.slice();
          for (const e of edits) bytes[e.at] = e.v; // headers, program headers, early sections
          try {
            const report = await auditElf(bytes, { artifact: 'fuzz', policy });
            expect(report.findings.length).toBeGreaterThan(0);
          } catch (error) {
            if (!(error instanceof KilnError)) throw error;
          }
        },
      ),
      { numRuns: runs },
    );
  });
});
