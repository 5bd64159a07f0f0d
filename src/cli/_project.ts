/**
 * Shared by the commands that work on a project (build, graph, run, test, status, clean):
 * --config/--arch/--profile/--build-dir flags, project options given as `--name=value`, and
 * loading + planning.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { globalOptions, setGlobalOptions } from './_shared.js';
import type { LoadedConfig } from '../config/load.js';
import { describeOption } from '../config/options.js';
import { checkOptionNames } from './_flags.js';
import type { Graph } from '../graph/graph.js';
import type { CachedPlanHit, PlanRequestKey } from '../graph/plan-cache.js';
import { ARCHES, type Arch, type StepKind } from '../step.js';

export interface ProjectFlags {
  config?: string;
  arch?: string;
  profile?: string;
  buildDir?: string;
  allowDevKey?: boolean;
}

/** Help of `--allow-dev-key` (build, run, test, graph, status). */
export const ALLOW_DEV_KEY_HELP =
  "let a release build sign with the project's development key (.kiln/keys; local tests only)";

/** Adds the project flags and lets `--name=value` project options through to the action. */
export function projectCommand(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'the kiln.config.ts to use (default: found from the current folder up)')
    .option('-a, --arch <arch>', 'target architecture: x86_64 | i386 | aarch64 (default: the first in the config)')
    .option('-p, --profile <name>', 'profile: debug | release | your own (default: the first in the config)')
    .option('--build-dir <dir>', 'build folder (default: build/ next to the config)')
    .option('--allow-dev-key', ALLOW_DEV_KEY_HELP)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .addHelpText('after', () => projectOptionsHelp());
}

let helpConfig: LoadedConfig | undefined;
/** Loads the config before --help is printed so the project's options are listed. */
export async function preloadForHelp(argv: string[]): Promise<void> {
  if (!argv.includes('--help') && !argv.includes('-h')) return;
  const i = argv.findIndex((a) => a === '--config' || a === '-c');
  try {
    const { loadConfig } = await import('../config/load.js');
    helpConfig = await loadConfig(i >= 0 ? argv[i + 1] : undefined);
  } catch {
    helpConfig = undefined;
  }
}

function projectOptionsHelp(): string {
  const options = helpConfig?.config.options;
  if (!options || Object.keys(options).length === 0) return '';
  const rows = Object.entries(options).map(([name, def]) => describeOption(name, def));
  const width = Math.max(...rows.map((r) => r.flag.length));
  return `\nProject options (${helpConfig!.config.name}):\n${rows.map((r) => `  ${r.flag.padEnd(width)}  ${r.help}`).join('\n')}\n`;
}

/**
 * Splits what commander left unparsed into project options (`--name=value`, `--name`, `--no-name`,
 * `--name value` for a declared non-bool option) and positional arguments.
 */
export function parseProjectArgs(
  rest: string[],
  loaded: LoadedConfig,
  context: { debugNote?: string } = {},
): { options: Record<string, string | boolean>; positional: string[] } {
  const declared = loaded.config.options ?? {};
  const options: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--') {
      positional.push(...rest.slice(i));
      break;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) {
      if (arg.startsWith('-')) {
        throw new KilnError('OPTION_UNKNOWN', `unknown option ${arg}`, {
          hint: "run with --help to see kiln's and the project's options",
          exitCode: 2,
        });
      }
      positional.push(arg);
      continue;
    }
    let name = m[1]!;
    let value: string | boolean | undefined = m[2];
    if (value === undefined && name.startsWith('no-') && declared[name.slice(3)]?.type === 'bool') {
      name = name.slice(3);
      value = false;
    }
    const def = declared[name];
    if (!def && name === 'debug' && value === undefined) {
      // The project has no --debug option of its own: it is kiln's (stack traces).
      setGlobalOptions({ ...globalOptions(), debug: true });
      if (context.debugNote)
        process.stderr.write(
          `kiln: --debug: ${loaded.config.name ?? 'this project'} has no --debug option, so it turns on kiln's stack traces; ${context.debugNote}\n`,
        );
      continue;
    }
    if (value === undefined) {
      if (def && def.type !== 'bool') {
        const next = rest[i + 1];
        if (next === undefined || next.startsWith('--')) {
          throw new KilnError('OPTION_INVALID', `--${name} needs a value`, {
            hint: describeOption(name, def).help,
            exitCode: 2,
          });
        }
        value = next;
        i++;
      } else {
        value = true;
      }
    }
    options[name] = value;
  }
  return { options, positional };
}

export interface ProjectContext {
  loaded: LoadedConfig;
  graph: Graph;
  positional: string[];
  projectOptions: Record<string, string | boolean>;
}

