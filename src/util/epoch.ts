import { KilnError } from '../errors.js';

/** 1980-01-01T00:00:00Z: the earliest time FAT and ISO9660 can both represent. */
export const DEFAULT_EPOCH = 315532800;

/**
 * The build timestamp in seconds since 1970: SOURCE_DATE_EPOCH when set (reproducible-builds.org),
 * otherwise a fixed default, so that builds are reproducible without configuration.
 */
export function resolveEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return DEFAULT_EPOCH;
  if (!/^\d+$/.test(raw.trim())) {
    throw new KilnError(
      'SOURCE_DATE_EPOCH_INVALID',
      `SOURCE_DATE_EPOCH: expected a whole number of seconds, got ${JSON.stringify(raw)}`,
      {
        hint: 'set it with e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
      },
    );
  }
  return Number(raw.trim());
}
