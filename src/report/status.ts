/**
 * The build status report: what `kiln build` left in build/<target>/.kiln (last-build.json, each
 * step's log) plus Ninja's own view of CMake builds, turned into steps/targets built of total,
 * per-directory status, blocking errors by cause with the fix, changes since the previous
 * report, and the next actions.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { type LastBuild, type LastBuildStep, readLastBuild } from './last-build.js';
import { type ClassifyPolicy, classify, classRule } from './classify.js';
import {
  type Diagnostic,
  dedupeDiagnostics,
  formatLocation,
  parseDiagnostics,
  relativizeDiagnostics,
} from './diagnostics.js';
import { type NinjaProgress, ninjaProgress } from './ninja.js';
import type { BootCriteria, ChangeEntry, FixHistory } from './criteria.js';

/** Errors before warnings before notes (stable within each). */
const SEVERITY_RANK: Record<Diagnostic['severity'], number> = { error: 0, warning: 1, note: 2 };

/** A diagnostic of `kiln status` with its class, whether it blocks, and the fix. */
export interface ReportDiagnostic extends Diagnostic {
  class: string;
  blocking: boolean;
  fix: string;
  /** Identity across builds (no line/column: edits move lines). */
  key: string;
  /** An error caused by an earlier one in the same file (counted apart, not a cause of its own). */
  followOn?: boolean;
}

/** One class of diagnostics in a status report: how many, where, and what to do. */
export interface ClassSummary {
  id: string;
  title: string;
  explanation: string;
  count: number;
  /** Errors that follow from these (same file, no cause of their own). */
  followOn: number;
  /** First locations, `file:line`. */
  locations: string[];
  /** Distinct fix hints (names filled in), at most 5. */
  fixes: string[];
}

/** A source folder's state in a status report: ok, warnings, errors or not built yet. */
export interface DirectoryStatus {
  dir: string;
  status: 'ok' | 'warnings' | 'errors' | 'pending';
  errors: number;
  warnings: number;
  targets?: { built: number; total: number };
}

export type { ChangeEntry } from './criteria.js';

/** What `kiln status` reports (`--json`): diagnostics by class and folder, boot criteria, history. */
export interface StatusReport {
  version: 1;
  project: string;
  target: string;
  buildTime: number;
  ok: boolean;
  steps: {
    total: number;
    ok: number;
    failed: number;
    skipped: number;
    list: Array<{ name: string; kind: string; status: string; message?: string; log?: string }>;
  };
  targets?: {
    built: number;
    total: number;
    source: NinjaProgress['source'];
    byStep: Array<{ step: string; built: number; total: number; pending: string[]; notLinked: string[] }>;
  };
  /** errors: every error line; blocking: errors with a cause of their own (follow-on errors apart). */
  counts: { errors: number; warnings: number; blocking: number; followOn: number };
  classes: ClassSummary[];
  directories: DirectoryStatus[];
  diagnostics: ReportDiagnostic[];
  changes?: { since: number; fixed: ChangeEntry[]; new: ChangeEntry[]; remaining: number };
  nextActions: Array<{ title: string; command?: string }>;
  /** The tools the build's steps used, with the first line of their --version. */
  toolchain?: Array<{ name: string; path: string; version?: string }>;
  /** Commits since the previous report that touched the files whose errors were fixed (report/criteria.ts). */
  fixHistory?: FixHistory;
  /** The last `kiln test`: ELF checks, boot result, serial matches, measurements (report/criteria.ts). */
  lastBoot?: BootCriteria;
}

/** One earlier status report, in brief (for the trend). */
export interface HistoryEntry {
  buildTime: number;
  ok: boolean;
  built: number;
  total: number;
  blocking: number;
  warnings: number;
  entries: ChangeEntry[];
}

/** The reports `kiln status` kept (`.kiln/status-history.json` in the target build folder). */
export interface StatusHistory {
  version: 1;
  reports: HistoryEntry[];
}

