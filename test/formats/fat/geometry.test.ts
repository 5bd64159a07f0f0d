// The geometry kiln picks must be the one mkfs.fat (dosfstools 4.2) picks for the same size and
// type: same BPB bytes (sector/cluster sizes, reserved sectors, FAT count and length, root entries,
// total sectors, media, CHS geometry; FAT32 FAT length, root cluster, FSInfo and backup sectors).
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir, tool } from '../../_helpers.js';
import { writeImageFile } from '../../../src/formats/io/block-writer.js';
import { writeFat } from '../../../src/formats/fat/index.js';
import { computeGeometry } from '../../../src/formats/fat/_geometry.js';
import { KilnError } from '../../../src/errors.js';

const dir = tempDir('kiln-fat-geom-');

async function kilnBoot(bytes: number, type?: 12 | 16 | 32): Promise<Uint8Array> {
  const path = join(dir, `k-${bytes}-${type ?? 0}.img`);
  await writeImageFile(path, bytes, (sink) =>
    writeFat(sink, new Map(), { ...(type ? { type } : {}), epoch: 315532800 }),
  );
  const boot = firstSector(path);
  rmSync(path);
  return boot;
}

function mkfsBoot(kib: number, type?: 12 | 16 | 32): Uint8Array {
  const path = join(dir, `m-${kib}-${type ?? 0}.img`);
  const argv = ['mkfs.fat', ...(type ? ['-F', String(type)] : []), '-C', path, String(kib)];
  const r = tool(argv);
  expect(r.status, r.stderr).toBe(0);
  const boot = firstSector(path);
  rmSync(path);
  return boot;
}

function firstSector(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  const out = new Uint8Array(512);
  readSync(fd, out, 0, 512, 0);
  closeSync(fd);
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('geometry matches mkfs.fat', () => {
  const cases: Array<[number, (12 | 16 | 32)?]> = [
    [360],
    [720],
    [1200],
    [1440],
    [2880],
    [4000],
    [8192],
    [16384],
    [20000],
    [32768],
    [65536],
    [131072],
    [262144],
    [400000],
    [524288],
    [600000],
    [1024, 12],
    [8192, 12],
    [16384, 16],
    [65536, 16],
    [131072, 16],
    [65536, 32],
    [131072, 32],
    [300000, 32],
    [2097152, 32],
    [9000000, 32],
  ];
  for (const [kib, type] of cases) {
    test(`${kib} KiB${type ? ` FAT${type}` : ''}`, async () => {
      const ours = await kilnBoot(kib * 1024, type);
      const theirs = mkfsBoot(kib, type);
      expect(hex(ours.subarray(11, 36))).toBe(hex(theirs.subarray(11, 36)));
      const fat32 = ours[22] === 0 && ours[23] === 0;
      if (fat32) expect(hex(ours.subarray(36, 52))).toBe(hex(theirs.subarray(36, 52)));
      const fsType = fat32 ? 82 : 54;
      expect(hex(ours.subarray(fsType, fsType + 8))).toBe(hex(theirs.subarray(fsType, fsType + 8)));
    });
  }
});

describe("sizes below a type's minimum", () => {
  test('FAT16 on 8 MiB: mkfs.fat and kiln both refuse (too few clusters from 2 KiB up)', async () => {
    expect(tool(['mkfs.fat', '-F', '16', '-C', join(dir, 'f16.img'), '8192']).status).not.toBe(0);
    await expect(kilnBoot(8 << 20, 16)).rejects.toThrow(/too small for FAT16/);
    expect(computeGeometry(8 << 20, { type: 16, clusterSize: 1024 }).clusterCount).toBeGreaterThanOrEqual(4085);
  });
  test('FAT32 needs 65525 clusters', () => {
    expect(() => computeGeometry(32 << 20, { type: 32 })).toThrow(KilnError);
    try {
      computeGeometry(32 << 20, { type: 32 });
    } catch (error) {
      expect((error as KilnError).code).toBe('FAT_TOO_SMALL');
      expect((error as KilnError).hint).toMatch(/65525/);
    }
    expect(computeGeometry(34 << 20, { type: 32 }).clusterCount).toBeGreaterThanOrEqual(65525);
  });
  test('FAT16 needs 4085 clusters (tiny volume)', () => {
    expect(() => computeGeometry(1 << 20, { type: 16 })).toThrow(/too small for FAT16/);
  });
  test('a few sectors are too small for anything', () => {
    expect(() => computeGeometry(16 * 1024)).toThrow(/too small/);
  });
  test('FAT12 on a large volume is refused', () => {
    expect(() => computeGeometry(1 << 30, { type: 12 })).toThrow(KilnError);
  });
  test('a forced cluster size that cannot work says so', () => {
    expect(() => computeGeometry(64 << 20, { type: 32, clusterSize: 4096 })).toThrow(
      /cannot be FAT32 with 4 KiB clusters/,
    );
    expect(() => computeGeometry(64 << 20, { clusterSize: 3000 })).toThrow(/power of two/);
  });
  test('FAT type boundaries follow fatgen103 (FAT12 < 4085 <= FAT16 < 65525 <= FAT32)', () => {
    for (let mib = 1; mib <= 600; mib += 7) {
      const g = computeGeometry(mib << 20);
      if (g.type === 12) expect(g.clusterCount).toBeLessThan(4085);
      if (g.type === 16) expect(g.clusterCount).toBeGreaterThanOrEqual(4085);
      if (g.type === 16) expect(g.clusterCount).toBeLessThan(65525);
      if (g.type === 32) expect(g.clusterCount).toBeGreaterThanOrEqual(65525);
    }
  });
});
