/** `copy()`: places a file (project file or another step's output) at a path in the build folder. */
import { copyFile } from 'node:fs/promises';
import type { z } from 'zod';
import { type FileInput, type StepContext, defineStep, type SchemaKit } from '../step.js';

/** Options of `copy()`: a file or another step's output copied into the build folder. */
export interface CopyOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The file to copy: a project path or another step's output. */
  from: FileInput;
  /** Destination, relative to the target's build folder. */
  to: string;
}

export const copyKind = {
  kind: 'copy',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput } = kit;
    return z
      .object({ name: z.string().optional(), from: zFileInput, to: z.string().min(1) })
      .strict() satisfies z.ZodType<CopyOptions>;
  },
  declare(options: CopyOptions) {
    return { inputs: typeof options.from === 'string' ? [options.from] : [], outputs: [options.to] };
  },
  async make(options: CopyOptions, ctx: StepContext) {
    await copyFile(ctx.path(options.from), ctx.outPath());
  },
};

/** @example copy({ from: kernel, to: 'dist/kernel.elf' }) */
export const copy = defineStep<CopyOptions>(copyKind);
