/**
 * `sign()`: embeds a manifest and an Ed25519 (optionally + ML-DSA-65) signature into a kernel ELF
 * (NØNOS: `.nonos.manifest` / `.nonos.sig`). Key sources: an external signer (an HSM or KMS
 * command, NØNOS's production signing), a key file, SIGNING_KEY (CI), or the project's dev key
 * (`dev_signing_key.bin` when present, else `.kiln/keys/dev-ed25519.key`; refused by a release
 * profile unless allowDevKey). Keys never reach the log.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import {
  type DeclareContext,
  type FileInput,
  type SigningKeyRequest,
  type StepContext,
  StepFailure,
  defineStep,
  type SchemaKit,
} from '../step.js';
import { resolvePolicy } from '../toolchain/policy.js';

/**
 * Options of `sign()`: embed a manifest and Ed25519 (+ ML-DSA-65) signatures in a kernel ELF.
 * @example sign({ input: kernel, initrd, version: '1.0.0', toolchain: ['rustc', 'ld.lld'] })
 */
export interface SignStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The kernel ELF to sign. */
  input: FileInput;
  /** Section names: 'kiln' (.kiln.sig/.kiln.manifest, default), 'nonos', or explicit names. */
  sections?: 'kiln' | 'nonos' | { signature?: string; mlDsaSignature?: string; manifest?: string };
  /** Also sign with ML-DSA-65 (hybrid: a verifier needs both). */
  hybrid?: boolean;
  /** Ed25519 key file (default: SIGNING_KEY, else the project's dev key). */
  key?: string;
  /**
   * Sign the Ed25519 signature with an external command instead of a key file: an HSM, a cloud
   * KMS, a signing service. kiln writes the 32-byte hash to its stdin and reads the signature from
   * its stdout (raw or hex), checking it against `publicKey` before embedding it. An argv array,
   * never a shell string; a relative program path is taken from the project folder.
   * @example signer: { command: ['./tools/hsm-sign', '--slot', '0'], publicKey: 'keys/prod-ed25519.pub' }
   */
  signer?: { command: string[]; publicKey: string; timeoutSeconds?: number };
  /** ML-DSA-65 key file (default: SIGNING_KEY_ML_DSA, else the dev key). */
  mlDsaKey?: string;
  /** Allow the dev key in a release profile (the CLI's `--allow-dev-key` does the same for every sign step). */
  allowDevKey?: boolean;
  /** An initrd (CPIO) whose members' hashes go into the manifest. */
  initrd?: FileInput;
  /** An abi() step or a generated header: its ABI hash goes into the manifest. */
  abiHash?: string;
  /** Project version for the manifest. */
  version?: string;
  /** Project name for the manifest (default: this step's name; steps do not see the config's name). */
  project?: string;
  /**
   * Tools whose versions the manifest records besides kiln's (the first line of each one's
   * --version), e.g. the compilers that built the kernel. They are inputs of the step: a new
   * compiler re-signs.
   * @example toolchain: ['rustc', 'clang', 'ld.lld']
   */
  toolchain?: string[];
  /**
   * How the signed message is made from the file (sign/README.md, "Canonicalization"): `zero`
   * (default) hashes the file with the signature sections' bytes zeroed; `exclude` hashes it with
   * them left out (NØNOS: "BLAKE3 of kernel binary (excluding signature section)"). Recorded in
   * the manifest; `kiln verify` follows the manifest.
   */
  canonicalization?: 'zero' | 'exclude';
  /** The signed ELF's file name (default `kernel.signed.elf`). */
  output?: string;
}

