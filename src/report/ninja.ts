/**
 * Ninja's own view of a build folder: the targets (`build` statements of build.ninja, ninja
 * manual "Ninja file reference": `build outputs | implicit: rule inputs | implicit || order-only`,
 * `$` escapes and `$`-newline continuations, `include`/`subninja`), which of them are up to date
 * (asked from ninja itself with a dry run, `ninja -n -d explain`), and the per-target durations
 * of `.ninja_log` (format v5/v6: `start end mtime output cmdhash`, tab separated).
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../util/process.js';

/** A build edge of a Ninja file: its first output and rule. */
export interface NinjaEdge {
  /** First explicit output, relative to the build folder. */
  output: string;
  rule: string;
  /** Explicit inputs (for a compile edge: the source file, usually absolute in CMake builds). */
  inputs: string[];
  kind: 'compile' | 'link' | 'archive' | 'other';
}

/** One line of `.ninja_log`: an output with its start and end times. */
export interface NinjaLogEntry {
  output: string;
  startMs: number;
  endMs: number;
  mtime: string;
  hash: string;
}

/** How far a Ninja build got: the edges planned and those done (`kiln status` on CMake projects). */
export interface NinjaProgress {
  buildDir: string;
  edges: NinjaEdge[];
  total: number;
  /** Outputs ninja considers dirty (would rebuild). */
  pending: string[];
  built: number;
  /** How `pending` was found: `ninja -n` (authoritative) or `.ninja_log` (ninja not runnable). */
  source: 'ninja-dry-run' | 'ninja-log';
  log: NinjaLogEntry[];
}

const SKIP_RULES = new Set(['phony', 'RERUN_CMAKE', 'CLEAN', 'HELP', 'VERIFY_GLOBS']);

function unescapePath(s: string): string {
  return s.replace(/\$([ :$])/g, '$1');
}

/** Splits a build-statement path list on unescaped spaces. */
function splitPaths(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '$' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === ' ') {
      if (cur) out.push(unescapePath(cur));
      cur = '';
    } else cur += c;
  }
  if (cur) out.push(unescapePath(cur));
  return out;
}

/** Index of the first unescaped `:` in a build line. */
function colonAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '$') i++;
    else if (s[i] === ':') return i;
  }
  return -1;
}

function edgeKind(rule: string): NinjaEdge['kind'] {
  if (/COMPILER|^cc$|^cxx$|compile/i.test(rule)) return 'compile';
  if (/STATIC_LIBRARY|^ar$|archive/i.test(rule)) return 'archive';
  if (/LINKER|^link$/i.test(rule)) return 'link';
  return 'other';
}

/**
 * The build statements of a build.ninja (following include/subninja), without ninja's phony and
 * CMake's housekeeping edges (re-run CMake, clean, help, *.util custom targets).
 *
 * @example
 * parseBuildNinja('/p/build/cmake').filter((e) => e.kind === 'compile').length
 */
export function parseBuildNinja(buildDir: string, file = 'build.ninja', seen = new Set<string>()): NinjaEdge[] {
  const path = join(buildDir, file);
  if (seen.has(path) || !existsSync(path)) return [];
  seen.add(path);
  const text = readFileSync(path, 'utf8').replace(/\$\r?\n\s*/g, '');
  const edges: NinjaEdge[] = [];
  for (const line of text.split('\n')) {
    const inc = /^(?:include|subninja) (.+)$/.exec(line);
    if (inc) {
      edges.push(...parseBuildNinja(buildDir, unescapePath(inc[1]!.trim()), seen));
      continue;
    }
    if (!line.startsWith('build ')) continue;
    const body = line.slice(6);
    const c = colonAt(body);
    if (c < 0) continue;
    const outs = splitPaths(body.slice(0, c).split(' | ')[0]!);
    const rest = body.slice(c + 1).trim();
    const sp = rest.indexOf(' ');
    const rule = sp < 0 ? rest : rest.slice(0, sp);
    if (SKIP_RULES.has(rule) || outs.length === 0) continue;
    if (outs.every((o) => o.endsWith('.util'))) continue;
    const explicit = sp < 0 ? '' : rest.slice(sp + 1).split(/ \|\|? /)[0]!;
    edges.push({ output: outs[0]!, rule, inputs: splitPaths(explicit), kind: edgeKind(rule) });
  }
  return edges;
}

