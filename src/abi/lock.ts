/**
 * `abi.lock.json`: what a released ABI promised (hash, version, syscall numbers, enum values,
 * flag bits, constants, struct layouts per architecture), and {@link checkAbi}, which compares a
 * schema with it and classifies every difference as breaking or compatible following Semantic
 * Versioning 2.0.0 §8 (a breaking change needs a MAJOR bump; while MAJOR is 0, §4 allows anything,
 * and kiln follows Cargo's convention that a MINOR bump of 0.x counts as major).
 */
import { KilnError } from '../errors.js';
import { abiHash } from './hash.js';
import { ARCHES, computeLayout } from './layout.js';
import { normalizeAbi, type NormalizedAbi, type NormalizedEnum } from './normalize.js';
import type { AbiArch, AbiSchema } from './types.js';

/** An enum as recorded in `abi.lock.json`: its integer type and values. */
export interface LockedEnum {
  type: string;
  /** Values as decimal strings (64-bit safe). */
  values: Record<string, string>;
}
/** A struct as recorded in `abi.lock.json`: size, alignment and field offsets (what a breaking change alters). */
export interface LockedStruct {
  size: number;
  align: number;
  fields: Array<{ name: string; offset: number; size: number; type: string }>;
}
/** The content of `abi.lock.json`. */
export interface AbiLock {
  lockVersion: 1;
  name: string;
  version: string;
  hash: string;
  syscalls: Record<string, number>;
  enums: Record<string, LockedEnum>;
  errors: LockedEnum | null;
  flags: Record<string, { width: number; bits: Record<string, number>; reserved: number[] }>;
  constants: Record<string, { type: string; value: string }>;
  layouts: Record<AbiArch, Record<string, LockedStruct>>;
}

function lockEnum(e: NormalizedEnum): LockedEnum {
  return { type: e.type, values: Object.fromEntries(e.values.map((v) => [v.name, v.value.toString()])) };
}

function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    ) as T;
  }
  return value;
}

/**
 * The lock for a normalized ABI.
 *
 * @example
 * ```ts
 * const abi = normalizeAbi(schema);
 * writeFileSync('abi.lock.json', serializeAbiLock(createAbiLock(abi)));
 * ```
 */
export function createAbiLock(abi: NormalizedAbi): AbiLock {
  const layouts = perArch((arch) =>
    Object.fromEntries(
      computeLayout(abi, arch).structs.map((s) => [
        s.name,
        {
          size: s.size,
          align: s.align,
          fields: s.fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size, type: f.typeText })),
        },
      ]),
    ),
  );
  return {
    lockVersion: 1,
    name: abi.name,
    version: abi.version.text,
    hash: abiHash(abi),
    syscalls: Object.fromEntries(abi.syscalls.map((s) => [s.name, s.number])),
    enums: Object.fromEntries(abi.enums.map((e) => [e.name, lockEnum(e)])),
    errors: abi.errors ? lockEnum(abi.errors) : null,
    flags: Object.fromEntries(
      abi.flags.map((f) => [
        f.name,
        { width: f.width, bits: Object.fromEntries(f.bits.map((b) => [b.name, b.bit])), reserved: f.reserved },
      ]),
    ),
    constants: Object.fromEntries(abi.constants.map((c) => [c.name, { type: c.type, value: c.value.toString() }])),
    layouts,
  };
}

