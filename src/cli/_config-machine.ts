/**
 * The `run` and `tests` sections of kiln.config.ts → the QEMU harness's machine and test specs.
 * Builds what they boot first (only the steps needed), so `kiln run` / `kiln test` on a project
 * always boot current outputs.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import type { RunConfig } from '../config/types.js';
import { KilnError } from '../errors.js';
import { executeGraph } from '../graph/execute.js';
import type { Graph } from '../graph/graph.js';
import { ARCHES, type Arch, type FileInput, isArtifactRef, isStepHandle } from '../step.js';
import { matchRule } from '../toolchain/doctor.js';
import type { MachineSpec, QemuTestSpec } from '../qemu/index.js';
import { machineSpecFromConfig, testSpecsFromConfig } from '../qemu/from-config.js';
import { defaultReporter } from './_reporters.js';
import { copyFileSparse } from '../util/copy.js';
import { lastTestPath, readLastTest } from '../report/last-test.js';
import { type Shard, assignShards, parseShard } from '../report/shard.js';
import { storePlan } from '../graph/plan-cache.js';
import { type ProjectFlags, builtinKinds, cachedProject, parseProjectArgs, planRequestKey } from './_project.js';

/** Absolute path of a config file input: a project path or a step's output in the build folder. */
export function inputPath(graph: Graph, input: FileInput): string {
  if (typeof input === 'string') return isAbsolute(input) ? input : join(graph.projectDir, input);
  return graph.artifacts.resolve(input).abs;
}

/** Steps whose outputs a run/test section boots (media, drives, handles in args). */
export function stepsNeeded(graph: Graph, sections: Array<RunConfig | undefined>): string[] {
  const names = new Set<string>();
  for (const s of sections) {
    const refs: unknown[] = [
      s?.image,
      s?.cdrom,
      s?.kernel,
      s?.initrd,
      s?.symbols,
      ...(s?.drives ?? []).map((d) => d.image),
      ...(s?.args ?? []),
    ];
    for (const v of refs) {
      if (!isArtifactRef(v) && !isStepHandle(v)) continue;
      const step = graph.byHandle.get(isStepHandle(v) ? v : v.step);
      if (step) names.add(step.name);
    }
  }
  return [...names];
}

/**
 * The copy a `persist: true` drive boots: `<build>/<target>/persist/<section>-<n>-<image name>`, made
 * from the built image when missing or when the image was rebuilt since (its size and mtime are
 * remembered next to the copy). Never the cache's file, never the build's output itself.
 */
export function persistentCopy(graph: Graph, section: string, input: FileInput, index: number): string {
  const source = inputPath(graph, input);
  const dir = join(graph.buildDir, 'persist');
  const copy = join(dir, `${section.replace(/[^A-Za-z0-9._-]+/g, '_')}-${index}-${basename(source)}`);
  const stamp = `${copy}.source.json`;
  let st;
  try {
    st = statSync(source);
  } catch {
    return copy; // resolveMachine reports the missing image
  }
  const want = JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
  const have = existsSync(copy) && existsSync(stamp) ? readFileSync(stamp, 'utf8') : undefined;
  if (have !== want) {
    mkdirSync(dir, { recursive: true });
    copyFileSparse(source, copy);
    writeFileSync(stamp, want);
  }
  return copy;
}

/** Builds the steps the sections need; throws when the build fails. */
export async function buildFor(
  graph: Graph,
  sections: Array<RunConfig | undefined>,
  flags: BootProjectFlags = {},
): Promise<void> {
  const only = stepsNeeded(graph, sections);
  if (only.length === 0) return;
  const reporter = defaultReporter({ plain: true });
  try {
    const remoteCache = {
      ...(flags.remoteCache !== undefined ? { url: flags.remoteCache } : {}),
      ...(flags.remoteCacheReadOnly ? { readOnly: true } : {}),
    };
    const result = await executeGraph(graph, {
      only,
      diagnose: matchRule,
      remoteCache,
      onEvent: (e) => (e.type === 'step-finish' && e.status === 'up-to-date' ? undefined : reporter.onEvent(e)),
    });
    if (!result.ok)
      throw new KilnError(
        'BUILD_FAILED',
        `the build failed, so there is nothing current to boot (full output: ${result.logPath})`,
        { hint: 'fix the build (kiln build) first' },
      );
  } finally {
    reporter.close();
  }
}

