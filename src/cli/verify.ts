/** `kiln verify FILE --key PUB`: check a signed ELF kernel (or FILE.sig for other files); exit 0 valid, 1 invalid. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { fileContent } from '../formats/io/content.js';
import {
  loadPublicKeyFile,
  manifestToJson,
  verifyBlob,
  verifyElf,
  type SignatureAlgorithm,
  type VerifyResult,
} from '../sign/index.js';
import { action, printJson } from './_shared.js';
import { isElf } from '../formats/detect.js';
import { addSectionOptions, collect, sectionsFrom, type SectionFlags } from './_options.js';

/** How each check is named in the human-readable output. */
const CHECK_LABELS: Record<string, string> = {
  'not-elf': 'elf',
  'missing-section': 'sections',
  'manifest-invalid': 'manifest',
  'unknown-key-id': 'key id',
  'manifest-mismatch': 'kernel hash',
  hash: 'content hash',
  ed25519: 'ed25519',
  'ml-dsa': 'ml-dsa-65',
};

/** Which rule made the signed message, and where that came from (sign/README.md "Canonicalization"). */
function describeRule(c: { rule: string; recorded: boolean }): string {
  const what =
    c.rule === 'exclude'
      ? "BLAKE3 of the file with the signature sections' bytes left out"
      : "BLAKE3 of the file with the signature sections' bytes zeroed";
  return `${c.rule} (${what}; ${c.recorded ? 'recorded in the manifest' : "the manifest has no canonicalization entry: kiln's default"})`;
}

interface VerifyFlags extends SectionFlags {
  key: string[];
  requireHybrid?: boolean;
  signature?: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  const command = program
    .command('verify')
    .description(
      'verify a signed ELF kernel (or FILE.sig for other files); exit 0 when valid, 1 when not, saying which check failed',
    )
    .argument('<file>', 'the signed file')
    .option(
      '--key <file>',
      'public key file (repeatable); a hybrid kernel needs its Ed25519 and its ML-DSA-65 key',
      collect,
      [],
    )
    .option('--require-hybrid', 'fail unless both an Ed25519 and an ML-DSA-65 signature verify')
    .option('--signature <file>', 'detached signature file (default: FILE.sig when it exists or FILE is not ELF)')
    .option('--json', 'print the result as JSON');
  addSectionOptions(command).action(
    action(async (file: string, flags: VerifyFlags) => {
      if (flags.key.length === 0)
        throw new KilnError('VERIFY_NO_KEY', 'no public key given', {
          exitCode: 2,
          hint: 'pass --key FILE.pub (from `kiln keygen`)',
        });
      const keys = await Promise.all(flags.key.map((k) => loadPublicKeyFile(k)));
      const requireAlgorithms: SignatureAlgorithm[] | undefined = flags.requireHybrid
        ? ['ed25519', 'ml-dsa-65']
        : undefined;
      const bytes = new Uint8Array(await readFile(file));
      let result: VerifyResult;
      const sigFile = flags.signature ?? (!isElf(bytes) || existsSync(`${file}.sig`) ? `${file}.sig` : undefined);
      if (sigFile) {
        if (!existsSync(sigFile))
          throw new KilnError('VERIFY_NO_SIGNATURE_FILE', `${sigFile} not found`, {
            hint: 'sign with `kiln sign FILE` (writes FILE.sig for non-ELF files) or pass --signature',
          });
        result = await verifyBlob(await fileContent(file), new Uint8Array(await readFile(sigFile)), keys, {
          ...(requireAlgorithms ? { requireAlgorithms } : {}),
        });
      } else {
        result = await verifyElf(bytes, keys, {
          sections: sectionsFrom(flags),
          ...(requireAlgorithms ? { requireAlgorithms } : {}),
        });
      }
      process.exitCode = result.ok ? 0 : 1;
      if (flags.json) {
        printJson({
          ok: result.ok,
          reason: result.reason,
          message: result.message,
          file,
          checks: result.checks,
          verifiedBy: result.verifiedBy,
          canonicalHash: result.canonicalHash,
          kernelHash: result.kernelHash,
          canonicalization: result.canonicalization,
          manifest: result.manifest ? manifestToJson(result.manifest) : undefined,
        });
        return;
      }
      const stream = result.ok ? process.stdout : process.stderr;
      stream.write(
        result.ok
          ? `${file}: ${result.message}\n`
          : `${file}: INVALID (${result.reason}): ${result.message.replace(/^[\w-]+: /, '')}\n`,
      );
      for (const c of result.checks)
        stream.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${(CHECK_LABELS[c.check] ?? c.check).padEnd(12)} ${c.detail}\n`);
      if (result.canonicalization) stream.write(`  canonicalization: ${describeRule(result.canonicalization)}\n`);
      if (result.ok && result.manifest) {
        const m = result.manifest;
        stream.write(
          `  manifest: ${m.project}${m.version ? ` ${m.version}` : ''} ${m.arch} ${m.profile}, built ${new Date(m.buildTime * 1000).toISOString()}\n`,
        );
      }
    }),
  );
}
