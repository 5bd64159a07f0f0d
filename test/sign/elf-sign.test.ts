import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PT_LOAD } from '../../src/formats/elf/_constants.js';
import { findSection, readElf } from '../../src/formats/elf/read.js';
import { toHex } from '../../src/formats/io/bytes.js';
import {
  decodeManifestWithLocations,
  DEFAULT_SIGN_SECTIONS,
  generateKeyPair,
  MANIFEST_TAGS,
  NONOS_SIGN_SECTIONS,
  signElf,
  signingKeyFromSeed,
  verifyElf,
  type ManifestInput,
  type PublicKey,
  type SigningKey,
} from '../../src/sign/index.js';
import { tempDir, tool } from '../_helpers.js';
import { buildClangKernel, buildNasmKernel } from './_kernels.js';

const dir = tempDir('kiln-sign-elf-');
const manifestInput: ManifestInput = {
  project: 'kozo',
  version: '0.0.1',
  gitCommit: 'c0ffee',
  buildTime: 1_700_000_000,
  arch: 'x86_64',
  profile: 'release',
  initrd: { 'bin/init': new Uint8Array(32).fill(1) },
  toolchain: { nasm: '2.16', 'ld.lld': '14' },
  flags: { 'kernel.nx': 'true' },
};

let ed: SigningKey;
let ml: SigningKey;
let edPub: PublicKey;
let mlPub: PublicKey;
let nasmKernel: Uint8Array;
let clangKernel: Uint8Array;

beforeAll(async () => {
  const e = await generateKeyPair('ed25519', new Uint8Array(32).fill(7));
  const m = await generateKeyPair('ml-dsa-65', new Uint8Array(32).fill(9));
  ed = await signingKeyFromSeed('ed25519', e.seed);
  ml = await signingKeyFromSeed('ml-dsa-65', m.seed);
  edPub = e.publicKey;
  mlPub = m.publicKey;
  nasmKernel = buildNasmKernel(dir);
  clangKernel = buildClangKernel(dir);
});

function readelfWarnings(bytes: Uint8Array, name: string): { out: string; err: string; status: number | null } {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const r = tool(['readelf', '-a', '-W', path]);
  return { out: r.stdout, err: r.stderr, status: r.status };
}

