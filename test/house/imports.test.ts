// The house rules of docs/ARCHITECTURE.md ("Layout"), checked over the import graph of src/:
// each folder imports only the folders below it, no files import each other in a circle, and no
// command file in src/cli imports another command (shared helpers live in src/cli/_*.ts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../_helpers.js';

/** Folder (or top-level module) → what it may import. Keep in step with docs/ARCHITECTURE.md. */
const MAY_IMPORT: Record<string, string[]> = {
  errors: [],
  util: ['errors'],
  formats: ['util', 'errors'],
  abi: ['util', 'errors'],
  sign: ['formats', 'util', 'errors'],
  toolchain: ['formats', 'util', 'errors'],
  boot: ['abi', 'util', 'errors'],
  audit: ['formats', 'sign', 'util', 'errors'],
  step: ['toolchain', 'util', 'errors'],
  report: ['formats', 'step', 'toolchain', 'util', 'errors'],
  qemu: ['formats', 'report', 'toolchain', 'util', 'errors'],
  config: ['qemu', 'report', 'step', 'toolchain', 'util', 'errors'],
  graph: ['config', 'report', 'sign', 'step', 'util', 'errors'],
  repro: ['formats', 'graph', 'step', 'util', 'errors'],
  flash: ['formats', 'util', 'errors'],
  dev: ['config', 'graph', 'qemu', 'report', 'step', 'util', 'errors'],
  steps: ['abi', 'audit', 'boot', 'config', 'formats', 'sign', 'step', 'toolchain', 'util', 'errors'],
  cli: [
    'abi',
    'audit',
    'boot',
    'config',
    'dev',
    'flash',
    'formats',
    'graph',
    'qemu',
    'repro',
    'report',
    'sign',
    'step',
    'steps',
    'toolchain',
    'util',
    'errors',
  ],
  index: [
    'abi',
    'audit',
    'boot',
    'config',
    'formats',
    'graph',
    'qemu',
    'repro',
    'report',
    'sign',
    'step',
    'steps',
    'toolchain',
    'util',
    'errors',
  ],
};

const src = join(repoRoot, 'src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** `src/graph/plan.ts` → graph; `src/errors.ts` → errors. */
function folderOf(file: string): string {
  const [first, ...rest] = relative(src, file).split('/');
  return rest.length ? first! : first!.replace(/\.ts$/, '');
}

/** Every relative import of every file under src/, as absolute .ts paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) =>
      resolve(dirname(file), (m[1] ?? m[2])!).replace(/\.js$/, '.ts'),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** The circles of a directed graph (Tarjan's strongly connected components of more than one file). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      component.push(relative(src, w));
      if (w === v) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the house (import rules of docs/ARCHITECTURE.md)', () => {
  const graph = importGraph();

  it('each folder imports only the folders it may', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      for (const target of targets) {
        const to = folderOf(target);
        if (to === from) continue;
        const allowed = MAY_IMPORT[from];
        if (!allowed) wrong.push(`${relative(src, file)}: folder "${from}" is not in the table`);
        else if (!allowed.includes(to))
          wrong.push(`${relative(src, file)} imports ${relative(src, target)} (${from} → ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the table itself has no circle (so the folders have none)', () => {
    const table = new Map(Object.entries(MAY_IMPORT));
    expect(circles(new Map([...table].map(([k, v]) => [join(src, k), v.map((x) => join(src, x))])))).toEqual([]);
  });

  it('no files import each other in a circle', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('no command file in src/cli imports another (main.ts wires them; image.ts dispatches image-*.ts)', () => {
    const cli = join(src, 'cli');
    const isCommand = (f: string): boolean => dirname(f) === cli && !f.split('/').pop()!.startsWith('_');
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      if (!isCommand(file) || file.endsWith('/main.ts')) continue;
      for (const target of targets) {
        if (!isCommand(target) || target === file) continue;
        if (file.endsWith('/image.ts') && /\/image-[a-z]+\.ts$/.test(target)) continue;
        wrong.push(`${relative(src, file)} imports ${relative(src, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
