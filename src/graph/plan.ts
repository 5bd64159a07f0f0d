/**
 * Planning: a loaded config, one target (arch × profile) and option values → a graph of planned
 * steps in dependency order. Every step's options are validated here (errors carry the config
 * path) and every step declares its inputs and outputs.
 */
import { join, relative, resolve } from 'node:path';
import { KilnError } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';
import { resolveOptions } from '../config/options.js';
import type { BuildTarget, KilnConfig, Project, ProfileSpec } from '../config/types.js';
import { stepKindSchema, validateConfigValue, zProject } from '../config/schema.js';
import { OutputClaims } from './outputs.js';
import { configDeadline, withBuildDeadline } from './build-deadline.js';
import { checkStepEnv } from '../util/step-env.js';
import { ArtifactPaths } from './artifacts.js';
import type { Graph, PlannedStep } from './graph.js';
import { type Arch, type ArtifactRef, type StepHandle, type TargetInfo, isArtifactRef, isStepHandle } from '../step.js';

export interface PlanRequest {
  arch?: Arch;
  profile?: string;
  /** `--name=value` project options as given on the command line. */
  options?: Record<string, string | boolean>;
  env?: NodeJS.ProcessEnv;
  /** Override the build root folder. */
  buildDir?: string;
  /** `--allow-dev-key`: sign steps of a release build may use the development key. */
  allowDevKey?: boolean;
}

/** Arches of the config, default first. */
export function configArches(config: KilnConfig): Arch[] {
  const a = config.arch ?? 'x86_64';
  return Array.isArray(a) ? a : [a];
}

/** Profiles of the config, default first. */
export function configProfiles(config: KilnConfig): Array<[string, ProfileSpec]> {
  const p = config.profiles ?? { debug: {}, release: { release: true } };
  if (Array.isArray(p)) return p.map((name) => [name, { release: name === 'release' }]);
  return Object.entries(p);
}

function shown(path: string): string {
  return relative(process.cwd(), path) || path;
}

/** Finds every step handle and artifact ref inside an options value (not inside other steps). */
export function collectRefs(
  value: unknown,
  found: Array<StepHandle | ArtifactRef> = [],
  seen = new Set<unknown>(),
): Array<StepHandle | ArtifactRef> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return found;
  if (isArtifactRef(value) || isStepHandle(value)) {
    found.push(value);
    return found;
  }
  if (value instanceof Uint8Array || value instanceof RegExp || value instanceof Date) return found;
  seen.add(value);
  if (Array.isArray(value)) for (const v of value) collectRefs(v, found, seen);
  else for (const v of Object.values(value)) collectRefs(v, found, seen);
  return found;
}

/**
 * Which rule a step name breaks, or undefined when it is valid.
 * @example stepNameProblem('_cat') // 'must start with a letter or digit, not "_"'
 */
export function stepNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (!/^[A-Za-z0-9]/.test(name)) return `must start with a letter or digit, not ${JSON.stringify(name[0])}`;
  const bad = [...name].findIndex((c) => !/[A-Za-z0-9._-]/.test(c));
  if (bad >= 0)
    return `may hold only letters, digits, ".", "_" or "-": ${JSON.stringify([...name][bad])} at position ${bad + 1} is none of them`;
  return undefined;
}

export async function planGraph(loaded: LoadedConfig, request: PlanRequest = {}): Promise<Graph> {
  const { config } = loaded;
  const file = shown(loaded.path);
  const { target, profile } = resolveTarget(config, request, file);
  const { release } = target;
  const options = resolveOptions(config.options ?? {}, request.options ?? {});
  // --build-dir is relative to the working folder, or absolute (resolve, not join: join glued an absolute path under cwd).
  const buildRoot = request.buildDir
    ? resolve(process.cwd(), request.buildDir)
    : resolve(loaded.projectDir, config.buildDir ?? 'build');
  const buildDir = join(buildRoot, target.id);
  const project = config.build
    ? await runBuild(config.build, target, { dir: buildDir, options, profile, env: request.env }, file)
    : config;
  const nodes = nameSteps(project, file);
  const planned = await declareSteps(nodes, loaded, buildDir, target, file);
  const artifacts = linkSteps(planned, buildDir, file);
  const order = orderSteps(planned, file);
  const byName = new Map(order.map((s) => [s.name, s]));
  return {
    target,
    projectDir: loaded.projectDir,
    buildDir,
    buildRoot,
    steps: order,
    byName,
    byHandle: planned,
    artifacts,
    project,
    config,
    options,
    release,
  };
}

