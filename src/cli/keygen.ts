/** `kiln keygen`: create signing key pairs (Ed25519, ML-DSA-65, or both) and print the public key for bootloaders. */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { toHex } from '../formats/io/bytes.js';
import { generateKeyPair, publicKeyConstant, writeKeyFiles, type SignatureAlgorithm } from '../sign/index.js';
import { action, printJson } from './_shared.js';

interface KeygenFlags {
  algo: string;
  out: string;
  prefix: string;
  json?: boolean;
  constants: boolean;
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description(
      'create a signing key pair: the secret key file (mode 0600) and the public key, printed as hex and as C/Rust/Zig constants',
    )
    .option('--algo <algorithm>', 'ed25519 | ml-dsa-65 | hybrid (both)', 'ed25519')
    .option('--out <dir>', 'folder for the key files (created 0700 if missing)', '.kiln/keys')
    .option('--prefix <name>', 'file name prefix: <prefix>-<algorithm>.key / .pub', 'kiln')
    .option('--no-constants', 'do not print the C/Rust/Zig constants')
    .option('--json', 'print a JSON object (public data only)')
    .action(
      action(async (flags: KeygenFlags) => {
        const algorithms: SignatureAlgorithm[] =
          flags.algo === 'hybrid'
            ? ['ed25519', 'ml-dsa-65']
            : flags.algo === 'ed25519' || flags.algo === 'ml-dsa-65'
              ? [flags.algo]
              : [];
        if (algorithms.length === 0) {
          throw new KilnError('KEYGEN_BAD_ALGORITHM', `--algo ${JSON.stringify(flags.algo)} is not supported`, {
            hint: 'use --algo ed25519, ml-dsa-65 or hybrid',
            exitCode: 2,
          });
        }
        const results = [];
        for (const algorithm of algorithms) {
          const pair = await generateKeyPair(algorithm);
          const paths = await writeKeyFiles(pair, flags.out, { prefix: flags.prefix });
          pair.seed.fill(0);
          results.push({ key: pair.publicKey, ...paths });
        }
        if (flags.json) {
          printJson(
            results.map((r) => ({
              algorithm: r.key.algorithm,
              keyId: r.key.keyId,
              publicKey: toHex(r.key.publicKey),
              secretKeyFile: r.secretPath,
              publicKeyFile: r.publicPath,
            })),
          );
          return;
        }
        for (const r of results) {
          const show = (p: string) => relative(process.cwd(), p) || p;
          process.stdout.write(`${r.key.algorithm} key ${r.key.keyId}\n`);
          process.stdout.write(`  secret key: ${show(r.secretPath)} (mode 0600: keep it private, never commit it)\n`);
          process.stdout.write(`  public key: ${show(r.publicPath)}\n`);
          process.stdout.write(`  public key (hex): ${toHex(r.key.publicKey)}\n`);
          if (flags.constants) {
            for (const language of ['c', 'rust', 'zig'] as const)
              process.stdout.write(`\n${publicKeyConstant(r.key, language)}`);
          }
          process.stdout.write('\n');
        }
        process.stderr.write(
          `sign with: kiln sign FILE ${results.map((r) => `--key ${relative(process.cwd(), r.secretPath) || r.secretPath}`).join(' ')}${algorithms.length > 1 ? ' --hybrid' : ''}\n`,
        );
      }),
    );
}
