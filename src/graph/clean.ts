/**
 * Removing build folders under the build lock (`kiln clean`, `kiln build --clean`): a clean never
 * pulls a folder away from a running build. Every target folder's lock is taken first (waiting,
 * and saying so, or refusing with `wait: false`), then everything but the lock files is removed,
 * then the locks are released and the emptied folders removed when nobody took them meanwhile.
 */
import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildLock, acquireLock } from '../util/lock.js';

export interface CleanOptions {
  /** Wait for a running build (default true); false: refuse with BUILD_LOCKED. */
  wait?: boolean;
  /** Called once per folder whose lock another kiln holds, before waiting. */
  onWait?: (targetDir: string, holderPid: number | undefined) => void;
  signal?: AbortSignal;
}

const lockOf = (targetDir: string): string => join(targetDir, '.kiln', 'lock');

/** The target folders (`build/<arch>-<profile>`) under a build root: those with kiln's `.kiln` inside. */
export function targetFolders(buildRoot: string): string[] {
  let names: string[];
  try {
    names = readdirSync(buildRoot);
  } catch {
    return [];
  }
  return names.map((n) => join(buildRoot, n)).filter((dir) => existsSync(join(dir, '.kiln')));
}

/**
 * Removes `root` (a build root or one target folder) and its target folders, holding each
 * target's build lock while their content goes.
 */
export async function cleanUnderLock(root: string, targets: string[], options: CleanOptions = {}): Promise<void> {
  const locks: BuildLock[] = [];
  try {
    for (const dir of targets) {
      locks.push(
        await acquireLock(lockOf(dir), {
          wait: options.wait ?? true,
          onWait: (pid) => options.onWait?.(dir, pid),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
    }
    const keep = new Set(targets.map(lockOf));
    removeAllBut(root, keep);
  } finally {
    for (const lock of locks) lock.release();
  }
  // Only empty folders now; a build that took a lock meanwhile keeps its folder (rmdir fails).
  for (const dir of [...targets.flatMap((t) => [join(t, '.kiln'), t]), root]) {
    try {
      rmdirSync(dir);
    } catch {
      /* not empty (a new build started) or already gone */
    }
  }
}

/** Removes everything under `dir` except the paths in `keep` (and the folders holding them). */
function removeAllBut(dir: string, keep: ReadonlySet<string>): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (keep.has(path)) continue;
    if ([...keep].some((k) => k.startsWith(`${path}/`))) removeAllBut(path, keep);
    else rmSync(path, { recursive: true, force: true });
  }
}