/** A MachineSpec from a run section (paths resolved against the graph). */
export function machineFromRun(graph: Graph, run: RunConfig, name = 'run'): MachineSpec {
  if (run.image === undefined && run.cdrom === undefined && run.kernel === undefined && !run.drives?.length) {
    throw new KilnError('RUN_NOTHING_TO_BOOT', `${name}: says nothing to boot`, {
      location: { configPath: name },
      hint: 'give image, drives, cdrom or kernel',
    });
  }
  return {
    name,
    ...machineSpecFromConfig<FileInput>(run, graph.target.arch, {
      resolvePath: (p) => inputPath(graph, p),
      logRoot: join(graph.buildRoot, 'logs'),
      persistPath: (p, _arch, i, section) => persistentCopy(graph, section, p, i),
      section: name,
    }),
  };
}

/** Test specs for the project's tests (all, or the named ones), for the graph's arch. */
export function testsFromProject(graph: Graph, names: string[] = []): QemuTestSpec[] {
  const tests = graph.project.tests ?? {};
  for (const n of names) {
    if (!tests[n])
      throw new KilnError('TEST_UNKNOWN', `no test named "${n}"`, {
        hint: `tests: ${Object.keys(tests).join(', ') || 'none'}`,
        exitCode: 2,
      });
  }
  const selected = Object.fromEntries(
    Object.entries(tests).filter(
      ([n, t]) => (names.length === 0 || names.includes(n)) && (!t.arch || t.arch.includes(graph.target.arch)),
    ),
  );
  for (const [n, t] of Object.entries(selected)) {
    const merged = { ...(graph.project.run ?? {}), ...t };
    if (
      merged.image === undefined &&
      merged.cdrom === undefined &&
      merged.kernel === undefined &&
      !merged.drives?.length
    ) {
      throw new KilnError('RUN_NOTHING_TO_BOOT', `tests.${n}: says nothing to boot`, {
        location: { configPath: `tests.${n}` },
        hint: 'give image, drives, cdrom or kernel here or in the run section',
      });
    }
  }
  return testSpecsFromConfig<FileInput>(
    Object.fromEntries(Object.entries(selected).map(([n, t]) => [n, { ...t, arch: [graph.target.arch] }])),
    {
      arches: [graph.target.arch],
      ...(graph.project.run ? { run: graph.project.run } : {}),
      resolvePath: (p) => inputPath(graph, p),
      logRoot: join(graph.buildRoot, 'logs'),
      persistPath: (p, _arch, i, section) => persistentCopy(graph, section, p, i),
    },
  );
}

/** Loads the project's config for run/test; without one, says what else can be booted. */
async function loadProjectFor(command: 'run' | 'test', config: string | undefined) {
  const { loadConfig } = await import('../config/load.js');
  const { checkOptionNames } = await import('./_flags.js');
  try {
    const loaded = await loadConfig(config);
    checkOptionNames(loaded);
    return loaded;
  } catch (error) {
    if (error instanceof KilnError && error.code === 'CONFIG_NOT_FOUND') {
      throw new KilnError(
        'RUN_NOTHING_TO_BOOT',
        `nothing to boot: no --kernel, --image or --cdrom, and ${error.message}`,
        {
          hint: `give --kernel FILE, --image FILE or --cdrom FILE, or run kiln ${command} in a kiln project (kiln init creates one)`,
          exitCode: 2,
        },
      );
    }
    throw error;
  }
}

const QEMU_DEBUG_NOTE = "QEMU's -d log is --qemu-debug";

