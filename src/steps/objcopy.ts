/**
 * `objcopy()`: ELF → raw binary (the `objcopy -O binary` equivalent), PT_LOAD segments laid out
 * by physical address, done by kiln's own ELF toolkit (byte-identical to GNU and LLVM objcopy in
 * its tests). The load address and entry are written to the build log.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import { type FileInput, type StepContext, defineStep, type SchemaKit } from '../step.js';

/** Options of `objcopy()`: a flat binary from an ELF's loadable sections (`objcopy -O binary`, in TypeScript). */
export interface ObjcopyOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The ELF to convert (usually a kernel step). */
  input: FileInput;
  /** Output file name (default kernel.bin). */
  output?: string;
  /** Output format; only `binary` (the default). */
  format?: 'binary';
  /** Only these sections, laid out by load address (`objcopy -j .text -O binary`). Default: every allocated one. */
  sections?: string[];
}

const objcopyKind = {
  kind: 'objcopy',
  version: 2,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput } = kit;
    return z
      .object({
        name: z.string().optional(),
        input: zFileInput,
        output: z.string().optional(),
        format: z.literal('binary').optional(),
        sections: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict() satisfies z.ZodType<ObjcopyOptions>;
  },
  declare(o: ObjcopyOptions) {
    return { inputs: typeof o.input === 'string' ? [o.input] : [], outputs: [o.output ?? 'kernel.bin'] };
  },
  async make(o: ObjcopyOptions, ctx: StepContext) {
    const { objcopyBinary } = await import('../formats/elf/objcopy.js');
    const result = objcopyBinary(
      new Uint8Array(await readFile(ctx.path(o.input))),
      o.sections ? { sections: o.sections } : {},
    );
    await writeFile(ctx.outPath(), result.bytes);
    ctx.log(
      `objcopy: ${result.bytes.length} bytes, load address 0x${result.loadAddress.toString(16)}, entry 0x${result.entry.toString(16)}`,
    );
  },
};

/** @example objcopy({ input: bootElf, output: 'boot.bin', sections: ['.text'] }) */
export const objcopy = defineStep<ObjcopyOptions>(objcopyKind);
export { objcopyKind };
