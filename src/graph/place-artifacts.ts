/**
 * A project's `artifacts`: after a successful `kiln build`, the main output of each named step is
 * copied to its path under the build root (Portix's layout: `build/portix.img`,
 * `build/dist/portix.iso`), so the final files sit where the project's documents say. The target's
 * own folder keeps the originals (and the cache its copies).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { KilnError } from '../errors.js';
import { copyFileSparse } from '../util/copy.js';
import type { Graph } from './graph.js';

/** One placed file: where it came from and where it went (absolute paths). */
export interface PlacedArtifact {
  from: string;
  to: string;
}

/** Copies every artifact whose step was built (`built` = the step names that ran or were current). */
export function placeArtifacts(graph: Graph, built: ReadonlySet<string>): PlacedArtifact[] {
  const placed: PlacedArtifact[] = [];
  for (const [path, handle] of Object.entries(graph.project.artifacts ?? {})) {
    const step = graph.byHandle.get(handle);
    if (!step) {
      throw new KilnError('ARTIFACT_NOT_PLANNED', `artifacts["${path}"] names a step that is not part of the build`, {
        location: { configPath: `artifacts.${path}` },
        exitCode: 2,
        hint: 'list the step under components, images or steps too',
      });
    }
    if (!built.has(step.name)) continue;
    const to = join(graph.buildRoot, path);
    if (relative(graph.buildRoot, to).startsWith('..')) {
      throw new KilnError('ARTIFACT_OUTSIDE_BUILD', `artifacts["${path}"] is outside the build folder`, {
        location: { configPath: `artifacts.${path}` },
        exitCode: 2,
      });
    }
    const from = join(graph.buildDir, step.outputs[0]!);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSparse(from, to);
    placed.push({ from, to });
  }
  return placed;
}
