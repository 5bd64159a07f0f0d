/**
 * The public shape of kiln.config.ts. `defineConfig` returns its argument; it exists so an editor
 * completes and checks every option.
 */
import type { Arch, FileInput, StepHandle, TargetInfo } from '../step.js';
import type { OptionsSpec, OptionValues } from './options.js';
import type { PolicySet } from '../toolchain/policy.js';
import type { ClassifyPolicy } from '../report/classify.js';
import type { DriveLike, ExitLike, RunSectionLike, TestSectionLike } from '../qemu/from-config.js';

export type { Arch };

/** A profile: `debug`, `release` or your own. */
export interface ProfileSpec {
  /** Release profiles refuse dev signing keys and turn policy warnings into errors. */
  release?: boolean;
  /** Free-form settings your build function reads (`t.profileSettings`). */
  settings?: Record<string, unknown>;
  /** Flag-policy overrides per layer for this profile (defaults: the KOZO table). */
  policy?: PolicySet;
}

/**
 * What boots in `kiln run` / `kiln test`: the QEMU harness's run section (src/qemu/from-config.ts, where
 * each field is documented) with paths given as {@link FileInput}.
 * @example run: { image: disk, exit: { kind: 'isa-debug-exit', success: 0 } }
 */
export interface RunConfig extends Omit<RunSectionLike<FileInput>, 'debugLog'> {
  /**
   * Turns on QEMU's debug log (`-d int,cpu_reset`, `-no-reboot`) into this project-relative file,
   * e.g. Portix's `build/logs/debug.log` when its `--debug` option is set.
   */
  debugLog?: string;
}

/** One drive of `run.drives` / `tests.<name>.drives`. */
export type DriveConfig = DriveLike<FileInput>;

/** How the guest tells QEMU (and so kiln) its result (see {@link ExitLike}). */
export type ExitConfig = ExitLike;

/**
 * One test of `tests`: a boot like {@link RunConfig} (fields not given are taken from `run`) and how to
 * judge it (src/qemu/from-config.ts TestSectionLike documents each field).
 * @example tests: { boot: { expect: ['Hello from my-os', /ticks: \d+/], timeout: 30 } }
 */
export interface TestConfig extends RunConfig, Omit<TestSectionLike<FileInput>, keyof RunSectionLike<FileInput>> {}

/** What a build function returns: the project's steps, images and how to boot and test them. */
export interface Project {
  /** Things a toolchain builds (kernel, services, loaders). Keys name the steps. */
  components?: Record<string, StepHandle>;
  /** Images assembled from components (initrd, ESP, disk, ISO, VDI...). */
  images?: Record<string, StepHandle>;
  /** Any other steps (checks, signing, generated files). */
  steps?: Record<string, StepHandle>;
  /** What `kiln run` and `kiln build --run` boot. */
  run?: RunConfig;
  /** What `kiln test` boots and judges: test name → test. */
  tests?: Record<string, TestConfig>;
  /**
   * Where `kiln build` places final files after a successful build: a path relative to the build
   * root (`build/`) → the step whose main output is copied there (Portix: `'portix.img': disk`,
   * `'dist/portix.iso': iso`).
   */
  artifacts?: Record<string, StepHandle>;
}

/** `remoteCache` in the config (graph/remote-cache.ts reads it). */
export interface RemoteCacheConfig {
  /** `http://` or `https://` base URL; entries go to `<url>/ac/<key>`, blobs to `<url>/cas/<sha256>`. */
  url: string;
  /** Download only (pull requests, forks): nothing is uploaded. Default false. */
  readOnly?: boolean;
  /** Extra request headers (not secrets: the token comes from KILN_REMOTE_CACHE_TOKEN). */
  headers?: Record<string, string>;
  /**
   * Also share the steps whose outputs name the checkout's folder (a step's `localOnly`: Zig's DWARF,
   * CMake, `command()`): a machine then gets the bytes another built, whose debug info names that
   * machine's folder. Default false.
   */
  sharePathDependent?: boolean;
}

/** Passed to `build(t)`: the target being planned and the option values. */
export interface BuildTarget<O extends OptionsSpec> extends TargetInfo {
  /** The project options' values (`--name=value` or the defaults), typed from `options`. */
  readonly options: OptionValues<O>;
  /** Profile settings from `profiles.<name>.settings`. */
  readonly profileSettings: Readonly<Record<string, unknown>>;
  /** True for a release profile. */
  readonly release: boolean;
  /** The environment kiln runs in (read it here rather than from `process.env`: it is part of the plan). */
  readonly env: Readonly<NodeJS.ProcessEnv>;
  /**
   * The target's build folder, absolute (`<project>/build/i386-debug`): where outputs land, for a
   * `command`'s `cwd` or a flag that needs a path. Steps should still read artifacts through handles.
   */
  readonly dir: string;
}

/**
 * The whole `kiln.config.ts`: project-wide settings plus either the {@link Project} fields given
 * statically or a `build(t)` function that returns them per target (architecture × profile).
 */
export interface KilnConfig<O extends OptionsSpec = OptionsSpec> extends Project {
  /** Project name (used in manifests, image labels and derived GUIDs). */
  name: string;
  /** Project version (manifests; default none). */
  version?: string;
  /** Architectures the project builds for; the first is the default. Default `x86_64`. */
  arch?: Arch | Arch[];
  /** Profiles; the first is the default. Default `['debug', 'release']` (release marked release). */
  profiles?: string[] | Record<string, ProfileSpec>;
  /** Flag-policy overrides per layer, for every profile (a profile's own `policy` wins). */
  policy?: PolicySet;
  /** Build folder, relative to the config. Default `build`. */
  buildDir?: string;
  /** Project build options, set with `kiln build --name=value`. */
  options?: O;
  /** `kiln status`: project classification rules (tried before kiln's) and warnings promoted to blocking. */
  report?: ClassifyPolicy;
  /**
   * A shared build cache over Bazel's HTTP remote-cache protocol (`GET`/`PUT` on `/ac/<key>` and
   * `/cas/<sha256>`: bazel-remote, nginx with WebDAV, ...). `--remote-cache URL` and
   * `KILN_REMOTE_CACHE` override `url`; the token comes from `KILN_REMOTE_CACHE_TOKEN`, never from here.
   * @example remoteCache: { url: 'https://cache.example.com/kiln', readOnly: true }
   */
  remoteCache?: RemoteCacheConfig;
  /** Plans the project for one target. Alternative to giving components/images/run/tests directly. */
  build?: (t: BuildTarget<O>) => Project | Promise<Project>;
}

/**
 * Declares a kiln project. Returns its argument; it exists for types.
 * @example
 * import { defineConfig, command, out } from 'kiln';
 * export default defineConfig({
 *   name: 'hello',
 *   components: { kernel: command({ argv: ['nasm', '-f', 'bin', '-o', out('boot.bin'), 'boot.asm'], inputs: ['boot.asm'], outputs: ['boot.bin'] }) },
 * });
 */
export function defineConfig<const O extends OptionsSpec = Record<never, never>>(config: KilnConfig<O>): KilnConfig<O> {
  return config;
}
