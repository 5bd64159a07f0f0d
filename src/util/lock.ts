/**
 * One build at a time per build folder: a lock file holding the owner's pid. A second build
 * waits (and says so) or fails with --no-wait; a lock whose owner died (kill -9) is taken over.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { KilnError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LockOptions {
  wait: boolean;
  onWait?: (holderPid: number | undefined) => void;
  signal?: AbortSignal;
}

export interface BuildLock {
  release(): void;
}

export async function acquireLock(path: string, options: LockOptions): Promise<BuildLock> {
  mkdirSync(dirname(path), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        mkdirSync(dirname(path), { recursive: true }); // `kiln clean` removed the folder while we waited
        continue;
      }
      if (code !== 'EEXIST') throw error;
    }
    let holder: number | undefined;
    try {
      holder = Number(readFileSync(path, 'utf8').trim()) || undefined;
    } catch {
      continue; // released between our attempts
    }
    if (holder === undefined || !alive(holder) || holder === process.pid) {
      // Stale (owner died) or half-written: take it over.
      rmSync(path, { force: true });
      continue;
    }
    if (!options.wait) {
      throw new KilnError('BUILD_LOCKED', `another kiln (pid ${holder}) is building in this folder`, {
        location: { file: path },
        hint: 'wait for it to finish, or run without --no-wait to wait automatically',
      });
    }
    if (!announced) {
      announced = true;
      options.onWait?.(holder);
    }
    if (options.signal?.aborted) throw new KilnError('INTERRUPTED', 'interrupted while waiting for the build lock');
    await new Promise((r) => setTimeout(r, 100));
  }
}