/** Stable text of a lock (keys sorted, 2-space indent, trailing newline). */
export function serializeAbiLock(lock: AbiLock): string {
  return `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
}

/**
 * Parses and checks the shape of `abi.lock.json`.
 *
 * @example
 * ```ts
 * const lock = parseAbiLock(readFileSync('abi.lock.json', 'utf8'), 'abi.lock.json');
 * ```
 */
export function parseAbiLock(text: string, file?: string): AbiLock {
  const r = new LockReader(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return r.fail(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const lock = r.object(raw, '(root)');
  if (lock.lockVersion !== 1)
    r.fail(`unsupported lockVersion ${JSON.stringify(lock.lockVersion)} (this kiln reads 1)`, 'lockVersion');
  const name = r.string(lock.name, 'name');
  const version = r.string(lock.version, 'version');
  const hash = r.string(lock.hash, 'hash');
  const syscalls = r.entries(lock.syscalls, 'syscalls', (n, path) => {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return r.fail('expected a syscall number', path);
    return n;
  });
  const enums = r.entries(lock.enums, 'enums', (e, path) => r.lockedEnum(e, path));
  const errors = lock.errors !== null && lock.errors !== undefined ? r.lockedEnum(lock.errors, 'errors') : null;
  const flags = r.entries(lock.flags, 'flags', (f, path) => r.lockedFlags(f, path));
  const constants = r.entries(lock.constants, 'constants', (c, path) => {
    const co = r.object(c, path);
    if (typeof co.type !== 'string' || typeof co.value !== 'string')
      return r.fail('expected { type, value } strings', path);
    return { type: co.type, value: co.value };
  });
  const layouts = r.object(lock.layouts, 'layouts');
  const structs = (arch: AbiArch) => r.entries(layouts[arch], `layouts.${arch}`, (s, path) => r.lockedStruct(s, path));
  return {
    lockVersion: 1,
    name,
    version,
    hash,
    syscalls,
    enums,
    errors,
    flags,
    constants,
    layouts: perArch(structs),
  };
}

/** `{ x86_64: f('x86_64'), aarch64: f('aarch64') }`, in the order of {@link ARCHES}. */
function perArch<T>(f: (arch: AbiArch) => T): Record<AbiArch, T> {
  return { x86_64: f('x86_64'), aarch64: f('aarch64') };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Typed readers of a parsed lock file: each checks one part and fails with ABI_LOCK_INVALID at its path. */
class LockReader {
  constructor(private readonly file: string | undefined) {}

  fail(message: string, path?: string): never {
    const { file } = this;
    throw new KilnError('ABI_LOCK_INVALID', message, {
      location: { ...(file ? { file } : {}), ...(path ? { configPath: path } : {}) },
      hint: 'regenerate it from the released schema with `kiln abi check SCHEMA --update`, or restore it from version control',
      exitCode: 2,
    });
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (!isObject(value)) return this.fail('expected an object', path);
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') return this.fail('expected a string', path);
    return value;
  }

  /** A table whose every value `read` checks (at `path.key`). */
  entries<T>(value: unknown, path: string, read: (entry: unknown, path: string) => T): Record<string, T> {
    return Object.fromEntries(Object.entries(this.object(value, path)).map(([k, v]) => [k, read(v, `${path}.${k}`)]));
  }

  lockedEnum(value: unknown, path: string): LockedEnum {
    const e = this.object(value, path);
    if (typeof e.type !== 'string') return this.fail('expected a type', `${path}.type`);
    const type = e.type;
    const values = this.entries(e.values, `${path}.values`, (x, xpath) => {
      if (typeof x !== 'string' || !/^-?\d+$/.test(x)) return this.fail('expected a decimal string', xpath);
      return x;
    });
    return { type, values };
  }

  lockedFlags(value: unknown, path: string): AbiLock['flags'][string] {
    const fl = this.object(value, path);
    if (typeof fl.width !== 'number') return this.fail('expected a width', `${path}.width`);
    const width = fl.width;
    const bits = this.entries(fl.bits, `${path}.bits`, (bit, bpath) => {
      if (typeof bit !== 'number') return this.fail('expected a bit index', bpath);
      return bit;
    });
    if (!Array.isArray(fl.reserved)) return this.fail('expected an array', `${path}.reserved`);
    const list: unknown[] = fl.reserved;
    const reserved = list.map((b, i) =>
      typeof b === 'number' ? b : this.fail('expected a bit index', `${path}.reserved.${i}`),
    );
    return { width, bits, reserved };
  }

  lockedStruct(value: unknown, path: string): LockedStruct {
    const st = this.object(value, path);
    if (typeof st.size !== 'number' || typeof st.align !== 'number' || !Array.isArray(st.fields))
      return this.fail('expected { size, align, fields }', path);
    const list: unknown[] = st.fields;
    const fields = list.map((f, i) => {
      const fpath = `${path}.fields.${i}`;
      const fo = this.object(f, fpath);
      if (
        typeof fo.name !== 'string' ||
        typeof fo.offset !== 'number' ||
        typeof fo.size !== 'number' ||
        typeof fo.type !== 'string'
      )
        return this.fail('expected { name, offset, size, type }', fpath);
      return { name: fo.name, offset: fo.offset, size: fo.size, type: fo.type };
    });
    return { size: st.size, align: st.align, fields };
  }
}

/** One difference between a schema and its lock. */
export interface AbiChange {
  severity: 'breaking' | 'compatible';
  /** Schema path of the change, e.g. `syscalls.cap_grant`, `structs.ipc_msg.fields.tag`. */
  path: string;
  message: string;
}
/** What `checkAbi` found comparing a schema with its lock: the changes, and whether the version bump covers them. */
export interface AbiCheckResult {
  /** Every difference, breaking first, then by path. */
  changes: AbiChange[];
  breaking: AbiChange[];
  /** True when the version's MAJOR (MINOR while MAJOR is 0) is above the lock's. */
  majorBump: boolean;
  /** False when a breaking change is not covered by a major bump, or the version went down. */
  ok: boolean;
  hash: string;
  previousHash: string;
  /** The lock that `--update` would write. */
  lock: AbiLock;
}

function parseSemver(text: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * Compares a schema with the previous release's lock. Renumbered or removed syscalls, changed
 * struct layouts, removed or moved flags, changed enum values or constants are breaking; additions
 * are compatible. Auto-assigned syscall numbers are taken from the lock, so they never move.
 *
 * @example
 * ```ts
 * const result = checkAbi(schema, parseAbiLock(readFileSync('abi.lock.json', 'utf8')));
 * for (const c of result.changes) console.log(`${c.severity}: ${c.path}: ${c.message}`);
 * if (!result.ok) process.exitCode = 1;
 * ```
 */
export function checkAbi(
  schema: AbiSchema | NormalizedAbi,
  lock: AbiLock,
  options: { file?: string } = {},
): AbiCheckResult {
  const abi = isNormalized(schema)
    ? schema
    : normalizeAbi(schema, { lockedSyscalls: lock.syscalls, ...(options.file ? { file: options.file } : {}) });
  const next = createAbiLock(abi);
  const changes = new Changes();
  if (next.name !== lock.name) changes.breaking('name', `ABI renamed from "${lock.name}" to "${next.name}"`);
  diffSyscalls(changes, lock, next);
  for (const name of new Set([...Object.keys(lock.enums), ...Object.keys(next.enums)]))
    diffEnum(changes, `enums.${name}`, own(lock.enums, name), own(next.enums, name), `enum ${name}`);
  diffEnum(changes, 'errors', lock.errors, next.errors, 'error codes');
  diffFlags(changes, lock, next);
  diffConstants(changes, lock, next);
  diffLayouts(changes, lock, next);
  const { versionOk, majorBump } = checkVersion(changes, lock, abi, next);
  const list = changes.list.sort((a, b) =>
    a.severity === b.severity ? (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) : a.severity === 'breaking' ? -1 : 1,
  );
  const breakingChanges = list.filter((c) => c.severity === 'breaking');
  return {
    changes: list,
    breaking: breakingChanges,
    majorBump,
    ok: versionOk && (breakingChanges.length === 0 || majorBump),
    hash: next.hash,
    previousHash: lock.hash,
    lock: next,
  };
}

/** The changes found so far; a change noted twice (the same path and message, e.g. on two arches) counts once. */
class Changes {
  readonly list: AbiChange[] = [];
  private readonly seen = new Set<string>();
  breaking(path: string, message: string): void {
    this.list.push({ severity: 'breaking', path, message });
  }
  compatible(path: string, message: string): void {
    this.list.push({ severity: 'compatible', path, message });
  }
  /** Adds a change unless the same one was noted before. */
  noteOnce(path: string, severity: AbiChange['severity'], message: string): void {
    const key = `${path}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({ severity, path, message });
  }
}

