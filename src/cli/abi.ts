/**
 * `kiln abi gen|check|layout`: the ABI library (src/abi) as commands. Reads the schema
 * (`*.abi.json`, `*.abi.toml`, or a `.ts`/`.js` module default-exporting `defineAbi({...})`),
 * writes generated files, compares against `abi.lock.json`.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
  ALL_LANGS,
  abiHash,
  checkAbi,
  computeLayout,
  createAbiLock,
  generateAbi,
  normalizeAbi,
  parseAbiLock,
  parseAbiSource,
  serializeAbiLock,
  type AbiArch,
  type AbiLang,
  type AbiLock,
  type AbiSchema,
} from '../abi/index.js';
import { KilnError } from '../errors.js';
import { action, printJson } from './_shared.js';

/** A path relative to the working folder when inside it, else absolute. */
const shown = (p: string) => {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
};

async function loadSchema(path: string): Promise<AbiSchema> {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new KilnError('ABI_SCHEMA_NOT_FOUND', `schema ${shown(file)} does not exist`, {
      hint: 'pass the path of a *.abi.toml, *.abi.json or *.abi.ts file',
      exitCode: 2,
    });
  }
  if (!statSync(file).isFile()) {
    throw new KilnError('ABI_SCHEMA_NOT_FOUND', `schema ${shown(file)} is a folder, not a file`, {
      hint: 'pass the path of a *.abi.toml, *.abi.json or *.abi.ts file',
      exitCode: 2,
    });
  }
  if (/\.(m?ts|m?js)$/.test(file)) {
    const { createJiti } = await import('jiti');
    const abiEntry = fileURLToPath(new URL('../abi/index.js', import.meta.url));
    const jiti = createJiti(import.meta.url, {
      moduleCache: false,
      interopDefault: true,
      alias: { 'kiln/abi': abiEntry },
    });
    let mod: unknown;
    try {
      mod = await jiti.import(file);
    } catch (error) {
      throw new KilnError(
        'ABI_SCHEMA_LOAD_FAILED',
        `could not load ${shown(file)}: ${String((error as Error)?.message ?? error).split('\n')[0]}`,
        {
          location: { file: shown(file) },
          hint: 'fix the error in the module; run with --debug for the stack',
          cause: error,
          exitCode: 2,
        },
      );
    }
    const m = mod as { default?: unknown; abi?: unknown };
    const schema = m.default ?? m.abi;
    if (schema === undefined)
      throw new KilnError('ABI_SCHEMA_INVALID', `${shown(file)} exports no schema`, {
        hint: 'export default defineAbi({ ... }) (or export const abi = ...)',
        exitCode: 2,
      });
    return schema as AbiSchema;
  }
  return parseAbiSource(readFileSync(file, 'utf8'), shown(file));
}

function defaultLockPath(schemaPath: string): string {
  return join(dirname(resolve(schemaPath)), 'abi.lock.json');
}
function readLock(path: string): AbiLock {
  return parseAbiLock(readFileSync(path, 'utf8'), shown(path));
}
function parseArch(value: string): AbiArch {
  if (value !== 'x86_64' && value !== 'aarch64')
    throw new KilnError('ABI_BAD_OPTION', `--arch expects x86_64 or aarch64, got "${value}"`, { exitCode: 2 });
  return value;
}
function parseLangs(value: string): AbiLang[] {
  const langs = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
    .map((s) => (s === 'rs' ? 'rust' : s === 'typescript' ? 'ts' : s));
  for (const l of langs) {
    if (!(ALL_LANGS as readonly string[]).includes(l))
      throw new KilnError('ABI_BAD_OPTION', `--lang: unknown language "${l}"`, {
        hint: `choose from ${ALL_LANGS.join(', ')}`,
        exitCode: 2,
      });
  }
  return langs as AbiLang[];
}

