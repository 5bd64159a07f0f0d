/**
 * The planned graph as the executor and the CLI see it: steps with their validated options,
 * declarations, normalized outputs and edges, and the target they were planned for.
 */
import type { KilnConfig, Project } from '../config/types.js';
import type { ArtifactRef, Declaration, StepHandle, TargetInfo } from '../step.js';

export interface PlannedStep {
  name: string;
  /** Where the step was found in the config (`components.kernel`). */
  configPath: string;
  handle: StepHandle;
  /** The options after validation (what `declare` and `make` receive). */
  options: unknown;
  declaration: Declaration;
  /** Normalized outputs, relative to the target's build folder; [0] is the main output. */
  outputs: string[];
  /** Steps whose artifacts this one reads. */
  deps: PlannedStep[];
  /** Steps that read this one's artifacts. */
  dependents: PlannedStep[];
  /**
   * The key data's stable JSON with a gap for each artifact ref (a plan from the plan cache): the
   * key is `parts[0] + ref 0 + parts[1] + …` without walking the options again.
   */
  keyText?: KeyText;
}

/** Stable JSON of a step's key data cut at its artifact refs (`parts.length === refs.length + 1`). */
export interface KeyText {
  parts: string[];
  refs: Array<ArtifactRef | StepHandle>;
}

export interface ResolvedArtifact {
  producer: PlannedStep;
  /** Relative to the target's build folder. */
  rel: string;
  /** Absolute. */
  abs: string;
}

/** Artifact refs → build-folder paths (artifacts.ts). */
export interface ArtifactResolver {
  /** The producer and path of `ref`; `consumer` (the reading step) names the reader in errors. */
  resolve(ref: ArtifactRef | StepHandle, consumer?: PlannedStep): ResolvedArtifact;
}

export interface Graph {
  target: TargetInfo;
  projectDir: string;
  /** The target's build folder (absolute). */
  buildDir: string;
  /** The build root (absolute), holding every target's folder and logs/. */
  buildRoot: string;
  /** Steps in a dependency order (producers before consumers). */
  steps: PlannedStep[];
  byName: Map<string, PlannedStep>;
  byHandle: Map<StepHandle, PlannedStep>;
  /** Artifact refs → build-folder paths, resolved once (at plan time) and looked up after. */
  artifacts: ArtifactResolver;
  project: Project;
  config: KilnConfig;
  options: Record<string, unknown>;
  release: boolean;
}
