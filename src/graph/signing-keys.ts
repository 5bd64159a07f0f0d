/**
 * The signing keys in an action key: a step that signs (`Declaration.signingKeys`) is keyed by the
 * public key id of each key it signs with, found as the step itself finds it (a key file, else
 * SIGNING_KEY / SIGNING_KEY_ML_DSA, else the project's development key). Never the secret, nor a
 * hash of it, nor a key file's contents: the same key from the environment on one machine and from a
 * file on another gives the same action key, and a different key a different one.
 */
import { isAbsolute, join } from 'node:path';
import { KilnError } from '../errors.js';
import type { SigningKeyRequest } from '../step.js';

/** Where a key is looked for: the project (its key files, its dev key) and the environment. */
export interface SigningKeySources {
  readonly projectDir: string;
  readonly env: NodeJS.ProcessEnv;
}

const SECRET_VARS = ['SIGNING_KEY', 'SIGNING_KEY_ML_DSA'] as const;

/** Each request's algorithm → the id of the public key it resolves to. */
export async function signingKeyIds(
  requests: readonly SigningKeyRequest[],
  from: SigningKeySources,
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const request of requests) ids[request.algorithm] = await keyId(request, from);
  return ids;
}

/**
 * The key id, or why there is none: the step then fails with that error when it runs (its `make`
 * resolves the key again), so no rerun is decided on a guess and no error is raised twice.
 */
async function keyId(request: SigningKeyRequest, from: SigningKeySources): Promise<string> {
  const sign = await import('../sign/index.js'); // loaded by builds that sign, only
  const env: NodeJS.ProcessEnv = {};
  for (const name of SECRET_VARS) if (from.env[name] !== undefined) env[name] = from.env[name];
  const file = request.keyFile;
  try {
    const key = await sign.resolveSigningKey({
      algorithm: request.algorithm,
      env,
      projectDir: from.projectDir,
      release: request.release,
      allowDevKey: request.allowDevKey,
      ...(file ? { keyFile: isAbsolute(file) ? file : join(from.projectDir, file) } : {}),
    });
    return key.keyId;
  } catch (error) {
    return `none (${error instanceof KilnError ? error.code : 'unreadable'})`;
  }
}
