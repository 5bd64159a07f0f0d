// FAT BPB validation as fsck.fat does it (issue #15 item 8): a boot sector fsck.fat refuses is refused
// by kiln's reader too, with the field's name and byte offset — never read into silently wrong data.
// fsck.fat -n judges every mutated image in the same test.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../../src/errors.js';
import { openFat } from '../../../src/formats/fat/index.js';
import { MemorySource } from '../../../src/formats/io/block-source.js';
import { runKiln, tempDir, tool } from '../../_helpers.js';
import { fatImage } from '../io/_hostile.js';

interface Mutation {
  name: string;
  offset: number;
  width: 1 | 2 | 4;
  value: number;
  /** What kiln's message names. */
  field: RegExp;
  /** What fsck.fat says. */
  fsck: RegExp;
}

const MUTATIONS: Mutation[] = [
  {
    name: 'root entries 0xFFFF (issue #15)',
    offset: 17,
    width: 2,
    value: 0xffff,
    field: /BPB_RootEntCnt 65535 does not fill a whole number/,
    fsck: /doesn't span an integral number of sectors/,
  },
  {
    name: 'root entries 1',
    offset: 17,
    width: 2,
    value: 1,
    field: /BPB_RootEntCnt 1 does not fill/,
    fsck: /doesn't span an integral number of sectors/,
  },
  {
    name: 'root entries 0 (FAT16)',
    offset: 17,
    width: 2,
    value: 0,
    field: /BPB_RootEntCnt is 0/,
    fsck: /Root directory has zero size/,
  },
  { name: '3 FATs', offset: 16, width: 1, value: 3, field: /BPB_NumFATs is 3/, fsck: /only 1 or 2 FATs are supported/ },
  { name: '0 FATs', offset: 16, width: 1, value: 0, field: /BPB_NumFATs is 0/, fsck: /only 1 or 2 FATs are supported/ },
  {
    name: 'FAT of 1 sector',
    offset: 22,
    width: 2,
    value: 1,
    field: /clusters but its FAT \(BPB_FATSz16 = 1 sectors\) has room for 254/,
    fsck: /only space for 254 FAT entries/,
  },
  {
    name: 'sector size 1000',
    offset: 11,
    width: 2,
    value: 1000,
    field: /BPB_BytsPerSec is 1000/,
    fsck: /Logical sector size \(1000 bytes\)/,
  },
  {
    name: 'total sectors past the end',
    offset: 19,
    width: 2,
    value: 0xffff,
    field: /BPB_TotSec16 says the volume has 65535 sectors|has room for/,
    fsck: /Failed to read sector|only space for/,
  },
];

function mutate(image: Uint8Array, m: Mutation): Uint8Array {
  const out = new Uint8Array(image);
  const view = new DataView(out.buffer);
  if (m.width === 1) view.setUint8(m.offset, m.value);
  else if (m.width === 2) view.setUint16(m.offset, m.value, true);
  else view.setUint32(m.offset, m.value, true);
  return out;
}

describe('FAT BPB checks agree with fsck.fat', () => {
  const dir = tempDir();

  it('the unmutated FAT16 volume passes both', async () => {
    const image = await fatImage({ 'A.TXT': 'hi\n' }, 16 << 20, 16);
    const file = join(dir, 'good.img');
    writeFileSync(file, image);
    expect(tool(['fsck.fat', '-n', file]).status).toBe(0);
    const volume = await openFat(new MemorySource(image, 'fat'));
    expect((await volume.list()).map((e) => e.path)).toEqual(['A.TXT']);
  });

  it.each(MUTATIONS)('$name: kiln refuses naming the field, fsck.fat refuses too', async (m) => {
    const image = mutate(await fatImage({ 'A.TXT': 'hi\n' }, 16 << 20, 16), m);
    const file = join(dir, `${m.name.replace(/\W+/g, '-')}.img`);
    writeFileSync(file, image);
    const fsck = tool(['fsck.fat', '-n', file]);
    expect(fsck.status, fsck.stdout).not.toBe(0);
    expect(fsck.stdout + fsck.stderr).toMatch(m.fsck);
    const opened = openFat(new MemorySource(image, 'fat'));
    await expect(opened).rejects.toBeInstanceOf(FormatError);
    await expect(opened).rejects.toMatchObject({
      message: expect.stringMatching(m.field),
      location: { offset: expect.any(Number) },
    });
  });

  it('kiln image fat extract of the 0xFFFF-root volume exits 1 naming the field, and writes nothing', async () => {
    const file = join(dir, 'root-ffff.img');
    writeFileSync(file, mutate(await fatImage({ 'A.TXT': 'hi\n' }, 16 << 20, 16), MUTATIONS[0]!));
    const out = join(dir, 'root-ffff-out');
    const r = runKiln(['image', 'fat', 'extract', file, out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*root-ffff\.img: offset 0x11 \(17\): fat: BPB_RootEntCnt 65535/);
    expect(existsSync(out)).toBe(false);
  });
});
