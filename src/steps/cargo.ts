/**
 * `cargo.bin()` / `cargo.lib()`: a package of a Cargo workspace built for the target — a built-in
 * triple, the host, the project's own target JSON, or a custom target spec JSON kiln generates for
 * the toolchain's version —
 * with `core`/`alloc` from -Zbuild-std, a kiln-built sysroot, or the host route (chosen
 * automatically and reported in the build log). Artifacts are found from cargo's JSON messages.
 */
import { ccPrefixMapFlags, pathMappings, rustRemapFlags } from '../toolchain/path-map.js';
import { copyFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { parseDepfile } from '../toolchain/depfile.js';
import { join, posix } from 'node:path';
import type { z } from 'zod';
import { KilnError } from '../errors.js';
import { type FileInput, type StepContext, StepFailure, defineStep, type SchemaKit } from '../step.js';
import { findExecutable } from '../util/which.js';
import { type Layer, type LayerPolicy, resolvePolicy, rustFlags } from '../toolchain/policy.js';
import {
  type RustRoute,
  type RustToolchain,
  buildStdArgs,
  cargoNeedsJsonSpecFlag,
  chooseRust,
  ensureSysroot,
  generateTargetSpec,
} from '../toolchain/rust.js';
import {
  type ProjectTargetSpec,
  findToolchainPin,
  readProjectTargetSpec,
  specPolicyWarnings,
} from '../toolchain/rust-target.js';
import { SECRET_NAME_RULE, isSecretName } from '../util/step-env.js';

/**
 * A target spec kiln generates for the toolchain in use (its JSON format changes between rustc versions),
 * from the layer's policy and these overrides.
 * @example target: { name: 'x86_64-portix', features: '-mmx,-sse,+soft-float' }
 */
export interface CustomTarget {
  /** Names the target and its JSON file (`x86_64-portix`). */
  name: string;
  /** The LLVM triple (default: `x86_64-unknown-none` / `aarch64-unknown-none`). */
  llvmTarget?: string;
  /** LLVM features; default from the policy (`-mmx,-sse,+soft-float` when the layer has no FPU). */
  features?: string;
  /** Turn the x86_64 red zone off (default: from the policy; off for the kernel layer). */
  disableRedzone?: boolean;
  /** Code model (default: the policy's, `kernel` for an x86_64 kernel). */
  codeModel?: 'small' | 'kernel' | 'medium' | 'large';
  /** `static` (default) or `pic` (when the policy asks for PIE). */
  relocationModel?: 'static' | 'pic';
  /** Further spec keys, merged into the JSON as given (`{ "max-atomic-width": 64 }`). */
  extra?: Record<string, unknown>;
}

/**
 * Options of `cargo.bin()` and `cargo.lib()`. Builds run `cargo build --offline` with the layer's
 * policy as profile settings and codegen flags.
 * @example cargo.bin({ path: '.', package: 'kernel', target: { name: 'x86_64-myos' }, linkerScript: 'linker.ld', objects: [entry] })
 */
export interface CargoOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Folder with the Cargo.toml (a package or the workspace root). */
  path: string;
  /** Package of the workspace (`-p`). */
  package?: string;
  /** Binary target name (default: the package's). */
  bin?: string;
  /**
   * A built-in triple, 'host', the project's own target JSON (`'kernel/x86_64-portix.json'`, used as
   * it is), or a custom target spec kiln generates. Default: custom `<arch>-kiln`.
   */
  target?: string | CustomTarget;
  /**
   * How core/alloc are provided for a custom target: `build-std` (-Zbuild-std, needs rust-src),
   * `sysroot` (kiln builds core + compiler_builtins + alloc once per target into a cached sysroot, e.g.
   * from Debian's rust-src), `host` (the host target with no_std); default `auto`: the first that works.
   */
  std?: 'auto' | RustRoute;
  /** Which flag policy applies (default kernel): panic strategy, FPU, red zone, LTO, stack protector. */
  layer?: Layer;
  /** Cargo features to enable (`--features`). */
  features?: string[];
  /** Extra rustc flags, after the policy's. */
  rustflags?: string[];
  /** Linker script (`-C link-arg=-T...`) for `cargo.bin`. */
  linkerScript?: FileInput;
  /** Objects or static libraries linked into the binary (nasm.obj() outputs, cc.obj()...). */
  objects?: FileInput[];
  /** Env for build.rs (e.g. `KOZO_ABI_INCLUDE`); values may be artifacts (their path is passed). */
  env?: Record<string, string | FileInput>;
  /** Output file name (default `<package or name>.elf`, or `.a` for cargo.lib). */
  output?: string;
  /** Explicit toolchain (paths); default: found automatically. */
  rustc?: string;
  /** Explicit cargo (path); default: the one beside the chosen rustc. */
  cargo?: string;
}

