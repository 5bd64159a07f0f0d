/**
 * `kiln repro`: builds one target twice, from two copies of the project in different absolute
 * folders and under the variations reprotest applies (umask, locale, time zone, SOURCE_DATE_EPOCH
 * unset vs set to kiln's default), with the same signing key, then compares every output.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildEvent } from '../graph/events.js';
import type { StepFailureInfo } from '../step.js';
import { DEFAULT_EPOCH } from '../util/epoch.js';
import { run } from '../util/process.js';
import { compareOutputs, type Difference } from './diff.js';

/** What one of the two builds varies. */
export interface Variation {
  label: 'A' | 'B';
  /** Absolute folder of the project copy. */
  dir: string;
  umask: string;
  /** Environment values set (undefined = removed from the environment). */
  env: Record<string, string | undefined>;
}

export interface ReproBuild {
  variation: Variation;
  ok: boolean;
  target?: string;
  /** Step → outputs, relative to the project copy. */
  outputs: Map<string, string[]>;
  /** Step → its kind (`cargo.bin`, `zig.exe`, ...). */
  kinds: Map<string, string>;
  /** Step → the steps it depends on (from the build's last-build.json). */
  deps: Map<string, string[]>;
  failure?: { step: string; info: StepFailureInfo };
  /** The build's stderr, for a failure that is not a step's. */
  stderr: string;
}

export interface OutputComparison {
  step: string;
  kind: string;
  /** Relative to the project folder (`build/x86_64-debug/kernel.elf`). */
  file: string;
  identical: boolean;
  sizes: [number, number];
  differences: Difference[];
  /** For a differing output: the nearest dependency whose outputs differ too (the difference follows from it). */
  followsFrom?: string;
  /** What kiln knows about this step kind's limits (a tool that cannot map paths). */
  note?: string;
}

export interface ReproReport {
  ok: boolean;
  target: string | undefined;
  builds: ReproBuild[];
  outputs: OutputComparison[];
}

export interface ReproOptions {
  /** The project folder (the config's folder). */
  projectDir: string;
  /** Arguments passed to both `kiln build` runs (steps, --config, --arch, --profile, options). */
  buildArgs: string[];
  /** Keep the two copies (their paths are in the report). */
  keep?: boolean;
  env?: NodeJS.ProcessEnv;
  onProgress?: (line: string) => void;
}

/** Folders a copy leaves out: build results, caches, VCS data, dependencies. */
const SKIPPED = new Set(['build', 'target', 'node_modules', '.git', 'zig-cache', '.zig-cache', 'zig-out']);

function copyProject(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => {
      const rel = relative(from, source);
      if (rel === '') return true;
      const parts = rel.split(sep);
      if (SKIPPED.has(parts[0]!)) return false;
      // .kiln holds the cache and state: only its keys travel (the same signing key in both builds).
      if (parts[0] === '.kiln') return parts.length === 1 || parts[1] === 'keys';
      return true;
    },
  });
}

/** The two variations: different paths, umask, locale, time zone and SOURCE_DATE_EPOCH handling. */
export function variations(root: string, name: string, env: NodeJS.ProcessEnv): [Variation, Variation] {
  const epoch = env.SOURCE_DATE_EPOCH;
  return [
    {
      label: 'A',
      dir: join(root, 'a', name),
      umask: '0022',
      env: { TZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', SOURCE_DATE_EPOCH: epoch },
    },
    {
      label: 'B',
      dir: join(root, 'second-build-with-a-longer-path', 'nested', name),
      umask: '0002',
      // When the user sets no epoch, B sets kiln's documented default: unset and set must agree.
      env: {
        TZ: 'Pacific/Kiritimati',
        LANG: 'fr_FR.UTF-8',
        LC_ALL: 'fr_FR.UTF-8',
        SOURCE_DATE_EPOCH: epoch ?? String(DEFAULT_EPOCH),
      },
    },
  ];
}

const KILN_BIN = fileURLToPath(new URL('../../bin/kiln.js', import.meta.url));

function buildEnv(base: NodeJS.ProcessEnv, variation: Variation): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const [k, v] of Object.entries(variation.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function parseEvents(stdout: string): BuildEvent[] {
  const events: BuildEvent[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line) as BuildEvent);
    } catch {
      /* not an event line */
    }
  }
  return events;
}

/** Step dependencies from the build's own record (found above any output: `<build dir>/.kiln/last-build.json`). */
function readDeps(projectDir: string, outputs: string[]): Map<string, string[]> {
  for (const output of outputs) {
    for (
      let dir = dirname(join(projectDir, output));
      dir.startsWith(projectDir) && dir !== projectDir;
      dir = dirname(dir)
    ) {
      const file = join(dir, '.kiln', 'last-build.json');
      if (!existsSync(file)) continue;
      try {
        const record = JSON.parse(readFileSync(file, 'utf8')) as { steps?: Array<{ name: string; deps?: string[] }> };
        return new Map((record.steps ?? []).map((s) => [s.name, s.deps ?? []]));
      } catch {
        return new Map();
      }
    }
  }
  return new Map();
}

/** Known limits of tools, by step kind, printed next to a difference from such a step. */
const TOOL_LIMITS: Array<[RegExp, string]> = [
  [
    /^zig\.build$/,
    "Zig 0.11 writes absolute module and cache folders into debug info and has no path-prefix map option: a build.zig's objects with debug info differ between checkout folders (zig.exe and zig.obj run Zig through kiln's canonical folder instead)",
  ],
];

