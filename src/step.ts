/**
 * Steps: the nodes of kiln's build graph. A step kind (src/steps/*.ts) declares, from its options,
 * what it reads (files, globs, artifacts of other steps, env vars, tools) and what it writes; the
 * graph hashes all of that into an action key and runs `make` only when the key is new.
 *
 * Config code never sees paths of other steps' outputs: it passes typed handles (ArtifactRef),
 * which add the dependency on their producer automatically (as Zig's LazyPath does).
 */
import type { z } from 'zod';
import type { RunOptions, RunResult } from './util/process.js';
import type { Layer, PolicySet } from './toolchain/policy.js';

/** An architecture kiln builds and boots for. */
export type Arch = 'x86_64' | 'i386' | 'aarch64';
export const ARCHES: readonly Arch[] = ['x86_64', 'i386', 'aarch64'];

const ARTIFACT = Symbol.for('kiln.artifact');
const STEP = Symbol.for('kiln.step');
const OUTPUT = Symbol.for('kiln.output');

/** A file produced by a step, usable as input of another step. */
export interface ArtifactRef {
  readonly [ARTIFACT]: true;
  /** The step that produces the file. */
  readonly step: StepHandle;
  /** Output name (a path relative to the target's build folder); undefined = the step's main output. */
  readonly output: string | undefined;
}

/** Placeholder for one of the step's own outputs inside an argv (resolved to a staging path). */
export interface OutputPlaceholder {
  readonly [OUTPUT]: true;
  /** The output's name, relative to the target's build folder. */
  readonly output: string;
}

export function isArtifactRef(value: unknown): value is ArtifactRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ARTIFACT] === true;
}
export function isStepHandle(value: unknown): value is StepHandle {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[STEP] === true;
}
export function isOutputPlaceholder(value: unknown): value is OutputPlaceholder {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[OUTPUT] === true;
}

/**
 * Refers to one of the current step's outputs in its argv: `command({ argv: ['nasm', '-o', out('boot.bin'), 'boot.asm'] })`.
 */
export function out(output: string): OutputPlaceholder {
  return { [OUTPUT]: true, output };
}

/** Anything that names an input file: a project-relative path, or another step's artifact. */
export type FileInput = string | ArtifactRef | StepHandle;

/** A node of the build graph as config code holds it. */
export interface StepHandle<O = unknown> {
  readonly [STEP]: true;
  readonly kind: StepKind<O>;
  /** The options the step was made with (validated by its kind's schema at plan time). */
  readonly options: O;
  /** Explicit name (else the config key under which it was found, else kind + index). */
  readonly name: string | undefined;
  /** The step's main output (its first declared output). */
  readonly out: ArtifactRef;
  /** One named output of the step. */
  output(name: string): ArtifactRef;
  /** The same step with an explicit name. */
  named(name: string): StepHandle<O>;
}

/** What a step kind declares about one instance, computed from its options at plan time. */
export interface Declaration {
  /** Files read, relative to the project folder; globs allowed (`src/**\/*.rs`). */
  inputs?: string[];
  /** Env vars whose values are part of the key; the step's tools get them (util/step-env.ts). */
  env?: string[];
  /**
   * Secret env vars a kiln step kind reads in-process (the sign step's SIGNING_KEY): handed to
   * `make` as `ctx.secrets`, never to a tool, and never part of the key (not even hashed; a signing
   * step names its keys in `signingKeys`). A secret-looking name in `env` that is not listed here is
   * refused at plan time.
   */
  secrets?: string[];
  /**
   * The signing keys the step signs with, found when it is fingerprinted (a key file, else
   * SIGNING_KEY / SIGNING_KEY_ML_DSA, else the project's development key): their public key ids
   * enter the action key, never the secret nor a hash of it, so the same key gives the same key
   * whichever way it arrives.
   */
  signingKeys?: SigningKeyRequest[];
  /** Tools run: resolved to an absolute path and identity (content hash or version) in the key. */
  tools?: string[];
  /**
   * Output files, relative to the target's build folder. The first is the main output. A step
   * with no outputs runs every time (e.g. a check).
   */
  outputs: string[];
  /**
   * Extra data for the action key (defaults to the options, with artifact refs replaced by the
   * content hashes of the files they name).
   */
  key?: unknown;
  /**
   * Inputs or outputs are not fully declared (an escape hatch): the step always runs and is never
   * restored from the cache (wireit calls this "not fully tracked").
   */
  untracked?: boolean;
  /**
   * Why the step's outputs depend on the checkout's folder (an absolute path its tool writes and
   * cannot map): its results stay on this machine, never uploaded to a remote cache nor looked up
   * there. Undefined: the results are shared (graph/tiered-cache.ts).
   */
  localOnly?: string;
  /** Persistent working folder under the target's build folder (e.g. cargo's target dir). Not cached. */
  workDir?: string;
}