/**
 * Loads the config and plans the graph. With `cacheKey`, what planning reads is recorded and the
 * plan saved in the plan cache (graph/plan-cache.ts) for the next build.
 */
export async function openProject(
  flags: ProjectFlags,
  rest: string[],
  env: NodeJS.ProcessEnv = process.env,
  cacheKey?: PlanRequestKey,
): Promise<ProjectContext> {
  if (!cacheKey) return planProject(flags, rest, env);
  const [{ recordPlanReads }, { storePlan }] = await Promise.all([
    import('../graph/plan-reads.js'),
    import('../graph/plan-cache.js'),
  ]);
  const { value, reads } = await recordPlanReads(env, (viewed) => planProject(flags, rest, viewed));
  storePlan(cacheKey, value.graph, reads, env, {
    builtin: await builtinKinds(value.graph),
    positional: value.positional,
  });
  return value;
}

/**
 * The plan cache's entry for this command line (graph/plan-cache.ts): `hit` when it holds a valid
 * plan, and the `key` to save one under after planning for real (none when the cache does not
 * apply). A corrupt entry is said in one line and ignored.
 */
export async function cachedProject(
  flags: ProjectFlags,
  rest: string[],
): Promise<{ key?: PlanRequestKey; hit?: CachedPlanHit }> {
  const key = await planRequestKey(flags, rest);
  if (!key) return {};
  const [{ lookupPlan }, { loadBuiltinKind }] = await Promise.all([
    import('../graph/plan-cache.js'),
    import('../steps/_kinds.js'),
  ]);
  const { phase } = await import('../util/phases.js');
  const found = await phase('cached plan', async () => lookupPlan(key, process.env, loadBuiltinKind));
  if ('problem' in found) process.stderr.write(`kiln: ignoring a corrupt plan cache (${found.problem})\n`);
  return 'graph' in found ? { key, hit: found } : { key };
}

/** The step kinds of `graph` that are kiln's own (their steps can run from the plan cache). */
export async function builtinKinds(graph: Graph): Promise<Set<StepKind>> {
  const { isBuiltinKind } = await import('../steps/_kinds.js');
  const builtin = new Set<StepKind>();
  for (const kind of new Set(graph.steps.map((s) => s.handle.kind))) if (await isBuiltinKind(kind)) builtin.add(kind);
  return builtin;
}

async function planProject(flags: ProjectFlags, rest: string[], env: NodeJS.ProcessEnv): Promise<ProjectContext> {
  const { phase } = await import('../util/phases.js');
  const loaded = await phase('load config', async () => (await import('../config/load.js')).loadConfig(flags.config));
  checkOptionNames(loaded);
  const { options, positional } = parseProjectArgs(rest, loaded);
  if (flags.arch !== undefined && !(ARCHES as readonly string[]).includes(flags.arch)) {
    throw new KilnError(
      'ARCH_UNSUPPORTED',
      `--arch: expected ${ARCHES.map((a) => JSON.stringify(a)).join(' | ')}, got ${JSON.stringify(flags.arch)}`,
      { exitCode: 2 },
    );
  }
  const { planGraph } = await phase('load planner', () => import('../graph/plan.js'));
  const graph = await phase('plan', () =>
    planGraph(loaded, {
      ...(flags.arch ? { arch: flags.arch as Arch } : {}),
      ...(flags.profile ? { profile: flags.profile } : {}),
      ...(flags.buildDir ? { buildDir: flags.buildDir } : {}),
      ...(flags.allowDevKey ? { allowDevKey: true } : {}),
      options,
      env,
    }),
  );
  return { loaded, graph, positional, projectOptions: options };
}

/**
 * The plan cache's key for this command line, or undefined when the cache does not apply: no
 * config found, a kiln without a build id (tsc run by hand), `--` (QEMU arguments follow) or
 * `--debug` (it may turn on kiln's stack traces, which the config decides). Positional arguments
 * are part of the key: how the config's options tell them from option values is saved with the plan.
 */
export async function planRequestKey(flags: ProjectFlags, rest: string[]): Promise<PlanRequestKey | undefined> {
  if (rest.some((a) => a === '--' || a === '--debug')) return undefined;
  const { kilnBuildVersion } = await import('../graph/plan-cache.js');
  const kilnVersion = kilnBuildVersion();
  const { findConfigPath } = await import('../config/load.js');
  const configPath = findConfigPath(flags.config);
  if (!kilnVersion || !configPath) return undefined;
  return {
    configPath,
    kilnVersion,
    projectArgs: rest,
    ...(flags.arch ? { arch: flags.arch } : {}),
    ...(flags.profile ? { profile: flags.profile } : {}),
    ...(flags.buildDir ? { buildDir: resolve(flags.buildDir) } : {}),
    ...(flags.allowDevKey ? { allowDevKey: true } : {}),
  };
}
