/**
 * The dev loop (`kiln dev`): the executor kept alive. It plans once and keeps the Graph, the build
 * state (stat index, step records, discovered inputs) and its tracked-file snapshot in memory; a
 * folder watcher feeds it events; after a short quiet time it stats the tracked files, and when one
 * changed it cancels a build (or test run) in progress, builds what changed, and boots the new
 * image (or reruns the tests). The guest is stopped when the first step starts to run (a change
 * that rebuilds nothing leaves it running); after a failed build its serial log stays on screen
 * and nothing boots until a save builds. A change to the config or a file it imports plans again.
 * Nothing here prints: the CLI renders the events.
 */
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { type BuildResult, executeGraph } from '../graph/execute.js';
import type { BuildEvent } from '../graph/events.js';
import type { Diagnose } from '../graph/failure.js';
import type { Graph } from '../graph/graph.js';
import { buildLayout } from '../graph/layout.js';
import { BuildState } from '../graph/state.js';
import type { MachineSpec, QemuTestResult, QemuTestSpec, RunMachineResult } from '../qemu/index.js';
import { runMachine } from '../qemu/run.js';
import { runTests } from '../qemu/harness.js';
import { type Snapshot, type Tracked, changedSince, mayMatter, takeSnapshot, trackedInputs } from './tracked.js';
import { FolderWatcher } from './watch.js';

/** A planned project: the graph and the files its config was loaded from. */
export interface DevPlan {
  graph: Graph;
  configFiles: string[];
}

/** What a good build is followed by: a boot of the run section, or the tests. */
export type DevAction =
  { kind: 'run'; machine(graph: Graph): MachineSpec } | { kind: 'test'; tests(graph: Graph): QemuTestSpec[] };

export interface DevOptions {
  /** Loads the config and plans (again after a config change). */
  plan(): Promise<DevPlan>;
  /** The steps to build, with what they need (empty: every step). */
  steps(graph: Graph): string[];
  action: DevAction;
  /** Copy of the guest's serial output; omitted with --no-serial. */
  terminal?: NodeJS.WritableStream;
  /** Quiet time after the last event before kiln looks (ms). */
  debounceMs: number;
  jobs?: number;
  diagnose?: Diagnose;
  onEvent(event: DevEvent): void;
}

/** One unit of work inside a step (a cc step's compile of one file). */
export interface StepAction {
  step: string;
  action: string;
  input: string;
}

/** Why a cycle ran. */
export type DevCause = 'start' | 'change' | 'rebuild-key' | 'reboot-key';

/** One pass: what changed, what the build did, and what followed. */
export interface DevCycle {
  cause: DevCause;
  /** Changed files, relative to the project folder. */
  changed: string[];
  replanned: boolean;
  /** Undefined for `reboot-key` (no build). */
  result?: BuildResult;
  /** Steps that ran or were restored from the cache. */
  ran: string[];
  /** Units of work inside steps (step `kernel`: `compile` of `kernel/main.c`). */
  actions: StepAction[];
  next: 'boot' | 'test' | 'nothing' | 'failed';
  /**
   * kiln's own time from the file's write (its mtime) to the boot or the test run starting: all of
   * it but the tools' (compilers, linkers). Undefined when the cycle had no change.
   */
  kilnMs?: number;
  /**
   * kiln's own CPU time (this process, user + system) from the first event to the boot or the
   * test run: what kilnMs would be on an idle machine, less the waits (debounce, disk).
   */
  kilnCpuMs?: number;
  /** From the file's write (or the key) to the boot or the test run starting. */
  totalMs: number;
}

export type DevEvent =
  | { type: 'planned'; target: string; steps: number; files: number; folders: number; replanned: boolean }
  | { type: 'plan-failed'; error: unknown }
  | { type: 'build'; event: BuildEvent }
  | { type: 'cycle'; cycle: DevCycle }
  | { type: 'boot-failed'; error: unknown }
  | { type: 'guest-exit'; result: RunMachineResult }
  | { type: 'test-result'; result: QemuTestResult }
  | { type: 'tests-done'; passed: number; failed: number; durationMs: number }
  | { type: 'idle' };

interface Guest {
  controller: AbortController;
  done: Promise<void>;
}

