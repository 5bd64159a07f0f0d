/**
 * `objcopy()`: ELF → raw binary (the `objcopy -O binary` equivalent), PT_LOAD segments laid out
 * by physical address, done by kiln's own ELF toolkit (byte-identical to GNU and LLVM objcopy in
 * its tests). The load address and entry are written to the build log. With `strip`, the
 * `objcopy --strip-debug` / `--strip-all` equivalent instead: an ELF without debug sections (and
 * symbols), optionally with the debug sections in a separate file named by `.gnu_debuglink`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { zFileInput } from '../config/schema.js';
import { type FileInput, type StepContext, defineStep } from '../graph/step.js';

export interface ObjcopyOptions {
  name?: string;
  input: FileInput;
  /** Output file name (default kernel.bin). */
  output?: string;
  format?: 'binary';
  /** Write a stripped ELF instead of a raw binary: 'debug' (debug sections) or 'all' (and the symbol table). */
  strip?: 'debug' | 'all';
  /** With `strip`: also write the debug sections to this file (`.gnu_debuglink` names it). */
  debugFile?: string;
}

const objcopyKind = {
  kind: 'objcopy',
  version: 3,
  schema: z.object({
    name: z.string().optional(), input: zFileInput, output: z.string().optional(), format: z.literal('binary').optional(),
    strip: z.enum(['debug', 'all']).optional(), debugFile: z.string().min(1).optional(),
  }).strict().refine((o) => !o.debugFile || o.strip, { message: 'debugFile needs strip', path: ['debugFile'] }).refine((o) => !(o.strip && o.format), { message: 'strip writes an ELF: leave format out', path: ['format'] }) as unknown as z.ZodType<ObjcopyOptions>,
  declare(o: ObjcopyOptions) {
    return { inputs: typeof o.input === 'string' ? [o.input] : [], outputs: [o.output ?? 'kernel.bin', ...(o.debugFile ? [o.debugFile] : [])] };
  },
  async make(o: ObjcopyOptions, ctx: StepContext) {
    if (o.strip) {
      const { strip } = await import('../formats/elf/index.js');
      const input = new Uint8Array(await readFile(ctx.path(o.input)));
      const result = strip(input, { mode: o.strip, debugLink: o.debugFile ? o.debugFile.split('/').pop()! : false });
      await writeFile(ctx.outPath(o.output ?? 'kernel.bin'), result.stripped);
      if (o.debugFile) await writeFile(ctx.outPath(o.debugFile), result.debug);
      ctx.log(`strip ${o.strip}: ${input.length} -> ${result.stripped.length} bytes; removed ${result.removed.join(' ') || 'nothing'}`);
      return;
    }
    const { objcopyBinary } = await import('../formats/elf/index.js');
    const result = objcopyBinary(new Uint8Array(await readFile(ctx.path(o.input))));
    await writeFile(ctx.outPath(), result.bytes);
    ctx.log(`objcopy: ${result.bytes.length} bytes, load address 0x${result.loadAddress.toString(16)}, entry 0x${result.entry.toString(16)}`);
  },
};

/**
 * Raw binary, or a stripped ELF.
 * @example objcopy({ input: kernel, output: 'kernel.bin' })
 * @example objcopy({ input: kernel, strip: 'debug', debugFile: 'kernel.debug', output: 'kernel.stripped.elf' })
 */
export const objcopy = defineStep<ObjcopyOptions>(objcopyKind);
export { objcopyKind };
