// kiln/gpt: lay out a GPT disk with an EFI System Partition (a FAT volume written in place) and a
// Linux partition, write it, then read the partition table back.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource, buildTree, writeImageFile } from 'kiln/io';
import { writeFat } from 'kiln/fat';
import { layoutGpt, readGpt, writeGpt } from 'kiln/gpt';

const image = join(mkdtempSync(join(tmpdir(), 'kiln-example-')), 'disk.img');
const esp = buildTree({ 'EFI/BOOT/hello.txt': 'hi\n' });
const layout = layoutGpt({
  size: '64M',
  partitions: [
    { type: 'esp', size: '32M', fill: (sink, { offset }) => writeFat(sink, esp, { hiddenSectors: offset / 512 }) },
    { type: 'linux', name: 'root' },
  ],
});
await writeImageFile(image, layout.size, (sink) => writeGpt(sink, layout));

const disk = await FileSource.open(image);
const gpt = await readGpt(disk);
assert.deepEqual(gpt.problems, []);
assert.deepEqual(gpt.partitions.map((p) => p.typeName), ['esp', 'linux']);
console.log(`disk ${gpt.diskGuid}, ${gpt.size} bytes`);
for (const p of gpt.partitions) console.log(`  ${p.index}: ${p.typeName} "${p.name}" LBA ${p.firstLba}..${p.lastLba}`);
await disk.close();
