// Level 3 multi-extent files (ECMA-119 6.5.1, 9.1.6 bit 7): a sparse 4 GiB + 12345-byte file.
// Its own file so the 4 GiB stream runs in parallel with the other suites.
import { describe, expect, it } from 'vitest';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, tool } from '../../_helpers.js';
import { KilnError } from '../../../src/errors.js';
import { buildTree } from '../../../src/formats/io/tree.js';
import { FileSource } from '../../../src/formats/io/block-source.js';
import { planIso, writeIsoFile, readIso } from '../../../src/formats/iso9660/index.js';

const dir = tempDir('kiln-iso-big-');

describe('ISO9660 large files', () => {
  it('refuses files of 4 GiB at levels 1-2 with a clear error, and splits them into extents at level 3', async () => {
    const big = join(dir, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, 4 * 1024 ** 3 + 12345);
    const content = { kind: 'file' as const, path: big, size: 4 * 1024 ** 3 + 12345 };
    const tree = buildTree({ 'big.bin': content, 'small.txt': 'small' });
    const error = await planIso(tree, { level: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KilnError);
    expect((error as KilnError).code).toBe('ISO_FILE_TOO_LARGE');
    expect((error as KilnError).hint).toMatch(/level 3/);
    const plan = await planIso(tree, { level: 3 });
    const extents = plan.extents.get('big.bin')!;
    expect(extents.map((e) => e.length)).toEqual([0xfffff800, 4 * 1024 ** 3 + 12345 - 0xfffff800]);
    expect(extents[1]!.lba).toBe(extents[0]!.lba + 0xfffff800 / 2048);
    const out = join(dir, 'big.iso');
    await writeIsoFile(out, tree, { level: 3 });
    const source = await FileSource.open(out);
    try {
      const iso = await readIso(source);
      expect(iso.entries.find((e) => e.path === 'big.bin')).toMatchObject({ size: 4 * 1024 ** 3 + 12345 });
      const listing = tool(['xorriso', '-indev', out, '-find', '/', '-exec', 'lsdl']);
      expect(listing.stdout).toMatch(new RegExp(`${4 * 1024 ** 3 + 12345}.*'/big.bin'`));
    } finally {
      await source.close();
    }
  }, 120_000);
});
