import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GPT_TYPES,
  layoutGpt,
  readGpt,
  writeGpt,
  writeGptFile,
  type GptOptions,
} from '../../../src/formats/gpt/index.js';
import { MemorySink, type BlockSink } from '../../../src/formats/io/block-writer.js';
import { FileSource } from '../../../src/formats/io/block-source.js';
import { fileContent } from '../../../src/formats/io/content.js';
import { guidFromBytes } from '../../../src/formats/io/guid.js';
import { KilnError } from '../../../src/errors.js';
import { tempDir, tool } from '../../_helpers.js';

async function toBytes(options: GptOptions): Promise<Uint8Array> {
  const layout = layoutGpt(options);
  const sink = new MemorySink(layout.size);
  await writeGpt(sink, layout);
  return sink.bytes;
}

const u32 = (b: Uint8Array, at: number) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32LE(at);
const u64 = (b: Uint8Array, at: number) =>
  Number(Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(at));

const kozo: GptOptions = {
  size: '64M',
  seed: 'kozo',
  partitions: [
    {
      type: 'esp',
      size: '32M',
      name: 'EFI system',
      content: new Uint8Array(4096).fill(0xe5),
      attributes: ['required'],
    },
    { type: 'bios-boot', size: '1M', attributes: ['legacy-bios-bootable', 60] },
    { type: 'linux-root-x86_64', name: 'root' },
  ],
};

/** sgdisk -v must say "No problems found." and print no caution/warning/problem line. */
export function expectSgdiskClean(path: string): void {
  const v = tool(['sgdisk', '-v', path]);
  expect(v.status).toBe(0);
  expect(v.stdout).toContain('No problems found.');
  const lines = (v.stdout + v.stderr)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const bad = lines.filter((l) => /warning|caution|problem:|error|invalid|corrupt|mismatch|overlap|damaged/i.test(l));
  expect(bad).toEqual([]);
  // The only lines are the verdict and the free-space summary.
  for (const l of lines) expect(l).toMatch(/^(No problems found\.|\d+ free sectors|segments, the largest|in size\.)/);
}

