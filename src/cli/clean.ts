/** `kiln clean`: remove the build folder (and with --cache, the action cache). */
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { action } from './_shared.js';

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description('remove the build folder; --cache also empties the action cache (.kiln/cache)')
    .option('-c, --config <file>', 'the kiln.config.ts to use')
    .option('--cache', 'also remove the action cache', false)
    .action(action(async (flags: { config?: string; cache: boolean }) => {
      const loaded = await loadConfig(flags.config);
      const removed: string[] = [];
      const buildRoot = join(loaded.projectDir, loaded.config.buildDir ?? 'build');
      rmSync(buildRoot, { recursive: true, force: true });
      removed.push(buildRoot);
      if (flags.cache) {
        const cache = join(loaded.projectDir, '.kiln', 'cache');
        rmSync(cache, { recursive: true, force: true });
        removed.push(cache);
      }
      process.stderr.write(`removed ${removed.map((p) => relative(process.cwd(), p) || p).join(' and ')}\n`);
    }));
}
