/**
 * Audit policies: which facts a release (or debug) build must show, per layer. The layers and
 * defaults follow the KOZO build specification §3 "Security-Hardened Build Flags": kernel
 * (no FPU, W^X, stripped with DWARF kept apart, signed), services (stack protection, panic=abort,
 * PIE, full RELRO, NX stack), asm (NX stack, PIE), plus a generic `userspace` layer for C
 * programs (checksec's defaults: NX, PIE, full RELRO, canary, FORTIFY).
 */
import { z } from 'zod';
import { KilnError } from '../errors.js';

/** One layer's rules. An absent rule is not checked (reported as information only). */
export interface AuditPolicy {
  /** No PT_LOAD both writable and executable. */
  wxorx?: boolean;
  /** PT_GNU_STACK present and not executable. */
  nxStack?: boolean;
  /** `required`: PIE or static-PIE; `forbidden`: fixed-address (ET_EXEC); `any`. */
  pie?: 'required' | 'forbidden' | 'any';
  /** `full`: PT_GNU_RELRO + BIND_NOW; `partial`: PT_GNU_RELRO; `any`. */
  relro?: 'full' | 'partial' | 'any';
  /** References `__stack_chk_fail` / `__stack_chk_guard`. */
  stackProtector?: boolean;
  /** References `__*_chk` functions (when it calls fortifiable libc functions at all). */
  fortify?: boolean;
  /** true: no `.symtab`; false: symbols kept. */
  stripped?: boolean;
  /** `required`: DWARF present; `forbidden`: none in the file; `separate`: none, with a `.gnu_debuglink`; `any`. */
  debugInfo?: 'required' | 'forbidden' | 'separate' | 'any';
  /** The entry point lies in an executable PT_LOAD and every PT_LOAD lies inside the file. */
  entryInSegment?: boolean;
  /** The signature section is present (and valid, when keys are given). */
  requireSignature?: boolean;
  /** No FPU/SIMD use recorded (x86 GNU property, RISC-V float ABI). */
  noFpu?: boolean;
  /** A stack-probe helper is referenced. */
  stackProbes?: boolean;
  /** No unwinding runtime referenced (Rust panic=abort, C++ -fno-exceptions). */
  panicAbort?: boolean;
  /** Treat `unknown` results of required rules as errors instead of warnings. */
  strictUnknown?: boolean;
}

/** Layers of an OS project, as in KOZO's table. */
export type AuditLayer = 'kernel' | 'services' | 'asm' | 'userspace';
/** Every audit layer, in the order reports list them. */
export const AUDIT_LAYERS: readonly AuditLayer[] = ['kernel', 'services', 'asm', 'userspace'];

/** A named set of per-layer policies. */
export interface AuditPolicySet {
  name: string;
  layers: Partial<Record<AuditLayer, AuditPolicy>>;
}

/** Release gate: what a production build must show. */
export const RELEASE_POLICY: AuditPolicySet = {
  name: 'release',
  layers: {
    kernel: {
      wxorx: true,
      entryInSegment: true,
      stripped: true,
      debugInfo: 'forbidden',
      requireSignature: true,
      noFpu: true,
    },
    services: {
      wxorx: true,
      nxStack: true,
      pie: 'required',
      relro: 'full',
      stackProtector: true,
      panicAbort: true,
      entryInSegment: true,
      stripped: true,
    },
    asm: { wxorx: true, nxStack: true, pie: 'required', entryInSegment: true },
    userspace: {
      wxorx: true,
      nxStack: true,
      pie: 'required',
      relro: 'full',
      stackProtector: true,
      fortify: true,
      entryInSegment: true,
    },
  },
};

/** Debug builds: only what no build should ever violate. */
export const DEBUG_POLICY: AuditPolicySet = {
  name: 'debug',
  layers: {
    kernel: { wxorx: true, entryInSegment: true },
    services: { wxorx: true, nxStack: true, entryInSegment: true },
    asm: { wxorx: true, nxStack: true, entryInSegment: true },
    userspace: { wxorx: true, nxStack: true, entryInSegment: true },
  },
};

const policySchema = z.strictObject({
  wxorx: z.boolean().optional(),
  nxStack: z.boolean().optional(),
  pie: z.enum(['required', 'forbidden', 'any']).optional(),
  relro: z.enum(['full', 'partial', 'any']).optional(),
  stackProtector: z.boolean().optional(),
  fortify: z.boolean().optional(),
  stripped: z.boolean().optional(),
  debugInfo: z.enum(['required', 'forbidden', 'separate', 'any']).optional(),
  entryInSegment: z.boolean().optional(),
  requireSignature: z.boolean().optional(),
  noFpu: z.boolean().optional(),
  stackProbes: z.boolean().optional(),
  panicAbort: z.boolean().optional(),
  strictUnknown: z.boolean().optional(),
}) satisfies z.ZodType<AuditPolicy>;

const policySetSchema = z.strictObject({
  name: z.string().optional(),
  layers: z.strictObject({
    kernel: policySchema.optional(),
    services: policySchema.optional(),
    asm: policySchema.optional(),
    userspace: policySchema.optional(),
  }),
}) satisfies z.ZodType<{ name?: string; layers: AuditPolicySet['layers'] }>;

/**
 * Validates a policy read from JSON: either one AuditPolicy (applied to every layer) or an
 * AuditPolicySet `{ name?, layers: { kernel?, services?, asm?, userspace? } }`.
 * @example
 * const set = parsePolicy(JSON.parse(readFileSync('policy.json', 'utf8')), 'policy.json');
 */
export function parsePolicy(value: unknown, file = 'policy'): AuditPolicySet {
  if (typeof value === 'object' && value !== null && 'layers' in value) {
    const set = policyData(policySetSchema.safeParse(value), file);
    return { name: set.name ?? file, layers: set.layers };
  }
  const one = policyData(policySchema.safeParse(value), file);
  return { name: file, layers: Object.fromEntries(AUDIT_LAYERS.map((l) => [l, one])) };
}

/** The parsed policy, or AUDIT_POLICY_INVALID naming the first problem. */
function policyData<T>(result: z.ZodSafeParseResult<T>, file: string): T {
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new KilnError('AUDIT_POLICY_INVALID', `${issue.path.join('.') || '(top level)'}: ${issue.message}`, {
    location: { file, configPath: issue.path.join('.') },
    hint: 'a policy is { "wxorx": true, "pie": "required", ... } or { "layers": { "kernel": {...}, "services": {...} } } (see src/audit/README.md)',
  });
}

/**
 * The policy of `layer` in a set (the `userspace` one when the set has no such layer).
 * @example policyFor(RELEASE_POLICY, 'kernel').noFpu // true
 */
export function policyFor(set: AuditPolicySet, layer: AuditLayer): AuditPolicy {
  return set.layers[layer] ?? set.layers.userspace ?? {};
}
