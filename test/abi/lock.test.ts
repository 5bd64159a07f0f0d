// abi.lock.json and checkAbi: breaking changes (renumbered/removed syscalls, changed layouts,
// removed/moved flags, changed values) fail without a major bump; additions are compatible;
// auto-assigned numbers never move once locked; the lock reader refuses damaged files.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkAbi,
  createAbiLock,
  normalizeAbi,
  parseAbiLock,
  serializeAbiLock,
  type AbiLock,
  type AbiSchema,
} from '../../src/abi/index.js';
import { KilnError } from '../../src/errors.js';
import { kozoSchema } from './_fixtures.js';

const v1 = {
  name: 'kozo',
  version: '1.0.0',
  syscalls: { yield: 0, cap_grant: {}, cap_revoke: {} },
  enums: { obj_type: { values: ['untyped', 'cnode'] } },
  flags: { cap_rights: { width: 32, bits: { read: 0, write: 1, grant: 2 }, reserved: [31] } },
  errors: { values: { ok: 0, denied: -1 } },
  constants: { page_size: 4096 },
  structs: { msg: { fields: { tag: 'u64', rights: 'cap_rights' } } },
} satisfies AbiSchema;
const lock = createAbiLock(normalizeAbi(v1));
const check = (schema: AbiSchema, l: AbiLock = lock) => checkAbi(schema, l);
const summary = (schema: AbiSchema) => check(schema).changes.map((c) => `${c.severity} ${c.path}`);