/** The flags of `kiln run` / `kiln test` that apply to a project. */
export interface BootProjectFlags {
  config?: string;
  profile?: string;
  arch?: string | string[];
  buildDir?: string;
  allowDevKey?: boolean;
  remoteCache?: string;
  remoteCacheReadOnly?: boolean;
}

/** `kiln test` / `kiln run` without --kernel/--image/--cdrom: the project's tests or run section. */
export async function projectTestSpecs(
  flags: BootProjectFlags & { shard?: string },
  rest: string[],
): Promise<QemuTestSpec[]> {
  const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
  // The matrix: every test on every arch the config builds for (or the --arch values given).
  const matrix = (await cachedMatrix(flags, rest)) ?? (await plannedMatrix(flags, rest, 'test'));
  const planned = matrix.graphs.map((graph) => ({ graph, tests: testsFromProject(graph, matrix.names) }));
  if (planned.every((p) => p.tests.length === 0)) {
    throw new KilnError('TEST_NONE', 'the project has no tests for this target', {
      hint: 'add tests: { boot: { expect: [...] } } to kiln.config.ts, or pass --kernel/--image/--cdrom',
      exitCode: 2,
    });
  }
  const keep = shard
    ? shardOf(
        planned.flatMap((p) => p.tests),
        shard,
        planned[0]!.graph.buildRoot,
      )
    : undefined;
  const specs: QemuTestSpec[] = [];
  for (const { graph, tests } of planned) {
    const selected = keep ? tests.filter((t) => keep.has(testId(t))) : tests;
    if (selected.length === 0) continue;
    const names = new Set(selected.map((t) => t.name));
    await buildFor(
      graph,
      Object.entries(graph.project.tests ?? {})
        .filter(([n]) => names.has(n))
        .map(([, t]) => ({ ...(graph.project.run ?? {}), ...t })),
      flags,
    );
    specs.push(...selected);
  }
  return specs;
}

/** The graphs of a boot command's arches and the test names given (positional arguments). */
interface Matrix {
  graphs: Graph[];
  names: string[];
}

/** The arches asked for with --arch (one or more), or undefined for the config's. */
function archesAsked(flags: BootProjectFlags): string[] | undefined {
  return flags.arch === undefined ? undefined : Array.isArray(flags.arch) ? flags.arch : [flags.arch];
}

function requestFlags(flags: BootProjectFlags, arch: string | undefined): ProjectFlags {
  return {
    ...(flags.config !== undefined ? { config: flags.config } : {}),
    ...(arch !== undefined ? { arch } : {}),
    ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
    ...(flags.buildDir !== undefined ? { buildDir: flags.buildDir } : {}),
    ...(flags.allowDevKey ? { allowDevKey: true } : {}),
  };
}

/**
 * The matrix from the plan cache, without loading the config: undefined when an arch's plan is
 * missing or stale, or a plan cannot do everything here without the config (a step of a kind the
 * config defines, a tests section holding a function).
 */
async function cachedMatrix(flags: BootProjectFlags, rest: string[]): Promise<Matrix | undefined> {
  const asked = archesAsked(flags);
  const first = await cachedProject(requestFlags(flags, asked?.[0]), rest);
  if (!first.hit) return undefined;
  const hits = [first.hit];
  for (const arch of (asked ?? first.hit.arches).slice(1)) {
    const { hit } = await cachedProject(requestFlags(flags, arch), rest);
    if (!hit) return undefined;
    hits.push(hit);
  }
  if (hits.some((h) => h.slow.size > 0 || h.sectionsSlow !== undefined)) return undefined;
  return { graphs: hits.map((h) => h.graph), names: first.hit.positional };
}

/**
 * The graphs planned from the config (`kiln test`: every arch asked for, else the config's; `kiln
 * run`: the one asked for, else the default), each saved in the plan cache for the next time.
 */
