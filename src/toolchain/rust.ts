/**
 * Rust for bare-metal targets: finding toolchains (rustup's and the distribution's), generating a
 * custom target spec JSON for the toolchain's version, and the three routes to `core`/`alloc`:
 *  1. `-Zbuild-std` when the toolchain ships rust-src;
 *  2. a sysroot kiln builds itself from an installed rust-src (core, alloc, compiler_builtins with
 *     the `mem` feature) offline against the local crate registry, cached per target spec and
 *     toolchain, then passed with `--sysroot` (the approach of cargo-xbuild);
 *  3. the host target with `no_std`, a linker script and static relocation.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, copyFileSync, writeFileSync, rmSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { KilnError } from '../errors.js';
import { acquireLock } from '../util/lock.js';
import { findExecutable } from '../util/which.js';
import { run } from '../util/process.js';
import {
  type ProjectTargetSpec,
  type ToolchainPin,
  pinInstallCommand,
  pinnedToolchainDir,
  specRejection,
} from './rust-target.js';
import { parseVersion } from './tools.js';
import { kilnCacheDir } from '../util/cache-dir.js';

export interface RustToolchain {
  rustc: string;
  cargo: string;
  version: [number, number, number];
  versionLine: string;
  nightly: boolean;
  sysroot: string;
  /** library/ folder of rust-src, when installed. */
  src: string | undefined;
  /** library/vendor of rust-src (Debian vendors the standard library's dependencies there). */
  vendor: string | undefined;
  hostTriple: string;
}

/** How `core`/`alloc` reach a custom target: -Zbuild-std, a kiln-built sysroot, or the host target. */
export type RustRoute = 'build-std' | 'sysroot' | 'host';

const detected = new Map<string, Promise<RustToolchain | undefined>>();

async function detect(proxyOrRustc: string, proxyOrCargo: string): Promise<RustToolchain | undefined> {
  const v = await run([proxyOrRustc, '-vV'], { timeoutMs: 20_000 });
  if (v.code !== 0) return undefined;
  const versionLine = v.stdout.split('\n')[0] ?? '';
  const version = parseVersion(versionLine);
  const host = /^host: (.+)$/m.exec(v.stdout)?.[1]?.trim();
  const sysroot = (await run([proxyOrRustc, '--print', 'sysroot'], { timeoutMs: 20_000 })).stdout.trim();
  if (!version || !host || !sysroot) return undefined;
  // rustup's proxies (~/.cargo/bin) pick a toolchain from the working folder's rust-toolchain.toml:
  // kiln calls the binaries of the toolchain it detected, so its choice is the one that runs.
  const own = (tool: string, given: string) =>
    isRustupProxy(given) && existsSync(join(sysroot, 'bin', tool)) ? join(sysroot, 'bin', tool) : given;
  const rustc = own('rustc', proxyOrRustc);
  const cargo = own('cargo', proxyOrCargo);
  const srcCandidates = [join(sysroot, 'lib/rustlib/src/rust/library'), '/usr/lib/rustlib/src/rust/library'];
  const src = srcCandidates.find(
    (d) => existsSync(join(d, 'core', 'Cargo.toml')) && (d.startsWith(sysroot) || sysroot === '/usr'),
  );
  const vendor = src && existsSync(join(src, 'vendor')) ? join(src, 'vendor') : undefined;
  return {
    rustc,
    cargo,
    version,
    versionLine,
    nightly: /nightly|dev/.test(versionLine),
    sysroot,
    src,
    vendor,
    hostTriple: host,
  };
}

function isRustupProxy(file: string): boolean {
  try {
    return /^rustup(-init)?$/.test(basename(realpathSync(file)));
  } catch {
    return false;
  }
}

