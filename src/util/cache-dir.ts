/**
 * kiln's own cache folder on this machine (sysroots, kiln-boot's Zig caches, tool probes): `KILN_CACHE_DIR`
 * when set, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`. Empty variables count as unset.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** kiln's cache folder for `env` (default: this process's environment). */
export function kilnCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KILN_CACHE_DIR) return env.KILN_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kiln');
}
