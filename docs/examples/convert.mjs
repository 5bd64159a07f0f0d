// kiln/convert: convert a raw disk image to VDI and VMDK by file name, as `kiln image convert` does.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertImageFile } from 'kiln/convert';

const dir = mkdtempSync(join(tmpdir(), 'kiln-example-'));
const disk = new Uint8Array(1 << 20);
disk.set([0x55, 0xaa], 510);
writeFileSync(join(dir, 'disk.img'), disk);
for (const format of ['vdi', 'vmdk']) {
  const r = await convertImageFile(join(dir, 'disk.img'), join(dir, `disk.${format}`), { format });
  assert.equal(r.diskSize, disk.length);
  console.log(`${r.inputFormat} -> ${r.format}${r.subformat ? ` (${r.subformat})` : ''}: ${r.fileSize} bytes, ${r.storedBytes} stored`);
}
