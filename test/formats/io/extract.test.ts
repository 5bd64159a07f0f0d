// Extraction never leaves its folder, never writes through a symlink, never overwrites unless asked:
// every escape of issue #15 (items 1 and 2) and its variants, for cpio, FAT and ISO9660 in each of its
// three namespaces (Rock Ridge, Joliet, plain), through the library and through `kiln image ... extract`.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, KilnError } from '../../../src/errors.js';
import { extractCpio } from '../../../src/formats/cpio/index.js';
import { openFat } from '../../../src/formats/fat/index.js';
import { MemorySource } from '../../../src/formats/io/block-source.js';
import { extractIso, readIso } from '../../../src/formats/iso9660/index.js';
import { runKiln, tempDir } from '../../_helpers.js';
import { fatImage, isoImage, rawCpio, rename, type RawCpioEntry, type Spec } from './_hostile.js';

type Namespace = 'rockridge' | 'joliet' | 'iso9660';

interface Format {
  name: string;
  codePrefix: string;
  suffix: string;
  /** A benign image holding `spec` (files only; parents implied). */
  image(spec: Record<string, string>): Promise<Uint8Array>;
  /** An image holding one file whose stored name is `two` (a name the writer refuses). */
  hostile(two: string): Promise<Uint8Array>;
  extract(bytes: Uint8Array, dir: string, overwrite: boolean): Promise<unknown>;
  cli(file: string, dir: string): string[];
}

function cpioFromSpec(spec: Record<string, string>, withDirs = true): Uint8Array {
  const entries: RawCpioEntry[] = [];
  const dirs = new Set<string>();
  for (const path of Object.keys(spec).sort()) {
    const parts = path.split('/');
    for (let k = 1; k < parts.length; k++) {
      const d = parts.slice(0, k).join('/');
      if (!dirs.has(d) && withDirs) entries.push({ name: d, kind: 'dir' });
      dirs.add(d);
    }
    entries.push({ name: path, kind: 'file', data: spec[path]! });
  }
  return rawCpio(entries);
}

function isoFormat(namespace: Namespace): Format {
  const options =
    namespace === 'joliet' ? { rockRidge: false } : namespace === 'iso9660' ? { rockRidge: false, joliet: false } : {};
  return {
    name: `iso9660 (${namespace})`,
    codePrefix: 'ISO9660',
    suffix: '.iso',
    image: (spec) => isoImage(spec, options),
    hostile: async (two) => rename[namespace](await isoImage({ qq: 'x' }, options), two),
    extract: async (bytes, dir, overwrite) => {
      const source = new MemorySource(bytes, 'iso9660');
      return extractIso(source, await readIso(source, { namespace }), dir, { overwrite });
    },
    cli: (file, dir) => ['image', 'iso', 'extract', file, dir, '--namespace', namespace],
  };
}

const FORMATS: Format[] = [
  {
    name: 'cpio',
    codePrefix: 'CPIO',
    suffix: '.cpio',
    image: async (spec) => cpioFromSpec(spec),
    hostile: async (two) => rawCpio([{ name: two, kind: 'file', data: 'pwned' }]),
    extract: (bytes, dir, overwrite) => extractCpio(bytes, dir, { overwrite }),
    cli: (file, dir) => ['image', 'cpio', 'extract', file, dir],
  },
  {
    name: 'fat',
    codePrefix: 'FAT',
    suffix: '.img',
    image: (spec) => fatImage(spec),
    hostile: async (two) => rename.fat(await fatImage({ Qq: 'x' }), two),
    extract: async (bytes, dir, overwrite) =>
      (await openFat(new MemorySource(bytes, 'fat'))).extract(dir, { overwrite }),
    cli: (file, dir) => ['image', 'fat', 'extract', file, dir],
  },
  isoFormat('rockridge'),
  isoFormat('joliet'),
  isoFormat('iso9660'),
];

const SPEC = { 'TOP.TXT': 'new\n', 'SUB/INNER.TXT': 'inner\n' };

/** A fresh playground: `outside/victim.txt` (must never change) and an empty `dest` next to it. */
function playground(root: string, name: string): { outside: string; victim: string; dest: string } {
  const base = join(root, name);
  const outside = join(base, 'outside');
  mkdirSync(outside, { recursive: true });
  const victim = join(outside, 'victim.txt');
  writeFileSync(victim, 'original\n');
  return { outside, victim, dest: join(base, 'dest') };
}

function expectOutsideUntouched(p: { outside: string; victim: string }): void {
  expect(readdirSync(p.outside)).toEqual(['victim.txt']);
  expect(readFileSync(p.victim, 'utf8')).toBe('original\n');
}

/** A refusal through the CLI: exit 1, one `error:` line naming the image and the reason, no stack trace. */
function expectCliRefusal(r: ReturnType<typeof runKiln>, file: string, reason: RegExp): void {
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toContain(file);
  expect(r.stderr).toMatch(reason);
  expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
}

