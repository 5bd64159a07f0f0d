import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  layoutMbr,
  lbaToChs,
  parseMbrSector,
  readMbr,
  writeMbr,
  writeMbrFile,
  type MbrOptions,
} from '../../../src/formats/mbr/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { FormatError, KilnError } from '../../../src/errors.js';
import { tempDir, tool } from '../../_helpers.js';

async function toBytes(options: MbrOptions): Promise<Uint8Array> {
  const layout = layoutMbr(options);
  const sink = new MemorySink(layout.size);
  await writeMbr(sink, layout);
  return sink.bytes;
}

const bootCode = new Uint8Array(440).map((_, i) => (i * 3 + 1) & 0xff);
const disk: MbrOptions = {
  size: '64M',
  seed: 'portix',
  bootCode,
  partitions: [
    { type: 'fat32', size: '20M', bootable: true, content: new Uint8Array(1024).fill(0xf6) },
    { type: 'linux', size: '10M' },
    { type: 0xda },
  ],
};

function expectSfdiskClean(path: string): void {
  const v = tool(['sfdisk', '--verify', path]);
  expect(v.status).toBe(0);
  expect(v.stdout).toContain('No errors detected.');
  const bad = (v.stdout + v.stderr)
    .split('\n')
    .filter((l) => /warning|error(?!s detected)|problem|invalid|overlap|exceed|not aligned|doesn't/i.test(l));
  expect(bad).toEqual([]);
}

describe('mbr writer', () => {
  it('writes boot code, a derived signature, records with CHS and 55AA', async () => {
    const bytes = await toBytes(disk);
    expect(Buffer.from(bytes.subarray(0, 440)).equals(Buffer.from(bootCode))).toBe(true);
    const sig = Buffer.from(bytes.buffer).readUInt32LE(440);
    expect(sig).not.toBe(0);
    expect(sig).toBe(layoutMbr(disk).diskSignature);
    expect(layoutMbr({ ...disk, seed: 'other' }).diskSignature).not.toBe(sig);
    // Record 1: bootable, CHS of LBA 2048 = 0/32/33, type 0C, LBA 2048, 40960 sectors
    expect([...bytes.subarray(446, 462)]).toEqual([
      0x80,
      32,
      33,
      0,
      0x0c,
      ...lbaToChs(2048 + 40960 - 1),
      0x00,
      0x08,
      0,
      0,
      0x00,
      0xa0,
      0,
      0,
    ]);
    expect([bytes[510], bytes[511]]).toEqual([0x55, 0xaa]);
    expect(bytes[2048 * 512]).toBe(0xf6);
  });

  it('encodes CHS like fdisk (255 heads, 63 sectors; FE FF FF past cylinder 1023)', () => {
    expect(lbaToChs(0)).toEqual([0, 1, 0]);
    expect(lbaToChs(63)).toEqual([1, 1, 0]);
    expect(lbaToChs(255 * 63)).toEqual([0, 1, 1]);
    expect(lbaToChs(255 * 63 * 300)).toEqual([0, 1 | 0x40, 300 & 0xff]);
    expect(lbaToChs(255 * 63 * 1024)).toEqual([0xfe, 0xff, 0xff]);
  });

  it('round-trips through its own reader (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            sectors: fc.integer({ min: 1, max: 20000 }),
            type: fc.integer({ min: 1, max: 255 }).filter((t) => t !== 0xee),
            bootable: fc.boolean(),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.constantFrom(512, 4096, 1 << 20),
        async (parts, alignment) => {
          const a = alignment / 512;
          const size = (parts.reduce((s, p) => s + Math.ceil(p.sectors / a) * a + a, a) + 7) * 512;
          const options: MbrOptions = {
            size,
            alignment,
            partitions: parts.map((p) => ({ type: p.type, size: p.sectors * 512, bootable: p.bootable })),
          };
          const layout = layoutMbr(options);
          const info = await readMbr(await toBytes(options), { strict: true });
          expect(info.problems).toEqual([]);
          expect(info.diskSignature).toBe(layout.diskSignature);
          expect(info.partitions.map((p) => [p.index, p.type, p.bootable, p.startLba, p.sectors])).toEqual(
            layout.partitions.map((p) => [p.index, p.type, p.bootable, p.startLba, p.sectors]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is reproducible', async () => {
    const dir = tempDir();
    await writeMbrFile(join(dir, 'a.img'), disk);
    await writeMbrFile(join(dir, 'b.img'), disk);
    expect(readFileSync(join(dir, 'a.img')).equals(readFileSync(join(dir, 'b.img')))).toBe(true);
  });

  it('refuses bad layouts with codes, numbers and hints', () => {
    const cases: Array<[MbrOptions, string | RegExp]> = [
      [{ size: '8M', partitions: [{ type: 'linux', size: '8M' }] }, /1048576 bytes \(1 MiB\) past the end/],
      [
        { size: '8M', partitions: [{ type: 'linux', size: '1M', content: new Uint8Array((1 << 20) + 3) }] },
        /3 bytes over/,
      ],
      [
        { size: '8M', partitions: [1, 2, 3, 4, 5].map(() => ({ type: 'linux' as const, size: '1M' })) },
        'MBR_TOO_MANY_PARTITIONS',
      ],
      [{ size: '8M', bootCode: new Uint8Array(446), partitions: [] }, /6 bytes over/],
      [{ size: '8M', partitions: [{ type: 'nope' as 'linux' }] }, 'MBR_BAD_TYPE'],
      [
        {
          size: '8M',
          partitions: [
            { type: 'linux', size: '2M', startLba: 2048 },
            { type: 'linux', size: '1M', startLba: 3000 },
          ],
        },
        'MBR_OVERLAP',
      ],
      [{ size: 3 * 1024 ** 4, partitions: [{ type: 'linux' }] }, 'MBR_TOO_LARGE'],
      [{ size: 1000, partitions: [] }, 'MBR_SIZE_NOT_SECTOR'],
    ];
    for (const [options, expected] of cases) {
      let error: unknown;
      try {
        layoutMbr(options);
      } catch (e) {
        error = e;
      }
      expect(error, String(expected)).toBeInstanceOf(KilnError);
      if (typeof expected === 'string') expect((error as KilnError).code).toBe(expected);
      else expect((error as KilnError).message).toMatch(expected);
    }
  });
});

describe('mbr reader', () => {
  it('refuses a sector without 55AA and bad boot indicators; reports overlaps', async () => {
    expect(() => parseMbrSector(new Uint8Array(512))).toThrow(
      expect.objectContaining({ code: 'MBR_NO_SIGNATURE', location: { offset: 510 } }),
    );
    const bytes = await toBytes(disk);
    const sector = new Uint8Array(bytes.subarray(0, 512));
    sector[446] = 0x12;
    expect(() => parseMbrSector(sector)).toThrow(FormatError);
    const overlap = new Uint8Array(bytes.subarray(0, 512));
    Buffer.from(overlap.buffer).writeUInt32LE(2100, 446 + 16 + 8);
    expect(parseMbrSector(overlap, bytes.length / 512).problems).toContain('partitions 1 and 2 overlap');
    expect(() => parseMbrSector(overlap, bytes.length / 512, { strict: true })).toThrow(
      expect.objectContaining({ code: 'MBR_INVALID' }),
    );
  });

  it('survives random and mutated sectors (fuzz)', async () => {
    const base = (await toBytes(disk)).subarray(0, 512);
    const runs = Number(process.env.KILN_FUZZ_RUNS ?? 100000);
    let parsed = 0;
    const started = performance.now();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 440, max: 511 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.integer({ min: 0, max: 1 << 20 }),
        (muts, sectors) => {
          const s = new Uint8Array(base);
          for (const [at, v] of muts) s[at] = v;
          try {
            const info = parseMbrSector(s, sectors);
            parsed++;
            for (const p of info.partitions) expect(p.index).toBeGreaterThan(0);
          } catch (error) {
            if (!(error instanceof FormatError)) throw error;
            expect(error.code).toMatch(/^MBR_/);
          }
        },
      ),
      { numRuns: runs },
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `mbr fuzz: ${runs} inputs in ${seconds.toFixed(1)} s (${Math.round(runs / seconds)}/s), ${parsed} parsed`,
    );
    expect(parsed).toBeGreaterThan(0);
  }, 120_000);
});

describe('sfdisk accepts kiln MBR disks', () => {
  it('sfdisk --verify finds no errors and --json shows the partitions', async () => {
    const dir = tempDir();
    const out = join(dir, 'mbr.img');
    const layout = await writeMbrFile(out, disk);
    expectSfdiskClean(out);
    const json = JSON.parse(tool(['sfdisk', '--json', out]).stdout) as {
      partitiontable: {
        label: string;
        id: string;
        partitions: Array<{ start: number; size: number; type: string; bootable?: boolean }>;
      };
    };
    expect(json.partitiontable.label).toBe('dos');
    expect(json.partitiontable.id).toBe(`0x${layout.diskSignature.toString(16).padStart(8, '0')}`);
    expect(json.partitiontable.partitions.map((p) => [p.start, p.size, p.type, p.bootable ?? false])).toEqual([
      [2048, 40960, 'c', true],
      [43008, 20480, '83', false],
      [63488, 67584, 'da', false],
    ]);
  });

  it('sfdisk --verify accepts random layouts, also past cylinder 1023', async () => {
    const dir = tempDir();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            mib: fc.integer({ min: 1, max: 4000 }),
            type: fc.constantFrom('fat32', 'linux', 'efi', 'fat16', 'linux-swap'),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (parts) => {
          const out = join(dir, `r${n++}.img`);
          const size = (parts.reduce((s, p) => s + p.mib, 0) + 2) * 1024 * 1024;
          await writeMbrFile(out, {
            size,
            partitions: parts.map((p, i) => ({ type: p.type as 'linux', size: `${p.mib}M`, bootable: i === 0 })),
          });
          expectSfdiskClean(out);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('kiln reads what sfdisk writes', async () => {
    const dir = tempDir();
    const out = join(dir, 'sf.img');
    tool(['truncate', '-s', '32M', out]);
    const r = tool(['sfdisk', '--quiet', out], {
      input: 'label: dos\nlabel-id: 0x12345678\nstart=2048, size=8192, type=c, bootable\nstart=10240, type=83\n',
    });
    expect(r.status).toBe(0);
    const info = await readMbr(new Uint8Array(readFileSync(out)), { strict: true });
    expect(info.diskSignature).toBe(0x12345678);
    expect(info.partitions.map((p) => [p.typeName, p.bootable, p.startLba, p.sectors])).toEqual([
      ['fat32', true, 2048, 8192],
      ['linux', false, 10240, 65536 - 10240],
    ]);
    // sfdisk's CHS encoding equals kiln's
    expect(info.partitions[0]!.chsStart).toEqual({ cylinder: 0, head: 32, sector: 33 });
  });
});
