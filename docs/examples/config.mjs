// kiln/config: write a kiln.config.ts, load and validate it as the CLI does, resolve its options
// from command-line style values, and see a misspelled field rejected.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOption, loadConfig, option, resolveOptions } from 'kiln/config';

const dir = mkdtempSync(join(tmpdir(), 'kiln-example-'));
writeFileSync(join(dir, 'kiln.config.ts'), `
import { defineConfig, option, nasm } from 'kiln';
export default defineConfig({
  name: 'demo',
  options: { size: option.size({ default: '8M', min: '1M', help: 'disk size' }) },
  components: { boot: nasm.bin({ source: 'boot.asm', exactSize: 512 }) },
});
`);
const loaded = await loadConfig(dir);
assert.equal(loaded.config.name, 'demo');
console.log(`loaded ${loaded.path}: project ${loaded.config.name}, components ${Object.keys(loaded.config.components).join(', ')}`);

const spec = { mode: option.enum(['raw', 'iso'], { default: 'raw', help: 'output format' }), size: loaded.config.options.size };
for (const [name, def] of Object.entries(spec)) console.log(`  ${describeOption(name, def).flag}  ${describeOption(name, def).help}`);
const values = resolveOptions(spec, { mode: 'iso', size: '16M' });
assert.deepEqual(values, { mode: 'iso', size: 16 << 20 });
console.log(`--mode=iso --size=16M -> ${JSON.stringify(values)}`);

writeFileSync(join(dir, 'kiln.config.ts'), `export default { name: 'demo', components: {}, tets: {} };\n`);
await assert.rejects(loadConfig(dir), (error) => {
  console.log(`misspelled field: ${error.code}: ${error.message}`);
  return error.code !== undefined;
});