const zTarget = (kit: SchemaKit) => {
  const { z } = kit;
  return z.union([
    z.string(),
    z
      .object({
        name: z.string().regex(/^[a-z0-9_]+-[a-z0-9_-]+$/, 'expected a target name like x86_64-myos'),
        llvmTarget: z.string().optional(),
        features: z.string().optional(),
        disableRedzone: z.boolean().optional(),
        codeModel: z.enum(['small', 'kernel', 'medium', 'large']).optional(),
        relocationModel: z.enum(['static', 'pic']).optional(),
        extra: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
  ]);
};

const schema = (kit: SchemaKit) => {
  const { z, zFileInput, zLayer } = kit;
  return z
    .object({
      name: z.string().optional(),
      path: z.string(),
      package: z.string().optional(),
      bin: z.string().optional(),
      target: zTarget(kit).optional(),
      std: z.enum(['auto', 'build-std', 'sysroot', 'host']).optional(),
      layer: zLayer.optional(),
      features: z.array(z.string()).optional(),
      rustflags: z.array(z.string()).optional(),
      linkerScript: zFileInput.optional(),
      objects: z.array(zFileInput).optional(),
      env: z
        .record(
          z.string().refine((n) => !isSecretName(n), {
            message: `looks secret: a step's tools never get a secret (${SECRET_NAME_RULE})`,
          }),
          z.union([z.string(), zFileInput]),
        )
        .optional(),
      output: z.string().optional(),
      rustc: z.string().optional(),
      cargo: z.string().optional(),
    })
    .strict() satisfies z.ZodType<CargoOptions>;
};

interface CargoMessage {
  reason: string;
  package_id?: string;
  target?: { name: string; kind: string[] };
  executable?: string | null;
  filenames?: string[];
  message?: { rendered?: string };
}

function kind(mode: 'bin' | 'lib') {
  return {
    kind: `cargo.${mode}`,
    version: 2,
    makeSchema: schema,
    declare(o: CargoOptions) {
      const base = o.path === '.' ? '' : o.path;
      const specFile = typeof o.target === 'string' && o.target.endsWith('.json') ? [o.target] : [];
      return {
        // The whole workspace's sources (build.rs may compile C and assembly too), the project's
        // target JSON and the rust-toolchain file that picks the toolchain.
        inputs: [posix.join(base, '**/*.{rs,toml,lock,c,h,S,s,asm,ld,x,json}'), ...specFile, 'rust-toolchain{,.toml}'],
        tools: ['rustc', 'cargo'],
        env: ['RUSTFLAGS', 'CARGO_ENCODED_RUSTFLAGS', 'CFLAGS', 'CARGO_INCREMENTAL'],
        outputs: [o.output ?? `${o.bin ?? o.package ?? o.name ?? 'crate'}.${mode === 'bin' ? 'elf' : 'a'}`],
        workDir: `.kiln/work/cargo-${o.name ?? o.package ?? 'crate'}`,
      };
    },
    async make(o: CargoOptions, ctx: StepContext) {
      const targetArch = ctx.target.arch;
      if (targetArch === 'i386') {
        throw new KilnError(
          'RUST_TARGET_UNAVAILABLE',
          'cargo steps build for x86_64 and aarch64; kiln generates no i386 Rust target',
          { hint: 'build this component for x86_64, or use cc/zig/nasm steps for an i386 kernel' },
        );
      }
      const arch = targetArch;
      const policy = resolvePolicy(o.layer ?? 'kernel', ctx.target.release, ctx.target.policy);
      const target = o.target ?? { name: `${arch}-kiln` };
      const projectSpec =
        typeof target === 'string' && target.endsWith('.json')
          ? readSpecFor(ctx, target, policy, o.layer ?? 'kernel')
          : undefined;
      const custom = typeof target === 'object';
      const builtinBare = typeof target === 'string' && target !== 'host' && !projectSpec;
      const pin = findToolchainPin(ctx.path(o.path), ctx.projectDir);
      const choice = await chooseRust(
        {
          custom: custom || builtinBare || !!projectSpec,
          ...(o.std && o.std !== 'auto' ? { prefer: o.std } : {}),
          ...(o.rustc ? { rustc: o.rustc } : {}),
          ...(o.cargo ? { cargo: o.cargo } : {}),
          ...(projectSpec ? { spec: projectSpec } : {}),
          ...(pin ? { pin } : {}),
        },
        ctx.env,
      );
      const { toolchain } = choice;
      let route = choice.route;
      for (const note of choice.notes) ctx.warn(note);
      ctx.log(`rust: ${toolchain.rustc} (${toolchain.versionLine}); route ${route}: ${choice.reason}`);
      const work = ctx.workDir!;
      const flags = rustFlags(policy, arch);
      const rustflags: string[] = [...flags.rustflags];
      const env: NodeJS.ProcessEnv = {
        ...ctx.env,
        ...flags.profileEnv,
        RUSTC: toolchain.rustc,
        CARGO_TARGET_DIR: join(work, 'target'),
      };
      const args: string[] = [];
      if (!toolchain.nightly) env.RUSTC_BOOTSTRAP = '1'; // -Z flags and core's unstable features on a stable toolchain
      let targetArg: string | undefined;
      if (projectSpec) {
        if (route === 'host')
          throw new KilnError('RUST_TARGET_UNAVAILABLE', `no toolchain can build core for ${projectSpec.path}`, {
            location: { file: projectSpec.path },
            hint: 'install rust-src (rustup component add rust-src) or Debian rust-src + librust-compiler-builtins-dev',
          });
        targetArg = projectSpec.path;
        if (route === 'build-std') args.push(...(await buildStdArgs(toolchain)));
        else
          rustflags.push(
            '--sysroot',
            await ensureSysroot(toolchain, projectSpec.path, projectSpec.json, (l) => ctx.log(l), ctx.env),
          );
        if (mode === 'bin') rustflags.push(...linkerFallback(projectSpec, toolchain, (l) => ctx.log(l)));
      } else if (custom && route !== 'host') {
        const spec = await generateTargetSpec(toolchain, {
          name: target.name,
          arch,
          features:
            target.features ??
            (policy.fpu ? undefined : arch === 'x86_64' ? '-mmx,-sse,+soft-float' : '+strict-align,-neon,-fp-armv8'),
          disableRedzone: target.disableRedzone ?? !policy.redZone,
          panicStrategy: policy.panic,
          // The policy's code model is an x86_64 setting (LLVM allows only small/tiny/large on AArch64).
          ...((target.codeModel ?? (arch === 'x86_64' ? policy.codeModel : undefined))
            ? { codeModel: (target.codeModel ?? policy.codeModel)! }
            : {}),
          relocationModel: target.relocationModel ?? (policy.pie ? 'pic' : 'static'),
          ...(target.llvmTarget ? { llvmTarget: target.llvmTarget } : {}),
          ...(target.extra ? { extra: target.extra } : {}),
        });
        const specJson = `${JSON.stringify(spec, null, 2)}\n`;
        targetArg = join(work, `${target.name}.json`);
        await writeFile(targetArg, specJson);
        if (route === 'build-std') {
          args.push(...(await buildStdArgs(toolchain)));
        } else {
          const sysroot = await ensureSysroot(toolchain, targetArg, specJson, (l) => ctx.log(l), ctx.env);
          rustflags.push('--sysroot', sysroot);
        }
      } else if (builtinBare && route === 'host') {
        throw new KilnError('RUST_TARGET_UNAVAILABLE', `no toolchain can build core for ${target}`, {
          hint: 'install rust-src (rustup component add rust-src) or Debian rust-src + librust-compiler-builtins-dev',
        });
      } else if (builtinBare) {
        targetArg = target as string;
        if (route === 'build-std') args.push(...(await buildStdArgs(toolchain)));
        else {
          // A built-in triple: build the sysroot from its spec.
          const spec = await generateTargetSpec(toolchain, { name: target as string, arch });
          const specJson = `${JSON.stringify(spec, null, 2)}\n`;
          const specPath = join(work, `${target as string}.json`);
          await writeFile(specPath, specJson);
          targetArg = specPath;
          rustflags.push('--sysroot', await ensureSysroot(toolchain, specPath, specJson, (l) => ctx.log(l), ctx.env));
        }
      } else {
        route = 'host';
        targetArg = toolchain.hostTriple;
        rustflags.push('-C', 'panic=abort', '-C', 'relocation-model=static', '-C', 'target-cpu=x86-64');
        if (mode === 'bin')
          rustflags.push('-C', 'link-arg=-nostartfiles', '-C', 'link-arg=-static', '-C', 'link-arg=-nostdlib');
      }
      if (o.linkerScript && mode === 'bin') rustflags.push('-C', `link-arg=-T${ctx.path(o.linkerScript)}`);
      if (mode === 'bin') for (const obj of o.objects ?? []) rustflags.push('-C', `link-arg=${ctx.path(obj)}`);
      const mappings = pathMappings(ctx.projectDir, ctx.buildDir);
      rustflags.push(...rustRemapFlags(mappings, ctx.env));
      // Build scripts that compile C read CFLAGS (the cc crate's convention): the same path map.
      env.CFLAGS = [ctx.env.CFLAGS, ...ccPrefixMapFlags(mappings)].filter(Boolean).join(' ');
      // Incremental compilation names archive members after a random session id: off unless asked for.
      env.CARGO_INCREMENTAL = ctx.env.CARGO_INCREMENTAL ?? '0';
      rustflags.push(...(o.rustflags ?? []));
      if (targetArg?.endsWith('.json') && (await cargoNeedsJsonSpecFlag(toolchain))) args.push('-Zjson-target-spec');
      env.CARGO_ENCODED_RUSTFLAGS = rustflags.join('\x1f');
      delete env.RUSTFLAGS;
      for (const [k, v] of Object.entries(o.env ?? {})) env[k] = typeof v === 'string' ? v : ctx.path(v);
      const release = policy.optimize !== 'debug';
      ctx.log(
        `policy (${o.layer ?? 'kernel'} layer): ${Object.entries(flags.profileEnv)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}; codegen ${flags.rustflags.join(' ') || '(defaults)'}`,
      );
      const result = await ctx.exec(
        [
          toolchain.cargo,
          'build',
          '--offline',
          '--manifest-path',
          join(ctx.path(o.path), 'Cargo.toml'),
          ...(o.package ? ['--package', o.package] : []),
          ...(mode === 'bin' && o.bin ? ['--bin', o.bin] : []),
          ...(mode === 'lib' ? ['--lib'] : []),
          ...(release ? ['--release'] : []),
          ...(o.features?.length ? ['--features', o.features.join(',')] : []),
          '--target',
          targetArg!,
          '--message-format=json-render-diagnostics',
          ...args,
        ],
        { env, allowFailure: true },
      );
      const messages = result.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as CargoMessage);
      if (result.code !== 0) {
        throw new StepFailure(`cargo build failed (exit code ${result.code})`, {
          command: `cargo build ${o.package ?? ''}`,
          exitCode: result.code,
          output: result.stderr,
        });
      }
      const artifacts = messages.filter(
        (m) =>
          m.reason === 'compiler-artifact' &&
          (!o.package || m.package_id?.includes(o.package) || m.package_id?.includes(`#${o.package}@`)),
      );
      let file: string | undefined;
      if (mode === 'bin') {
        file =
          artifacts.filter((m) => m.executable && (!o.bin || m.target?.name === o.bin)).at(-1)?.executable ?? undefined;
      } else {
        file = artifacts
          .flatMap((m) => m.filenames ?? [])
          .filter((f) => f.endsWith('.a'))
          .at(-1);
      }
      if (!file) {
        throw new StepFailure(
          `cargo finished but reported no ${mode === 'bin' ? 'executable' : 'static library (crate-type = ["staticlib"])'}${o.package ? ` for ${o.package}` : ''}`,
          { hint: mode === 'lib' ? 'add [lib] crate-type = ["staticlib"] to the crate' : 'check --package/--bin' },
        );
      }
      await copyFile(file, ctx.outPath());
      // cargo's dep-info (`<artifact>.d`, absolute paths): every source file rustc read, include_bytes! too.
      const depInfo = `${file.replace(/\.(a|elf|exe)$/, '')}.d`;
      if (existsSync(depInfo)) ctx.reads(parseDepfile(readFileSync(depInfo, 'utf8')).inputs);
      ctx.log(`rust route: ${route}`);
    },
  };
}

/** Reads the project's target JSON; refuses one for another architecture; warns where it contradicts the policy. */
function readSpecFor(ctx: StepContext, file: string, policy: LayerPolicy, layer: string): ProjectTargetSpec {
  const spec = readProjectTargetSpec(ctx.path(file), `${ctx.name}.target`);
  if (spec.arch !== ctx.target.arch) {
    throw new KilnError(
      'RUST_TARGET_ARCH',
      `${file} is a target for ${spec.arch}, but this build is for ${ctx.target.arch}`,
      {
        location: { file: spec.path },
        exitCode: 2,
        hint: `pick the spec by t.arch in kiln.config.ts (\`\${t.arch}-myos.json\`)`,
      },
    );
  }
  const width = ctx.target.arch === 'x86_64' || ctx.target.arch === 'aarch64' ? 64 : spec.pointerWidth;
  if (spec.pointerWidth !== width) ctx.warn(`${file}: target-pointer-width ${spec.pointerWidth} on ${ctx.target.arch}`);
  for (const w of specPolicyWarnings(spec, policy, layer)) ctx.warn(w);
  ctx.log(
    `rust target: ${file} as it is (${spec.arch}, ${spec.pointerWidth}-bit pointers, panic=${spec.panicStrategy})`,
  );
  return spec;
}

/**
 * The spec names a linker this machine lacks (the seeds' specs say rust-lld, which Debian does not
 * ship): link with ld.lld, the same linker under its GNU name, when the flavor is LLD's.
 */
function linkerFallback(spec: ProjectTargetSpec, toolchain: RustToolchain, log: (line: string) => void): string[] {
  const linker = typeof spec.spec.linker === 'string' ? spec.spec.linker : undefined;
  if (
    !linker ||
    findExecutable(linker) ||
    existsSync(join(toolchain.sysroot, 'lib', 'rustlib', toolchain.hostTriple, 'bin', linker))
  )
    return [];
  const flavor = String(spec.spec['linker-flavor'] ?? '');
  if (!/lld/.test(flavor) || !findExecutable('ld.lld')) return [];
  log(`${spec.name}.json names the linker ${linker}, which is not installed: linking with ld.lld (-C linker=ld.lld)`);
  return ['-C', 'linker=ld.lld'];
}

/**
 * Cargo steps.
 * @example cargo.bin({ path: '.', package: 'kernel', target: { name: 'x86_64-portix' }, linkerScript: 'kernel/linker.ld' })
 */
export const cargo = {
  /**
   * `cargo build` of a binary for the target (a generated `<arch>-kiln` spec by default), `core`/`alloc`
   * provided by -Zbuild-std, a kiln-built sysroot or the host route; output: the ELF.
   * @example const kernel = cargo.bin({ path: '.', package: 'kernel', linkerScript: 'linker.ld' })
   */
  bin: defineStep<CargoOptions>(kind('bin')),
  /**
   * `cargo build --lib` of a `staticlib` crate; output: the `.a` archive (to link into a C or Zig kernel).
   * @example const drivers = cargo.lib({ path: 'drivers', target: 'host' })
   */
  lib: defineStep<CargoOptions>(kind('lib')),
};