/** Options of `buildStatus`: the project, its build folder and the logs to read. */
export interface StatusOptions {
  project: string;
  projectDir: string;
  /** build/<arch>-<profile> */
  buildDir: string;
  policy?: ClassifyPolicy;
  /** Record this report in status-history.json (default true). */
  record?: boolean;
  ninja?: string;
}

const HISTORY_LIMIT = 100;

/**
 * Reads the report history (empty when missing or unreadable).
 *
 * @example
 * readHistory('/p/build/x86_64-debug').reports.map((r) => `${r.built}/${r.total}`)
 */
export function readHistory(buildDir: string): StatusHistory {
  try {
    const v = JSON.parse(readFileSync(join(buildDir, '.kiln', 'status-history.json'), 'utf8')) as StatusHistory;
    if (v.version === 1 && Array.isArray(v.reports)) return v;
  } catch {
    /* none yet */
  }
  return { version: 1, reports: [] };
}

function compilerOf(kind: string, log: string): 'clang' | 'gcc' | 'zig' | 'cc' {
  if (kind === 'zig') return 'zig';
  if (/\bclang\b/.test(log)) return 'clang';
  if (/\bgcc\b|\bcc1\b/.test(log)) return 'gcc';
  return 'cc';
}

function changeEntry(d: ReportDiagnostic): ChangeEntry {
  return { key: d.key, class: d.class, location: formatLocation(d), message: d.message };
}

/**
 * Compares two sets of blocking diagnostics (by key): what went away and what appeared.
 *
 * @example
 * diffEntries(previous.entries, current.entries) // { fixed: [...], new: [...] }
 */
export function diffEntries(
  previous: ChangeEntry[],
  current: ChangeEntry[],
): { fixed: ChangeEntry[]; new: ChangeEntry[] } {
  const prev = new Set(previous.map((e) => e.key));
  const cur = new Set(current.map((e) => e.key));
  return { fixed: previous.filter((e) => !cur.has(e.key)), new: current.filter((e) => !prev.has(e.key)) };
}

function dirOf(file: string): string {
  const d = dirname(file);
  return d === '.' ? '.' : `${d}/`;
}

/**
 * Builds the status report of the last build of one target (and records it in the history).
 *
 * @example
 * const report = await buildStatus({ project: 'exov6', projectDir: '/p', buildDir: '/p/build/x86_64-debug' });
 * report.classes.map((c) => `${c.title}: ${c.count}`)
 */
export async function buildStatus(options: StatusOptions): Promise<StatusReport> {
  const last = readLastBuild(options.buildDir);
  const snapshotPath = join(options.buildDir, '.kiln', 'status-diagnostics.json');
  const snapshot = readSnapshot(snapshotPath);
  const nextSnapshot: DiagnosticSnapshot = { version: 1, steps: {} };
  const read: StepRead[] = [];
  for (const step of last.steps) {
    if (step.status !== 'not-selected') read.push(await readStep(step, options, snapshot, nextSnapshot));
  }
  const progresses = read.flatMap((r) => (r.ninja ? [r.ninja.progress] : []));
  const diagnostics = dedupeDiagnostics(read.flatMap((r) => r.diagnostics));
  nameDefiningSources(diagnostics, progresses, options.projectDir);
  const blocking = diagnostics.filter((d) => d.blocking && !d.followOn);
  const classes = summarizeClasses(blocking, diagnostics, options.policy);
  const directories = directoryStatus(progresses, diagnostics, options.projectDir);
  const steps = stepCounts(read.map((r) => r.entry));
  const targets = targetCounts(read);
  const counts = {
    errors: diagnostics.filter((d) => d.severity === 'error').length,
    followOn: diagnostics.filter((d) => d.followOn).length,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
    blocking: blocking.length,
  };
  const entries = blocking.map(changeEntry);
  const history = readHistory(options.buildDir);
  const changes = changesSince(history, last, entries);
  if (options.record ?? true) {
    writeFileAtomic(snapshotPath, JSON.stringify(nextSnapshot));
    recordHistory(options.buildDir, history, {
      buildTime: last.time,
      ok: last.ok && counts.blocking === 0,
      built: targets?.built ?? steps.ok,
      total: targets?.total ?? steps.total,
      blocking: counts.blocking,
      warnings: counts.warnings,
      entries,
    });
  }
  const nextActions = planActions(classes, blocking, last, steps.failed);
  if (targets && targets.built < targets.total && counts.blocking === 0 && steps.failed === 0) {
    // kiln hashes contents; Ninja compares mtimes: touched-but-unchanged sources look stale to Ninja.
    nextActions.unshift({
      title: `Ninja has ${targets.total - targets.built} out-of-date target(s) that kiln found up to date by content (files touched, not changed): rebuild them`,
      command: 'kiln build --force',
    });
  }
  const toolchain = await toolchainOf(last);
  return {
    version: 1,
    project: options.project,
    target: last.target,
    buildTime: last.time,
    ok: last.ok && counts.blocking === 0,
    steps,
    ...(targets ? { targets } : {}),
    counts,
    classes,
    directories,
    diagnostics,
    ...(changes ? { changes } : {}),
    nextActions,
    ...(toolchain.length ? { toolchain } : {}),
  };
}