const signKind = {
  kind: 'sign',
  version: 2,
  makeSchema: (kit: SchemaKit) => {
    const { z, zFileInput, zTimeoutSeconds } = kit;
    return z
      .object({
        name: z.string().optional(),
        input: zFileInput,
        sections: z
          .union([
            z.enum(['kiln', 'nonos']),
            z
              .object({
                signature: z.string().optional(),
                mlDsaSignature: z.string().optional(),
                manifest: z.string().optional(),
              })
              .strict(),
          ])
          .optional(),
        hybrid: z.boolean().optional(),
        key: z.string().optional(),
        signer: z
          .object({
            command: z.array(z.string().min(1)).min(1),
            publicKey: z.string().min(1),
            timeoutSeconds: zTimeoutSeconds.optional(),
          })
          .strict()
          .optional(),
        mlDsaKey: z.string().optional(),
        allowDevKey: z.boolean().optional(),
        initrd: zFileInput.optional(),
        abiHash: z
          .string()
          .regex(/^[0-9a-f]{2,128}$/)
          .optional(),
        version: z.string().optional(),
        project: z.string().min(1).optional(),
        toolchain: z.array(z.string().min(1)).optional(),
        canonicalization: z.enum(['zero', 'exclude']).optional(),
        output: z.string().optional(),
      })
      .strict()
      .refine((o) => !(o.key && o.signer), {
        message: 'give either key or signer, not both',
        path: ['signer'],
      }) satisfies z.ZodType<SignStepOptions>;
  },
  declare(o: SignStepOptions, ctx: DeclareContext) {
    const allowDevKey = o.allowDevKey === true || ctx.target.allowDevKey === true;
    const request = (algorithm: SigningKeyRequest['algorithm'], keyFile: string | undefined): SigningKeyRequest => ({
      algorithm,
      ...(keyFile ? { keyFile } : {}),
      release: ctx.target.release,
      allowDevKey,
    });
    // The keys by public key id (graph/signing-keys.ts), not by where they come from: the key file
    // options leave the key data, and `--allow-dev-key` enters it (it changes what the step accepts).
    const { key: _keyFile, mlDsaKey: _mlDsaKeyFile, ...keyData } = o;
    return {
      key: { ...keyData, ...(ctx.target.allowDevKey ? { allowDevKey: true } : {}) },
      inputs: [
        ...(typeof o.input === 'string' ? [o.input] : []),
        // The signer's public key, and its program when it is a project file (./tools/hsm-sign).
        ...(o.signer
          ? [o.signer.publicKey, ...(/^\.\.?\//.test(o.signer.command[0]!) ? [o.signer.command[0]!] : [])]
          : []),
        ...(typeof o.initrd === 'string' ? [o.initrd] : []),
      ],
      signingKeys: [
        ...(o.signer ? [] : [request('ed25519', o.key)]),
        ...(o.hybrid ? [request('ml-dsa-65', o.mlDsaKey)] : []),
      ],
      // Secrets reach make() as ctx.secrets (read in-process; the external signer and `--version`
      // probes never see them) and never the key, not even hashed: signingKeys names the keys.
      env: ['KILN_GIT_COMMIT'],
      secrets: ['SIGNING_KEY', 'SIGNING_KEY_ML_DSA'],
      tools: o.toolchain ?? [],
      outputs: [o.output ?? 'kernel.signed.elf'],
    };
  },
  async make(o: SignStepOptions, ctx: StepContext) {
    const sign = await import('../sign/index.js');
    const allowDevKey = o.allowDevKey === true || ctx.target.allowDevKey === true;
    const release = { projectDir: ctx.projectDir, release: ctx.target.release, allowDevKey };
    const keys = [
      o.signer
        ? sign.externalSigner({
            command: [
              /^\.\.?\//.test(o.signer.command[0]!) ? ctx.path(o.signer.command[0]!) : o.signer.command[0]!,
              ...o.signer.command.slice(1),
            ],
            publicKey: await sign.loadPublicKeyFile(ctx.path(o.signer.publicKey)),
            cwd: ctx.projectDir,
            env: ctx.env,
            ...(o.signer.timeoutSeconds ? { timeoutMs: o.signer.timeoutSeconds * 1000 } : {}),
          })
        : await sign.resolveSigningKey({
            algorithm: 'ed25519',
            env: { ...ctx.secrets },
            ...release,
            ...(o.key ? { keyFile: ctx.path(o.key) } : {}),
          }),
    ];
    if (o.hybrid) {
      keys.push(
        await sign.resolveSigningKey({
          algorithm: 'ml-dsa-65',
          env: { ...ctx.secrets },
          ...release,
          ...(o.mlDsaKey ? { keyFile: ctx.path(o.mlDsaKey) } : {}),
        }),
      );
    }
    // An external signer holding the dev key is refused too (recognized by its key id).
    await Promise.all(keys.map((k) => sign.checkReleaseKey(k, release)));
    const initrd: Record<string, Uint8Array> = {};
    if (o.initrd) {
      const { readCpio } = await import('../formats/cpio/index.js');
      const bytes = new Uint8Array(await readFile(ctx.path(o.initrd)));
      const archive = await readCpio(bytes);
      for (const e of archive.entries) {
        if (e.kind !== 'file') continue;
        initrd[e.path] = await sign.blake3(bytes.subarray(e.dataOffset, e.dataOffset + e.size));
      }
    }
    const policy = resolvePolicy('kernel', ctx.target.release, ctx.target.policy);
    const flags: Record<string, string> = Object.fromEntries(Object.entries(policy).map(([k, v]) => [k, String(v)]));
    const sections =
      o.sections === 'nonos'
        ? sign.NONOS_SIGN_SECTIONS
        : o.sections === 'kiln' || o.sections === undefined
          ? sign.DEFAULT_SIGN_SECTIONS
          : o.sections;
    const { version: kilnVersion } = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const toolchain: Record<string, string> = { kiln: kilnVersion };
    if (o.toolchain?.length) {
      const { describeTool } = await import('../toolchain/tools.js');
      for (const name of o.toolchain) {
        const info = await describeTool(name, ctx.env);
        if (!info.version)
          throw new StepFailure(`sign: toolchain: ${name} was not found or printed no version`, {
            hint: `install ${name}, or drop it from toolchain`,
          });
        toolchain[name] = info.version;
      }
    }
    const result = await sign.signElf(new Uint8Array(await readFile(ctx.path(o.input))), {
      keys,
      sections,
      ...(o.canonicalization ? { canonicalization: o.canonicalization } : {}),
      manifest: {
        project: o.project ?? ctx.name,
        ...(o.version ? { version: o.version } : {}),
        ...(ctx.env.KILN_GIT_COMMIT ? { gitCommit: ctx.env.KILN_GIT_COMMIT } : {}),
        buildTime: ctx.epoch,
        arch: ctx.target.arch,
        profile: ctx.target.profile,
        initrd,
        toolchain,
        flags,
        ...(o.abiHash ? { abiHash: Uint8Array.from(Buffer.from(o.abiHash, 'hex')) } : {}),
      },
    });
    await writeFile(ctx.outPath(), result.bytes);
    const rule = result.manifest.canonicalization ?? 'zero';
    for (const s of result.signatures)
      ctx.log(`signed with ${s.algorithm} key ${s.keyId} into ${s.section} (canonicalization ${rule})`);
  },
};

/**
 * Signs a kernel ELF.
 * @example sign({ input: kernel, sections: 'nonos', output: 'kernel.bin' })
 */
export const sign = defineStep<SignStepOptions>(signKind);
