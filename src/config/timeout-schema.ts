/**
 * The zod schema of a config timeout, apart from util/timeout.ts so that the command line's
 * timeout checks do not load zod.
 */
import { z } from 'zod';
import { TIMEOUT_RANGE, isTimeoutSeconds } from '../util/timeout.js';

/** A config timeout in seconds (zod). */
export const zTimeoutSeconds = z.number().refine(isTimeoutSeconds, { message: `expected ${TIMEOUT_RANGE}` });
