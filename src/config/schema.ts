/**
 * Validation of kiln.config.ts at load time with zod; errors name the config path, what was
 * expected and what was found.
 */
import { z } from 'zod';
import { KilnError } from '../errors.js';
import {
  type ArtifactRef,
  type SchemaKit,
  type StepHandle,
  type StepKind,
  isArtifactRef,
  isStepHandle,
} from '../step.js';
import { DRIVE_INTERFACE_NAMES } from '../qemu/drives.js';
import { keyBytes } from '../qemu/console.js';
import { zTimeoutSeconds } from './timeout-schema.js';
import type { DriveConfig, ExitConfig, RunConfig } from './types.js';
import type { PolicySet } from '../toolchain/policy.js';

export const zArch = z.enum(['x86_64', 'i386', 'aarch64']);
export const zStep = z.custom<StepHandle>((v) => isStepHandle(v), {
  message: 'expected a step (e.g. command({...}), cargo.bin({...}))',
});
export const zArtifact = z.custom<ArtifactRef | StepHandle>((v) => isArtifactRef(v) || isStepHandle(v), {
  message: 'expected a step or one of its outputs',
});
/** A project-relative path or another step's output. */
export const zFileInput = z.union([z.string().min(1), zArtifact]);
export const zSize = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\s*\d+(\.\d+)?\s*[kKmMgGtT]?(i?[bB])?\s*$/, 'expected a size like 512K, 16M or 2G'),
]);
/** A flag-policy layer. */
export const zLayer = z.enum(['kernel', 'services', 'asm', 'boot', 'tools']);

/** What a step kind's `makeSchema` builds from. */
export const schemaKit: SchemaKit = { z, zFileInput, zArtifact, zSize, zTimeoutSeconds, zLayer };

const kindSchemas = new WeakMap<StepKind, z.ZodType>();

/** The schema of a step kind's options: its `schema`, or the one its `makeSchema` builds (once). */
export function stepKindSchema<O>(kind: StepKind<O>): z.ZodType<O> | undefined {
  if (kind.schema || !kind.makeSchema) return kind.schema;
  let schema = kindSchemas.get(kind as StepKind);
  if (!schema) kindSchemas.set(kind as StepKind, (schema = kind.makeSchema(schemaKit)));
  return schema as z.ZodType<O>;
}

const zPattern = z.union([z.string(), z.instanceof(RegExp)]);
const zMeasure = z
  .object({
    pattern: z.instanceof(RegExp),
    min: z.number().optional(),
    max: z.number().optional(),
    name: z.string().optional(),
    note: z.string().optional(),
  })
  .strict()
  .refine((m) => m.min !== undefined || m.max !== undefined, { message: 'a measure needs min or max' });

const zLayerPolicy = z
  .object({
    optimize: z.enum(['debug', 'safe', 'fast', 'small']).optional(),
    debugInfo: z.boolean().optional(),
    fpu: z.boolean().optional(),
    redZone: z.boolean().optional(),
    stackProtector: z.boolean().optional(),
    stackProbes: z.boolean().optional(),
    lto: z.union([z.literal(false), z.enum(['thin', 'fat'])]).optional(),
    panic: z.enum(['abort', 'unwind']).optional(),
    pie: z.boolean().optional(),
    nxStack: z.boolean().optional(),
    codeModel: z.enum(['small', 'kernel', 'medium', 'large']).optional(),
  })
  .strict();
export const zPolicy = z
  .object({
    kernel: zLayerPolicy.optional(),
    services: zLayerPolicy.optional(),
    asm: zLayerPolicy.optional(),
    boot: zLayerPolicy.optional(),
    tools: zLayerPolicy.optional(),
  })
  .strict() satisfies z.ZodType<PolicySet>;

const zOption = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bool'), help: z.string(), default: z.boolean() }).strict(),
  z
    .object({ type: z.literal('enum'), help: z.string(), values: z.array(z.string()).min(1), default: z.string() })
    .strict(),
  z
    .object({
      type: z.literal('int'),
      help: z.string(),
      default: z.number().int(),
      min: z.number().optional(),
      max: z.number().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('size'),
      help: z.string(),
      default: z.number().int(),
      min: z.number().optional(),
      max: z.number().optional(),
    })
    .strict(),
  z.object({ type: z.literal('string'), help: z.string(), default: z.string() }).strict(),
]);

