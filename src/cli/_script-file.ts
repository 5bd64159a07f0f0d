/**
 * `kiln test --script FILE`: a TypeScript/JavaScript module default-exporting an array of steps
 * (`guest.expect(...)`, ...), or the text format of src/qemu/script.ts `parseScriptText`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KilnError } from '../errors.js';
import type { ScriptStep } from '../qemu/script.js';

const kilnEntry = fileURLToPath(new URL('../index.js', import.meta.url));

/** Loads a script file: `.ts`/`.mts`/`.js`/`.mjs` as a module, anything else as the text format. */
export async function loadScriptFile(file: string): Promise<ScriptStep[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KilnError(
      'SCRIPT_NOT_FOUND',
      `--script: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { location: { file }, exitCode: 2 },
    );
  }
  if (!/\.(m?[jt]s)$/.test(file)) {
    const { parseScriptText } = await import('../qemu/script.js');
    return parseScriptText(text, file);
  }
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, {
    moduleCache: false,
    interopDefault: true,
    tryNative: true,
    alias: { 'kiln/config': join(dirname(kilnEntry), 'config', 'index.js'), kiln: kilnEntry },
  });
  let loaded: unknown;
  try {
    loaded = await jiti.import(resolve(file), { default: true });
  } catch (error) {
    throw new KilnError(
      'SCRIPT_LOAD_FAILED',
      `--script: could not load ${file}: ${(error as Error).message.split('\n')[0]}`,
      { location: { file }, cause: error, exitCode: 2 },
    );
  }
  const { zScriptStep, validateConfigValue } = await import('../config/schema.js');
  return validateConfigValue(z.array(zScriptStep), loaded, file, ['default']) as ScriptStep[];
}
