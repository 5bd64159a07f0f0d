// examples/nonos end to end: cargo + build.rs (clang-compiled C library) for the generated
// x86_64-nonos target, kiln's sign() step producing kernel.bin (ELF64 at 1 MiB, entry kernel_main,
// the seed's sections), `kiln verify` accepting it and refusing a flipped byte, the signature checked
// independently (BLAKE3 of the file with .nonos.sig zeroed, Ed25519 by node's crypto), the CI key
// from SIGNING_KEY, a release build refusing the dev key, a QEMU -kernel (PVH) boot to the C
// self-test line and a clean isa-debug-exit, and the same kernel.bin from a verified-boot UEFI disk
// (kiln-boot checks .nonos.sig with the signing key before it starts kernel_main).
import { createHash, createPublicKey, verify } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBLAKE3 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { repoRoot, runKiln, runKilnAsync, tempDir, tool } from '../_helpers.js';

const example = join(repoRoot, 'examples/nonos');
const work = tempDir('kiln-nonos-');
const dir = join(work, 'nonos');
cpSync(example, dir, { recursive: true, filter: (src) => !/\/(build|\.kiln|target)(\/|$)/.test(src.slice(example.length)) });
const debugBin = join(dir, 'build/x86_64-debug/kernel.bin');
const devPub = join(dir, '.kiln/keys/dev-ed25519.pub');
const noKeyEnv = { SIGNING_KEY: '' };

/** Section name -> [file offset, size] from readelf -S -W. */
function sections(file: string): Map<string, [number, number]> {
  const map = new Map<string, [number, number]>();
  for (const m of tool(['readelf', '-S', '-W', file]).stdout.matchAll(/\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/g)) {
    map.set(m[1]!, [parseInt(m[2]!, 16), parseInt(m[3]!, 16)]);
  }
  return map;
}

function verifyJson(file: string, key: string): { status: number | null; json: { ok: boolean; verifiedBy?: Array<{ keyId: string }>; checks: Array<{ check: string; ok: boolean; detail: string }>; manifest?: Record<string, unknown> } } {
  const r = runKiln(['verify', file, '--key', key, '--section', '.nonos.sig', '--manifest-section', '.nonos.manifest', '--json'], { cwd: dir });
  return { status: r.status, json: JSON.parse(r.stdout) };
}

