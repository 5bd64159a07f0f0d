/** `kiln build`: plan the project for one target and run the graph. */
import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { executeGraph } from '../graph/execute.js';
import { matchRule } from '../toolchain/doctor.js';
import { killAllChildren } from '../util/process.js';
import { action } from './_shared.js';
import { type ProjectFlags, openProject, projectCommand } from './_project.js';
import { defaultReporter } from './_reporters.js';

export interface BuildFlags extends ProjectFlags {
  jobs?: string;
  keepGoing?: boolean;
  wait?: boolean;
  json?: boolean;
  plain?: boolean;
  trace?: string;
  force?: boolean;
  clean?: boolean;
  run?: boolean;
  serial?: boolean;
}

/** Runs `fn` with an AbortSignal fired by Ctrl-C (a second Ctrl-C exits at once). */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (): void => {
    count++;
    controller.abort();
    killAllChildren();
    if (count > 1) process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal); // the terminal closed
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    if (controller.signal.aborted) process.exitCode = 130;
  }
}

export function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new KilnError('CLI_BAD_NUMBER', `-j: expected a whole number >= 1, got ${value}`, { exitCode: 2 });
  return n;
}

export function registerBuild(program: Command): void {
  projectCommand(
    program
      .command('build')
      .description('build the project for one target (arch × profile); project options are given as --name=value')
      .argument('[steps...]', 'build only these steps (and what they need)')
      .option('-j, --jobs <n>', 'steps run at once (default: number of cores)')
      .option('-k, --keep-going', 'after a failure, let independent steps finish', false)
      .option('--no-wait', 'fail instead of waiting when another build holds the lock')
      .option('--force', 'ignore up-to-date checks and the cache; run every step', false)
      .option('--clean', "a complete rebuild: remove the target's build folder, then run every step (no up-to-date checks, no cache restores)", false)
      .option('--run', 'after a successful build, boot the project (its run section) in QEMU', false)
      .option('--no-serial', 'with --run: do not copy serial output to the terminal (it is still logged)')
      .option('--plain', 'one line per finished step (default in CI and pipes)', false)
      .option('--json', 'print the build events as JSON lines on stdout', false)
      .option('--trace <file>', 'write a Chrome trace of the build (open in Perfetto)'),
  ).action(action(async (_steps: string[], flags: BuildFlags, cmd: Command) => {
    const project = await openProject(flags, cmd.args);
    const { graph, positional } = project;
    if (flags.clean) rmSync(graph.buildDir, { recursive: true, force: true });
    const reporter = defaultReporter(flags);
    try {
      const result = await withInterrupt((signal) => executeGraph(graph, {
        ...(parseJobs(flags.jobs) ? { jobs: parseJobs(flags.jobs)! } : {}),
        keepGoing: flags.keepGoing ?? false,
        wait: flags.wait ?? true,
        force: (flags.force ?? false) || (flags.clean ?? false),
        only: positional,
        signal,
        diagnose: matchRule,
        onEvent: (e) => reporter.onEvent(e),
      }));
      if (!result.ok) {
        if (!flags.json) process.stderr.write(`full output: ${result.logPath}\n`);
        process.exitCode = result.interrupted ? 130 : 1;
        return;
      }
    } finally {
      reporter.close();
    }
    if (flags.run) {
      const { machineFromRun } = await import('./_config-machine.js');
      const { runMachine } = await import('../qemu/index.js');
      if (!graph.project.run) throw new KilnError('RUN_NOT_CONFIGURED', '--run: the config has no run section', { hint: 'add run: { image: disk } (or cdrom/kernel) to kiln.config.ts' });
      const spec = machineFromRun(graph, graph.project.run);
      const r = await withInterrupt((signal) => runMachine(spec, { ...(flags.serial !== false ? { terminal: process.stdout, interactive: true } : {}), signal }));
      if (r.problem) {
        process.stderr.write(`kiln: ${r.problem}\n`);
        process.exitCode = 1;
        return;
      }
      process.stderr.write(`kiln: guest exit code ${r.guestExitCode}; serial log ${r.serialLog}\n`);
      process.exitCode = Math.min(255, r.guestExitCode ?? 1);
    }
  }));
}
