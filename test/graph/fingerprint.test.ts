// The typed fingerprint: its hash is the action key, and comparing two explains a rerun.
import { describe, expect, it } from 'vitest';
import { type Fingerprint, actionKey, diffFingerprints, explainRerun } from '../../src/graph/fingerprint.js';
import type { FileHash, ValueHash } from '../../src/graph/hashing.js';

const h = (c: string): string => c.repeat(64);
const base: Fingerprint = {
  step: { kind: 'cc', version: 1 },
  target: 'x86_64-debug',
  epoch: 315532800,
  files: { 'src/a.c': h('a') as FileHash, 'src/b.c': h('b') as FileHash },
  reads: { 'include/k.h': h('k') as FileHash },
  env: { CFLAGS: h('e') as ValueHash },
  tools: { clang: { path: '/usr/bin/clang-16', hash: h('c') as FileHash }, ld: null },
  options: h('o') as ValueHash,
  outputs: ['kernel.elf'],
};

describe('fingerprint', () => {
  it('the key is stable across key order and changes with any hash digit (full hashes, not prefixes)', () => {
    const files = { 'src/b.c': base.files['src/b.c']!, 'src/a.c': base.files['src/a.c']! };
    const reordered: Fingerprint = { ...base, files };
    expect(actionKey(reordered)).toBe(actionKey(base));
    const lastDigit = { ...base, files: { ...base.files, 'src/a.c': `${h('a').slice(0, 63)}b` as FileHash } };
    expect(actionKey(lastDigit)).not.toBe(actionKey(base));
  });

  it('explains a rerun by named change, removed and changed first, added last; at most three', () => {
    expect(explainRerun(undefined, base)).toBe('never built');
    expect(explainRerun(base, base)).toBe('outputs changed on disk');
    const next: Fingerprint = {
      ...base,
      files: { 'src/b.c': h('9') as FileHash, 'src/c.c': h('c') as FileHash },
      tools: { ...base.tools, ld: { path: '/usr/bin/ld.lld', hash: h('d') as FileHash } },
    };
    expect(diffFingerprints(base, next)).toEqual([
      { part: 'file', name: 'src/a.c', how: 'removed' },
      { part: 'file', name: 'src/b.c', how: 'changed' },
      { part: 'tool', name: 'ld', how: 'changed' },
      { part: 'file', name: 'src/c.c', how: 'added' },
    ]);
    const why = 'file:src/a.c removed, file:src/b.c changed, tool:ld changed (+1 more)';
    expect(explainRerun(base, next)).toBe(why);
    const optionsAndEpoch: Fingerprint = { ...base, epoch: 1, options: h('p') as ValueHash };
    expect(explainRerun(base, optionsAndEpoch)).toBe('options changed, epoch changed');
  });

  it('a discovered input that changed or went away explains the rerun as read:<path>', () => {
    const next: Fingerprint = { ...base, reads: { 'include/k.h': h('z') as FileHash } };
    expect(explainRerun(base, next)).toBe('read:include/k.h changed');
    expect(actionKey(next)).not.toBe(actionKey(base));
    expect(explainRerun(base, { ...base, reads: { 'include/k.h': null } })).toBe('read:include/k.h removed');
  });
});
