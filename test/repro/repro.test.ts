// kiln repro: two builds in different folders must give the same bytes; a difference is explained
// with kiln's own readers (ELF section and strings, archive member, partition), not as a byte offset.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../src/formats/io/block-writer.js';
import { buildTree } from '../../src/formats/io/tree.js';
import { layoutCpio, writeCpio } from '../../src/formats/cpio/index.js';
import { compareOutputs, firstDifference, printableStrings } from '../../src/repro/diff.js';
import { repoRoot, runKilnAsync, tempDir, tool } from '../_helpers.js';

async function cpioBytes(files: Record<string, string>, format: 'newc' | 'odc' = 'newc'): Promise<Uint8Array> {
  const tree = buildTree(files);
  const size = layoutCpio(tree, { epoch: 0, format }).size;
  const sink = new MemorySink(size);
  await writeCpio(sink, tree, { epoch: 0, format });
  return sink.bytes;
}

/** Compiles the same C file with debug info in `dir` (clang writes the folder into .debug_str). */
function compileIn(dir: string, extra: string[] = []): Uint8Array {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'unit.c'), 'int answer(void) { return 42; }\n');
  const r = tool([
    'clang',
    '--target=x86_64-unknown-none-elf',
    '-g',
    '-c',
    join(dir, 'unit.c'),
    '-o',
    join(dir, 'unit.o'),
    ...extra,
  ]);
  expect(r.status, r.stderr).toBe(0);
  return new Uint8Array(readFileSync(join(dir, 'unit.o')));
}

describe('the format-aware comparison', () => {
  it('finds nothing in identical bytes and the first differing offset otherwise', async () => {
    const a = new Uint8Array(200_000).fill(7);
    const b = a.slice();
    expect(await compareOutputs(a, b, 'x.bin')).toEqual([]);
    b[131_073] = 8;
    expect(firstDifference(a, b)).toBe(131_073);
    const [d] = await compareOutputs(a, b, 'x.bin');
    expect(d!.offset).toBe(131_073);
    expect(d!.what).toContain('0x20001');
  });

  it('lists printable strings as `strings` does (runs of 4 or more)', () => {
    const s = printableStrings(new TextEncoder().encode('ab\0/home/user/src\0x\0main.c\0'));
    expect([...s].sort()).toEqual(['/home/user/src', 'main.c']);
  });

  it('names the ELF section and the differing path strings of two checkouts', async () => {
    const root = tempDir('kiln-repro-elf-');
    const a = compileIn(join(root, 'one'));
    const b = compileIn(join(root, 'checkout-two'));
    const diffs = await compareOutputs(a, b, 'unit.o');
    const strSection = diffs.find((d) => d.where.at(-1) === '.debug_str');
    expect(strSection, JSON.stringify(diffs)).toBeDefined();
    expect(strSection!.onlyA).toContain(join(root, 'one', 'unit.c'));
    expect(strSection!.onlyB).toContain(join(root, 'checkout-two', 'unit.c'));
    // The same two compiles with the project folder mapped to '.' are identical (what the cc step does).
    const ma = compileIn(join(root, 'm1'), [`-ffile-prefix-map=${join(root, 'm1')}=.`]);
    const mb = compileIn(join(root, 'mapped-2'), [`-ffile-prefix-map=${join(root, 'mapped-2')}=.`]);
    expect(await compareOutputs(ma, mb, 'unit.o')).toEqual([]);
  });

  it('names the member of an archive, then the difference inside it', async () => {
    const a = await cpioBytes({ 'etc/motd': 'hello', 'bin/init': 'built in /home/alice/os' });
    const b = await cpioBytes({ 'etc/motd': 'hello', 'bin/init': 'built in /home/bob/os!', extra: 'x' });
    const diffs = await compareOutputs(a, b, 'initrd.cpio');
    expect(diffs.some((d) => d.where.join('/') === 'initrd.cpio/extra' && d.what.includes('only in build B'))).toBe(
      true,
    );
    const inner = diffs.find((d) => d.where.join('/') === 'initrd.cpio/bin/init');
    expect(inner, JSON.stringify(diffs)).toBeDefined();
    expect(inner!.onlyA).toContain('built in /home/alice/os');
    expect(inner!.onlyB).toContain('built in /home/bob/os!');
  });

  it('opens odc (070707) archives as well, through the one format detector', async () => {
    const a = await cpioBytes({ init: 'path /a' }, 'odc');
    const b = await cpioBytes({ init: 'path /bb' }, 'odc');
    const diffs = await compareOutputs(a, b, 'initrd.odc');
    expect(diffs.map((d) => d.where.join('/'))).toContain('initrd.odc/init');
  });
});

describe('kiln repro', () => {
  it('passes on examples/hello: every output bit-identical across folders, umask, locale, TZ and SOURCE_DATE_EPOCH', async () => {
    const r = await runKilnAsync(['repro', '--json'], { cwd: join(repoRoot, 'examples', 'hello'), timeoutMs: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      builds: Array<{ dir: string; umask: string }>;
      outputs: Array<{ file: string; identical: boolean }>;
    };
    expect(report.ok).toBe(true);
    expect(report.builds.map((b) => b.umask)).toEqual(['0022', '0002']);
    expect(report.builds[0]!.dir).not.toBe(report.builds[1]!.dir);
    expect(report.outputs.map((o) => o.file).sort()).toEqual([
      'build/x86_64-debug/boot.bin',
      'build/x86_64-debug/hello.img',
    ]);
    expect(report.outputs.every((o) => o.identical)).toBe(true);
  }, 300_000);

  it('passes on examples/portix (nasm, Rust kernel with debug info, objcopy, raw disk): paths mapped', async () => {
    const r = await runKilnAsync(['repro'], { cwd: join(repoRoot, 'examples', 'portix'), timeoutMs: 900_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/identical {2}build\/x86_64-release\/kernel\.elf/);
    expect(r.stdout).toMatch(/identical {2}build\/x86_64-release\/isr\.o/);
    expect(r.stdout).toMatch(/all \d+ outputs are bit-identical/);
  }, 1_000_000);

  it('fails on a step that writes its working folder, naming the step, the file and the differing string', async () => {
    const dir = join(tempDir('kiln-repro-pwd-'), 'where');
    mkdirSync(dir, { recursive: true });
    cpSync(join(repoRoot, 'examples', 'hello', 'boot.asm'), join(dir, 'boot.asm'));
    writeFileSync(
      join(dir, 'kiln.config.ts'),
      `import { defineConfig, command } from 'kiln';
export default defineConfig({ name: 'where', steps: {
  stamp: command({ argv: ['/bin/pwd'], outputs: ['where.txt'], stdout: 'where.txt' }),
} });
`,
    );
    const r = await runKilnAsync(['repro'], { cwd: dir, timeoutMs: 240_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/DIFFERS {4}build\/x86_64-debug\/where\.txt \(stamp\)/);
    expect(r.stdout).toMatch(/A: ".*\/a\/where"/);
    expect(r.stdout).toMatch(/B: ".*\/second-build-with-a-longer-path\/nested\/where"/);
    expect(r.stdout).toMatch(/1 of 1 outputs differ/);
  }, 300_000);
});