describe.each(FORMATS)('extraction of $name', (format) => {
  const root = tempDir();
  let n = 0;
  const fresh = () => playground(root, `p${n++}`);

  it('a file symlink already in the folder is never written through; --force replaces the link, not its target', async () => {
    for (const dangling of [false, true]) {
      const p = fresh();
      mkdirSync(p.dest);
      const target = dangling ? join(p.outside, 'created.txt') : p.victim;
      symlinkSync(target, join(p.dest, 'TOP.TXT'));
      const bytes = await format.image(SPEC);
      const refused = format.extract(bytes, p.dest, false);
      await expect(refused).rejects.toBeInstanceOf(FormatError);
      await expect(refused).rejects.toMatchObject({
        code: `${format.codePrefix}_EXISTS`,
        message: expect.stringMatching(/TOP\.TXT.*already exists.*a symlink/),
      });
      expectOutsideUntouched(p);
      await format.extract(bytes, p.dest, true);
      expect(lstatSync(join(p.dest, 'TOP.TXT')).isFile()).toBe(true);
      expect(readFileSync(join(p.dest, 'TOP.TXT'), 'utf8')).toBe('new\n');
      expect(readFileSync(join(p.dest, 'SUB/INNER.TXT'), 'utf8')).toBe('inner\n');
      expectOutsideUntouched(p);
    }
  });

  it('a directory symlink already in the folder is never followed; overwrite replaces the link with a directory', async () => {
    const p = fresh();
    mkdirSync(p.dest);
    symlinkSync(p.outside, join(p.dest, 'SUB'));
    const bytes = await format.image(SPEC);
    const refused = format.extract(bytes, p.dest, false);
    await expect(refused).rejects.toMatchObject({
      code: `${format.codePrefix}_EXISTS`,
      message: expect.stringMatching(/"SUB" is a directory in the archive but a symlink exists there.*never followed/),
    });
    expectOutsideUntouched(p);
    expect(readlinkSync(join(p.dest, 'SUB'))).toBe(p.outside);
    await format.extract(bytes, p.dest, true);
    expect(lstatSync(join(p.dest, 'SUB')).isDirectory()).toBe(true);
    expect(readFileSync(join(p.dest, 'SUB/INNER.TXT'), 'utf8')).toBe('inner\n');
    expectOutsideUntouched(p);
  });

  it('an existing file is not overwritten without overwrite (a clear error, not EEXIST); with it, it is replaced', async () => {
    const p = fresh();
    const bytes = await format.image(SPEC);
    await format.extract(bytes, p.dest, false);
    writeFileSync(join(p.dest, 'TOP.TXT'), 'mine\n');
    await expect(format.extract(bytes, p.dest, false)).rejects.toMatchObject({
      code: `${format.codePrefix}_EXISTS`,
      hint: expect.stringMatching(/--force.*overwrite: true/),
    });
    expect(readFileSync(join(p.dest, 'TOP.TXT'), 'utf8')).toBe('mine\n');
    await format.extract(bytes, p.dest, true);
    expect(readFileSync(join(p.dest, 'TOP.TXT'), 'utf8')).toBe('new\n');
  });

  it('refuses ".." and absolute names before creating anything', async () => {
    const names = format.name === 'cpio' ? ['../victim.txt', '/abs.txt', 'a/../../victim.txt'] : ['..', '/q'];
    for (const two of names) {
      const p = fresh();
      const bytes = await format.hostile(two);
      const refused = format.extract(bytes, p.dest, true);
      await expect(refused).rejects.toBeInstanceOf(FormatError);
      await expect(refused).rejects.toMatchObject({
        code: expect.stringMatching(/PATH_ESCAPES|BAD_NAME/),
        location: { offset: expect.any(Number) },
      });
      expect(existsSync(p.dest)).toBe(false);
      expectOutsideUntouched(p);
      expect(existsSync(join(p.outside, '..', 'victim.txt'))).toBe(false);
    }
  });

  it('through the CLI: refusals exit 1 with one line and no stack; --force replaces a planted symlink, not its target', async () => {
    const p = fresh();
    const file = join(root, `cli-${n++}${format.suffix}`);
    writeFileSync(file, await format.image(SPEC));
    mkdirSync(p.dest);
    symlinkSync(p.victim, join(p.dest, 'TOP.TXT'));
    expectCliRefusal(
      runKiln(format.cli(file, p.dest)),
      file,
      /TOP\.TXT.*already exists.*refusing to overwrite[\s\S]*hint: .*--force/,
    );
    expectOutsideUntouched(p);
    const forced = runKiln([...format.cli(file, p.dest), '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(lstatSync(join(p.dest, 'TOP.TXT')).isFile()).toBe(true);
    expectOutsideUntouched(p);
    // A directory symlink: refused without --force; never followed.
    const q = fresh();
    mkdirSync(q.dest);
    symlinkSync(q.outside, join(q.dest, 'SUB'));
    expectCliRefusal(
      runKiln(format.cli(file, q.dest)),
      file,
      /"SUB" is a directory in the archive but a symlink exists there/,
    );
    expectOutsideUntouched(q);
    // A hostile name.
    const hostile = join(root, `cli-${n++}${format.suffix}`);
    writeFileSync(hostile, await format.hostile(format.name === 'cpio' ? '../victim.txt' : '..'));
    const r = fresh();
    expectCliRefusal(runKiln(format.cli(hostile, r.dest)), hostile, /offset 0x[0-9a-f]+.*(\.\.|not a valid file name)/);
    expectOutsideUntouched(r);
  });
});

describe('symlinks inside the archive', () => {
  const root = tempDir();

  it('cpio: a file through a symlink of the same archive is refused, before anything is created', async () => {
    for (const target of ['/tmp', '..', 'SUB']) {
      const p = playground(root, `same-${target.replace(/\W/g, '_')}`);
      const bytes = rawCpio([
        { name: 'ln', kind: 'symlink', data: target === '/tmp' ? p.outside : target },
        { name: 'ln/pwned.txt', kind: 'file', data: 'pwned' },
      ]);
      await expect(extractCpio(bytes, p.dest, { overwrite: true })).rejects.toMatchObject({
        code: 'CPIO_PATH_ESCAPES',
        message: expect.stringMatching(/passes through "ln", a symlink in the same archive/),
        location: { offset: expect.any(Number) },
      });
      expect(existsSync(p.dest)).toBe(false);
      expectOutsideUntouched(p);
    }
  });

  it('cpio: a file under a directory symlink already in the folder is refused even with overwrite (no directory entry)', async () => {
    const p = playground(root, 'implied');
    mkdirSync(p.dest);
    symlinkSync(p.outside, join(p.dest, 'SUB'));
    await expect(extractCpio(cpioFromSpec(SPEC, false), p.dest, { overwrite: true })).rejects.toMatchObject({
      code: 'CPIO_PATH_ESCAPES',
      message: expect.stringMatching(
        /"SUB\/INNER\.TXT" would be written through "SUB", a symlink in .*; refusing to follow it/,
      ),
      hint: expect.stringMatching(/never follows a symlink/),
    });
    expectOutsideUntouched(p);
  });

  it('cpio: symlinks are created last, so a file listed after a symlink of the same name is not written through it', async () => {
    const p = playground(root, 'order');
    const bytes = rawCpio([
      { name: 'f', kind: 'symlink', data: p.victim },
      { name: 'f', kind: 'file', data: 'pwned' },
    ]);
    await expect(extractCpio(bytes, p.dest, {})).rejects.toMatchObject({ code: 'CPIO_EXISTS' });
    expectOutsideUntouched(p);
    expect(lstatSync(join(p.dest, 'f')).isFile()).toBe(true);
    // With overwrite the symlink replaces the file at the end: the link is created, nothing written through it.
    const q = playground(root, 'order-force');
    await extractCpio(
      rawCpio([
        { name: 'f', kind: 'symlink', data: q.victim },
        { name: 'f', kind: 'file', data: 'pwned' },
      ]),
      q.dest,
      { overwrite: true },
    );
    expect(readlinkSync(join(q.dest, 'f'))).toBe(q.victim);
    expectOutsideUntouched(q);
  });

  it('iso (Rock Ridge) then each format: a symlink left by one extraction is not followed by the next (issue #15 item 2)', async () => {
    for (const format of FORMATS) {
      const p = playground(root, `two-step-${format.name.replace(/\W/g, '_')}`);
      const src = new MemorySource(await isoImage({ SUB: { kind: 'symlink', target: p.outside } }), 'iso9660');
      const r = await extractIso(src, await readIso(src), p.dest);
      expect(r.symlinks).toBe(1);
      expect(readlinkSync(join(p.dest, 'SUB'))).toBe(p.outside);
      const second = await format.image(SPEC);
      await expect(format.extract(second, p.dest, false)).rejects.toMatchObject({
        code: `${format.codePrefix}_EXISTS`,
      });
      expectOutsideUntouched(p);
      await format.extract(second, p.dest, true); // the link is replaced by a directory, never followed
      expect(lstatSync(join(p.dest, 'SUB')).isDirectory()).toBe(true);
      expectOutsideUntouched(p);
    }
  });

  it('a symlink pointing outside is created as a link (never dereferenced) and the CLI says so', async () => {
    const p = playground(root, 'link-out');
    const file = join(root, 'link-out.iso');
    const spec: Spec = { 'TOP.TXT': 'new\n', out: { kind: 'symlink', target: p.victim } };
    writeFileSync(file, await isoImage(spec));
    const r = runKiln(['image', 'iso', 'extract', file, p.dest]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/extracted 1 files, 0 directories and 1 symlinks/);
    expect(readlinkSync(join(p.dest, 'out'))).toBe(p.victim);
    expectOutsideUntouched(p);
  });

  it('an operating-system failure is a KilnError naming the folder (no stack)', async () => {
    const p = playground(root, 'eacces');
    writeFileSync(join(root, 'eacces', 'dest'), 'a file, not a folder\n');
    const refused = extractCpio(cpioFromSpec(SPEC), p.dest);
    await expect(refused).rejects.toBeInstanceOf(KilnError);
    await expect(refused).rejects.toMatchObject({
      code: 'EXTRACT_FAILED',
      message: 'exists and is not a folder',
      location: { file: p.dest },
    });
  });
});
