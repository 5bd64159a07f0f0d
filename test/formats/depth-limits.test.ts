// Writers and readers accept the same trees (issue #15 item 9): the deepest ISO9660 and FAT trees
// kiln writes are the deepest its readers read; one level more is refused by the writer with a clear
// error, and by the reader (a patched image) with the same limit in its message. cpio shares its name
// limit (MAX_NAME_BYTES) between writer and reader; test/formats/cpio covers it.
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/errors.js';
import { openFat, planFat } from '../../src/formats/fat/index.js';
import { FAT_MAX_DEPTH } from '../../src/formats/fat/_structures.js';
import { MemorySource } from '../../src/formats/io/block-source.js';
import { buildTree } from '../../src/formats/io/tree.js';
import { planIso, readIso } from '../../src/formats/iso9660/index.js';
import { ISO_MAX_DEPTH } from '../../src/formats/iso9660/_encode.js';
import { fatImage, isoImage, patchAll } from './io/_hostile.js';

/** `d/d/.../d` with `n` components. */
const chain = (n: number): string => Array.from({ length: n }, () => 'd').join('/');

describe('ISO9660: writer and reader share ISO_MAX_DEPTH', () => {
  it(`a directory at level ${ISO_MAX_DEPTH} (root = 1) is written and read in every namespace; one more is refused by the writer`, async () => {
    const deepest = chain(ISO_MAX_DEPTH - 1);
    const image = await isoImage({ [`${deepest}/F.TXT`]: 'x' });
    for (const namespace of ['rockridge', 'joliet', 'iso9660'] as const) {
      const iso = await readIso(new MemorySource(image, 'iso9660'), { namespace });
      expect(
        iso.entries.some((e) => e.path.toLowerCase() === `${deepest}/f.txt`),
        namespace,
      ).toBe(true);
    }
    // The limit is exact: the reader with one level less refuses this image.
    await expect(readIso(new MemorySource(image, 'iso9660'), { maxDepth: ISO_MAX_DEPTH - 1 })).rejects.toMatchObject({
      code: 'TOO_DEEP',
    });
    for (const tree of [{ [`${chain(ISO_MAX_DEPTH)}/F.TXT`]: 'x' }, { [chain(1500)]: { kind: 'dir' as const } }]) {
      const refused = planIso(buildTree(tree), { epoch: 0 });
      await expect(refused).rejects.toBeInstanceOf(KilnError);
      await expect(refused).rejects.toMatchObject({
        code: 'ISO_TOO_DEEP',
        message: expect.stringMatching(
          new RegExp(`directory levels deep; kiln writes and reads ISO trees up to ${ISO_MAX_DEPTH}`),
        ),
      });
    }
  });
});

describe('FAT: writer and reader share FAT_MAX_DEPTH', () => {
  it(`a directory with ${FAT_MAX_DEPTH} components is written and read; one more is refused by the writer and (patched in) by the reader`, async () => {
    const deepest = chain(FAT_MAX_DEPTH);
    // X is a file of zeros; patching its attribute into a directory makes an empty directory one level deeper.
    const image = await fatImage({ [`${deepest}/X`]: new Uint8Array(512) }, 8 << 20);
    const volume = await openFat(new MemorySource(image, 'fat'));
    expect((await volume.list()).some((e) => e.path === `${deepest}/X`)).toBe(true);
    for (const tree of [{ [`${chain(FAT_MAX_DEPTH + 1)}/F`]: 'x' }, { [chain(1500)]: { kind: 'dir' as const } }]) {
      expect(() => planFat(buildTree(tree), 16 << 20, { epoch: 0 })).toThrow(
        expect.objectContaining({
          code: 'FAT_TOO_DEEP',
          message: expect.stringMatching(
            new RegExp(`levels deep; kiln writes and reads FAT trees up to ${FAT_MAX_DEPTH}`),
          ),
        }),
      );
    }
    const entry = new TextEncoder().encode('X          \x20'); // short name + ATTR_ARCHIVE
    const deeper = patchAll(image, entry, new TextEncoder().encode('X          \x10'));
    const hostile = await openFat(new MemorySource(deeper, 'fat'));
    await expect(hostile.list()).rejects.toMatchObject({
      code: 'TOO_DEEP',
      message: expect.stringContaining(`more than ${FAT_MAX_DEPTH} levels`),
    });
  });
});