// ---- One step of the last build: its entry, its diagnostics, Ninja's view of it.

type StepEntry = StatusReport['steps']['list'][number];
type StepTargets = NonNullable<StatusReport['targets']>['byStep'][number];

/** What one step of the last build contributes to the report. */
interface StepRead {
  entry: StepEntry;
  /** Classified, in the step's order (errors before warnings). */
  diagnostics: ReportDiagnostic[];
  /** A CMake/Ninja step's progress and targets. */
  ninja?: { progress: NinjaProgress; targets: StepTargets };
}

async function readStep(
  step: LastBuildStep,
  options: StatusOptions,
  snapshot: DiagnosticSnapshot,
  nextSnapshot: DiagnosticSnapshot,
): Promise<StepRead> {
  const entry: StepEntry = {
    name: step.name,
    kind: step.kind,
    status: step.status,
    ...(step.failure ? { message: step.failure.message } : {}),
    ...(step.log ? { log: step.log } : {}),
  };
  const log = step.log && existsSync(step.log) ? readFileSync(step.log, 'utf8') : (step.failure?.tail ?? []).join('\n');
  // Relative paths in a tool's messages are relative to where it ran: a CMake/Ninja build runs in the
  // step's work folder, every other tool (cc, nasm, cargo...) in the project folder.
  const ninjaDir = step.workDir && existsSync(join(step.workDir, 'build.ninja')) ? step.workDir : undefined;
  const cwd = ninjaDir ?? options.projectDir;
  let diags = parseDiagnostics(log, { compiler: compilerOf(step.kind, log), step: step.name });
  // The error first: warnings that follow from it (a missing return after a typo) come after it.
  diags = [...diags].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
  const progress = ninjaDir ? await ninjaProgress(ninjaDir, options.ninja ? { ninja: options.ninja } : {}) : undefined;
  // Linker messages name objects; map them back to their sources.
  if (progress) diags = objectsToSources(diags, progress);
  diags = relativizeDiagnostics(diags, options.projectDir, cwd);
  if (progress) diags = carryOver(step.name, diags, progress, options.projectDir, snapshot, nextSnapshot);
  // A failed step with nothing parseable still blocks: report its own failure message.
  if (step.status === 'failed' && !diags.some((d) => d.severity === 'error')) {
    diags.push({ tool: 'cc', severity: 'error', message: step.failure?.message ?? 'step failed', step: step.name });
  }
  return {
    entry,
    diagnostics: classifyStep(diags, options.policy),
    ...(progress ? { ninja: { progress, targets: stepTargets(step.name, progress) } } : {}),
  };
}

