/**
 * `audit()`: the checksec-style gate after linking. Checks an ELF against the profile's policy for
 * its layer (W^X, NX stack, PIE, RELRO, stack protector, fortify, stripped, debug info, entry inside
 * a segment, signature, no FPU where the evidence exists). In a release profile a violation fails
 * the build with a table of rule, artifact and evidence; in other profiles it is a warning.
 * Writes the report as JSON.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import { KilnError } from '../errors.js';
import { type DeclareContext, type FileInput, type StepContext, defineStep, type SchemaKit } from '../step.js';

/**
 * Options of `audit()`: checksec-style checks of an ELF against a layer's policy (fails the build on a violation
 * in release).
 */
export interface AuditStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The ELF to audit. */
  input: FileInput;
  /** Which policy layer applies (default kernel). */
  layer?: 'kernel' | 'services' | 'asm' | 'userspace';
  /** 'release' | 'debug' (default: from the profile), or explicit rules. */
  policy?: 'release' | 'debug' | Record<string, unknown>;
  /** Public key files to check the signature with. */
  keys?: string[];
  /** Signature section names ('nonos' or the kiln defaults). */
  sections?: 'kiln' | 'nonos';
  /** The report file (default `<name>.audit.json`). */
  output?: string;
}

const auditKind = {
  kind: 'audit',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput } = kit;
    return z
      .object({
        name: z.string().optional(),
        input: zFileInput,
        layer: z.enum(['kernel', 'services', 'asm', 'userspace']).optional(),
        policy: z.union([z.enum(['release', 'debug']), z.record(z.string(), z.unknown())]).optional(),
        keys: z.array(z.string()).optional(),
        sections: z.enum(['kiln', 'nonos']).optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<AuditStepOptions>;
  },
  declare(o: AuditStepOptions, ctx: DeclareContext) {
    const stepName =
      o.name ??
      ctx.configPath
        .split(/[.→ ]+/)
        .filter(Boolean)
        .pop() ??
      'audit';
    return {
      inputs: [...(typeof o.input === 'string' ? [o.input] : []), ...(o.keys ?? [])],
      outputs: [o.output ?? `${stepName}.audit.json`],
    };
  },
  async make(o: AuditStepOptions, ctx: StepContext) {
    const audit = await import('../audit/index.js');
    const sign = await import('../sign/index.js');
    const layer = o.layer ?? 'kernel';
    const set =
      o.policy === 'release' || (o.policy === undefined && ctx.target.release)
        ? audit.RELEASE_POLICY
        : audit.DEBUG_POLICY;
    const policy =
      typeof o.policy === 'object'
        ? audit.parsePolicy({ name: 'config', layers: { [layer]: o.policy } }, 'kiln.config.ts').layers[layer]!
        : audit.policyFor(set, layer);
    const keys = await Promise.all((o.keys ?? []).map((k) => sign.loadPublicKeyFile(ctx.path(k))));
    const artifact = typeof o.input === 'string' ? o.input : ctx.path(o.input).slice(ctx.buildDir.length + 1);
    const report = await audit.auditElf(new Uint8Array(await readFile(ctx.path(o.input))), {
      artifact,
      policy,
      ...(keys.length ? { keys } : {}),
      ...(o.sections === 'nonos' ? { signSections: sign.NONOS_SIGN_SECTIONS } : {}),
    });
    await writeFile(
      ctx.outPath(),
      `${JSON.stringify({ artifact, layer, policy, ok: report.ok, findings: report.findings }, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2)}\n`,
    );
    const table = audit.renderAuditTable([report], { onlyProblems: true });
    ctx.log(audit.renderAuditTable([report]));
    if (!report.ok) {
      if (ctx.target.release || o.policy === 'release') {
        throw new KilnError('AUDIT_FAILED', `${artifact} violates the ${layer} policy:\n${table}`, {
          hint: 'fix the flags (profile policy) or the linker script; `kiln audit FILE --policy release` shows every rule',
        });
      }
      ctx.warn(`${artifact} would fail the release ${layer} policy:\n${table}`);
    }
  },
};

/**
 * The audit gate.
 * @example audit({ input: kernel, layer: 'kernel', keys: ['keys/release.pub'] })
 */
export const audit = defineStep<AuditStepOptions>(auditKind);