describe('signElf / verifyElf on real kernels', () => {
  it('signs a NASM kernel (Ed25519) and verifies; loadable segments are unchanged; readelf -a accepts it', async () => {
    const before = readElf(nasmKernel);
    const { bytes, manifest, signatures } = await signElf(nasmKernel, { keys: [ed], manifest: manifestInput });
    expect(signatures.map((s) => s.section)).toEqual(['.kiln.sig']);
    const result = await verifyElf(bytes, [edPub]);
    expect(result.message).toMatch(/^valid/);
    expect(result.ok).toBe(true);
    expect(result.manifest?.project).toBe('kozo');
    expect(manifest.signers).toEqual([{ algorithm: 'ed25519', keyId: edPub.keyId }]);
    const after = readElf(bytes);
    for (const seg of before.segments.filter((s) => s.type === PT_LOAD)) {
      const same = after.segments[seg.index]!;
      expect(same.vaddr).toBe(seg.vaddr);
      expect(toHex(bytes.subarray(same.offset, same.offset + same.filesz))).toBe(
        toHex(nasmKernel.subarray(seg.offset, seg.offset + seg.filesz)),
      );
    }
    const sig = findSection(after, '.kiln.sig')!;
    expect(sig.size).toBe(64);
    const r = readelfWarnings(bytes, 'signed-nasm.elf');
    expect(r.status).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/\.kiln\.manifest/);
    expect(r.out).toMatch(/\.kiln\.sig\s/);
  });

  it('signs a clang kernel with NØNOS section names and hybrid ML-DSA-65; both must hold', async () => {
    const { bytes } = await signElf(clangKernel, {
      keys: [ed, ml],
      manifest: manifestInput,
      sections: NONOS_SIGN_SECTIONS,
    });
    const elf = readElf(bytes);
    expect(findSection(elf, '.nonos.sig')!.size).toBe(64);
    expect(findSection(elf, '.nonos.sig.mldsa')!.size).toBe(3309);
    expect((await verifyElf(bytes, [edPub, mlPub], { sections: NONOS_SIGN_SECTIONS })).ok).toBe(true);
    // Without the ML-DSA public key the kernel does not verify: its key id is unknown.
    const noMl = await verifyElf(bytes, [edPub], { sections: NONOS_SIGN_SECTIONS });
    expect(noMl.reason).toBe('unknown-key-id');
    // Default section names do not find the NØNOS sections.
    expect((await verifyElf(bytes, [edPub, mlPub])).reason).toBe('missing-section');
    const r = readelfWarnings(bytes, 'signed-clang.elf');
    expect(r.err).toBe('');
    expect(r.out).toMatch(/\.nonos\.sig\.mldsa/);
  });

  it('re-signing a signed kernel replaces the sections in place and still verifies', async () => {
    const once = (await signElf(nasmKernel, { keys: [ed, ml], manifest: manifestInput })).bytes;
    const twice = (await signElf(once, { keys: [ed], manifest: { ...manifestInput, version: '0.0.2' } })).bytes;
    const result = await verifyElf(twice, [edPub]);
    expect(result.ok).toBe(true);
    expect(result.manifest?.version).toBe('0.0.2');
    expect(findSection(readElf(twice), DEFAULT_SIGN_SECTIONS.mlDsaSignature)).toBeUndefined();
  });

  it('stripping the ML-DSA section of a hybrid kernel is detected', async () => {
    const { bytes } = await signElf(nasmKernel, { keys: [ed, ml], manifest: manifestInput });
    const path = join(dir, 'hybrid.elf');
    writeFileSync(path, bytes);
    const out = join(dir, 'stripped-ml.elf');
    expect(tool(['llvm-objcopy', '--remove-section=.kiln.sig.mldsa', path, out]).status).toBe(0);
    const { readFileSync } = await import('node:fs');
    const result = await verifyElf(new Uint8Array(readFileSync(out)), [edPub, mlPub]);
    expect(result.ok).toBe(false);
    // Removing a section changes the file, so the Ed25519 signature over it no longer holds either;
    // the first failure named is the missing section.
    expect(result.reason).toBe('missing-section');
  });

  it('a verifier can demand hybrid even when the manifest lists only Ed25519', async () => {
    const { bytes } = await signElf(nasmKernel, { keys: [ed], manifest: manifestInput });
    const result = await verifyElf(bytes, [edPub, mlPub], { requireAlgorithms: ['ed25519', 'ml-dsa-65'] });
    expect(result.reason).toBe('ml-dsa');
  });

  it('an unsigned kernel fails with missing-section, a non-ELF with not-elf', async () => {
    expect((await verifyElf(nasmKernel, [edPub])).reason).toBe('missing-section');
    expect((await verifyElf(new Uint8Array(100), [edPub])).reason).toBe('not-elf');
  });

  it('a wrong key fails with unknown-key-id', async () => {
    const { bytes } = await signElf(nasmKernel, { keys: [ed], manifest: manifestInput });
    const other = await generateKeyPair('ed25519', new Uint8Array(32).fill(8));
    const result = await verifyElf(bytes, [other.publicKey]);
    expect(result.reason).toBe('unknown-key-id');
    expect(result.message).toContain(edPub.keyId);
  });
});