/** Built and total targets of a Ninja step, what is pending, and which pending outputs are links. */
function stepTargets(step: string, progress: NinjaProgress): StepTargets {
  const pendingSet = new Set(progress.pending);
  const notLinked = progress.edges
    .filter((e) => (e.kind === 'link' || e.kind === 'archive') && pendingSet.has(e.output))
    .map((e) => e.output);
  return { step, built: progress.built, total: progress.total, pending: progress.pending, notLinked };
}

/** Diagnostics naming an object file point at the source Ninja compiled it from. */
function objectsToSources(diags: Diagnostic[], progress: NinjaProgress): Diagnostic[] {
  return diags.map((d) => {
    const src = d.file ? progress.edges.find((e) => e.kind === 'compile' && e.output === d.file)?.inputs[0] : undefined;
    return src ? { ...d, file: src } : d;
  });
}

/**
 * Classifies a step's diagnostics. Errors no rule knows, in a file that already has a classified
 * error, follow from it (after `struct log log;` clashes with math.h's log, every `log.x` fails too).
 */
function classifyStep(diags: readonly Diagnostic[], policy: ClassifyPolicy | undefined): ReportDiagnostic[] {
  const out: ReportDiagnostic[] = [];
  const rootByFile = new Map<string, ReportDiagnostic>();
  for (const d of diags) {
    const c = classify(d, policy);
    const key = [c.id, d.file ?? '', d.symbol ?? '', d.message].join('|');
    const root = d.file ? rootByFile.get(d.file) : undefined;
    if (c.id === 'other' && c.blocking && root) {
      out.push({ ...d, class: root.class, blocking: true, fix: root.fix, key, followOn: true });
      continue;
    }
    const rd: ReportDiagnostic = { ...d, class: c.id, blocking: c.blocking, fix: c.fix, key };
    if (c.blocking && d.file && !rootByFile.has(d.file)) rootByFile.set(d.file, rd);
    out.push(rd);
  }
  return out;
}

// ---- The whole build.

/** A compiled source's path relative to the project (as diagnostics name it). */
function compiledSource(input: string, projectDir: string, buildDir: string): string | undefined {
  return relativizeDiagnostics([{ tool: 'cc', severity: 'note', message: '', file: input }], projectDir, buildDir)[0]
    ?.file;
}

/** An undefined symbol defined in a project source that no build step compiles: the fix names that file. */
function nameDefiningSources(diagnostics: ReportDiagnostic[], progresses: NinjaProgress[], projectDir: string): void {
  const undefinedSyms = new Set(
    diagnostics.filter((d) => d.class === 'undefined-reference' && d.symbol).map((d) => d.symbol!),
  );
  if (!undefinedSyms.size) return;
  const compiled = new Set(
    progresses.flatMap((p) =>
      p.edges.filter((e) => e.kind === 'compile').map((e) => compiledSource(e.inputs[0] ?? '', projectDir, p.buildDir)),
    ),
  );
  const definers = findDefinitions(projectDir, undefinedSyms);
  for (const d of diagnostics) {
    const where = d.symbol ? definers.get(d.symbol) : undefined;
    if (!where) continue;
    d.fix = compiled.has(where)
      ? `\`${d.symbol}\` is defined in ${where}, which is compiled but not linked into this target: link its object or library`
      : `\`${d.symbol}\` is defined in ${where}, which is not in the build: add ${where} to the target's sources${nearestCmake(projectDir, where) ? ` in ${nearestCmake(projectDir, where)}` : ''}`;
  }
}

