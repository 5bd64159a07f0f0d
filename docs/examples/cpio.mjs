// kiln/cpio: an initramfs (newc) with a script, a directory, a symlink and a device node, written
// reproducibly into memory, listed and one file read back.
import assert from 'node:assert/strict';
import { MemorySink, MemorySource, buildTree, encodeUtf8 } from 'kiln/io';
import { layoutCpio, readCpio, readCpioData, writeCpio } from 'kiln/cpio';

const tree = buildTree({
  init: { kind: 'file', content: encodeUtf8('#!/bin/sh\necho hello from kiln/cpio\n'), mode: 0o755 },
  'etc/motd': 'welcome\n',
  'bin/sh': { kind: 'symlink', target: 'busybox' },
  'dev/console': { kind: 'char', major: 5, minor: 1, mode: 0o600 },
});
const layout = layoutCpio(tree, { epoch: 0 });
const sink = new MemorySink(layout.size);
await writeCpio(sink, tree, { epoch: 0 });

const archive = await readCpio(sink.bytes);
for (const e of archive.entries) console.log(`${e.kind.padEnd(7)} ${e.mode.toString(8).padStart(6, '0')} ${e.path}`);
const init = archive.entries.find((e) => e.path === 'init');
const text = new TextDecoder().decode(await readCpioData(new MemorySource(sink.bytes), init));
assert.match(text, /hello from kiln\/cpio/);
console.log(`${archive.format} archive, ${layout.size} bytes; init starts with ${JSON.stringify(text.split('\n')[0])}`);
