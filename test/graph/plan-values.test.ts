// Step options as the plan cache writes them (graph/plan-values.ts): what JSON can carry comes back
// equal (handles, refs and out() placeholders as the plan's own handles), and what it cannot — a
// function, a class instance, a cycle — is refused with the place it was found.
import { describe, expect, it } from 'vitest';
import { UnserializableValue, encodeValue, reviveValue } from '../../src/graph/plan-values.js';
import { command } from '../../src/steps/command.js';
import { type StepHandle, isArtifactRef, isOutputPlaceholder, isStepHandle, out } from '../../src/step.js';

const producer = command({ argv: ['true'], outputs: ['a.bin'] });
const nameOf = (h: StepHandle): string => (h === producer ? 'producer' : 'other');
/** The revived graph's handle of each step name. */
const revived = command({ argv: ['true'], outputs: ['a.bin'] }).named('producer');
const handleOf = (name: string): StepHandle => (name === 'producer' ? revived : revived.named(name));

const roundTrip = (value: unknown): unknown =>
  reviveValue(JSON.parse(JSON.stringify(encodeValue(value, nameOf))) as never, handleOf);

describe('plan values', () => {
  it('data round-trips through JSON, special values included', () => {
    const value = {
      text: 'a',
      n: 3,
      neg: -0,
      inf: Infinity,
      nan: NaN,
      big: 12n,
      yes: true,
      none: null,
      missing: undefined,
      list: [1, 'two', [3]],
      bytes: new Uint8Array([1, 2, 255]),
      buffer: Buffer.from('hi'),
      pattern: /^x\d+$/gm,
      bare: Object.assign(Object.create(null) as object, { k: 1 }),
    };
    const back = roundTrip(value) as typeof value;
    expect(back).toEqual({ ...value, bare: { k: 1 } });
    expect(Object.is(back.neg, -0)).toBe(true);
    expect('missing' in back).toBe(true);
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back.bytes)).toBe(false);
    expect(Buffer.isBuffer(back.buffer)).toBe(true);
    expect(back.pattern.flags).toBe('gm');
  });

  it("handles, named outputs and out() placeholders come back as the plan's own handles", () => {
    const back = roundTrip({ argv: [producer, producer.out, producer.output('a.bin'), out('b.bin')] }) as {
      argv: unknown[];
    };
    const [handle, main, named, placeholder] = back.argv;
    expect(handle).toBe(revived);
    expect(isStepHandle(main)).toBe(false);
    expect(isArtifactRef(main) && main.step === revived && main.output === undefined).toBe(true);
    expect(isArtifactRef(named) && named.step === revived && named.output === 'a.bin').toBe(true);
    expect(isOutputPlaceholder(placeholder) && placeholder.output === 'b.bin').toBe(true);
  });

  it('a function, a class instance, a Map and a cycle are refused, saying where', () => {
    const refused = (value: unknown): string => {
      try {
        encodeValue(value, nameOf);
      } catch (error) {
        expect(error).toBeInstanceOf(UnserializableValue);
        return (error as Error).message;
      }
      throw new Error('encoded');
    };
    expect(refused({ script: [{ send: () => 'x' }] })).toBe('options.script[0].send is a function');
    expect(refused({ when: new Date(0) })).toBe('options.when is an instance of Date');
    expect(refused({ map: new Map() })).toBe('options.map is an instance of Map');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(refused(cycle)).toBe('options.self is a cycle');
    expect(refused({ '\u0000kiln': 'ref' })).toBe('options is an object kiln cannot tag');
  });

  it('the same object twice (not a cycle) is written twice', () => {
    const shared = { a: 1 };
    expect(roundTrip({ x: shared, y: shared })).toEqual({ x: { a: 1 }, y: { a: 1 } });
  });
});
