// kiln-boot end to end: a real project builds the loader (Zig, from loader/), C test kernels
// against the generated boot-info header, a CPIO initrd, kernels signed with real Ed25519 keys,
// and GPT disks whose ESP comes from kilnBootEsp(). Each disk boots under OVMF / AAVMF (TCG) and
// the kernel prints what it received; every value is checked against what kiln put on the image.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCpio } from '../../src/formats/cpio/index.js';
import { findSection, readElf } from '../../src/formats/elf/index.js';
import { generateKeyPair, writeKeyFiles } from '../../src/sign/index.js';
import { runTests, type QemuTestResult, type QemuTestSpec } from '../../src/qemu/index.js';
import { runKiln, tempDir } from '../_helpers.js';
import { KERNEL_C, LINK_LD, START_S } from './_kernel.js';

const root = tempDir('kiln-boot-');
const dir = join(root, 'p');
const CMDLINE = 'console=serial root=/dev/ram0 kiln.test=42';
const GOOD_SEED = new Uint8Array(32).fill(7);
const OTHER_SEED = new Uint8Array(32).fill(9);
const ML_SEED = new Uint8Array(32).fill(13);
let mlKeyId = '';

const CONFIG = `import { defineConfig, cc, sign, cpio, gpt, iso, text, kilnBootEsp, kilnBootFiles, kilnBootAbi } from 'kiln';
export default defineConfig({
  name: 'kbtest',
  arch: ['x86_64', 'aarch64'],
  build(t) {
    const bootAbi = kilnBootAbi({ langs: ['c', 'rust', 'zig'] });
    const header = bootAbi.output('abi/kiln_boot_abi.h');
    const x86 = t.arch === 'x86_64';
    const kernelAt = (name, vma, lma, pad) => cc.exe({
      name, sources: ['kernel/start.S', 'kernel/kernel.c'], include: [header], defines: { PAD_BYTES: pad },
      linkerScript: 'kernel/link.ld', ldflags: ['--defsym', 'KERNEL_VMA=' + vma, '--defsym', 'KERNEL_LMA=' + lma], output: name + '.elf',
    });
    const base = x86 ? '0x200000' : '0x40200000';
    const kernel = kernelAt('kernel', base, base, x86 ? 1 : 1048576); // aarch64: 1 MiB, for the timing
    const initrd = cpio({ files: { '/init': text('#!/bin/init\\nhello from the initrd\\n'), '/etc/motd': text('kiln-boot test\\n') } });
    const key = { key: 'keys/good/kiln-ed25519.pub' };
    const signed = sign({ name: 'signed', input: kernel, key: 'keys/good/kiln-ed25519.key', initrd, output: 'kernel.signed.elf' });
    const esp = (kernel, verify, withInitrd = true) => kilnBootEsp({ arch: t.arch, size: '40M', kernel, cmdline: ${JSON.stringify(CMDLINE)}, ...(withInitrd ? { initrd } : {}), ...(verify ? { verify } : {}) });
    const images = {
      initrd, signed,
      plain: gpt({ name: 'plain', size: '48M', partitions: [esp(kernel, undefined)] }),
      verified: gpt({ name: 'verified', size: '48M', partitions: [esp(signed, key)] }),
      // Kosh-style: the same loader as the UEFI El Torito image, kernel and initrd inside it.
      cd: iso({ name: 'cd', volumeId: 'KILNBOOT', uefi: { size: '4M', files: kilnBootFiles({ arch: t.arch, kernel: signed, initrd, cmdline: ${JSON.stringify(CMDLINE)}, verify: key }) } }),
    };
    if (x86) {
      const hh = kernelAt('kernel-hh', '0xffffffff80200000', '0x200000', 1048576);
      const hhSigned = sign({ name: 'hh-signed', input: hh, key: 'keys/good/kiln-ed25519.key', initrd, output: 'kernel-hh.signed.elf' });
      // Linked where OVMF keeps ACPI NVS memory (0x806000-0x808000 with 256 MiB on q35).
      const low = kernelAt('kernel-low', '0x806000', '0x806000', 1);
      const other = sign({ name: 'other-signed', input: kernel, key: 'keys/other/kiln-ed25519.key', initrd, output: 'kernel.other.elf' });
      Object.assign(images, {
        hh, hhSigned,
        higherHalf: gpt({ name: 'higher-half', size: '48M', partitions: [esp(hhSigned, key)] }),
        otherKey: gpt({ name: 'other-key', size: '48M', partitions: [esp(other, key)] }),
        overlap: gpt({ name: 'overlap', size: '48M', partitions: [esp(low, undefined, false)] }),
        // Hybrid: Ed25519 + ML-DSA-65, both required by the loader (FIPS 204 verifier in loader/mldsa.zig).
        hybrid: gpt({ name: 'hybrid', size: '48M', partitions: [esp(sign({ name: 'hybrid-signed', input: kernel, key: 'keys/good/kiln-ed25519.key', hybrid: true, mlDsaKey: 'keys/good/kiln-ml-dsa-65.key', initrd, output: 'kernel.hybrid.elf' }), { ...key, mlDsaKey: 'keys/good/kiln-ml-dsa-65.pub' })] }),
      });
    }
    return { components: { bootAbi, kernel }, images };
  },
});
`;