/** The nearest dependency of `step` (breadth first) that has a differing output. */
function differingDependency(step: string, deps: Map<string, string[]>, differing: Set<string>): string | undefined {
  const seen = new Set<string>([step]);
  let frontier = deps.get(step) ?? [];
  while (frontier.length > 0) {
    const hit = frontier.find((d) => differing.has(d));
    if (hit) return hit;
    const next: string[] = [];
    for (const d of frontier) {
      if (seen.has(d)) continue;
      seen.add(d);
      next.push(...(deps.get(d) ?? []));
    }
    frontier = next;
  }
  return undefined;
}

async function buildOnce(variation: Variation, options: ReproOptions): Promise<ReproBuild> {
  // The umask is a process attribute: a fixed shell snippet sets it, the argv goes through "$@".
  const argv = [
    '/bin/sh',
    '-c',
    'umask "$1"; shift; exec "$@"',
    'sh',
    variation.umask,
    process.execPath,
    KILN_BIN,
    'build',
    '--clean',
    '--json',
    '--no-wait',
    ...options.buildArgs,
  ];
  const result = await run(argv, { cwd: variation.dir, env: buildEnv(options.env ?? process.env, variation) });
  const events = parseEvents(result.stdout);
  const outputs = new Map<string, string[]>();
  const kinds = new Map<string, string>();
  let failure: ReproBuild['failure'];
  let target: string | undefined;
  for (const event of events) {
    if (event.type === 'build-start') target = event.target;
    if (event.type !== 'step-finish') continue;
    outputs.set(
      event.step,
      (event.outputs ?? []).map((o) => relative(variation.dir, o)),
    );
    kinds.set(event.step, event.kind);
    if (event.failure && !failure) failure = { step: event.step, info: event.failure };
  }
  const finish = events.find((e) => e.type === 'build-finish');
  const ok = result.code === 0 && finish?.type === 'build-finish' && finish.ok;
  const deps = readDeps(variation.dir, [...outputs.values()].flat());
  return {
    variation,
    ok,
    ...(target ? { target } : {}),
    outputs,
    kinds,
    deps,
    ...(failure ? { failure } : {}),
    stderr: result.stderr,
  };
}

async function compareBuilds(a: ReproBuild, b: ReproBuild): Promise<OutputComparison[]> {
  const comparisons: OutputComparison[] = [];
  for (const [step, files] of a.outputs) {
    for (const file of files) {
      const pathA = join(a.variation.dir, file);
      const pathB = join(b.variation.dir, file);
      if (!existsSync(pathA) || !existsSync(pathB)) continue;
      const bytesA = readFileSync(pathA);
      const bytesB = readFileSync(pathB);
      const differences = await compareOutputs(bytesA, bytesB, file);
      const kind = a.kinds.get(step) ?? 'unknown';
      const note = differences.length ? TOOL_LIMITS.find(([re]) => re.test(kind))?.[1] : undefined;
      comparisons.push({
        step,
        kind,
        file,
        identical: differences.length === 0,
        sizes: [bytesA.length, bytesB.length],
        differences,
        ...(note ? { note } : {}),
      });
    }
  }
  const differing = new Set(comparisons.filter((c) => !c.identical).map((c) => c.step));
  for (const c of comparisons) {
    if (c.identical) continue;
    const cause = differingDependency(c.step, a.deps, differing);
    if (cause) c.followsFrom = cause;
  }
  return comparisons;
}

/** Copies the project twice, builds both copies one after the other and compares their outputs. */
export async function reproduce(options: ReproOptions): Promise<ReproReport> {
  const env = options.env ?? process.env;
  const root = mkdtempSync(join(tmpdir(), 'kiln-repro-'));
  const [va, vb] = variations(root, basename(options.projectDir), env);
  try {
    copyProject(options.projectDir, va.dir);
    options.onProgress?.(
      `build A in ${va.dir} (umask ${va.umask}, TZ=${va.env.TZ}, SOURCE_DATE_EPOCH ${va.env.SOURCE_DATE_EPOCH ?? 'unset'})`,
    );
    const a = await buildOnce(va, options);
    if (!a.ok) return { ok: false, target: a.target, builds: [a], outputs: [] };
    copyProject(options.projectDir, vb.dir);
    // The same signing key: a development key made by build A goes to B as well.
    const keysA = join(va.dir, '.kiln', 'keys');
    if (existsSync(keysA) && !existsSync(join(vb.dir, '.kiln', 'keys'))) {
      mkdirSync(join(vb.dir, '.kiln'), { recursive: true });
      cpSync(keysA, join(vb.dir, '.kiln', 'keys'), { recursive: true });
    }
    options.onProgress?.(
      `build B in ${vb.dir} (umask ${vb.umask}, TZ=${vb.env.TZ}, SOURCE_DATE_EPOCH=${vb.env.SOURCE_DATE_EPOCH})`,
    );
    const b = await buildOnce(vb, options);
    if (!b.ok) return { ok: false, target: b.target, builds: [a, b], outputs: [] };
    const outputs = await compareBuilds(a, b);
    return { ok: outputs.every((o) => o.identical), target: a.target, builds: [a, b], outputs };
  } finally {
    if (!options.keep) rmSync(root, { recursive: true, force: true });
  }
}