/** The requested arch and profile, checked against the config's. */
function resolveTarget(
  config: KilnConfig,
  request: PlanRequest,
  file: string,
): { target: TargetInfo; profile: ProfileSpec } {
  const arches = configArches(config);
  const arch = request.arch ?? arches[0]!;
  if (!arches.includes(arch)) {
    throw new KilnError('ARCH_UNSUPPORTED', `--arch ${arch}: this project builds for ${arches.join(', ')}`, {
      location: { file, configPath: 'arch' },
      hint: `add "${arch}" to arch in ${file}`,
      exitCode: 2,
    });
  }
  const profiles = configProfiles(config);
  const profileName = request.profile ?? profiles[0]![0];
  const profile = profiles.find(([name]) => name === profileName);
  if (!profile) {
    throw new KilnError(
      'PROFILE_UNKNOWN',
      `--profile ${profileName}: this project has profiles ${profiles.map(([n]) => n).join(', ')}`,
      {
        location: { file, configPath: 'profiles' },
        exitCode: 2,
      },
    );
  }
  const target: TargetInfo = {
    arch,
    profile: profileName,
    id: `${arch}-${profileName}`,
    release: profile[1].release ?? false,
    policy: profile[1].policy ?? config.policy ?? {},
    ...(request.allowDevKey ? { allowDevKey: true } : {}),
  };
  return { target, profile: profile[1] };
}

/** What `build()` receives besides the target: its build folder, option values, profile and environment. */
interface BuildCall {
  dir: string;
  options: Record<string, unknown>;
  profile: ProfileSpec;
  env: NodeJS.ProcessEnv | undefined;
}

/** Calls the config's `build()` under its deadline and validates the project it returns. */
async function runBuild(
  build: NonNullable<KilnConfig['build']>,
  target: TargetInfo,
  call: BuildCall,
  file: string,
): Promise<Project> {
  const t: BuildTarget<Record<string, never>> = {
    ...target,
    dir: call.dir,
    options: call.options as never,
    profileSettings: call.profile.settings ?? {},
    release: target.release,
    env: call.env ?? process.env,
  };
  let project: Project;
  try {
    const seconds = configDeadline(call.env ?? process.env);
    project = await withBuildDeadline(build(t as never), file, seconds);
  } catch (error) {
    if (error instanceof KilnError) throw error;
    throw new KilnError('CONFIG_BUILD_FAILED', `build() threw: ${(error as Error)?.message ?? error}`, {
      location: { file, configPath: 'build' },
      cause: error,
      exitCode: 2,
      hint: 'run with --debug for the stack trace',
    });
  }
  validateConfigValue(zProject, project, file, ['build()']);
  return project;
}

/** A step's name and where the config holds it. */
interface StepNode {
  name: string;
  configPath: string;
}

/** Names steps: a handle's own name, else its record key or `kind-N`; each name checked and unique. */
class StepNamer {
  readonly nodes = new Map<StepHandle, StepNode>();
  private readonly names = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  constructor(private readonly file: string) {}

  claim(handle: StepHandle, name: string, configPath: string): void {
    const { file } = this;
    if (this.nodes.has(handle)) return;
    const finalName = handle.name ?? name;
    const broken = stepNameProblem(finalName);
    if (broken) {
      throw new KilnError('STEP_NAME_INVALID', `step name ${JSON.stringify(finalName)} ${broken}`, {
        location: { file, configPath },
        hint: 'a step name starts with a letter or digit, then letters, digits, ".", "_" or "-"',
        exitCode: 2,
      });
    }
    const other = this.names.get(finalName);
    if (other) {
      throw new KilnError('STEP_NAME_DUPLICATE', `two steps are named "${finalName}" (${other} and ${configPath})`, {
        location: { file, configPath },
        hint: 'give one of them another name with { name: "..." } or .named("...")',
        exitCode: 2,
      });
    }
    this.names.set(finalName, configPath);
    this.nodes.set(handle, { name: finalName, configPath });
  }

  /** Names the steps `value` refers to that have none yet (`kind-N`); returns them in order. */
  visitRefs(value: unknown, from: string): StepHandle[] {
    const added: StepHandle[] = [];
    for (const ref of collectRefs(value)) {
      const handle = isStepHandle(ref) ? ref : ref.step;
      if (this.nodes.has(handle)) continue;
      const kind = handle.kind.kind;
      const n = (this.counters.get(kind) ?? 0) + 1;
      this.counters.set(kind, n);
      let name = handle.name ?? `${kind}-${n}`;
      while (this.names.has(name) && !handle.name) {
        const next = (this.counters.get(kind) ?? 0) + 1;
        name = `${kind}-${next}`;
        this.counters.set(kind, next);
      }
      this.claim(handle, name, `${from} → ${name}`);
      added.push(handle);
    }
    return added;
  }
}

