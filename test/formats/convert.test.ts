// Image conversion: format detection by magic, conversions between raw, VDI and both VMDK
// subformats checked by qemu-img, the two-phase size computation, the one-pass file path (same
// bytes as the two phases, sparse, nothing left behind on failure), a 4 GiB sparse disk with
// little data (small output, flat memory), and the `kiln image convert` command.
import { closeSync, ftruncateSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  convertImage,
  convertImageFile,
  detectImageFormat,
  planConversion,
  type ConvertOptions,
} from '../../src/formats/convert.js';
import { MemorySource, type BlockSource } from '../../src/formats/io/block-source.js';
import { MemorySink } from '../../src/formats/io/block-writer.js';
import { runKiln, tempDir } from '../_helpers.js';
import { diskSpec, makeDisk, padToSector, qemuImg, sameBytes, writeFile } from './vdi/_disks.js';

const dir = tempDir('kiln-convert-');
let counter = 0;

const TARGETS: Array<[string, ConvertOptions]> = [
  ['vdi', { format: 'vdi' }],
  ['vmdk', { format: 'vmdk' }],
  ['stream.vmdk', { format: 'vmdk', subformat: 'streamOptimized' }],
  ['raw', { format: 'raw' }],
];

describe('convertImage', () => {
  it('detects raw, VDI and VMDK by magic', async () => {
    const disk = new Uint8Array(1 << 20);
    disk[0] = 0xeb;
    expect(await detectImageFormat(new MemorySource(disk))).toBe('raw');
    for (const [name, options] of TARGETS.slice(0, 3)) {
      const sink = new MemorySink((await planConversion(new MemorySource(disk), options)).fileSize);
      await convertImage(new MemorySource(disk), sink, options);
      expect(await detectImageFormat(new MemorySource(sink.bytes)), name).toBe(options.format);
    }
    expect(await detectImageFormat(new MemorySource(new Uint8Array(0)))).toBe('raw');
  });

  it('chains raw → VDI → streamOptimized → monolithicSparse → raw losslessly; every step passes qemu-img check and compare', async () => {
    await fc.assert(
      fc.asyncProperty(diskSpec, async (spec) => {
        const disk = makeDisk(spec);
        const n = counter++;
        const raw = writeFile(dir, `c${n}.img`, disk);
        let input = raw;
        for (const [ext, options] of [TARGETS[0]!, TARGETS[2]!, TARGETS[1]!, TARGETS[3]!]) {
          const out = join(dir, `c${n}-${ext}.${ext.endsWith('vmdk') ? '' : ext}`.replace(/\.$/, ''));
          const result = await convertImageFile(input, out, options);
          expect(result.fileSize).toBe(statSync(out).size);
          expect(result.diskSize).toBe(Math.ceil(disk.length / 512) * 512);
          if (options.format !== 'raw') {
            const check = qemuImg('check', out);
            expect(check.status, check.stdout + check.stderr).toBe(0);
          }
          const compare = qemuImg('compare', '-f', 'raw', raw, out);
          expect(compare.stdout + compare.stderr).toContain('Images are identical.');
          input = out;
        }
        expect(sameBytes(new Uint8Array(readFileSync(input)), padToSector(disk))).toBe('same');
      }),
      { numRuns: 8 },
    );
  });

  it('computes the output size before writing (the plan equals the file written)', async () => {
    const disk = makeDisk({
      size: 9 << 20,
      extents: [
        { at: 12345, length: 200_000, seed: 3, constant: false },
        { at: 7 << 20, length: 10, seed: 9, constant: true },
      ],
    });
    for (const [, options] of TARGETS) {
      const plan = await planConversion(new MemorySource(disk), options);
      const sink = new MemorySink(plan.fileSize);
      const result = await convertImage(new MemorySource(disk), sink, options);
      expect(result.fileSize).toBe(plan.fileSize);
      await expect(
        convertImage(new MemorySource(disk), new MemorySink(plan.fileSize + 512), options),
      ).rejects.toMatchObject({ code: 'CONVERT_SINK_SIZE' });
    }
  });
});

