/** `write()`: a generated file (text or bytes) in the build folder. */
import { writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import { type StepContext, defineStep, type SchemaKit } from '../step.js';

/** Options of `write()`: a file with the given content written into the build folder. */
export interface WriteOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Destination, relative to the target's build folder. */
  path: string;
  /** The file's content (text is written as UTF-8). */
  content: string | Uint8Array;
  /** File mode, e.g. 0o755. */
  mode?: number;
}

export const writeKind = {
  kind: 'write',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z } = kit;
    return z
      .object({
        name: z.string().optional(),
        path: z.string().min(1),
        content: z.union([z.string(), z.instanceof(Uint8Array)]),
        mode: z.number().int().min(0).max(0o7777).optional(),
      })
      .strict() satisfies z.ZodType<WriteOptions>;
  },
  declare(options: WriteOptions) {
    return { outputs: [options.path] };
  },
  async make(options: WriteOptions, ctx: StepContext) {
    await writeFile(ctx.outPath(), options.content, options.mode !== undefined ? { mode: options.mode } : undefined);
  },
};

/** @example write({ path: 'iso/boot/grub/grub.cfg', content: 'set timeout=0\n' }) */
export const write = defineStep<WriteOptions>(writeKind);
