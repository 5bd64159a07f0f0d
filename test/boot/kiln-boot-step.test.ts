// The kiln-boot steps as a project uses them, without booting: the loader is built by the graph
// (Zig, from kiln's loader/), cached like any step, rebuilt when its configuration changes, and a
// key the loader cannot check at boot is refused with a message naming it.
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderLoaderConfig } from '../../src/boot/loader-config.js';
import { generateKeyPair, writeKeyFiles } from '../../src/sign/index.js';
import { runKilnAsync, tempDir } from '../_helpers.js';

const dir = join(tempDir('kiln-boot-step-'), 'p');
const otherRoot = tempDir('kiln-boot-step-other-');
const config = (
  cmdline: string,
  key = 'keys/kiln-ed25519.pub',
) => `import { defineConfig, gpt, kilnBootEsp } from 'kiln';
export default defineConfig({
  name: 'kbstep',
  images: { disk: gpt({ size: '48M', partitions: [kilnBootEsp({ size: '40M', kernel: 'kernel.elf', cmdline: ${JSON.stringify(cmdline)}, verify: { key: '${key}' } })] }) },
});
`;

describe('kilnBootEsp() / kilnBootLoader() in a project', () => {
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kernel.elf'), 'not booted in this test\n');
    await writeKeyFiles(await generateKeyPair('ed25519', new Uint8Array(32).fill(3)), join(dir, 'keys'));
    await writeKeyFiles(await generateKeyPair('ml-dsa-65', new Uint8Array(32).fill(4)), join(dir, 'keys'));
  });

  it('builds BOOTX64.EFI with Zig, then restores nothing and reruns nothing on an unchanged config', async () => {
    writeFileSync(join(dir, 'kiln.config.ts'), config('quiet'));
    const first = await runKilnAsync(['build', '--plain'], { cwd: dir, timeoutMs: 300_000 });
    expect(first.status, first.stderr).toBe(0);
    const [tag] = readdirSync(join(dir, 'build/x86_64-debug/kiln-boot'));
    const efi = readFileSync(join(dir, 'build/x86_64-debug/kiln-boot', tag!, 'BOOTX64.EFI'));
    expect(efi.subarray(0, 2).toString('latin1')).toBe('MZ');
    expect(efi.readUInt16LE(efi.readUInt32LE(0x3c) + 4)).toBe(0x8664); // PE machine: x86-64
    expect(efi.readUInt16LE(efi.readUInt32LE(0x3c) + 24 + 68)).toBe(10); // subsystem: EFI application
    const again = await runKilnAsync(['build', '--plain'], { cwd: dir });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 ran/);
  }, 400_000);

  it('the loader is bit-reproducible: built from nothing in another folder, the same bytes (link time and PDB GUID fixed)', async () => {
    const other = join(otherRoot, 'a', 'deeper', 'p');
    cpSync(dir, other, { recursive: true, filter: (src) => !/\/(build|\.kiln)(\/|$)/.test(src.slice(dir.length)) });
    const r = await runKilnAsync(['build', '--plain'], { cwd: other, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/built kiln-boot/);
    const [tag] = readdirSync(join(dir, 'build/x86_64-debug/kiln-boot'));
    const efi = (root: string): Buffer => readFileSync(join(root, 'build/x86_64-debug/kiln-boot', tag!, 'BOOTX64.EFI'));
    expect(efi(other).equals(efi(dir))).toBe(true);
    const pe = efi(other).readUInt32LE(0x3c);
    expect(efi(other).readUInt32LE(pe + 8)).toBe(315532800); // TimeDateStamp: kiln's default SOURCE_DATE_EPOCH
  }, 400_000);

  it('a new command line is a new loader (it is built into the loader)', async () => {
    writeFileSync(join(dir, 'kiln.config.ts'), config('console=ttyS0'));
    const r = await runKilnAsync(['build', '--plain'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/built kiln-boot/);
    expect(readdirSync(join(dir, 'build/x86_64-debug/kiln-boot'))).toHaveLength(2);
  }, 400_000);

  it('an ML-DSA-65 key given as the Ed25519 key is refused, naming verify.mlDsaKey', async () => {
    writeFileSync(join(dir, 'kiln.config.ts'), config('quiet', 'keys/kiln-ml-dsa-65.pub'));
    const r = await runKilnAsync(['build', '--plain'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("verify.key is kiln-boot's Ed25519 key; keys/kiln-ml-dsa-65.pub is an ml-dsa-65 key");
  }, 400_000);

  it('verify: {} trusts the key sign() uses: SIGNING_KEY, and a release build refuses the dev key', async () => {
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { defineConfig, gpt, kilnBootEsp } from 'kiln';
export default defineConfig({
  name: 'kbstep',
  profiles: { release: { release: true } },
  images: { disk: gpt({ size: '48M', partitions: [kilnBootEsp({ size: '40M', kernel: 'kernel.elf', verify: {} })] }) },
});
`,
    );
    const refused = await runKilnAsync(['build', '--plain', '-p', 'release'], {
      cwd: dir,
      env: { SIGNING_KEY: '' },
      timeoutMs: 300_000,
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('a release build refuses the development key');
    const seed = new Uint8Array(32).fill(5);
    const ci = await generateKeyPair('ed25519', seed);
    const hex = Buffer.from(seed).toString('hex');
    const r = await runKilnAsync(['build', '--plain', '-p', 'release'], {
      cwd: dir,
      env: { SIGNING_KEY: hex },
      timeoutMs: 300_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const log = readFileSync(join(dir, 'build/logs/build.log'), 'utf8');
    expect(log).toContain(`kiln-boot: trusting Ed25519 key ${ci.publicKey.keyId} (the project's signing key)`);
    expect(log + r.stderr).not.toContain(hex);
  }, 400_000);

  it('the generated config refuses what the loader could not use', () => {
    const base = { arch: 'x86_64' as const, kernelPath: '/kernel.elf', cmdline: '', version: '0' };
    expect(() => renderLoaderConfig({ ...base, kernelPath: 'kernel.elf' })).toThrow(
      /"kernel path" expected an absolute path/,
    );
    expect(() => renderLoaderConfig({ ...base, initrdPath: '/a b' })).toThrow(/"initrd path"/);
    expect(() => renderLoaderConfig({ ...base, cmdline: 'x'.repeat(4097) })).toThrow(
      /"cmdline" expected at most 4096 bytes/,
    );
    expect(renderLoaderConfig({ ...base, cmdline: 'a "quoted" \\\\ line' })).toContain(
      'pub const cmdline: []const u8 = "a \\"quoted\\" \\\\\\\\ line";',
    );
  });
});
