/**
 * Tool identity for action keys: a tool named in a step is resolved on PATH (or taken as an
 * absolute path), its real path found, and its content hashed through the stat index, so a
 * toolchain upgrade changes the key without running `--version` on every build.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { findExecutable } from '../util/which.js';
import type { FileHash, StatIndex } from './hashing.js';

export interface ToolIdentity {
  /** The executable's real path. */
  path: string;
  hash: FileHash;
}

const memo = new WeakMap<StatIndex, Map<string, ToolIdentity | undefined>>();

/** Resolves a tool once per build (memoized per stat index). */
export function resolveTool(name: string, env: NodeJS.ProcessEnv, index: StatIndex): ToolIdentity | undefined {
  let cache = memo.get(index);
  if (!cache) memo.set(index, (cache = new Map()));
  if (cache.has(name)) return cache.get(name);
  const identity = resolveToolUncached(name, env, index);
  cache.set(name, identity);
  return identity;
}

function resolveToolUncached(name: string, env: NodeJS.ProcessEnv, index: StatIndex): ToolIdentity | undefined {
  const found = isAbsolute(name) ? name : findExecutable(name, env);
  if (!found) return undefined;
  let real: string;
  try {
    real = realpathSync(found);
  } catch {
    return undefined;
  }
  const hash = index.hash(real);
  return hash ? { path: real, hash } : undefined;
}