/**
 * `.ninja_log` entries, the last record of each output (ninja appends one per command run).
 *
 * @example
 * parseNinjaLog(readFileSync('build/.ninja_log', 'utf8')).length
 */
export function parseNinjaLog(text: string): NinjaLogEntry[] {
  const latest = new Map<string, NinjaLogEntry>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const f = line.split('\t');
    if (f.length < 5) continue;
    latest.set(f[3]!, { output: f[3]!, startMs: Number(f[0]), endMs: Number(f[1]), mtime: f[2]!, hash: f[4]! });
  }
  return [...latest.values()];
}

/**
 * Targets built of total in a Ninja build folder, asking ninja which outputs are dirty.
 *
 * @example
 * const p = await ninjaProgress('/p/build/x86_64-debug/.kiln/work/cmake-kernel');
 * `${p.built}/${p.total}`
 */
export async function ninjaProgress(
  buildDir: string,
  options: { ninja?: string; targets?: string[] } = {},
): Promise<NinjaProgress | undefined> {
  if (!existsSync(join(buildDir, 'build.ninja'))) return undefined;
  const edges = parseBuildNinja(buildDir);
  const logPath = join(buildDir, '.ninja_log');
  const log = existsSync(logPath) ? parseNinjaLog(readFileSync(logPath, 'utf8')) : [];
  const outputs = new Set(edges.map((e) => e.output));
  let pending: string[] | undefined;
  let source: NinjaProgress['source'] = 'ninja-dry-run';
  // A dry run on a copy of the manifest: ninja would otherwise first "rebuild" build.ninja (CMake's
  // re-check of globbed sources is always dirty) and stop there. A dry run writes no log.
  const copy = `.kiln-status-${process.pid}.ninja`;
  try {
    copyFileSync(join(buildDir, 'build.ninja'), join(buildDir, copy));
    const r = await run(
      [
        options.ninja ?? 'ninja',
        '-C',
        buildDir,
        '-f',
        copy,
        '-n',
        '-d',
        'explain',
        '-k',
        '0',
        ...(options.targets ?? []),
      ],
      { timeoutMs: 60_000 },
    );
    if (r.code === 0 || r.code === 1) {
      const dirty = new Set<string>();
      for (const m of r.output.matchAll(/^ninja explain: (.+?) is dirty$/gm)) if (outputs.has(m[1]!)) dirty.add(m[1]!);
      for (const m of r.output.matchAll(/^ninja explain: output (.+?) doesn't exist$/gm))
        if (outputs.has(m[1]!)) dirty.add(m[1]!);
      pending = [...dirty];
    }
  } finally {
    rmSync(join(buildDir, copy), { force: true });
  }
  if (!pending) {
    source = 'ninja-log';
    const logged = new Set(log.map((e) => e.output));
    pending = edges.filter((e) => !logged.has(e.output) || !existsSync(join(buildDir, e.output))).map((e) => e.output);
  }
  return { buildDir, edges, total: edges.length, pending, built: edges.length - pending.length, source, log };
}

/** The source file of an object output (`kernel/CMakeFiles/kernel.dir/fs/log.c.o` → its compile input). */
export function sourceOfObject(progress: NinjaProgress, object: string): string | undefined {
  const edge = progress.edges.find((e) => e.output === object || join(progress.buildDir, e.output) === object);
  return edge?.kind === 'compile' ? edge.inputs[0] : undefined;
}
