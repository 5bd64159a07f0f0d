/**
 * Finds and loads kiln.config.ts (TypeScript, no compile step: jiti), validates it, and returns
 * `{ path, config, dependencies }`. The dependencies are the local files the config imported.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../errors.js';
import type { KilnConfig } from './types.js';
import type { OptionsSpec } from './options.js';

export const CONFIG_NAMES = ['kiln.config.ts', 'kiln.config.mts', 'kiln.config.js', 'kiln.config.mjs'];

/** A loaded `kiln.config.ts`: where it is, the validated config, and the files it imports (for the plan cache). */
export interface LoadedConfig {
  /** Absolute path of the config file. */
  path: string;
  /** The project folder (the config's folder). */
  projectDir: string;
  /** The config as validated (its `default` export). */
  config: KilnConfig<OptionsSpec>;
  /** Absolute paths of local files the config imports (itself included). */
  dependencies: string[];
}

/** Finds the config in `dir` or its ancestors. */
export function findConfig(dir: string): string | undefined {
  let current = resolve(dir);
  for (;;) {
    for (const name of CONFIG_NAMES) {
      const candidate = join(current, name);
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/**
 * The config file `--config PATH` (a file, or a folder to search from; default the current folder)
 * names, or undefined when there is none. loadConfig says why in its errors.
 */
export function findConfigPath(path?: string): string | undefined {
  const start = path ? resolve(path) : process.cwd();
  const isFolder = existsSync(start) && statSync(start).isDirectory();
  const file = !path || isFolder ? findConfig(start) : start;
  return file && existsSync(file) && !statSync(file).isDirectory() ? file : undefined;
}

const kilnEntry = fileURLToPath(new URL('../index.js', import.meta.url));
const kilnRoot = dirname(kilnEntry);

/** Local imports of a module, followed recursively (relative specifiers only). */
function localDependencies(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const m of text.matchAll(
      /(?:import|export)[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
    )) {
      const spec = m[1] ?? m[2]!;
      const base = resolve(dirname(file), spec);
      const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}.js`, join(base, 'index.ts')];
      const found = candidates.find((c) => existsSync(c) && !c.endsWith('/'));
      if (found) visit(found);
    }
  };
  visit(entry);
  return [...seen];
}

/**
 * Loads and validates a config file.
 * @param path the config file, or a folder to search from (default: the current folder)
 */
export async function loadConfig(path?: string): Promise<LoadedConfig> {
  const start = path ? resolve(path) : process.cwd();
  // --config names a config file, or a folder to search from (like the current folder).
  const isFolder = existsSync(start) && statSync(start).isDirectory();
  const file = !path || isFolder ? findConfig(start) : start;
  const shown = (p: string) => relative(process.cwd(), p) || p;
  if (path && !isFolder && !existsSync(start)) {
    throw new KilnError('CONFIG_NOT_FOUND', `--config ${path}: no such file`, {
      hint: 'give the path of a kiln.config.ts, or of the folder holding one',
      exitCode: 2,
    });
  }
  if (!file || !existsSync(file)) {
    throw new KilnError('CONFIG_NOT_FOUND', `no kiln.config.ts found in ${shown(start)} or its parent folders`, {
      hint: 'create one with `kiln init`, or point at it with --config FILE',
      exitCode: 2,
    });
  }
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, {
    fsCache: true,
    moduleCache: false,
    interopDefault: true,
    // kiln's own modules (dist/, plain ESM) load natively; only the config's TypeScript is
    // transformed (and cached on disk), so a no-op build does not pay for a Babel pass.
    tryNative: true,
    alias: { 'kiln/config': join(kilnRoot, 'config', 'index.js'), kiln: kilnEntry },
  });
  let loaded: unknown;
  try {
    loaded = await jiti.import(file, { default: true });
  } catch (error) {
    const e = error as Error & { code?: string };
    const text = e?.message ?? String(error);
    // Babel-style `(line:column)`, or jiti's parse errors: a second line ` /path/file.ts:line:column` (0-based column).
    const location = /\((\d+):(\d+)\)/.exec(text);
    const parseAt = location ? undefined : /^\s*\S+:(\d+):(\d+)\s*$/m.exec(text.split('\n').slice(1).join('\n'));
    const where = location
      ? { line: Number(location[1]), column: Number(location[2]) }
      : parseAt
        ? { line: Number(parseAt[1]), column: Number(parseAt[2]) + 1 }
        : {};
    throw new KilnError('CONFIG_LOAD_FAILED', `could not load the config: ${text.split('\n')[0]!.trim()}`, {
      location: { file: shown(file), ...where },
      hint: 'fix the error in the config file (it is TypeScript run by jiti); run with --debug for the stack',
      cause: error,
      exitCode: 2,
    });
  }
  if (loaded === undefined || loaded === null || typeof loaded !== 'object') {
    throw new KilnError(
      'CONFIG_INVALID',
      `the config must default-export defineConfig({...}), got ${loaded === undefined ? 'nothing' : typeof loaded}`,
      {
        location: { file: shown(file) },
        hint: "end the file with: export default defineConfig({ name: 'my-os', ... })",
        exitCode: 2,
      },
    );
  }
  // zod loads only when a config is loaded (a cached plan needs neither it nor jiti).
  const { validateConfigValue, zConfig } = await import('./schema.js');
  validateConfigValue(zConfig, loaded, shown(file));
  // The schema checks the shape; the original object is kept, so step handles keep their identity.
  const config = loaded as KilnConfig<OptionsSpec>;
  return { path: file, projectDir: dirname(file), config, dependencies: localDependencies(file) };
}