/** The stat of the state file, to notice another kiln writing it between two of our builds. */
function fileSignature(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

export class DevLoop {
  private plan!: DevPlan;
  private state!: BuildState;
  private stateSignature = '';
  private tracked!: Tracked;
  private snapshot: Snapshot = new Map();
  private readonly watcher: FolderWatcher;
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() of the first event since the last look. */
  private firstEventAt: number | undefined;
  /** process.cpuUsage() at that event. */
  private firstEventCpu: NodeJS.CpuUsage | undefined;
  /** An event named a path that is not tracked (a new file a glob may match): re-expand the inputs. */
  private untrackedEvent = false;
  private worker: Promise<void> | undefined;
  private again = false;
  private queued: DevCause | undefined;
  /** Aborts the build or the test run in progress. */
  private work: AbortController | undefined;
  private guest: Guest | undefined;
  /** The guest being stopped. */
  private stopping: Promise<void> | undefined;
  private stopped = false;
  private resolveDone!: () => void;
  /** Resolves when the loop stopped. */
  readonly done: Promise<void>;

  constructor(private readonly options: DevOptions) {
    this.watcher = new FolderWatcher((path) => this.onWatchEvent(path));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Plans, watches, builds and boots once. Throws when the first plan fails (a config error). */
  async start(): Promise<void> {
    await this.replan(false);
    this.request('start');
  }

  /** `r`: boot again (or rerun the tests) without a build. */
  reboot(): void {
    this.request('reboot-key');
  }

  /** `b`: build now (and boot when it succeeds), changed files or not. */
  rebuild(): void {
    this.request('rebuild-key');
  }

  /** `q` / Ctrl-C: cancel the build or tests, stop the guest, stop watching. */
  async stop(): Promise<void> {
    if (this.stopped) return this.done;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.watcher.close();
    this.work?.abort();
    await this.stopGuest();
    await this.worker;
    await this.stopGuest();
    this.resolveDone();
    return this.done;
  }

  private emit(event: DevEvent): void {
    this.options.onEvent(event);
  }

  private onWatchEvent(path: string): void {
    if (this.stopped || !mayMatter(path, this.plan.graph)) return;
    if (!this.tracked.files.has(path)) this.untrackedEvent = true;
    if (this.firstEventAt === undefined) {
      this.firstEventAt = performance.now();
      this.firstEventCpu = process.cpuUsage();
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onQuiet(), this.options.debounceMs);
  }

  /** The quiet time passed: a change cancels what runs, then a cycle looks at it. */
  private onQuiet(): void {
    this.timer = undefined;
    if (this.stopped) return;
    if (this.work && this.changedFiles().length > 0) this.work.abort();
    this.request('change');
  }

  /** Runs a cycle now, or right after the one running. */
  private request(cause: DevCause): void {
    if (this.stopped) return;
    if (cause !== 'change' || this.queued === undefined) this.queued = cause;
    if (this.worker) {
      this.again = true;
      return;
    }
    this.worker = (async () => {
      do {
        this.again = false;
        const next = this.queued ?? 'change';
        this.queued = undefined;
        await this.cycle(next);
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.worker = undefined;
      if (!this.stopped) this.emit({ type: 'idle' });
    });
  }

  private changedFiles(): string[] {
    return changedSince(this.snapshot, this.tracked);
  }

  private async cycle(cause: DevCause): Promise<void> {
    const startedAt = this.firstEventAt ?? performance.now();
    const cpuAt = this.firstEventCpu ?? process.cpuUsage();
    this.firstEventAt = undefined;
    this.firstEventCpu = undefined;
    if (cause === 'reboot-key') {
      await this.follow(
        this.plan.graph,
        { cause, changed: [], replanned: false, ran: [], actions: [], next: 'boot', totalMs: 0 },
        startedAt,
        cpuAt,
      );
      return;
    }
    if (this.untrackedEvent) {
      this.untrackedEvent = false;
      await this.retrack(true);
    }
    const changed = this.changedFiles();
    if (cause === 'change' && changed.length === 0) return;
    let replanned = false;
    if (changed.some((f) => this.tracked.configFiles.has(f))) {
      if (!(await this.replan(true))) {
        this.snapshot = takeSnapshot(this.tracked.files);
        return; // the error is shown; the old plan and guest stay
      }
      replanned = true;
    }
    const writeAt = this.writeTime(changed, startedAt);
    this.snapshot = takeSnapshot(this.tracked.files);
    const graph = this.plan.graph;
    const result = await this.build(graph);
    try {
      if (result.interrupted) return; // a newer change cancelled it: the next cycle builds
      const ran = [...result.steps.values()]
        .filter((r) => r.status === 'ran' || r.status === 'cached')
        .map((r) => r.name);
      const unchanged = ran.length === 0 && cause === 'change' && !replanned;
      const cycle: DevCycle = {
        cause,
        changed: changed.map((f) => relative(graph.projectDir, f) || f),
        replanned,
        result,
        ran,
        actions: this.actions,
        next: !result.ok ? 'failed' : unchanged ? 'nothing' : this.options.action.kind === 'run' ? 'boot' : 'test',
        totalMs: 0,
      };
      if (cycle.next === 'failed' || cycle.next === 'nothing') {
        this.emit({ type: 'cycle', cycle: { ...cycle, totalMs: performance.now() - writeAt } });
        return;
      }
      await this.follow(graph, cycle, writeAt, cpuAt, result);
    } finally {
      await result.flush?.();
      this.stateSignature = fileSignature(buildLayout(graph.buildDir, graph.buildRoot).stateFile);
      await this.retrack();
    }
  }

  /** performance.now() of the earliest moment the change can be dated: the newest changed file's mtime. */
  private writeTime(changed: string[], eventAt: number): number {
    let newest = 0;
    for (const f of changed) {
      try {
        newest = Math.max(newest, statSync(f).mtimeMs);
      } catch {
        /* removed */
      }
    }
    const at = newest - performance.timeOrigin;
    // A file written long before its event (copied with its times kept): date it by the event.
    return newest > 0 && at <= eventAt && eventAt - at < 1000 ? at : eventAt;
  }

  private actions: StepAction[] = [];

  private async build(graph: Graph): Promise<BuildResult> {
    this.reloadStateIfForeign(graph);
    this.work = new AbortController();
    this.actions = [];
    try {
      return await executeGraph(graph, {
        only: this.options.steps(graph),
        state: this.state,
        deferRecords: true,
        signal: this.work.signal,
        ...(this.options.jobs ? { jobs: this.options.jobs } : {}),
        ...(this.options.diagnose ? { diagnose: this.options.diagnose } : {}),
        onEvent: (event) => {
          // A step runs: the image will change. The guest stops now, while the tools work (on two
          // cores a TCG guest slows the compiler, and its teardown leaves the path to the boot).
          if (event.type === 'step-start' && this.options.action.kind === 'run') void this.stopGuest();
          if (event.type === 'step-action')
            this.actions.push({ step: event.step, action: event.action, input: event.input });
          this.emit({ type: 'build', event });
        },
      });
    } finally {
      this.work = undefined;
    }
  }

  /** Another kiln built this target since our last build: its state is the truth now. */
  private reloadStateIfForeign(graph: Graph): void {
    const file = buildLayout(graph.buildDir, graph.buildRoot).stateFile;
    if (fileSignature(file) !== this.stateSignature) this.state = BuildState.load(file);
  }

  /**
   * Boots (stopping the guest first) or runs the tests; the cycle's line goes out just before. The
   * build's records are written while the old guest dies or right after the new one started.
   */
  private async follow(
    graph: Graph,
    cycle: DevCycle,
    since: number,
    cpuAt: NodeJS.CpuUsage,
    result?: BuildResult,
  ): Promise<void> {
    const announce = (): void => {
      const totalMs = performance.now() - since;
      const cpu = process.cpuUsage(cpuAt);
      const kilnCpuMs = (cpu.user + cpu.system) / 1000;
      const timed = cycle.cause === 'change' ? { kilnMs: Math.max(0, totalMs - (result?.toolMs ?? 0)), kilnCpuMs } : {};
      this.emit({ type: 'cycle', cycle: { ...cycle, ...timed, totalMs } });
    };
    const flush = result?.flush ?? (() => Promise.resolve());
    if (this.options.action.kind === 'run') await this.boot(graph, this.options.action, announce, flush);
    else {
      announce();
      await flush();
      await this.test(graph, this.options.action);
    }
  }

  private async boot(
    graph: Graph,
    action: Extract<DevAction, { kind: 'run' }>,
    announce: () => void,
    flush: () => Promise<void>,
  ): Promise<void> {
    await Promise.all([this.stopGuest(), this.guest || this.stopping ? flush() : undefined]);
    if (this.stopped) return;
    const controller = new AbortController();
    let spec: MachineSpec;
    try {
      spec = action.machine(graph);
    } catch (error) {
      this.emit({ type: 'boot-failed', error });
      return;
    }
    let started: () => void = () => undefined;
    const spawned = new Promise<void>((resolve) => (started = resolve));
    const done = runMachine(spec, {
      ...(this.options.terminal ? { terminal: this.options.terminal } : {}),
      signal: controller.signal,
      onReady: () => {
        announce();
        setImmediate(started); // QEMU is spawned right after onReady returns
      },
    })
      .then(
        (result) => {
          if (!controller.signal.aborted) this.emit({ type: 'guest-exit', result });
        },
        (error: unknown) => this.emit({ type: 'boot-failed', error }),
      )
      .finally(started);
    this.guest = { controller, done };
    await spawned;
  }

  /** Stops the guest (SIGKILL to its process group) and waits until it is gone; callers share one stop. */
  private stopGuest(): Promise<void> {
    const guest = this.guest;
    if (!guest) return this.stopping ?? Promise.resolve();
    this.guest = undefined;
    guest.controller.abort();
    const stopping = guest.done.finally(() => {
      if (this.stopping === stopping) this.stopping = undefined;
    });
    this.stopping = stopping;
    return stopping;
  }

  private async test(graph: Graph, action: Extract<DevAction, { kind: 'test' }>): Promise<void> {
    let specs: QemuTestSpec[];
    try {
      specs = action.tests(graph);
    } catch (error) {
      this.emit({ type: 'boot-failed', error });
      return;
    }
    this.work = new AbortController();
    try {
      const summary = await runTests(specs, {
        signal: this.work.signal,
        ...(this.options.terminal ? { terminal: this.options.terminal } : {}),
        onResult: (result) => {
          if (!this.work?.signal.aborted) this.emit({ type: 'test-result', result });
        },
      });
      if (!this.work.signal.aborted)
        this.emit({
          type: 'tests-done',
          passed: summary.passed,
          failed: summary.failed,
          durationMs: summary.durationMs,
        });
    } catch (error) {
      this.emit({ type: 'boot-failed', error });
    } finally {
      this.work = undefined;
    }
  }

  /** Loads and plans; false (the error emitted) when that failed after the first time. */
  private async replan(replanned: boolean): Promise<boolean> {
    let plan: DevPlan;
    try {
      plan = await this.options.plan();
    } catch (error) {
      if (!replanned) throw error;
      this.emit({ type: 'plan-failed', error });
      return false;
    }
    const file = buildLayout(plan.graph.buildDir, plan.graph.buildRoot).stateFile;
    if (!this.plan || file !== buildLayout(this.plan.graph.buildDir, this.plan.graph.buildRoot).stateFile) {
      this.state = BuildState.load(file);
      this.stateSignature = fileSignature(file);
    }
    this.plan = plan;
    await this.retrack();
    if (!replanned) this.snapshot = takeSnapshot(this.tracked.files);
    const { graph } = plan;
    this.emit({
      type: 'planned',
      target: graph.target.id,
      steps: graph.steps.length,
      files: this.tracked.files.size,
      folders: this.watcher.size,
      replanned,
    });
    return true;
  }

  /**
   * Recomputes what is tracked and watched. Files new to the set join the snapshot as they are now
   * (headers a build just read), unless they are the change itself (a new file a glob matches).
   */
  private async retrack(newFilesAreChanges = false): Promise<void> {
    const { graph, configFiles } = this.plan;
    this.tracked = await trackedInputs(graph, this.state, configFiles, this.options.steps(graph));
    this.watcher.set(this.tracked.folders);
    if (newFilesAreChanges) return;
    const fresh = [...this.tracked.files].filter((f) => !this.snapshot.has(f));
    for (const [f, sig] of takeSnapshot(fresh)) this.snapshot.set(f, sig);
  }
}
