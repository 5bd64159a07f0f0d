// The reference tools accept kiln's FAT images: `fsck.fat -n` exits 0 and prints no diagnostic,
// `mdir` lists the same names, `mcopy` yields identical bytes; for FAT12, FAT16 and FAT32. Also:
// a large sparse image stays sparse and the writer's memory stays small; the CLI round-trips.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { repoRoot, runKiln, tempDir, tool } from '../../_helpers.js';
import { writeImageFile } from '../../../src/formats/io/block-writer.js';
import { FileSource } from '../../../src/formats/io/block-source.js';
import { fileContent } from '../../../src/formats/io/content.js';
import { buildTree, treeFromDirectory, type FileTree } from '../../../src/formats/io/tree.js';
import { openFat, writeFat, type FatOptions, type FatType } from '../../../src/formats/fat/index.js';
import { exactShortName } from '../../../src/formats/fat/_names.js';
import { bytesFor, treeArb } from './_trees.js';

const dir = tempDir('kiln-fat-tools-');
const env = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', MTOOLS_SKIP_CHECK: '0' };
const SIZES: Record<FatType, number> = { 12: 4 << 20, 16: 16 << 20, 32: 40 << 20 };
let counter = 0;

function run(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = tool(argv);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** fsck.fat -n: exit 0 and only the banner and the summary line. */
function expectFsckClean(image: string): void {
  const r = run(['fsck.fat', '-n', image]);
  const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const diagnostics = lines.filter((l) => !/^fsck\.fat \d/.test(l) && !/: \d+ files, \d+\/\d+ clusters$/.test(l));
  expect(diagnostics, `fsck.fat -n ${image}:\n${lines.join('\n')}`).toEqual([]);
  expect(r.status).toBe(0);
}

function mtools(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = require_spawn(argv);
  return r;
}
function require_spawn(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  // mtools needs a UTF-8 locale to print non-ASCII long names.
  const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'buffer',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/**
 * mtools 4.0.32 decodes long names one UTF-16 unit at a time, so a character outside the BMP
 * (stored, as Windows stores it, as a surrogate pair) shows as two underscores.
 */
const mtoolsName = (path: string): string => path.replace(/[\u{10000}-\u{10FFFF}]/gu, '__');

/** `mdir -/ -b` paths (files and dirs/) must equal the tree's. */
function expectMdirNames(image: string, tree: FileTree): void {
  if (tree.size === 0) return; // mdir reports an empty root as "not found"
  const r = mtools(['mdir', '-/', '-b', '-i', image, '::']);
  expect(r.status, r.stderr).toBe(0);
  const listed = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('::/'))
    .map((l) => l.slice(3))
    .sort();
  const wanted = [...tree].map(([p, e]) => mtoolsName(e.kind === 'dir' ? `${p}/` : p)).sort();
  expect(listed).toEqual(wanted);
  // The plain listing shows every long name too.
  const plain = mtools(['mdir', '-/', '-i', image, '::']);
  expect(plain.status).toBe(0);
  for (const [path] of tree) {
    const name = path.split('/').pop()!;
    const short = exactShortName(name);
    if (short && !short.needsLong) continue; // shown in 8.3 columns ("README   TXT")
    expect(plain.stdout).toContain(mtoolsName(name));
  }
}

/** `mcopy -s` of the whole volume gives the same bytes; `mcopy ::path -` for a few files too. */
function expectMcopyBytes(image: string, files: Map<string, Uint8Array>): void {
  const out = join(dir, `mcopy-${counter++}`);
  mkdirSync(out);
  const r = mtools(['mcopy', '-s', '-n', '-i', image, '::/*', out]);
  if (files.size > 0) expect(r.status, r.stderr).toBe(0);
  for (const [path, data] of files) {
    const got = readFileSync(join(out, mtoolsName(path)));
    expect(createHash('sha256').update(got).digest('hex'), path).toBe(createHash('sha256').update(data).digest('hex'));
  }
  for (const [path, data] of [...files].filter(([p]) => !/[[\]*?]|[\u{10000}-\u{10FFFF}]/u.test(p)).slice(0, 3)) {
    // (mtools takes [ ] * ? in a source name as a pattern, and cannot look up names outside the BMP)
    const one = require_spawn_raw(['mcopy', '-i', image, `::/${mtoolsName(path)}`, '-']);
    expect(Buffer.compare(one, Buffer.from(data)), path).toBe(0);
  }
}
function require_spawn_raw(argv: string[]): Buffer {
  const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, timeout: 60_000 });
  expect(r.status, r.stderr.toString()).toBe(0);
  return r.stdout;
}

async function writeImage(tree: FileTree, type: FatType, options: FatOptions = {}): Promise<string> {
  const image = join(dir, `fat${type}-${counter++}.img`);
  await writeImageFile(image, options.size === undefined ? SIZES[type] : Number(options.size), (sink) =>
    writeFat(sink, tree, { type, epoch: 1_700_000_000, ...options }),
  );
  return image;
}

