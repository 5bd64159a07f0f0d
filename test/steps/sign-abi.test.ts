// abi() and sign() in a real project: a TOML ABI schema generates a C header the kernel includes
// (the graph orders ABI before the kernel), and the kernel ELF is signed with the project's dev
// key into NØNOS's sections, then verified with `kiln verify`.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';

const dir = join(tempDir('kiln-sign-abi-'), 'p');
const files: Record<string, string> = {
  'abi/demo.abi.toml': `name = "demo"\nversion = "1.0.0"\n\n[syscalls]\nyield = 0\ncap_grant = 1\n\n[flags.rights]\nwidth = 8\nbits = { read = 0, write = 1, grant = 2 }\n`,
  'kernel/main.c': `#include "demo_abi.h"\nunsigned long syscall_count = 2;\nvoid _start(void) { volatile unsigned r = DEMO_RIGHTS_READ | DEMO_RIGHTS_GRANT; (void)r; for (;;) {} }\n`,
  'kernel/link.ld': `ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.text*) } .rodata : { *(.rodata*) } .data : { *(.data*) } .bss : { *(.bss*) } }\n`,
  'kiln.config.ts': `import { defineConfig, abi, cc, sign } from 'kiln';
const demoAbi = abi({ schema: 'abi/demo.abi.toml', langs: ['c', 'rust'] });
const kernel = cc.exe({ name: 'kernel', sources: ['kernel/main.c'], include: [demoAbi.output('demo_abi.h')], linkerScript: 'kernel/link.ld' });
const signed = sign({ input: kernel, sections: 'nonos', output: 'kernel.signed.elf' });
export default defineConfig({ name: 'signdemo', components: { abi: demoAbi, kernel }, images: { signed } });
`,
};

