/**
 * The hardened-flags policy: per profile, per layer (kernel, services, asm), what the build must
 * guarantee. Defaults follow the KOZO table (kernel ReleaseSafe with bounds checks, no FPU/SSE,
 * stack probes, higher-half code model; services release + thin LTO + panic=abort + stack
 * protection; asm NX stack + PIE where it applies). Each toolchain step translates its layer's
 * policy into flags; after linking, the ELF audit checks the result.
 */
export type Layer = 'kernel' | 'services' | 'asm' | 'boot' | 'tools';

/**
 * What a layer's build must guarantee (optimization, FPU, red zone, stack protector and probes, LTO, panic, PIE,
 * NX stack, code model); each toolchain step turns it into flags.
 */
export interface LayerPolicy {
  /** debug: no optimization; safe: optimized with runtime checks (Zig ReleaseSafe, Rust overflow checks); fast; small. */
  optimize: 'debug' | 'safe' | 'fast' | 'small';
  /** Keep DWARF in the build (strip later for the image). */
  debugInfo: boolean;
  /** Allow FPU/SSE/NEON code generation. Kernels usually do not save FPU state. */
  fpu: boolean;
  /** x86_64: the red zone (must be off where interrupts use the kernel stack). */
  redZone: boolean;
  /** Stack canaries (`-fstack-protector-strong`, Rust `-Z stack-protector=strong`). */
  stackProtector: boolean;
  /** Stack probes / stack clash protection, so a large frame cannot jump over a guard page. */
  stackProbes: boolean;
  /** Link-time optimization: off, thin or fat. */
  lto: false | 'thin' | 'fat';
  /** Rust panic strategy (default `abort` in every layer: a kernel has no unwinder). */
  panic: 'abort' | 'unwind';
  /** Position independent executable. */
  pie: boolean;
  /** Non-executable stack (PT_GNU_STACK without X). */
  nxStack: boolean;
  /** x86_64 code model. */
  codeModel?: 'small' | 'kernel' | 'medium' | 'large';
}

/**
 * Overrides per layer, merged over kiln's defaults (the `policy` field of the config or a profile).
 * @example policy: { kernel: { fpu: true }, services: { lto: false } }
 */
export type PolicySet = Partial<Record<Layer, Partial<LayerPolicy>>>;

const base: LayerPolicy = {
  optimize: 'debug',
  debugInfo: true,
  fpu: true,
  redZone: true,
  stackProtector: false,
  stackProbes: false,
  lto: false,
  panic: 'abort',
  pie: false,
  nxStack: true,
};

/** The KOZO defaults. */
export function defaultPolicy(layer: Layer, release: boolean): LayerPolicy {
  switch (layer) {
    case 'kernel':
      return {
        ...base,
        optimize: release ? 'safe' : 'debug',
        fpu: false,
        redZone: false,
        stackProbes: true,
        codeModel: 'kernel',
        debugInfo: true,
      };
    case 'services':
      return {
        ...base,
        optimize: release ? 'fast' : 'debug',
        lto: release ? 'thin' : false,
        panic: 'abort',
        stackProtector: true,
        debugInfo: true,
      };
    case 'asm':
      return { ...base, nxStack: true, pie: true };
    case 'boot':
      return { ...base, optimize: release ? 'small' : 'debug', fpu: false, redZone: false, debugInfo: !release };
    case 'tools':
      return { ...base, optimize: release ? 'fast' : 'debug' };
  }
}

/** A layer's policy: the defaults overlaid with the config's. */
export function resolvePolicy(layer: Layer, release: boolean, overrides: PolicySet | undefined): LayerPolicy {
  return { ...defaultPolicy(layer, release), ...(overrides?.[layer] ?? {}) };
}

/**
 * Flags for clang/gcc (C and assembly through the compiler driver). i386: gcc gets `-m32` (clang and
 * zig get it from their target triple); there is no red zone and no code model in 32-bit mode, and
 * NX exists only with PAE paging (the stack is still marked non-executable, for kernels that use PAE).
 */