describe('checkAbi', () => {
  it('an unchanged schema has no changes', () => {
    const r = check(v1);
    expect(r.changes).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.hash).toBe(lock.hash);
  });

  const breaking: Array<[string, AbiSchema, string]> = [
    ['renumbered syscall', { ...v1, syscalls: { ...v1.syscalls, yield: 9 } }, 'syscalls.yield'],
    ['removed syscall', { ...v1, syscalls: { yield: 0, cap_grant: {} } }, 'syscalls.cap_revoke'],
    [
      'removed flag',
      { ...v1, flags: { cap_rights: { ...v1.flags.cap_rights, bits: { read: 0, write: 1 } } } },
      'flags.cap_rights.bits.grant',
    ],
    [
      'moved flag',
      { ...v1, flags: { cap_rights: { ...v1.flags.cap_rights, bits: { read: 0, write: 1, grant: 3 } } } },
      'flags.cap_rights.bits.grant',
    ],
    ['flag width', { ...v1, flags: { cap_rights: { ...v1.flags.cap_rights, width: 64 } } }, 'flags.cap_rights.width'],
    ['field type/size', { ...v1, structs: { msg: { fields: { tag: 'u32', rights: 'cap_rights' } } } }, 'structs.msg'],
    [
      'field added (layout changed)',
      { ...v1, structs: { msg: { fields: { tag: 'u64', rights: 'cap_rights', extra: 'u32' } } } },
      'structs.msg.fields.extra',
    ],
    [
      'fields reordered',
      { ...v1, structs: { msg: { fields: { rights: 'cap_rights', tag: 'u64' } } } },
      'structs.msg.fields.rights',
    ],
    ['struct removed', { ...v1, structs: {} }, 'structs.msg'],
    [
      'enum value changed',
      { ...v1, enums: { obj_type: { values: { untyped: 0, cnode: 2 } } } },
      'enums.obj_type.values.cnode',
    ],
    ['error code removed', { ...v1, errors: { values: { ok: 0 } } }, 'errors.values.denied'],
    ['constant changed', { ...v1, constants: { page_size: 16384 } }, 'constants.page_size'],
  ];
  for (const [title, schema, path] of breaking) {
    it(`breaking: ${title}`, () => {
      const r = check(schema);
      expect(r.breaking.map((c) => c.path)).toContain(path);
      expect(r.ok).toBe(false);
      expect(r.majorBump).toBe(false);
      // A major bump allows it.
      const bumped = check({ ...schema, version: '2.0.0' });
      expect(bumped.ok).toBe(true);
      expect(bumped.majorBump).toBe(true);
      expect(bumped.breaking.length).toBeGreaterThan(0);
    });
  }

  it('breaking messages say what happened', () => {
    const r = check({ ...v1, syscalls: { ...v1.syscalls, yield: 9 } });
    expect(r.breaking[0]).toEqual({
      severity: 'breaking',
      path: 'syscalls.yield',
      message: 'syscall yield was renumbered from 0 to 9',
    });
    const f = check({
      ...v1,
      flags: { cap_rights: { ...v1.flags.cap_rights, bits: { read: 0, write: 1, grant: 3 } } },
    });
    expect(f.breaking[0]!.message).toBe('flag grant moved from bit 2 to bit 3');
  });

  it('additions are compatible (with a minor bump)', () => {
    const schema: AbiSchema = {
      ...v1,
      version: '1.1.0',
      syscalls: { ...v1.syscalls, ipc_send: {} },
      enums: { obj_type: { values: ['untyped', 'cnode', 'frame'] }, other: { values: ['a'] } },
      flags: { cap_rights: { ...v1.flags.cap_rights, bits: { ...v1.flags.cap_rights.bits, revoke: 3 } } },
      errors: { values: { ok: 0, denied: -1, busy: -2 } },
      constants: { page_size: 4096, max_caps: 64 },
      structs: { ...v1.structs, extra: { fields: { a: 'u8' } } },
    };
    const r = check(schema);
    expect(r.ok).toBe(true);
    expect(r.breaking).toEqual([]);
    expect(summary(schema)).toEqual([
      'compatible constants.max_caps',
      'compatible enums.obj_type.values.frame',
      'compatible enums.other',
      'compatible errors.values.busy',
      'compatible flags.cap_rights.bits.revoke',
      'compatible structs.extra',
      'compatible syscalls.ipc_send',
    ]);
    expect(r.lock.syscalls.ipc_send).toBe(3);
  });

  it('notes an ABI change without a version bump', () => {
    const r = check({ ...v1, constants: { page_size: 4096, more: 1 } });
    expect(r.ok).toBe(true);
    expect(r.changes.map((c) => c.path)).toContain('version');
  });

  it('auto-assigned numbers stay put when syscalls are inserted before them', () => {
    const r = check({
      ...v1,
      version: '1.1.0',
      syscalls: { new_first: {}, yield: 0, another: {}, cap_grant: {}, cap_revoke: {} },
    });
    expect(r.ok).toBe(true);
    expect(r.lock.syscalls).toEqual({ yield: 0, cap_grant: 1, cap_revoke: 2, new_first: 3, another: 4 });
  });

  it("a removed syscall's number is never handed out again", () => {
    const removed = check({ ...v1, version: '2.0.0', syscalls: { yield: 0, cap_revoke: {} } });
    const again = checkAbi(
      { ...v1, version: '2.1.0', syscalls: { yield: 0, cap_revoke: {}, fresh: {} } },
      { ...removed.lock, syscalls: lock.syscalls },
    );
    expect(again.lock.syscalls.fresh).toBe(3);
  });

  it('0.x: a minor bump counts as major (Cargo convention)', () => {
    const zero = createAbiLock(normalizeAbi({ ...v1, version: '0.3.1' }));
    const changed = { ...v1, syscalls: { yield: 7 } };
    expect(check({ ...changed, version: '0.3.2' }, zero).ok).toBe(false);
    expect(check({ ...changed, version: '0.4.0' }, zero).ok).toBe(true);
  });

  it('refuses a version that went down', () => {
    const r = check({ ...v1, version: '0.9.0' });
    expect(r.ok).toBe(false);
    expect(r.breaking.map((c) => c.path)).toEqual(['version']);
  });

  it('handles names that shadow Object.prototype members', () => {
    const s = { ...v1, syscalls: { ...v1.syscalls, constructor: {}, to_string: 12 } };
    const l = createAbiLock(normalizeAbi(s));
    expect(l.syscalls.constructor).toBe(3);
    expect(checkAbi(s, l).changes).toEqual([]);
    expect(summary(s)).toEqual([
      'compatible syscalls.constructor',
      'compatible syscalls.to_string',
      'compatible version',
    ]);
  });

  it('any random field change to a struct is breaking unless the major version moves', () => {
    fc.assert(
      fc.property(fc.constantFrom('u8', 'u16', 'u32', 'u64', 'i64', 'cap_rights', 'obj_type', 'u64[2]'), (type) => {
        const schema = { ...v1, structs: { msg: { fields: { tag: type, rights: 'cap_rights' } } } };
        const r = check(schema);
        expect(r.ok).toBe(type === 'u64');
      }),
    );
  });
});