/** One signing key a step signs with, as `resolveSigningKey` finds it (sign/key-store.ts). */
export interface SigningKeyRequest {
  readonly algorithm: 'ed25519' | 'ml-dsa-65';
  /** A key file (project-relative or absolute): wins over the environment and the dev key. */
  readonly keyFile?: string;
  /** A release build: the development key is refused (and never created) unless `allowDevKey`. */
  readonly release: boolean;
  readonly allowDevKey: boolean;
}

/** Handed to a step kind's `declare`: where the project and its build folder are, and the target. */
export interface DeclareContext {
  /** The project folder (absolute). */
  readonly projectDir: string;
  /** The target's build folder (absolute). */
  readonly buildDir: string;
  /** The architecture × profile being planned. */
  readonly target: TargetInfo;
  /** Config path of the step (`components.kernel`), for error messages. */
  readonly configPath: string;
}

/** The target a step is built for: one architecture × profile of the project. */
export interface TargetInfo {
  /** The architecture (`--arch`; default the config's first). */
  readonly arch: Arch;
  /** The profile's name (`debug`, `release` or the project's own; `--profile`). */
  readonly profile: string;
  /** `x86_64-debug` */
  readonly id: string;
  /** The profile is a release profile (policy violations fail, dev keys refused). */
  readonly release: boolean;
  /** `--allow-dev-key`: a release build may sign with the project's development key. */
  readonly allowDevKey?: boolean;
  /** The profile's flag-policy overrides per layer (src/toolchain/policy.ts). */
  readonly policy: PolicySet;
}

/** Handed to `make`: where to write, how to run tools, where to log. */
export interface StepContext {
  /** The step's name. */
  readonly name: string;
  /**
   * The action key this run was decided by (hex SHA-256 of the step's fingerprint): no absolute path
   * and no secret in it, so the same in any checkout for the same inputs, tools and options.
   */
  readonly actionKey: string;
  /** The project folder (absolute). */
  readonly projectDir: string;
  /** The target's build folder (`build/x86_64-debug`). */
  readonly buildDir: string;
  /** The architecture × profile being built. */
  readonly target: TargetInfo;
  /** SOURCE_DATE_EPOCH or kiln's default: use for every timestamp written. */
  readonly epoch: number;
  /** The step's environment: an allow-list plus its declared variables (util/step-env.ts). */
  readonly env: NodeJS.ProcessEnv;
  /** Values of the declared `secrets`, for in-process use only (never pass them to a tool). */
  readonly secrets: Readonly<Record<string, string | undefined>>;
  /** Aborted when the build is cancelled (Ctrl-C, another step failed): stop and return. */
  readonly signal: AbortSignal;
  /** Absolute path of a file: project-relative string, or another step's artifact. */
  path(input: FileInput): string;
  /** Where to write output `name` (a staging path; kiln moves it into place after success). */
  outPath(name?: string): string;
  /** The persistent work folder (Declaration.workDir), created. */
  readonly workDir: string | undefined;
  /** Appends a line to the build log. */
  log(line: string): void;
  /** Runs a tool; output goes to the build log; a non-zero exit throws a StepFailure. */
  exec(argv: Array<string | FileInput | OutputPlaceholder>, options?: ExecOptions): Promise<RunResult>;
  /** Records a warning shown in the step's summary line. */
  warn(message: string): void;
  /**
   * Reports files the step read beyond its declared inputs (a compiler's depfile, cargo's dep-info):
   * absolute paths. They are kept with the step's state and fingerprinted on the next build, like
   * ninja's deps log; files outside the project and the build folder (system headers) are left to
   * the tool's identity.
   */
  reads(paths: string[]): void;
  /** Reports one unit of work inside the step (one compile), as a `step-action` event. */
  action(action: StepAction): void;
}

/** One unit of work inside a step: `{ kind: 'compile', input: 'kernel/fs.c', reason: 'include/fs.h changed' }`. */
export interface StepAction {
  kind: string;
  /** The file it works on, project-relative. */
  input: string;
  /** Why it ran (`never built`, `include/fs.h changed`). */
  reason: string;
}