const zExit = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('isa-debug-exit'),
      iobase: z.number().int().optional(),
      iosize: z.number().int().optional(),
      success: z.number().int().optional(),
    })
    .strict(),
  z.object({ kind: z.literal('semihosting'), success: z.number().int().optional() }).strict(),
  z.object({ kind: z.literal('psci') }).strict(),
  z.object({ kind: z.literal('serial') }).strict(),
]) satisfies z.ZodType<ExitConfig>;

const zDrive = z
  .object({
    image: zFileInput,
    interface: z.enum(DRIVE_INTERFACE_NAMES).optional(),
    index: z.number().int().nonnegative().optional(),
    format: z.enum(['raw', 'qcow2', 'vdi', 'vmdk']).optional(),
    readOnly: z.boolean().optional(),
    persist: z.boolean().optional(),
    pad: z.boolean().optional(),
  })
  .strict() satisfies z.ZodType<DriveConfig>;

const runShape = {
  image: zFileInput.optional(),
  cdrom: zFileInput.optional(),
  kernel: zFileInput.optional(),
  initrd: zFileInput.optional(),
  append: z.string().optional(),
  firmware: z.enum(['bios', 'uefi']).optional(),
  machine: z.string().optional(),
  cpu: z.string().optional(),
  memory: zSize.optional(),
  smp: z.number().int().positive().optional(),
  args: z.array(z.union([z.string(), zArtifact])).optional(),
  drives: z.array(zDrive).optional(),
  qemu: z.string().min(1).optional(),
  symbols: zFileInput.optional(),
  debugLog: z.string().min(1).optional(),
  exit: zExit.optional(),
  timeout: zTimeoutSeconds.optional(),
  serial: z
    .object({
      port: z.number().int().min(0).max(3).optional(),
      log: z.array(z.number().int().min(0).max(3)).optional(),
    })
    .strict()
    .optional(),
};
export const zRun = z.object(runShape).strict() satisfies z.ZodType<RunConfig>;
const zConsole = z.enum(['serial0', 'serial1', 'virtcon', 'monitor']);
const zSeconds = zTimeoutSeconds;
/** One console script step (src/qemu/script.ts ScriptStep). */
export const zScriptStep = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('expect'), pattern: zPattern, on: zConsole.optional(), timeout: zSeconds.optional() })
    .strict(),
  z
    .object({
      kind: z.literal('capture'),
      pattern: z.instanceof(RegExp),
      name: z.string().regex(/^\w+$/, 'expected a name of letters, digits or "_"'),
      group: z.union([z.number().int().positive(), z.string()]).optional(),
      on: zConsole.optional(),
      timeout: zSeconds.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('send'),
      data: z.union([z.string(), z.instanceof(Uint8Array), z.function()]),
      to: zConsole.optional(),
      charDelay: z.number().nonnegative().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('key'),
      key: z.string().refine((k) => keyBytes(k) !== undefined, {
        message: 'expected a key such as ctrl-c, enter, tab, backspace, escape, up',
      }),
      to: zConsole.optional(),
    })
    .strict(),
]);
export const zTest = z
  .object({
    ...runShape,
    script: z.array(zScriptStep).optional(),
    stepTimeout: zSeconds.optional(),
    expect: z.array(z.union([zPattern, zMeasure])).optional(),
    fail: z.array(zPattern).optional(),
    ktap: z.boolean().optional(),
    idleTimeout: zTimeoutSeconds.optional(),
    arch: z.array(zArch).optional(),
  })
  .strict();

export const zProject = z
  .object({
    components: z.record(z.string(), zStep).optional(),
    images: z.record(z.string(), zStep).optional(),
    steps: z.record(z.string(), zStep).optional(),
    run: zRun.optional(),
    tests: z.record(z.string(), zTest).optional(),
    artifacts: z
      .record(
        z
          .string()
          .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, 'expected a path inside the build folder (no leading /, no ..)'),
        zStep,
      )
      .optional(),
  })
  .strict();