/** Causes, most frequent first, with their follow-on errors counted apart. */
function summarizeClasses(
  blocking: readonly ReportDiagnostic[],
  diagnostics: readonly ReportDiagnostic[],
  policy: ClassifyPolicy | undefined,
): ClassSummary[] {
  const classMap = new Map<string, ClassSummary>();
  for (const d of blocking) {
    let c = classMap.get(d.class);
    if (!c) {
      const rule = classRule(d.class, policy);
      c = {
        id: d.class,
        title: rule.title,
        explanation: rule.explanation,
        count: 0,
        followOn: 0,
        locations: [],
        fixes: [],
      };
      classMap.set(d.class, c);
    }
    c.count++;
    const loc = d.symbol ? `${formatLocation(d)} (${d.symbol})` : formatLocation(d);
    if (c.locations.length < 5 && !c.locations.includes(loc)) c.locations.push(loc);
    if (c.fixes.length < 5 && !c.fixes.includes(d.fix)) c.fixes.push(d.fix);
  }
  for (const d of diagnostics)
    if (d.followOn) {
      const c = classMap.get(d.class);
      if (c) c.followOn++;
    }
  return [...classMap.values()].sort((a, b) => b.count - a.count || a.id.localeCompare(b.id));
}

/** Directories: every compiled source's folder, plus every folder a diagnostic points into. */
function directoryStatus(
  progresses: readonly NinjaProgress[],
  diagnostics: readonly ReportDiagnostic[],
  projectDir: string,
): DirectoryStatus[] {
  const dirs = new Map<string, DirectoryStatus>();
  const dirEntry = (dir: string): DirectoryStatus => {
    let e = dirs.get(dir);
    if (!e) dirs.set(dir, (e = { dir, status: 'ok', errors: 0, warnings: 0 }));
    return e;
  };
  for (const p of progresses) {
    const pending = new Set(p.pending);
    for (const e of p.edges) {
      if (e.kind !== 'compile' || !e.inputs[0]) continue;
      const src = compiledSource(e.inputs[0], projectDir, p.buildDir);
      if (!src || src.startsWith('/')) continue;
      const entry = dirEntry(dirOf(src));
      entry.targets ??= { built: 0, total: 0 };
      entry.targets.total++;
      if (!pending.has(e.output)) entry.targets.built++;
    }
  }
  for (const d of diagnostics) {
    if (!d.file || d.file.startsWith('/') || d.severity === 'note') continue;
    const entry = dirEntry(dirOf(d.file));
    if (d.blocking) entry.errors++;
    else if (d.severity === 'warning') entry.warnings++;
  }
  for (const e of dirs.values()) e.status = directoryState(e);
  return [...dirs.values()].sort((a, b) => a.dir.localeCompare(b.dir));
}

function directoryState(e: DirectoryStatus): DirectoryStatus['status'] {
  if (e.errors) return 'errors';
  if (e.warnings) return 'warnings';
  return e.targets && e.targets.built < e.targets.total ? 'pending' : 'ok';
}

function stepCounts(list: StepEntry[]): StatusReport['steps'] {
  return {
    total: list.length,
    ok: list.filter((s) => s.status === 'ran' || s.status === 'cached' || s.status === 'up-to-date').length,
    failed: list.filter((s) => s.status === 'failed').length,
    skipped: list.filter((s) => s.status === 'skipped').length,
    list,
  };
}

/** Ninja's targets over every CMake/Ninja step (none when no step has a Ninja build). */
function targetCounts(read: readonly StepRead[]): StatusReport['targets'] {
  const ninja = read.flatMap((r) => (r.ninja ? [r.ninja] : []));
  if (!ninja.length) return undefined;
  const byStep = ninja.map((n) => n.targets);
  const source = ninja.some((n) => n.progress.source === 'ninja-log') ? 'ninja-log' : 'ninja-dry-run';
  return {
    built: byStep.reduce((n, s) => n + s.built, 0),
    total: byStep.reduce((n, s) => n + s.total, 0),
    source,
    byStep,
  };
}

// ---- History: compare with the last report of a different build, then record this one.

function changesSince(history: StatusHistory, last: LastBuild, entries: ChangeEntry[]): StatusReport['changes'] {
  const previous = [...history.reports].reverse().find((r) => r.buildTime !== last.time);
  return previous
    ? { since: previous.buildTime, ...diffEntries(previous.entries, entries), remaining: entries.length }
    : undefined;
}