function nameSteps(project: Project, file: string): Map<StepHandle, StepNode> {
  const namer = new StepNamer(file);
  // 1. Name the steps found under the project's records.
  const records: Array<[string, Record<string, StepHandle> | undefined]> = [
    ['components', project.components],
    ['images', project.images],
    ['steps', project.steps],
  ];
  for (const [section, record] of records) {
    for (const [key, handle] of Object.entries(record ?? {})) namer.claim(handle, key, `${section}.${key}`);
  }
  // 2. Follow references (options of steps, run, tests) to steps not listed in a record.
  const queue = [...namer.nodes.keys()];
  for (let i = 0; i < queue.length; i++) {
    const handle = queue[i]!;
    queue.push(...namer.visitRefs(handle.options, namer.nodes.get(handle)!.configPath));
  }
  namer.visitRefs(project.run, 'run');
  namer.visitRefs(project.tests, 'tests');
  return namer.nodes;
}

async function declareSteps(
  nodes: Map<StepHandle, StepNode>,
  loaded: LoadedConfig,
  buildDir: string,
  target: TargetInfo,
  file: string,
): Promise<Map<StepHandle, PlannedStep>> {
  // 3. Validate options and declare inputs/outputs.
  const planned = new Map<StepHandle, PlannedStep>();
  const claims = new OutputClaims(file);
  for (const [handle, { name, configPath }] of nodes) {
    const schema = stepKindSchema(handle.kind);
    const options = schema ? validateConfigValue(schema, handle.options, file, configPath.split('.')) : handle.options;
    const declaration = await handle.kind.declare(options, {
      projectDir: loaded.projectDir,
      buildDir,
      target,
      configPath,
    });
    checkStepEnv(declaration, { file, configPath: `${configPath}.env` });
    const outputs = declaration.outputs.map((o) => claims.add(o, name, configPath));
    planned.set(handle, { name, configPath, handle, options, declaration, outputs, deps: [], dependents: [] });
  }
  return planned;
}

function linkSteps(planned: Map<StepHandle, PlannedStep>, buildDir: string, file: string): ArtifactPaths {
  // 4. Edges: every reference in a step's options is a dependency; check named outputs exist.
  const artifacts = new ArtifactPaths(planned, buildDir, file);
  for (const step of planned.values()) {
    const deps = new Set<PlannedStep>();
    for (const ref of collectRefs(step.options)) {
      const producerHandle = isStepHandle(ref) ? ref : ref.step;
      const producer = planned.get(producerHandle)!;
      if (isArtifactRef(ref)) artifacts.resolve(ref, step);
      else if (producer.outputs.length === 0) {
        throw new KilnError(
          'ARTIFACT_MISSING',
          `step "${step.name}" reads step "${producer.name}", which has no outputs`,
          { location: { file, configPath: step.configPath }, exitCode: 2 },
        );
      }
      if (producer === step)
        throw new KilnError('GRAPH_CYCLE', `step "${step.name}" reads its own output`, {
          location: { file, configPath: step.configPath },
          exitCode: 2,
        });
      deps.add(producer);
    }
    step.deps = [...deps];
    for (const d of deps) d.dependents.push(step);
  }
  return artifacts;
}

function orderSteps(planned: Map<StepHandle, PlannedStep>, file: string): PlannedStep[] {
  // 5. Order (Kahn), detecting cycles.
  const order: PlannedStep[] = [];
  const indegree = new Map<PlannedStep, number>();
  for (const s of planned.values()) indegree.set(s, s.deps.length);
  const ready = [...planned.values()].filter((s) => s.deps.length === 0);
  while (ready.length) {
    const s = ready.shift()!;
    order.push(s);
    for (const d of s.dependents) {
      const n = indegree.get(d)! - 1;
      indegree.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  if (order.length !== planned.size) {
    const stuck = [...planned.values()].filter((s) => !order.includes(s)).map((s) => s.name);
    throw new KilnError('GRAPH_CYCLE', `the steps ${stuck.join(', ')} depend on each other in a cycle`, {
      location: { file },
      exitCode: 2,
    });
  }
  return order;
}
