// kiln/sign: make an Ed25519 key pair, sign an artifact with a detached signature (BLAKE3 of the
// bytes, signed), verify it, and see a one-byte change fail verification.
import assert from 'node:assert/strict';
import { encodeUtf8, toHex } from 'kiln/io';
import { blake3, generateKeyPair, signBlob, signingKeyFromSeed, verifyBlob } from 'kiln/sign';

const pair = await generateKeyPair('ed25519');
const key = await signingKeyFromSeed('ed25519', pair.seed, { source: 'memory', origin: 'example' });
const artifact = encodeUtf8('a disk image, a kernel, an update bundle\n');
const signature = await signBlob(artifact, [key]);

const good = await verifyBlob(artifact, signature, [pair.publicKey]);
assert.equal(good.ok, true);
console.log(`blake3 ${toHex(await blake3(artifact)).slice(0, 16)}..., key ${pair.publicKey.keyId}: ${good.message}`);

const tampered = artifact.slice();
tampered[0] ^= 1;
const bad = await verifyBlob(tampered, signature, [pair.publicKey]);
assert.equal(bad.ok, false);
console.log(`tampered copy: ${bad.message}`);
