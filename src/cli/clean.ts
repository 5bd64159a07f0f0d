/** `kiln clean`: remove the build folder (and with --cache, the action cache), under the build lock. */
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { cleanUnderLock, targetFolders } from '../graph/clean.js';
import { action, cleanWaitLine } from './_shared.js';

const shown = (path: string): string => relative(process.cwd(), path) || path;

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description('remove the build folder; --cache also empties the action cache (.kiln/cache)')
    .option('-c, --config <file>', 'the kiln.config.ts to use')
    .option('--cache', 'also remove the action cache', false)
    .option('--no-wait', 'fail instead of waiting when a build holds the lock')
    .action(
      action(async (flags: { config?: string; cache: boolean; wait?: boolean }) => {
        const loaded = await loadConfig(flags.config);
        const removed: string[] = [];
        const buildRoot = join(loaded.projectDir, loaded.config.buildDir ?? 'build');
        await cleanUnderLock(buildRoot, targetFolders(buildRoot), {
          wait: flags.wait ?? true,
          onWait: (dir, pid) => process.stderr.write(cleanWaitLine(dir, pid)),
        });
        removed.push(buildRoot);
        if (flags.cache) {
          const cache = join(loaded.projectDir, '.kiln', 'cache');
          rmSync(cache, { recursive: true, force: true });
          removed.push(cache);
        }
        process.stderr.write(`removed ${removed.map(shown).join(' and ')}\n`);
      }),
    );
}
