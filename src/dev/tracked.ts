/**
 * What kiln dev watches: every file the graph reads (each selected step's declared inputs,
 * expanded; the files it reported reading last time, from its state record, as ninja's deps log;
 * the config and the files it imports), the folders they are in, and the folders a glob input may
 * gain a file in. A snapshot of their stats decides what changed since the last build: stat calls
 * only, as the executor's up-to-date check.
 */
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { readPath } from '../graph/deps-log.js';
import type { Graph, PlannedStep } from '../graph/graph.js';
import { expandInputs } from '../graph/inputs.js';
import type { BuildState } from '../graph/state.js';

export interface Tracked {
  /** Absolute paths of the files the build reads (sources, discovered headers, the config's files). */
  readonly files: ReadonlySet<string>;
  /** The config and the files it imports: a change there plans again. */
  readonly configFiles: ReadonlySet<string>;
  /** Folders to watch. */
  readonly folders: ReadonlySet<string>;
}

/** Path → `size:mtime:inode` (`missing` for a file that is not there). */
export type Snapshot = Map<string, string>;

/** Folders no build input lives in (kiln's own, dependencies, version control). */
const SKIPPED = new Set(['node_modules', '.kiln', '.git', 'target', 'zig-cache', '.zig-cache']);
/** A glob's folders are walked at most this deep and this wide (a pattern over a huge tree still starts). */
const MAX_FOLDERS = 4096;

function inside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The folder a glob pattern starts in (its path before the first segment with a wildcard). */
function globBase(pattern: string, projectDir: string): string {
  const segments = pattern.split('/');
  const fixed: string[] = [];
  for (const s of segments.slice(0, -1)) {
    if (/[*?[\]{}!]|\(.*\|/.test(s)) break;
    fixed.push(s);
  }
  const base = fixed.join('/');
  return isAbsolute(pattern) ? base || '/' : join(projectDir, base);
}

/** `folder` and every folder under it (kiln's and dependency folders skipped), up to MAX_FOLDERS. */
function subfolders(folder: string, skip: (path: string) => boolean, into: Set<string>): void {
  const queue = [folder];
  while (queue.length && into.size < MAX_FOLDERS) {
    const dir = queue.shift()!;
    into.add(dir);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory() && !SKIPPED.has(e.name) && !e.name.startsWith('.') && !skip(path)) queue.push(path);
    }
  }
}

/** The files one step reads: declared inputs (expanded now) and what it reported reading last time. */
async function stepFiles(step: PlannedStep, graph: Graph, state: BuildState): Promise<string[]> {
  const declared = await expandInputs(step, graph.projectDir, graph.buildRoot);
  const reads = (state.record(step.name)?.reads ?? [])
    .filter((key) => !key.startsWith('$build/'))
    .map((key) => readPath(key, graph.projectDir, graph.buildDir));
  return [...declared, ...reads];
}

/**
 * Everything the selected steps (all when `only` is empty) and the config read, and the folders to
 * watch for it. Files in the build folder are the graph's own outputs and are not watched.
 */
export async function trackedInputs(
  graph: Graph,
  state: BuildState,
  configFiles: readonly string[],
  only: readonly string[] = [],
): Promise<Tracked> {
  const selected = selectWithDeps(graph, only);
  const files = new Set<string>();
  const folders = new Set<string>();
  const ours = (p: string): boolean => inside(graph.buildRoot, p) || inside(join(graph.projectDir, '.kiln'), p);
  for (const step of selected) {
    for (const file of await stepFiles(step, graph, state)) if (!ours(file)) files.add(file);
    for (const pattern of step.declaration.inputs ?? []) {
      if (!/[*?[\]{}!]|\(.*\|/.test(pattern)) continue;
      const base = globBase(pattern, graph.projectDir);
      if (ours(base)) continue;
      if (pattern.includes('**')) subfolders(base, ours, folders);
      else folders.add(base);
    }
  }
  for (const file of configFiles) files.add(file);
  for (const file of files) folders.add(dirname(file));
  return { files, configFiles: new Set(configFiles), folders };
}

function selectWithDeps(graph: Graph, only: readonly string[]): PlannedStep[] {
  if (only.length === 0) return graph.steps;
  const wanted = new Set<PlannedStep>();
  const visit = (s: PlannedStep): void => {
    if (wanted.has(s)) return;
    wanted.add(s);
    s.deps.forEach(visit);
  };
  for (const name of only) {
    const s = graph.byName.get(name);
    if (s) visit(s);
  }
  return graph.steps.filter((s) => wanted.has(s));
}

function signature(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

/** The stats of `files` now. */
export function takeSnapshot(files: Iterable<string>): Snapshot {
  const snapshot: Snapshot = new Map();
  for (const f of files) snapshot.set(f, signature(f));
  return snapshot;
}

/** Files of `tracked` whose stat differs from `snapshot` (new files included), sorted. */
export function changedSince(snapshot: Snapshot, tracked: Tracked): string[] {
  const changed: string[] = [];
  for (const f of tracked.files) if (snapshot.get(f) !== signature(f)) changed.push(f);
  for (const f of snapshot.keys()) if (!tracked.files.has(f) && snapshot.get(f) !== 'missing') changed.push(f);
  return changed.sort();
}

/** Whether a watcher event's path can matter: not in the build folder, kiln's folder or a skipped folder. */
export function mayMatter(path: string, graph: Graph): boolean {
  if (inside(graph.buildRoot, path) || inside(join(graph.projectDir, '.kiln'), path)) return false;
  return !path.split(sep).some((part) => SKIPPED.has(part));
}
