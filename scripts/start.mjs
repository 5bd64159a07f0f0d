#!/usr/bin/env node
// `npm start`: build the default example and boot it in QEMU (serial on the terminal).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const example = process.env.KILN_EXAMPLE ?? 'hello';
const cwd = join(root, 'examples', example);
process.stderr.write(`npm start: kiln build --run in examples/${example}\n`);
const r = spawnSync(process.execPath, [join(root, 'bin', 'kiln.js'), 'build', '--run', ...process.argv.slice(2)], {
  cwd,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