function recordHistory(buildDir: string, history: StatusHistory, entry: HistoryEntry): void {
  const reports = history.reports.filter((r) => r.buildTime !== entry.buildTime);
  reports.push(entry);
  writeFileAtomic(
    join(buildDir, '.kiln', 'status-history.json'),
    JSON.stringify({ version: 1, reports: reports.slice(-HISTORY_LIMIT) }),
  );
}

/** The tools the last build's steps declared (one entry per resolved path), with their versions. */
async function toolchainOf(last: LastBuild): Promise<NonNullable<StatusReport['toolchain']>> {
  const byPath = new Map<string, string>();
  for (const step of last.steps)
    for (const [name, path] of Object.entries(step.tools ?? {})) if (!byPath.has(path)) byPath.set(path, name);
  const { toolVersion } = await import('../toolchain/tools.js');
  const entries = await Promise.all(
    [...byPath].map(async ([path, name]) => {
      const version = await toolVersion(path, name).catch(() => undefined);
      return { name, path, ...(version ? { version } : {}) };
    }),
  );
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

function planActions(
  classes: ClassSummary[],
  blocking: ReportDiagnostic[],
  last: LastBuild,
  failedSteps: number,
): StatusReport['nextActions'] {
  const actions: StatusReport['nextActions'] = [];
  for (const c of classes) {
    const first = blocking.find((d) => d.class === c.id)!;
    const where = formatLocation(first);
    let command: string | undefined;
    if (c.id === 'redefinition') {
      const prev = first.notes?.find(
        (n) => n.file && first.file && n.file !== first.file && n.file.split('/').pop() === first.file.split('/').pop(),
      );
      if (prev && first.file) {
        const drop = prev.file!.includes('include/') ? first.file : prev.file!;
        command = `git mv ${drop} ${drop}.bak`;
      }
    } else if (c.id === 'undefined-reference' && first.symbol) {
      command = `grep -rnE '^[a-z_].*\\b${first.symbol}\\(' --include=*.c .`;
    } else if (c.id === 'conflicting-builtin' && first.file) {
      const name = /'(\w+)'/.exec(first.message)?.[1];
      if (name) command = `sed -i -E 's/([^_[:alnum:]])${name}([.;[])/\\1fs_${name}\\2/g' ${first.file}`;
    }
    actions.push({
      title: `fix ${c.count} × ${c.title} (first at ${where}): ${first.fix}`,
      ...(command ? { command } : {}),
    });
  }
  if (actions.length || failedSteps)
    actions.push({
      title: 'rebuild everything that can build and refresh this report',
      command: `kiln build --keep-going --arch ${last.target.split('-')[0]} --profile ${last.target.split('-').slice(1).join('-')} && kiln status`,
    });
  else actions.push({ title: 'the build is green: boot it and run the tests', command: 'kiln run   # or: kiln test' });
  return actions;
}

const SOURCE_EXT = /\.(c|cc|cpp|S|s|asm|rs|zig)$/;
const SKIP_DIRS = new Set(['build', '.git', 'node_modules', 'target', '.kiln', 'zig-cache', 'zig-out']);

/**
 * Finds which project source defines each symbol: a function definition (a name whose parameter list
 * runs to the end of the line or reaches a `{` before any `;`, so `int f(void) { return 3; }` is one and
 * the prototype `int f(void);` is not), or an assembly label.
 *
 * @example
 * findDefinitions('/p', new Set(['kalloc'])).get('kalloc') // 'kernel/mem/kalloc.c'
 */
export function findDefinitions(projectDir: string, symbols: Set<string>, limit = 5000): Map<string, string> {
  const found = new Map<string, string>();
  const names = [...symbols].map((s) => s.replace(/[^\w]/g, '')).join('|');
  // A C++ name (`Foo::operator++()`) is taken literally as a label, never as a pattern.
  const labels = [...symbols].map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const pattern = new RegExp(String.raw`^(?:[\w\s\*]*[\s\*])?(${names})\s*\([^;{]*(?:\{|$)|^(${labels}):`, 'm');
  let seen = 0;
  const walk = (dir: string, rel: string): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (seen >= limit || found.size === symbols.size) return;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.'))
          walk(join(dir, e.name), rel ? `${rel}/${e.name}` : e.name);
      } else if (SOURCE_EXT.test(e.name)) {
        seen++;
        const text = readFileSync(join(dir, e.name), 'utf8');
        for (const line of text.split('\n')) {
          const m = pattern.exec(line);
          const sym = m?.[1] ?? m?.[2];
          if (sym && !found.has(sym) && !/^\s*(return|if|while|for|switch|else)\b/.test(line) && !/^\s/.test(line))
            found.set(sym, rel ? `${rel}/${e.name}` : e.name);
        }
      }
    }
  };
  walk(projectDir, '');
  return found;
}

