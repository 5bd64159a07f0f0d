/**
 * The last build's record (`build/<target>/.kiln/last-build.json`): one type, written by the
 * executor at the end of every build and read by `kiln status`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import type { StepFailureInfo, StepStatus } from '../step.js';
import { writeFileAtomic } from '../util/atomic.js';

/** One step in the last build's record. */
export interface LastBuildStep {
  name: string;
  kind: string;
  configPath: string;
  /** Names of the steps it reads. */
  deps: string[];
  outputs: string[];
  status: StepStatus | 'not-selected';
  durationMs: number;
  reason?: string;
  failure?: StepFailureInfo;
  /** The step's full output of its last run. */
  log: string;
  /** Its persistent work folder (absolute), when it has one. */
  workDir?: string;
  /** Tools the step declared and kiln found: name → resolved path. */
  tools?: Record<string, string>;
}

/** The last build's results (`.kiln/last-build.json`): written by the executor, read by `kiln status`. */
export interface LastBuild {
  version: 1;
  target: string;
  time: number;
  ok: boolean;
  interrupted: boolean;
  durationMs: number;
  counts: Record<StepStatus, number>;
  steps: LastBuildStep[];
}

/** `build/<target>/.kiln/last-build.json` */
export function lastBuildPath(buildDir: string): string {
  return join(buildDir, '.kiln', 'last-build.json');
}

export function writeLastBuild(buildDir: string, last: LastBuild): void {
  writeFileAtomic(lastBuildPath(buildDir), JSON.stringify(last));
}

/**
 * Reads build/<t>/.kiln/last-build.json (written by every `kiln build`).
 *
 * @example
 * readLastBuild('/p/build/x86_64-debug').steps.filter((s) => s.status === 'failed')
 */
export function readLastBuild(buildDir: string): LastBuild {
  const path = lastBuildPath(buildDir);
  if (!existsSync(path)) {
    const hint = 'run `kiln build --keep-going` first (same --arch/--profile)';
    throw new KilnError('STATUS_NO_BUILD', `no build record at ${path}`, { location: { file: path }, hint });
  }
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as LastBuild;
    if (v.version !== 1 || !Array.isArray(v.steps)) throw new Error('unknown version');
    return v;
  } catch (error) {
    const message = `${path} is not a kiln build record (${(error as Error).message})`;
    throw new KilnError('STATUS_BAD_RECORD', message, {
      location: { file: path },
      hint: 'run `kiln build` again to rewrite it',
    });
  }
}