describe('flipping any single byte makes verify fail with the right reason', () => {
  const runs = Number(process.env.KILN_FUZZ_RUNS ?? 150);

  it('property: bytes of loadable segments, of the manifest and of the signatures', async () => {
    const { bytes } = await signElf(nasmKernel, { keys: [ed, ml], manifest: manifestInput });
    const elf = readElf(bytes);
    const loads = elf.segments.filter((s) => s.type === PT_LOAD && s.filesz > 0);
    // This kernel's segments do not cover the ELF header (as in a kernel linked at 1 MiB).
    expect(loads.every((s) => s.offset >= 64)).toBe(true);
    const manifestSection = findSection(elf, '.kiln.manifest')!;
    const { entries } = decodeManifestWithLocations(manifestSection.data);
    const sig = findSection(elf, '.kiln.sig')!;
    const mlSig = findSection(elf, '.kiln.sig.mldsa')!;
    type Region = { name: string; offset: number; size: number };
    const regions: Region[] = [
      ...loads.map((s) => ({ name: `segment ${s.index}`, offset: s.offset, size: s.filesz })),
      { name: 'manifest', offset: manifestSection.offset, size: manifestSection.size },
      { name: 'ed25519', offset: sig.offset, size: sig.size },
      { name: 'ml-dsa', offset: mlSig.offset, size: mlSig.size },
    ];
    const expected = (region: Region, at: number): string[] => {
      if (region.name.startsWith('segment')) return ['manifest-mismatch'];
      if (region.name === 'ed25519') return ['ed25519'];
      if (region.name === 'ml-dsa') return ['ml-dsa'];
      const rel = at - manifestSection.offset;
      const entry = entries.find((e) => rel >= e.offset && rel < e.valueOffset + e.valueLength);
      if (!entry || rel < entry.valueOffset) return ['manifest-invalid']; // header, tag or length
      if (entry.tag === MANIFEST_TAGS.kernelHash) return ['manifest-mismatch'];
      if (entry.tag === MANIFEST_TAGS.signer)
        return rel === entry.valueOffset
          ? ['manifest-invalid', 'unknown-key-id']
          : ['unknown-key-id', 'manifest-invalid'];
      // Other values: a flip either breaks decoding (UTF-8, ordering) or changes signed content.
      return ['manifest-invalid', 'ed25519'];
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: regions.length - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (ri, pos, xor) => {
          const region = regions[ri]!;
          const at = region.offset + (pos % region.size);
          const copy = bytes.slice();
          copy[at]! ^= xor;
          const result = await verifyElf(copy, [edPub, mlPub]);
          expect(result.ok).toBe(false);
          expect(expected(region, at)).toContain(result.reason);
        },
      ),
      { numRuns: runs },
    );
  });

  it('every byte of the Ed25519 signature and of the kernel hash, exhaustively', async () => {
    const { bytes } = await signElf(clangKernel, { keys: [ed], manifest: manifestInput });
    const elf = readElf(bytes);
    const sig = findSection(elf, '.kiln.sig')!;
    for (let i = 0; i < 64; i++) {
      const copy = bytes.slice();
      copy[sig.offset + i]! ^= 0x01;
      expect((await verifyElf(copy, [edPub])).reason).toBe('ed25519');
    }
    const m = findSection(elf, '.kiln.manifest')!;
    const hashEntry = decodeManifestWithLocations(m.data).entries.find((e) => e.tag === MANIFEST_TAGS.kernelHash)!;
    for (let i = 0; i < 32; i++) {
      const copy = bytes.slice();
      copy[m.offset + hashEntry.valueOffset + i]! ^= 0x80;
      expect((await verifyElf(copy, [edPub])).reason).toBe('manifest-mismatch');
    }
  });
});

describe('signing other ELF classes and byte orders', () => {
  // clang + ld.lld for each target: ELF64 LE/BE, ELF32 LE/BE. Verify, then check readelf reads the
  // result cleanly and that one flipped byte of .text is caught.
  const targets = [
    'aarch64-unknown-none-elf',
    'riscv64-unknown-elf',
    'aarch64_be-unknown-none-elf',
    'powerpc64-unknown-linux-gnu',
    'i386-unknown-none-elf',
    'powerpc-unknown-linux-gnu',
  ];
  it.each(targets)('%s', async (target) => {
    const work = join(dir, `t-${target}`);
    const { mkdirSync, readFileSync } = await import('node:fs');
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'a.c'), 'int counter = 5;\nvoid _start(void) { for (;;) counter++; }\n');
    expect(
      tool(['clang', `--target=${target}`, '-ffreestanding', '-fno-pic', '-O1', '-c', 'a.c', '-o', 'a.o'], {
        cwd: work,
      }).status,
    ).toBe(0);
    expect(tool(['ld.lld', '-static', '-e', '_start', 'a.o', '-o', 'k.elf'], { cwd: work }).status).toBe(0);
    const input = new Uint8Array(readFileSync(join(work, 'k.elf')));
    const { bytes } = await signElf(input, {
      keys: [ed, ml],
      manifest: { ...manifestInput, arch: target.split('-')[0]! },
    });
    expect((await verifyElf(bytes, [edPub, mlPub])).ok).toBe(true);
    const r = readelfWarnings(bytes, `${target}.elf`);
    expect(r.status).toBe(0);
    expect(r.err).toBe('');
    const text = findSection(readElf(bytes), '.text')!;
    const copy = bytes.slice();
    copy[text.offset + 1]! ^= 0x10;
    expect((await verifyElf(copy, [edPub, mlPub])).reason).toBe('manifest-mismatch');
  });
});