function diffSyscalls(changes: Changes, lock: AbiLock, next: AbiLock): void {
  for (const [name, n] of Object.entries(lock.syscalls)) {
    const now = own(next.syscalls, name);
    if (now === undefined) changes.breaking(`syscalls.${name}`, `syscall ${name} (number ${n}) was removed`);
    else if (now !== n) changes.breaking(`syscalls.${name}`, `syscall ${name} was renumbered from ${n} to ${now}`);
  }
  for (const [name, n] of Object.entries(next.syscalls))
    if (!Object.hasOwn(lock.syscalls, name))
      changes.compatible(`syscalls.${name}`, `syscall ${name} added as number ${n}`);
}

function diffEnum(
  changes: Changes,
  path: string,
  before: LockedEnum | null | undefined,
  after: LockedEnum | null | undefined,
  what: string,
): void {
  if (!before && !after) return;
  if (!after) return changes.breaking(path, `${what} was removed`);
  if (!before) return changes.compatible(path, `${what} added`);
  if (before.type !== after.type)
    changes.breaking(`${path}.type`, `${what} changed type from ${before.type} to ${after.type}`);
  for (const [v, value] of Object.entries(before.values)) {
    const now = own(after.values, v);
    if (now === undefined) changes.breaking(`${path}.values.${v}`, `value ${v} (${value}) was removed`);
    else if (now !== value) changes.breaking(`${path}.values.${v}`, `value ${v} changed from ${value} to ${now}`);
  }
  for (const [v, value] of Object.entries(after.values))
    if (!Object.hasOwn(before.values, v)) changes.compatible(`${path}.values.${v}`, `value ${v} = ${value} added`);
}

