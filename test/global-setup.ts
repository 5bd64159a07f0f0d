// Builds dist/ once so tests that spawn the `kiln` CLI run the current sources.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

export default function setup(): void {
  if (process.env.KILN_SKIP_BUILD === '1' && existsSync('dist/cli/main.js')) return;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (!statSync('dist/cli/main.js', { throwIfNoEntry: false })) throw new Error('build did not produce dist/cli/main.js');
}