function nearestCmake(projectDir: string, file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const rel = dir === '.' ? 'CMakeLists.txt' : `${dir}/CMakeLists.txt`;
    if (existsSync(join(projectDir, rel))) return rel;
    if (dir === '.' || dir === '/' || dir === '') return undefined;
  }
}

/** Per step, per Ninja compile output: the diagnostics printed when it was last compiled. */
interface DiagnosticSnapshot {
  version: 1;
  steps: Record<string, Record<string, { mtime: string; diagnostics: Diagnostic[] }>>;
}

function readSnapshot(path: string): DiagnosticSnapshot {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as DiagnosticSnapshot;
    if (v.version === 1 && v.steps && typeof v.steps === 'object') return v;
  } catch {
    /* none yet */
  }
  return { version: 1, steps: {} };
}

/**
 * Ninja prints a compiler's output only when it runs the command: after an incremental build, the
 * warnings of files that were not recompiled are missing from the log. Keeps each compile output's
 * diagnostics from the build that last compiled it (same `.ninja_log` mtime = not recompiled since).
 */
function carryOver(
  stepName: string,
  diags: Diagnostic[],
  progress: NinjaProgress,
  projectDir: string,
  previous: DiagnosticSnapshot,
  next: DiagnosticSnapshot,
): Diagnostic[] {
  const logMtime = new Map(progress.log.map((e) => [e.output, e.mtime]));
  const outputOf = new Map<string, string>();
  for (const e of progress.edges) {
    if (e.kind !== 'compile' || !e.inputs[0]) continue;
    const rel = relativizeDiagnostics(
      [{ tool: 'cc', severity: 'note', message: '', file: e.inputs[0] }],
      projectDir,
      progress.buildDir,
    )[0]!.file!;
    outputOf.set(rel, e.output);
  }
  const origin = (d: Diagnostic): string | undefined => {
    // Only the compiler's own messages belong to an object; the linker's are redone every link.
    if (d.tool === 'ld' || d.tool === 'cmake') return undefined;
    const tu = d.includedFrom?.[0]?.replace(/:\d+$/, '') ?? d.file;
    return tu ? outputOf.get(tu) : undefined;
  };
  const current = new Map<string, Diagnostic[]>();
  for (const d of diags) {
    const o = origin(d);
    if (o) (current.get(o) ?? current.set(o, []).get(o)!).push(d);
  }
  const prevStep = previous.steps[stepName] ?? {};
  const kept: Record<string, { mtime: string; diagnostics: Diagnostic[] }> = {};
  const carried: Diagnostic[] = [];
  for (const output of outputOf.values()) {
    const mtime = logMtime.get(output) ?? '';
    const now = current.get(output);
    if (now) {
      kept[output] = { mtime, diagnostics: now };
      continue;
    }
    const before = prevStep[output];
    if (before && before.mtime === mtime && mtime !== '') {
      kept[output] = before;
      carried.push(...before.diagnostics);
    }
  }
  next.steps[stepName] = kept;
  return [...diags, ...carried];
}
