/**
 * A deadline on the config's `build(t)`: a build() that never settles (a promise nobody resolves,
 * a server that never answers) ends with a message naming the config instead of a kiln that waits
 * forever. The default is 30 s; `KILN_CONFIG_TIMEOUT=SECONDS` changes it. A build() that loops
 * synchronously blocks the timer itself: only a build() that awaits can be stopped this way.
 */
import { KilnError } from '../errors.js';
import { TIMEOUT_RANGE, isTimeoutSeconds } from '../util/timeout.js';

/** The environment variable holding the deadline, in seconds. */
export const CONFIG_TIMEOUT_ENV = 'KILN_CONFIG_TIMEOUT';
/** The default deadline of build(), in seconds. */
export const DEFAULT_CONFIG_TIMEOUT = 30;

/** The deadline in seconds from `env` (a usage error, exit 2, when it is not a valid timeout). */
export function configDeadline(env: NodeJS.ProcessEnv): number {
  const raw = env[CONFIG_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_CONFIG_TIMEOUT;
  const seconds = Number(raw);
  if (!isTimeoutSeconds(seconds)) {
    throw new KilnError(
      'CONFIG_TIMEOUT_INVALID',
      `${CONFIG_TIMEOUT_ENV}: expected ${TIMEOUT_RANGE}, got ${JSON.stringify(raw)}`,
      {
        hint: `e.g. ${CONFIG_TIMEOUT_ENV}=120`,
        exitCode: 2,
      },
    );
  }
  return seconds;
}

/**
 * Awaits `build()`'s result, or throws CONFIG_BUILD_TIMEOUT (exit 2) naming `file` after `seconds`.
 * @example
 * project = await withBuildDeadline(config.build(t), 'kiln.config.ts', configDeadline(process.env));
 */
export async function withBuildDeadline<T>(work: T | Promise<T>, file: string, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KilnError('CONFIG_BUILD_TIMEOUT', `build() did not return within ${seconds} s`, {
            location: { file, configPath: 'build' },
            exitCode: 2,
            hint:
              `build() must return the project without waiting on anything that may never finish; if it is just slow, ` +
              `set ${CONFIG_TIMEOUT_ENV}=SECONDS (default ${DEFAULT_CONFIG_TIMEOUT})`,
          }),
        ),
      seconds * 1000,
    );
  });
  try {
    return await Promise.race([Promise.resolve(work), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
