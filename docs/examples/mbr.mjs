// kiln/mbr: an MBR disk with one bootable FAT32 partition, written into memory and read back.
import assert from 'node:assert/strict';
import { MemorySink, buildTree } from 'kiln/io';
import { writeFat } from 'kiln/fat';
import { layoutMbr, readMbr, writeMbr } from 'kiln/mbr';

const tree = buildTree({ 'HELLO.TXT': 'hello from kiln/mbr\n' });
const layout = layoutMbr({
  size: '48M',
  partitions: [{ type: 'fat32', bootable: true, fill: (sink, { offset }) => writeFat(sink, tree, { type: 32, hiddenSectors: offset / 512 }) }],
});
const sink = new MemorySink(layout.size);
await writeMbr(sink, layout);

const mbr = await readMbr(sink.bytes);
assert.equal(mbr.partitions.length, 1);
assert.equal(mbr.partitions[0].bootable, true);
const p = mbr.partitions[0];
console.log(`disk signature 0x${mbr.diskSignature.toString(16)}: partition ${p.index} ${p.typeName} at LBA ${p.startLba}, ${p.sectors} sectors, bootable`);