async function plannedMatrix(flags: BootProjectFlags, rest: string[], command: 'run' | 'test'): Promise<Matrix> {
  const asked = archesAsked(flags);
  const { recordPlanReads } = await import('../graph/plan-reads.js');
  const { value, reads } = await recordPlanReads(process.env, async () => {
    const { planGraph, configArches } = await import('../graph/plan.js');
    const loaded = await loadProjectFor(command, flags.config);
    const { options, positional } = parseProjectArgs(rest, loaded, { debugNote: QEMU_DEBUG_NOTE });
    const arches = asked ?? configArches(loaded.config);
    const graphs: Graph[] = [];
    for (const arch of command === 'run' ? arches.slice(0, 1) : arches) {
      if (!(ARCHES as readonly string[]).includes(arch))
        throw new KilnError(
          'ARCH_UNSUPPORTED',
          `--arch: expected ${ARCHES.map((a) => JSON.stringify(a)).join(' | ')}, got ${JSON.stringify(arch)}`,
          { exitCode: 2 },
        );
      graphs.push(
        await planGraph(loaded, {
          arch: arch as Arch,
          ...(flags.profile ? { profile: flags.profile } : {}),
          ...(flags.buildDir ? { buildDir: flags.buildDir } : {}),
          ...(flags.allowDevKey ? { allowDevKey: true } : {}),
          options,
        }),
      );
    }
    return { graphs, names: positional };
  });
  // The config's default arch is saved as the request without --arch too (what `kiln test` asks for).
  for (const [i, graph] of value.graphs.entries()) {
    const key = await planRequestKey(
      requestFlags(flags, asked === undefined && i === 0 ? undefined : graph.target.arch),
      rest,
    );
    if (key) storePlan(key, graph, reads, process.env, { builtin: await builtinKinds(graph), positional: value.names });
  }
  return value;
}

/** `boot [x86_64]`: a test of the matrix, as shards and JUnit suites name it. */
function testId(t: QemuTestSpec): string {
  return `${t.name} [${t.arch ?? 'x86_64'}]`;
}

/** The ids of the tests in `shard`, balanced by the durations of the last run; says which on stderr. */
function shardOf(tests: QemuTestSpec[], shard: Shard, buildRoot: string): Set<string> {
  const last = readLastTest(buildRoot);
  const durations = new Map((last?.results ?? []).map((r) => [`${r.name} [${r.arch}]`, r.durationMs]));
  const items = tests.map((t) => ({ id: testId(t), durationMs: durations.get(testId(t)) }));
  const part = assignShards(items, shard.count)[shard.index - 1]!;
  const basis = last
    ? `balanced by the durations in ${relative(process.cwd(), lastTestPath(buildRoot)) || lastTestPath(buildRoot)}`
    : 'dealt out by name (no last-test.json)';
  process.stderr.write(
    `kiln: shard ${shard.index}/${shard.count}: ${part.length} of ${items.length} tests (${part.join(', ') || 'none'}), ${basis}\n`,
  );
  return new Set(part);
}

/** The project's run section as a machine, built first. */
export async function projectMachineSpec(
  flags: BootProjectFlags,
  rest: string[],
): Promise<{ spec: MachineSpec; projectDir: string }> {
  const arch = archesAsked(flags)?.[0];
  const { hit } = await cachedProject(requestFlags(flags, arch), rest);
  const usable = hit && hit.slow.size === 0 && hit.sectionsSlow === undefined;
  const graph = usable ? hit.graph : (await plannedMatrix(flags, rest, 'run')).graphs[0]!;
  if (!graph.project.run)
    throw new KilnError('RUN_NOT_CONFIGURED', 'the config has no run section', {
      hint: 'add run: { image: disk } (or cdrom/kernel) to kiln.config.ts, or pass --kernel/--image/--cdrom',
      exitCode: 2,
    });
  await buildFor(graph, [graph.project.run], flags);
  return { spec: machineFromRun(graph, graph.project.run), projectDir: graph.projectDir };
}