describe('lock file', () => {
  it('round-trips through its text, with sorted keys', () => {
    const text = serializeAbiLock(createAbiLock(normalizeAbi(kozoSchema)));
    const parsed = parseAbiLock(text, 'abi.lock.json');
    expect(serializeAbiLock(parsed)).toBe(text);
    expect(text.endsWith('\n')).toBe(true);
    expect(Object.keys(JSON.parse(text) as object)).toEqual([...Object.keys(JSON.parse(text) as object)].sort());
    expect(parsed.layouts.aarch64.ipc_msg).toEqual(parsed.layouts.x86_64.ipc_msg);
    expect(parsed.layouts.x86_64.ipc_msg!.size).toBe(80);
    expect(parsed.enums.wide!.values.big).toBe('18446744073709551615');
    expect(parsed.flags.cap_rights).toEqual({
      width: 32,
      bits: { grant: 2, read: 0, revoke: 3, write: 1 },
      reserved: [30, 31],
    });
  });

  it('refuses damaged lock files with a path', () => {
    const good = JSON.parse(serializeAbiLock(lock)) as Record<string, unknown>;
    const bad: Array<[unknown, string | undefined]> = [
      [{ ...good, lockVersion: 2 }, 'lockVersion'],
      [{ ...good, syscalls: { yield: 'zero' } }, 'syscalls.yield'],
      [{ ...good, layouts: { x86_64: { msg: { size: 16 } }, aarch64: {} } }, 'layouts.x86_64.msg'],
      [{ ...good, hash: 5 }, 'hash'],
    ];
    for (const [value, path] of bad) {
      try {
        parseAbiLock(JSON.stringify(value), 'abi.lock.json');
        throw new Error('accepted');
      } catch (error) {
        expect(error).toBeInstanceOf(KilnError);
        expect((error as KilnError).code).toBe('ABI_LOCK_INVALID');
        expect((error as KilnError).location?.configPath).toBe(path);
      }
    }
    expect(() => parseAbiLock('{', 'abi.lock.json')).toThrow(/not valid JSON/);
  });

  it(
    'fuzz: mutated lock files parse or throw ABI_LOCK_INVALID, and checkAbi never crashes on what parses',
    () => {
      const text = serializeAbiLock(lock);
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(fc.nat(text.length - 1), fc.constantFrom('', '0', '"', '}', '-1', 'null', '[]', '{}', 'x')),
            { minLength: 1, maxLength: 3 },
          ),
          (edits) => {
            let t = text;
            for (const [at, s] of edits) t = t.slice(0, at % t.length) + s + t.slice((at % t.length) + 1);
            let parsed: AbiLock;
            try {
              parsed = parseAbiLock(t);
            } catch (error) {
              expect((error as KilnError).code).toBe('ABI_LOCK_INVALID');
              return;
            }
            try {
              checkAbi(v1, parsed);
            } catch (error) {
              expect(error).toBeInstanceOf(KilnError);
            }
          },
        ),
        { numRuns: Number(process.env.KILN_FUZZ_RUNS ?? 50_000) },
      );
    },
    Math.max(60_000, Number(process.env.KILN_FUZZ_RUNS ?? 0) * 2),
  );
});
