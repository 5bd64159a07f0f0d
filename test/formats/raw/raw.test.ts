import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  layoutRaw,
  portixLayout,
  readRaw,
  writeRaw,
  writeRawFile,
  type RawOptions,
} from '../../../src/formats/raw/index.js';
import { readMbr } from '../../../src/formats/mbr/index.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { FileSource, SubSource } from '../../../src/formats/io/block-source.js';
import { fileContent } from '../../../src/formats/io/content.js';
import { buildTree } from '../../../src/formats/io/tree.js';
import { KilnError } from '../../../src/errors.js';
import { tempDir, tool } from '../../_helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Assembles Portix-style stage1/stage2 with nasm; returns the binaries and stage2's symbol offsets from nasm's map file. */
function assemble(dir: string): { stage1: Uint8Array; stage2: Uint8Array; symbols: Record<string, number> } {
  writeFileSync(
    join(dir, 'boot.asm'),
    [
      'bits 16',
      'org 0x7c00',
      'start: cli',
      '  xor ax, ax',
      '  mov ds, ax',
      '  jmp 0:0x7e00',
      'times 446-($-$$) db 0',
      'times 64 db 0',
      'dw 0xAA55',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'stage2.asm'),
    [
      'bits 16',
      'org 0x7e00',
      '[map symbols stage2.map]',
      'stage2: jmp load',
      'align 4',
      'kernel_lba: dd 0',
      'kernel_sectors: dw 0',
      'load: mov eax, [kernel_lba]',
      '  hlt',
      'times 3000 db 0x90',
      '',
    ].join('\n'),
  );
  for (const name of ['boot', 'stage2']) {
    const r = tool(['nasm', '-f', 'bin', `${name}.asm`, '-o', `${name}.bin`], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
  }
  const map = readFileSync(join(dir, 'stage2.map'), 'utf8');
  const symbols: Record<string, number> = {};
  for (const m of map.matchAll(/^\s*([0-9A-F]+)\s+([0-9A-F]+)\s+(\w+)\s*$/gim))
    symbols[m[3]!] = parseInt(m[2]!, 16) - 0x7e00;
  return {
    stage1: new Uint8Array(readFileSync(join(dir, 'boot.bin'))),
    stage2: new Uint8Array(readFileSync(join(dir, 'stage2.bin'))),
    symbols,
  };
}

const kernel = new Uint8Array(300000).map((_, i) => (i * 17 + 3) & 0xff);

describe('raw (Portix) layout', () => {
  it('places stage1/stage2/kernel at LBA 0/1/65 and patches the kernel LBA at a nasm symbol', async () => {
    const dir = tempDir();
    const { stage1, stage2, symbols } = assemble(dir);
    expect(symbols.kernel_lba).toBe(4);
    const options = portixLayout({
      stage1,
      stage2,
      kernel,
      kernelLbaAt: { symbol: 'kernel_lba' },
      kernelSectorsAt: { symbol: 'kernel_sectors' },
      stage2Symbols: symbols,
    });
    const out = join(dir, 'portix.img');
    const layout = await writeRawFile(out, options);
    const disk = new Uint8Array(readFileSync(out));
    expect(disk.length).toBe(8 << 20);
    expect(Buffer.from(disk.subarray(0, 512)).equals(Buffer.from(stage1))).toBe(true);
    expect(disk.subarray(65 * 512, 65 * 512 + kernel.length)).toEqual(kernel);
    const view = Buffer.from(disk.buffer);
    expect(view.readUInt32LE(512 + symbols.kernel_lba!)).toBe(65);
    expect(view.readUInt16LE(512 + symbols.kernel_sectors!)).toBe(Math.ceil(kernel.length / 512));
    // Everything but the patched bytes of stage2 is untouched.
    const patched = new Uint8Array(stage2);
    patched.set(disk.subarray(512 + 4, 512 + 10), 4);
    expect(Buffer.from(disk.subarray(512, 512 + stage2.length)).equals(Buffer.from(patched))).toBe(true);
    // Own reader: hashes and patched values back.
    const info = await readRaw(disk, {
      regions: layout.regions.map((r) => ({ name: r.name, lba: r.lba, size: r.name === 'stage2' ? 0 : r.size })),
      patches: layout.patches.map((p) => ({ region: p.region, offset: p.offset, type: p.type })),
    });
    expect(info.bootSignature).toBe(true);
    expect(info.regions.find((r) => r.name === 'kernel')!.sha256).toBe(sha(kernel));
    expect(info.patches.map((p) => p.value)).toEqual([65n, BigInt(Math.ceil(kernel.length / 512))]);
    expect(info.mbr?.partitions).toEqual([]);
  });

  it('refuses what build.py would get wrong, saying how many bytes over', async () => {
    const dir = tempDir();
    const { stage1, stage2 } = assemble(dir);
    const expectError = async (options: RawOptions, code: string, text?: RegExp) => {
      const error = await layoutRaw(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KilnError);
      expect((error as KilnError).code).toBe(code);
      if (text) expect((error as KilnError).message).toMatch(text);
    };
    await expectError(
      portixLayout({ stage1: stage1.subarray(0, 500), stage2, kernel }),
      'RAW_REGION_SIZE',
      /12 bytes short/,
    );
    await expectError(portixLayout({ stage1: new Uint8Array(513), stage2, kernel }), 'RAW_REGION_SIZE', /1 bytes over/);
    await expectError(
      portixLayout({ stage1: new Uint8Array(512), stage2, kernel }),
      'RAW_NO_BOOT_SIGNATURE',
      /0x55 0xAA/,
    );
    await expectError(
      portixLayout({ stage1, stage2: new Uint8Array(64 * 512 + 100), kernel }),
      'RAW_REGION_TOO_LARGE',
      /100 bytes over its limit of 64 sectors/,
    );
    await expectError(
      portixLayout({ stage1, stage2, kernel, size: '4M' }),
      'RAW_DISK_TOO_SMALL',
      /4194304 bytes below the minimum of 8 MiB/,
    );
    await expectError(
      portixLayout({ stage1, stage2, kernel: new Uint8Array(8 << 20) }),
      'RAW_DOES_NOT_FIT',
      new RegExp(`${65 * 512} bytes past the end`),
    );
    await expectError(portixLayout({ stage1, stage2, kernel, kernelLbaAt: { symbol: 'nope' } }), 'RAW_UNKNOWN_SYMBOL');
    await expectError(
      portixLayout({ stage1, stage2, kernel, kernelLbaAt: stage2.length - 2 }),
      'RAW_PATCH_OUTSIDE',
      /2 bytes past/,
    );
    await expectError(
      {
        size: '1M',
        regions: [
          { name: 'a', lba: 0, content: new Uint8Array(1000) },
          { name: 'b', lba: 1, content: new Uint8Array(10) },
        ],
      },
      'RAW_OVERLAP',
      /runs 488 bytes into b/,
    );
    await expectError(
      {
        size: '1M',
        regions: [{ name: 'a', lba: 0, content: new Uint8Array(10) }],
        patches: [{ region: 'a', at: 0, type: 'u8', value: 256 }],
      },
      'RAW_PATCH_OVERFLOW',
    );
    await expectError(
      { size: '1M', regions: [{ name: 'k', lba: 10, minLba: 65, content: new Uint8Array(10) }] },
      'RAW_BAD_LBA',
    );
    const occupied = new Uint8Array(stage1);
    occupied[450] = 1;
    await expectError(
      portixLayout({ stage1: occupied, stage2, kernel, partition: {} }),
      'RAW_PARTITION_TABLE_OCCUPIED',
    );
  });

  it('registers a FAT32 partition over the rest of the disk in stage1 and fills it with the FAT writer', async () => {
    const dir = tempDir();
    const { stage1, stage2, symbols } = assemble(dir);
    const out = join(dir, 'portix64.img');
    const fatPath = join(import.meta.dirname, '../../../src/formats/fat/index.ts');
    const fat = existsSync(fatPath) ? await import('../../../src/formats/fat/index.js') : undefined;
    const files = buildTree({ 'README.TXT': 'Portix storage\n', 'data/log.txt': 'boot ok\n' });
    const layout = await writeRawFile(
      out,
      portixLayout({
        stage1,
        stage2,
        kernel,
        size: '64M',
        kernelLbaAt: { symbol: 'kernel_lba' },
        stage2Symbols: symbols,
        partition: fat
          ? { type: 'fat32', fill: fat.fatFiller(files, { type: 32, label: 'PORTIX' }) }
          : { type: 'fat32' },
      }),
    );
    expect(layout.partition).toMatchObject({ startLba: 2048, sectors: (64 << 11) - 2048, type: 0x0c });
    const disk = readFileSync(out);
    // stage1's code is intact; the table sits at 446..509
    expect(disk.subarray(0, 446).equals(Buffer.from(stage1.subarray(0, 446)))).toBe(true);
    const mbr = await readMbr(new Uint8Array(disk), { strict: true });
    expect(mbr.partitions.map((p) => [p.index, p.type, p.startLba, p.sectors])).toEqual([
      [1, 0x0c, 2048, (64 << 11) - 2048],
    ]);
    const verify = tool(['sfdisk', '--verify', out]);
    expect(verify.stdout).toContain('No errors detected.');
    const json = JSON.parse(tool(['sfdisk', '--json', out]).stdout) as {
      partitiontable: { partitions: Array<{ start: number; type: string }> };
    };
    expect(json.partitiontable.partitions).toMatchObject([{ start: 2048, type: 'c' }]);
    if (fat) {
      const source = await FileSource.open(out);
      try {
        const volume = await fat.openFat(new SubSource(source, 2048 * 512, (64 << 20) - (1 << 20)));
        expect(new TextDecoder().decode(await volume.readFileBytes('data/log.txt'))).toBe('boot ok\n');
      } finally {
        await source.close();
      }
      const mdir = tool(['mdir', '-i', `${out}@@${2048 * 512}`, '-b', '::/']);
      expect(mdir.status, mdir.stderr).toBe(0);
      expect(mdir.stdout).toMatch(/README\.TXT/);
      const part = join(dir, 'part.img');
      writeFileSync(part, disk.subarray(2048 * 512));
      const fsck = tool(['fsck.fat', '-n', part]);
      expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
      expect(fsck.stdout).not.toMatch(/differ|mismatch|corrupt|invalid|bad/i);
    }
  });

  it('patches u8..u64 in both byte orders at offsets and round-trips (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 600, max: 5000 }),
        fc.array(
          fc.record({
            type: fc.constantFrom('u8' as const, 'u16' as const, 'u32' as const, 'u64' as const),
            slot: fc.nat({ max: 60 }),
            endian: fc.constantFrom('le' as const, 'be' as const),
            value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          }),
          { maxLength: 8 },
        ),
        async (kernelSize, patches) => {
          const unique = patches.filter((p, i) => patches.findIndex((q) => q.slot === p.slot) === i);
          const width = { u8: 1n, u16: 2n, u32: 4n, u64: 8n };
          const options: RawOptions = {
            size: 64 * 1024,
            regions: [
              { name: 'code', lba: 2, content: new Uint8Array(600).fill(0x90) },
              { name: 'kernel', lba: 10, content: new Uint8Array(kernelSize).fill(7) },
            ],
            patches: unique.map((p) => ({
              region: 'code',
              at: p.slot * 8,
              type: p.type,
              endian: p.endian,
              value: p.value % (1n << (8n * width[p.type])),
            })),
          };
          const layout = await layoutRaw(options);
          const sink = new MemorySink(layout.size);
          await writeRaw(sink, layout);
          const info = await readRaw(sink.bytes, {
            regions: [{ name: 'code', lba: 2, size: 600 }],
            patches: layout.patches.map((p) => ({
              region: p.region,
              offset: p.offset,
              type: p.type,
              endian: p.endian,
            })),
          });
          expect(info.patches.map((p) => p.value)).toEqual(layout.patches.map((p) => p.value));
          expect(sink.bytes.subarray(10 * 512, 10 * 512 + kernelSize).every((b) => b === 7)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is reproducible and sparse', async () => {
    const dir = tempDir();
    const { stage1, stage2 } = assemble(dir);
    writeFileSync(join(dir, 'kernel.bin'), kernel);
    const options = portixLayout({
      stage1,
      stage2,
      kernel: await fileContent(join(dir, 'kernel.bin')),
      size: '256M',
      kernelLbaAt: 4,
    });
    await writeRawFile(join(dir, 'a.img'), options);
    await writeRawFile(join(dir, 'b.img'), options);
    expect(tool(['cmp', join(dir, 'a.img'), join(dir, 'b.img')]).status).toBe(0);
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'a.img')).blocks * 512).toBeLessThan(2 << 20);
  });

  it('reader survives arbitrary sector 0 contents (fuzz)', async () => {
    const runs = Number(process.env.KILN_FUZZ_RUNS ?? 20000);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 1100 }), fc.boolean(), async (bytes, sig) => {
        if (sig && bytes.length >= 512) {
          bytes[510] = 0x55;
          bytes[511] = 0xaa;
        }
        try {
          const info = await readRaw(bytes, {
            regions: [{ name: 'x', lba: 1, size: 10 }],
            patches: [{ region: 'x', offset: 2, type: 'u32' }],
          });
          expect(info.regions).toHaveLength(1);
        } catch (error) {
          expect(error).toBeInstanceOf(KilnError);
        }
      }),
      { numRuns: runs },
    );
  });
});
