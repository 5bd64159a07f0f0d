// kiln/raw: a raw disk with regions at fixed LBAs (a boot sector at 0, a payload at 8) and a patch
// that writes the payload's LBA into the boot sector, then read back and checked.
import assert from 'node:assert/strict';
import { MemorySink } from 'kiln/io';
import { layoutRaw, readRaw, writeRaw } from 'kiln/raw';

// jmp $ (a boot sector that spins) and room for the patched LBA; kiln pads it to 510 bytes and signs it.
const boot = new Uint8Array([0xeb, 0xfe, 0, 0, 0, 0, 0, 0]);
const payload = new TextEncoder().encode('payload: the kernel would be here\n');
const layout = await layoutRaw({
  size: '1M',
  regions: [
    { name: 'boot', lba: 0, content: boot, bootSignature: 'write' },
    { name: 'kernel', lba: 8, content: payload },
  ],
  patches: [{ region: 'boot', at: 4, type: 'u32', value: { lbaOf: 'kernel' } }],
});
const sink = new MemorySink(layout.size);
await writeRaw(sink, layout);

const info = await readRaw(sink.bytes, { patches: [{ region: 'boot', offset: 4, type: 'u32' }], regions: [{ name: 'boot', lba: 0, size: 512 }] });
assert.equal(info.bootSignature, true);
assert.equal(info.patches[0].value, 8n);
console.log(`${info.size} bytes, boot signature ${info.bootSignature}; boot+4 = ${info.patches[0].value} (the kernel's LBA)`);
for (const r of layout.regions) console.log(`  ${r.name}: LBA ${r.lba}, ${r.size} bytes`);