describe('gpt writer', () => {
  it('writes the structures UEFI 2.10 chapter 5 describes', async () => {
    const bytes = await toBytes(kozo);
    const total = (64 << 20) / 512;
    // Protective MBR (Table 5-4)
    expect([...bytes.subarray(446, 462)]).toEqual([
      0,
      0x00,
      0x02,
      0x00,
      0xee,
      0xff,
      0xff,
      0xff,
      1,
      0,
      0,
      0,
      ...[total - 1].flatMap((n) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24]),
    ]);
    expect(bytes[510]).toBe(0x55);
    expect(bytes[511]).toBe(0xaa);
    // Primary header (Table 5-5)
    const h = bytes.subarray(512, 1024);
    expect(Buffer.from(h.subarray(0, 8)).toString()).toBe('EFI PART');
    expect(u32(h, 8)).toBe(0x10000);
    expect(u32(h, 12)).toBe(92);
    const copy = new Uint8Array(h.subarray(0, 92));
    copy.fill(0, 16, 20);
    expect(u32(h, 16)).toBe(zlibCrc32(copy) >>> 0);
    expect([u64(h, 24), u64(h, 32), u64(h, 40), u64(h, 48), u64(h, 72)]).toEqual([1, total - 1, 34, total - 34, 2]);
    expect([u32(h, 80), u32(h, 84)]).toEqual([128, 128]);
    expect(u32(h, 88)).toBe(zlibCrc32(bytes.subarray(1024, 1024 + 16384)) >>> 0);
    expect(h.subarray(92).every((b) => b === 0)).toBe(true);
    // Entry 1 (Table 5-6)
    const e = bytes.subarray(1024, 1152);
    expect(guidFromBytes(e, 0)).toBe(GPT_TYPES.esp);
    expect([u64(e, 32), u64(e, 40), u64(e, 48)]).toEqual([2048, 2048 + 65536 - 1, 1]);
    expect(Buffer.from(e.subarray(56, 56 + 20)).toString('utf16le')).toBe('EFI system');
    // Backup header and array at the end
    const b = bytes.subarray((total - 1) * 512, total * 512);
    expect([u64(b, 24), u64(b, 32), u64(b, 72)]).toEqual([total - 1, 1, total - 33]);
    expect(
      Buffer.from(bytes.subarray((total - 33) * 512, (total - 1) * 512)).equals(
        Buffer.from(bytes.subarray(1024, 1024 + 16384)),
      ),
    ).toBe(true);
    // Content
    expect(bytes[2048 * 512]).toBe(0xe5);
    expect(bytes[2048 * 512 + 4096]).toBe(0);
  });

  it('round-trips through its own reader with derived GUIDs', async () => {
    const info = await readGpt(await toBytes(kozo), { strict: true });
    expect(info.problems).toEqual([]);
    expect(info.partitions.map((p) => [p.index, p.typeName, p.name, p.firstLba, p.lastLba, p.attributeNames])).toEqual([
      [1, 'esp', 'EFI system', 2048, 67583, ['required']],
      [2, 'bios-boot', 'bios-boot', 67584, 69631, ['legacy-bios-bootable', 'bit 60']],
      [3, 'linux-root-x86_64', 'root', 69632, 129023, []],
    ]);
    const layout = layoutGpt(kozo);
    expect(info.diskGuid).toBe(layout.diskGuid);
    expect(info.partitions.map((p) => p.guid)).toEqual(layout.partitions.map((p) => p.guid));
    expect(layoutGpt({ ...kozo, seed: 'other' }).diskGuid).not.toBe(layout.diskGuid);
  });

  it('round-trips random layouts (property)', async () => {
    const part = fc.record({
      type: fc.oneof(
        fc.constantFrom(...(Object.keys(GPT_TYPES) as Array<keyof typeof GPT_TYPES>)),
        fc.uuid().filter((u) => u !== '00000000-0000-0000-0000-000000000000'),
      ),
      name: fc
        .string({ unit: 'binary', maxLength: 36 })
        .filter(
          (s) =>
            !s.includes('\0') &&
            [...s].every(
              (c) => c.codePointAt(0)! < 0xd800 || (c.codePointAt(0)! > 0xdfff && c.codePointAt(0)! < 0x10000),
            ),
        ),
      sectors: fc.integer({ min: 1, max: 5000 }),
      attributes: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(part, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.constantFrom(512, 4096, 1 << 20),
        fc.string(),
        async (parts, spare, alignment, seed) => {
          const alignSectors = alignment / 512;
          let need = 34 + 33 + alignSectors;
          for (const p of parts) need += Math.ceil(p.sectors / alignSectors) * alignSectors + alignSectors;
          const size = (need + spare) * 512;
          const options: GptOptions = {
            size,
            seed,
            alignment,
            partitions: parts.map((p) => ({
              type: p.type,
              name: p.name,
              size: p.sectors * 512,
              attributes: p.attributes,
            })),
          };
          const layout = layoutGpt(options);
          const info = await readGpt(await toBytes(options), { strict: true });
          expect(
            info.partitions.map((p) => ({
              t: p.typeGuid,
              n: p.name,
              f: p.firstLba,
              l: p.lastLba,
              a: p.attributes,
              g: p.guid,
            })),
          ).toEqual(
            layout.partitions.map((p) => ({
              t: p.typeGuid,
              n: p.name,
              f: p.firstLba,
              l: p.lastLba,
              a: p.attributes,
              g: p.guid,
            })),
          );
          for (const p of info.partitions) expect(p.firstLba % alignSectors).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('runs fill callbacks on a SubSink of the partition and streams host files', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'esp.img'),
      new Uint8Array(3 << 20).map((_, i) => (i >> 9) & 0xff),
    );
    const seen: number[] = [];
    const out = join(dir, 'disk.img');
    await writeGptFile(out, {
      size: '16M',
      partitions: [
        { type: 'esp', content: await fileContent(join(dir, 'esp.img')) },
        {
          type: 'linux',
          fill: async (sink: BlockSink) => {
            seen.push(sink.size);
            await sink.write(sink.size - 4, new Uint8Array([1, 2, 3, 4]));
          },
        },
      ],
    });
    const disk = readFileSync(out);
    const info = await readGpt(new Uint8Array(disk), { strict: true });
    expect(info.partitions[0]!.size).toBe(3 << 20);
    expect(disk.subarray(2048 * 512, 2048 * 512 + (3 << 20)).equals(readFileSync(join(dir, 'esp.img')))).toBe(true);
    const p2 = info.partitions[1]!;
    expect(seen).toEqual([p2.size]);
    expect([...disk.subarray((p2.lastLba + 1) * 512 - 4, (p2.lastLba + 1) * 512)]).toEqual([1, 2, 3, 4]);
  });

  it('is reproducible: identical bytes twice', async () => {
    const dir = tempDir();
    await writeGptFile(join(dir, 'a.img'), kozo);
    await writeGptFile(join(dir, 'b.img'), kozo);
    expect(readFileSync(join(dir, 'a.img')).equals(readFileSync(join(dir, 'b.img')))).toBe(true);
    // Without a seed, GUIDs derive from the layout: still reproducible.
    const { seed: _, ...noSeed } = kozo;
    expect(layoutGpt(noSeed).diskGuid).toBe(layoutGpt(noSeed).diskGuid);
  });

  it('writes a 4 GiB disk with 10 MiB of content as a sparse file', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'esp.img'),
      new Uint8Array(10 << 20).map((_, i) => (i * 7 + 1) & 0xff),
    );
    const out = join(dir, 'big.img');
    const before = process.memoryUsage().rss;
    await writeGptFile(out, {
      size: '4G',
      partitions: [{ type: 'esp', size: '64M', content: await fileContent(join(dir, 'esp.img')) }, { type: 'linux' }],
    });
    const grown = process.memoryUsage().rss - before;
    const st = statSync(out);
    expect(st.size).toBe(4 * 1024 ** 3);
    expect(st.blocks * 512).toBeLessThan(12 << 20);
    expect(grown).toBeLessThan(64 << 20);
    const source = await FileSource.open(out);
    try {
      const info = await readGpt(source, { strict: true });
      expect(info.partitions[1]!.lastLba).toBe((4 * 1024 ** 3) / 512 - 2048 - 1);
    } finally {
      await source.close();
    }
    expectSgdiskClean(out);
  });

  it('refuses bad layouts with codes, numbers and hints', () => {
    const cases: Array<[GptOptions, RegExp | string]> = [
      [{ size: '4M', partitions: [{ type: 'esp', size: '8M' }] }, /past the last usable LBA/],
      [
        { size: '4M', partitions: [{ type: 'esp', size: '1M', content: new Uint8Array((1 << 20) + 10) }] },
        /10 bytes over/,
      ],
      [
        {
          size: '8M',
          partitions: [
            { type: 'esp', size: '2M', startLba: 2048 },
            { type: 'linux', size: '2M', startLba: 4000 },
          ],
        },
        'GPT_OVERLAP',
      ],
      [{ size: '8M', partitions: [{ type: 'ntfs-but-unknown' as 'esp' }] }, 'GPT_BAD_TYPE'],
      [{ size: '8M', partitions: [{ type: 'linux', name: 'x'.repeat(37) }] }, 'GPT_NAME_TOO_LONG'],
      [{ size: 1000000, partitions: [] }, 'GPT_SIZE_NOT_SECTOR'],
      [{ size: 20480, partitions: [{ type: 'linux' }] }, 'GPT_DISK_TOO_SMALL'],
      [{ size: '8M', partitions: [{ type: 'linux', attributes: ['sparkly' as 'required'] }] }, 'GPT_BAD_ATTRIBUTES'],
      [
        {
          size: '8M',
          partitions: [{ type: 'linux', size: '1M' }, { type: 'linux', size: '1M' }, { type: 'esp' }]
            .slice(0, 2)
            .concat([{ type: 'esp', size: undefined }])
            .map((p, i) => (i === 0 ? { ...p, size: undefined } : p)),
        },
        'GPT_SIZE_MISSING',
      ],
      [{ size: '8M', partitions: [{ type: 'linux', startLba: 10 }] }, 'GPT_BAD_START'],
    ];
    for (const [options, expected] of cases) {
      let error: unknown;
      try {
        layoutGpt(options);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(expected)).toBeInstanceOf(KilnError);
      if (typeof expected === 'string') expect((error as KilnError).code).toBe(expected);
      else expect((error as KilnError).message).toMatch(expected);
    }
  });
});