function diffFlags(changes: Changes, lock: AbiLock, next: AbiLock): void {
  for (const [name, before] of Object.entries(lock.flags)) {
    const after = own(next.flags, name);
    const path = `flags.${name}`;
    if (!after) {
      changes.breaking(path, `flag set ${name} was removed`);
      continue;
    }
    if (after.width !== before.width)
      changes.breaking(`${path}.width`, `width changed from ${before.width} to ${after.width} bits`);
    for (const [b, bit] of Object.entries(before.bits)) {
      const now = own(after.bits, b);
      if (now === undefined) changes.breaking(`${path}.bits.${b}`, `flag ${b} (bit ${bit}) was removed`);
      else if (now !== bit) changes.breaking(`${path}.bits.${b}`, `flag ${b} moved from bit ${bit} to bit ${now}`);
    }
    for (const [b, bit] of Object.entries(after.bits))
      if (!Object.hasOwn(before.bits, b)) changes.compatible(`${path}.bits.${b}`, `flag ${b} added at bit ${bit}`);
  }
  for (const name of Object.keys(next.flags))
    if (!Object.hasOwn(lock.flags, name)) changes.compatible(`flags.${name}`, `flag set ${name} added`);
}

function diffConstants(changes: Changes, lock: AbiLock, next: AbiLock): void {
  for (const [name, before] of Object.entries(lock.constants)) {
    const after = own(next.constants, name);
    if (!after) changes.breaking(`constants.${name}`, `constant ${name} was removed`);
    else if (after.type !== before.type || after.value !== before.value)
      changes.breaking(
        `constants.${name}`,
        `constant ${name} changed from ${before.type} ${before.value} to ${after.type} ${after.value}`,
      );
  }
  for (const [name, c] of Object.entries(next.constants))
    if (!Object.hasOwn(lock.constants, name))
      changes.compatible(`constants.${name}`, `constant ${name} = ${c.value} added`);
}

