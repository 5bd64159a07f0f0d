/**
 * `strip()`: a stripped copy of an ELF for the image, with the DWARF kept beside it in a separate
 * debug file linked by `.gnu_debuglink` (GDB manual §18.3 "Debugging Information in Separate
 * Files"), through kiln's own ELF toolkit (src/formats/elf/strip.ts), no binutils needed.
 * "The production image is stripped to reduce TCB surface; full DWARF is kept for debugging" (KOZO §5).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { z } from 'zod';
import { withExtension } from './_common.js';
import { type FileInput, type StepContext, defineStep, type SchemaKit } from '../step.js';

/** Options of `strip()`: a stripped ELF and its separate debug file (linked by `.gnu_debuglink`). */
export interface StripStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The ELF to strip (a kernel, a service). */
  input: FileInput;
  /** `all`: debug sections and the symbol table (default); `debug`: debug sections only. */
  mode?: 'all' | 'debug';
  /** The stripped ELF (default `<name>.stripped.elf`). */
  output?: string;
  /** The separate debug file (default: the output with `.debug` instead of `.elf`). */
  debugFile?: string;
}

function outputs(o: StripStepOptions): [string, string] {
  const output = o.output ?? withExtension(o.name, 'stripped', 'elf');
  const debug = o.debugFile ?? `${output.replace(/\.elf$/, '')}.debug`;
  return [output, debug];
}

const stripKind = {
  kind: 'strip',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput } = kit;
    return z
      .object({
        name: z.string().optional(),
        input: zFileInput,
        mode: z.enum(['all', 'debug']).optional(),
        output: z.string().optional(),
        debugFile: z.string().optional(),
      })
      .strict() satisfies z.ZodType<StripStepOptions>;
  },
  declare(o: StripStepOptions) {
    return { inputs: typeof o.input === 'string' ? [o.input] : [], outputs: outputs(o) };
  },
  async make(o: StripStepOptions, ctx: StepContext) {
    const { strip } = await import('../formats/elf/strip.js');
    const [output, debugFile] = outputs(o);
    const result = strip(new Uint8Array(await readFile(ctx.path(o.input))), {
      mode: o.mode ?? 'all',
      debugLink: posix.basename(debugFile),
    });
    await writeFile(ctx.outPath(output), result.stripped);
    await writeFile(ctx.outPath(debugFile), result.debug);
    ctx.log(`strip: removed ${result.removed.join(' ') || 'nothing'}; debug info in ${debugFile}`);
  },
};

/**
 * Strips an ELF, keeping its debug information in a separate file (`.gnu_debuglink`).
 * @example const k = strip({ input: kernel, output: 'kozo.elf' }); // also kozo.debug: k.output('kozo.debug')
 */
export const strip = defineStep<StripStepOptions>(stripKind);
