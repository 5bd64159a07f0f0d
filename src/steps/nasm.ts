/**
 * `nasm.bin()` (flat binaries such as boot sectors) and `nasm.obj()` (elf64/elf32 objects linked
 * into a kernel). Inputs: the source and every .asm/.inc/.mac beside it (includes).
 */
import { projectRelative } from '../toolchain/path-map.js';
import type { z } from 'zod';
import { resolve } from 'node:path';
import { parseDepfile } from '../toolchain/depfile.js';
import { type StepContext, defineStep, type SchemaKit } from '../step.js';
import { siblingsGlob, stem } from './_common.js';

/**
 * Options of `nasm.bin()` and `nasm.obj()`.
 * @example nasm.bin({ source: 'boot/boot.asm', exactSize: 512, defines: { KERNEL_LBA: 65 } })
 */
export interface NasmOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The .asm source, relative to the project. */
  source: string;
  /** Output file name (default: `<stem>.bin` or `<stem>.o`). */
  output?: string;
  /** Object format for nasm.obj (default elf64). */
  format?: 'elf64' | 'elf32' | 'bin' | 'win64';
  /** Include folders (-I). */
  include?: string[];
  /** Preprocessor defines (-D NAME=VALUE). */
  defines?: Record<string, string | number | boolean>;
  /** Exact size the output must have (e.g. 512 for a boot sector). */
  exactSize?: number;
  /** Largest size allowed (e.g. 64 sectors for a stage 2). */
  maxSize?: number;
  /** Extra nasm arguments. */
  args?: string[];
}

const schema = (kit: SchemaKit) => {
  const { z } = kit;
  return z
    .object({
      name: z.string().optional(),
      source: z.string().min(1),
      output: z.string().optional(),
      format: z.enum(['elf64', 'elf32', 'bin', 'win64']).optional(),
      include: z.array(z.string()).optional(),
      defines: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
      exactSize: z.number().int().positive().optional(),
      maxSize: z.number().int().positive().optional(),
      args: z.array(z.string()).optional(),
    })
    .strict() satisfies z.ZodType<NasmOptions>;
};

function kind(flat: boolean) {
  return {
    kind: flat ? 'nasm.bin' : 'nasm.obj',
    version: 2,
    makeSchema: schema,
    declare(o: NasmOptions) {
      return {
        inputs: [
          o.source,
          siblingsGlob(o.source, ['asm', 'inc', 'mac', 'S']),
          ...(o.include ?? []).map((d) => `${d.replace(/\/$/, '')}/**/*.{asm,inc,mac}`),
        ],
        tools: ['nasm'],
        outputs: [o.output ?? `${stem(o.source)}.${flat ? 'bin' : 'o'}`],
      };
    },
    async make(o: NasmOptions, ctx: StepContext) {
      const format = flat ? 'bin' : (o.format ?? (ctx.target.arch === 'x86_64' ? 'elf64' : 'elf32'));
      const defines = Object.entries(o.defines ?? {}).map(([k, v]) => `-D${k}=${v === true ? 1 : v === false ? 0 : v}`);
      // Paths relative to the project folder (the working folder): nasm writes them into file symbols and debug info.
      const rel = (p: string): string => projectRelative(ctx.projectDir, p);
      const includes = (o.include ?? []).map((d) => `-I${rel(ctx.path(d)).replace(/\/?$/, '/')}`);
      const out = ctx.outPath();
      await ctx.exec([
        'nasm',
        '-f',
        format,
        ...includes,
        ...defines,
        ...(o.args ?? []),
        '-o',
        out,
        rel(ctx.path(o.source)),
      ]);
      // What it read: nasm 2.16.01's -MD leaves %include files out when it also assembles, so a
      // preprocess-only -M pass (dependencies on stdout) reports them.
      const deps = await ctx.exec([
        'nasm',
        '-f',
        format,
        ...includes,
        ...defines,
        '-M',
        '-MT',
        'out',
        rel(ctx.path(o.source)),
      ]);
      ctx.reads(parseDepfile(deps.stdout).inputs.map((p) => resolve(ctx.projectDir, p)));
      const { statSync } = await import('node:fs');
      const size = statSync(out).size;
      const { KilnError } = await import('../errors.js');
      if (o.exactSize !== undefined && size !== o.exactSize) {
        throw new KilnError(
          'SIZE_MISMATCH',
          `${o.source} assembles to ${size} bytes; it must be exactly ${o.exactSize} (${size > o.exactSize ? `${size - o.exactSize} bytes over` : `${o.exactSize - size} bytes short`})`,
          {
            location: { file: o.source },
            hint:
              o.exactSize === 512 ? 'pad a boot sector with `times 510 - ($ - $$) db 0` then `dw 0xaa55`' : undefined,
          },
        );
      }
      if (o.maxSize !== undefined && size > o.maxSize) {
        const sectors =
          o.maxSize % 512 === 0
            ? ` (${Math.ceil(size / 512)} sectors of 512 bytes; the limit is ${o.maxSize / 512})`
            : '';
        throw new KilnError(
          'SIZE_TOO_LARGE',
          `${o.source} assembles to ${size} bytes, ${size - o.maxSize} over its limit of ${o.maxSize}${sectors}`,
          { location: { file: o.source } },
        );
      }
    },
  };
}

export const nasmBinKind = kind(true);
export const nasmObjKind = kind(false);

/**
 * NASM steps.
 * @example nasm.bin({ source: 'boot/boot.asm', exactSize: 512 }); nasm.obj({ source: 'kernel/src/arch/isr.asm' })
 */
export const nasm = {
  /**
   * Assembles a flat binary (`nasm -f bin`): a boot sector, a stage 2; `exactSize`/`maxSize` check (and
   * `exactSize` pads) the result.
   * @example const boot = nasm.bin({ source: 'boot.asm', exactSize: 512 })
   */
  bin: defineStep<NasmOptions>(nasmBinKind),
  /**
   * Assembles an object file (`-f elf64` by default, `elf32` for i386) to link into a kernel.
   * @example const isr = nasm.obj({ source: 'kernel/isr.asm' })
   */
  obj: defineStep<NasmOptions>(nasmObjKind),
};