/** Struct layouts per architecture: any size, alignment, offset or field change is breaking. */
function diffLayouts(changes: Changes, lock: AbiLock, next: AbiLock): void {
  for (const arch of Object.keys(ARCHES) as AbiArch[]) {
    const beforeAll = own(lock.layouts, arch) ?? {};
    const afterAll = next.layouts[arch];
    for (const [name, before] of Object.entries(beforeAll)) {
      const after = own(afterAll, name);
      if (!after) changes.noteOnce(`structs.${name}`, 'breaking', `struct ${name} was removed`);
      else diffStruct(changes, arch, name, before, after);
    }
    for (const name of Object.keys(afterAll))
      if (!Object.hasOwn(beforeAll, name)) changes.noteOnce(`structs.${name}`, 'compatible', `struct ${name} added`);
  }
}

function diffStruct(changes: Changes, arch: AbiArch, name: string, before: LockedStruct, after: LockedStruct): void {
  const path = `structs.${name}`;
  const note = (p: string, message: string) => changes.noteOnce(p, 'breaking', message);
  if (after.size !== before.size)
    note(path, `struct ${name} size changed from ${before.size} to ${after.size} bytes (${arch})`);
  if (after.align !== before.align)
    note(path, `struct ${name} alignment changed from ${before.align} to ${after.align} (${arch})`);
  for (const f of before.fields) {
    const g = after.fields.find((x) => x.name === f.name);
    const fpath = `${path}.fields.${f.name}`;
    if (!g) note(fpath, `field ${f.name} (offset ${f.offset}) was removed or renamed`);
    else {
      if (g.offset !== f.offset) note(fpath, `field ${f.name} moved from offset ${f.offset} to ${g.offset} (${arch})`);
      if (g.size !== f.size) note(fpath, `field ${f.name} size changed from ${f.size} to ${g.size} bytes (${arch})`);
      if (g.type !== f.type) note(fpath, `field ${f.name} type changed from ${f.type} to ${g.type}`);
    }
  }
  for (const g of after.fields)
    if (!before.fields.some((f) => f.name === g.name))
      note(`${path}.fields.${g.name}`, `field ${g.name} added at offset ${g.offset}: the struct layout changed`);
}

/** The version against the lock's: it may not go down; a changed ABI needs a new version. */
function checkVersion(
  changes: Changes,
  lock: AbiLock,
  abi: NormalizedAbi,
  next: AbiLock,
): { versionOk: boolean; majorBump: boolean } {
  const before = parseSemver(lock.version);
  if (!before) return { versionOk: true, majorBump: false };
  const after = [abi.version.major, abi.version.minor, abi.version.patch] as const;
  let versionOk = true;
  const cmp = after[0] - before[0] || after[1] - before[1] || after[2] - before[2];
  if (cmp < 0) {
    versionOk = false;
    changes.breaking('version', `version went down from ${lock.version} to ${abi.version.text}`);
  }
  const majorBump = after[0] > before[0] || (before[0] === 0 && after[0] === 0 && after[1] > before[1]);
  if (cmp === 0 && next.hash !== lock.hash && changes.list.length) {
    changes.compatible(
      'version',
      `the ABI changed but the version is still ${abi.version.text}: bump MINOR for additions, MAJOR for breaking changes`,
    );
  }
  return { versionOk, majorBump };
}

/** `record[key]` only for an own property (a syscall may be named `constructor`). */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function isNormalized(value: unknown): value is NormalizedAbi {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NormalizedAbi).version === 'object' &&
    Array.isArray((value as NormalizedAbi).syscalls)
  );
}