/** Every Rust toolchain found: PATH (rustup), rustup's installed toolchains, the distribution's /usr/bin. */
export async function findRustToolchains(env: NodeJS.ProcessEnv = process.env): Promise<RustToolchain[]> {
  const pairs: Array<[string, string]> = [];
  const onPath = findExecutable('rustc', env);
  const cargoOnPath = findExecutable('cargo', env);
  if (onPath && cargoOnPath) pairs.push([onPath, cargoOnPath]);
  const rustupHome = env.RUSTUP_HOME ?? join(homedir(), '.rustup');
  try {
    for (const name of readdirSync(join(rustupHome, 'toolchains')).sort()) {
      const bin = join(rustupHome, 'toolchains', name, 'bin');
      if (existsSync(join(bin, 'rustc')) && existsSync(join(bin, 'cargo')))
        pairs.push([join(bin, 'rustc'), join(bin, 'cargo')]);
    }
  } catch {
    /* no rustup */
  }
  if (existsSync('/usr/bin/rustc') && existsSync('/usr/bin/cargo')) pairs.push(['/usr/bin/rustc', '/usr/bin/cargo']);
  const out: RustToolchain[] = [];
  const seen = new Set<string>();
  for (const [rustc, cargo] of pairs) {
    const key = `${rustc}|${cargo}`;
    if (!detected.has(key)) detected.set(key, detect(rustc, cargo));
    const t = await detected.get(key)!;
    if (t && !seen.has(`${t.sysroot}`)) {
      seen.add(t.sysroot);
      out.push(t);
    }
  }
  return out;
}

/** The crate registry holding compiler_builtins sources (Debian puts it at /usr/share/cargo/registry). */
export function findCompilerBuiltins(
  registry = '/usr/share/cargo/registry',
): { registry: string; version: string } | undefined {
  try {
    const dirs = readdirSync(registry)
      .filter((d) => /^compiler_builtins-\d/.test(d))
      .sort();
    const last = dirs.at(-1);
    return last ? { registry, version: last.replace(/^compiler_builtins-/, '') } : undefined;
  } catch {
    return undefined;
  }
}

export interface RustChoiceOptions {
  /** The target needs core built from source (custom spec or a built-in bare triple). */
  custom: boolean;
  prefer?: RustRoute;
  rustc?: string;
  cargo?: string;
  /** The project's own target JSON: only toolchains that accept the file are candidates. */
  spec?: ProjectTargetSpec;
  /** The project's rust-toolchain.toml: its toolchain comes first when installed. */
  pin?: ToolchainPin;
}

export interface RustChoice {
  toolchain: RustToolchain;
  route: RustRoute;
  reason: string;
  /** What the user should know (a pin that could not be honoured, toolchains that rejected the spec). */
  notes: string[];
}

/** The toolchain can run -Zbuild-std offline: rust-src with its lock file, and nightly or vendored deps. */
function canBuildStd(t: RustToolchain): boolean {
  if (!t.src) return false;
  const lock = existsSync(join(t.src, 'Cargo.lock')) || existsSync(join(t.src, '..', 'Cargo.lock'));
  return lock && (t.nightly || t.vendor !== undefined);
}

async function pinFirst(
  toolchains: RustToolchain[],
  pin: ToolchainPin,
  env: NodeJS.ProcessEnv,
  notes: string[],
): Promise<RustToolchain[]> {
  const dir = pinnedToolchainDir(pin, toolchains[0]?.hostTriple ?? 'x86_64-unknown-linux-gnu', env);
  const t = dir ? await detect(join(dir, 'bin', 'rustc'), join(dir, 'bin', 'cargo')) : undefined;
  if (!t) {
    notes.push(
      `${pin.file} pins "${pin.channel}", which is not installed: using another toolchain (install it: ${pinInstallCommand(pin)})`,
    );
    return toolchains;
  }
  if (pin.components.includes('rust-src') && !t.src) {
    notes.push(
      `${pin.file} pins "${pin.channel}" with rust-src, but that toolchain has no rust-src (rustup component add rust-src --toolchain ${pin.channel})`,
    );
  }
  return [t, ...toolchains.filter((x) => x.sysroot !== t.sysroot)];
}

async function acceptingSpec(toolchains: RustToolchain[], spec: ProjectTargetSpec): Promise<RustToolchain[]> {
  const verdicts = await Promise.all(toolchains.map(async (t) => ({ t, why: await specRejection(t.rustc, spec) })));
  const ok = verdicts.filter((v) => !v.why).map((v) => v.t);
  if (ok.length) return ok;
  const lines = verdicts.map((v) => `${v.t.versionLine} (${v.t.rustc}): ${v.why}`);
  throw new KilnError(
    'RUST_TARGET_SPEC_REJECTED',
    `no Rust toolchain here accepts ${spec.path}:\n  ${lines.join('\n  ')}`,
    {
      location: { file: spec.path },
      hint:
        'target JSON formats follow rustc: "target-pointer-width" is a string ("64") up to about rustc 1.8x and a number (64) ' +
        'after; "data-layout" must be the one of the toolchain\'s LLVM. Write the file for the toolchain you build with ' +
        '(rustc -Z unstable-options --print target-spec-json --target x86_64-unknown-none shows its format)',
    },
  );
}

