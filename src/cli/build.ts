/** `kiln build`: plan the project for one target and run the graph. */
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { executeGraph } from '../graph/execute.js';
import type { Graph } from '../graph/graph.js';
import { placeArtifacts } from '../graph/place-artifacts.js';
import { killAllChildren } from '../util/process.js';
import { phase } from '../util/phases.js';
import { action, addRemoteCacheOptions, remoteCacheFlags, reportError } from './_shared.js';
import { type ProjectFlags, openProject, planRequestKey, projectCommand } from './_project.js';
import { type Reporter, defaultReporter } from './_reporters.js';
import type { PlanRequestKey } from '../graph/plan-cache.js';
import type { BuildEvent } from '../graph/events.js';
import { cleanWaitLine } from './_shared.js';
import { cleanUnderLock } from '../graph/clean.js';
import { KILN_FLAGS } from './_flags.js';

export interface BuildFlags extends ProjectFlags {
  jobs?: string;
  keepGoing?: boolean;
  wait?: boolean;
  json?: boolean;
  plain?: boolean;
  trace?: string;
  force?: boolean;
  clean?: boolean;
  run?: boolean;
  serial?: boolean;
  remoteCache?: string;
  remoteCacheReadOnly?: boolean;
}

/** Runs `fn` with an AbortSignal fired by Ctrl-C (a second Ctrl-C exits at once). */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (): void => {
    count++;
    controller.abort();
    killAllChildren();
    if (count > 1) process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal); // the terminal closed
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    if (controller.signal.aborted) process.exitCode = 130;
  }
}

/**
 * `kiln build --clean`: the target's build folder, the build logs and the project's action cache
 * (`.kiln/cache`, shared by every target of the project). `kiln clean` removes every target's folder
 * without building; `kiln clean --cache` also the action cache.
 */
async function cleanForRebuild(graph: Graph, wait: boolean): Promise<void> {
  // The target folder goes under its build lock: never from under a running build.
  await withInterrupt((signal) =>
    cleanUnderLock(graph.buildDir, [graph.buildDir], {
      wait,
      signal,
      onWait: (dir, pid) => process.stderr.write(cleanWaitLine(dir, pid)),
    }),
  );
  rmSync(join(graph.buildRoot, 'logs'), { recursive: true, force: true });
  rmSync(join(graph.projectDir, '.kiln', 'cache'), { recursive: true, force: true });
}

export function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new KilnError('CLI_BAD_NUMBER', `-j: expected a whole number >= 1, got ${value}`, { exitCode: 2 });
  return n;
}

export function registerBuild(program: Command): void {
  projectCommand(
    addRemoteCacheOptions(
      program
        .command('build')
        .description('build the project for one target (arch × profile); project options are given as --name=value')
        .argument('[steps...]', 'build only these steps (and what they need)')
        .option('-j, --jobs <n>', 'steps run at once (default: number of cores)')
        .option('-k, --keep-going', 'after a failure, let independent steps finish', false)
        .option('--no-wait', 'fail instead of waiting when another build holds the lock')
        .option('--force', 'ignore up-to-date checks and the cache; run every step', false)
        .option(
          '--clean',
          "a complete rebuild: remove the target's build folder, build/logs and the project's action cache (.kiln/cache), then run every step",
          false,
        )
        .option('--run', 'after a successful build, boot the project (its run section) in QEMU', false)
        .option('--no-serial', 'with --run: no serial logging (nothing on the terminal, no serial.log)')
        .option('--plain', 'one line per finished step (default in CI and pipes)', false)
        .option('--json', 'print the build events as JSON lines on stdout', false)
        .option('--trace <file>', 'write a Chrome trace of the build (open in Perfetto)'),
    ),
  ).action(
    action(async (_steps: string[], flags: BuildFlags, cmd: Command) => {
      if (flags.serial === false && !flags.run) {
        throw new KilnError(
          'CLI_NO_SERIAL_WITHOUT_RUN',
          '--no-serial only applies to a boot: give --run too (or use kiln run / kiln test --no-serial)',
          { exitCode: 2 },
        );
      }
      const reporter = defaultReporter(flags);
      let built: Graph | undefined;
      try {
        const cacheKey = flags.clean || flags.force || flags.run ? undefined : await planRequestKey(flags, cmd.args);
        if (cacheKey && !cachedPlanTried && (await buildFromCachedPlan(cacheKey, flags, reporter))) return;
        const { graph, positional } = await openProject(flags, cmd.args, process.env, cacheKey);
        if (flags.clean) await cleanForRebuild(graph, flags.wait ?? true);
        if (await runGraph(graph, flags, reporter, positional)) built = graph;
      } finally {
        reporter.close();
      }
      if (flags.run && built) await runAfterBuild(built, flags);
    }),
  );
}

