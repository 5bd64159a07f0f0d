import { execFileSync, spawnSync } from 'node:child_process';
import { kilnBin } from './_helpers.js';
import { describe, expect, it } from 'vitest';

describe('kiln CLI', () => {
  it('prints its version', () => {
    const out = execFileSync(process.execPath, [kilnBin, '--version'], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it('rejects an unknown command with exit code 2', () => {
    const r = spawnSync(process.execPath, [kilnBin, 'no-such-command'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: /m);
  });
});
