/**
 * Reading a schema from text: `*.abi.json` (ECMA-404 JSON) always; `*.abi.toml` (TOML v1.0.0) when
 * the `smol-toml` package is installed (it is loaded on demand, so kiln works without it).
 * 64-bit values beyond 2^53 are written as strings (`"0xffff_ffff_ffff_ffff"`) in both forms.
 */
import { KilnError } from '../errors.js';
import type { AbiSchema } from './types.js';

/**
 * Parses JSON schema text. The result is not validated yet: pass it to `normalizeAbi`.
 *
 * @example
 * ```ts
 * const schema = parseAbiJson(readFileSync('kozo.abi.json', 'utf8'), 'kozo.abi.json');
 * ```
 */
export function parseAbiJson(text: string, file?: string): AbiSchema {
  try {
    return JSON.parse(text) as AbiSchema;
  } catch (error) {
    const message = (error as Error).message;
    const at = /position (\d+)/.exec(message);
    let line: number | undefined;
    let column: number | undefined;
    if (at) {
      const before = text.slice(0, Number(at[1]));
      line = before.split('\n').length;
      column = before.length - before.lastIndexOf('\n');
    }
    throw new KilnError('ABI_SCHEMA_SYNTAX', `invalid JSON: ${message}`, {
      location: { ...(file ? { file } : {}), ...(line !== undefined ? { line, column } : {}) },
      hint: 'fix the JSON syntax (no comments or trailing commas in JSON)',
      exitCode: 2,
    });
  }
}

interface TomlModule {
  parse(text: string): unknown;
}

/**
 * Parses TOML schema text with `smol-toml` (loaded on demand).
 *
 * @example
 * ```ts
 * const schema = await parseAbiToml(readFileSync('kozo.abi.toml', 'utf8'), 'kozo.abi.toml');
 * ```
 */
export async function parseAbiToml(text: string, file?: string): Promise<AbiSchema> {
  const moduleName: string = 'smol-toml';
  let toml: TomlModule;
  try {
    toml = (await import(moduleName)) as TomlModule;
  } catch {
    throw new KilnError(
      'ABI_TOML_UNAVAILABLE',
      'reading *.abi.toml needs the smol-toml package, which is not installed',
      {
        ...(file ? { location: { file } } : {}),
        hint: 'install it (npm install smol-toml) or write the schema as *.abi.json (same structure)',
        exitCode: 2,
      },
    );
  }
  try {
    return toml.parse(text) as AbiSchema;
  } catch (error) {
    const e = error as { message?: string; line?: number; column?: number };
    throw new KilnError('ABI_SCHEMA_SYNTAX', `invalid TOML: ${String(e.message ?? error).split('\n')[0]}`, {
      location: {
        ...(file ? { file } : {}),
        ...(typeof e.line === 'number' ? { line: e.line, column: e.column ?? 0 } : {}),
      },
      hint: 'fix the TOML syntax',
      exitCode: 2,
    });
  }
}

/**
 * Parses schema text, choosing the format by the file name (`.toml` → TOML, anything else JSON).
 *
 * @example
 * ```ts
 * const schema = await parseAbiSource(readFileSync(path, 'utf8'), path);
 * ```
 */
export async function parseAbiSource(text: string, file: string): Promise<AbiSchema> {
  return /\.toml$/i.test(file) ? parseAbiToml(text, file) : parseAbiJson(text, file);
}
