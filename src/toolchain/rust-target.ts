/**
 * A project's own Rust target spec (`x86_64-portix.json`) and its `rust-toolchain.toml`.
 *
 * kiln uses the spec file as it is: it reads it only to learn the architecture, pointer width and
 * panic strategy, to compare it with the layer's flag policy (warnings, never edits), and to ask each
 * candidate toolchain whether it accepts the file (`rustc --print target-spec-json --target FILE`):
 * spec formats change between rustc versions (`target-pointer-width` is a string up to about 1.8x and
 * a number after), so one file fits some toolchains and not others.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { KilnError } from '../errors.js';
import { run } from '../util/process.js';
import type { LayerPolicy } from './policy.js';

export interface ProjectTargetSpec {
  /** Absolute path of the JSON file. */
  path: string;
  /** The target's name: the file stem (rustc names a JSON target by it). */
  name: string;
  /** The file's bytes as text (the sysroot cache is keyed by them). */
  json: string;
  arch: string;
  pointerWidth: number;
  panicStrategy: 'abort' | 'unwind';
  spec: Record<string, unknown>;
}

/** Reads and checks the fields kiln relies on; `configPath` locates errors in kiln.config.ts. */
export function readProjectTargetSpec(path: string, configPath: string): ProjectTargetSpec {
  if (!existsSync(path)) {
    throw new KilnError('RUST_TARGET_SPEC_MISSING', `target spec ${path} does not exist`, {
      location: { file: path, configPath },
      exitCode: 2,
      hint: "give the path of the project's target JSON relative to kiln.config.ts, or a target object for kiln to generate one",
    });
  }
  const json = readFileSync(path, 'utf8');
  let spec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    spec = parsed as Record<string, unknown>;
  } catch (error) {
    throw new KilnError(
      'RUST_TARGET_SPEC_INVALID',
      `target spec ${path} is not a JSON object: ${(error as Error).message}`,
      {
        location: { file: path, configPath },
        exitCode: 2,
      },
    );
  }
  const arch = spec.arch;
  const width = Number(spec['target-pointer-width']);
  if (typeof arch !== 'string' || !Number.isInteger(width)) {
    throw new KilnError('RUST_TARGET_SPEC_INVALID', `target spec ${path} lacks "arch" or "target-pointer-width"`, {
      location: { file: path, configPath },
      exitCode: 2,
      hint: 'rustc requires both keys in a target JSON',
    });
  }
  const panic = spec['panic-strategy'] === 'abort' ? 'abort' : 'unwind';
  return {
    path,
    name: basename(path).replace(/\.json$/, ''),
    json,
    arch,
    pointerWidth: width,
    panicStrategy: panic,
    spec,
  };
}

/** Where the file disagrees with the layer's policy (kiln warns; the file wins). */
export function specPolicyWarnings(t: ProjectTargetSpec, policy: LayerPolicy, layer: string): string[] {
  const out: string[] = [];
  const file = basename(t.path);
  if (t.panicStrategy !== policy.panic)
    out.push(`${file}: panic-strategy "${t.panicStrategy}" but the ${layer} policy says "${policy.panic}"`);
  const noRedZone = t.spec['disable-redzone'] === true;
  if (!policy.redZone && !noRedZone)
    out.push(
      `${file}: the red zone is on (no "disable-redzone": true) but the ${layer} policy forbids it (interrupt handlers clobber it)`,
    );
  const features = typeof t.spec.features === 'string' ? t.spec.features : '';
  const floatOff =
    t.arch === 'x86_64'
      ? /(^|,)-sse(,|$)/.test(features) || /\+soft-float/.test(features)
      : /-neon|-fp-armv8/.test(features);
  if (!policy.fpu && !floatOff)
    out.push(`${file}: features "${features}" leave the FPU/SIMD on but the ${layer} policy has no FPU`);
  return out;
}

const accepted = new Map<string, Promise<string | undefined>>();

/** undefined when `rustc` accepts the spec file; else rustc's first error line. Cached per (rustc, bytes). */
export function specRejection(rustc: string, t: ProjectTargetSpec): Promise<string | undefined> {
  const key = `${rustc}\0${t.path}\0${t.json}`;
  let pending = accepted.get(key);
  if (!pending) {
    pending = run([rustc, '-Z', 'unstable-options', '--print', 'target-spec-json', '--target', t.path], {
      env: { ...process.env, RUSTC_BOOTSTRAP: '1' },
      timeoutMs: 30_000,
    }).then((r) =>
      r.code === 0 ? undefined : (r.stderr.split('\n').find((l) => /error/.test(l)) ?? `exit code ${r.code}`).trim(),
    );
    accepted.set(key, pending);
  }
  return pending;
}

/** A `rust-toolchain.toml` (or legacy `rust-toolchain`) pin. */
export interface ToolchainPin {
  file: string;
  channel: string;
  components: string[];
}

/**
 * The nearest toolchain file from `dir` up to `stopAt` (the project root), as rustup finds it.
 * Reads only `[toolchain] channel` and `components` (the keys kiln acts on).
 */
export function findToolchainPin(dir: string, stopAt: string): ToolchainPin | undefined {
  let d = resolve(dir);
  const root = resolve(stopAt);
  for (;;) {
    for (const name of ['rust-toolchain.toml', 'rust-toolchain']) {
      const file = join(d, name);
      if (existsSync(file)) return parseToolchainFile(file);
    }
    if (d === root || relative(root, d).startsWith('..') || dirname(d) === d) return undefined;
    d = dirname(d);
  }
}

function parseToolchainFile(file: string): ToolchainPin | undefined {
  const text = readFileSync(file, 'utf8');
  const channel =
    /^\s*channel\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? (/^[\w.-]+\s*$/.test(text.trim()) ? text.trim() : undefined);
  if (!channel) return undefined;
  const list = /^\s*components\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? '';
  const components = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  return { file, channel, components };
}

/** rustup's folder for the pinned channel (`nightly` → `nightly-x86_64-unknown-linux-gnu`), if installed. */
export function pinnedToolchainDir(
  pin: ToolchainPin,
  hostTriple: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const home = env.RUSTUP_HOME ?? join(homedir(), '.rustup');
  for (const name of [pin.channel, `${pin.channel}-${hostTriple}`]) {
    const dir = join(home, 'toolchains', name);
    if (existsSync(join(dir, 'bin', 'rustc'))) return dir;
  }
  return undefined;
}

/** The command that installs what the pin asks for. */
export function pinInstallCommand(pin: ToolchainPin): string {
  const components = pin.components.length ? ` --component ${pin.components.join(',')}` : '';
  return `rustup toolchain install ${pin.channel}${components}`;
}
