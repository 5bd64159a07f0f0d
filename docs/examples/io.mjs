// kiln/io: the byte-level toolkit the image formats share: a bounds-checked reader that reports
// the offset of bad input, CRC-32, GUIDs derived from a seed, and file trees.
import assert from 'node:assert/strict';
import { ByteReader, buildTree, crc32, deriveGuid, encodeUtf8, guidFromBytes, guidToBytes, sortedPaths, toHex } from 'kiln/io';
import { FormatError } from 'kiln';

// A tiny header: magic "KILN", a little-endian u16 version, a u32 length.
const header = new Uint8Array([0x4b, 0x49, 0x4c, 0x4e, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00]);
const r = new ByteReader(header, 'example header');
const magic = r.ascii(4, 'magic');
const version = r.u16(true, 'version');
const length = r.u32(true, 'length');
console.log(`magic ${magic}, version ${version}, length ${length}`);
try {
  r.u32(true, 'checksum'); // past the end: a FormatError naming the field and the offset
} catch (error) {
  assert.ok(error instanceof FormatError);
  console.log(`truncated input: ${error.message}`);
}

assert.equal(crc32(encodeUtf8('123456789')), 0xcbf43926); // the CRC-32 check value
const guid = deriveGuid('my-os', 'partition/1'); // the same seed and label give the same GUID
assert.equal(guidFromBytes(guidToBytes(guid)), guid);
console.log(`crc32("123456789") = ${crc32(encodeUtf8('123456789')).toString(16)}, guid ${guid}, mixed-endian ${toHex(guidToBytes(guid))}`);
console.log(`tree: ${sortedPaths(buildTree({ 'boot/kernel.elf': new Uint8Array(4), 'etc/motd': 'hi\n' })).join(' ')}`);
