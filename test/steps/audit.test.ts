// The audit gate after linking: a kernel linked with an RWX segment passes a debug build with a
// warning and fails a release build with the table (rule, artifact, evidence).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKiln, tempDir } from '../_helpers.js';

const dir = join(tempDir('kiln-audit-step-'), 'p');
const files: Record<string, string> = {
  'main.c': 'void _start(void) { for (;;) {} }\n',
  // One PT_LOAD that is readable, writable and executable: W^X violated.
  'rwx.ld':
    'ENTRY(_start)\nPHDRS { all PT_LOAD FLAGS(7); }\nSECTIONS { . = 0x100000; .text : { *(.text*) } :all .data : { *(.data*) *(.bss*) } :all }\n',
  'kiln.config.ts': `import { defineConfig, cc, audit } from 'kiln';
const kernel = cc.exe({ name: 'kernel', sources: ['main.c'], linkerScript: 'rwx.ld' });
export default defineConfig({ name: 'gate', components: { kernel }, steps: { gate: audit({ input: kernel, layer: 'kernel', policy: { wxorx: true, entryInSegment: true } }) } });
`,
};

describe('audit() step', () => {
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  });

  it('warns in a debug build', () => {
    const r = runKiln(['build', '--plain'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: kernel\.elf would fail the release kernel policy/);
    const report = JSON.parse(readFileSync(join(dir, 'build/x86_64-debug/gate.audit.json'), 'utf8')) as {
      ok: boolean;
      findings: Array<{ rule: string; status: string }>;
    };
    expect(report.ok).toBe(false);
    expect(report.findings.find((f) => f.rule === 'wxorx')?.status).toBe('fail');
  });

  it('fails a release build with the table of what violated which rule', () => {
    const r = runKiln(['build', '--plain', '--profile', 'release'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAILED gate: kernel\.elf violates the kernel policy/);
    expect(r.stderr).toMatch(/wxorx/);
    expect(r.stderr).toMatch(/RWX|R\+W\+X|rwx/i);
  });
});
