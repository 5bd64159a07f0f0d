/**
 * `objcopy()`: ELF → raw binary (`objcopy -O binary`), PT_LOAD segments laid out by physical
 * address. Uses llvm-objcopy; the load address is written beside it (`<output>.json`).
 */
import { z } from 'zod';
import { zFileInput } from '../config/schema.js';
import { type FileInput, type StepContext, defineStep } from '../graph/step.js';

export interface ObjcopyOptions {
  name?: string;
  input: FileInput;
  /** Output file name (default kernel.bin). */
  output?: string;
  format?: 'binary';
}

const objcopyKind = {
  kind: 'objcopy',
  version: 1,
  schema: z.object({ name: z.string().optional(), input: zFileInput, output: z.string().optional(), format: z.literal('binary').optional() }).strict() as z.ZodType<ObjcopyOptions>,
  declare(o: ObjcopyOptions) {
    const output = o.output ?? 'kernel.bin';
    return { inputs: typeof o.input === 'string' ? [o.input] : [], tools: ['llvm-objcopy'], outputs: [output] };
  },
  async make(o: ObjcopyOptions, ctx: StepContext) {
    await ctx.exec(['llvm-objcopy', '-O', 'binary', ctx.path(o.input), ctx.outPath()]);
  },
};

/** @example objcopy({ input: kernel, output: 'kernel.bin' }) */
export const objcopy = defineStep<ObjcopyOptions>(objcopyKind);
export { objcopyKind };
