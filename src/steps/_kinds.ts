/**
 * kiln's own step kinds by name, each module loaded only when one of its kinds is asked for: a
 * build from the plan cache (graph/plan-cache.ts) runs a step without loading the config or the
 * other step modules. A kind the config defines itself (`defineStep` in kiln.config.ts) is not
 * here: its steps run only from a real plan.
 */
import type { StepHandle, StepKind } from '../step.js';

/** The kind of the handles a factory makes (a factory only wraps its options: no validation, no effects). */
function kindOf(factory: (options: never) => StepHandle): StepKind {
  return factory({} as never).kind as StepKind;
}

const KINDS: Readonly<Record<string, () => Promise<StepKind>>> = {
  abi: async () => kindOf((await import('./abi.js')).abi),
  audit: async () => kindOf((await import('./audit.js')).audit),
  blob: async () => kindOf((await import('./blob.js')).blob),
  'cargo.bin': async () => kindOf((await import('./cargo.js')).cargo.bin),
  'cargo.lib': async () => kindOf((await import('./cargo.js')).cargo.lib),
  'cc.obj': async () => (await import('./cc.js')).ccObjKind as StepKind,
  'cc.exe': async () => (await import('./cc.js')).ccExeKind as StepKind,
  link: async () => (await import('./cc.js')).linkKind as StepKind,
  cmake: async () => kindOf((await import('./cmake.js')).cmake),
  command: async () => (await import('./command.js')).commandKind as StepKind,
  copy: async () => (await import('./copy.js')).copyKind as StepKind,
  'grub.efi': async () => kindOf((await import('./grub.js')).grubEfi),
  cpio: async () => kindOf((await import('./image.js')).cpio),
  tar: async () => kindOf((await import('./image.js')).tar),
  fat: async () => kindOf((await import('./image.js')).fat),
  gpt: async () => kindOf((await import('./image.js')).gpt),
  mbr: async () => kindOf((await import('./image.js')).mbr),
  raw: async () => kindOf((await import('./image.js')).raw),
  iso: async () => kindOf((await import('./image.js')).iso),
  'grub-iso': async () => kindOf((await import('./image.js')).grubIso),
  vdi: async () => (await import('./image.js')).vdi('').kind as StepKind,
  vmdk: async () => (await import('./image.js')).vmdk('').kind as StepKind,
  'kiln-boot': async () => kindOf((await import('./kiln-boot.js')).kilnBootLoader),
  'nasm.bin': async () => (await import('./nasm.js')).nasmBinKind as StepKind,
  'nasm.obj': async () => (await import('./nasm.js')).nasmObjKind as StepKind,
  objcopy: async () => kindOf((await import('./objcopy.js')).objcopy),
  sign: async () => kindOf((await import('./sign.js')).sign),
  strip: async () => kindOf((await import('./strip.js')).strip),
  write: async () => (await import('./write.js')).writeKind as StepKind,
  'zig.exe': async () => kindOf((await import('./zig.js')).zig.exe),
  'zig.obj': async () => kindOf((await import('./zig.js')).zig.obj),
  'zig.test': async () => kindOf((await import('./zig.js')).zig.test),
  'zig.build': async () => kindOf((await import('./zig.js')).zig.build),
};

/** The names of kiln's own step kinds. */
export const BUILTIN_KIND_NAMES: readonly string[] = Object.keys(KINDS);

/** kiln's own step kind named `name` (its module loaded now), or undefined when kiln has none. */
export async function loadBuiltinKind(name: string): Promise<StepKind | undefined> {
  return Object.prototype.hasOwnProperty.call(KINDS, name) ? KINDS[name]!() : undefined;
}

/** `kind` is kiln's own (the very object kiln's module holds), not one a config defined under the same name. */
export async function isBuiltinKind(kind: StepKind): Promise<boolean> {
  return (await loadBuiltinKind(kind.kind)) === kind;
}