/** Runs the planned graph (the steps in `only`, else all), reports it: true when the build succeeded. */
async function runGraph(graph: Graph, flags: BuildFlags, reporter: Reporter, only: string[]): Promise<boolean> {
  const jobs = parseJobs(flags.jobs);
  const result = await phase('execute', () =>
    withInterrupt((signal) =>
      executeGraph(graph, {
        ...(jobs ? { jobs } : {}),
        keepGoing: flags.keepGoing ?? false,
        wait: flags.wait ?? true,
        force: (flags.force ?? false) || (flags.clean ?? false),
        only,
        signal,
        // kiln doctor's rules load when a step fails, not before.
        diagnose: async (output) => (await import('../toolchain/doctor.js')).matchRule(output),
        remoteCache: remoteCacheFlags(flags),
        onEvent: (e) => reporter.onEvent(e),
      }),
    ),
  );
  if (!result.ok) {
    if (!flags.json) process.stderr.write(`full output: ${result.logPath}\n`);
    process.exitCode = result.interrupted ? 130 : 1;
    return false;
  }
  reportPlaced(graph, result.steps.keys(), flags);
  return true;
}

function reportPlaced(graph: Graph, built: Iterable<string>, flags: BuildFlags): void {
  const placed = placeArtifacts(graph, new Set(built));
  if (placed.length && !flags.json)
    process.stderr.write(`kiln: artifacts: ${placed.map((p) => relative(process.cwd(), p.to) || p.to).join(', ')}\n`);
}

/**
 * A build from the plan cache, without loading the config. When every step can run from it (kiln's
 * own kinds, options kept as data), it is the build: a step that must run loads its kind's module
 * then. Otherwise only a build where every step is up to date is done here. Anything else (a miss,
 * a step that cannot run from the cached plan and is not up to date) returns false with nothing
 * reported, and the caller plans for real.
 */
async function buildFromCachedPlan(key: PlanRequestKey, flags: BuildFlags, reporter: Reporter): Promise<boolean> {
  cachedPlanTried = true;
  const [{ lookupPlan }, { loadBuiltinKind }] = await Promise.all([
    import('../graph/plan-cache.js'),
    import('../steps/_kinds.js'),
  ]);
  const found = await phase('cached plan', async () => lookupPlan(key, process.env, loadBuiltinKind));
  if ('problem' in found) process.stderr.write(`kiln: ignoring a corrupt plan cache (${found.problem})\n`);
  if (!('graph' in found)) return false;
  if (found.slow.size === 0) {
    // From here the build is this one: an error is the build's, not a reason to plan again.
    cachedPlanRan = true;
    await runGraph(found.graph, flags, reporter, found.positional);
    return true;
  }
  const events: BuildEvent[] = [];
  const { NotUpToDate } = await import('../graph/run-step.js');
  try {
    const jobs = parseJobs(flags.jobs);
    await executeGraph(found.graph, {
      // A wait for the lock is said at once (the user sees why nothing happens); the rest waits for the verdict.
      ...(jobs ? { jobs } : {}),
      wait: flags.wait ?? true,
      checkOnly: true,
      only: found.positional,
      onEvent: (e) => (e.type === 'lock-wait' ? reporter.onEvent(e) : events.push(e)),
    });
  } catch (error) {
    if (error instanceof NotUpToDate) return false;
    throw error;
  }
  for (const e of events) reporter.onEvent(e);
  const finished = events.flatMap((e) => (e.type === 'step-finish' ? [e.step] : []));
  reportPlaced(found.graph, finished, flags);
  return true;
}

