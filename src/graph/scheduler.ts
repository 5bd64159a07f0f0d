/**
 * The scheduler: a step becomes ready when its last selected dependency finishes; up to `jobs`
 * run at once. A failed or skipped step skips its dependents at once; after a failure nothing new
 * starts unless `keepGoing`; an abort stops starting steps and skips what did not start.
 */
import type { StepResult } from './events.js';
import type { PlannedStep } from './graph.js';

export interface ScheduleOptions {
  /** The selected steps, in dependency order. */
  steps: PlannedStep[];
  jobs: number;
  keepGoing: boolean;
  signal: AbortSignal;
  /** A result at once (a step decided without waiting: up to date) or a promise of it. */
  run(step: PlannedStep): StepResult | Promise<StepResult>;
  /** Called once per step as it finishes (a failed step's skipped dependents right after it). */
  onFinish(step: PlannedStep, result: StepResult): void;
}

export async function schedule(options: ScheduleOptions): Promise<void> {
  const { steps, jobs, signal } = options;
  const selected = new Set(steps);
  const finished = new Set<PlannedStep>();
  const waitingOn = new Map<PlannedStep, number>();
  for (const s of steps) waitingOn.set(s, s.deps.filter((d) => selected.has(d)).length);
  const ready: PlannedStep[] = steps.filter((s) => waitingOn.get(s) === 0);
  let readyAt = 0;
  const running = new Set<Promise<void>>();
  let stopping = false;

  const finish = (step: PlannedStep, result: StepResult): void => {
    finished.add(step);
    if (result.status === 'failed' && !options.keepGoing) stopping = true;
    options.onFinish(step, result);
    const failed = result.status === 'failed' || result.status === 'skipped';
    for (const d of step.dependents) {
      if (!selected.has(d) || finished.has(d)) continue;
      if (failed) {
        finish(d, skipped(d, `"${step.name}" ${result.status === 'failed' ? 'failed' : 'was skipped'}`));
        continue;
      }
      const left = waitingOn.get(d)! - 1;
      waitingOn.set(d, left);
      if (left === 0) ready.push(d);
    }
  };

  let yielded = performance.now();
  while (finished.size < steps.length) {
    if (signal.aborted) stopping = true;
    while (!stopping && running.size < jobs && readyAt < ready.length) {
      const step = ready[readyAt++]!;
      if (finished.has(step)) continue;
      const result = options.run(step);
      if (!(result instanceof Promise)) {
        finish(step, result);
        // A long run of steps decided at once: let timers and signals (Ctrl-C) in now and then.
        if (performance.now() - yielded > 50) {
          await new Promise((resolve) => setImmediate(resolve));
          yielded = performance.now();
          if (signal.aborted) stopping = true;
        }
        continue;
      }
      const p: Promise<void> = result.then((r) => {
        running.delete(p);
        finish(step, r);
      });
      running.add(p);
    }
    if (running.size === 0) {
      // Nothing runs and nothing can start: stopped after a failure or interrupted.
      const why = signal.aborted ? 'interrupted' : 'build stopped after a failure';
      for (const step of steps) if (!finished.has(step)) finish(step, skipped(step, why));
      break;
    }
    await Promise.race(running);
  }
}

function skipped(step: PlannedStep, reason: string): StepResult {
  return { name: step.name, status: 'skipped', durationMs: 0, reason, outputHashes: {} };
}