describe('sections reserved by the linker script inside a segment (allocated)', () => {
  it('fills reserved .nonos.sig / .nonos.manifest in place; the kernel can read its own signature', async () => {
    const { mkdirSync, readFileSync } = await import('node:fs');
    const work = join(dir, 'reserved');
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'boot.asm'), 'bits 64\nsection .text\nglobal _start\n_start: hlt\n jmp _start\n');
    writeFileSync(
      join(work, 'link.ld'),
      `ENTRY(_start)
SECTIONS {
  . = 0x100000;
  .text : { *(.text*) }
  .nonos.manifest : { __manifest_start = .; LONG(0); . += 1020; }
  .nonos.sig : { __sig_start = .; QUAD(0); QUAD(0); QUAD(0); QUAD(0); QUAD(0); QUAD(0); QUAD(0); QUAD(0); }
}
`,
    );
    expect(tool(['nasm', '-f', 'elf64', 'boot.asm', '-o', 'boot.o'], { cwd: work }).status).toBe(0);
    const link = tool(['ld.lld', '-static', '-T', 'link.ld', 'boot.o', '-o', 'k.elf'], { cwd: work });
    expect(link.stderr).toBe('');
    const input = new Uint8Array(readFileSync(join(work, 'k.elf')));
    const before = readElf(input);
    const sigBefore = findSection(before, '.nonos.sig')!;
    expect(sigBefore.flags & 2).toBe(2); // SHF_ALLOC: loaded with the kernel
    expect(sigBefore.size).toBe(64);
    expect(findSection(before, '.nonos.manifest')!.size).toBe(1024);
    const { bytes } = await signElf(input, { keys: [ed], manifest: manifestInput, sections: NONOS_SIGN_SECTIONS });
    // In place: same size, same section offsets.
    expect(bytes.length).toBe(input.length);
    const after = readElf(bytes);
    expect(findSection(after, '.nonos.sig')!.offset).toBe(sigBefore.offset);
    expect((await verifyElf(bytes, [edPub], { sections: NONOS_SIGN_SECTIONS })).ok).toBe(true);
    // A flipped signature byte is a signature failure (the sections are zeroed in the kernel hash).
    const copy = bytes.slice();
    copy[sigBefore.offset + 5]! ^= 1;
    expect((await verifyElf(copy, [edPub], { sections: NONOS_SIGN_SECTIONS })).reason).toBe('ed25519');
  });
});

describe('canonicalization, recomputed independently', () => {
  it('signed message = BLAKE3(file with signature sections zeroed); kernel hash = documented PT_LOAD records', async () => {
    const { blake3: nobleBlake3 } = await import('@noble/hashes/blake3.js');
    const {
      bytes,
      canonicalHash: signed,
      kernelHash,
    } = await signElf(clangKernel, { keys: [ed, ml], manifest: manifestInput });
    const elf = readElf(bytes);
    const zeroed = bytes.slice();
    for (const name of ['.kiln.sig', '.kiln.sig.mldsa']) {
      const s = findSection(elf, name)!;
      zeroed.fill(0, s.offset, s.offset + s.size);
    }
    expect(toHex(nobleBlake3(zeroed))).toBe(toHex(signed));
    // Kernel hash from the README's definition, with a DataView (no kiln helpers).
    const parts: Uint8Array[] = [];
    for (const seg of elf.segments.filter((s) => s.type === PT_LOAD)) {
      const rec = new Uint8Array(40);
      const v = new DataView(rec.buffer);
      v.setBigUint64(0, seg.vaddr, true);
      v.setBigUint64(8, seg.paddr, true);
      v.setBigUint64(16, BigInt(seg.filesz), true);
      v.setBigUint64(24, seg.memsz, true);
      v.setUint32(32, seg.flags, true);
      parts.push(rec, bytes.subarray(seg.offset, seg.offset + seg.filesz));
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    expect(toHex(nobleBlake3(all))).toBe(toHex(kernelHash));
    // And an Ed25519 signature over that message verifies with OpenSSL's verifier (node:crypto).
    const { verify, createPublicKey } = await import('node:crypto');
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(edPub.publicKey)]);
    const sig = findSection(elf, '.kiln.sig')!.data;
    expect(verify(null, signed, createPublicKey({ key: spki, format: 'der', type: 'spki' }), sig)).toBe(true);
  });
});

