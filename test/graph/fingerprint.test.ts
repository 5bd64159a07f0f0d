// The typed fingerprint: its hash is the action key, and comparing two explains a rerun.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Fingerprint,
  actionKey,
  diffFingerprints,
  explainRerun,
  fingerprintText,
} from '../../src/graph/fingerprint.js';
import { type FileHash, type ValueHash, stableStringify } from '../../src/graph/hashing.js';
import type { ToolIdentity } from '../../src/graph/tools.js';

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

  it('the key is the one kiln has always computed: a known answer (digit-only names and nulls included)', () => {
    // Computed by the generic encoder (sha256 of stableStringify) before the field-by-field one.
    const known: Fingerprint = {
      ...base,
      files: {
        'src/a.c': h('a') as FileHash,
        'src/b.c': h('b') as FileHash,
        '10': h('1') as FileHash,
        '9': h('9') as FileHash,
      },
      reads: { 'include/k.h': h('k') as FileHash, '$build/abi/x.h': null },
      outputs: ['kernel.elf', 'kernel.map'],
    };
    expect(actionKey(known)).toBe('4ae19bfa5d0130fd9e615930bee0f216d40d2fdf03bd52a17f2150f6b52a4896');
  });

  it('the field-by-field text is byte-identical to stableStringify of the same fingerprint', () => {
    // '__proto__' aside: the generic encoder's sorted copy loses that key (it sets the prototype); this one keeps it.
    const anyName = fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{1,11}$/), fc.string({ unit: 'grapheme' }));
    const name = anyName.filter((n) => n !== '__proto__');
    const hash = fc.stringMatching(/^[0-9a-f]{64}$/);
    const tool = fc.option(fc.record({ path: fc.string(), hash }), { nil: null });
    const fingerprint = fc.record({
      step: fc.record({ kind: fc.string(), version: fc.integer() }),
      target: fc.string(),
      epoch: fc.oneof(fc.integer(), fc.double({ noNaN: false })),
      files: fc.dictionary(name, hash),
      reads: fc.dictionary(name, fc.option(hash, { nil: null })),
      env: fc.dictionary(name, hash),
      tools: fc.dictionary(
        fc.oneof(
          name,
          name.map((n) => `/opt/zig-${n.replace(/\//g, '')}/zig`),
        ),
        tool,
      ),
      signingKeys: fc.option(fc.dictionary(name, fc.string()), { nil: undefined }),
      options: hash,
      outputs: fc.array(fc.string()),
    });
    fc.assert(
      fc.property(fingerprint, (f) => {
        const { signingKeys, ...rest } = f;
        const typed = (signingKeys ? f : rest) as unknown as Fingerprint;
        // The reference: tools by content hash, a tool given by absolute path under its file name.
        const tools: Record<string, string | null> = {};
        for (const [n, t] of Object.entries(typed.tools))
          tools[n.startsWith('/') ? n.split('/').pop()! : n] = t ? (t as ToolIdentity).hash : null;
        expect(fingerprintText(typed)).toBe(stableStringify({ ...typed, tools }));
      }),
      { numRuns: 500 },
    );
  });
});
