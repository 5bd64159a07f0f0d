// The registry of kiln's own step kinds (steps/_kinds.ts), which a build from the plan cache loads
// steps by: every step factory of the public API makes a kind the registry names and returns, the
// very same object, and a kind a config defines under a built-in name is not taken for kiln's.
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { BUILTIN_KIND_NAMES, isBuiltinKind, loadBuiltinKind } from '../../src/steps/_kinds.js';
import { type StepKind, defineStep, isStepHandle } from '../../src/step.js';

/** The kinds of every step factory the public API exports (functions and objects of functions). */
function publicKinds(): StepKind[] {
  const kinds = new Set<StepKind>();
  const tryFactory = (f: unknown): void => {
    if (typeof f !== 'function') return;
    try {
      const made = (f as (o: unknown) => unknown)({});
      if (isStepHandle(made)) kinds.add(made.kind as StepKind);
    } catch {
      // not a step factory (or one needing real arguments: vdi/vmdk take the input first)
    }
    try {
      const made = (f as (a: unknown, o: unknown) => unknown)('disk.img', {});
      if (isStepHandle(made)) kinds.add(made.kind as StepKind);
    } catch {
      // not a step factory
    }
  };
  for (const value of Object.values(api)) {
    tryFactory(value);
    if (value && typeof value === 'object') for (const inner of Object.values(value)) tryFactory(inner);
  }
  return [...kinds];
}

describe('the step kind registry', () => {
  it('names every kind of the public step factories and loads that very kind', async () => {
    const kinds = publicKinds();
    expect(kinds.length).toBeGreaterThan(25);
    for (const kind of kinds) {
      expect(BUILTIN_KIND_NAMES).toContain(kind.kind);
      expect(await loadBuiltinKind(kind.kind)).toBe(kind);
    }
    expect(new Set(kinds.map((k) => k.kind))).toEqual(new Set(BUILTIN_KIND_NAMES));
  });

  it("a config's own kind is not kiln's, even under a built-in name", async () => {
    const own = defineStep({ kind: 'command', version: 1, declare: () => ({ outputs: [] }), make: async () => {} });
    expect(await isBuiltinKind(own({}).kind as StepKind)).toBe(false);
    expect(await isBuiltinKind((await loadBuiltinKind('command'))!)).toBe(true);
    expect(await loadBuiltinKind('toString')).toBeUndefined();
  });
});
