/**
 * Verdicts of tool probes (does this setpriv accept --pdeathsig?) kept across runs, keyed by the
 * tool's identity — real path, size, mtime and inode — so a probe that costs a process spawn runs
 * once per installed tool, not once per kiln command. Stored in `probes.json` in kiln's
 * cache folder (util/cache-dir.ts); an unreadable or unwritable cache only means probing again.
 */
import { mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { kilnCacheDir } from './cache-dir.js';

function cacheFile(): string {
  return join(kilnCacheDir(), 'probes.json');
}

/** `name` probed on `tool`: the cached verdict while the tool's identity holds, else `probe()` (then cached). */
export function cachedProbe(name: string, tool: string, probe: () => boolean): boolean {
  let key: string;
  try {
    const real = realpathSync(tool);
    const s = statSync(real);
    key = `${name}|${real}|${s.size}|${s.mtimeMs}|${s.ino}`;
  } catch {
    return probe();
  }
  const known = readVerdicts();
  const hit = known[key];
  if (typeof hit === 'boolean') return hit;
  const verdict = probe();
  try {
    const file = cacheFile();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ ...readVerdicts(), [key]: verdict }, null, 1)}\n`);
  } catch {
    /* a cache is optional */
  }
  return verdict;
}

function readVerdicts(): Record<string, boolean> {
  try {
    const data = JSON.parse(readFileSync(cacheFile(), 'utf8')) as unknown;
    return data !== null && typeof data === 'object' ? (data as Record<string, boolean>) : {};
  } catch {
    return {};
  }
}