describe('one-pass conversion into a file', () => {
  const ONE_PASS = TARGETS.slice(0, 3);

  it('writes the same bytes as planConversion + emitConversion into a sink, for raw files and other sources, with or without a seed', async () => {
    await fc.assert(
      fc.asyncProperty(
        diskSpec,
        fc.constantFrom(...ONE_PASS),
        fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
        async (spec, [ext, target], seed) => {
          const disk = makeDisk(spec);
          const n = counter++;
          const raw = writeFile(dir, `p${n}.img`, disk);
          const out = join(dir, `p${n}.${ext}`);
          const options: ConvertOptions = { ...target, ...(seed !== undefined ? { seed } : {}) };
          const plan = await planConversion(new MemorySource(disk), { ...options, fileName: `p${n}.${ext}` });
          const sink = new MemorySink(plan.fileSize);
          await convertImage(new MemorySource(disk), sink, { ...options, fileName: `p${n}.${ext}` });
          const result = await convertImageFile(raw, out, options);
          const bytes = new Uint8Array(readFileSync(out));
          expect(result.fileSize).toBe(plan.fileSize);
          expect(result.storedBytes).toBe(plan.storedBytes);
          expect(sameBytes(bytes, sink.bytes)).toBe('same');
          // A source that is not a file (read through BlockSource.read) gives the same bytes.
          const other = join(dir, `p${n}-mem.${ext}`);
          await convertImage(new MemorySource(disk), other, { ...options, fileName: `p${n}.${ext}` });
          expect(sameBytes(new Uint8Array(readFileSync(other)), bytes)).toBe('same');
        },
      ),
      { numRuns: 30 },
    );
  });

  it('leaves zero 4 KiB blocks inside stored blocks as holes', async () => {
    const disk = new Uint8Array(4 << 20);
    for (const at of [0, 1 << 20, (3 << 20) + 65536]) disk.fill(0x5a, at, at + 4096);
    const raw = writeFile(dir, 'holes.img', disk);
    for (const [ext, options] of ONE_PASS.slice(0, 2)) {
      const out = join(dir, `holes.${ext}`);
      await convertImageFile(raw, out, options);
      // Three 4 KiB pieces of data and the metadata: far less than the blocks that hold them.
      expect(statSync(out).blocks * 512, ext).toBeLessThan(256 << 10);
      expect(qemuImg('compare', '-f', 'raw', raw, out).stdout).toContain('Images are identical.');
    }
  });

  it('leaves nothing behind when the input fails half-way', async () => {
    const folder = tempDir('kiln-convert-fail-');
    const disk = makeDisk({ size: 8 << 20, extents: [{ at: 0, length: 8 << 20, seed: 1, constant: false }] });
    let reads = 0;
    const failing: BlockSource = {
      size: disk.length,
      read: async (offset, length) => {
        if (++reads > 2) throw new Error('disk went away');
        return disk.subarray(offset, offset + length);
      },
      close: async () => {},
    };
    for (const [ext, options] of ONE_PASS) {
      reads = 0;
      await expect(convertImage(failing, join(folder, `out.${ext}`), options)).rejects.toThrow('disk went away');
    }
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('a 4 GiB sparse disk with little data', () => {
  const GiB = 1024 ** 3;
  const raw = join(dir, 'big.img');
  const fd = openSync(raw, 'w');
  ftruncateSync(fd, 4 * GiB);
  const chunk = makeDisk({ size: 1 << 20, extents: [{ at: 0, length: 1 << 20, seed: 11, constant: false }] });
  for (const at of [0, 1 * GiB + 12345, 3 * GiB + 7, 4 * GiB - (1 << 20)]) writeSync(fd, chunk, 0, chunk.length, at);
  closeSync(fd);

  it.each(TARGETS.slice(0, 3))(
    'to %s: small output, flat memory, qemu-img agrees',
    async (ext, options) => {
      const out = join(dir, `big.${ext}`);
      const before = process.memoryUsage();
      let peak = before.rss;
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const result = await convertImageFile(raw, out, options);
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      expect(result.diskSize).toBe(4 * GiB);
      // 4 MiB of data touches at most 7 blocks of 1 MiB; the rest is metadata (VDI aligns to 1 MiB).
      expect(statSync(out).size).toBeLessThan(12 << 20);
      expect(statSync(out).size).toBe(result.fileSize);
      expect(peak - before.rss).toBeLessThan(160 << 20);
      const info = JSON.parse(qemuImg('info', '--output=json', out).stdout) as {
        'virtual-size': number;
        format: string;
      };
      expect(info['virtual-size']).toBe(4 * GiB);
      expect(info.format).toBe(options.format);
      expect(qemuImg('check', out).status).toBe(0);
      const compare = qemuImg('compare', '-f', 'raw', raw, out);
      expect(compare.stdout + compare.stderr).toContain('Images are identical.');
    },
    120_000,
  );
});

describe('kiln image convert', () => {
  const disk = makeDisk({ size: 5 << 20, extents: [{ at: 4096, length: 70_000, seed: 5, constant: false }] });
  const raw = writeFile(dir, 'cli.img', disk);

  it('converts to VDI and VMDK with --json, and the output passes qemu-img', () => {
    for (const [ext, args] of [
      ['vdi', ['--format', 'vdi']],
      ['vmdk', ['--format', 'vmdk', '--subformat', 'streamOptimized']],
    ] as const) {
      const out = join(dir, `cli.${ext}`);
      const r = runKiln(['image', 'convert', raw, out, ...args, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const json = JSON.parse(r.stdout) as {
        ok: boolean;
        format: string;
        fileSize: number;
        diskSize: number;
        subformat?: string;
      };
      expect(json.ok).toBe(true);
      expect(json.format).toBe(ext);
      expect(json.diskSize).toBe(5 << 20);
      expect(json.fileSize).toBe(statSync(out).size);
      if (ext === 'vmdk') expect(json.subformat).toBe('streamOptimized');
      expect(qemuImg('check', out).stdout).toContain('No errors were found');
      expect(qemuImg('compare', '-f', 'raw', raw, out).stdout).toContain('Images are identical.');
    }
    const back = join(dir, 'cli-back.img');
    const r = runKiln(['image', 'convert', join(dir, 'cli.vmdk'), back, '--format', 'raw']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('raw from vmdk');
    expect(sameBytes(new Uint8Array(readFileSync(back)), disk)).toBe('same');
  });

  it('explains bad input and options', () => {
    const noFormat = runKiln(['image', 'convert', raw, join(dir, 'x.out')]);
    expect(noFormat.status).not.toBe(0);
    expect(noFormat.stderr).toContain('--format is required');
    const byName = runKiln(['image', 'convert', raw, join(dir, 'by-name.vmdk'), '--json']);
    expect(byName.status, byName.stderr).toBe(0);
    expect(JSON.parse(byName.stdout).format).toBe('vmdk');
    const badSub = runKiln([
      'image',
      'convert',
      raw,
      join(dir, 'x.vdi'),
      '--format',
      'vdi',
      '--subformat',
      'streamOptimized',
    ]);
    expect(badSub.stderr).toContain('applies to vmdk only');
    const missing = runKiln([
      'image',
      'convert',
      join(dir, 'nope.img'),
      join(dir, 'x.vdi'),
      '--format',
      'vdi',
      '--json',
    ]);
    expect(missing.status).not.toBe(0);
    expect(JSON.parse(missing.stdout).error.code).toBe('CONVERT_INPUT_MISSING');
    const bad = writeFile(dir, 'bad.vdi', new Uint8Array(1024).fill(0));
    const forced = runKiln(['image', 'convert', bad, join(dir, 'x.img'), '--format', 'raw', '--input-format', 'vdi']);
    expect(forced.status).not.toBe(0);
    expect(forced.stderr).toMatch(/error: .*signature is 0x00000000/);
    expect(forced.stderr).toContain('hint: the file is not a VirtualBox VDI image');
  });
});