/** Options of `ctx.exec`: working folder, environment, timeout, input, and whether a failure throws. */
export interface ExecOptions extends Omit<RunOptions, 'signal' | 'onOutput'> {
  /** Do not throw on a non-zero exit (the caller inspects the result). */
  allowFailure?: boolean;
}

/**
 * What {@link StepKind.makeSchema} builds a schema from: zod and the config schema's shared pieces.
 * @example makeSchema: ({ z, zFileInput }) => z.object({ input: zFileInput, output: z.string() }).strict()
 */
export interface SchemaKit {
  /** zod itself. */
  readonly z: typeof z;
  /** A project-relative path or another step's output. */
  readonly zFileInput: z.ZodType<FileInput>;
  /** Another step or one of its outputs. */
  readonly zArtifact: z.ZodType<ArtifactRef | StepHandle>;
  /** A size: bytes, or a string such as `512K`, `16M`, `2G`. */
  readonly zSize: z.ZodType<number | string>;
  /** A timeout in seconds. */
  readonly zTimeoutSeconds: z.ZodType<number>;
  /** A flag-policy layer (`kernel`, `services`, `asm`, `boot`, `tools`). */
  readonly zLayer: z.ZodType<Layer>;
}

/** A kind of step (src/steps/<kind>.ts). */
export interface StepKind<O = unknown> {
  readonly kind: string;
  /** Bump when the implementation changes what it produces: invalidates cached results. */
  readonly version: number;
  /** Validates the options at plan time; errors carry the step's config path. */
  readonly schema?: z.ZodType<O>;
  /**
   * Instead of `schema`: builds it at plan time from the kit kiln hands over (once per kind). A
   * module whose kinds do this does not load zod when it is imported, which keeps a build from the
   * plan cache fast: it runs steps whose options were validated when the plan was made.
   */
  readonly makeSchema?: (kit: SchemaKit) => z.ZodType<O>;
  /** Plan time: what one instance reads and writes, from its options (no side effects). */
  declare(options: O, ctx: DeclareContext): Declaration | Promise<Declaration>;
  /** Build time: produces the declared outputs (only when the action key is new). */
  make(options: O, ctx: StepContext): Promise<void>;
}

function makeHandle<O>(kind: StepKind<O>, options: O, name: string | undefined): StepHandle<O> {
  const handle: StepHandle<O> = {
    [STEP]: true,
    kind,
    options,
    name,
    get out(): ArtifactRef {
      return { [ARTIFACT]: true, step: handle as StepHandle, output: undefined };
    },
    output(outputName: string): ArtifactRef {
      return { [ARTIFACT]: true, step: handle as StepHandle, output: outputName };
    },
    named(newName: string): StepHandle<O> {
      return makeHandle(kind, options, newName);
    },
  };
  return handle;
}

/**
 * Makes the config-facing factory of a step kind.
 * @example export const copy = defineStep(copyKind); // copy({ from: 'a', to: 'b' })
 */
export function defineStep<O extends { name?: string }>(kind: StepKind<O>): (options: O) => StepHandle<O> {
  return (options: O) => makeHandle(kind, options, options?.name);
}

/** How a step of a build ended. */
export type StepStatus = 'ran' | 'cached' | 'up-to-date' | 'failed' | 'skipped';

/** Why a step failed, as the build log and `--json` report it: message, command, exit code, output tail, hint. */
export interface StepFailureInfo {
  /** One line saying what failed. */
  message: string;
  /** The command that failed, as a shell would show it. */
  command?: string;
  /** Its exit code (null when a signal ended it). */
  exitCode?: number | null;
  /** The interesting tail of the tool's output (error lines preferred). */
  tail: string[];
  /** What to do about it, when kiln knows. */
  hint?: string;
  /** A stable error code, when the failure is a KilnError. */
  code?: string;
}

/** A failure of a step's tool: the command, exit meaning and the interesting tail of its output. */
export class StepFailure extends Error {
  readonly command: string | undefined;
  readonly exitCode: number | null | undefined;
  readonly output: string;
  readonly hint: string | undefined;
  constructor(
    message: string,
    options: { command?: string; exitCode?: number | null; output?: string; hint?: string } = {},
  ) {
    super(message);
    this.name = 'StepFailure';
    this.command = options.command;
    this.exitCode = options.exitCode;
    this.output = options.output ?? '';
    this.hint = options.hint;
  }
}
