/**
 * What one run of the executor shares between its steps: the graph, the build folder's layout,
 * the state read from the last build, the cache, the log, and what finished steps left for the
 * steps after them. Opened under the build lock; closing it saves the state and releases the lock.
 * (A dev loop keeps the executor alive: it would keep the state and stat index between runs.)
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { resolveEpoch } from '../util/epoch.js';
import { BuildLog } from './build-log.js';
import { type CacheTier, LocalCache } from './cache.js';
import { HttpCacheClient, type RemoteCacheFlags, resolveRemoteCache } from './remote-cache.js';
import { type RemoteReport, TieredCache } from './tiered-cache.js';
import type { BuildEvent } from './events.js';
import type { Diagnose } from './failure.js';
import type { Fingerprint, FingerprintSources } from './fingerprint.js';
import type { Graph } from './graph.js';
import type { FileHash } from './hashing.js';
import { type BuildLayout, buildLayout } from './layout.js';
import { acquireLock } from '../util/lock.js';
import { BuildState } from './state.js';

export interface SessionOptions {
  env?: NodeJS.ProcessEnv;
  /** Wait for another build's lock (default true). */
  wait?: boolean;
  signal?: AbortSignal;
  /** Ignore the up-to-date check and the cache: run every step. */
  force?: boolean;
  /** Folder of the local action cache (default `<project>/.kiln/cache`). */
  cacheDir?: string;
  /** Recognizes known causes in a failed tool's output (kiln doctor's rules). */
  diagnose?: Diagnose;
  /** Queue record writes (cache stores, step logs) in `deferred` instead of writing them at once. */
  deferRecords?: boolean;
  /**
   * Only decide "up to date": the first step that is not throws NotUpToDate (run-step.ts) before
   * touching the cache or running anything. For a graph from the plan cache, whose kinds cannot run.
   */
  checkOnly?: boolean;
  /** `--remote-cache URL` / `--remote-cache-read-only` (over KILN_REMOTE_CACHE and the config). */
  remoteCache?: RemoteCacheFlags;
  /**
   * The state to build on, kept in memory by a caller that builds again and again (`kiln dev`):
   * its stat index and step records are used as they are instead of being read from the state file.
   */
  state?: BuildState;
}

/** Wall time during which at least one tool process ran (parallel tools count once). */
export class ToolClock {
  private running = 0;
  private since = 0;
  private total = 0;

  begin(): void {
    if (this.running++ === 0) this.since = performance.now();
  }

  end(): void {
    if (--this.running === 0) this.total += performance.now() - this.since;
  }

  /** Milliseconds so far (a tool still running counts up to now). */
  get ms(): number {
    return this.total + (this.running > 0 ? performance.now() - this.since : 0);
  }
}

export interface BuildSession {
  readonly graph: Graph;
  readonly layout: BuildLayout;
  readonly env: NodeJS.ProcessEnv;
  readonly state: BuildState;
  readonly cache: CacheTier;
  readonly log: BuildLog;
  readonly force: boolean;
  readonly checkOnly: boolean;
  readonly diagnose: Diagnose | undefined;
  /** Aborted when the build is interrupted; handed to every step. */
  readonly signal: AbortSignal;
  readonly emit: (event: BuildEvent) => void;
  /** What fingerprints are computed from; its `outputHashes` fill in as steps finish. */
  readonly sources: FingerprintSources & { outputHashes: Map<string, Record<string, FileHash>> };
  /** The fingerprint of every step that got as far as computing one this build. */
  readonly fingerprints: Map<string, Fingerprint>;
  /**
   * Record writes (cache stores, step logs) a caller that boots first asked to defer
   * (ExecuteOptions.deferRecords); run in order before the session closes.
   */
  readonly deferred: Array<() => void | Promise<void>>;
  /**
   * Starts a record write beside the build (it does not hold up the step, and a failure is a warning,
   * not a failed step), or queues it in `deferred`. `close()` waits for every write started.
   */
  bookkeep(write: () => void | Promise<void>): void;
  /** Time spent in tools (compilers, linkers) this build: the rest of the build is kiln's own. */
  readonly toolClock: ToolClock;
  /** Releases everything; saves the state if `stepsChanged` or the stat index changed. */
  close(stepsChanged: boolean): Promise<void>;
}

