/**
 * External signer (an HSM, a cloud KMS, a signing service): kiln runs a command, writes the
 * 32-byte BLAKE3 hash to its stdin and reads the signature from its stdout, either raw (exactly
 * the algorithm's signature length) or as hex (whitespace ignored). The command is an argv array,
 * never a shell string. The public key must be given (to compute the key id and to check the
 * signature the command returns before embedding it). This is the one module of src/sign that
 * spawns a process.
 */
import { KilnError } from '../errors.js';
import { fromHex } from '../formats/io/bytes.js';
import { describeExit, formatCommand, run } from '../util/process.js';
import { ALGORITHM_LENGTHS, makeSigningKey, verifySignature, type PublicKey, type SigningKey } from './keys.js';

/** Options of `externalSigner`. */
export interface ExternalSignerOptions {
  /** The command, e.g. `['pkcs11-sign', '--slot', '0']`. */
  command: string[];
  /** Public key of the key the command signs with. */
  publicKey: PublicKey;
  /** Kill the command after this long (default 60 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * A SigningKey whose `sign` runs an external command.
 * @example
 * const key = externalSigner({ command: ['./hsm-sign.sh'], publicKey: await loadPublicKeyFile('prod.pub') });
 */
export function externalSigner(options: ExternalSignerOptions): SigningKey {
  if (!Array.isArray(options.command) || options.command.length === 0)
    throw new TypeError('"command" expected a non-empty argv array');
  const { publicKey } = options;
  const want = ALGORITHM_LENGTHS[publicKey.algorithm].signature;
  const shown = formatCommand(options.command);
  return makeSigningKey({
    algorithm: publicKey.algorithm,
    publicKey: publicKey.publicKey,
    keyId: publicKey.keyId,
    source: 'external',
    origin: shown,
    isDev: false,
    sign: async (message) => {
      const chunks: Buffer[] = [];
      const result = await run(options.command, {
        input: message,
        timeoutMs: options.timeoutMs ?? 60_000,
        ...(options.env ? { env: options.env } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
        onOutput: (stream, chunk) => {
          if (stream === 'stdout') chunks.push(chunk);
        },
      });
      if (result.code !== 0 || result.timedOut) {
        throw new KilnError(
          'SIGNER_FAILED',
          `external signer failed: ${result.timedOut ? 'timed out' : describeExit(result.code, result.signal, result.spawnError)}`,
          {
            hint: `run it by hand: printf '<32 bytes>' | ${shown}; its stderr ended with: ${result.stderr.split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 300)}`,
            details: { command: options.command, exitCode: result.code },
          },
        );
      }
      const out = new Uint8Array(Buffer.concat(chunks));
      let signature: Uint8Array;
      if (out.length === want) signature = out;
      else {
        const text = Buffer.from(out).toString('latin1').replace(/\s+/g, '');
        if (text.length === want * 2 && /^[0-9a-fA-F]+$/.test(text)) signature = fromHex(text);
        else {
          throw new KilnError(
            'SIGNER_BAD_OUTPUT',
            `external signer printed ${out.length} bytes; expected a ${want}-byte ${publicKey.algorithm} signature (raw, or ${want * 2} hex digits)`,
            {
              hint: `the command must write only the signature to stdout: ${shown}`,
            },
          );
        }
      }
      if (!verifySignature(publicKey, message, signature)) {
        throw new KilnError(
          'SIGNER_WRONG_KEY',
          `the external signer's signature does not verify with key ${publicKey.keyId}`,
          {
            hint: 'the signer used another key than the public key given, or signed something else than the 32 bytes on stdin',
          },
        );
      }
      return signature;
    },
  });
}
