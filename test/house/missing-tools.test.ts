// The rule for suites that need a host tool: skipped where it is missing, a failure under CI=true.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { missingTools } from '../_helpers.js';

describe('missingTools', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('fails under CI=true, naming what is missing', () => {
    vi.stubEnv('CI', 'true');
    expect(() => missingTools({ nasm: true, 'qemu-system-x86_64': false })).toThrow(
      /missing qemu-system-x86_64: under CI=true/,
    );
    expect(missingTools({ nasm: true })).toBe(false);
  });

  it('skips elsewhere', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(missingTools({ nasm: false })).toBe(true);
    expect(warn).toHaveBeenCalledWith('skipped: nasm not installed');
    expect(missingTools({ nasm: true })).toBe(false);
  });
});