describe.each([12, 16, 32] as const)('FAT%i: fsck.fat, mdir and mcopy agree', (type) => {
  test('long, unicode, colliding, 8.3 and lower-case names; files from disk and memory; a label', async () => {
    const src = join(dir, `src${type}`);
    mkdirSync(join(src, 'EFI', 'BOOT'), { recursive: true });
    writeFileSync(join(src, 'EFI', 'BOOT', 'BOOTX64.EFI'), bytesFor(100_000, 1));
    const files = new Map<string, Uint8Array>([
      ['EFI/BOOT/BOOTX64.EFI', bytesFor(100_000, 1)],
      ['readme.txt', bytesFor(10, 2)],
      ['Long File Name One.txt', bytesFor(3000, 3)],
      ['Long File Name Two.txt', bytesFor(4097, 4)],
      ['LONGFI~1.TXT', bytesFor(1, 5)],
      ['ÜNICODE ☃ 😀.md', bytesFor(77, 6)],
      ['dir/sub/zeros.bin', new Uint8Array(20_000)],
      ['dir/sub/empty', new Uint8Array(0)],
      ['Mixed.Txt', bytesFor(5, 7)],
      ['plus+sign=ok[1].tar.gz', bytesFor(6, 8)],
      [`${'n'.repeat(200)}.bin`, bytesFor(9, 9)],
    ]);
    const spec: Record<string, unknown> = {
      'EFI/BOOT/BOOTX64.EFI': await fileContent(join(src, 'EFI', 'BOOT', 'BOOTX64.EFI')),
      'empty dir': { kind: 'dir' },
    };
    for (const [p, d] of files) if (!spec[p]) spec[p] = d;
    const tree = buildTree(spec as Parameters<typeof buildTree>[0]);
    const image = await writeImage(tree, type, { label: 'Kiln Vol' });
    expectFsckClean(image);
    expectMdirNames(image, tree);
    expectMcopyBytes(image, files);
    const minfo = mtools(['minfo', '-i', image, '::']);
    expect(minfo.status).toBe(0);
    expect(minfo.stdout).toContain(`disk type="FAT${type}   "`);
    const label = mtools(['mlabel', '-s', '-i', image, '::']);
    expect(label.stdout).toContain('KILN VOL');
  });

  test('property: random trees pass fsck.fat, mdir and mcopy', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb(15, 40_000), async ({ tree, files }) => {
        const image = await writeImage(tree, type);
        expectFsckClean(image);
        expectMdirNames(image, tree);
        expectMcopyBytes(image, files);
      }),
      { numRuns: Number(process.env.KILN_TOOL_RUNS ?? 6) },
    );
  });
});

describe('reproducibility on disk', () => {
  test('two writes with the same SOURCE_DATE_EPOCH are bit-identical', async () => {
    const tree = buildTree({ 'a/b/c.txt': 'x', 'Long name.bin': bytesFor(50_000, 3) });
    const one = await writeImage(tree, 32, { epoch: 1_234_567_890 });
    const two = await writeImage(tree, 32, { epoch: 1_234_567_890 });
    expect(createHash('sha256').update(readFileSync(one)).digest('hex')).toBe(
      createHash('sha256').update(readFileSync(two)).digest('hex'),
    );
  });
});

describe('large sparse images', () => {
  test('2 GiB FAT32 with a few MiB of files: sparse on disk, fsck clean, small memory', async () => {
    const src = join(dir, 'sparse-src');
    mkdirSync(join(src, 'boot'), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(src, 'boot', `blob${i}.bin`), bytesFor(1 << 20, i + 10));
    const image = join(dir, 'big.img');
    // Run the built library in a fresh process to measure its peak memory alone.
    const script = `
      const { writeFat } = await import(${JSON.stringify(join(repoRoot, 'dist/formats/fat/index.js'))});
      const io = await import(${JSON.stringify(join(repoRoot, 'dist/formats/io/index.js'))});
      const before = process.resourceUsage().maxRSS;
      const tree = await io.treeFromDirectory(${JSON.stringify(src)});
      const r = await io.writeImageFile(${JSON.stringify(image)}, 2 * 1024 ** 3, (sink) => writeFat(sink, tree, { epoch: 1 }));
      console.log(JSON.stringify({ before, after: process.resourceUsage().maxRSS, type: r.type }));`;
    const r = tool([process.execPath, '--input-type=module', '-e', script]);
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout.trim()) as { before: number; after: number; type: number };
    expect(m.type).toBe(32);
    expect(m.after - m.before).toBeLessThan(64 * 1024); // KiB: the writer holds buffers, never the image
    const s = statSync(image);
    expect(s.size).toBe(2 * 1024 ** 3);
    expect(s.blocks * 512).toBeLessThan(16 << 20);
    expectFsckClean(image);
    const back = await FileSource.open(image);
    const v = await openFat(back);
    expect(v.info.type).toBe(32);
    expect(v.info.fsInfoFree).toBe(v.info.clusterCount - (await v.list()).length - 1 - 5 * 256 + 5);
    await back.close();
  });
});

