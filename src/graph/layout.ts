/**
 * Where a build keeps its own files, resolved once per build: everything kiln owns lives under
 * `build/<target>/.kiln` (state, lock, staging, each step's last log and (report/last-build.ts) the last build's record);
 * the build log of every target is `build/logs/build.log`.
 */
import { join } from 'node:path';
import { joinPlain } from '../util/paths.js';

export interface BuildLayout {
  /** `build/<target>/.kiln` */
  readonly internalDir: string;
  readonly lockFile: string;
  /** The stat index and each step's record (state.ts). */
  readonly stateFile: string;
  /** Steps write their outputs here; kiln moves them into place after success. */
  readonly stagingDir: string;
  /** Each step's full output of its last run. */
  readonly stepLogDir: string;
  /** `build/logs` */
  readonly logDir: string;
  /** Every build's steps' output, appended. */
  readonly buildLog: string;
}

export function buildLayout(buildDir: string, buildRoot: string): BuildLayout {
  const internalDir = join(buildDir, '.kiln');
  const logDir = join(buildRoot, 'logs');
  return {
    internalDir,
    lockFile: join(internalDir, 'lock'),
    stateFile: join(internalDir, 'state.json'),
    stagingDir: join(internalDir, 'staging'),
    stepLogDir: join(internalDir, 'logs'),
    logDir,
    buildLog: join(logDir, 'build.log'),
  };
}

export function stepLogPath(layout: BuildLayout, step: string): string {
  return joinPlain(layout.stepLogDir, `${step}.log`);
}

export function stageDirOf(layout: BuildLayout, step: string): string {
  return join(layout.stagingDir, step);
}