export async function openSession(
  graph: Graph,
  options: SessionOptions,
  emit: (event: BuildEvent) => void,
): Promise<BuildSession> {
  const env = options.env ?? process.env;
  // Resolved before the lock is taken: a bad URL is a usage error, not a half-opened session.
  // A check-only session (the plan cache's no-op path) touches no cache, so it needs no remote.
  const remote = options.checkOnly
    ? undefined
    : resolveRemoteCache(graph.config.remoteCache, options.remoteCache ?? {}, env);
  const layout = buildLayout(graph.buildDir, graph.buildRoot);
  mkdirSync(layout.internalDir, { recursive: true });
  const lock = await acquireLock(layout.lockFile, {
    wait: options.wait ?? true,
    onWait: (holderPid) => emit({ type: 'lock-wait', time: Date.now(), path: layout.lockFile, holderPid }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const state = options.state ?? BuildState.load(layout.stateFile);
  // A check-only pass leaves a state it cannot use as it is (and says nothing): the build after it reports it.
  const problem = options.checkOnly ? undefined : state.takeProblem();
  if (problem)
    emit({
      type: 'warning',
      time: Date.now(),
      message: `ignoring the build state: ${problem}; every step is checked again`,
    });
  const local = new LocalCache(options.cacheDir ?? join(graph.projectDir, '.kiln', 'cache'));
  const warn = (message: string): void => emit({ type: 'remote-cache', time: Date.now(), level: 'warning', message });
  const tiered = remote ? new TieredCache(local, new HttpCacheClient(remote), warn) : undefined;
  const cache: CacheTier = tiered ?? local;
  const sources = {
    projectDir: graph.projectDir,
    buildDir: graph.buildDir,
    target: graph.target.id,
    epoch: resolveEpoch(env),
    env,
    index: state.index,
    artifacts: graph.artifacts,
    outputHashes: new Map<string, Record<string, FileHash>>(),
  };
  const log = BuildLog.open(layout, graph.target.id);
  rmSync(layout.stagingDir, { recursive: true, force: true });
  const abort = new AbortController();
  const deferred: Array<() => void | Promise<void>> = [];
  const background = new BackgroundWrites();
  const onAbort = (): void => abort.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    graph,
    layout,
    env,
    state,
    cache,
    log,
    emit,
    sources,
    force: options.force ?? false,
    checkOnly: options.checkOnly ?? false,
    diagnose: options.diagnose,
    signal: abort.signal,
    fingerprints: new Map(),
    toolClock: new ToolClock(),
    deferred,
    bookkeep(write: () => void | Promise<void>): void {
      if (options.deferRecords) deferred.push(write);
      else background.add(write, (error) => emit(recordWarning(error)));
    },
    async close(stepsChanged: boolean): Promise<void> {
      try {
        await background.settled();
        if (!state.problem) state.save(stepsChanged);
        const report = await tiered?.finish();
        // A remote disabled before it moved anything has said so in its warning ("no further uploads
        // this build"): no "0 restored" line, whatever was not sent after it.
        if (report?.consulted && !report.disabledIdle)
          emit({ type: 'remote-cache', time: Date.now(), level: 'note', message: remoteSummary(report) });
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
        rmSync(layout.stagingDir, { recursive: true, force: true });
        await log.close();
        lock.release();
      }
    },
  };
}

function recordWarning(error: unknown): BuildEvent {
  const message = `a cache entry or step log was not written (${(error as Error).message}): the next build may run the step again`;
  return { type: 'warning', time: Date.now(), message };
}

/** `remote cache: 3 restored (1.2 MB down), 12 uploaded (40.1 MB up)` */
function remoteSummary(r: RemoteReport): string {
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  const parts = [
    `${r.hits} restored (${mb(r.downloadedBytes)} down)`,
    `${r.uploaded} uploaded (${mb(r.uploadedBytes)} up)`,
  ];
  if (r.notSent) parts.push(`${r.notSent} not sent`);
  return `remote cache: ${parts.join(', ')}`;
}

/**
 * Record writes (cache stores, step logs) running beside the build: the files they read are the
 * outputs already in place, which nothing else writes until the build ends. At most a few at once,
 * in order, on Node's I/O threads, so the main thread goes on starting steps.
 */
class BackgroundWrites {
  private readonly queue: Array<{ write: () => void | Promise<void>; onError: (error: unknown) => void }> = [];
  private running = 0;
  private idle: Array<() => void> = [];

  add(write: () => void | Promise<void>, onError: (error: unknown) => void): void {
    this.queue.push({ write, onError });
    this.next();
  }

  /** Resolves when every write added so far has finished (or failed, reported). */
  settled(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private next(): void {
    while (this.running < BACKGROUND_WRITES && this.queue.length > 0) {
      const { write, onError } = this.queue.shift()!;
      this.running++;
      void (async () => {
        try {
          await write();
        } catch (error) {
          onError(error);
        } finally {
          this.running--;
          this.next();
          if (this.running === 0 && this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve();
        }
      })();
    }
  }
}

/** Record writes at once: enough to keep Node's four I/O threads busy. */
const BACKGROUND_WRITES = 4;
