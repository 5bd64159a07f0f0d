/**
 * The StepContext a step's `make` receives: paths of its inputs (artifacts looked up, not
 * re-resolved), staging paths for its outputs, its work folder, and `exec`, which runs a tool with
 * its output captured for the build log and a non-zero exit turned into a StepFailure.
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { KilnError } from '../errors.js';
import { describeExit, formatCommand, run, type RunResult } from '../util/process.js';
import { stepEnvironment, withoutSecrets } from '../util/step-env.js';
import type { PlannedStep } from './graph.js';
import type { BuildSession } from './session.js';
import {
  type ExecOptions,
  type FileInput,
  type OutputPlaceholder,
  type StepContext,
  StepFailure,
  isOutputPlaceholder,
} from '../step.js';

/** What one run of a step leaves besides its outputs: its output text and its warnings. */
export interface StepCapture {
  /** The staging folder its outputs are written to. */
  readonly stageDir: string;
  readonly output: string[];
  readonly warnings: string[];
  /** Absolute paths of the files the step reported reading (StepContext.reads). */
  readonly reads: string[];
}

export function createStepContext(
  session: BuildSession,
  step: PlannedStep,
  capture: StepCapture,
  actionKey: string,
): StepContext {
  const { graph, signal } = session;
  // The step's environment: an allow-list plus its declared variables; secrets apart (util/step-env.ts).
  const { env, secrets } = stepEnvironment(session.env, step.declaration, session.sources.epoch);
  const path = (input: FileInput): string => {
    if (typeof input === 'string') return isAbsolute(input) ? input : join(graph.projectDir, input);
    return graph.artifacts.resolve(input, step).abs;
  };
  const outPath = (name?: string): string => stagedOutput(step, capture.stageDir, name);
  const workDir = step.declaration.workDir ? join(graph.buildDir, step.declaration.workDir) : undefined;
  if (workDir) mkdirSync(workDir, { recursive: true });
  return {
    name: step.name,
    actionKey,
    projectDir: graph.projectDir,
    buildDir: graph.buildDir,
    target: graph.target,
    epoch: session.sources.epoch,
    env,
    secrets,
    signal,
    path,
    outPath,
    workDir,
    log: (line) => capture.output.push(`${line}\n`),
    warn: (message) => capture.warnings.push(message),
    reads: (paths) => capture.reads.push(...paths),
    action: (a) =>
      session.emit({
        type: 'step-action',
        time: Date.now(),
        step: step.name,
        action: a.kind,
        input: a.input,
        reason: a.reason,
      }),
    async exec(argv: Array<string | FileInput | OutputPlaceholder>, options: ExecOptions = {}): Promise<RunResult> {
      const resolve = (a: string | FileInput | OutputPlaceholder): string =>
        typeof a === 'string' ? a : isOutputPlaceholder(a) ? outPath(a.output) : path(a);
      const resolved = argv.map(resolve);
      session.toolClock.begin();
      try {
        return await execTool(resolved, options, { cwd: graph.projectDir, env, signal, output: capture.output });
      } finally {
        session.toolClock.end();
      }
    },
  };
}

/** The staging path of output `name` (the main output when undefined), its folder created. */
function stagedOutput(step: PlannedStep, stageDir: string, name: string | undefined): string {
  const rel = name === undefined ? step.outputs[0] : step.outputs.find((o) => o === name || o.endsWith(`/${name}`));
  if (!rel) {
    const declared = step.outputs.join(', ') || 'none';
    const message = `step "${step.name}" writes ${name ?? 'an output'} but declared only ${declared}`;
    throw new KilnError('OUTPUT_UNDECLARED', message);
  }
  const p = join(stageDir, rel);
  mkdirSync(dirname(p), { recursive: true });
  return p;
}

interface ExecDefaults {
  cwd: string;
  /** The step's environment (a step may pass its own in ExecOptions); secrets never reach a tool. */
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** The step's captured output: the command line and the tool's output are appended. */
  output: string[];
}

async function execTool(argv: string[], options: ExecOptions, defaults: ExecDefaults): Promise<RunResult> {
  defaults.output.push(`$ ${formatCommand(argv)}\n`);
  const result = await run(argv, {
    cwd: options.cwd ?? defaults.cwd,
    env: withoutSecrets(options.env ?? defaults.env),
    signal: defaults.signal,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  if (result.output) defaults.output.push(result.output.endsWith('\n') ? result.output : `${result.output}\n`);
  if (!options.allowFailure && (result.code !== 0 || result.spawnError)) {
    const meaning = result.timedOut
      ? `timed out after ${options.timeoutMs} ms`
      : describeExit(result.code, result.signal, result.spawnError);
    throw new StepFailure(`${argv[0]} failed: ${meaning}`, {
      command: formatCommand(argv),
      exitCode: result.code,
      output: result.output,
      ...(result.spawnError?.code === 'ENOENT'
        ? { hint: `install ${argv[0]} or check PATH (kiln doctor lists what is missing)` }
        : {}),
    });
  }
  return result;
}