describe('gpt reader', () => {
  async function resealPrimary(
    bytes: Uint8Array,
    edit: (entries: Uint8Array, header: Uint8Array) => void,
  ): Promise<void> {
    const header = bytes.subarray(512, 1024);
    const entries = bytes.subarray(1024, 1024 + 16384);
    edit(entries, header);
    Buffer.from(header.buffer, header.byteOffset).writeUInt32LE(zlibCrc32(entries) >>> 0, 88);
    Buffer.from(header.buffer, header.byteOffset).writeUInt32LE(0, 16);
    Buffer.from(header.buffer, header.byteOffset).writeUInt32LE(zlibCrc32(header.subarray(0, 92)) >>> 0, 16);
  }

  it('falls back to the backup header when the primary is damaged, and reports it', async () => {
    const bytes = await toBytes(kozo);
    bytes[512 + 40]! ^= 1;
    const info = await readGpt(bytes);
    expect(info.usedHeader).toBe('backup');
    expect(info.partitions).toHaveLength(3);
    expect(info.problems.join('\n')).toMatch(/primary GPT: header CRC32/);
    await expect(readGpt(bytes, { strict: true })).rejects.toMatchObject({ code: 'GPT_INVALID' });
  });

  it('reports a damaged or different backup (what sgdisk -v exits 0 on)', async () => {
    const bytes = await toBytes(kozo);
    const last = bytes.length - 512;
    bytes[last + 60]! ^= 1;
    expect((await readGpt(bytes)).problems.join('\n')).toMatch(/backup GPT: header CRC32/);
    const other = await toBytes(kozo);
    other[other.length - 33 * 512 + 56]! ^= 0x41; // a name character in the backup array only
    expect((await readGpt(other)).problems.join('\n')).toMatch(/backup GPT: entry array CRC32/);
  });

  it('reports overlapping and out-of-range partitions', async () => {
    const bytes = await toBytes(kozo);
    await resealPrimary(bytes, (entries) => {
      Buffer.from(entries.buffer, entries.byteOffset).writeBigUInt64LE(60000n, 128 + 32); // partition 2 starts inside partition 1
      Buffer.from(entries.buffer, entries.byteOffset).writeBigUInt64LE(200000n, 256 + 40); // partition 3 ends past the disk
    });
    const problems = (await readGpt(bytes)).problems.join('\n');
    expect(problems).toMatch(/partitions 1 and 2 overlap/);
    expect(problems).toMatch(/partition 3 .* outside the usable area/);
    expect(problems).toMatch(/backup entry array differs/);
  });

  it('throws a FormatError when neither header is valid or the image is not GPT', async () => {
    const bytes = await toBytes(kozo);
    bytes[512] = 0x46;
    bytes[bytes.length - 512] = 0x46;
    await expect(readGpt(bytes)).rejects.toMatchObject({ code: 'GPT_NO_HEADER', hint: expect.any(String) });
    await expect(readGpt(new Uint8Array(100))).rejects.toMatchObject({ code: 'GPT_TRUNCATED' });
  });
});

