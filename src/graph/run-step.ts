/**
 * One step through the executor, like Zig's Step.make behind its cache check: fingerprint it, then
 * (1) up to date — same action key, outputs untouched on disk (stat calls only); (2) in the cache —
 * restore every output, verified; (3) run it in a staging folder and move its outputs into place,
 * into the cache and into the state. The step's output goes to the build log whatever happens.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { joinPlain } from '../util/paths.js';
import type { ActionEntry, CachedOutput } from './cache.js';
import { type StepCapture, createStepContext } from './context.js';
import type { StepStatus } from '../step.js';
import type { StepResult } from './events.js';
import { failureInfo } from './failure.js';
import { readKeys, undeclaredGenerated } from './deps-log.js';
import { type Fingerprint, actionKey, explainRerun, fingerprintStep, readsDigest, withReads } from './fingerprint.js';
import type { Graph, PlannedStep } from './graph.js';
import { type ActionKey, type FileHash, type StatEntry, statMatches } from './hashing.js';
import { expandInputs, plainInputs } from './inputs.js';
import { stageDirOf } from './layout.js';
import { prepareOutputPath } from './outputs.js';
import type { BuildSession } from './session.js';
import type { StepRecord } from './state.js';
import { StepFailure } from '../step.js';

type Outcome = Omit<StepResult, 'name' | 'durationMs'>;

/** Thrown in a check-only session (a cached plan) by the first step that is not up to date. */
export class NotUpToDate extends Error {
  constructor(readonly step: string) {
    super(`step "${step}" is not up to date`);
    this.name = 'NotUpToDate';
  }
}

/**
 * Runs one step. Synchronous when the step is up to date and declares plain paths (a no-op build
 * decides each step with stat calls and two hashes of short texts, without a promise per step);
 * a promise otherwise.
 */
export function runStep(session: BuildSession, step: PlannedStep): StepResult | Promise<StepResult> {
  const started = performance.now();
  const { graph } = session;
  const inputs = plainInputs(step, graph.projectDir);
  if (inputs === undefined)
    return expandInputs(step, graph.projectDir, graph.buildRoot).then((files) =>
      checkThenRun(session, step, files, started),
    );
  return checkThenRun(session, step, inputs, started);
}

function checkThenRun(
  session: BuildSession,
  step: PlannedStep,
  inputs: string[],
  started: number,
): StepResult | Promise<StepResult> {
  const prev = session.state.record(step.name);
  const fingerprint = fingerprintStep(step, inputs, session.sources, prev?.reads ?? []);
  if (fingerprint instanceof Promise)
    return fingerprint.then((f) => decideThenRun(session, step, decide(session, step, prev, f), started));
  return decideThenRun(session, step, decide(session, step, prev, fingerprint), started);
}

function decideThenRun(
  session: BuildSession,
  step: PlannedStep,
  decision: Decision,
  started: number,
): StepResult | Promise<StepResult> {
  const current = upToDate(session, step, decision);
  if (current) return finished(session, step, started, current);
  return restoreOrRun(session, step, decision).then((o) => finished(session, step, started, o));
}

function finished(session: BuildSession, step: PlannedStep, started: number, outcome: Outcome): StepResult {
  session.sources.outputHashes.set(step.name, outcome.outputHashes);
  return { name: step.name, durationMs: performance.now() - started, ...outcome };
}

/** What the up-to-date check and a run both need: the last record, this build's fingerprint and key. */
interface Decision {
  prev: StepRecord | undefined;
  fingerprint: Fingerprint;
  key: ActionKey;
  /** Runs every time (declared so, or no outputs to check). */
  untracked: boolean;
}

function decide(
  session: BuildSession,
  step: PlannedStep,
  prev: StepRecord | undefined,
  fingerprint: Fingerprint,
): Decision {
  session.fingerprints.set(step.name, fingerprint);
  const untracked = step.declaration.untracked === true || step.outputs.length === 0;
  return { prev, fingerprint, key: actionKey(fingerprint), untracked };
}