/**
 * Picks a toolchain and route for a target. Custom targets need core built from source: prefer
 * build-std (rust-src + nightly, or vendored deps with RUSTC_BOOTSTRAP), then a kiln-built sysroot,
 * then the host route. A rust-toolchain.toml's toolchain is tried first when installed; a project's
 * target JSON limits the candidates to the toolchains that accept it.
 */
export async function chooseRust(
  options: RustChoiceOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RustChoice> {
  let toolchains = await findRustToolchains(env);
  const notes: string[] = [];
  if (options.rustc) {
    const t = await detect(options.rustc, options.cargo ?? join(dirname(options.rustc), 'cargo'));
    toolchains = t ? [t] : [];
  } else if (options.pin) {
    toolchains = await pinFirst(toolchains, options.pin, env, notes);
  }
  if (toolchains.length === 0) {
    throw new KilnError('TOOL_MISSING', 'no Rust toolchain found (rustc + cargo)', {
      hint: "install rustup (https://rustup.rs) or Debian's rustc, cargo, rust-src and librust-compiler-builtins-dev",
    });
  }
  if (options.spec) toolchains = await acceptingSpec(toolchains, options.spec);
  const pick = (route: RustRoute, toolchain: RustToolchain, reason: string): RustChoice => {
    if (options.pin && !options.rustc && toolchain.sysroot !== toolchains[0]?.sysroot)
      notes.push(
        `${options.pin.file} pins "${options.pin.channel}": route ${route} needs ${toolchain.versionLine} instead`,
      );
    return { toolchain, route, reason, notes };
  };
  const builtins = findCompilerBuiltins();
  const want = options.prefer;
  const withSrc = toolchains.filter((t) => t.src);
  if ((want === undefined || want === 'build-std') && options.custom) {
    const t = withSrc.find(canBuildStd);
    if (t)
      return pick(
        'build-std',
        t,
        `${t.versionLine} has rust-src${t.vendor ? ' with vendored dependencies' : ''}: -Zbuild-std=core,alloc`,
      );
    if (want === 'build-std')
      throw new KilnError('RUST_NO_BUILD_STD', 'no toolchain with rust-src that can run -Zbuild-std offline', {
        hint: 'rustup component add rust-src --toolchain nightly, or use route "sysroot"',
      });
  }
  if ((want === undefined || want === 'sysroot') && options.custom) {
    // The sysroot is built from compiler_builtins in the local registry: rust-src of the same era (Debian's).
    const t = withSrc.find((x) => !canBuildStd(x)) ?? withSrc[0];
    if (t && builtins)
      return pick(
        'sysroot',
        t,
        `${t.versionLine} has rust-src at ${t.src}; kiln builds core+alloc+compiler_builtins ${builtins.version} into a cached sysroot`,
      );
    if (want === 'sysroot')
      throw new KilnError(
        'RUST_NO_SRC',
        'no toolchain with rust-src and compiler_builtins sources to build a sysroot',
        { hint: 'Debian/Ubuntu: apt install rustc cargo rust-src librust-compiler-builtins-dev' },
      );
  }
  const t = toolchains[0]!;
  return pick(
    'host',
    t,
    options.custom
      ? `no rust-src anywhere: building for the host target ${t.hostTriple} with no_std, static relocation and a linker script`
      : 'target is built in',
  );
}

export interface TargetSpecOptions {
  /** File stem of the spec, which names the target (`x86_64-portix`). */
  name: string;
  arch: 'x86_64' | 'aarch64';
  /** LLVM target (default x86_64-unknown-none-elf / aarch64-unknown-none). */
  llvmTarget?: string;
  /** LLVM features (`-mmx,-sse,+soft-float`). Default from the policy. */
  features?: string;
  disableRedzone?: boolean;
  panicStrategy?: 'abort' | 'unwind';
  codeModel?: 'small' | 'kernel' | 'medium' | 'large';
  relocationModel?: 'static' | 'pic';
  /** Linker: ld.lld (Debian ships no rust-lld) by default. */
  linker?: string;
  /** Extra keys merged last. */
  extra?: Record<string, unknown>;
}

/**
 * A custom target spec for this toolchain: starts from the toolchain's own JSON for the
 * built-in bare target (so version differences such as target-pointer-width being a string in
 * 1.63 and an integer in 1.95 are right), then applies the options.
 */
export async function generateTargetSpec(
  toolchain: RustToolchain,
  o: TargetSpecOptions,
): Promise<Record<string, unknown>> {
  const base = o.arch === 'x86_64' ? 'x86_64-unknown-none' : 'aarch64-unknown-none';
  const r = await run([toolchain.rustc, '-Z', 'unstable-options', '--print', 'target-spec-json', '--target', base], {
    env: { ...process.env, RUSTC_BOOTSTRAP: '1' },
    timeoutMs: 30_000,
  });
  if (r.code !== 0)
    throw new KilnError(
      'RUST_TARGET_SPEC',
      `${toolchain.rustc} could not print the ${base} target spec: ${r.stderr.trim().split('\n')[0]}`,
    );
  const spec = JSON.parse(r.stdout) as Record<string, unknown>;
  delete spec['is-builtin'];
  if (o.llvmTarget) spec['llvm-target'] = o.llvmTarget;
  if (o.features !== undefined) spec.features = o.features;
  if (o.disableRedzone !== undefined) spec['disable-redzone'] = o.disableRedzone;
  if (o.panicStrategy) spec['panic-strategy'] = o.panicStrategy;
  if (o.codeModel) spec['code-model'] = o.codeModel;
  if (o.relocationModel) {
    spec['relocation-model'] = o.relocationModel;
    if (o.relocationModel === 'static') {
      spec['position-independent-executables'] = false;
      spec['static-position-independent-executables'] = false;
    }
  }
  spec['linker-flavor'] = 'ld.lld';
  spec.linker = o.linker ?? 'ld.lld';
  Object.assign(spec, o.extra ?? {});
  return spec;
}

/**
 * Builds (or reuses) a sysroot with core, alloc and compiler_builtins (mem) for `specPath`.
 * Cached under ~/.cache/kiln/rust-sysroots/<hash of spec + toolchain>; concurrent builds of the same
 * sysroot wait for each other. Returns the --sysroot folder.
 */
export async function ensureSysroot(
  toolchain: RustToolchain,
  specPath: string,
  specJson: string,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const builtins = findCompilerBuiltins();
  if (!toolchain.src || !builtins)
    throw new KilnError('RUST_NO_SRC', 'building a sysroot needs rust-src and compiler_builtins sources', {
      hint: 'apt install rust-src librust-compiler-builtins-dev',
    });
  const targetName = specPath
    .split('/')
    .pop()!
    .replace(/\.json$/, '');
  const hash = createHash('sha256')
    .update(specJson)
    .update(toolchain.versionLine)
    .update(toolchain.src)
    .update(builtins.version)
    .update('v3')
    .digest('hex')
    .slice(0, 20);
  const root = join(kilnCacheDir(env), 'rust-sysroots', `${targetName}-${hash}`);
  const libDir = join(root, 'lib', 'rustlib', targetName, 'lib');
  const done = join(root, '.complete');
  if (existsSync(done)) return root;
  // Steps of one build run in one process and the file lock below treats its own pid as stale, so
  // two cargo steps for the same new target would build (and delete) the same sysroot at once:
  // they share one build instead.
  const pending = sysrootBuilds.get(root);
  if (pending) {
    log(`waiting for the sysroot another step of this build is making (${root})`);
    return pending;
  }
  const build = buildSysroot(toolchain, specPath, { targetName, builtins, root, libDir, done }, log, env);
  sysrootBuilds.set(root, build);
  try {
    return await build;
  } finally {
    sysrootBuilds.delete(root);
  }
}

const sysrootBuilds = new Map<string, Promise<string>>();

interface SysrootPlace {
  targetName: string;
  builtins: { registry: string; version: string };
  root: string;
  libDir: string;
  done: string;
}

async function buildSysroot(
  toolchain: RustToolchain,
  specPath: string,
  place: SysrootPlace,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const { targetName, builtins, root, libDir, done } = place;
  mkdirSync(dirname(root), { recursive: true });
  const lock = await acquireLock(`${root}.lock`, {
    wait: true,
    onWait: () => log(`waiting for another kiln building the sysroot ${root}`),
  });
  try {
    if (existsSync(done)) return root;
    const work = `${root}.build`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, '.cargo'), { recursive: true });
    writeFileSync(
      join(work, 'Cargo.toml'),
      `[package]
name = "kiln-sysroot"
version = "0.0.0"
edition = "2018"

[lib]
path = "lib.rs"

[dependencies]
core = { path = "${toolchain.src}/core" }
alloc = { path = "${toolchain.src}/alloc" }
compiler_builtins = { version = "=${builtins.version}", features = ["rustc-dep-of-std", "mem"] }

[patch.crates-io]
rustc-std-workspace-core = { path = "${toolchain.src}/rustc-std-workspace-core" }

[profile.release]
panic = "abort"
opt-level = 2
debug = 1
`,
    );
    writeFileSync(join(work, 'lib.rs'), '#![no_std]\n');
    writeFileSync(
      join(work, '.cargo', 'config.toml'),
      `[source.crates-io]\nreplace-with = "local-registry"\n\n[source.local-registry]\ndirectory = "${builtins.registry}"\n`,
    );
    copyFileSync(specPath, join(work, `${targetName}.json`));
    log(
      `building a Rust sysroot (core, alloc, compiler_builtins ${builtins.version}) for ${targetName} with ${toolchain.versionLine}`,
    );
    const r = await run(
      [toolchain.cargo, 'build', '--release', '--offline', '--target', join(work, `${targetName}.json`)],
      {
        cwd: work,
        // Bitcode in the rlibs, so crates built with (thin) LTO can link against them (cargo alone
        // passes -C embed-bitcode=no here). CARGO_ENCODED_RUSTFLAGS wins over RUSTFLAGS when set.
        env: {
          ...env,
          RUSTC: toolchain.rustc,
          RUSTC_BOOTSTRAP: '1',
          CARGO_TARGET_DIR: join(work, 'target'),
          RUSTFLAGS: '',
          CARGO_ENCODED_RUSTFLAGS: '-Cembed-bitcode=yes',
        },
        timeoutMs: 15 * 60_000,
      },
    );
    log(r.output);
    if (r.code !== 0) {
      throw new KilnError(
        'RUST_SYSROOT_FAILED',
        `building the sysroot for ${targetName} failed: ${
          r.stderr
            .trim()
            .split('\n')
            .filter((l) => /error/.test(l))[0] ?? `exit code ${r.code}`
        }`,
        {
          hint: 'check that rust-src matches the rustc version; the full output is in the build log',
        },
      );
    }
    mkdirSync(libDir, { recursive: true });
    const deps = join(work, 'target', targetName, 'release', 'deps');
    for (const f of readdirSync(deps))
      if (f.endsWith('.rlib') && !f.startsWith('libkiln_sysroot')) copyFileSync(join(deps, f), join(libDir, f));
    writeFileSync(done, `${toolchain.versionLine}\n`);
    rmSync(work, { recursive: true, force: true });
    return root;
  } finally {
    lock.release();
  }
}