describe('examples/nonos', () => {
  it('builds kernel.bin: ELF64 at 1 MiB, entry kernel_main, the seed\'s sections, the C library linked', async () => {
    const r = await runKilnAsync(['build', '--plain'], { cwd: dir, env: noKeyEnv, timeoutMs: 600_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const h = tool(['readelf', '-h', '-l', '-W', debugBin]).stdout;
    expect(h).toMatch(/Class:\s+ELF64/);
    expect(h).toMatch(/Machine:\s+Advanced Micro Devices X86-64/);
    const entry = /Entry point address:\s+(0x[0-9a-f]+)/.exec(h)![1]!;
    expect(h).toMatch(/LOAD\s+0x[0-9a-f]+ 0x0000000000100000 0x0000000000100000/);
    const syms = tool(['nm', debugBin]).stdout;
    expect(syms).toMatch(new RegExp(`^0*${entry.slice(2)} T kernel_main$`, 'm'));
    expect(Number(entry)).toBeGreaterThanOrEqual(0x100000);
    expect(Number(entry)).toBeLessThan(0x200000);
    // build.rs compiled the C library (FIPS 202 + ML-KEM NTT) and it was linked in.
    for (const sym of ['pqclean_selftest', 'sha3_256', 'keccak_f1600', 'mlkem_ntt', 'pvh_start32']) expect(syms).toMatch(new RegExp(` T ${sym}$`, 'm'));
    const s = sections(debugBin);
    for (const name of ['.text', '.rodata', '.data', '.bss', '.nonos.manifest', '.nonos.sig']) expect(s.has(name), name).toBe(true);
    expect(s.get('.nonos.sig')![1]).toBe(64);
    // Stripped before signing (the seed's "stripped" kernel.bin); the DWARF is in kernel.debug, named by .gnu_debuglink.
    expect([...s.keys()].filter((n) => n.startsWith('.debug'))).toEqual([]);
    expect(s.has('.gnu_debuglink')).toBe(true);
    expect(readFileSync(debugBin).length).toBeLessThan(256 * 1024);
    expect(sections(join(dir, 'build/x86_64-debug/kernel.debug')).has('.debug_info')).toBe(true);
    const all = tool(['readelf', '-a', '-W', debugBin]);
    expect(all.status).toBe(0);
    expect(all.stderr).toBe('');
    // The PVH note QEMU -kernel needs.
    expect(tool(['readelf', '-n', debugBin]).stdout).toMatch(/Xen\s+0x00000004\s+Unknown note type: \(0x00000012\)/);
    // The committed target spec, used as it is: no red zone, soft-float, abort on panic.
    expect(readFileSync(join(dir, 'build/logs/build.log'), 'utf8')).toContain('rust target: x86_64-nonos.json as it is (x86_64, 64-bit pointers, panic=abort)');
    const spec = JSON.parse(readFileSync(join(dir, 'x86_64-nonos.json'), 'utf8')) as Record<string, unknown>;
    expect(spec).toMatchObject({ 'disable-redzone': true, features: '-mmx,-sse,+soft-float', 'panic-strategy': 'abort' });
  }, 600_000);

  it('kiln verify accepts kernel.bin with the dev key; a flipped byte anywhere signed fails', async () => {
    const good = verifyJson(debugBin, devPub);
    expect(good.status).toBe(0);
    expect(good.json.ok).toBe(true);
    expect(good.json.manifest).toMatchObject({ project: 'nonos', version: '0.1.0', arch: 'x86_64', profile: 'debug' });
    const bytes = readFileSync(debugBin);
    const s = sections(debugBin);
    const cases: Array<[string, number, string]> = [
      ['.text', s.get('.text')![0] + 0x40, 'manifest-mismatch'],
      ['.rodata', s.get('.rodata')![0] + 3, 'manifest-mismatch'],
      ['.nonos.sig', s.get('.nonos.sig')![0] + 10, 'ed25519'],
      ['.nonos.manifest', s.get('.nonos.manifest')![0] + s.get('.nonos.manifest')![1] - 5, ''],
    ];
    for (const [name, offset, check] of cases) {
      const bad = Buffer.from(bytes);
      bad.writeUInt8(bad.readUInt8(offset) ^ 0x01, offset);
      const f = join(work, `flipped${name}.bin`);
      writeFileSync(f, bad);
      const r = verifyJson(f, devPub);
      expect(r.status, name).toBe(1);
      expect(r.json.ok).toBe(false);
      const failed = r.json.checks.filter((c) => !c.ok).map((c) => c.check);
      expect(failed.length, name).toBeGreaterThan(0);
      if (check) expect(failed, name).toContain(check);
    }
  });

  it('independent check: Ed25519 (node crypto) over BLAKE3 of the file excluding .nonos.sig (the seed\'s rule)', async () => {
    const bytes = Buffer.from(readFileSync(debugBin));
    const [off, size] = sections(debugBin).get('.nonos.sig')!;
    const signature = Buffer.from(bytes.subarray(off, off + size));
    const blake3 = await createBLAKE3(256);
    blake3.update(bytes.subarray(0, off));
    blake3.update(bytes.subarray(off + size));
    const digest = Buffer.from(blake3.digest('binary'));
    // kiln verify says which rule the signature was made with (the manifest records it).
    const v = runKiln(['verify', debugBin, '--key', devPub, '--section', '.nonos.sig', '--manifest-section', '.nonos.manifest'], { cwd: dir });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toContain('canonicalization: exclude (BLAKE3 of the file with the signature sections\' bytes left out; recorded in the manifest)');
    const pubHex = /^public: ([0-9a-f]{64})$/m.exec(readFileSync(devPub, 'utf8'))![1]!;
    const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(pubHex, 'hex')]), format: 'der', type: 'spki' });
    expect(verify(null, digest, key, signature)).toBe(true);
    // The zeroing rule (a verifier that zeroes the section in place) would not accept it.
    bytes.fill(0, off, off + size);
    const zeroed = await createBLAKE3(256);
    zeroed.update(bytes);
    expect(verify(null, Buffer.from(zeroed.digest('binary')), key, signature)).toBe(false);
  });

  it('boots with QEMU -kernel (PVH note) to the C self-test line and a clean isa-debug-exit', async () => {
    const r = await runKilnAsync(['test'], { cwd: dir, env: noKeyEnv, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/kernel: PVH ELF note/);
    expect(r.stderr).toMatch(/PASS boot \[x86_64\].*isa-debug-exit exit: guest code 0.*all 5 expectations matched in order/);
    const serial = readFileSync(join(dir, 'build/logs/tests/boot-x86_64/serial.log'), 'utf8');
    expect(serial).toContain('NONOS kernel_main at 0x100000');
    expect(serial).toContain('NONOS: started through the PVH note');
    expect(serial).toContain('NONOS: PQClean self-test: sha3-256 ok, shake128 ok, ml-kem ntt ok (result 0x7)');
    // The kernel's SHA3-256 (C, soft-float bare metal) agrees with OpenSSL's.
    expect(serial).toContain(`sha3-256("NONOS") = ${createHash('sha3-256').update('NONOS').digest('hex')}`);
    // Verified boot next to it: kiln-boot under OVMF checks .nonos.sig (exclude rule) with the key
    // sign() used, then starts the same kernel.bin in long mode with its boot-info record.
    expect(r.stderr).toMatch(/PASS verifiedBoot \[x86_64\].*isa-debug-exit exit: guest code 0.*all 6 expectations matched in order/);
    const uefi = readFileSync(join(dir, 'build/logs/tests/verifiedBoot-x86_64/serial.log'), 'latin1').replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '');
    const keyId = /^key-id: ([0-9a-f]{16})$/m.exec(readFileSync(devPub, 'utf8'))![1]!;
    expect(uefi).toContain(`kiln-boot: signature ok (key ${keyId}, Ed25519; checked in`);
    expect(uefi).toContain('kiln-boot: jumping to 0x100000 ');
    expect(uefi).toContain('NONOS: started by kiln-boot (record v1, signature verified: true)');
    expect(uefi).toContain('NONOS: self-test passed');
  }, 300_000);

  it('release: refuses the dev key without SIGNING_KEY; signs with the CI key from SIGNING_KEY (another key id) and boots', async () => {
    const refused = await runKilnAsync(['build', '--plain', '-p', 'release'], { cwd: dir, env: noKeyEnv, timeoutMs: 600_000 });
    expect(refused.status).toBe(1);
    // sign() and the verified-boot loader (which trusts the signing key) refuse it alike; the first to run says so.
    expect(refused.stderr).toMatch(/FAILED (sign|kiln-boot-\d+): a release build refuses the development key \(no key file given and SIGNING_KEY is not set\)/);
    expect(refused.stderr).toContain('hint: sign releases with your own key: --key FILE (or sign({ key })) or SIGNING_KEY');
    expect(refused.stderr).toContain('pass --allow-dev-key');
    // The CI key: a fresh pair; its seed goes into SIGNING_KEY the way a CI secret would.
    const keys = join(work, 'ci-keys');
    const gen = await runKilnAsync(['keygen', '--out', keys, '--prefix', 'ci', '--json'], { cwd: dir });
    expect(gen.status, gen.stderr).toBe(0);
    const seed = /^seed: ([0-9a-f]{64})$/m.exec(readFileSync(join(keys, 'ci-ed25519.key'), 'utf8'))![1]!;
    const env = { SIGNING_KEY: seed };
    const built = await runKilnAsync(['build', '--plain', '-p', 'release'], { cwd: dir, env, timeoutMs: 600_000 });
    expect(built.status, built.stderr + built.stdout).toBe(0);
    expect(built.stderr + built.stdout).not.toContain(seed);
    const releaseBin = join(dir, 'build/x86_64-release/kernel.bin');
    const ci = verifyJson(releaseBin, join(keys, 'ci-ed25519.pub'));
    expect(ci.status).toBe(0);
    expect(ci.json.manifest).toMatchObject({ profile: 'release' });
    const dev = verifyJson(debugBin, devPub);
    expect(ci.json.verifiedBy![0]!.keyId).not.toBe(dev.json.verifiedBy![0]!.keyId);
    // The dev key does not verify the CI-signed kernel, and says which key it was signed by.
    const wrong = verifyJson(releaseBin, devPub);
    expect(wrong.status).toBe(1);
    expect(wrong.json.checks.find((c) => !c.ok)!.detail).toContain(ci.json.verifiedBy![0]!.keyId);
    const boot = await runKilnAsync(['test', '-p', 'release'], { cwd: dir, env, timeoutMs: 300_000 });
    expect(boot.status, boot.stderr).toBe(0);
    expect(boot.stderr).toMatch(/PASS boot \[x86_64\]/);
    // The release disk's loader trusts the CI key (the one sign() used), not the dev key.
    expect(boot.stderr).toMatch(/PASS verifiedBoot \[x86_64\]/);
    expect(readFileSync(join(dir, 'build/logs/tests/verifiedBoot-x86_64/serial.log'), 'latin1')).toContain(`signature ok (key ${ci.json.verifiedBy![0]!.keyId},`);
  }, 600_000);

  it('a raw 32-byte dev_signing_key.bin next to the project is the dev key (the seed\'s name)', async () => {
    const raw = join(dir, 'dev_signing_key.bin');
    writeFileSync(raw, Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 29 + 3) & 0xff)));
    try {
      const r = await runKilnAsync(['build', '--plain'], { cwd: dir, env: noKeyEnv, timeoutMs: 600_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const rawPub = join(dir, '.kiln/keys/dev-signing-key.pub');
      const good = verifyJson(debugBin, rawPub);
      expect(good.status).toBe(0);
      // Not the key kiln generated earlier.
      const old = verifyJson(debugBin, devPub);
      expect(old.status).toBe(1);
      expect(good.json.verifiedBy![0]!.keyId).not.toBe('');
    } finally {
      rmSync(raw);
    }
  }, 600_000);
});
