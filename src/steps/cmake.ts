/**
 * `cmake()`: configure once (Ninja generator, compile commands exported) in a persistent work
 * folder, then build incrementally with Ninja; chosen artifacts are copied out as outputs.
 * Ninja's own log (.ninja_log) stays in the work folder for `kiln status`.
 */
import { cmakePrefixMapDefines, pathMappings } from '../toolchain/path-map.js';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { z } from 'zod';
import { KilnError } from '../errors.js';
import { type StepContext, defineStep, type SchemaKit } from '../step.js';

/**
 * Options of `cmake()`: configure with CMake, build with Ninja, collect the named artifacts.
 * @example cmake({ source: '.', targets: ['kernel'], artifacts: { 'kernel.elf': 'kernel/kernel' } })
 */
export interface CmakeOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Source folder with CMakeLists.txt (default `.`). */
  source?: string;
  /** Ninja targets to build (default: all). */
  targets?: string[];
  /** CMAKE_BUILD_TYPE (default: Debug, or Release in a release profile). */
  buildType?: string;
  /** -D cache entries. */
  defines?: Record<string, string | number | boolean>;
  /** C compiler (default clang). */
  cc?: string;
  /** C++ compiler (default clang++). */
  cxx?: string;
  /** Output name → path inside the CMake build folder (`kernel/kernel`). */
  artifacts: Record<string, string>;
  /** Extra files or globs that are inputs besides the source tree. */
  inputs?: string[];
  /** Let Ninja build everything it can after a failure (`ninja -k 0`), so every error is reported (`kiln status`). */
  keepGoing?: boolean;
  /** Log every compiler and linker command line (`cmake --build --verbose`, i.e. `ninja -v`) into the step's log and build.log. */
  verbose?: boolean;
}

const cmakeKind = {
  kind: 'cmake',
  version: 2,
  makeSchema: (kit: SchemaKit) => {
    const { z } = kit;
    return z
      .object({
        name: z.string().optional(),
        source: z.string().optional(),
        targets: z.array(z.string()).optional(),
        buildType: z.string().optional(),
        defines: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
        cc: z.string().optional(),
        cxx: z.string().optional(),
        artifacts: z.record(z.string(), z.string()),
        inputs: z.array(z.string()).optional(),
        keepGoing: z.boolean().optional(),
        verbose: z.boolean().optional(),
      })
      .strict() satisfies z.ZodType<CmakeOptions>;
  },
  declare(o: CmakeOptions) {
    const src = o.source ?? '.';
    return {
      inputs: [
        posix.join(src, '**/{CMakeLists.txt,*.cmake,*.c,*.h,*.S,*.s,*.cc,*.cpp,*.hpp,*.ld,*.asm}'),
        ...(o.inputs ?? []),
      ],
      tools: ['cmake', 'ninja', o.cc ?? 'clang'],
      outputs: Object.keys(o.artifacts),
      workDir: `.kiln/work/cmake-${o.name ?? 'project'}`,
      // CMake hands tools absolute paths; clang 14 keeps a .S file's in DWARF despite prefix maps.
      localOnly: "CMake passes absolute source paths, and clang 14 keeps an assembly file's in DWARF",
    };
  },
  async make(o: CmakeOptions, ctx: StepContext) {
    const buildDir = ctx.workDir!;
    const buildType = o.buildType ?? (ctx.target.release ? 'Release' : 'Debug');
    const configure = [
      'cmake',
      '-S',
      ctx.path(o.source ?? '.'),
      '-B',
      buildDir,
      '-G',
      'Ninja',
      `-DCMAKE_BUILD_TYPE=${buildType}`,
      `-DCMAKE_C_COMPILER=${o.cc ?? 'clang'}`,
      ...(o.cxx ? [`-DCMAKE_CXX_COMPILER=${o.cxx}`] : []),
      '-DCMAKE_EXPORT_COMPILE_COMMANDS=ON',
      ...cmakePrefixMapDefines(pathMappings(ctx.projectDir, ctx.buildDir)),
      ...Object.entries(o.defines ?? {}).map(([k, v]) => `-D${k}=${v === true ? 'ON' : v === false ? 'OFF' : v}`),
    ];
    // Configure once per configure command: a changed command (new defines, new flags) starts a fresh
    // cache, since CMake reads *_FLAGS_INIT only into a new cache.
    const stamp = join(buildDir, 'kiln-configure.txt');
    const stampText = configure.join('\n');
    const configured =
      existsSync(join(buildDir, 'build.ninja')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === stampText;
    if (!configured) {
      rmSync(join(buildDir, 'CMakeCache.txt'), { force: true });
      await ctx.exec(configure);
      writeFileSync(stamp, stampText);
    }
    await ctx.exec([
      'cmake',
      '--build',
      buildDir,
      ...(o.verbose ? ['--verbose'] : []),
      ...(o.targets?.length ? ['--target', ...o.targets] : []),
      ...(o.keepGoing ? ['--', '-k', '0'] : []),
    ]);
    for (const [output, rel] of Object.entries(o.artifacts)) {
      const from = join(buildDir, rel);
      if (!existsSync(from))
        throw new KilnError('ARTIFACT_MISSING', `CMake built, but ${rel} is not in its build folder`, {
          hint: `check the artifacts paths (relative to ${buildDir})`,
        });
      await copyFile(from, ctx.outPath(output));
    }
  },
};

/** @example cmake({ source: '.', targets: ['kernel'], artifacts: { 'kernel.elf': 'kernel/kernel' } }) */
export const cmake = defineStep<CmakeOptions>(cmakeKind);
export { cmakeKind };