export function ccFlags(
  p: LayerPolicy,
  arch: 'x86_64' | 'i386' | 'aarch64',
  compiler: 'clang' | 'gcc' | 'zig',
  options: { freestanding?: boolean } = {},
): string[] {
  const f: string[] = [];
  if (arch === 'i386' && compiler === 'gcc') f.push('-m32');
  f.push(p.optimize === 'debug' ? '-O0' : p.optimize === 'small' ? '-Os' : '-O2');
  if (p.debugInfo) f.push('-g');
  if (!p.fpu)
    f.push(...(arch !== 'aarch64' ? ['-mno-sse', '-mno-sse2', '-mno-mmx', '-mno-80387'] : ['-mgeneral-regs-only']));
  if (!p.redZone && arch === 'x86_64') f.push('-mno-red-zone');
  f.push(p.stackProtector ? '-fstack-protector-strong' : '-fno-stack-protector');
  // Stack clash protection needs an OS probing convention; bare-metal clang targets ignore it (with a warning).
  if (p.stackProbes && !options.freestanding) f.push('-fstack-clash-protection');
  if (p.lto) f.push(p.lto === 'thin' && compiler !== 'gcc' ? '-flto=thin' : '-flto');
  f.push(p.pie ? '-fPIE' : '-fno-pic');
  if (p.codeModel && arch === 'x86_64') f.push(`-mcmodel=${p.codeModel}`);
  return f;
}

/** Linker flags (ld.lld / ld). */
export function linkFlags(p: LayerPolicy): string[] {
  const f = [p.nxStack ? '-znoexecstack' : '-zexecstack'];
  if (p.pie) f.push('-pie');
  else f.push('-static');
  return f;
}

/**
 * Zig: optimize mode, CPU feature changes, flags, and notes on what the policy asks that Zig cannot
 * do for the target (Zig 0.11 refuses `-fstack-check` on aarch64: StackCheckUnsupportedByTarget).
 */
export function zigFlags(
  p: LayerPolicy,
  arch: 'x86_64' | 'i386' | 'aarch64',
): { optimize: string; cpuFeatures: string; args: string[]; notes: string[] } {
  const optimize = { debug: 'Debug', safe: 'ReleaseSafe', fast: 'ReleaseFast', small: 'ReleaseSmall' }[p.optimize];
  let cpuFeatures = '';
  if (!p.fpu) cpuFeatures = arch !== 'aarch64' ? '-mmx-sse-sse2-avx-avx2+soft_float' : '-fp_armv8-neon-crypto-aes-sha2'; // crypto/aes/sha2 imply NEON on cores like cortex_a57
  const args: string[] = [];
  if (p.codeModel && arch === 'x86_64') args.push('-mcmodel', p.codeModel);
  if (!p.redZone && arch === 'x86_64') args.push('-mno-red-zone');
  if (p.stackProtector) args.push('-fstack-protector');
  const notes: string[] = [];
  // Stack probes (Zig's __zig_probe_stack): said explicitly, so the policy holds in every optimize mode.
  if (arch !== 'aarch64') args.push(p.stackProbes ? '-fstack-check' : '-fno-stack-check');
  else if (p.stackProbes)
    notes.push('stack probes: Zig cannot emit them for aarch64 (no -fstack-check there); the kernel has none');
  if (p.pie) args.push('-fPIE');
  if (!p.debugInfo) args.push('-fstrip');
  return { optimize, cpuFeatures, args, notes };
}

/** Rust: codegen flags and cargo profile env. */
export function rustFlags(
  p: LayerPolicy,
  arch: 'x86_64' | 'i386' | 'aarch64',
): { rustflags: string[]; profileEnv: Record<string, string> } {
  const rustflags: string[] = [];
  if (p.codeModel && arch === 'x86_64') rustflags.push('-C', `code-model=${p.codeModel}`);
  if (!p.pie) rustflags.push('-C', 'relocation-model=static');
  if (p.debugInfo) rustflags.push('-C', 'debuginfo=2');
  if (p.stackProtector) rustflags.push('-Z', 'stack-protector=strong');
  if (p.optimize === 'safe') rustflags.push('-C', 'overflow-checks=on', '-C', 'debug-assertions=off');
  const profileEnv: Record<string, string> = {};
  const prof = p.optimize === 'debug' ? 'DEV' : 'RELEASE';
  profileEnv[`CARGO_PROFILE_${prof}_PANIC`] = p.panic;
  profileEnv[`CARGO_PROFILE_${prof}_LTO`] = p.lto === false ? 'false' : p.lto;
  if (p.optimize === 'small') profileEnv[`CARGO_PROFILE_${prof}_OPT_LEVEL`] = 's';
  return { rustflags, profileEnv };
}