describe('kiln image fat (CLI)', () => {
  test('write from a folder, ls, ls --json, extract: same bytes back', () => {
    const src = join(dir, 'cli-src');
    mkdirSync(join(src, 'EFI', 'BOOT'), { recursive: true });
    writeFileSync(join(src, 'EFI', 'BOOT', 'BOOTX64.EFI'), bytesFor(12345, 1));
    writeFileSync(join(src, 'A long name.txt'), 'hello');
    const image = join(dir, 'cli.img');
    const w = runKiln(['image', 'fat', image, '--size', '64M', '--from', src, '--type', '32', '--label', 'kiln'], {
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
    expect(w.status, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/FAT32, 64 MiB/);
    expectFsckClean(image);
    const ls = runKiln(['image', 'fat', 'ls', image]);
    expect(ls.status, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('EFI/BOOT/BOOTX64.EFI');
    expect(ls.stdout).toContain('label KILN');
    expect(ls.stdout).toContain('2023-11-14 22:13:20');
    const json = JSON.parse(runKiln(['image', 'fat', 'ls', image, '--json']).stdout) as {
      info: { type: number };
      entries: Array<{ path: string; size: number }>;
    };
    expect(json.info.type).toBe(32);
    expect(json.entries.find((e) => e.path === 'EFI/BOOT/BOOTX64.EFI')!.size).toBe(12345);
    const out = join(dir, 'cli-out');
    const x = runKiln(['image', 'fat', 'extract', image, out]);
    expect(x.status, x.stderr).toBe(0);
    expect(readFileSync(join(out, 'EFI', 'BOOT', 'BOOTX64.EFI'))).toEqual(
      readFileSync(join(src, 'EFI', 'BOOT', 'BOOTX64.EFI')),
    );
    expect(readFileSync(join(out, 'A long name.txt'), 'utf8')).toBe('hello');
    expect(readdirSync(out).sort()).toEqual(['A long name.txt', 'EFI']);
  });
  test('errors are one clear line with a hint and a non-zero exit', () => {
    const src = join(dir, 'cli-big');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'big.bin'), new Uint8Array(3 << 20));
    const r = runKiln(['image', 'fat', join(dir, 'small.img'), '--size', '2M', '--from', src]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*bytes\) over/m);
    expect(r.stderr).toMatch(/hint:/);
    const bad = join(dir, 'not-fat.img');
    writeFileSync(bad, new Uint8Array(4096));
    const l = runKiln(['image', 'fat', 'ls', bad]);
    expect(l.status).toBe(1);
    expect(l.stderr).toMatch(/^error: .*fat: BPB_BytsPerSec/m);
  });
  test('treeFromDirectory + writeFat match the CLI output byte for byte', async () => {
    const src = join(dir, 'cli-src');
    const image = join(dir, 'lib.img');
    await writeImageFile(image, 64 << 20, async (sink) =>
      writeFat(sink, await treeFromDirectory(src), { type: 32, label: 'kiln', epoch: 1_700_000_000 }),
    );
    expect(Buffer.compare(readFileSync(image), readFileSync(join(dir, 'cli.img')))).toBe(0);
  });
});

describe('kiln reads what mkfs.fat + mcopy write', () => {
  test.each([
    ['FAT12', ['-F', '12'], 4096],
    ['FAT16', ['-F', '16'], 32768],
    ['FAT32', ['-F', '32'], 65536],
    ['FAT32, 4096-byte sectors', ['-F', '32', '-S', '4096'], 300000],
  ] as Array<[string, string[], number]>)('%s', async (_name, flags, kib) => {
    const src = join(dir, `peer-src-${counter++}`);
    const files = new Map<string, Uint8Array>([
      ['EFI/BOOT/BOOTX64.EFI', bytesFor(50_000, 1)],
      ['A Long Name With Spaces.txt', bytesFor(3000, 2)],
      ['ÜNICODE ☃.md', bytesFor(10, 3)],
      ['readme.txt', bytesFor(5, 4)],
      ['dir/sub/zeros.bin', new Uint8Array(9000)],
    ]);
    for (const [p, d] of files) {
      mkdirSync(join(src, p, '..'), { recursive: true });
      writeFileSync(join(src, p), d);
    }
    const image = join(dir, `peer-${counter++}.img`);
    expect(run(['mkfs.fat', ...flags, '-C', image, String(kib)]).status).toBe(0);
    const entries = readdirSync(src).map((n) => join(src, n));
    const r = mtools(['mcopy', '-s', '-i', image, ...entries, '::/']);
    expect(r.status, r.stderr).toBe(0);
    const source = await FileSource.open(image);
    try {
      const v = await openFat(source);
      expect(`FAT${v.info.type}`).toBe(_name.slice(0, 5));
      const listed = (await v.list()).filter((e) => e.kind === 'file');
      expect(listed.map((e) => e.path).sort()).toEqual([...files.keys()].sort());
      for (const e of listed) expect(Buffer.compare(await v.readFileBytes(e), files.get(e.path)!), e.path).toBe(0);
    } finally {
      await source.close();
    }
  });
});
