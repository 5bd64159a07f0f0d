// kiln/vdi: a raw disk converted to a sparse VirtualBox VDI, opened again and turned back into
// the same raw bytes.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource, MemorySink, MemorySource } from 'kiln/io';
import { openVdi, vdiToRaw, writeVdiFile } from 'kiln/vdi';

const disk = new Uint8Array(64 << 20); // 64 MiB, mostly zeros: only the blocks in use are stored
disk.set(new TextEncoder().encode('sector 0 of a raw disk'), 0);
disk.set([0x55, 0xaa], 510);
disk.set(new TextEncoder().encode('data at 40 MiB'), 40 << 20);
const path = join(mkdtempSync(join(tmpdir(), 'kiln-example-')), 'disk.vdi');
const { plan } = await writeVdiFile(new MemorySource(disk), path);

const vdi = await openVdi(await FileSource.open(path));
const back = new MemorySink(vdi.size);
await vdiToRaw(vdi, back);
assert.deepEqual(back.bytes, disk);
console.log(`disk.vdi: ${plan.fileSize} bytes for a ${vdi.size}-byte disk (${plan.allocated} blocks stored); round trip identical`);
await vdi.close();
