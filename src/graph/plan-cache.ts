/**
 * The plan cache: a planned graph saved as data (`<project>/.kiln/plans/<request>.json`), so that a
 * build whose config, imports, request and environment did not change skips loading the config
 * (jiti), validating it (zod) and the step modules. Its key has two parts:
 * - the request: config path, kiln's version + build id, --arch/--profile/--build-dir/
 *   --allow-dev-key and the project options as given (the file's name);
 * - what planning read (plan-reads.ts): every file the config and the step declarations read
 *   (the config's imports among them), every folder listed, every path checked, every env var
 *   looked at — checked on load, stat first and content hash when the stat moved.
 *
 * A cached plan is a Graph whose steps have stand-in kinds: enough to fingerprint them and decide
 * "up to date" (kind, version, declaration, outputs, edges, key data with artifact refs), and — for
 * a step of one of kiln's own kinds whose validated options could be written as data
 * (plan-values.ts) — to run it: its kind's module is loaded when the step runs, not before. A
 * step of a kind the config defines, or whose options hold a function or a class instance, is
 * `slow`: when one of those must run, the CLI plans for real (the executor's check-only mode,
 * session.ts, finds out without running anything). The run and tests sections are kept the same
 * way for `kiln run` and `kiln test`. `kiln dev` keeps its real Graph in memory and needs none of this.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256Hex } from '../util/hash.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { KilnConfig, Project, RemoteCacheConfig, RunConfig, TestConfig } from '../config/types.js';
import { ArtifactPaths } from './artifacts.js';
import { mapKeyData } from './fingerprint.js';
import type { Graph, PlannedStep } from './graph.js';
import { stableStringify } from './hashing.js';
import { type FileRead, type PathType, type PlanReads, listingHash, pathType, trustedStat } from './plan-reads.js';
import { type EncodedValue, UnserializableValue, encodeValue, reviveValue } from './plan-values.js';
import type { Arch, ArtifactRef, Declaration, StepHandle, StepKind, TargetInfo } from '../step.js';

/** Everything on the command line (and kiln itself) that a plan depends on. */
export interface PlanRequestKey {
  /** Absolute path of the config file. */
  configPath: string;
  /** kiln's version and build id: a rebuilt kiln re-plans. */
  kilnVersion: string;
  arch?: string;
  profile?: string;
  /** --build-dir, made absolute. */
  buildDir?: string;
  allowDevKey?: boolean;
  /** The project options' arguments as given (`--name=value`, `--flag`). */
  projectArgs: string[];
}

/** 1: the first format; 2: step options, the run and tests sections, remoteCache; 3: arches, positional. */
const FORMAT = 3;

interface CachedStep {
  name: string;
  configPath: string;
  kind: string;
  version: number;
  declaration: Omit<Declaration, 'key'>;
  outputs: string[];
  /** Indexes (in `steps`) of the steps it reads. */
  deps: number[];
  /** Stable JSON of `declaration.key ?? options` after the key-data walk, cut at its artifact refs. */
  keyParts: string[];
  /** The artifact refs between the parts: [producer step, output name or null for the main output]. */
  keyRefs: Array<[step: string, output: string | null]>;
  /** The validated options as data (plan-values.ts); absent when the step is `slow`. */
  options?: EncodedValue;
  /** Why the step cannot run from the cached plan (its kind is the config's, its options hold a function). */
  slow?: string;
}

/** The config's `run` and `tests` sections as data, or why they could not be written. */
type CachedSections = { run?: EncodedValue; tests?: EncodedValue } | { slow: string };

interface CachedPlan {
  format: typeof FORMAT;
  kilnVersion: string;
  reads: PlanReads;
  /** Env var → hash of name and value (or the hash of the whole env when it was enumerated). */
  env: Record<string, string>;
  graph: {
    name: string;
    target: TargetInfo;
    projectDir: string;
    buildDir: string;
    buildRoot: string;
    release: boolean;
    options: Record<string, unknown>;
    steps: CachedStep[];
    /** The project's artifacts: path under the build root → step name. */
    artifacts: Record<string, string>;
    sections: CachedSections;
    remoteCache?: RemoteCacheConfig;
    /** The config's arches, default first (`kiln test`'s matrix). */
    arches: string[];
    /** The request's positional arguments as the config's options told them apart (step or test names). */
    positional: string[];
  };
}

/** Where the plan for `request` is cached. */
export function planCachePath(request: PlanRequestKey): string {
  const id = sha256Hex(stableStringify(request)).slice(0, 32);
  return join(dirname(request.configPath), '.kiln', 'plans', `${id}.json`);
}

function envHashes(names: string[] | 'all', env: NodeJS.ProcessEnv): Record<string, string> {
  if (names === 'all') {
    const all = Object.keys(env)
      .sort()
      .map((k) => `${k}=${env[k]}`)
      .join('\0');
    return { '*': sha256Hex(all) };
  }
  return Object.fromEntries(names.map((n) => [n, sha256Hex(`${n}=${env[n] ?? '\0unset'}`)]));
}