const jsonSpecFlag = new Map<string, Promise<boolean>>();

/** Newer cargo refuses a `.json` target unless `-Zjson-target-spec` is given; older cargo does not know the flag. */
export function cargoNeedsJsonSpecFlag(toolchain: RustToolchain): Promise<boolean> {
  let pending = jsonSpecFlag.get(toolchain.cargo);
  if (!pending) {
    pending = run([toolchain.cargo, '-Z', 'help'], {
      env: { ...process.env, RUSTC_BOOTSTRAP: '1' },
      timeoutMs: 20_000,
    }).then((r) => /json-target-spec/.test(r.stdout + r.stderr));
    jsonSpecFlag.set(toolchain.cargo, pending);
  }
  return pending;
}

/** cargo arguments of the -Zbuild-std route (vendored standard-library dependencies when rust-src has them). */
export async function buildStdArgs(toolchain: RustToolchain): Promise<string[]> {
  const args = ['-Zbuild-std=core,alloc', '-Zbuild-std-features=compiler-builtins-mem'];
  if (toolchain.vendor) {
    args.push(
      '--config',
      'source.crates-io.replace-with="kiln-rust-src-vendor"',
      '--config',
      `source.kiln-rust-src-vendor.directory="${toolchain.vendor}"`,
    );
  }
  return args;
}
