import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/errors.js';
import {
  decodeManifest,
  decodeManifestWithLocations,
  encodeManifest,
  MANIFEST_TAGS,
  type Manifest,
} from '../../src/sign/index.js';

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const keyId = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'));

const manifestArb: fc.Arbitrary<Manifest> = fc
  .record({
    project: text,
    version: fc.option(text, { nil: undefined }),
    gitCommit: fc.option(fc.stringMatching(/^[0-9a-f]{7,40}$/), { nil: undefined }),
    buildTime: fc.nat({ max: 2 ** 40 }),
    arch: fc.constantFrom('x86_64', 'aarch64', 'riscv64'),
    profile: fc.constantFrom('debug', 'release', 'ci'),
    kernelHash: hash,
    initrd: fc.dictionary(text, hash, { maxKeys: 6 }),
    toolchain: fc.dictionary(text, text, { maxKeys: 4 }),
    flags: fc.dictionary(text, text, { maxKeys: 4 }),
    abiHash: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: undefined }),
    signers: fc.uniqueArray(
      fc.record({ algorithm: fc.constantFrom('ed25519' as const, 'ml-dsa-65' as const), keyId }),
      { maxLength: 3, selector: (s) => `${s.algorithm}${s.keyId}` },
    ),
  })
  .map((m) => {
    const out: Manifest = { ...m, initrd: { ...m.initrd }, toolchain: { ...m.toolchain }, flags: { ...m.flags } };
    for (const key of ['version', 'gitCommit', 'abiHash'] as const) if (out[key] === undefined) delete out[key];
    return out;
  });

function normalize(m: Manifest): unknown {
  const sortObj = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  return {
    ...m,
    initrd: sortObj(Object.fromEntries(Object.entries(m.initrd).map(([k, v]) => [k, Buffer.from(v).toString('hex')]))),
    toolchain: sortObj(m.toolchain),
    flags: sortObj(m.flags),
    kernelHash: Buffer.from(m.kernelHash).toString('hex'),
    abiHash: m.abiHash ? Buffer.from(m.abiHash).toString('hex') : undefined,
    signers: [...m.signers].sort((a, b) =>
      a.algorithm === b.algorithm ? a.keyId.localeCompare(b.keyId) : a.algorithm === 'ed25519' ? -1 : 1,
    ),
  };
}

const sample: Manifest = {
  project: 'nonos',
  version: '1.2.3',
  gitCommit: 'abc1234',
  buildTime: 315532800,
  arch: 'x86_64',
  profile: 'release',
  kernelHash: new Uint8Array(32).fill(0x11),
  initrd: { 'bin/init': new Uint8Array(32).fill(2), 'etc/motd': new Uint8Array(32).fill(3) },
  toolchain: { rustc: '1.95.0' },
  flags: { 'kernel.sse': 'off' },
  abiHash: new Uint8Array([1, 2, 3]),
  signers: [{ algorithm: 'ed25519', keyId: '0011223344556677' }],
};

describe('manifest codec', () => {
  it('encodes the documented layout (magic, version, header size, total length, ascending TLVs)', () => {
    const bytes = encodeManifest(sample);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('KMAN');
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(view.getUint16(4, true)).toBe(1);
    expect(view.getUint16(6, true)).toBe(12);
    expect(view.getUint32(8, true)).toBe(bytes.length);
    const { entries } = decodeManifestWithLocations(bytes);
    expect(entries.map((e) => e.tag)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12]);
    const project = entries[0]!;
    expect(Buffer.from(bytes.subarray(project.valueOffset, project.valueOffset + project.valueLength)).toString()).toBe(
      'nonos',
    );
    const kernel = entries.find((e) => e.tag === MANIFEST_TAGS.kernelHash)!;
    expect(bytes[kernel.valueOffset]).toBe(0x11);
  });

  it('property: decode(encode(m)) == m and encode(decode(b)) == b (canonical form)', () => {
    fc.assert(
      fc.property(manifestArb, (m) => {
        const bytes = encodeManifest(m);
        const back = decodeManifest(bytes);
        expect(normalize(back)).toEqual(normalize(m));
        expect(Buffer.from(encodeManifest(back)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('allows zero padding after the record (a section reserved larger), rejects other trailing bytes', () => {
    const bytes = encodeManifest(sample);
    const padded = new Uint8Array(bytes.length + 100);
    padded.set(bytes);
    expect(decodeManifest(padded).project).toBe('nonos');
    padded[bytes.length + 50] = 1;
    expect(() => decodeManifest(padded)).toThrow(/non-zero bytes after/);
  });

  it('rejects bad input with codes and offsets', () => {
    const bytes = encodeManifest(sample);
    const codeOf = (b: Uint8Array) => {
      try {
        decodeManifest(b);
        return 'ok';
      } catch (error) {
        expect(error).toBeInstanceOf(KilnError);
        return (error as KilnError).code;
      }
    };
    expect(codeOf(bytes.subarray(0, 5))).toBe('TRUNCATED');
    const magic = bytes.slice();
    magic[0] = 0x41;
    expect(codeOf(magic)).toBe('MANIFEST_BAD_MAGIC');
    const version = bytes.slice();
    version[4] = 2;
    expect(codeOf(version)).toBe('MANIFEST_UNSUPPORTED_VERSION');
    const length = bytes.slice();
    length[8] = 0xff;
    length[9] = 0xff;
    expect(codeOf(length)).toBe('MANIFEST_BAD_LENGTH');
    expect(codeOf(encodeManifest({ ...sample, extensions: [{ tag: 0x8001, value: new Uint8Array([9]) }] }))).toBe('ok');
  });

  it('refuses to encode what it could not decode', () => {
    expect(() => encodeManifest({ ...sample, kernelHash: new Uint8Array(31) })).toThrow(RangeError);
    expect(() => encodeManifest({ ...sample, project: 'x'.repeat(5000) })).toThrow(/at most 4096/);
    expect(() => encodeManifest({ ...sample, signers: [{ algorithm: 'ed25519', keyId: 'XYZ' }] })).toThrow(/keyId/);
  });
});

describe('manifest decoder fuzz', () => {
  const runs = Number(process.env.KILN_FUZZ_RUNS ?? 100000);
  it(`mutated manifests (${runs} runs): a Manifest or a KilnError, never anything else`, () => {
    const seeds = [
      encodeManifest(sample),
      encodeManifest({ ...sample, initrd: {}, toolchain: {}, flags: {}, signers: [] }),
    ];
    const started = performance.now();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(
          fc.record({
            at: fc.nat(),
            value: fc.integer({ min: 0, max: 255 }),
            op: fc.constantFrom('set', 'insert', 'delete'),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.nat({ max: 400 }),
        (si, edits, cut) => {
          let bytes = Array.from(seeds[si]!);
          for (const e of edits) {
            const at = e.at % (bytes.length + 1);
            if (e.op === 'set' && bytes.length) bytes[at % bytes.length] = e.value;
            else if (e.op === 'insert') bytes.splice(at, 0, e.value);
            else bytes.splice(at, 1);
          }
          if (cut < bytes.length && cut % 7 === 0) bytes = bytes.slice(0, cut);
          try {
            const m = decodeManifest(Uint8Array.from(bytes));
            expect(typeof m.project).toBe('string');
            expect(m.kernelHash.length).toBe(32);
          } catch (error) {
            if (!(error instanceof KilnError)) throw error;
          }
        },
      ),
      { numRuns: runs },
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`manifest fuzz: ${runs} inputs in ${seconds.toFixed(2)} s (${Math.round(runs / seconds)}/s)`);
  });
});
