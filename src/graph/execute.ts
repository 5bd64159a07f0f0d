/**
 * Runs a planned graph: selects the steps asked for, opens a session under the build lock, lets
 * the scheduler run each step through runStep (fingerprint → up to date / cached / run), reports
 * every step as an event, and records the build (state for the next build, LastBuild for
 * `kiln status`). Outputs are written to a staging folder and moved into place only after success.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { joinPlain } from '../util/paths.js';
import type { StepStatus } from '../step.js';
import type { BuildEvent, EventSink, StepResult } from './events.js';
import { toolPaths } from './fingerprint.js';
import type { Graph, PlannedStep } from './graph.js';
import { stepLogPath } from './layout.js';
import { runStep } from './run-step.js';
import { schedule } from './scheduler.js';
import { type BuildSession, type SessionOptions, openSession } from './session.js';
import { type LastBuild, writeLastBuild } from '../report/last-build.js';

export interface ExecuteOptions extends SessionOptions {
  jobs?: number;
  keepGoing?: boolean;
  /** Only these steps (and what they need). */
  only?: string[];
  /**
   * Return as soon as every output is in place, before the records are written (cache stores,
   * step logs, the state, LastBuild) and the build lock is released: the caller boots first and
   * then calls `flush()` (kiln dev: off the path from a save to the boot). Outputs are never deferred.
   */
  deferRecords?: boolean;
  onEvent?: EventSink;
}

export interface BuildResult {
  ok: boolean;
  interrupted: boolean;
  steps: Map<string, StepResult>;
  durationMs: number;
  /** Of durationMs, the wall time tools (compilers, linkers) ran; the rest is kiln's own. */
  toolMs: number;
  counts: Record<StepStatus, number>;
  /** Absolute paths of every output, by step. */
  outputs: Record<string, string[]>;
  logPath: string;
  /** With `deferRecords`: writes the records and releases the lock (call it once the outputs are used). */
  flush?: () => Promise<void>;
}

/** Collects the steps needed for `only` (and their dependencies). */
function selectSteps(graph: Graph, only: string[] | undefined): PlannedStep[] {
  if (!only || only.length === 0) return graph.steps;
  const wanted = new Set<PlannedStep>();
  const visit = (s: PlannedStep): void => {
    if (wanted.has(s)) return;
    wanted.add(s);
    s.deps.forEach(visit);
  };
  for (const name of only) {
    const s = graph.byName.get(name);
    if (!s) {
      const hint = `steps: ${graph.steps.map((x) => x.name).join(', ')}`;
      throw new KilnError('STEP_UNKNOWN', `no step named "${name}"`, { hint, exitCode: 2 });
    }
    visit(s);
  }
  return graph.steps.filter((s) => wanted.has(s));
}

export async function executeGraph(graph: Graph, options: ExecuteOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const emit = (event: BuildEvent): void => options.onEvent?.(event);
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const steps = selectSteps(graph, options.only);
  const session = await openSession(graph, options, emit);
  const results = new Map<string, StepResult>();
  const counts: Record<StepStatus, number> = { ran: 0, cached: 0, 'up-to-date': 0, failed: 0, skipped: 0 };
  emit({ type: 'build-start', time: Date.now(), target: graph.target.id, total: steps.length, jobs });
  // A no-op build changes nothing: the state is not rewritten (ninja's no-op is stat calls only).
  const stepsChanged = (): boolean => [...results.values()].some((r) => r.status !== 'up-to-date');
  let last: LastBuild | undefined;
  let flushing: Promise<void> | undefined;
  /** The build's records: deferred cache stores and logs, the state, the lock, LastBuild. */
  const flush = (): Promise<void> =>
    (flushing ??= (async () => {
      try {
        for (const write of session.deferred.splice(0)) await write();
      } finally {
        await session.close(stepsChanged());
        if (last) writeLastBuild(graph.buildDir, last);
      }
    })());
  try {
    await schedule({
      steps,
      jobs,
      keepGoing: options.keepGoing ?? false,
      signal: session.signal,
      run: (step) => runStep(session, step),
      onFinish: (step, result) => {
        results.set(step.name, result);
        counts[result.status]++;
        emit(finishEvent(graph, step, result));
      },
    });
  } catch (error) {
    await flush();
    throw error;
  }
  const durationMs = performance.now() - started;
  const interrupted = options.signal?.aborted ?? false;
  const ok = counts.failed === 0 && !interrupted;
  const target = graph.target.id;
  const stopped = interrupted ? { interrupted } : {};
  emit({ type: 'build-finish', time: Date.now(), target, ok, durationMs, counts, ...stopped });
  last = lastBuildOf(session, results, { ok, interrupted, durationMs, counts });
  const toolMs = session.toolClock.ms;
  let outputs: Record<string, string[]> | undefined;
  const result: BuildResult = {
    ok,
    interrupted,
    steps: results,
    durationMs,
    toolMs,
    counts,
    // Made when asked for: an object with a key per step costs tens of ms on a big graph.
    get outputs(): Record<string, string[]> {
      return (outputs ??= Object.fromEntries(
        steps.map((s) => [s.name, s.outputs.map((o) => joinPlain(graph.buildDir, o))]),
      ));
    },
    logPath: session.layout.buildLog,
  };
  if (options.deferRecords) return { ...result, flush };
  await flush();
  return result;
}

function finishEvent(graph: Graph, step: PlannedStep, result: StepResult): BuildEvent {
  return {
    type: 'step-finish',
    time: Date.now(),
    step: step.name,
    kind: step.handle.kind.kind,
    status: result.status,
    durationMs: result.durationMs,
    ...(result.reason ? { reason: result.reason } : {}),
    ...(result.failure ? { failure: result.failure } : {}),
    ...(result.warnings ? { warnings: result.warnings } : {}),
    outputs: step.outputs.map((o) => joinPlain(graph.buildDir, o)),
  };
}

/** The build's record for `kiln status`: every step of the graph with its status, failure and log. */
function lastBuildOf(
  session: BuildSession,
  results: ReadonlyMap<string, StepResult>,
  summary: Pick<LastBuild, 'ok' | 'interrupted' | 'durationMs' | 'counts'>,
): LastBuild {
  const { graph, layout } = session;
  return {
    version: 1,
    target: graph.target.id,
    time: Date.now(),
    ...summary,
    steps: graph.steps.map((s) => {
      const r = results.get(s.name);
      const fingerprint = session.fingerprints.get(s.name);
      return {
        name: s.name,
        kind: s.handle.kind.kind,
        configPath: s.configPath,
        deps: s.deps.map((d) => d.name),
        outputs: s.outputs,
        status: r?.status ?? 'not-selected',
        durationMs: r?.durationMs ?? 0,
        ...(r?.reason ? { reason: r.reason } : {}),
        ...(r?.failure ? { failure: r.failure } : {}),
        log: stepLogPath(layout, s.name),
        ...(s.declaration.workDir ? { workDir: join(graph.buildDir, s.declaration.workDir) } : {}),
        ...(fingerprint ? { tools: toolPaths(fingerprint) } : {}),
      };
    }),
  };
}
