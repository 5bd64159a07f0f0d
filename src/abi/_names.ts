/**
 * How each emitter spells a schema identifier, in one place so validation can refuse a schema
 * whose emitted names would collide or hit a keyword.
 */

/** `ipc_msg` → `IpcMsg`. */
export function camel(name: string): string {
  return name
    .split('_')
    .map((part) => (part.length ? part[0]!.toUpperCase() + part.slice(1) : part))
    .join('');
}

/** `cap_grant` → `CAP_GRANT`. */
export function upper(name: string): string {
  return name.toUpperCase();
}

/** C spellings: everything is prefixed with the ABI name. */
export const cNames = {
  macro: (abi: string, ...parts: string[]): string => [abi, ...parts].map(upper).join('_'),
  type: (abi: string, name: string): string => `${abi}_${name}_t`,
  tag: (abi: string, name: string): string => `${abi}_${name}`,
};

/** Type names emitted code itself uses in Rust/Zig/TS modules; a user type must not take them. */
export const RESERVED_TYPE_NAMES: ReadonlySet<string> = new Set([
  'Self',
  'Syscall',
  'Error',
  'Option',
  'Result',
  'DataView',
  'Uint8Array',
  'RangeError',
  'BigInt',
  'Number',
  'Array',
  'Object',
  'Math',
  'String',
  'Boolean',
  'Symbol',
  'TypeError',
  'Std',
  'Builtin',
  'AbiError',
]);

/** Upper-case module-level constant names emitted code itself defines. */
export const RESERVED_CONST_NAMES: ReadonlySet<string> = new Set([
  'ABI_NAME',
  'ABI_VERSION',
  'ABI_VERSION_MAJOR',
  'ABI_VERSION_MINOR',
  'ABI_VERSION_PATCH',
  'ABI_HASH',
  'ABI_HASH_U64',
]);
