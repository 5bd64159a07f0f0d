// kiln/tar: a ustar archive written into memory, read back and one member extracted.
import assert from 'node:assert/strict';
import { MemorySink, buildTree } from 'kiln/io';
import { layoutTar, readTar, readTarData, writeTar } from 'kiln/tar';

const tree = buildTree({ 'etc/hostname': 'kiln\n', 'usr/share/doc/README': 'built by kiln/tar\n' });
const layout = layoutTar(tree, { epoch: 0 });
const sink = new MemorySink(layout.size);
await writeTar(sink, tree, { epoch: 0 });

const archive = await readTar(sink.bytes);
for (const e of archive.entries) console.log(`${e.kind.padEnd(4)} ${e.path} ${e.size}`);
const readme = archive.entries.find((e) => e.path === 'usr/share/doc/README');
assert.equal(new TextDecoder().decode(await readTarData(sink.bytes, readme)), 'built by kiln/tar\n');
console.log(`${archive.dialect} archive, ${layout.size} bytes (records of 10240)`);
