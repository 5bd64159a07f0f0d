/**
 * `command()`: the escape hatch. Runs an argv (never through a shell) with declared inputs and
 * outputs. Refer to other steps' outputs with their handles and to this step's outputs with
 * `out('name')`.
 */
import { writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import {
  type FileInput,
  type OutputPlaceholder,
  StepFailure,
  defineStep,
  isOutputPlaceholder,
  isStepHandle,
  isArtifactRef,
  type SchemaKit,
} from '../step.js';
import { describeExit, formatCommand } from '../util/process.js';

/**
 * Options of `command()`: any tool as a cached step, with its inputs and outputs declared.
 * @example command({ argv: ['nasm', '-f', 'bin', '-o', out('boot.bin'), 'boot.asm'], inputs: ['boot.asm'],
 * outputs: ['boot.bin'] })
 */
export interface CommandOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Program and arguments. Strings are passed as they are. */
  argv: Array<string | FileInput | OutputPlaceholder>;
  /** Files read (project-relative paths or globs) and artifacts of other steps. */
  inputs?: FileInput[];
  /** Files written, relative to the target's build folder; write them via out('name') in argv. */
  outputs: string[];
  /** Env vars whose values change the result. */
  env?: string[];
  /** Working folder, relative to the project. Default: the project folder. */
  cwd?: string;
  /** Kill the command after this many seconds. */
  timeout?: number;
  /** Inputs are not fully declared: run every time, never cache. */
  untracked?: boolean;
  /**
   * The outputs do not depend on the checkout's folder, so a remote cache may share them between
   * machines (default false: kiln cannot know what an arbitrary tool writes).
   */
  shareable?: boolean;
  /**
   * One of `outputs` that receives what the command prints (stdout and stderr, interleaved as
   * printed), for tools that report on the console, such as a test runner. No shell redirection needed.
   * @example command({ argv: ['cargo', 'test'], outputs: ['unit-tests.txt'], stdout: 'unit-tests.txt' })
   */
  stdout?: string;
}

const zArg = (kit: SchemaKit) => {
  const { z, zFileInput } = kit;
  return z.union([
    z.string(),
    zFileInput,
    z.custom<OutputPlaceholder>(isOutputPlaceholder, { message: "expected a string, a step output or out('name')" }),
  ]);
};

export const commandKind = {
  kind: 'command',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput, zTimeoutSeconds } = kit;
    return z
      .object({
        name: z.string().optional(),
        argv: z.array(zArg(kit)).min(1, 'needs at least the program name'),
        inputs: z.array(zFileInput).optional(),
        outputs: z.array(z.string().min(1)),
        env: z.array(z.string()).optional(),
        cwd: z.string().optional(),
        timeout: zTimeoutSeconds.optional(),
        untracked: z.boolean().optional(),
        shareable: z.boolean().optional(),
        stdout: z.string().min(1).optional(),
      })
      .strict()
      .refine((o) => o.stdout === undefined || o.outputs.includes(o.stdout), {
        message: 'stdout must name one of outputs',
        path: ['stdout'],
      }) satisfies z.ZodType<CommandOptions>;
  },
  declare(options: CommandOptions) {
    const program = options.argv[0];
    return {
      inputs: (options.inputs ?? []).filter((i): i is string => typeof i === 'string'),
      env: options.env ?? [],
      tools: typeof program === 'string' ? [program] : [],
      outputs: options.outputs,
      untracked: options.untracked ?? false,
      ...(options.shareable
        ? {}
        : { localOnly: 'a command() may write its folder into its outputs (shareable: true says it does not)' }),
    };
  },
  async make(options: CommandOptions, ctx: import('../step.js').StepContext) {
    const result = await ctx.exec(options.argv, {
      ...(options.cwd ? { cwd: ctx.path(options.cwd) } : {}),
      ...(options.timeout ? { timeoutMs: options.timeout * 1000 } : {}),
      ...(options.stdout ? { allowFailure: true } : {}),
    });
    if (!options.stdout) return;
    await writeFile(ctx.outPath(options.stdout), result.output);
    if (result.code !== 0 || result.spawnError) {
      throw new StepFailure(
        `${formatCommand(result.argv)} failed: ${result.timedOut ? 'timed out' : describeExit(result.code, result.signal, result.spawnError)}`,
        {
          command: formatCommand(result.argv),
          exitCode: result.code,
          output: result.output,
          ...(result.spawnError?.code === 'ENOENT'
            ? { hint: `install ${result.argv[0]} or check PATH (kiln doctor lists what is missing)` }
            : {}),
        },
      );
    }
  },
};

/**
 * A command step.
 * @example command({ argv: ['nasm', '-f', 'bin', '-o', out('boot.bin'), 'boot/boot.asm'], inputs: ['boot/boot.asm'], outputs: ['boot.bin'] })
 */
export const command = defineStep<CommandOptions>(commandKind);

export { isStepHandle, isArtifactRef };