/** What else a plan is saved with: the kinds that are kiln's own, the request's positional arguments. */
export interface StoreExtras {
  /** Steps of other kinds cannot run from the cached plan. */
  builtin?: ReadonlySet<StepKind>;
  /** The request's positional arguments (step or test names), as the config's options told them apart. */
  positional?: string[];
}

/** Saves `graph`, planned for `request` after reading `reads`. Never throws: a cache is optional. */
export function storePlan(
  request: PlanRequestKey,
  graph: Graph,
  reads: PlanReads,
  env: NodeJS.ProcessEnv,
  extras: StoreExtras = {},
): boolean {
  try {
    const plan: CachedPlan = {
      format: FORMAT,
      kilnVersion: request.kilnVersion,
      reads,
      env: envHashes(reads.env, env),
      graph: { ...serializeGraph(graph, extras.builtin ?? new Set()), positional: extras.positional ?? [] },
    };
    writeFileAtomic(planCachePath(request), JSON.stringify(plan));
    return true;
  } catch {
    return false;
  }
}

function serializeGraph(graph: Graph, builtin: ReadonlySet<StepKind>): Omit<CachedPlan['graph'], 'positional'> {
  const index = new Map(graph.steps.map((s, i) => [s, i]));
  const steps = graph.steps.map((s): CachedStep => {
    const { key: _key, ...declaration } = s.declaration;
    return {
      name: s.name,
      configPath: s.configPath,
      kind: s.handle.kind.kind,
      version: s.handle.kind.version,
      declaration,
      outputs: s.outputs,
      deps: s.deps.map((d) => index.get(d)!),
      ...cutKeyText(graph, s),
      ...runnableOptions(graph, s, builtin),
    };
  });
  const artifacts: Record<string, string> = {};
  for (const [path, handle] of Object.entries(graph.project.artifacts ?? {})) {
    const step = graph.byHandle.get(handle);
    if (step) artifacts[path] = step.name;
  }
  return {
    name: graph.config.name,
    target: graph.target,
    projectDir: graph.projectDir,
    buildDir: graph.buildDir,
    buildRoot: graph.buildRoot,
    release: graph.release,
    options: JSON.parse(stableStringify(graph.options)) as Record<string, unknown>,
    steps,
    artifacts,
    sections: encodeSections(graph),
    ...(graph.config.remoteCache ? { remoteCache: graph.config.remoteCache } : {}),
    // As graph/plan.ts configArches says (not imported: the planner loads zod).
    arches: Array.isArray(graph.config.arch) ? graph.config.arch : [graph.config.arch ?? 'x86_64'],
  };
}

/** The step's options as data, or why it cannot run from the cached plan. */
function runnableOptions(
  graph: Graph,
  step: PlannedStep,
  builtin: ReadonlySet<StepKind>,
): Pick<CachedStep, 'options' | 'slow'> {
  if (!builtin.has(step.handle.kind)) return { slow: `its kind ${step.handle.kind.kind} is not one of kiln's own` };
  try {
    return { options: encodeValue(step.options, nameIn(graph)) };
  } catch (error) {
    if (error instanceof UnserializableValue) return { slow: error.message };
    throw error;
  }
}

function encodeSections(graph: Graph): CachedSections {
  const { run, tests } = graph.project;
  try {
    return {
      ...(run ? { run: encodeValue(run, nameIn(graph), 'run') } : {}),
      ...(tests ? { tests: encodeValue(tests, nameIn(graph), 'tests') } : {}),
    };
  } catch (error) {
    if (error instanceof UnserializableValue) return { slow: error.message };
    throw error;
  }
}

/** A handle's step name in `graph` (every handle in options and sections was planned). */
function nameIn(graph: Graph): (handle: StepHandle) => string {
  return (handle) => {
    const step = graph.byHandle.get(handle);
    if (!step) throw new UnserializableValue('a value', 'a step that is not in the plan');
    return step.name;
  };
}

/**
 * The step's key data as keyData hashes it (fingerprint.ts), its artifact refs cut out: each ref
 * becomes a random marker string, which the stable JSON then splits at (in the JSON's own order).
 */
function cutKeyText(graph: Graph, step: PlannedStep): Pick<CachedStep, 'keyParts' | 'keyRefs'> {
  const tag = `kilnref${sha256Hex(`${Math.random()}${process.hrtime.bigint()}`).slice(0, 16)}`;
  const refs: CachedStep['keyRefs'] = [];
  const mapped = mapKeyData(step.declaration.key ?? step.options, (ref) => {
    const producer = graph.artifacts.resolve(ref, step).producer;
    refs.push([producer.name, isHandle(ref) ? null : (ref.output ?? null)]);
    return `${tag}${refs.length - 1}${tag}`;
  });
  const pieces = stableStringify(mapped).split(new RegExp(`"${tag}(\\d+)${tag}"`));
  const keyParts = pieces.filter((_, i) => i % 2 === 0);
  const keyRefs = pieces.filter((_, i) => i % 2 === 1).map((i) => refs[Number(i)]!);
  return { keyParts, keyRefs };
}

