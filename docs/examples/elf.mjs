// kiln/elf: embed a file in a relocatable ELF object (what `ld -r -b binary` does), read it back
// with the ELF reader, and summarize a real executable of this machine.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { MemorySink, encodeUtf8 } from 'kiln/io';
import { EM, layoutBinaryObject, machineName, readElf, summarizeElf, writeBinaryObject } from 'kiln/elf';

const data = encodeUtf8('font or initrd bytes\n');
const layout = layoutBinaryObject(data.length, { arch: 'aarch64', symbol: 'splash' });
const sink = new MemorySink(layout.size);
await writeBinaryObject(sink, data, layout);

const object = readElf(sink.bytes);
assert.equal(object.header.machine, EM.AARCH64);
const names = object.symbols.map((s) => s.name).filter((n) => n.startsWith('_binary_'));
assert.deepEqual(names.sort(), ['_binary_splash_end', '_binary_splash_size', '_binary_splash_start']);
console.log(`${machineName(object.header.machine)} ${object.typeName} object: ${names.join(', ')}`);

const exe = ['/bin/true', '/usr/bin/true'].find((p) => existsSync(p));
if (exe) {
  const s = summarizeElf(readElf(readFileSync(exe)));
  console.log(`${exe}: ELF${s.class} ${s.machine} ${s.type}, entry ${s.entry}, ${s.segments.length} segments, ${s.sections.length} sections`);
}
