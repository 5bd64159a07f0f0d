import { describe, expect, it } from 'vitest';
import { resolvePolicy, zigFlags } from '../../src/toolchain/policy.js';

describe('zigFlags', () => {
  it('says stack probes explicitly on x86_64, both ways, and notes that aarch64 cannot have them', () => {
    const kernel = resolvePolicy('kernel', true, undefined);
    expect(kernel.stackProbes).toBe(true);
    expect(zigFlags(kernel, 'x86_64').args).toContain('-fstack-check');
    expect(zigFlags(kernel, 'x86_64').notes).toEqual([]);
    const off = resolvePolicy('kernel', true, { kernel: { stackProbes: false } });
    expect(zigFlags(off, 'x86_64').args).toContain('-fno-stack-check');
    const arm = zigFlags(kernel, 'aarch64');
    expect(arm.args.some((a) => a.includes('stack-check'))).toBe(false);
    expect(arm.notes.join('\n')).toMatch(/stack probes: Zig cannot emit them for aarch64/);
    expect(zigFlags(off, 'aarch64').notes).toEqual([]);
  });
});