/** The up-to-date outcome: same action key, outputs untouched on disk. Check-only: throws when not. */
function upToDate(session: BuildSession, step: PlannedStep, d: Decision): Outcome | undefined {
  if (!session.force && !d.untracked && d.prev && d.prev.key === d.key && outputsIntact(session, step, d.prev)) {
    const hashes: Record<string, FileHash> = {};
    for (const rel in d.prev.outputs) hashes[rel] = d.prev.outputs[rel]![3];
    return { status: 'up-to-date', outputHashes: hashes };
  }
  if (session.checkOnly) throw new NotUpToDate(step.name);
  return undefined;
}

async function restoreOrRun(session: BuildSession, step: PlannedStep, d: Decision): Promise<Outcome> {
  const { fingerprint, key, untracked } = d;
  /** Warnings from the cache check (a corrupt object), shown with the step's result. */
  const notes: string[] = [];
  if (!session.force && !untracked) {
    const restored = await restoreFromCache(session, step, key, fingerprint);
    if ('hashes' in restored) {
      const reason = rerunReason(session, step, d);
      if (restored.log !== undefined) logRestored(session, step, reason, restored.log);
      return outcome('cached', restored.hashes, { reason });
    }
    notes.push(...restored.corrupt.map((hash) => `cache object ${hash.slice(0, 16)}… was corrupt: rebuilt`));
  }
  const reason = session.force
    ? 'forced'
    : untracked
      ? 'not fully tracked (runs every time)'
      : rerunReason(session, step, d);
  return runMake(session, step, { key, fingerprint, untracked, reason, notes });
}

/** Why the step is not up to date: the fingerprint compared with its last run's (explainRerun). */
function rerunReason(session: BuildSession, step: PlannedStep, d: Decision): string {
  const before = session.state.fingerprint(step.name, d.prev);
  if (d.prev && !before) return d.prev.key === d.key ? 'outputs changed on disk' : 'inputs changed';
  return explainRerun(before, d.fingerprint);
}

function outcome(status: StepStatus, outputHashes: Record<string, FileHash>, extra: Partial<Outcome> = {}): Outcome {
  return { status, outputHashes, ...extra };
}