export const zConfig = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name of letters, digits, ".", "_" or "-"'),
    version: z.string().optional(),
    arch: z.union([zArch, z.array(zArch).min(1)]).optional(),
    profiles: z
      .union([
        z.array(z.string().regex(/^[a-z][a-z0-9_-]*$/)).min(1),
        z.record(
          z.string().regex(/^[a-z][a-z0-9_-]*$/),
          z
            .object({
              release: z.boolean().optional(),
              settings: z.record(z.string(), z.unknown()).optional(),
              policy: zPolicy.optional(),
            })
            .strict(),
        ),
      ])
      .optional(),
    buildDir: z.string().optional(),
    policy: zPolicy.optional(),
    options: z
      .record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'option names are lower-case words joined by "-"'), zOption)
      .optional(),
    build: z.function().optional(),
    remoteCache: z
      .object({
        url: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL'),
        readOnly: z.boolean().optional(),
        sharePathDependent: z.boolean().optional(),
        headers: z
          .record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string())
          .refine((h) => !Object.keys(h).some((k) => /^(authorization|cookie|proxy-authorization)$/i.test(k)), {
            message: 'no credentials in the config: set KILN_REMOTE_CACHE_TOKEN (sent as Authorization: Bearer)',
          })
          .optional(),
      })
      .strict()
      .optional(),
    report: z
      .object({
        rules: z
          .array(
            z
              .object({
                id: z.string(),
                title: z.string(),
                explanation: z.string(),
                fix: z.string(),
                pattern: z.instanceof(RegExp).optional(),
                code: z.instanceof(RegExp).optional(),
              })
              .passthrough(),
          )
          .optional(),
        promoteWarnings: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    ...zProject.shape,
  })
  .strict();

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (isStepHandle(value)) return 'a step';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** One zod issue → `path: expected X, got Y`. */
export function formatIssue(
  issue: z.core.$ZodIssue,
  prefix: readonly (string | number)[] = [],
): { path: string; message: string } {
  const parts = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  const path = parts.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : String(p)),
    '',
  );
  const input = (issue as { input?: unknown }).input;
  let message: string;
  switch (issue.code) {
    case 'invalid_value':
      message = `expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}, got ${describeValue(input)}`;
      break;
    case 'invalid_type':
      message =
        input === undefined
          ? `is required (expected ${issue.expected})`
          : `expected ${issue.expected}, got ${describeValue(input)}`;
      break;
    case 'unrecognized_keys':
      message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      break;
    case 'invalid_union': {
      // Prefer a branch whose type matched (its issue is about the value, not the type), then the
      // branch that got deepest.
      const branches = issue.errors.filter((b) => b.length > 0);
      const score = (b: z.core.$ZodIssue[]) =>
        (b.some((i) => i.code !== 'invalid_type') ? 1000 : 0) + Math.max(...b.map((i) => i.path.length));
      const best = branches.sort((a, b) => score(b) - score(a))[0];
      if (best && best[0] && (best[0].path.length > 0 || best[0].code !== 'invalid_type'))
        return formatIssue(
          { ...best[0], input: (best[0] as { input?: unknown }).input ?? input } as z.core.$ZodIssue,
          parts,
        );
      message = `${issue.message}, got ${describeValue(input)}`;
      break;
    }
    default:
      message =
        input !== undefined && !issue.message.includes('got')
          ? `${issue.message}, got ${describeValue(input)}`
          : issue.message;
  }
  return { path, message };
}

/** Validates `value` with `schema`, throwing CONFIG_INVALID naming the file and path of the first problem(s). */
export function validateConfigValue<T>(
  schema: z.ZodType<T>,
  value: unknown,
  file: string,
  prefix: readonly (string | number)[] = [],
): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((i) => formatIssue(i, prefix));
  const first = issues[0]!;
  const more = issues
    .slice(1)
    .map((i) => `\n  ${file}: ${i.path}: ${i.message}`)
    .join('');
  throw new KilnError('CONFIG_INVALID', `${first.message}${more}`, {
    location: { file, configPath: first.path || undefined },
    hint: 'see the config reference in the README (every option is typed in kiln.config.ts)',
    exitCode: 2,
  });
}
