// kiln/iso9660: an ISO9660 image (Rock Ridge + Joliet) written to a file, then opened and read back.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource, buildTree } from 'kiln/io';
import { readIso, readIsoFileBytes, writeIsoFile } from 'kiln/iso9660';

const path = join(mkdtempSync(join(tmpdir(), 'kiln-example-')), 'cd.iso');
const tree = buildTree({ 'boot/grub/grub.cfg': 'set timeout=0\n', 'README.txt': 'built by kiln/iso9660\n' });
const plan = await writeIsoFile(path, tree, { volumeId: 'KILN_EXAMPLE', epoch: 0 });

const source = await FileSource.open(path);
const iso = await readIso(source);
assert.equal(iso.volumeId, 'KILN_EXAMPLE');
const cfg = iso.entries.find((e) => e.path === 'boot/grub/grub.cfg');
assert.equal(new TextDecoder().decode(await readIsoFileBytes(source, cfg)), 'set timeout=0\n');
console.log(`${iso.volumeId}: ${plan.size} bytes, namespace ${iso.namespace}`);
for (const e of iso.entries) console.log(`  ${e.kind} ${e.path} ${e.size}`);
await source.close();
