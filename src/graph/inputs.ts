/**
 * A step's declared inputs expanded to files: plain paths as they are, globs matched under the
 * project (outside the build folder, kiln's own folder, node_modules and cargo target folders).
 */
import { isAbsolute, join, relative } from 'node:path';
import type { PlannedStep } from './graph.js';
import { joinPlain } from '../util/paths.js';

/** A glob pattern (vs a plain path)? Cheaper than picomatch's scan on the no-op path. */
const isDynamicPattern = (p: string): boolean => /[*?[\]{}!]|\(.*\|/.test(p);

/** Absolute paths of the files `step` declares it reads, each once, in declaration order. */
export async function expandInputs(step: PlannedStep, projectDir: string, buildRoot: string): Promise<string[]> {
  const plain = plainInputs(step, projectDir);
  if (plain) return plain;
  const files: string[] = [];
  for (const pattern of step.declaration.inputs ?? []) {
    if (isDynamicPattern(pattern)) {
      // Loaded on the first glob only: a build of plain paths never pays for the matcher.
      const { glob } = await import('tinyglobby');
      const ignore = ['**/node_modules/**', `${relative(projectDir, buildRoot)}/**`, '.kiln/**', '**/target/**'];
      const matches = await glob(pattern, { cwd: projectDir, absolute: true, onlyFiles: true, dot: false, ignore });
      files.push(...matches.sort());
    } else {
      files.push(isAbsolute(pattern) ? pattern : join(projectDir, pattern));
    }
  }
  return files.length < 2 ? files : [...new Set(files)];
}

/**
 * The inputs of a step that declares plain paths only, without waiting (what expandInputs gives);
 * undefined when one of them is a glob.
 */
export function plainInputs(step: PlannedStep, projectDir: string): string[] | undefined {
  const files: string[] = [];
  for (const pattern of step.declaration.inputs ?? []) {
    if (isDynamicPattern(pattern)) return undefined;
    files.push(isAbsolute(pattern) ? pattern : joinPlain(projectDir, pattern));
  }
  return files.length < 2 ? files : [...new Set(files)];
}
