/**
 * Runs a planned graph: computes each step's action key from its declared inputs (stat index,
 * no re-hashing of unchanged files), skips steps whose key and outputs are unchanged, restores
 * cached outputs (verified by hash), runs the rest in parallel (-j), and records the result.
 * Outputs are written to a staging folder and moved into place only after success.
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { glob as tinyGlob } from 'tinyglobby';

/** A glob pattern (vs a plain path)? Cheaper than picomatch's scan on the no-op path. */
const isDynamicPattern = (p: string): boolean => /[*?[\]{}!]|\(.*\|/.test(p);
import { KilnError } from '../errors.js';
import { resolveEpoch } from '../util/epoch.js';
import { describeExit, formatCommand, run } from '../util/process.js';
import { stepEnvironment, withoutSecrets } from '../util/step-env.js';
import { ActionCache, writeFileAtomic } from './cache.js';
import type { BuildEvent, EventSink, StepFailureInfo, StepStatus } from './events.js';
import { type ActionKey, type FileHash, type StatEntry, StatIndex, hashKey, statMatches } from './hashing.js';
import { acquireLock } from './lock.js';
import { type Graph, type PlannedStep, resolveArtifact } from './plan.js';
import {
  type ArtifactRef, type ExecOptions, type FileInput, type OutputPlaceholder, type StepContext, type StepHandle,
  StepFailure, isArtifactRef, isOutputPlaceholder, isStepHandle,
} from './step.js';
import { resolveTool } from './tools.js';
import { matchRule } from '../toolchain/doctor.js';

export interface ExecuteOptions {
  jobs?: number;
  keepGoing?: boolean;
  /** Wait for another build's lock (default true). */
  wait?: boolean;
  /** Only these steps (and what they need). */
  only?: string[];
  env?: NodeJS.ProcessEnv;
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Ignore the up-to-date check and the cache: run every step. */
  force?: boolean;
  /** Folder of the action cache (default `<project>/.kiln/cache`). */
  cacheDir?: string;
}

export interface StepRecord {
  key: string;
  outputs: Record<string, StatEntry>;
  /** Fingerprint parts, for explaining why a step reran. */
  why: Record<string, string>;
}

interface StateFile {
  version: 1;
  files: Record<string, StatEntry>;
  steps: Record<string, StepRecord>;
}

export interface StepResult {
  name: string;
  status: StepStatus;
  durationMs: number;
  reason?: string;
  failure?: StepFailureInfo;
  outputHashes: Record<string, string>;
}

export interface BuildResult {
  ok: boolean;
  interrupted: boolean;
  steps: Map<string, StepResult>;
  durationMs: number;
  counts: Record<StepStatus, number>;
  /** Absolute paths of every output, by step. */
  outputs: Record<string, string[]>;
  logPath: string;
}

const STATE_VERSION = 1;

function loadState(path: string): StateFile {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
    if (s.version === STATE_VERSION && s.files && s.steps) return s;
  } catch {
    /* first build, or an unreadable state: start fresh */
  }
  return { version: STATE_VERSION, files: {}, steps: {} };
}

const ERROR_LINE = /\b(error|fatal|undefined reference|cannot find|not found|failed|panicked|No such file)\b/i;

/** The last lines of a tool's output, preferring lines that look like errors (as ninja and zx do). */
export function interestingTail(output: string, max = 20): string[] {
  const lines = output.replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '');
  if (lines.length <= max) return lines;
  const errorIdx = lines.map((l, i) => (ERROR_LINE.test(l) ? i : -1)).filter((i) => i >= 0);
  if (errorIdx.length === 0) return lines.slice(-max);
  const picked = new Set<number>();
  for (const i of errorIdx.slice(0, max)) for (let j = i; j < Math.min(lines.length, i + 3) && picked.size < max; j++) picked.add(j);
  return [...picked].sort((a, b) => a - b).map((i) => lines[i]!);
}

