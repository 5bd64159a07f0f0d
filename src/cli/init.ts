/**
 * `kiln init [DIR] [--template asm|c|rust|zig]`: a working project from templates/<name>/ (each builds,
 * boots and passes `kiln test` as written), plus package.json (kiln as a devDependency, scripts
 * build/test), tsconfig.json (`tsc --noEmit` type-checks the config) and .gitignore (build/, .kiln/).
 *
 * It never overwrites: when a file the template would write exists, it lists them and writes
 * nothing. package.json and .gitignore are merged instead (missing scripts, the kiln dependency
 * and missing ignore lines are added; nothing present is changed).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { action } from './_shared.js';

/** The templates kiln ships, with what each one is. */
export const TEMPLATES = {
  asm: 'a BIOS boot sector in nasm on a raw disk',
  c: 'a 32-bit freestanding C kernel (clang, multiboot, serial, isa-debug-exit)',
  rust: 'a no_std Rust kernel for aarch64 virt (generated target, core from the sysroot route, PL011, semihosting)',
  zig: 'a 32-bit freestanding Zig kernel (multiboot, serial, isa-debug-exit)',
} as const;
export type TemplateName = keyof typeof TEMPLATES;

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE_ROOT = join(PACKAGE_ROOT, 'templates');
const GITIGNORE_LINES = ['build/', '.kiln/', 'node_modules/'];

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    },
    include: ['kiln.config.ts'],
  },
  null,
  2,
)}\n`;

/** Every file of a template folder, relative to it. */
function templateFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix)).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry}` : entry;
    return statSync(join(dir, rel)).isDirectory() ? templateFiles(dir, rel) : [rel];
  });
}

/** How the new project depends on kiln: the install it runs from, unless the project has kiln already. */
function kilnDependency(projectDir: string): string {
  const own = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  // Installed into this project's node_modules: npm already recorded where it came from.
  if (PACKAGE_ROOT.startsWith(`${join(projectDir, 'node_modules')}${sep}`)) return `^${own.version}`;
  return `file:${PACKAGE_ROOT.replace(/\/$/, '')}`;
}

interface PackageJson {
  name?: string;
  private?: boolean;
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** package.json as it should be: the existing one with missing scripts and the kiln dependency added. */
function mergedPackageJson(existing: PackageJson | undefined, name: string, projectDir: string): PackageJson {
  const pkg: PackageJson = existing ? { ...existing } : { name, private: true, type: 'module' };
  pkg.scripts = { build: 'kiln build', test: 'kiln test', ...pkg.scripts };
  if (!pkg.dependencies?.kiln && !pkg.devDependencies?.kiln) {
    pkg.devDependencies = {
      ...pkg.devDependencies,
      kiln: kilnDependency(projectDir),
      typescript: pkg.devDependencies?.typescript ?? '^5.9.3',
    };
  }
  return pkg;
}

function readPackageJson(path: string): PackageJson | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
  } catch (error) {
    throw new KilnError('INIT_PACKAGE_JSON', `${path} is not valid JSON: ${(error as Error).message}`, {
      hint: 'fix it, then run kiln init again',
      exitCode: 2,
    });
  }
}

function mergedGitignore(existing: string | undefined): string {
  const lines = (existing ?? '').split('\n').map((l) => l.trim());
  const missing = GITIGNORE_LINES.filter((l) => !lines.includes(l) && !lines.includes(l.replace(/\/$/, '')));
  if (existing !== undefined && missing.length === 0) return existing;
  const base = existing === undefined ? '' : existing.endsWith('\n') || existing === '' ? existing : `${existing}\n`;
  return `${base}${missing.join('\n')}\n`;
}

/** A name usable as the project's name: letters, digits, '.', '_', '-', starting with a letter or digit. */
function projectName(raw: string): string {
  return raw.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'my-os';
}

interface InitPlan {
  /** Relative path → content, for files that do not exist yet. */
  files: Map<string, string>;
  /** Files the template would write that exist already. */
  conflicts: string[];
}

function planInit(root: string, template: TemplateName, name: string): InitPlan {
  const dir = join(TEMPLATE_ROOT, template);
  const files = new Map<string, string>();
  const conflicts: string[] = [];
  const add = (rel: string, content: string): void => {
    if (existsSync(join(root, rel))) conflicts.push(rel);
    else files.set(rel, content);
  };
  for (const rel of templateFiles(dir)) add(rel, readFileSync(join(dir, rel), 'utf8').replaceAll('__NAME__', name));
  add('tsconfig.json', TSCONFIG);
  return { files, conflicts };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      `create a working project in DIR from a template: ${Object.entries(TEMPLATES)
        .map(([k, v]) => `${k} (${v})`)
        .join('; ')}`,
    )
    .argument('[dir]', 'folder to create the project in', '.')
    .option('-t, --template <name>', `what to start from: ${Object.keys(TEMPLATES).join(' | ')}`, 'asm')
    .option('--name <name>', 'project name (default: the folder name)')
    .action(
      action(async (dir: string, flags: { name?: string; template: string }) => {
        if (!(flags.template in TEMPLATES)) {
          throw new KilnError(
            'INIT_TEMPLATE',
            `--template: expected ${Object.keys(TEMPLATES).join(' | ')}, got ${JSON.stringify(flags.template)}`,
            { exitCode: 2 },
          );
        }
        const template = flags.template as TemplateName;
        const root = resolve(dir);
        const name = projectName(flags.name ?? basename(root));
        const shown = relative(process.cwd(), root) || '.';
        const plan = planInit(root, template, name);
        if (plan.conflicts.length > 0) {
          throw new KilnError(
            'INIT_EXISTS',
            `${shown} already has ${plan.conflicts.join(', ')}: kiln init writes nothing over existing files`,
            {
              hint: 'run kiln init in an empty folder (or a new one: kiln init my-os), or move those files away first',
              exitCode: 2,
            },
          );
        }
        mkdirSync(root, { recursive: true });
        for (const [rel, content] of plan.files) {
          mkdirSync(dirname(join(root, rel)), { recursive: true });
          writeFileSync(join(root, rel), content);
        }
        const pkgPath = join(root, 'package.json');
        writeFileSync(pkgPath, `${JSON.stringify(mergedPackageJson(readPackageJson(pkgPath), name, root), null, 2)}\n`);
        const ignorePath = join(root, '.gitignore');
        const ignore = existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8') : undefined;
        const nextIgnore = mergedGitignore(ignore);
        if (nextIgnore !== ignore) writeFileSync(ignorePath, nextIgnore);
        const written = [...plan.files.keys()];
        process.stderr.write(
          `created ${name} (${template}: ${TEMPLATES[template]}) in ${shown}: ${written.join(', ')}, package.json, .gitignore\n`,
        );
        process.stderr.write(`next: ${shown === '.' ? '' : `cd ${shown} && `}npm install && npx kiln test\n`);
      }),
    );
}