function isHandle(ref: ArtifactRef | StepHandle): ref is StepHandle {
  return !('step' in ref);
}

/** Loads the real kind of a step of the cached plan that must run (steps/_kinds.ts). */
export type KindLoader = (kind: string) => Promise<StepKind | undefined>;

/** A valid cached plan: its graph, and what of it cannot run without the config. */
export interface CachedPlanHit {
  graph: Graph;
  /** Step name → why it cannot run from the cached plan (a kind of the config's, options holding a function). */
  slow: ReadonlyMap<string, string>;
  /** Why the run and tests sections are not in the cached plan, when they are not. */
  sectionsSlow?: string;
  /** The config's arches, default first. */
  arches: Arch[];
  /** The request's positional arguments (step or test names). */
  positional: string[];
}

export type PlanLookup = CachedPlanHit | { miss: 'absent' | 'changed' } | { miss: 'corrupt'; problem: string };

/**
 * The cached plan for `request`, if every recorded read is unchanged. A file that is not a valid
 * plan is reported (`corrupt`) and ignored. Its steps run through `loadKind` (without it, none can).
 */
export function lookupPlan(request: PlanRequestKey, env: NodeJS.ProcessEnv, loadKind?: KindLoader): PlanLookup {
  const path = planCachePath(request);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { miss: 'absent' };
  }
  let plan: CachedPlan;
  try {
    plan = JSON.parse(text) as CachedPlan;
    checkShape(plan);
  } catch (error) {
    return { miss: 'corrupt', problem: `${path}: ${(error as Error).message}` };
  }
  if (plan.kilnVersion !== request.kilnVersion || !readsUnchanged(plan, env)) return { miss: 'changed' };
  try {
    return rebuildGraph(plan, loadKind);
  } catch (error) {
    return { miss: 'corrupt', problem: `${path}: ${(error as Error).message}` };
  }
}

function checkShape(plan: CachedPlan): void {
  const ok =
    plan !== null &&
    typeof plan === 'object' &&
    plan.format === FORMAT &&
    Array.isArray(plan.reads?.files) &&
    Array.isArray(plan.reads.dirs) &&
    Array.isArray(plan.reads.stats) &&
    plan.env !== null &&
    typeof plan.env === 'object' &&
    Array.isArray(plan.graph?.steps) &&
    typeof plan.graph.buildDir === 'string' &&
    typeof plan.graph.target?.id === 'string' &&
    typeof plan.graph.sections === 'object' &&
    plan.graph.sections !== null &&
    Array.isArray(plan.graph.arches) &&
    Array.isArray(plan.graph.positional);
  if (!ok) throw new Error('not a plan of this kiln (unexpected format)');
}

function readsUnchanged(plan: CachedPlan, env: NodeJS.ProcessEnv): boolean {
  const wanted = envHashes(plan.reads.env, env);
  for (const [name, hash] of Object.entries(plan.env)) if (wanted[name] !== hash) return false;
  if (!plan.reads.files.every(fileUnchanged)) return false;
  for (const [dir, listing] of plan.reads.dirs) if (currentListing(dir) !== listing) return false;
  for (const [key, type] of plan.reads.stats) if (statType(key) !== type) return false;
  return true;
}

function fileUnchanged(read: FileRead): boolean {
  const now = trustedStat(read.path);
  if (read.stat && now && read.stat[0] === now[0] && read.stat[1] === now[1] && read.stat[2] === now[2]) return true;
  let hash: string | null;
  try {
    hash = sha256Hex(readFileSync(read.path));
  } catch {
    hash = null;
  }
  return hash === read.hash;
}

function currentListing(dir: string): string | null {
  try {
    return listingHash(readdirSync(dir));
  } catch {
    return null;
  }
}

function statType(key: string): PathType {
  return key.endsWith('\0l') ? pathType(key.slice(0, -2), true) : pathType(key);
}

// ---- A Graph from a cached plan ----

const STEP = Symbol.for('kiln.step');
const ARTIFACT = Symbol.for('kiln.artifact');

/**
 * A stand-in for a step kind that is not loaded: it fingerprints like the real one, and its `make`
 * loads the real kind (the same version) and runs it.
 */
