/**
 * Children that die with kiln, however kiln dies. SIGINT, SIGTERM and SIGHUP reach kiln's handlers,
 * which kill the child's process group; SIGKILL runs no code at all, so the child must learn of
 * the death itself: Linux's parent-death signal (prctl PR_SET_PDEATHSIG), which the kernel sends to
 * a process when the thread that forked it exits. Node cannot call prctl between fork and exec, so
 * the child is started through util-linux `setpriv --pdeathsig KILL -- program args...`: setpriv
 * sets the signal on itself and execs the program, which keeps it (it survives execve for programs
 * that are not set-uid). Node forks from its main thread, so the signal fires when kiln's process
 * dies. Without a working setpriv (not Linux, util-linux < 2.33), children start as they are.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { cachedProbe } from './probe-cache.js';

let cached: string | null | undefined;

function findSetpriv(): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, 'setpriv');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The path of a setpriv that accepts `--pdeathsig` (probed once), or undefined. */
export function parentDeathLauncher(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  if (process.platform !== 'linux') return undefined;
  const setpriv = findSetpriv();
  if (!setpriv) return undefined;
  // Probed once per installed setpriv (util/probe-cache.ts), not once per kiln command.
  const works = cachedProbe('pdeathsig', setpriv, () => {
    return spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  });
  if (works) cached = setpriv;
  return cached ?? undefined;
}

/**
 * `argv` wrapped so that the program is SIGKILLed when kiln dies (see the module comment); `argv`
 * itself when no parent-death launcher is available.
 * @example
 * const [program, ...args] = diesWithKiln(['qemu-system-x86_64', '-M', 'q35']);
 * // ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', '-M', 'q35']
 */
export function diesWithKiln(argv: readonly string[]): string[] {
  const launcher = parentDeathLauncher();
  return launcher ? [launcher, '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
}
