// kiln/abi: one ABI schema (syscalls, flags, a struct) → a C header, a Rust module, a Zig file and
// a TypeScript module with the same layout, plus a lock that catches a breaking change later.
import assert from 'node:assert/strict';
import { checkAbi, computeLayout, createAbiLock, defineAbi, generateAbi, normalizeAbi } from 'kiln/abi';

const schema = defineAbi({
  name: 'demo',
  version: '1.0.0',
  syscalls: { yield: 0, send: {} },
  flags: { rights: { width: 32, bits: { read: 0, write: 1 } } },
  structs: { msg: { fields: [{ name: 'tag', type: 'u8' }, { name: 'badge', type: 'u64' }, { name: 'rights', type: 'rights' }] } },
});
const files = generateAbi(schema, { arch: 'x86_64' });
console.log(files.map((f) => `${f.path} (${f.contents.length} bytes)`).join(', '));
const header = files.find((f) => f.path.endsWith('.h')).contents;
assert.match(header, /struct demo_msg|demo_msg/);

const layout = computeLayout(normalizeAbi(schema), 'x86_64').structs[0];
console.log(`struct ${layout.name}: ${layout.size} bytes, align ${layout.align}: ${layout.members.map((m) => `${m.name}@${m.offset}`).join(' ')}`);

// Widening a field without a major version bump is caught against the lock.
const lock = createAbiLock(normalizeAbi(schema));
const changed = { ...schema, version: '1.1.0', structs: { msg: { fields: [{ name: 'tag', type: 'u32' }, ...schema.structs.msg.fields.slice(1)] } } };
const check = checkAbi(changed, lock);
assert.equal(check.ok, false);
console.log(`1.0.0 -> 1.1.0 with msg.tag u8 -> u32: ${check.breaking.map((c) => c.message).join('; ')}`);