function standInKind(kind: string, version: number, loadKind: KindLoader | undefined): StepKind {
  return {
    kind,
    version,
    declare: () => ({ outputs: [] }),
    async make(options, ctx) {
      const real = await loadKind?.(kind);
      if (!real || real.version !== version)
        throw new Error(`step kind ${kind} version ${version} cannot run from the cached plan (not loaded)`);
      return real.make(options, ctx);
    },
  };
}

function standInHandle(kind: StepKind, name: string): StepHandle & { options: unknown } {
  const handle = {
    [STEP]: true as const,
    kind,
    options: undefined as unknown,
    name,
    get out(): ArtifactRef {
      return { [ARTIFACT]: true, step: handle, output: undefined } as unknown as ArtifactRef;
    },
    output(output: string): ArtifactRef {
      return { [ARTIFACT]: true, step: handle, output } as unknown as ArtifactRef;
    },
    named(): StepHandle {
      return handle;
    },
  } as unknown as StepHandle & { options: unknown };
  return handle;
}

function rebuildGraph(plan: CachedPlan, loadKind: KindLoader | undefined): CachedPlanHit {
  const g = plan.graph;
  const handles = g.steps.map((s) => standInHandle(standInKind(s.kind, s.version, loadKind), s.name));
  const byName = new Map<string, StepHandle>(g.steps.map((s, i) => [s.name, handles[i]!]));
  const handleOf = (step: string): StepHandle => {
    const handle = byName.get(step);
    if (!handle) throw new Error(`a step reads an unknown step ${JSON.stringify(step)}`);
    return handle;
  };
  const refOf = ([step, output]: [string, string | null]): ArtifactRef | StepHandle =>
    output === null ? handleOf(step) : handleOf(step).output(output);
  const slow = new Map<string, string>();
  const steps: PlannedStep[] = g.steps.map((s, i) => {
    if (s.keyParts.length !== s.keyRefs.length + 1) throw new Error(`step ${s.name}: a broken key text`);
    const options = s.options === undefined ? undefined : reviveValue(s.options, handleOf);
    handles[i]!.options = options;
    if (s.options === undefined) slow.set(s.name, s.slow ?? 'its options are not in the cached plan');
    return {
      name: s.name,
      configPath: s.configPath,
      handle: handles[i]!,
      options,
      declaration: s.declaration,
      outputs: s.outputs,
      deps: [],
      dependents: [],
      keyText: { parts: s.keyParts, refs: s.keyRefs.map(refOf) },
    };
  });
  g.steps.forEach((s, i) => {
    steps[i]!.deps = s.deps.map((d) => steps[d]!);
    for (const d of steps[i]!.deps) d.dependents.push(steps[i]!);
  });
  const byHandle = new Map(steps.map((s) => [s.handle, s]));
  const artifacts = Object.fromEntries(Object.entries(g.artifacts).map(([path, step]) => [path, byName.get(step)!]));
  const sections = 'slow' in g.sections ? {} : reviveSections(g.sections, handleOf);
  const project = { name: g.name, artifacts, ...sections } as Project;
  const config = { ...project, ...(g.remoteCache ? { remoteCache: g.remoteCache } : {}) } as KilnConfig;
  const graph: Graph = {
    target: g.target,
    projectDir: g.projectDir,
    buildDir: g.buildDir,
    buildRoot: g.buildRoot,
    steps,
    byName: new Map(steps.map((s) => [s.name, s])),
    byHandle,
    artifacts: new ArtifactPaths(byHandle, g.buildDir, join(g.projectDir, 'kiln.config.ts')),
    project,
    config,
    options: g.options,
    release: g.release,
  };
  const sectionsSlow = 'slow' in g.sections ? { sectionsSlow: g.sections.slow } : {};
  return { graph, slow, arches: g.arches as Arch[], positional: g.positional, ...sectionsSlow };
}

function reviveSections(
  sections: { run?: EncodedValue; tests?: EncodedValue },
  handleOf: (step: string) => StepHandle,
): Pick<Project, 'run' | 'tests'> {
  return {
    ...(sections.run !== undefined ? { run: reviveValue(sections.run, handleOf) as RunConfig } : {}),
    ...(sections.tests !== undefined
      ? { tests: reviveValue(sections.tests, handleOf) as Record<string, TestConfig> }
      : {}),
  };
}

let buildVersion: string | null | undefined;

/**
 * kiln's version and build id (`dist/build-id.json`, written by `npm run build`: a hash of the
 * compiled code), or undefined when there is no build id — then nothing is cached.
 */
export function kilnBuildVersion(): string | undefined {
  if (buildVersion === undefined) {
    try {
      const { id, version } = JSON.parse(readFileSync(new URL('../build-id.json', import.meta.url), 'utf8')) as {
        id: string;
        version: string;
      };
      buildVersion = typeof id === 'string' && typeof version === 'string' ? `${version}+${id}` : null;
    } catch {
      buildVersion = null;
    }
  }
  return buildVersion ?? undefined;
}
