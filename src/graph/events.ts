/**
 * The build as a stream of typed events. Reporters (terminal, plain, JSON, Chrome trace) consume
 * them; nothing in the graph prints.
 */
import type { StepFailureInfo, StepStatus } from '../step.js';
import type { FileHash } from './hashing.js';

export type BuildEvent =
  | { type: 'build-start'; time: number; target: string; total: number; jobs: number }
  | { type: 'lock-wait'; time: number; path: string; holderPid: number | undefined }
  | { type: 'step-start'; time: number; step: string; kind: string; reason: string }
  /** One unit of work inside a running step (one compile of a cc step). */
  | { type: 'step-action'; time: number; step: string; action: string; input: string; reason: string }
  | {
      type: 'step-finish';
      time: number;
      step: string;
      kind: string;
      status: StepStatus;
      durationMs: number;
      reason?: string;
      warnings?: string[];
      failure?: StepFailureInfo;
      outputs?: string[];
    }
  /** Something the build set aside and recovered from (a corrupt state file): one line for the user. */
  | { type: 'warning'; time: number; message: string }
  /** The remote cache: a warning (unavailable, a corrupt object) or the build's summary note. */
  | { type: 'remote-cache'; time: number; level: 'warning' | 'note'; message: string }
  | {
      type: 'build-finish';
      time: number;
      target: string;
      ok: boolean;
      durationMs: number;
      counts: Record<StepStatus, number>;
      interrupted?: boolean;
    };

export type EventSink = (event: BuildEvent) => void;

/** How one step of a build ended. */
export interface StepResult {
  name: string;
  status: StepStatus;
  durationMs: number;
  reason?: string;
  failure?: StepFailureInfo;
  /** Warnings the step recorded (ctx.warn), shown in its summary line. */
  warnings?: string[];
  /** Output (relative to the build folder) → content hash; empty when the step failed or was skipped. */
  outputHashes: Record<string, FileHash>;
}