describe('sgdisk and sfdisk accept kiln GPT disks', () => {
  it('sgdisk -v finds no problems, sgdisk -p and sfdisk --json list the partitions', async () => {
    const dir = tempDir();
    const out = join(dir, 'kozo.img');
    await writeGptFile(out, kozo);
    expectSgdiskClean(out);
    const p = tool(['sgdisk', '-p', out]);
    expect(p.status).toBe(0);
    const rows = p.stdout
      .split('\n')
      .filter((l) => /^\s+\d+\s+\d+\s+\d+/.test(l))
      .map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => [r[0], r[1], r[2], r[5], r.slice(6).join(' ')])).toEqual([
      ['1', '2048', '67583', 'EF00', 'EFI system'],
      ['2', '67584', '69631', 'EF02', 'bios-boot'],
      ['3', '69632', '129023', '8304', 'root'],
    ]);
    const layout = layoutGpt(kozo);
    expect(p.stdout).toContain(`Disk identifier (GUID): ${layout.diskGuid.toUpperCase()}`);
    const json = JSON.parse(tool(['sfdisk', '--json', out]).stdout) as {
      partitiontable: {
        label: string;
        id: string;
        partitions: Array<{ start: number; size: number; type: string; uuid: string; name: string; attrs?: string }>;
      };
    };
    expect(json.partitiontable.label).toBe('gpt');
    expect(json.partitiontable.id).toBe(layout.diskGuid.toUpperCase());
    expect(
      json.partitiontable.partitions.map((x) => [
        x.start,
        x.size,
        x.type.toLowerCase(),
        x.uuid.toLowerCase(),
        x.name,
        x.attrs ?? '',
      ]),
    ).toEqual([
      [2048, 65536, GPT_TYPES.esp, layout.partitions[0]!.guid, 'EFI system', 'RequiredPartition'],
      [67584, 2048, GPT_TYPES['bios-boot'], layout.partitions[1]!.guid, 'bios-boot', 'LegacyBIOSBootable GUID:60'],
      [69632, 59392, GPT_TYPES['linux-root-x86_64'], layout.partitions[2]!.guid, 'root', ''],
    ]);
    const verify = tool(['sfdisk', '--verify', out]);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain('No errors detected.');
    expect(
      (verify.stdout + verify.stderr)
        .split('\n')
        .filter((l) => /warning|error(?!s detected)|problem|invalid|corrupt|mismatch|overlap/i.test(l)),
    ).toEqual([]);
  });

  it('sgdisk -v accepts random layouts', async () => {
    const dir = tempDir();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            mib: fc.integer({ min: 1, max: 8 }),
            type: fc.constantFrom('esp', 'linux', 'basic-data', 'bios-boot', 'linux-swap'),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        async (parts) => {
          const out = join(dir, `r${n++}.img`);
          const size = (parts.reduce((s, p) => s + p.mib, 0) + 2) << 20;
          await writeGptFile(out, {
            size,
            partitions: parts.map((p) => ({ type: p.type as 'esp', size: `${p.mib}M` })),
          });
          expectSgdiskClean(out);
          const json = JSON.parse(tool(['sfdisk', '--json', out]).stdout) as {
            partitiontable: { partitions: unknown[] };
          };
          expect(json.partitiontable.partitions).toHaveLength(parts.length);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('kiln reads what sgdisk writes', async () => {
    const dir = tempDir();
    const out = join(dir, 'sg.img');
    writeFileSync(out, new Uint8Array(0));
    tool(['truncate', '-s', '32M', out]);
    const r = tool([
      'sgdisk',
      '-n',
      '1:2048:+8M',
      '-t',
      '1:ef00',
      '-c',
      '1:EFI',
      '-n',
      '2:0:0',
      '-t',
      '2:8300',
      '-A',
      '1:set:0',
      out,
    ]);
    expect(r.status).toBe(0);
    const info = await readGpt(new Uint8Array(readFileSync(out)), { strict: true });
    expect(info.partitions.map((p) => [p.typeName, p.name, p.firstLba, p.attributes])).toEqual([
      ['esp', 'EFI', 2048, 1n],
      ['linux', '', 18432, 0n],
    ]);
  });
});