export function registerAbi(program: Command): void {
  const abi = program
    .command('abi')
    .description('generate C/Rust/Zig/TypeScript from one ABI schema, and check it against abi.lock.json');

  abi
    .command('gen')
    .description('write the generated ABI files (kept untouched when unchanged)')
    .argument('<schema>', 'schema file: *.abi.toml, *.abi.json, or a .ts module default-exporting defineAbi({...})')
    .requiredOption('-o, --out <dir>', 'output folder (created if missing)')
    .option('--lang <list>', 'comma-separated languages: c, rust, zig, ts (default: all)')
    .option(
      '--arch <arch>',
      'layout the compile-time asserts check: x86_64 or aarch64 (default: x86_64; both LP64, identical)',
      'x86_64',
    )
    .option(
      '--lock <file>',
      'lock file giving auto-assigned syscall numbers (default: abi.lock.json beside the schema, if present)',
    )
    .action(
      action(async (schemaPath: string, flags: { out: string; lang?: string; arch: string; lock?: string }) => {
        const schema = await loadSchema(schemaPath);
        const lockPath = flags.lock ? resolve(flags.lock) : defaultLockPath(schemaPath);
        const lock = flags.lock || existsSync(lockPath) ? readLock(lockPath) : undefined;
        const files = generateAbi(schema, {
          langs: flags.lang ? parseLangs(flags.lang) : ALL_LANGS,
          arch: parseArch(flags.arch),
          file: shown(resolve(schemaPath)),
          ...(lock ? { lock } : {}),
        });
        const out = resolve(flags.out);
        mkdirSync(out, { recursive: true });
        for (const f of files) {
          const target = join(out, f.path);
          const same = existsSync(target) && readFileSync(target, 'utf8') === f.contents;
          if (!same) writeFileSync(target, f.contents);
          process.stdout.write(`${same ? 'unchanged' : 'wrote'} ${shown(target)}\n`);
        }
      }),
    );

  abi
    .command('check')
    .description(
      "compare the schema with the previous release's lock: exit 1 on a breaking change without a major version bump",
    )
    .argument('<schema>', 'schema file')
    .option('--lock <file>', 'lock file (default: abi.lock.json beside the schema)')
    .option(
      '--update',
      'write the lock for the current schema (refused while a breaking change lacks a major bump)',
      false,
    )
    .option('--json', 'print the result as JSON', false)
    .action(
      action(async (schemaPath: string, flags: { lock?: string; update: boolean; json: boolean }) => {
        const schema = await loadSchema(schemaPath);
        const lockPath = flags.lock ? resolve(flags.lock) : defaultLockPath(schemaPath);
        const file = shown(resolve(schemaPath));
        if (!existsSync(lockPath)) {
          if (!flags.update) {
            throw new KilnError('ABI_LOCK_MISSING', `no lock file at ${shown(lockPath)}`, {
              hint: `create it from the current schema with: kiln abi check ${schemaPath} --update`,
              exitCode: 2,
            });
          }
          const normalized = normalizeAbi(schema, { file });
          writeFileSync(lockPath, serializeAbiLock(createAbiLock(normalized)));
          if (flags.json) printJson({ ok: true, created: shown(lockPath), hash: abiHash(normalized), changes: [] });
          else
            process.stdout.write(
              `created ${shown(lockPath)} (ABI ${normalized.name} ${normalized.version.text}, hash ${abiHash(normalized).slice(0, 16)}…)\n`,
            );
          return;
        }
        const lock = readLock(lockPath);
        const result = checkAbi(schema, lock, { file });
        let updated = false;
        if (flags.update && result.ok) {
          const text = serializeAbiLock(result.lock);
          if (readFileSync(lockPath, 'utf8') !== text) {
            writeFileSync(lockPath, text);
            updated = true;
          }
        }
        if (flags.json) {
          printJson({
            ok: result.ok,
            majorBump: result.majorBump,
            hash: result.hash,
            previousHash: result.previousHash,
            changes: result.changes,
            ...(flags.update ? { updated } : {}),
          });
        } else {
          for (const c of result.changes)
            process.stdout.write(
              `${c.severity === 'breaking' ? 'breaking  ' : 'compatible'} ${c.path}: ${c.message}\n`,
            );
          const n = result.breaking.length;
          if (result.changes.length === 0)
            process.stdout.write(`no ABI changes since ${lock.version} (${shown(lockPath)})\n`);
          else if (result.ok)
            process.stdout.write(
              `${result.changes.length} change(s), ${n} breaking${n ? ` (allowed: major version bumped from ${lock.version} to ${result.lock.version})` : ''}\n`,
            );
          if (updated) process.stdout.write(`updated ${shown(lockPath)}\n`);
        }
        if (!result.ok) {
          if (!flags.json) {
            process.stderr.write(
              `error: ${result.breaking.length} breaking change(s) without a major version bump (lock: ${lock.version}, schema: ${result.lock.version})\n`,
            );
            process.stderr.write(
              `  hint: restore the old numbers/layouts, or bump the major version in ${basename(schemaPath)} and run again with --update\n`,
            );
            if (flags.update) process.stderr.write('  (the lock file was not updated)\n');
          }
          process.exitCode = 1;
        }
      }),
    );

  abi
    .command('layout')
    .description("print every struct's size, alignment, field offsets and padding")
    .argument('<schema>', 'schema file')
    .option('--arch <arch>', 'x86_64 or aarch64', 'x86_64')
    .option(
      '--lock <file>',
      'lock file for auto-assigned syscall numbers (default: abi.lock.json beside the schema, if present)',
    )
    .option('--json', 'print JSON', false)
    .action(
      action(async (schemaPath: string, flags: { arch: string; json: boolean; lock?: string }) => {
        const schema = await loadSchema(schemaPath);
        const lockPath = flags.lock ? resolve(flags.lock) : defaultLockPath(schemaPath);
        const lock = flags.lock || existsSync(lockPath) ? readLock(lockPath) : undefined;
        const normalized = normalizeAbi(schema, {
          file: shown(resolve(schemaPath)),
          ...(lock ? { lockedSyscalls: lock.syscalls } : {}),
        });
        const layout = computeLayout(normalized, parseArch(flags.arch));
        if (flags.json) {
          printJson({
            name: normalized.name,
            version: normalized.version.text,
            hash: abiHash(normalized),
            arch: layout.arch,
            syscalls: Object.fromEntries(normalized.syscalls.map((s) => [s.name, s.number])),
            structs: layout.structs.map((s) => ({
              name: s.name,
              size: s.size,
              align: s.align,
              members: s.members.map((m) => ({
                name: m.name,
                kind: m.kind,
                offset: m.offset,
                size: m.size,
                ...(m.kind === 'field' ? { type: m.typeText, align: m.align } : {}),
              })),
            })),
          });
          return;
        }
        process.stdout.write(
          `ABI ${normalized.name} ${normalized.version.text} (${layout.arch}), hash ${abiHash(normalized)}\n`,
        );
        if (normalized.syscalls.length)
          process.stdout.write(
            `syscalls: ${normalized.syscalls.map((s) => `${s.name}=${s.number}${s.auto ? '*' : ''}`).join(' ')}${normalized.syscalls.some((s) => s.auto) ? '  (* auto-assigned)' : ''}\n`,
          );
        for (const s of layout.structs) {
          process.stdout.write(`\nstruct ${s.name}: size ${s.size}, align ${s.align}\n`);
          for (const m of s.members) {
            process.stdout.write(
              `  ${String(m.offset).padStart(5)}  ${String(m.size).padStart(5)}  ${m.kind === 'padding' ? `${m.name} (padding)` : `${m.name}: ${m.typeText}`}\n`,
            );
          }
        }
      }),
    );
}