/** Every output is where kiln left it, unchanged (same size, mtime and inode). */
function outputsIntact(session: BuildSession, step: PlannedStep, record: StepRecord): boolean {
  for (const rel of step.outputs) {
    try {
      if (!statMatches(record.outputs[rel], statSync(joinPlain(session.graph.buildDir, rel)))) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * A step restored from the remote cache leaves its log as one that ran here would: under its header
 * in the build log and as its own last log (the tail of the log where it ran, kept with the entry).
 */
function logRestored(session: BuildSession, step: PlannedStep, reason: string, log: string): void {
  const header = `restored from the remote cache (${reason}); its log where it ran:`;
  session.bookkeep(() => session.log.step(step.name, step.handle.kind.kind, header, log));
}

/**
 * Restores every output of `key` from the cache: their hashes (and, from a remote entry, the step's
 * log there), or what was corrupt (none on a plain miss).
 */
async function restoreFromCache(
  session: BuildSession,
  step: PlannedStep,
  key: ActionKey,
  fingerprint: Fingerprint,
): Promise<{ hashes: Record<string, FileHash>; log?: string } | { corrupt: FileHash[] }> {
  const entry = await session.cache.lookup(key, { share: step.declaration.localOnly === undefined });
  if (!entry || !step.outputs.every((o) => entry.outputs[o])) return { corrupt: [] };
  const held = entryHolds(entry, key, fingerprint, session);
  if (!held) return { corrupt: [] };
  const reads = Object.keys(held.fingerprint.reads);
  const record: StepRecord = { key: held.key, outputs: {}, ...(reads.length ? { reads } : {}) };
  for (const rel of step.outputs) {
    const { hash, mode } = entry.outputs[rel]!;
    const dest = prepareOutputPath(session.graph.buildDir, rel); // never through a planted symlink
    const result = await session.cache.restore(hash, dest, mode);
    if (result !== 'restored') return { corrupt: result === 'corrupt' ? [hash] : [] };
    record.outputs[rel] = session.state.index.record(dest, hash)!;
  }
  session.state.setRecord(step.name, record, held.fingerprint);
  const hashes = Object.fromEntries(step.outputs.map((o) => [o, entry.outputs[o]!.hash]));
  return entry.log === undefined ? { hashes } : { hashes, log: entry.log };
}

/**
 * The key and fingerprint an entry is recorded under: its own, or — for an entry found by the
 * declared inputs alone (a machine without this step's deps log) — those with the reads it names,
 * when their contents still match its digest. Undefined when they do not.
 */
function entryHolds(
  entry: ActionEntry,
  key: ActionKey,
  fingerprint: Fingerprint,
  session: BuildSession,
): { key: ActionKey; fingerprint: Fingerprint } | undefined {
  if (!entry.reads) return { key, fingerprint };
  const withRead = withReads(fingerprint, entry.reads, session.sources);
  if (readsDigest(withRead) !== entry.readsDigest) return undefined;
  return { key: actionKey(withRead), fingerprint: withRead };
}

interface RunPlan {
  key: ActionKey;
  fingerprint: Fingerprint;
  untracked: boolean;
  reason: string;
  notes: string[];
}

async function runMake(session: BuildSession, step: PlannedStep, plan: RunPlan): Promise<Outcome> {
  const kind = step.handle.kind;
  session.emit({ type: 'step-start', time: Date.now(), step: step.name, kind: kind.kind, reason: plan.reason });
  const stageDir = takeStageSlot(session);
  const capture: StepCapture = { stageDir, output: [], warnings: [], reads: [] };
  clearOutputPaths(stageDir, step.outputs);
  try {
    await kind.make(step.options, createStepContext(session, step, capture, plan.key));
    if (session.signal.aborted) throw new KilnError('INTERRUPTED', 'interrupted');
    // What it read this time is what the next build checks (and the key of this run's result).
    const reads = discoveredReads(session, step, capture.reads);
    const fingerprint = withReads(plan.fingerprint, reads, session.sources);
    const key = actionKey(fingerprint);
    const promoted = promoteOutputs(session, step, capture.stageDir);
    if (!plan.untracked) {
      const share = { share: step.declaration.localOnly === undefined, log: capture.output.join('') };
      const entry: ActionEntry = { outputs: promoted.cached, createdAt: Date.now() };
      session.bookkeep(() => session.cache.store(key, entry, promoted.files, share));
      // A machine without this step's deps log looks it up by its declared inputs alone: the same
      // outputs there, naming the files read and the digest of their contents (ccache's manifest).
      const declared = actionKey(withReads(fingerprint, [], session.sources));
      if (reads.length && declared !== key) {
        const byDeclared: ActionEntry = { ...entry, reads, readsDigest: readsDigest(fingerprint) };
        session.bookkeep(() => session.cache.store(declared, byDeclared, promoted.files, share));
      }
    }
    session.state.setRecord(
      step.name,
      { key, outputs: promoted.stats, ...(reads.length ? { reads } : {}) },
      fingerprint,
    );
    const all = [...plan.notes, ...capture.warnings];
    const warnings = all.length ? { warnings: all } : {};
    return outcome('ran', promoted.hashes, { reason: plan.reason, ...warnings });
  } catch (error) {
    session.state.forget(step.name);
    return outcome('failed', {}, { failure: await failureInfo(error, session.diagnose), reason: plan.reason });
  } finally {
    const text = capture.output.join('');
    session.bookkeep(() => session.log.step(step.name, kind.kind, plan.reason, text));
    returnStageSlot(session, stageDir);
  }
}

/**
 * Staging folders are reused, one per running step (a slot), instead of one made and removed per
 * step: on this kind of disk a mkdir or rmdir costs about as much as the `cp` a step runs. A slot
 * goes back emptied of files (what a step left undeclared or failed with); its folders stay, and
 * a folder standing where the next step's output goes is removed first (clearOutputPaths).
 */
const stageSlots = new WeakMap<BuildSession, { free: string[]; made: number }>();

function takeStageSlot(session: BuildSession): string {
  let slots = stageSlots.get(session);
  if (!slots) stageSlots.set(session, (slots = { free: [], made: 0 }));
  const reused = slots.free.pop();
  if (reused !== undefined) return reused;
  const dir = stageDirOf(session.layout, `slot-${slots.made++}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function returnStageSlot(session: BuildSession, dir: string): void {
  try {
    removeFilesUnder(dir);
    stageSlots.get(session)!.free.push(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true }); // not reused: the next step gets a new slot
  }
}

/** Deletes every non-folder under `dir`, keeping the folders. */
function removeFilesUnder(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removeFilesUnder(path);
    else unlinkSync(path);
  }
}

/** Removes what stands at the step's output paths in a reused slot (a folder an earlier step left). */
function clearOutputPaths(stageDir: string, outputs: readonly string[]): void {
  for (const rel of outputs) {
    const path = join(stageDir, rel);
    if (lstatSync(path, { throwIfNoEntry: false })) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * The recorded names of the files a step reported reading; a generated file whose producer the step
 * does not depend on is refused (the order it was read in was luck: stale or half-written).
 */
function discoveredReads(session: BuildSession, step: PlannedStep, paths: readonly string[]): string[] {
  const { graph } = session;
  const keys = readKeys(paths, graph.projectDir, graph.buildDir, graph.buildRoot);
  const owners = outputOwners(graph);
  const unordered = undeclaredGenerated(keys, step, owners);
  if (unordered) {
    throw new KilnError(
      'GENERATED_INPUT_UNDECLARED',
      `step "${step.name}" read ${unordered.file}, an output of step "${unordered.producer}", without depending on it: it may have read a stale or half-written file`,
      {
        location: { configPath: step.configPath },
        hint: `pass ${unordered.producer}'s output to this step (e.g. include: [${unordered.producer}.output('${unordered.file}')]) so kiln builds it first`,
      },
    );
  }
  return keys;
}

const ownersOf = new WeakMap<Graph, Map<string, PlannedStep>>();

/** Output path → the step writing it, built once per graph (not once per step that ran). */
function outputOwners(graph: Graph): Map<string, PlannedStep> {
  let owners = ownersOf.get(graph);
  if (!owners)
    ownersOf.set(graph, (owners = new Map(graph.steps.flatMap((s) => s.outputs.map((o) => [o, s] as const)))));
  return owners;
}

interface Promoted {
  /** Output → its stat entry (the step's record). */
  stats: Record<string, StatEntry>;
  hashes: Record<string, FileHash>;
  /** Output → hash, size and mode (the cache entry). */
  cached: Record<string, CachedOutput>;
  /** Output → its absolute path in the build folder. */
  files: Record<string, string>;
}

/** Moves every declared output from the staging folder into the build folder, hashed. */
function promoteOutputs(session: BuildSession, step: PlannedStep, stageDir: string): Promoted {
  const promoted: Promoted = { stats: {}, hashes: {}, cached: {}, files: {} };
  for (const rel of step.outputs) {
    const staged = join(stageDir, rel);
    if (!existsSync(staged)) {
      throw new StepFailure(`did not write its declared output ${rel}`, {
        hint: 'write every declared output to ctx.outPath(name) (or declare fewer outputs)',
      });
    }
    const dest = prepareOutputPath(session.graph.buildDir, rel); // never through a planted symlink
    renameSync(staged, dest);
    const hash = session.state.index.hash(dest);
    if (hash === undefined) throw new StepFailure(`its declared output ${rel} is not a regular file`);
    const s = statSync(dest);
    promoted.stats[rel] = [s.size, s.mtimeMs, s.ino, hash];
    promoted.hashes[rel] = hash;
    promoted.cached[rel] = { hash, size: s.size, mode: s.mode & 0o777 };
    promoted.files[rel] = dest;
  }
  return promoted;
}
