// Known-answer tests: BLAKE3 (official test_vectors.json), Ed25519 (RFC 8032 §7.1),
// ML-DSA-65 (NIST ACVP FIPS 204 keyGen), plus cross-checks against independent implementations.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import fc from 'fast-check';
import { createBLAKE3 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/formats/io/bytes.js';
import {
  blake3,
  blake3Content,
  blake3WithZeroedRanges,
  createBlake3,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  mlDsa65KeyPair,
  mlDsa65Sign,
  mlDsa65Verify,
} from '../../src/sign/index.js';
import { tempDir } from '../_helpers.js';
import { writeFileSync } from 'node:fs';
import { fileContent } from '../../src/formats/io/content.js';

// BLAKE3-team/BLAKE3 test_vectors/test_vectors.json, "hash" field (131-byte extended output).
// Input: bytes 0,1,...,250,0,1,... of length input_len.
const BLAKE3_VECTORS: [number, string][] = [
  [
    0,
    'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262e00f03e7b69af26b7faaf09fcd333050338ddfe085b8cc869ca98b206c08243a26f5487789e8f660afe6c99ef9e0c52b92e7393024a80459cf91f476f9ffdbda7001c22e159b402631f277ca96f2defdf1078282314e763699a31c5363165421cce14d',
  ],
  [
    1,
    '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213c3a6cb8bf623e20cdb535f8d1a5ffb86342d9c0b64aca3bce1d31f60adfa137b358ad4d79f97b47c3d5e79f179df87a3b9776ef8325f8329886ba42f07fb138bb502f4081cbcec3195c5871e6c23e2cc97d3c69a613eba131e5f1351f3f1da786545e5',
  ],
  [
    1023,
    '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11a182d27a591b05592b15607500e1e8dd56bc6c7fc063715b7a1d737df5bad3339c56778957d870eb9717b57ea3d9fb68d1b55127bba6a906a4a24bbd5acb2d123a37b28f9e9a81bbaae360d58f85e5fc9d75f7c370a0cc09b6522d9c8d822f2f28f485',
  ],
  [
    1024,
    '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af71cf8107265ecdaf8505b95d8fcec83a98a6a96ea5109d2c179c47a387ffbb404756f6eeae7883b446b70ebb144527c2075ab8ab204c0086bb22b7c93d465efc57f8d917f0b385c6df265e77003b85102967486ed57db5c5ca170ba441427ed9afa684e',
  ],
  [
    1025,
    'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444f4c4a22b4b399155358a994e52bf255de60035742ec71bd08ac275a1b51cc6bfe332b0ef84b409108cda080e6269ed4b3e2c3f7d722aa4cdc98d16deb554e5627be8f955c98e1d5f9565a9194cad0c4285f93700062d9595adb992ae68ff12800ab67a',
  ],
  [
    2048,
    'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a9a60bf80001410ec9eea6698cd537939fad4749edd484cb541aced55cd9bf54764d063f23f6f1e32e12958ba5cfeb1bf618ad094266d4fc3c968c2088f677454c288c67ba0dba337b9d91c7e1ba586dc9a5bc2d5e90c14f53a8863ac75655461cea8f9',
  ],
  [
    2049,
    '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b687952256303096de31d71d74103403822a2e0bc1eb193e7aecc9643a76b7bbc0c9f9c52e8783aae98764ca468962b5c2ec92f0c74eb5448d519713e09413719431c802f948dd5d90425a4ecdadece9eb178d80f26efccae630734dff63340285adec2aed3b51073ad3',
  ],
  [
    3072,
    'b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd29a3f6b0b978d6608335c09dc94ccf682f9951cdfc501bfe47b9c9189a6fc7b404d120258506341a6d802857322fbd20d3e5dae05b95c88793fa83db1cb08e7d8008d1599b6209d78336e24839724c191b2a52a80448306e0daa84a3fdb566661a37e11',
  ],
  [
    4097,
    '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb99505f91b0b5600a11251652eacfa9497b31cd3c409ce2e45cfe6c0a016967316c426bd26f619eab5d70af9a418b845c608840390f361630bd497b1ab44019316357c61dbe091ce72fc16dc340ac3d6e009e050b3adac4b5b2c92e722cffdc46501531956',
  ],
  [
    8193,
    'bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3bb2282aa69be089359ea1154b9a9286c4a56af4de975a9aa4a5c497654914d279bea60bb6d2cf7225a2fa0ff5ef56bbe4b149f3ed15860f78b4e2ad04e158e375c1e0c0b551cd7dfc82f1b155c11b6b3ed51ec9edb30d133653bb5709d1dbd55f4e1ff6',
  ],
  [
    16384,
    'f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde49d764c270176e53e97bdffa58d549073f2c660be0e81293767ed4e4929f9ad34bbb39a529334c57c4a381ffd2a6d4bfdbf1482651b172aa883cc13408fa67758a3e47503f93f87720a3177325f7823251b85275f64636a8f1d599c2e49722f42e93893',
  ],
  [
    31744,
    '62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47860cc51f2b0c28a7b77304bd55fe73af663c02d3f52ea053ba43431ca5bab7bfea2f5e9d7121770d88f70ae9649ea713087d1914f7f312147e247f87eb2d4ffef0ac978bf7b6579d57d533355aa20b8b77b13fd09748728a5cc327a8ec470f4013226f',
  ],
  [
    102400,
    'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085e01c59dab908c04c3342b816941a26d69c2605ebee5ec5291cc55e15b76146e6745f0601156c3596cb75065a9c57f35585a52e1ac70f69131c23d611ce11ee4ab1ec2c009012d236648e77be9295dd0426f29b764d65de58eb7d01dd42248204f45f8e',
  ],
];

function vectorInput(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i % 251;
  return out;
}

describe('BLAKE3 known answers (official test vectors)', () => {
  it.each(BLAKE3_VECTORS)('input_len %i: 32-byte hash and the 131-byte extended output', async (length, expected) => {
    const input = vectorInput(length);
    expect(toHex(await blake3(input))).toBe(expected.slice(0, 64));
    // The extended output of the same WebAssembly implementation kiln uses.
    const xof = await createBLAKE3(131 * 8);
    xof.init();
    xof.update(input);
    expect(xof.digest('hex')).toBe(expected);
    // Incremental updates in odd chunk sizes give the same digest.
    const h = await createBlake3();
    for (let at = 0; at < input.length; at += 997) h.update(input.subarray(at, at + 997));
    expect(toHex(h.digest())).toBe(expected.slice(0, 64));
  });

  it('streams a file from disk (blake3Content) with the same result', async () => {
    const dir = tempDir('kiln-blake3-');
    const path = join(dir, 'v.bin');
    writeFileSync(path, vectorInput(102400));
    expect(toHex(await blake3Content(await fileContent(path)))).toBe(BLAKE3_VECTORS.at(-1)![1].slice(0, 64));
  });

  it('property: agrees with the independent pure-JS implementation (@noble/hashes), and zeroed ranges equal hashing a zeroed copy', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.array(
          fc.record({ offset: fc.integer({ min: -10, max: 5100 }), length: fc.integer({ min: 0, max: 3000 }) }),
          { maxLength: 4 },
        ),
        async (data, ranges) => {
          expect(toHex(await blake3(data))).toBe(toHex(nobleBlake3(data)));
          const copy = data.slice();
          for (const r of ranges)
            for (let i = Math.max(0, r.offset); i < Math.min(copy.length, r.offset + r.length); i++) copy[i] = 0;
          expect(toHex(await blake3WithZeroedRanges(data, ranges))).toBe(toHex(nobleBlake3(copy)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

// RFC 8032 §7.1: TEST 1, TEST 2, TEST 3 (secret key = seed, public key, message, signature).
const ED25519_VECTORS = [
  [
    'TEST 1',
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  ],
  [
    'TEST 2',
    '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  ],
  [
    'TEST 3',
    'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  ],
] as const;

describe('Ed25519 known answers (RFC 8032 §7.1)', () => {
  it.each(ED25519_VECTORS)('%s: public key, signature, verification', (_name, seed, pub, msg, sig) => {
    expect(toHex(ed25519PublicKey(fromHex(seed)))).toBe(pub);
    expect(toHex(ed25519Sign(fromHex(seed), fromHex(msg)))).toBe(sig);
    expect(ed25519Verify(fromHex(pub), fromHex(msg), fromHex(sig))).toBe(true);
    const bad = fromHex(sig);
    bad[0]! ^= 1;
    expect(ed25519Verify(fromHex(pub), fromHex(msg), bad)).toBe(false);
    expect(ed25519Verify(fromHex(pub), fromHex(msg), bad.subarray(0, 63))).toBe(false);
  });
});

describe('ML-DSA-65 known answers (FIPS 204, NIST ACVP keyGen)', () => {
  const vector = JSON.parse(
    readFileSync(join(import.meta.dirname, 'fixtures', 'ml-dsa-65-keygen-acvp.json'), 'utf8'),
  ) as { seed: string; pk: string; sk: string };

  it('deterministic key generation from the ACVP seed gives the expected public and secret keys', () => {
    const { publicKey, secretKey } = mlDsa65KeyPair(fromHex(vector.seed));
    expect(toHex(publicKey).toUpperCase()).toBe(vector.pk);
    expect(toHex(secretKey).toUpperCase()).toBe(vector.sk);
  });

  it('signs with the ACVP key and verifies; a changed message, signature or key fails', () => {
    const seed = fromHex(vector.seed);
    const pk = fromHex(vector.pk);
    const message = new Uint8Array(32).fill(0xa5);
    const signature = mlDsa65Sign(seed, message);
    expect(signature.length).toBe(3309);
    // Deterministic signing (FIPS 204 §3.4): same input, same signature.
    expect(toHex(mlDsa65Sign(seed, message))).toBe(toHex(signature));
    expect(mlDsa65Verify(pk, message, signature)).toBe(true);
    const other = message.slice();
    other[31]! ^= 1;
    expect(mlDsa65Verify(pk, other, signature)).toBe(false);
    const badSig = signature.slice();
    badSig[100]! ^= 1;
    expect(mlDsa65Verify(pk, message, badSig)).toBe(false);
    const badKey = pk.slice();
    badKey[40]! ^= 1;
    expect(mlDsa65Verify(badKey, message, signature)).toBe(false);
    expect(mlDsa65Verify(pk, message, signature.subarray(1))).toBe(false);
  });
});