/** The cached plan was tried in this process already (by tryCachedBuild): do not try it twice. */
let cachedPlanTried = false;
/** The cached plan's steps started running: the build is the cached plan's, errors included. */
let cachedPlanRan = false;

/** `kiln build` flags the fast path understands: the value flags, then the switches with their values. */
const VALUE_FLAGS: Readonly<Record<string, 'jobs' | 'arch' | 'profile' | 'config' | 'buildDir' | 'trace'>> = {
  '-j': 'jobs',
  '--jobs': 'jobs',
  '-a': 'arch',
  '--arch': 'arch',
  '-p': 'profile',
  '--profile': 'profile',
  '-c': 'config',
  '--config': 'config',
  '--build-dir': 'buildDir',
  '--trace': 'trace',
};
const SWITCHES: Readonly<Record<string, Partial<BuildFlags>>> = {
  '--plain': { plain: true },
  '--json': { json: true },
  '--no-wait': { wait: false },
  '-k': { keepGoing: true },
  '--keep-going': { keepGoing: true },
  '--allow-dev-key': { allowDevKey: true },
};

/**
 * `kiln build ARGS` without commander, the config or the step modules, when ARGS are plain flags
 * and project options (`--name=value`) and the plan cache holds an up-to-date plan: true when the
 * build was done. Anything unusual (help, positional steps, a flag it does not know, a miss, a step
 * to run, an error) returns false, and the CLI runs the command the ordinary way.
 */
export async function tryCachedBuild(argv: string[]): Promise<boolean> {
  const parsed = parseSimpleBuildArgs(argv);
  if (!parsed) return false;
  const key = await planRequestKey(parsed.flags, parsed.rest);
  if (!key) return false;
  const reporter = defaultReporter(parsed.flags);
  let done = false;
  try {
    done = await buildFromCachedPlan(key, parsed.flags, reporter);
  } catch (error) {
    if (!cachedPlanRan) return false;
    reportError(error, { json: parsed.flags.json ?? false });
    done = true;
  } finally {
    if (done) reporter.close();
  }
  return done;
}

function parseSimpleBuildArgs(argv: string[]): { flags: BuildFlags; rest: string[] } | undefined {
  const flags: BuildFlags = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const valueFlag = VALUE_FLAGS[arg];
    if (valueFlag) {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
      flags[valueFlag] = value;
    } else if (SWITCHES[arg]) {
      Object.assign(flags, SWITCHES[arg]);
    } else if (/^--[a-z][a-z0-9-]*(=.*)?$/s.test(arg)) {
      const name = arg.slice(2).split('=')[0]!.replace(/^no-/, '');
      if (name in KILN_FLAGS || name === 'debug') return undefined;
      rest.push(arg);
    } else {
      return undefined;
    }
  }
  return { flags, rest };
}

/** `kiln build --run`: boots the project's run section after a successful build. */
async function runAfterBuild(graph: Graph, flags: BuildFlags): Promise<void> {
  const { machineFromRun } = await import('./_config-machine.js');
  const { runMachine } = await import('../qemu/index.js');
  if (!graph.project.run)
    throw new KilnError('RUN_NOT_CONFIGURED', '--run: the config has no run section', {
      hint: 'add run: { image: disk } (or cdrom/kernel) to kiln.config.ts',
    });
  const spec = { ...machineFromRun(graph, graph.project.run), ...(flags.serial === false ? { serialLog: false } : {}) };
  const r = await withInterrupt((signal) =>
    runMachine(spec, { ...(flags.serial !== false ? { terminal: process.stdout, interactive: true } : {}), signal }),
  );
  if (r.problem) {
    process.stderr.write(`kiln: ${r.problem}\n`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(`kiln: guest exit code ${r.guestExitCode}; serial log ${r.serialLog}\n`);
  process.exitCode = Math.min(255, r.guestExitCode ?? 1);
}