/** Collects the steps needed for `only` (and their dependencies). */
function selectSteps(graph: Graph, only: string[] | undefined): PlannedStep[] {
  if (!only || only.length === 0) return graph.steps;
  const wanted = new Set<PlannedStep>();
  const visit = (s: PlannedStep): void => {
    if (wanted.has(s)) return;
    wanted.add(s);
    s.deps.forEach(visit);
  };
  for (const name of only) {
    const s = graph.byName.get(name);
    if (!s) {
      throw new KilnError('STEP_UNKNOWN', `no step named "${name}"`, { hint: `steps: ${graph.steps.map((x) => x.name).join(', ')}`, exitCode: 2 });
    }
    visit(s);
  }
  return graph.steps.filter((s) => wanted.has(s));
}

export async function executeGraph(graph: Graph, options: ExecuteOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const emit = (event: BuildEvent): void => options.onEvent?.(event);
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const steps = selectSteps(graph, options.only);
  const internalDir = join(graph.buildDir, '.kiln');
  mkdirSync(internalDir, { recursive: true });
  const lock = await acquireLock(join(internalDir, 'lock'), {
    wait: options.wait ?? true,
    onWait: (holderPid) => emit({ type: 'lock-wait', time: Date.now(), path: join(internalDir, 'lock'), holderPid }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const statePath = join(internalDir, 'state.json');
  const state = loadState(statePath);
  const index = new StatIndex(state.files);
  const cache = new ActionCache(options.cacheDir ?? join(graph.projectDir, '.kiln', 'cache'));
  const epoch = resolveEpoch(env);
  const logDir = join(graph.buildRoot, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, 'build.log');
  const log: WriteStream = createWriteStream(logPath, { flags: 'a' });
  log.write(`\n=== kiln build ${graph.target.id} at ${new Date().toISOString()}\n`);
  const staging = join(internalDir, 'staging');
  const stepLogDir = join(internalDir, 'logs');
  rmSync(staging, { recursive: true, force: true });

  const results = new Map<string, StepResult>();
  /** Step → the tools it declared, name → resolved path (for `kiln status`'s toolchain line). */
  const toolsUsed = new Map<string, Record<string, string>>();
  const outputHashes = new Map<string, Record<string, string>>();
  const counts: Record<StepStatus, number> = { ran: 0, cached: 0, 'up-to-date': 0, failed: 0, skipped: 0 };
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let failedAny = false;

  emit({ type: 'build-start', time: Date.now(), target: graph.target.id, total: steps.length, jobs });

  const artifactPath = (ref: ArtifactRef | StepHandle, consumer: PlannedStep): { rel: string; abs: string; producer: PlannedStep } => {
    const handle = isStepHandle(ref) ? ref : ref.step;
    const producer = graph.byHandle.get(handle);
    if (!producer) throw new KilnError('ARTIFACT_MISSING', `step "${consumer.name}" reads a step that is not in the graph`);
    const rel = isArtifactRef(ref) ? resolveArtifact(ref, producer, consumer, graph.projectDir) : producer.outputs[0]!;
    return { rel, abs: join(graph.buildDir, rel), producer };
  };

  /** Options with artifact refs replaced by their content hashes: the data part of the key. */
  const keyData = (step: PlannedStep): unknown => {
    const seen = new Set<unknown>();
    const replace = (v: unknown): unknown => {
      if (isArtifactRef(v) || isStepHandle(v)) {
        const { rel, producer } = artifactPath(v, step);
        return { artifact: rel, hash: outputHashes.get(producer.name)?.[rel] ?? 'missing' };
      }
      if (isOutputPlaceholder(v)) return { out: v.output };
      if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof RegExp) return v;
      if (seen.has(v)) return '[cycle]';
      seen.add(v);
      if (Array.isArray(v)) return v.map(replace);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replace(x)]));
    };
    return replace(step.declaration.key ?? step.options);
  };

  const expandInputs = async (step: PlannedStep): Promise<string[]> => {
    const out: string[] = [];
    for (const pattern of step.declaration.inputs ?? []) {
      const abs = isAbsolute(pattern) ? pattern : join(graph.projectDir, pattern);
      if (isDynamicPattern(pattern)) {
        const matches = await tinyGlob(pattern, { cwd: graph.projectDir, absolute: true, onlyFiles: true, dot: false, ignore: ['**/node_modules/**', `${relative(graph.projectDir, graph.buildRoot)}/**`, '.kiln/**', '**/target/**'] });
        out.push(...matches.sort());
      } else {
        out.push(abs);
      }
    }
    return [...new Set(out)];
  };

  const fingerprint = async (step: PlannedStep): Promise<{ key: ActionKey; why: Record<string, string> }> => {
    const why: Record<string, string> = {};
    for (const file of await expandInputs(step)) {
      const hash = index.hash(file);
      if (hash === undefined) {
        throw new KilnError('INPUT_MISSING', `step "${step.name}": input ${relative(graph.projectDir, file)} does not exist`, {
          location: { file: relative(process.cwd(), file), configPath: step.configPath },
          hint: 'create the file, or fix the path in the config (paths are relative to the config folder)',
        });
      }
      why[`file:${relative(graph.projectDir, file)}`] = hash.slice(0, 16);
    }
    for (const name of step.declaration.env ?? []) why[`env:${name}`] = hashKey(env[name] ?? null);
    for (const tool of step.declaration.tools ?? []) {
      const identity = await resolveTool(tool, env, index);
      why[`tool:${tool}`] = identity ? `${identity.path}@${identity.hash}` : 'missing';
    }
    why.options = hashKey(keyData(step));
    why.step = `${step.handle.kind.kind}@${step.handle.kind.version}`;
    why.target = graph.target.id;
    why.epoch = String(epoch);
    why.outputs = step.outputs.join(',');
    return { key: hashKey(why), why };
  };

  const explain = (prev: StepRecord | undefined, why: Record<string, string>): string => {
    if (!prev) return 'never built';
    const changed: string[] = [];
    for (const k of new Set([...Object.keys(prev.why ?? {}), ...Object.keys(why)])) {
      if (prev.why?.[k] !== why[k]) changed.push(prev.why?.[k] === undefined ? `${k} added` : why[k] === undefined ? `${k} removed` : `${k} changed`);
    }
    return changed.length ? changed.slice(0, 3).join(', ') + (changed.length > 3 ? ` (+${changed.length - 3} more)` : '') : 'outputs changed on disk';
  };

  const outputsIntact = (step: PlannedStep, record: StepRecord): boolean => {
    for (const rel of step.outputs) {
      const entry = record.outputs[rel];
      try {
        if (!statMatches(entry, statSync(join(graph.buildDir, rel)))) return false;
      } catch {
        return false;
      }
    }
    return true;
  };

  const makeContext = (step: PlannedStep, stageDir: string, output: string[], warnings: string[]): StepContext => {
    const resolvePath = (input: FileInput): string => {
      if (typeof input === 'string') return isAbsolute(input) ? input : join(graph.projectDir, input);
      return artifactPath(input, step).abs;
    };
    const outPath = (name?: string): string => {
      const rel = name === undefined ? step.outputs[0] : step.outputs.find((o) => o === name || o.endsWith(`/${name}`));
      if (!rel) throw new KilnError('OUTPUT_UNDECLARED', `step "${step.name}" writes ${name ?? 'an output'} but declared only ${step.outputs.join(', ') || 'none'}`);
      const p = join(stageDir, rel);
      mkdirSync(dirname(p), { recursive: true });
      return p;
    };
    const workDir = step.declaration.workDir ? join(graph.buildDir, step.declaration.workDir) : undefined;
    if (workDir) mkdirSync(workDir, { recursive: true });
    const stepEnv = stepEnvironment(env, step.declaration, epoch);
    return {
      name: step.name,
      projectDir: graph.projectDir,
      buildDir: graph.buildDir,
      target: graph.target,
      epoch,
      env: stepEnv.env,
      secrets: stepEnv.secrets,
      signal: abort.signal,
      path: resolvePath,
      outPath,
      workDir,
      log: (line) => output.push(`${line}\n`),
      warn: (message) => warnings.push(message),
      async exec(argv: Array<string | FileInput | OutputPlaceholder>, execOptions: ExecOptions = {}) {
        const resolved = argv.map((a) => (typeof a === 'string' ? a : isOutputPlaceholder(a) ? outPath(a.output) : resolvePath(a)));
        output.push(`$ ${formatCommand(resolved)}\n`);
        const result = await run(resolved, {
          cwd: execOptions.cwd ?? graph.projectDir,
          env: withoutSecrets(execOptions.env ?? stepEnv.env),
          signal: abort.signal,
          ...(execOptions.timeoutMs ? { timeoutMs: execOptions.timeoutMs } : {}),
          ...(execOptions.input !== undefined ? { input: execOptions.input } : {}),
        });
        if (result.output) output.push(result.output.endsWith('\n') ? result.output : `${result.output}\n`);
        if (!execOptions.allowFailure && (result.code !== 0 || result.spawnError)) {
          const meaning = result.timedOut ? `timed out after ${execOptions.timeoutMs} ms` : describeExit(result.code, result.signal, result.spawnError);
          throw new StepFailure(`${resolved[0]} failed: ${meaning}`, {
            command: formatCommand(resolved),
            exitCode: result.code,
            output: result.output,
            ...(result.spawnError?.code === 'ENOENT' ? { hint: `install ${resolved[0]} or check PATH (kiln doctor lists what is missing)` } : {}),
          });
        }
        return result;
      },
    };
  };

  const runOne = async (step: PlannedStep): Promise<StepResult> => {
    const t0 = performance.now();
    const prev = state.steps[step.name];
    const { key, why } = await fingerprint(step);
    toolsUsed.set(step.name, Object.fromEntries(Object.entries(why)
      .filter(([k, v]) => k.startsWith('tool:') && v !== 'missing')
      .map(([k, v]) => [k.slice('tool:'.length), v.replace(/@[0-9a-f]+$/, '')])));
    const untracked = step.declaration.untracked === true || step.outputs.length === 0;
    const done = (status: StepStatus, hashes: Record<string, string>, extra: Partial<StepResult> = {}): StepResult => {
      outputHashes.set(step.name, hashes);
      return { name: step.name, status, durationMs: performance.now() - t0, outputHashes: hashes, ...extra };
    };
    // 1. Up to date: same key, outputs untouched on disk. Only stat calls.
    if (!options.force && !untracked && prev && prev.key === key && outputsIntact(step, prev)) {
      return done('up-to-date', Object.fromEntries(Object.entries(prev.outputs).map(([k, e]) => [k, e[3]])));
    }
    // 2. In the cache: restore, verifying every object.
    if (!options.force && !untracked) {
      const entry = cache.get(key);
      if (entry && step.outputs.every((o) => entry.outputs[o])) {
        let ok = true;
        const record: StepRecord = { key, outputs: {}, why };
        for (const rel of step.outputs) {
          const o = entry.outputs[rel]!;
          const dest = join(graph.buildDir, rel);
          if (!cache.restore(o.hash, dest, o.mode)) {
            ok = false;
            break;
          }
          record.outputs[rel] = index.record(dest, o.hash)!;
        }
        if (ok) {
          state.steps[step.name] = record;
          return done('cached', Object.fromEntries(step.outputs.map((o) => [o, entry.outputs[o]!.hash])), { reason: explain(prev, why) });
        }
      }
    }
    // 3. Run it.
    const reason = options.force ? 'forced' : untracked ? 'not fully tracked (runs every time)' : explain(prev, why);
    emit({ type: 'step-start', time: Date.now(), step: step.name, kind: step.handle.kind.kind, reason });
    const stageDir = join(staging, step.name);
    rmSync(stageDir, { recursive: true, force: true });
    mkdirSync(stageDir, { recursive: true });
    const output: string[] = [];
    const warnings: string[] = [];
    const ctx = makeContext(step, stageDir, output, warnings);
    try {
      await step.handle.kind.make(step.options, ctx);
      if (abort.signal.aborted) throw new KilnError('INTERRUPTED', 'interrupted');
      const record: StepRecord = { key, outputs: {}, why };
      const hashes: Record<string, string> = {};
      const entryOutputs: Record<string, { hash: string; size: number; mode: number }> = {};
      for (const rel of step.outputs) {
        const staged = join(stageDir, rel);
        if (!existsSync(staged)) {
          throw new StepFailure(`did not write its declared output ${rel}`, { hint: 'write every declared output to ctx.outPath(name) (or declare fewer outputs)' });
        }
        const dest = join(graph.buildDir, rel);
        mkdirSync(dirname(dest), { recursive: true });
        renameSync(staged, dest);
        const hash = index.hash(dest) as FileHash;
        const s = statSync(dest);
        record.outputs[rel] = [s.size, s.mtimeMs, s.ino, hash];
        hashes[rel] = hash;
        entryOutputs[rel] = { hash, size: s.size, mode: s.mode & 0o777 };
        if (!untracked) cache.putObject(dest, hash);
      }
      if (!untracked) cache.put(key, { outputs: entryOutputs, createdAt: Date.now() });
      state.steps[step.name] = record;
      return done('ran', hashes, { reason, ...(warnings.length ? { warnings } : {}) } as Partial<StepResult>);
    } catch (error) {
      delete state.steps[step.name];
      const doctorHint = error instanceof StepFailure && !error.hint ? matchRule(error.output) : undefined;
      const failure: StepFailureInfo = error instanceof StepFailure
        ? { message: error.message, ...(error.command ? { command: error.command } : {}), exitCode: error.exitCode ?? null, tail: interestingTail(error.output), ...(error.hint ? { hint: error.hint } : doctorHint ? { hint: `${doctorHint.cause}: ${doctorHint.fix}` } : {}) }
        : error instanceof KilnError
          ? { message: error.toLine(), tail: [], ...(error.hint ? { hint: error.hint } : {}), code: error.code }
          : { message: (error as Error)?.stack ?? String(error), tail: [] };
      return done('failed', {}, { failure, reason });
    } finally {
      const text = output.join('');
      log.write(`--- [${step.name}] (${step.handle.kind.kind}) ${reason}\n${text}`);
      // Each step's full output of its last run, for `kiln status` (diagnostics parsing).
      writeFileAtomic(join(stepLogDir, `${step.name}.log`), text);
      rmSync(stageDir, { recursive: true, force: true });
    }
  };

  // Scheduler: a step becomes ready when its last selected dependency finishes; up to `jobs` run at once.
  const selected = new Set(steps);
  const waitingOn = new Map<PlannedStep, number>();
  for (const s of steps) waitingOn.set(s, s.deps.filter((d) => selected.has(d)).length);
  const ready: PlannedStep[] = steps.filter((s) => waitingOn.get(s) === 0);
  let readyAt = 0;
  const running = new Set<Promise<void>>();
  let remaining = steps.length;
  let stopScheduling = false;
  const finish = (step: PlannedStep, result: StepResult): void => {
    results.set(step.name, result);
    counts[result.status]++;
    remaining--;
    if (result.status === 'failed') {
      failedAny = true;
      if (!options.keepGoing) stopScheduling = true;
    }
    emit({
      type: 'step-finish', time: Date.now(), step: step.name, kind: step.handle.kind.kind, status: result.status,
      durationMs: result.durationMs,
      ...(result.reason ? { reason: result.reason } : {}),
      ...(result.failure ? { failure: result.failure } : {}),
      ...((result as { warnings?: string[] }).warnings ? { warnings: (result as { warnings?: string[] }).warnings } : {}),
      outputs: step.outputs.map((o) => join(graph.buildDir, o)),
    });
    const failed = result.status === 'failed' || result.status === 'skipped';
    for (const d of step.dependents) {
      if (!selected.has(d) || results.has(d.name)) continue;
      if (failed) {
        finish(d, { name: d.name, status: 'skipped', durationMs: 0, reason: `"${step.name}" ${result.status === 'failed' ? 'failed' : 'was skipped'}`, outputHashes: {} });
        continue;
      }
      const left = waitingOn.get(d)! - 1;
      waitingOn.set(d, left);
      if (left === 0) ready.push(d);
    }
  };
  try {
    while (remaining > 0) {
      if (abort.signal.aborted) stopScheduling = true;
      while (!stopScheduling && running.size < jobs && readyAt < ready.length) {
        const step = ready[readyAt++]!;
        if (results.has(step.name)) continue;
        const p: Promise<void> = runOne(step).then((r) => {
          running.delete(p);
          finish(step, r);
        });
        running.add(p);
      }
      if (running.size === 0) {
        // Nothing runs and nothing can start: stopped after a failure or interrupted.
        for (const step of steps) {
          if (!results.has(step.name)) finish(step, { name: step.name, status: 'skipped', durationMs: 0, reason: abort.signal.aborted ? 'interrupted' : 'build stopped after a failure', outputHashes: {} });
        }
        break;
      }
      await Promise.race(running);
    }
  } finally {
    try {
      // A no-op build changes nothing: skip re-serializing the index (ninja's no-op is stat calls only).
      const changed = index.dirty || [...results.values()].some((r) => r.status !== 'up-to-date');
      if (changed) {
        state.files = index.toJSON();
        writeFileAtomic(statePath, JSON.stringify(state));
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      rmSync(staging, { recursive: true, force: true });
      await new Promise<void>((r) => log.end(r));
      lock.release();
    }
  }
  const durationMs = performance.now() - started;
  const interrupted = options.signal?.aborted ?? false;
  const ok = !failedAny && !interrupted;
  emit({ type: 'build-finish', time: Date.now(), target: graph.target.id, ok, durationMs, counts, ...(interrupted ? { interrupted } : {}) });
  const outputs = Object.fromEntries(steps.map((s) => [s.name, s.outputs.map((o) => join(graph.buildDir, o))]));
  // The last build's results, for `kiln status`: every step with its status, failure and log.
  writeFileAtomic(join(internalDir, 'last-build.json'), JSON.stringify({
    version: 1, target: graph.target.id, time: Date.now(), ok, interrupted, durationMs, counts,
    steps: graph.steps.map((s) => {
      const r = results.get(s.name);
      return {
        name: s.name, kind: s.handle.kind.kind, configPath: s.configPath, deps: s.deps.map((d) => d.name), outputs: s.outputs,
        status: r?.status ?? 'not-selected', durationMs: r?.durationMs ?? 0,
        ...(r?.reason ? { reason: r.reason } : {}), ...(r?.failure ? { failure: r.failure } : {}),
        log: join(stepLogDir, `${s.name}.log`), workDir: s.declaration.workDir ? join(graph.buildDir, s.declaration.workDir) : undefined,
        ...(toolsUsed.get(s.name) ? { tools: toolsUsed.get(s.name) } : {}),
      };
    }),
  }, null, 1));
  return { ok, interrupted, steps: results, durationMs, counts, outputs, logPath };
}

/** Runs a subprocess for `kiln run`-style uses outside the graph. */
export { run };
