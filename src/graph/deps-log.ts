/**
 * Discovered inputs ("deps log", as ninja keeps one): the files a step reported reading
 * (StepContext.reads, from depfiles and dep-info) are stored with its state and fingerprinted on
 * the next build next to its declared inputs. Keys are path-independent: project files are
 * project-relative, generated files `$build/<path in the target folder>`; files outside both
 * (system headers) belong to the tool's identity and are not recorded.
 */
import { isAbsolute, relative, sep } from 'node:path';
import type { PlannedStep } from './graph.js';
import { joinPlain } from '../util/paths.js';

const BUILD_PREFIX = '$build/';

function inside(base: string, path: string): string | undefined {
  const rel = relative(base, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split(sep).join('/');
}

/**
 * The recorded name of a file a step read, or undefined when it is not recorded.
 * @example readKey('/p/build/i386-debug/abi/x.h', '/p', '/p/build/i386-debug') // '$build/abi/x.h'
 */
export function readKey(abs: string, projectDir: string, buildDir: string, buildRoot: string): string | undefined {
  const inBuild = inside(buildDir, abs);
  if (inBuild !== undefined) return inBuild.startsWith('.kiln/') ? undefined : `${BUILD_PREFIX}${inBuild}`;
  if (inside(buildRoot, abs) !== undefined) return undefined; // another target's folder, logs
  return inside(projectDir, abs);
}

/** The absolute path of a recorded name. */
export function readPath(key: string, projectDir: string, buildDir: string): string {
  return key.startsWith(BUILD_PREFIX)
    ? joinPlain(buildDir, key.slice(BUILD_PREFIX.length))
    : joinPlain(projectDir, key);
}

/** Recorded names of the absolute paths a step reported, sorted and deduplicated. */
export function readKeys(paths: Iterable<string>, projectDir: string, buildDir: string, buildRoot: string): string[] {
  const keys = new Set<string>();
  for (const p of paths) {
    const k = readKey(p, projectDir, buildDir, buildRoot);
    if (k !== undefined) keys.add(k);
  }
  return [...keys].sort();
}

/**
 * A generated file the step read without depending on its producer: the build order would be
 * luck (the header may be stale or missing). Returns the first such file and its producer.
 * @example undeclaredGenerated(['$build/abi/x.h'], step, owners) // { file: 'abi/x.h', producer: 'abi' }
 */
export function undeclaredGenerated(
  keys: string[],
  step: PlannedStep,
  owners: ReadonlyMap<string, PlannedStep>,
): { file: string; producer: string } | undefined {
  const upstream = new Set<PlannedStep>();
  const visit = (s: PlannedStep): void => {
    for (const d of s.deps) {
      if (!upstream.has(d)) {
        upstream.add(d);
        visit(d);
      }
    }
  };
  visit(step);
  for (const k of keys) {
    if (!k.startsWith(BUILD_PREFIX)) continue;
    const file = k.slice(BUILD_PREFIX.length);
    const producer = owners.get(file);
    if (producer && producer !== step && !upstream.has(producer)) return { file, producer: producer.name };
  }
  return undefined;
}
