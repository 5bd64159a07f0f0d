// kiln: the config API a kiln.config.ts imports. Steps are typed handles; defineConfig returns the
// project as data, so a script can inspect what `kiln build` would plan.
import assert from 'node:assert/strict';
import { defineConfig, formatSize, guest, measure, nasm, parseSize, raw } from 'kiln';

const boot = nasm.bin({ source: 'boot.asm', exactSize: 512 });
const disk = raw({ size: '8M', regions: [{ name: 'boot', lba: 0, content: boot, bootSignature: true }] });
const config = defineConfig({
  name: 'hello',
  arch: 'x86_64',
  components: { boot },
  images: { disk },
  run: { image: disk, exit: { kind: 'isa-debug-exit', success: 0 } },
  tests: {
    boot: {
      expect: ['Hello', measure(/boot took (\d+) ms/, { max: 2000, name: 'boot time' })],
      script: [guest.expect('> '), guest.send('help\r'), guest.expect(/commands:/)],
    },
  },
});

for (const [key, step] of Object.entries({ ...config.components, ...config.images })) {
  console.log(`${key}: a ${step.kind.kind} step with options ${Object.keys(step.options).join(', ')}`);
}
// A step handle stands for its output wherever a file is expected: the disk depends on the boot sector.
assert.equal(config.images.disk.options.regions[0].content, boot);
console.log(`tests: ${Object.keys(config.tests).join(', ')}; script steps: ${config.tests.boot.script.map((s) => s.kind).join(' ')}`);
assert.equal(parseSize('16M'), 16 << 20);
console.log(`parseSize('16M') = ${parseSize('16M')}, formatSize(${1536 << 10}) = ${formatSize(1536 << 10)}`);
