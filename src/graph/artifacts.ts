/**
 * Artifact paths: which output of which step an ArtifactRef (or a bare StepHandle, meaning the
 * main output) names. Resolved once per (producer, output name) — the plan resolves every ref in
 * the steps' options while it checks them; the executor, the step context and `kiln run` look the
 * same answers up.
 */
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { normalizeImagePath } from '../util/paths.js';
import type { ArtifactResolver, PlannedStep, ResolvedArtifact } from './graph.js';
import { type ArtifactRef, type StepHandle, isStepHandle } from '../step.js';

/** The output path (relative to the build folder) an artifact ref names. */
export function resolveArtifact(
  ref: ArtifactRef,
  producer: PlannedStep,
  consumer: PlannedStep | undefined,
  file: string,
): string {
  const location = { file, configPath: consumer?.configPath ?? producer.configPath };
  if (producer.outputs.length === 0) {
    const reader = consumer ? ` but "${consumer.name}" reads one` : '';
    const message = `step "${producer.name}" has no outputs${reader}`;
    throw new KilnError('ARTIFACT_MISSING', message, { location, exitCode: 2 });
  }
  if (ref.output === undefined) return producer.outputs[0]!;
  const wanted = normalizeImagePath(ref.output);
  const match = producer.outputs.find((o) => o === wanted || o.endsWith(`/${wanted}`));
  if (!match) {
    const message = `step "${producer.name}" has no output "${ref.output}" (it writes ${producer.outputs.join(', ')})`;
    throw new KilnError('ARTIFACT_MISSING', message, { location, exitCode: 2 });
  }
  return match;
}

export class ArtifactPaths implements ArtifactResolver {
  private readonly resolved = new Map<StepHandle, Map<string | undefined, string>>();

  /**
   * @param byHandle the planned steps
   * @param buildDir the target's build folder
   * @param file the config file, for error locations
   */
  constructor(
    private readonly byHandle: ReadonlyMap<StepHandle, PlannedStep>,
    private readonly buildDir: string,
    private readonly file: string,
  ) {}

  resolve(ref: ArtifactRef | StepHandle, consumer?: PlannedStep): ResolvedArtifact {
    const handle = isStepHandle(ref) ? ref : ref.step;
    const producer = this.byHandle.get(handle);
    if (!producer) {
      const who = consumer ? `step "${consumer.name}" reads` : 'run/tests refer to';
      throw new KilnError('ARTIFACT_MISSING', `${who} a step that is not in the graph`);
    }
    let byOutput = this.resolved.get(handle);
    if (!byOutput) this.resolved.set(handle, (byOutput = new Map()));
    const output = isStepHandle(ref) ? undefined : ref.output;
    let rel = byOutput.get(output);
    if (rel === undefined) {
      rel = isStepHandle(ref) ? producer.outputs[0]! : resolveArtifact(ref, producer, consumer, this.file);
      byOutput.set(output, rel);
    }
    return { producer, rel, abs: join(this.buildDir, rel) };
  }
}