describe('canonicalization "exclude" (NØNOS: the signature section left out of the hash)', () => {
  it('signed message = BLAKE3(file without the signature bytes); the manifest records the rule; verify follows it', async () => {
    const { blake3: nobleBlake3 } = await import('@noble/hashes/blake3.js');
    const { verify, createPublicKey } = await import('node:crypto');
    const result = await signElf(clangKernel, {
      keys: [ed],
      manifest: manifestInput,
      sections: NONOS_SIGN_SECTIONS,
      canonicalization: 'exclude',
    });
    const elf = readElf(result.bytes);
    const sig = findSection(elf, '.nonos.sig')!;
    // README: message for P ‖ S ‖ Q is BLAKE3(P ‖ Q).
    const without = new Uint8Array(result.bytes.length - sig.size);
    without.set(result.bytes.subarray(0, sig.offset), 0);
    without.set(result.bytes.subarray(sig.offset + sig.size), sig.offset);
    expect(toHex(nobleBlake3(without))).toBe(toHex(result.canonicalHash));
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(edPub.publicKey)]);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(verify(null, nobleBlake3(without), key, sig.data)).toBe(true);
    // The zeroing rule gives another message: a zeroing verifier rejects this signature.
    const zeroed = result.bytes.slice();
    zeroed.fill(0, sig.offset, sig.offset + sig.size);
    expect(verify(null, nobleBlake3(zeroed), key, sig.data)).toBe(false);
    // Manifest entry 0x0d = 1, and verify reports the rule it used.
    const section = findSection(elf, '.nonos.manifest')!;
    const { entries } = decodeManifestWithLocations(section.data);
    const entry = entries.find((e) => e.tag === MANIFEST_TAGS.canonicalization)!;
    expect(entry.valueLength).toBe(1);
    expect(section.data[entry.valueOffset]).toBe(1);
    const v = await verifyElf(result.bytes, [edPub], { sections: NONOS_SIGN_SECTIONS });
    expect(v.ok, v.message).toBe(true);
    expect(v.canonicalization).toEqual({ rule: 'exclude', recorded: true });
    // The rule is signed: switching the manifest to "zero" breaks the signature (and nothing else).
    const swapped = result.bytes.slice();
    swapped[section.offset + entry.valueOffset] = 0;
    const bad = await verifyElf(swapped, [edPub], { sections: NONOS_SIGN_SECTIONS });
    expect(bad.ok).toBe(false);
    expect(bad.reason).toBe('ed25519');
  });

  it('the default (no option) writes no 0x0d entry: the bytes of earlier kiln signatures, verified as "zero"', async () => {
    const plain = await signElf(nasmKernel, { keys: [ed], manifest: manifestInput });
    const explicit = await signElf(nasmKernel, { keys: [ed], manifest: manifestInput, canonicalization: 'zero' });
    const entries = (b: Uint8Array) =>
      decodeManifestWithLocations(findSection(readElf(b), '.kiln.manifest')!.data).entries.map((e) => e.tag);
    expect(entries(plain.bytes)).not.toContain(MANIFEST_TAGS.canonicalization);
    expect(entries(explicit.bytes)).toContain(MANIFEST_TAGS.canonicalization);
    expect((await verifyElf(plain.bytes, [edPub])).canonicalization).toEqual({ rule: 'zero', recorded: false });
    expect((await verifyElf(explicit.bytes, [edPub])).canonicalization).toEqual({ rule: 'zero', recorded: true });
  });

  it('hybrid: both signature sections are left out, and both signatures hold', async () => {
    const result = await signElf(clangKernel, { keys: [ed, ml], manifest: manifestInput, canonicalization: 'exclude' });
    const v = await verifyElf(result.bytes, [edPub, mlPub]);
    expect(v.ok, v.message).toBe(true);
    expect(v.verifiedBy.map((x) => x.algorithm).sort()).toEqual(['ed25519', 'ml-dsa-65']);
  });
});