let goodKeyId = '';
let otherKeyId = '';
const built: Record<string, string> = {};
let results: QemuTestResult[] = [];

function write(rel: string, text: string): void {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), text);
}

/** A disk with one byte of its kernel flipped where the kernel lies on the ESP (`offset` into the kernel file). */
function flippedDisk(image: string, kernelFile: string, offset: (kernel: Buffer) => number, name: string): string {
  const disk = readFileSync(image);
  const kernel = readFileSync(join(dir, 'build/x86_64-debug', kernelFile));
  const at = disk.indexOf(kernel.subarray(0, 4096));
  expect(at).toBeGreaterThan(0);
  expect(disk.subarray(at, at + kernel.length).equals(kernel)).toBe(true);
  const o = at + offset(kernel);
  disk.writeUInt8(disk.readUInt8(o) ^ 0x01, o);
  const out = join(root, name);
  writeFileSync(out, disk);
  return out;
}

/** A byte inside the kernel's ML-DSA-65 signature section. */
function mlDsaOffset(kernel: Buffer): number {
  const section = findSection(readElf(new Uint8Array(kernel)), '.kiln.sig.mldsa')!;
  return section.offset + 100;
}

const serial = (r: QemuTestResult) =>
  readFileSync(r.serialLog, 'latin1')
    .replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '')
    .replace(/\r/g, '');
const line = (r: QemuTestResult, prefix: string) =>
  serial(r)
    .split('\n')
    .find((l) => l.startsWith(prefix)) ?? '';
const get = (name: string) => results.find((r) => r.name === name)!;

