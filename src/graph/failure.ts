/**
 * A failed step as the reporters show it: the message, the command and its exit code, the
 * interesting tail of the tool's output and a hint — the step's own, or one a diagnosis (the
 * doctor's rules, handed in by the CLI) finds in the output.
 */
import { KilnError } from '../errors.js';
import { StepFailure, type StepFailureInfo } from '../step.js';

/** A known cause of a failure and its fix. */
export interface Diagnosis {
  cause: string;
  fix: string;
}

/**
 * Recognizes a known cause in a tool's output (kiln doctor's rule table); it may answer later, so
 * that the rules load only when a step fails.
 */
export type Diagnose = (output: string) => Diagnosis | undefined | Promise<Diagnosis | undefined>;

const ERROR_LINE = /\b(error|fatal|undefined reference|cannot find|not found|failed|panicked|No such file)\b/i;

/** The last lines of a tool's output, preferring lines that look like errors (as ninja and zx do). */
export function interestingTail(output: string, max = 20): string[] {
  const lines = output
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '');
  if (lines.length <= max) return lines;
  const errorIdx = lines.map((l, i) => (ERROR_LINE.test(l) ? i : -1)).filter((i) => i >= 0);
  if (errorIdx.length === 0) return lines.slice(-max);
  const picked = new Set<number>();
  for (const i of errorIdx.slice(0, max)) {
    for (let j = i; j < Math.min(lines.length, i + 3) && picked.size < max; j++) picked.add(j);
  }
  return [...picked].sort((a, b) => a - b).map((i) => lines[i]!);
}

/** What a step's `make` threw, as failure info. */
export async function failureInfo(error: unknown, diagnose: Diagnose | undefined): Promise<StepFailureInfo> {
  if (error instanceof StepFailure) return toolFailure(error, diagnose);
  if (error instanceof KilnError) {
    return { message: error.toLine(), tail: [], ...(error.hint ? { hint: error.hint } : {}), code: error.code };
  }
  return { message: (error as Error)?.stack ?? String(error), tail: [] };
}

async function toolFailure(error: StepFailure, diagnose: Diagnose | undefined): Promise<StepFailureInfo> {
  const diagnosis = error.hint ? undefined : await diagnose?.(error.output);
  const hint = error.hint || (diagnosis ? `${diagnosis.cause}: ${diagnosis.fix}` : undefined);
  return {
    message: error.message,
    ...(error.command ? { command: error.command } : {}),
    exitCode: error.exitCode ?? null,
    tail: interestingTail(error.output),
    ...(hint ? { hint } : {}),
  };
}
