#!/usr/bin/env node
// Run by `npm run build` after tsc: writes dist/build-id.json, kiln's version and a hash of every
// compiled file. The plan cache keys on it, so a rebuilt kiln re-plans even at the same version.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const hash = createHash('sha256');
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.js'))
      hash.update(path.slice(dist.length)).update('\0').update(readFileSync(path)).update('\0');
  }
};
walk(dist);
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(join(dist, 'build-id.json'), `${JSON.stringify({ version, id: hash.digest('hex').slice(0, 24) })}\n`);
