// Hybrid MBR + GPT areas checked by kiln's validating GPT and MBR readers (src/formats/gpt, mbr)
// over random image and ESP sizes, and by sgdisk/sfdisk on a few.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, tool } from '../../_helpers.js';
import { deriveGuid } from '../../../src/formats/io/guid.js';
import { readGpt } from '../../../src/formats/gpt/index.js';
import { parseMbrSector } from '../../../src/formats/mbr/index.js';
import { buildHybridAreas, GPT_ESP_TYPE } from '../../../src/formats/iso9660/index.js';

const dir = tempDir('kiln-hybrid-');

function image(totalBytes: number, areas: ReturnType<typeof buildHybridAreas>): Uint8Array {
  const bytes = new Uint8Array(totalBytes);
  bytes.set(areas.head, 0);
  if (areas.tail) bytes.set(areas.tail.bytes, areas.tail.offset);
  return bytes;
}

const layout = fc.integer({ min: 40, max: 4096 }).chain((sectors2048) => {
  const total512 = sectors2048 * 4;
  return fc
    .record({
      sectors2048: fc.constant(sectors2048),
      espStart: fc.integer({ min: 9, max: sectors2048 - 10 }).map((s) => s * 4),
      espCount: fc.integer({ min: 1, max: 64 }),
      seed: fc.string({ minLength: 1, maxLength: 12 }),
    })
    .filter((l) => l.espStart + l.espCount <= total512 - 33 - 4 * 9);
});

describe('hybrid MBR + GPT', () => {
  it("gives a GPT that kiln's strict GPT reader accepts, with the ESP where the El Torito image is (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(layout, async (l) => {
        const totalBytes = l.sectors2048 * 2048;
        const areas = buildHybridAreas({
          totalBytes,
          esp: { start: l.espStart, count: l.espCount },
          biosBootLba: 20,
          spec: { mbrCode: new Uint8Array(440).fill(0xfa), mbrPatch: 'grub2' },
          seed: l.seed,
        });
        const bytes = image(totalBytes, areas);
        const gpt = await readGpt(bytes, { strict: true });
        expect(gpt.problems).toEqual([]);
        expect(gpt.diskGuid).toBe(deriveGuid(l.seed, 'gpt/disk'));
        expect(gpt.partitions).toHaveLength(1);
        expect(gpt.partitions[0]).toMatchObject({
          typeGuid: GPT_ESP_TYPE,
          firstLba: l.espStart,
          lastLba: l.espStart + l.espCount - 1,
          name: 'EFI System',
          guid: deriveGuid(l.seed, 'gpt/esp'),
        });
        const mbr = parseMbrSector(bytes.subarray(0, 512), totalBytes / 512);
        expect(mbr.protective).toBe(true);
        expect(mbr.bootCode.subarray(0, 0x1b0).every((b) => b === 0xfa)).toBe(true);
        // Same inputs, same bytes.
        const again = buildHybridAreas({
          totalBytes,
          esp: { start: l.espStart, count: l.espCount },
          biosBootLba: 20,
          spec: { mbrCode: new Uint8Array(440).fill(0xfa), mbrPatch: 'grub2' },
          seed: l.seed,
        });
        expect(Buffer.from(image(totalBytes, again)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it("gives an MBR-only hybrid (0x17 whole image + 0xEF ESP) that kiln's MBR reader and sfdisk list", () => {
    const totalBytes = 1000 * 2048;
    const areas = buildHybridAreas({ totalBytes, esp: { start: 400, count: 2880 }, spec: { gpt: false }, seed: 'x' });
    expect(areas.tail).toBeUndefined();
    const bytes = image(totalBytes, areas);
    const mbr = parseMbrSector(bytes.subarray(0, 512), totalBytes / 512);
    expect(mbr.protective).toBe(false);
    expect(mbr.partitions.map((p) => [p.type, p.bootable, p.startLba, p.sectors])).toEqual([
      [0x17, true, 0, 4000],
      [0xef, false, 400, 2880],
    ]);
    const file = join(dir, 'mbr.img');
    writeFileSync(file, bytes);
    const dump = tool(['sfdisk', '--dump', file]).stdout;
    expect(dump).toMatch(/start=\s*400, size=\s*2880, type=ef/);
  });

  it('refuses an MBR patch without a BIOS image and an ESP outside the usable sectors', () => {
    expect(() => buildHybridAreas({ totalBytes: 1 << 20, spec: { mbrPatch: 'grub2' }, seed: 'x' })).toThrow(
      /BIOS no-emulation boot entry/,
    );
    expect(() => buildHybridAreas({ totalBytes: 1 << 20, esp: { start: 2, count: 8 }, spec: {}, seed: 'x' })).toThrow(
      /usable/,
    );
  });
});