describe('abi() and sign() steps', () => {
  beforeAll(() => {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
  });

  it('generates the header before the kernel that includes it, and signs the kernel', () => {
    const r = runKiln(['build', '--plain', '-j', '1'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const order = [...r.stderr.matchAll(/built (\S+)/g)].map((m) => m[1]);
    expect(order).toEqual(['abi', 'kernel', 'signed']);
    const header = readFileSync(join(dir, 'build/x86_64-debug/abi/demo_abi.h'), 'utf8');
    expect(header).toMatch(/do not edit/i);
    const sections = tool(['readelf', '-S', '-W', join(dir, 'build/x86_64-debug/kernel.signed.elf')]);
    expect(sections.stdout).toContain('.nonos.sig');
    expect(sections.stdout).toContain('.nonos.manifest');
  });

  it('the signature verifies with the dev public key; a flipped byte fails', () => {
    const keys = readdirSync(join(dir, '.kiln/keys'));
    const pub = keys.find((k) => k.endsWith('.pub'))!;
    expect(pub).toBeDefined();
    const elf = join(dir, 'build/x86_64-debug/kernel.signed.elf');
    const ok = runKiln(
      [
        'verify',
        elf,
        '--key',
        join(dir, '.kiln/keys', pub),
        '--section',
        '.nonos.sig',
        '--manifest-section',
        '.nonos.manifest',
      ],
      { cwd: dir },
    );
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const bytes = readFileSync(elf);
    bytes[0x1000] = bytes[0x1000]! ^ 0xff; // inside the loadable text
    const bad = join(dir, 'bad.elf');
    writeFileSync(bad, bytes);
    const fail = runKiln(
      [
        'verify',
        bad,
        '--key',
        join(dir, '.kiln/keys', pub),
        '--section',
        '.nonos.sig',
        '--manifest-section',
        '.nonos.manifest',
      ],
      { cwd: dir },
    );
    expect(fail.status).toBe(1);
  });

  it('an unchanged schema rebuilds nothing; a changed schema reruns abi and the kernel, and stops there when the kernel is byte-identical', () => {
    const again = runKiln(['build', '--plain'], { cwd: dir });
    expect(again.stderr).toMatch(/0 ran/);
    writeFileSync(
      join(dir, 'abi/demo.abi.toml'),
      files['abi/demo.abi.toml']!.replace('cap_grant = 1', 'cap_grant = 1\ncap_revoke = 2'),
    );
    const r = runKiln(['build', '--plain'], { cwd: dir });
    // The new syscall is not used by the kernel: it recompiles to the same bytes, so signing is skipped (early cutoff).
    expect([...r.stderr.matchAll(/built (\S+)/g)].map((m) => m[1])).toEqual(['abi', 'kernel']);
    expect(r.stderr).toMatch(/2 ran, 0 from cache, 1 up to date/);
  });
});

describe('sign() with an external signer (an HSM stand-in)', () => {
  const hsmDir = join(tempDir('kiln-sign-hsm-'), 'p');
  it('signs a release build through the command, which gets the 32-byte hash; the result verifies with its public key', () => {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(hsmDir, name, '..'), { recursive: true });
      writeFileSync(join(hsmDir, name), text);
    }
    const keygen = runKiln(['keygen', '--out', join(hsmDir, 'keys'), '--prefix', 'prod', '--no-constants'], {
      cwd: hsmDir,
    });
    expect(keygen.status, keygen.stderr).toBe(0);
    // A separate process that holds the secret key and signs stdin, the way a PKCS#11 tool would;
    // it logs what it was given, so the test can see kiln handed it exactly a 32-byte hash.
    writeFileSync(
      join(hsmDir, 'hsm.mjs'),
      `
import { createPrivateKey, sign } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
const seed = Buffer.from(readFileSync(process.argv[2], 'utf8').match(/^seed: (\\w+)$/m)[1], 'hex');
const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
const input = readFileSync(0);
appendFileSync('hsm.log', 'signed ' + input.length + ' bytes\\n');
process.stdout.write(sign(null, input, key).toString('hex') + '\\n');
`,
    );
    writeFileSync(
      join(hsmDir, 'kiln.config.ts'),
      files['kiln.config.ts']!.replace(
        "sign({ input: kernel, sections: 'nonos', output: 'kernel.signed.elf' })",
        `sign({ input: kernel, sections: 'nonos', output: 'kernel.signed.elf', signer: { command: [${JSON.stringify(process.execPath)}, './hsm.mjs', 'keys/prod-ed25519.key'], publicKey: 'keys/prod-ed25519.pub' }, toolchain: ['clang', 'ld.lld'] })`,
      ),
    );
    const r = runKiln(['build', '--plain', '--profile', 'release'], { cwd: hsmDir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(hsmDir, 'hsm.log'), 'utf8')).toBe('signed 32 bytes\n');
    const elf = join(hsmDir, 'build/x86_64-release/kernel.signed.elf');
    const ok = runKiln(
      [
        'verify',
        elf,
        '--key',
        join(hsmDir, 'keys/prod-ed25519.pub'),
        '--section',
        '.nonos.sig',
        '--manifest-section',
        '.nonos.manifest',
      ],
      { cwd: hsmDir },
    );
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    // The manifest records the compilers' versions as the tools print them, next to kiln's.
    const strings = tool(['readelf', '-p', '.nonos.manifest', elf]).stdout;
    expect(strings).toContain(tool(['clang', '--version']).stdout.split('\n')[0]!.trim());
    expect(strings).toMatch(/LLD \d+\.\d+/);
    // No dev key was made or used: the release build did not need one.
    expect(() => readdirSync(join(hsmDir, '.kiln/keys'))).toThrow();
  });

  it('a key and a signer together are a config error naming the step, before anything runs', () => {
    const config = readFileSync(join(hsmDir, 'kiln.config.ts'), 'utf8');
    writeFileSync(
      join(hsmDir, 'kiln.config.ts'),
      config.replace(
        "toolchain: ['clang', 'ld.lld'] })",
        "toolchain: ['clang', 'ld.lld'], key: 'keys/prod-ed25519.key' })",
      ),
    );
    const r = runKiln(['build', '--plain', '--profile', 'release'], { cwd: hsmDir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/images\.signed\.signer: give either key or signer, not both/);
    writeFileSync(join(hsmDir, 'kiln.config.ts'), config);
  });
});
