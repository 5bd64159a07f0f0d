// A kernel edited by kiln still boots: the nasm PVH kernel (ELF64 with a Xen PHYS32_ENTRY note) under
// qemu-system-x86_64 -kernel, before and after addSection, replaceSection, strip and setBuildId.
// It prints "kiln-pvh-ok" on COM1 and exits through isa-debug-exit with 0x21 (QEMU exit code 67).
import { describe, expect, it } from 'vitest';
import {
  addSection,
  findMultiboot,
  readElf,
  replaceSection,
  setBuildId,
  strip,
} from '../../../src/formats/elf/index.js';
import { run } from '../../../src/util/process.js';
import { fixture, scratch } from './_fixtures.js';

async function boot(path: string): Promise<{ serial: string; code: number | null }> {
  const r = await run(
    [
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-M',
      'pc',
      '-m',
      '64',
      '-kernel',
      path,
      '-display',
      'none',
      '-nodefaults',
      '-serial',
      'stdio',
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-no-reboot',
    ],
    { timeoutMs: 120_000 },
  );
  expect(r.timedOut, `QEMU timed out; output:\n${r.output}`).toBe(false);
  return { serial: r.stdout, code: r.code };
}

describe('an edited PVH kernel still boots under QEMU', () => {
  it('original, +manifest section, replaced signature, stripped, new build id', async () => {
    const f = fixture('pvh-kernel');
    const withManifest = addSection(f.bytes, '.kiln.manifest', new TextEncoder().encode('{"project":"kiln"}'), {
      align: 8,
    });
    const withSig = addSection(withManifest, '.kiln.sig', new Uint8Array(64));
    const signed = replaceSection(withSig, '.kiln.sig', new Uint8Array(64).fill(0x5a));
    const stripped = strip(signed, { mode: 'all', debugLink: 'kernel.debug' }).stripped;
    const rebuilt = setBuildId(stripped, 'sha1');
    expect(readElf(rebuilt).pvhEntry).toBe(readElf(f.bytes).pvhEntry);
    const variants: Array<[string, Uint8Array]> = [
      ['original', f.bytes],
      ['manifest', withManifest],
      ['signed', signed],
      ['stripped', stripped],
      ['build-id', rebuilt],
    ];
    for (const [name, bytes] of variants) {
      const result = await boot(scratch(`boot-${name}.elf`, bytes));
      expect({ name, serial: result.serial, code: result.code }).toEqual({ name, serial: 'kiln-pvh-ok\n', code: 67 });
    }
  }, 300_000);

  it('an ELF32 multiboot v1 kernel, stripped and with a manifest, still boots', async () => {
    const f = fixture('mb1-kernel');
    const elf = readElf(f.bytes);
    expect(elf.header.class).toBe(32);
    const mb = findMultiboot(f.bytes);
    expect(mb).toEqual([
      expect.objectContaining({
        version: 1,
        offset: elf.sections.find((s) => s.name === '.multiboot')!.offset,
        flags: 0,
      }),
    ]);
    const edited = setBuildId(
      strip(addSection(f.bytes, '.kiln.manifest', new Uint8Array(40).fill(3), { align: 4 }), {
        mode: 'all',
        debugLink: 'k.debug',
      }).stripped,
      'sha1',
    );
    expect(findMultiboot(edited)).toEqual(mb);
    for (const [name, bytes] of [
      ['original', f.bytes],
      ['edited', edited],
    ] as const) {
      const result = await boot(scratch(`boot-mb1-${name}.elf`, bytes));
      expect({ name, serial: result.serial, code: result.code }).toEqual({ name, serial: 'kiln-mb1-ok\n', code: 67 });
    }
  }, 300_000);
});
