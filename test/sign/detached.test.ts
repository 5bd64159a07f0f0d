import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/errors.js';
import { fileContent } from '../../src/formats/io/content.js';
import {
  decodeDetachedSignature,
  generateKeyPair,
  signBlob,
  signingKeyFromSeed,
  verifyBlob,
} from '../../src/sign/index.js';
import { tempDir } from '../_helpers.js';

const dir = tempDir('kiln-detached-');

describe('detached signatures', async () => {
  const ed = await generateKeyPair('ed25519', new Uint8Array(32).fill(1));
  const ml = await generateKeyPair('ml-dsa-65', new Uint8Array(32).fill(2));
  const edKey = await signingKeyFromSeed('ed25519', ed.seed);
  const mlKey = await signingKeyFromSeed('ml-dsa-65', ml.seed);
  const data = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 0xff); // 3 MiB: streamed in 1 MiB chunks
  const path = join(dir, 'disk.img');
  writeFileSync(path, data);

  it('signs a file streamed from disk and verifies (hybrid)', async () => {
    const sig = await signBlob(await fileContent(path), [edKey, mlKey]);
    const decoded = decodeDetachedSignature(sig);
    expect(decoded.size).toBe(data.length);
    expect(decoded.signatures.map((s) => s.algorithm)).toEqual(['ed25519', 'ml-dsa-65']);
    const result = await verifyBlob(await fileContent(path), sig, [ed.publicKey, ml.publicKey], {
      requireAlgorithms: ['ed25519', 'ml-dsa-65'],
    });
    expect(result.ok).toBe(true);
    // Same bytes in memory verify too.
    expect((await verifyBlob(data, sig, [ed.publicKey, ml.publicKey])).ok).toBe(true);
  });

  it('names the failing check: hash, ed25519, ml-dsa, unknown-key-id, required algorithm missing', async () => {
    const sig = await signBlob(data, [edKey, mlKey]);
    const changed = data.slice();
    changed[12345]! ^= 1;
    expect((await verifyBlob(changed, sig, [ed.publicKey, ml.publicKey])).reason).toBe('hash');
    const decoded = decodeDetachedSignature(sig);
    const edAt =
      sig.length - decoded.signatures[1]!.signature.length - 15 - decoded.signatures[0]!.signature.length + 10;
    const badEd = sig.slice();
    badEd[edAt]! ^= 1;
    expect((await verifyBlob(data, badEd, [ed.publicKey, ml.publicKey])).reason).toBe('ed25519');
    const badMl = sig.slice();
    badMl[sig.length - 5]! ^= 1;
    expect((await verifyBlob(data, badMl, [ed.publicKey, ml.publicKey])).reason).toBe('ml-dsa');
    expect((await verifyBlob(data, sig, [ed.publicKey])).reason).toBe('unknown-key-id');
    const edOnly = await signBlob(data, [edKey]);
    expect(
      (await verifyBlob(data, edOnly, [ed.publicKey, ml.publicKey], { requireAlgorithms: ['ml-dsa-65'] })).reason,
    ).toBe('ml-dsa');
  });

  it('fuzz: mutated signature files decode or fail with a KilnError', async () => {
    const seed = await signBlob(data.subarray(0, 1000), [edKey]);
    const runs = Number(process.env.KILN_FUZZ_RUNS ?? 20000);
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: 200 }),
        (edits, cut) => {
          const bytes = seed.slice(0, cut > 150 ? seed.length : Math.max(0, seed.length - cut));
          for (const e of edits) if (bytes.length) bytes[e.at % bytes.length] = e.v;
          try {
            decodeDetachedSignature(bytes);
          } catch (error) {
            if (!(error instanceof KilnError)) throw error;
          }
        },
      ),
      { numRuns: runs },
    );
  });
});
