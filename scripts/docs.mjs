#!/usr/bin/env node
// `npm run docs`: the API reference (HTML, TypeDoc) of every subpath package.json exports, one
// module per subpath (`kiln`, `kiln/elf`, ...). Fails (exit 1) on any warning, an exported symbol
// without a doc comment included: TypeDoc's validation.notDocumented with treatWarningsAsErrors.
//
// Usage: node scripts/docs.mjs [--out DIR] [--json FILE] [--root DIR]   (default out: docs/api)
// --root documents another package laid out like kiln (package.json exports → src/, tsconfig.build.json).
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, ReflectionKind } from 'typedoc';

const kilnRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Subpath ('kiln', 'kiln/elf') → its source entry file, from package.json "exports" (types → src). */
export function subpathEntries(pkgRoot = kilnRoot) {
  const pkg = JSON.parse(readFileSync(join(pkgRoot, 'package.json'), 'utf8'));
  const entries = new Map();
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || !target.types) continue; // ./package.json
    const source = target.types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts');
    entries.set(key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`, join(pkgRoot, source));
  }
  return entries;
}

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const root = resolve(argValue('--root') ?? kilnRoot);
  const entries = subpathEntries(root);
  const out = resolve(argValue('--out') ?? join(root, 'docs', 'api'));
  const json = argValue('--json');
  const app = await Application.bootstrapWithPlugins({
    name: 'kiln',
    entryPoints: [...entries.values()],
    tsconfig: join(root, 'tsconfig.build.json'),
    readme: 'none',
    // npm run typecheck checks the types; the reference only needs the declarations (about a quarter less CPU).
    skipErrorChecking: true,
    disableSources: true,
    excludePrivate: true,
    excludeInternal: true,
    treatWarningsAsErrors: true,
    validation: { notExported: true, invalidLink: true, notDocumented: true },
    // Exported declarations must carry a doc comment; their members are described where it helps.
    requiredToBeDocumented: ['Enum', 'Variable', 'Function', 'Class', 'Interface', 'TypeAlias'],
  });
  const project = await app.convert();
  if (!project) process.exit(1);
  nameModulesBySubpath(project, entries, root);
  app.validate(project);
  if (app.logger.hasErrors() || app.logger.hasWarnings()) {
    process.stderr.write('docs: failed (see the warnings above: every exported symbol needs a doc comment)\n');
    process.exit(1);
  }
  await app.generateDocs(project, out);
  if (json) await app.generateJson(project, resolve(json));
  if (app.logger.hasErrors() || app.logger.hasWarnings()) process.exit(1);
  process.stderr.write(`docs: ${entries.size} subpaths documented in ${relative(process.cwd(), out) || '.'}\n`);
}

/**
 * TypeDoc names a module after its path under the entry points' common folder, src/ (`formats/elf`,
 * `index` for src/index.ts); users import it as `kiln/elf`. A module not found here is an error.
 */
function nameModulesBySubpath(project, entries, root) {
  const src = join(root, 'src');
  const byName = new Map(
    [...entries].map(([subpath, file]) => [
      relative(src, file)
        .replace(/\.ts$/, '')
        .replace(/\/index$/, ''),
      subpath,
    ]),
  );
  for (const module of project.getReflectionsByKind(ReflectionKind.Module)) {
    const subpath = byName.get(module.name);
    if (!subpath) throw new Error(`docs: module ${module.name} matches no subpath of package.json exports`);
    module.name = subpath;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
