/**
 * `blob()`: any file → a relocatable ELF object exporting `_binary_<symbol>_start`, `_end` and
 * `_size`, for the target's ELF class and machine, written by kiln's ELF library (what
 * `ld -r -b binary` does, minus its dependence on the path as typed in the working directory).
 */
import { basename } from 'node:path';
import type { z } from 'zod';
import { KilnError } from '../errors.js';
import { type FileInput, type StepContext, defineStep, type SchemaKit } from '../step.js';

/** Options of `blob()`: the file to embed and the symbol names it gets. */
export interface BlobOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The file to embed: a project path or another step's output. */
  file: FileInput;
  /** Middle of the symbol names (`_binary_<symbol>_start`); a C identifier. Default: the file's base name with every non-alphanumeric character as `_` (for a project path). */
  symbol?: string;
  /** Exact symbol names, overriding the `_binary_<symbol>_*` pattern. */
  names?: { start?: string; end?: string; size?: string };
  /** ELF class and machine. Default: the target's arch. */
  arch?: 'x86_64' | 'aarch64' | 'i386';
  /** Section holding the bytes. Default `.rodata`. */
  section?: string;
  /** Alignment of the data. Default 16. */
  align?: number;
  /** Output file (default `<symbol>.o`). */
  output?: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function symbolOf(o: BlobOptions, configPath?: string): string {
  if (o.symbol !== undefined) return o.symbol;
  if (typeof o.file === 'string') return basename(o.file).replace(/[^A-Za-z0-9]/g, '_');
  throw new KilnError(
    'BLOB_SYMBOL_REQUIRED',
    'blob(): a file made by another step needs a `symbol` (the middle of `_binary_<symbol>_start`)',
    {
      ...(configPath ? { location: { configPath } } : {}),
      hint: "e.g. blob({ file: initrd, symbol: 'initrd_tar' })",
      exitCode: 2,
    },
  );
}

const blobKind = {
  kind: 'blob',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput } = kit;
    return z
      .object({
        name: z.string().optional(),
        file: zFileInput,
        symbol: z.string().regex(IDENT, 'expected a C identifier (letters, digits, _)').optional(),
        names: z
          .object({
            start: z.string().regex(IDENT).optional(),
            end: z.string().regex(IDENT).optional(),
            size: z.string().regex(IDENT).optional(),
          })
          .strict()
          .optional(),
        arch: z.enum(['x86_64', 'aarch64', 'i386']).optional(),
        section: z
          .string()
          .regex(/^\.[A-Za-z0-9_.$]+$/, 'expected a section name like .rodata')
          .optional(),
        align: z
          .number()
          .int()
          .positive()
          .refine((n) => (n & (n - 1)) === 0, 'expected a power of two')
          .optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<BlobOptions>;
  },
  declare(o: BlobOptions, ctx: { configPath: string; target: { arch: string } }) {
    const symbol = symbolOf(o, ctx.configPath);
    return {
      inputs: typeof o.file === 'string' ? [o.file] : [],
      outputs: [o.output ?? `${symbol}.o`],
      key: {
        symbol,
        names: o.names ?? null,
        arch: o.arch ?? ctx.target.arch,
        section: o.section ?? null,
        align: o.align ?? null,
      },
    };
  },
  async make(o: BlobOptions, ctx: StepContext) {
    const { writeBinaryObjectFile } = await import('../formats/elf/object.js');
    const { fileContent } = await import('../formats/io/content.js');
    const arch = o.arch ?? ctx.target.arch;
    const layout = await writeBinaryObjectFile(ctx.outPath(), await fileContent(ctx.path(o.file)), {
      arch: arch as 'x86_64' | 'aarch64' | 'i386',
      symbol: symbolOf(o),
      ...(o.names ? { names: o.names } : {}),
      ...(o.section ? { section: o.section } : {}),
      ...(o.align ? { align: o.align } : {}),
    });
    ctx.log(`blob: ${layout.dataSize} bytes as ${layout.symbols.start} .. ${layout.symbols.end} (${arch})`);
  },
};

/**
 * Embeds a file in the kernel as an object file to link: `_binary_<symbol>_start/_end/_size`.
 * @example
 * const initrdObj = blob({ file: initrd, symbol: 'initrd_tar' });
 * const kernel = cc.exe({ sources: ['kernel.c'], objects: [initrdObj] });
 */
export const blob = defineStep<BlobOptions>(blobKind);
export { blobKind };
