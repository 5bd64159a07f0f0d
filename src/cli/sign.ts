/** `kiln sign FILE`: embed a manifest and signature(s) in an ELF kernel, or write a detached .sig for any other file. */
import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { readElf } from '../formats/elf/index.js';
import { fromHex, toHex } from '../formats/io/bytes.js';
import { fileContent } from '../formats/io/content.js';
import {
  ALLOW_DEV_KEY_FLAG,
  blake3Content,
  checkReleaseKey,
  externalSigner,
  formatFileMode,
  keyFileLooseBits,
  loadPublicKeyFile,
  loadSigningKeyFile,
  resolveSigningKey,
  signBlob,
  signElf,
  type SigningKey,
} from '../sign/index.js';
import { resolveEpoch } from '../util/epoch.js';
import { isElf } from '../formats/detect.js';
import { action, printJson } from './_shared.js';
import { addSectionOptions, collect, sectionsFrom, type SectionFlags } from './_options.js';

function pairs(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new KilnError('CLI_BAD_PAIR', `${what} ${JSON.stringify(item)}: expected NAME=VALUE`, {
        exitCode: 2,
        hint: `e.g. ${what} clang=14.0.6`,
      });
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

interface SignFlags extends SectionFlags {
  key: string[];
  hybrid?: boolean;
  release?: boolean;
  allowDevKey?: boolean;
  signerCommand?: string;
  signerPublic?: string;
  out?: string;
  detached?: boolean;
  projectDir: string;
  project?: string;
  projectVersion?: string;
  gitCommit?: string;
  arch?: string;
  profile?: string;
  toolchain: string[];
  flag: string[];
  initrd: string[];
  abiHash?: string;
  canonicalization?: string;
  json?: boolean;
}

async function keysFor(flags: SignFlags): Promise<SigningKey[]> {
  const keys: SigningKey[] = [];
  for (const file of flags.key) {
    const loose = await keyFileLooseBits(file).catch(() => 0);
    if (loose) {
      const mode = formatFileMode((await stat(file)).mode);
      process.stderr.write(`warning: ${file} is readable by group or others (mode ${mode}); run chmod 600 ${file}\n`);
    }
    keys.push(await loadSigningKeyFile(file));
  }
  if (flags.signerCommand) {
    if (!flags.signerPublic)
      throw new KilnError(
        'SIGNER_NEEDS_PUBLIC_KEY',
        '--signer-command needs --signer-public FILE (the public key it signs with)',
        { exitCode: 2, hint: "kiln checks the signer's output against that key before embedding it" },
      );
    const command = flags.signerCommand.trim().split(/\s+/);
    keys.push(externalSigner({ command, publicKey: await loadPublicKeyFile(flags.signerPublic) }));
  }
  const common = {
    projectDir: resolve(flags.projectDir),
    release: flags.release ?? false,
    allowDevKey: flags.allowDevKey ?? false,
  };
  if (!keys.some((k) => k.algorithm === 'ed25519'))
    keys.push(await resolveSigningKey({ ...common, algorithm: 'ed25519' }));
  if (flags.hybrid && !keys.some((k) => k.algorithm === 'ml-dsa-65'))
    keys.push(await resolveSigningKey({ ...common, algorithm: 'ml-dsa-65' }));
  // Key files and signers too: the dev key is recognized by its key id, however it arrived.
  return Promise.all(keys.map((k) => checkReleaseKey(k, common)));
}

export function registerSign(program: Command): void {
  const command = program
    .command('sign')
    .description(
      'sign FILE: an ELF kernel gets a manifest section and an Ed25519 signature section (+ ML-DSA-65 with --hybrid); any other file gets FILE.sig',
    )
    .argument('<file>', 'the ELF kernel or artifact to sign')
    .option(
      '--key <file>',
      'secret key file (repeatable: one Ed25519, one ML-DSA-65); default: $SIGNING_KEY, else the dev key in .kiln/keys/',
      collect,
      [],
    )
    .option('--hybrid', 'also sign with ML-DSA-65 (key from --key, $SIGNING_KEY_ML_DSA or the dev key)')
    .option('--release', 'release build: refuse the development key')
    .option(ALLOW_DEV_KEY_FLAG, 'allow the development key even with --release (local tests only)')
    .option(
      '--signer-command <cmd>',
      'external signer: gets the 32-byte hash on stdin, prints the signature (split on spaces, no shell)',
    )
    .option('--signer-public <file>', 'public key of the external signer')
    .option('-o, --out <file>', 'write the signed ELF here instead of replacing FILE (or the .sig path for --detached)')
    .option('--detached', 'write a detached FILE.sig even for an ELF file')
    .option('--project-dir <dir>', 'project root (where .kiln/keys/ lives)', '.')
    .option('--project <name>', 'manifest: project name (default: the project folder name)')
    .option('--project-version <version>', 'manifest: project version')
    .option('--git-commit <sha>', 'manifest: git commit')
    .option('--arch <arch>', 'manifest: target architecture (default: from the ELF header)')
    .option('--profile <name>', 'manifest: build profile (default: release with --release, else debug)')
    .option('--toolchain <name=version>', 'manifest: a tool version (repeatable)', collect, [])
    .option('--flag <name=value>', 'manifest: a flags-policy entry (repeatable)', collect, [])
    .option('--initrd <name=file>', 'manifest: an initrd member and the host file to hash (repeatable)', collect, [])
    .option('--abi-hash <hex>', 'manifest: hash of the ABI definition')
    .option(
      '--canonicalization <rule>',
      'what is signed: "zero" (the file with the signature sections zeroed, default) or "exclude" (the file without them); recorded in the manifest',
    )
    .option('--json', 'print the result as JSON');
  addSectionOptions(command).action(
    action(async (file: string, flags: SignFlags) => {
      const rule = flags.canonicalization;
      if (rule !== undefined && rule !== 'zero' && rule !== 'exclude') {
        throw new KilnError('CLI_BAD_CANONICALIZATION', `--canonicalization expects zero or exclude, got "${rule}"`, {
          exitCode: 2,
          hint: 'sign/README.md "Canonicalization" defines both, byte for byte',
        });
      }
      const bytes = new Uint8Array(await readFile(file));
      const keys = await keysFor(flags);
      const mode = (await stat(file)).mode & 0o7777;
      const keyInfo = keys.map((k) => ({
        algorithm: k.algorithm,
        keyId: k.keyId,
        source: k.source,
        origin: k.origin,
        dev: k.isDev,
      }));
      if (!isElf(bytes) || flags.detached) {
        const sig = await signBlob(await fileContent(file), keys);
        const out = flags.out ?? `${file}.sig`;
        writeFileAtomic(out, sig, { mode: 0o644, mkdir: false });
        if (flags.json) printJson({ ok: true, file, signature: out, keys: keyInfo });
        else
          process.stdout.write(
            `signed ${file} -> ${out} (${keyInfo.map((k) => `${k.algorithm} ${k.keyId}${k.dev ? ' [dev key]' : ''}`).join(' + ')})\n`,
          );
        return;
      }
      const sections = sectionsFrom(flags);
      const initrd: Record<string, Uint8Array> = {};
      for (const [name, path] of Object.entries(pairs(flags.initrd, '--initrd')))
        initrd[name] = await blake3Content(await fileContent(path));
      if (flags.abiHash !== undefined && !/^(?:[0-9a-fA-F]{2}){1,64}$/.test(flags.abiHash)) {
        throw new KilnError('CLI_BAD_ABI_HASH', '--abi-hash expects 1 to 64 bytes of hex', { exitCode: 2 });
      }
      const elf = readElf(bytes);
      const result = await signElf(bytes, {
        keys,
        sections,
        ...(rule ? { canonicalization: rule } : {}),
        manifest: {
          project: flags.project ?? basename(resolve(flags.projectDir)),
          ...(flags.projectVersion ? { version: flags.projectVersion } : {}),
          ...(flags.gitCommit ? { gitCommit: flags.gitCommit } : {}),
          buildTime: resolveEpoch(),
          arch: flags.arch ?? elf.machineName,
          profile: flags.profile ?? (flags.release ? 'release' : 'debug'),
          initrd,
          toolchain: pairs(flags.toolchain, '--toolchain'),
          flags: pairs(flags.flag, '--flag'),
          ...(flags.abiHash ? { abiHash: fromHex(flags.abiHash) } : {}),
        },
      });
      const out = flags.out ?? file;
      writeFileAtomic(out, result.bytes, { mode, mkdir: false });
      if (flags.json) {
        printJson({
          ok: true,
          file: out,
          keys: keyInfo,
          sections,
          kernelHash: toHex(result.kernelHash),
          canonicalHash: toHex(result.canonicalHash),
          canonicalization: rule ?? 'zero',
          signatures: result.signatures.map((s) => ({ algorithm: s.algorithm, keyId: s.keyId, section: s.section })),
        });
        return;
      }
      process.stdout.write(`signed ${out}\n`);
      for (const s of result.signatures) {
        const k = keyInfo.find((x) => x.keyId === s.keyId)!;
        process.stdout.write(
          `  ${s.section}: ${s.algorithm} key ${s.keyId} (${k.source}${k.dev ? ', development key' : ''})\n`,
        );
      }
      process.stdout.write(`  ${sections.manifest}: kernel hash ${toHex(result.kernelHash)}\n`);
      process.stdout.write(
        `  signed hash (BLAKE3, signatures ${rule === 'exclude' ? 'left out' : 'zeroed'}): ${toHex(result.canonicalHash)}\n`,
      );
    }),
  );
}
