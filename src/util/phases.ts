/**
 * The phases of one kiln process (start-up, config load, plan, execute, exit) as spans in ms since
 * the process started (performance.timeOrigin), for `--trace`: the build's steps are not the only
 * place time goes, and the trace should show the rest too.
 */
export interface PhaseSpan {
  name: string;
  /** ms since the process started. */
  start: number;
  end: number;
}

const spans: PhaseSpan[] = [];

/** Records a phase that ran from `start` until now (or `end`). */
export function markPhase(name: string, start: number, end: number = performance.now()): void {
  spans.push({ name, start, end });
}

/** Runs `fn` as the phase `name`. */
export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    markPhase(name, start);
  }
}

/** Node's own start-up (until its bootstrap completed), then every phase recorded so far. */
export function processPhases(): PhaseSpan[] {
  const boot = performance.nodeTiming.bootstrapComplete;
  return [{ name: 'node start-up', start: 0, end: boot }, ...spans];
}
