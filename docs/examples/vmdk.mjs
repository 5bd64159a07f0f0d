// kiln/vmdk: a raw disk converted to a streamOptimized VMDK (compressed grains, for OVF/cloud
// uploads), opened again and turned back into the same raw bytes.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource, MemorySink, MemorySource } from 'kiln/io';
import { openVmdk, vmdkToRaw, writeVmdkFile } from 'kiln/vmdk';

const disk = new Uint8Array(2 << 20);
for (let i = 0; i < 65536; i++) disk[i] = i % 251; // some data in the first grains, zeros after
const path = join(mkdtempSync(join(tmpdir(), 'kiln-example-')), 'disk.vmdk');
await writeVmdkFile(new MemorySource(disk), path, { subformat: 'streamOptimized' });

const vmdk = await openVmdk(await FileSource.open(path));
const back = new MemorySink(vmdk.size);
await vmdkToRaw(vmdk, back);
assert.deepEqual(back.bytes, disk);
console.log(`disk.vmdk: ${vmdk.createType}, ${vmdk.size}-byte disk; round trip identical`);
await vmdk.close();