describe('kiln-boot (UEFI loader) through kilnBootEsp()', () => {
  beforeAll(async () => {
    const good = await generateKeyPair('ed25519', GOOD_SEED);
    const other = await generateKeyPair('ed25519', OTHER_SEED);
    goodKeyId = good.publicKey.keyId;
    otherKeyId = other.publicKey.keyId;
    await writeKeyFiles(good, join(dir, 'keys/good'));
    await writeKeyFiles(other, join(dir, 'keys/other'));
    mlKeyId = (await generateKeyPair('ml-dsa-65', ML_SEED)).publicKey.keyId;
    await writeKeyFiles(await generateKeyPair('ml-dsa-65', ML_SEED), join(dir, 'keys/good'));
    write('kernel/kernel.c', KERNEL_C);
    write('kernel/start.S', START_S);
    write('kernel/link.ld', LINK_LD);
    write('kiln.config.ts', CONFIG);
    for (const arch of ['x86_64', 'aarch64']) {
      const r = runKiln(['build', '--plain', '--arch', arch], { cwd: dir, timeoutMs: 300_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
    }
    const b = (arch: string, f: string) => join(dir, `build/${arch}-debug`, f);
    Object.assign(built, {
      x86Plain: b('x86_64', 'plain.img'),
      x86Verified: b('x86_64', 'verified.img'),
      x86Hh: b('x86_64', 'higher-half.img'),
      x86Other: b('x86_64', 'other-key.img'),
      x86Overlap: b('x86_64', 'overlap.img'),
      x86Hybrid: b('x86_64', 'hybrid.img'),
      a64Verified: b('aarch64', 'verified.img'),
      a64Cd: b('aarch64', 'cd.iso'),
    });
    const logs = (n: string) => join(root, `logs-${n}`);
    const x86 = (name: string, path: string, extra: Partial<QemuTestSpec>): QemuTestSpec => ({
      name,
      disks: [{ path }],
      firmware: 'uefi',
      accel: 'tcg',
      memory: '256M',
      timeout: 240,
      logDir: logs(name),
      ...extra,
    });
    const done = ['KERNEL: pad=5a done'];
    const refused = { exit: { kind: 'serial' } as const, fail: ['KERNEL:'] };
    const summary = await runTests(
      [
        x86('x86-plain', built.x86Plain!, { expect: done }),
        x86('x86-higher-half', built.x86Hh!, { expect: ['signature ok', 'initrd hashes ok', ...done] }),
        // One byte inside .text changed after signing.
        x86(
          'x86-flipped',
          flippedDisk(built.x86Verified!, 'kernel.signed.elf', () => 0x1010, 'flipped.img'),
          { expect: ['REFUSED /kernel.elf', 'kiln-boot: halted'], ...refused },
        ),
        x86('x86-other-key', built.x86Other!, { expect: ['REFUSED /kernel.elf', 'kiln-boot: halted'], ...refused }),
        x86('x86-hybrid', built.x86Hybrid!, { expect: ['Ed25519 + ML-DSA-65 key', ...done] }),
        // One byte of the ML-DSA-65 signature changed: Ed25519 still holds (the section is outside the signed message).
        x86(
          'x86-hybrid-ml-flipped',
          flippedDisk(built.x86Hybrid!, 'kernel.hybrid.elf', mlDsaOffset, 'ml-flipped.img'),
          { expect: ['REFUSED /kernel.elf', 'kiln-boot: halted'], ...refused },
        ),
        x86('x86-overlap', built.x86Overlap!, { expect: ['ERROR: kernel range', 'kiln-boot: halted'], ...refused }),
        {
          name: 'a64-cd',
          arch: 'aarch64',
          disks: [{ path: built.a64Cd!, media: 'cdrom' }],
          accel: 'tcg',
          memory: '256M',
          timeout: 240,
          logDir: logs('a64-cd'),
          expect: ['signature ok', ...done],
        },
        {
          name: 'a64-verified',
          arch: 'aarch64',
          disks: [{ path: built.a64Verified! }],
          accel: 'tcg',
          memory: '256M',
          timeout: 240,
          logDir: logs('a64'),
          expect: ['signature ok', ...done],
        },
      ],
      { jobs: 2 },
    );
    results = summary.results;
  }, 1_200_000);

  it('x86_64: an unsigned kernel boots with the boot-info record kiln put on the image', async () => {
    const r = get('x86-plain');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    const initrd = new Uint8Array(readFileSync(join(dir, 'build/x86_64-debug/initrd.cpio')));
    expect(line(r, 'KERNEL: initrd')).toBe(
      `KERNEL: initrd size=${initrd.length} first=${Buffer.from(initrd.subarray(0, 16)).toString('hex')}`,
    );
    expect(line(r, 'KERNEL: cmdline')).toBe(`KERNEL: cmdline=[${CMDLINE}] size=${CMDLINE.length}`);
    const map = /entries=(\d+) usable_mib=(\d+) kernel_region=(\w+)/.exec(line(r, 'KERNEL: memory map'))!;
    expect(Number(map[1])).toBeGreaterThan(10);
    expect(Number(map[2])).toBeGreaterThan(128); // of 256 MiB
    expect(map[3]).toBe('yes');
    const elf = readElf(new Uint8Array(readFileSync(join(dir, 'build/x86_64-debug/kernel.elf'))));
    expect(line(r, 'KERNEL: entry')).toContain(
      `entry=0x${elf.header.entry.toString(16)} bias=0x0 phys=0x200000 flags=0x0`,
    );
    expect(line(r, 'KERNEL: framebuffer')).toMatch(/ rsdp=0x[1-9a-f][0-9a-f]* dtb=0x0 serial=1@0x3f8$/);
    expect(serial(r)).toContain('kiln-boot: loading /kernel.elf (');
    expect(serial(r)).toMatch(/kiln-boot: jumping to 0x200000 \(boot info at 0x[0-9a-f]+/);
    expect(r.guestExitCode).toBe(0);
  });

  it('x86_64: a signed higher-half kernel (1 MiB) is verified, mapped at 0xffffffff80200000 and runs there', () => {
    const r = get('x86-higher-half');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    expect(serial(r)).toMatch(
      new RegExp(`kiln-boot: signature ok \\(key ${goodKeyId}, Ed25519; checked in \\d+\\.\\d{3} ms\\)`),
    );
    expect(serial(r)).toContain('kiln-boot: initrd hashes ok (2 members)');
    expect(serial(r)).toMatch(/kiln-boot: loading \/kernel\.elf \(10\d\d KiB, read in \d+\.\d{3} ms\)/);
    // flags: verified | initrd_verified | higher_half; the code runs at its virtual address.
    expect(line(r, 'KERNEL: entry')).toMatch(
      /^KERNEL: entry=0xffffffff80200000 bias=0xffffffff80000000 phys=0x200000 flags=0x7 running_at=0xffffffff802/,
    );
    expect(serial(r)).toContain('kiln-boot: jumping to 0xffffffff80200000');
  });

  it('x86_64: a kernel with one byte flipped after signing is refused, naming the check', () => {
    const r = get('x86-flipped');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    expect(serial(r)).toContain(
      `kiln-boot: REFUSED /kernel.elf: manifest-mismatch: the loadable segments do not hash to the manifest's kernel hash (key ${goodKeyId} claimed)`,
    );
    expect(serial(r)).not.toContain('KERNEL:');
  });

  it('x86_64: a kernel signed by another key is refused, naming the key id it claims', () => {
    const r = get('x86-other-key');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    expect(serial(r)).toContain(
      `kiln-boot: REFUSED /kernel.elf: unknown-key-id: signed by key ${otherKeyId}, this loader trusts key ${goodKeyId}`,
    );
    expect(serial(r)).not.toContain('KERNEL:');
  });

  it('aarch64 (AAVMF): a signed 1 MiB kernel is verified and receives the record (MMU on, identity map)', async () => {
    const r = get('a64-verified');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    expect(serial(r)).toMatch(
      new RegExp(`kiln-boot: signature ok \\(key ${goodKeyId}, Ed25519; checked in \\d+\\.\\d{3} ms\\)`),
    );
    const initrd = new Uint8Array(readFileSync(join(dir, 'build/aarch64-debug/initrd.cpio')));
    expect((await readCpio(initrd)).entries.filter((e) => e.kind === 'file')).toHaveLength(2);
    expect(line(r, 'KERNEL: initrd')).toBe(
      `KERNEL: initrd size=${initrd.length} first=${Buffer.from(initrd.subarray(0, 16)).toString('hex')}`,
    );
    expect(line(r, 'KERNEL: cmdline')).toBe(`KERNEL: cmdline=[${CMDLINE}] size=${CMDLINE.length}`);
    expect(line(r, 'KERNEL: entry')).toMatch(/^KERNEL: entry=0x40200000 bias=0x0 phys=0x40200000 flags=0xb /); // verified | initrd | mmu_identity
    expect(line(r, 'KERNEL: framebuffer')).toMatch(/serial=2@0x9000000$/);
  });

  it('x86_64: a hybrid kernel boots when both signatures verify (ML-DSA-65 checked by the loader); a changed ML-DSA signature is refused', () => {
    const ok = get('x86-hybrid');
    expect(ok.status, `${ok.reason}\n${ok.serialTail.join('\n')}`).toBe('passed');
    expect(serial(ok)).toMatch(
      new RegExp(
        `kiln-boot: signature ok \\(key ${goodKeyId}, Ed25519 \\+ ML-DSA-65 key ${mlKeyId}; checked in \\d+\\.\\d{3} ms\\)`,
      ),
    );
    expect(line(ok, 'KERNEL: entry')).toMatch(/ flags=0x13 /); // verified | initrd_verified | ml_dsa_verified
    const bad = get('x86-hybrid-ml-flipped');
    expect(bad.status, `${bad.reason}\n${bad.serialTail.join('\n')}`).toBe('passed');
    expect(serial(bad)).toContain(
      `kiln-boot: REFUSED /kernel.elf: ml-dsa: the ML-DSA-65 signature does not verify over the canonical hash (key ${goodKeyId} claimed)`,
    );
    expect(serial(bad)).not.toContain('KERNEL:');
  });

  it('x86_64: a kernel whose physical range the firmware uses is refused, naming both ranges', () => {
    const r = get('x86-overlap');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    expect(serial(r)).toMatch(
      /kiln-boot: ERROR: kernel range 0x806000-0x80[7-9a-f]000 overlaps firmware memory 0x806000-0x808000 \(ACPIMemoryNVS\): NotFound/,
    );
    expect(serial(r)).not.toContain('KERNEL:');
  });

  it("aarch64: the same loader boots from an ISO's UEFI El Torito image (Kosh-style CD under AAVMF)", () => {
    const r = get('a64-cd');
    expect(r.status, `${r.reason}\n${r.serialTail.join('\n')}`).toBe('passed');
    expect(serial(r)).toMatch(
      new RegExp(`kiln-boot: signature ok \\(key ${goodKeyId}, Ed25519; checked in \\d+\\.\\d{3} ms\\)`),
    );
    expect(line(r, 'KERNEL: cmdline')).toBe(`KERNEL: cmdline=[${CMDLINE}] size=${CMDLINE.length}`);
    expect(line(r, 'KERNEL: initrd')).toMatch(/^KERNEL: initrd size=\d+ first=303730373031/); // "070701": newc
  });

  it('reports the loader time from hand-off to kernel entry (counter in the record)', () => {
    for (const name of ['x86-higher-half', 'x86-hybrid', 'a64-verified']) {
      const m = /loader_us=(\d+) exit_us=(\d+)/.exec(line(get(name), 'KERNEL: loader_ticks'))!;
      expect(m, name).not.toBeNull();
      const total = Number(m[1]);
      const exit = Number(m[2]);
      expect(total).toBeGreaterThan(exit);
      for (const l of serial(get(name))
        .split('\n')
        .filter((x) => /kiln-boot: (loading|signature ok|jumping)/.test(x)))
        console.log(`${name}: ${l}`);
      console.log(
        `${name}: ${(total / 1000).toFixed(1)} ms from the loader's entry to the kernel, of which ${(exit / 1000).toFixed(1)} ms in the firmware's ExitBootServices`,
      );
    }
  });
});
