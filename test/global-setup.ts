// Tests that spawn the `kiln` CLI run dist/ (npm test builds it first). Fail early and clearly if
// it was not built.
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync('dist/cli/main.js'))
    throw new Error('dist/ is missing: run `npm run build` before `vitest` (npm test does both)');
}
