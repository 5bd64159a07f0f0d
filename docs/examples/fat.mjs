// kiln/fat: write a FAT volume from a file tree, then open it and read a file back.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource, buildTree, writeImageFile } from 'kiln/io';
import { openFat, writeFat } from 'kiln/fat';

const image = join(mkdtempSync(join(tmpdir(), 'kiln-example-')), 'esp.img');
const tree = buildTree({ 'EFI/BOOT/README.TXT': 'hello from kiln/fat\n', 'boot/cmdline': 'console=ttyS0' });
const written = await writeImageFile(image, 16 << 20, (sink) => writeFat(sink, tree, { label: 'KILN' }));

const source = await FileSource.open(image);
const fat = await openFat(source);
const text = new TextDecoder().decode(await fat.readFileBytes('EFI/BOOT/README.TXT'));
assert.equal(text, 'hello from kiln/fat\n');
console.log(`FAT${written.type} "${fat.info.label}", ${written.size} bytes, ${written.freeClusters} clusters free:`);
for (const entry of await fat.list()) console.log(`  ${entry.kind} ${entry.path} ${entry.size}`);
await source.close();
