// examples/tinyc end to end: a 32-bit C kernel built like make builds it. Boots from the first IDE
// disk to the shell prompt under qemu-system-i386 (-machine pc) and is driven through its shell; a
// header edit recompiles exactly the files that include it (counted from --json step-action events)
// and changes the kernel; touching every file reruns nothing; a guest writing its disk leaves the
// built image and the cache intact and the next build runs nothing; `kiln run --gdb` prints a gdb
// command that works (run with gdb -batch: it stops in kmain).
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runKilnAsync, kilnBin, tempDir, toolAsync } from '../_helpers.js';
import { events } from '../graph/_project.js';

const example = join(repoRoot, 'examples/tinyc');
const dir = join(tempDir('kiln-tinyc-'), 'tinyc');
cpSync(example, dir, { recursive: true, filter: (src) => !/\/(build|\.kiln)(\/|$)/.test(src.slice(example.length)) });
const out = join(dir, 'build', 'i386-debug');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function build() {
  const r = await runKilnAsync(['build', '--json'], { cwd: dir, timeoutMs: 300_000 });
  const evs = events(r.stdout);
  return {
    r,
    compiled: evs.filter((e) => e.type === 'step-action').map((e) => `${e.step as string}:${e.input as string}`).sort(),
    ran: evs.filter((e) => e.type === 'step-finish' && e.status === 'ran').map((e) => e.step as string).sort(),
  };
}

/** Project files whose text includes `"<header>"` directly: what make -MD would recompile. */
function includersOf(header: string): string[] {
  const found: string[] = [];
  for (const [step, folder] of [['kernel', 'kernel'], ['mkfs', 'tools']] as const) {
    for (const f of readdirSync(join(dir, folder)).filter((n) => n.endsWith('.c')).sort()) {
      if (readFileSync(join(dir, folder, f), 'utf8').includes(`#include "${header}"`)) found.push(`${step}:${folder}/${f}`);
    }
  }
  return found.sort();
}

/** Splits the shell-quoted command kiln prints (single quotes only, as formatCommand writes). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe('examples/tinyc', () => {
  it('builds (boot block signed by kiln, mkfs for the host) and boots to the shell prompt; the shell test types commands', async () => {
    const first = await build();
    expect(first.r.status, first.r.stderr + first.r.stdout).toBe(0);
    expect(first.compiled.filter((c) => c.startsWith('kernel:')).length).toBeGreaterThanOrEqual(15);
    const boot = readFileSync(join(out, 'tinyc-boot.img'));
    expect([boot[510], boot[511]]).toEqual([0x55, 0xaa]);
    expect(readFileSync(join(out, 'bootblock.elf')).subarray(0, 5)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1]));
    const t = await runKilnAsync(['test'], { cwd: dir, timeoutMs: 300_000 });
    expect(t.status, t.stderr + t.stdout).toBe(0);
    expect(t.stdout + t.stderr).toMatch(/PASS boot \[i386\]/);
    expect(t.stdout + t.stderr).toMatch(/PASS shell \[i386\].*all 13 steps passed/);
    expect(t.stdout + t.stderr).toMatch(/qemu-system-i386|i386/);
  }, 600_000);

  it('a header edit recompiles exactly its includers and changes the kernel; touching every file reruns nothing', async () => {
    const kernelBefore = sha(join(out, 'kernel.bin'));
    const header = join(dir, 'include/shell.h');
    writeFileSync(header, readFileSync(header, 'utf8').replace('#define SHELL_LINE_MAX 128', '#define SHELL_LINE_MAX 160'));
    const edited = await build();
    expect(edited.r.status, edited.r.stderr).toBe(0);
    const expected = includersOf('shell.h');
    expect(expected.length).toBeGreaterThanOrEqual(8);
    expect(edited.compiled).toEqual(expected);
    expect(sha(join(out, 'kernel.bin'))).not.toBe(kernelBefore);
    expect(edited.ran).not.toContain('fs-disk');

    // fs.h is shared with the host mkfs: its includers in both, and the disk it makes is remade.
    const fsh = join(dir, 'include/fs.h');
    writeFileSync(fsh, readFileSync(fsh, 'utf8').replace('#define TFS_NAME_MAX 48', '#define TFS_NAME_MAX (48)'));
    const shared = await build();
    expect(shared.compiled).toEqual(includersOf('fs.h'));
    expect(shared.compiled).toContain('mkfs:tools/mkfs.c');

    const later = new Date(Date.now() + 10_000);
    for (const folder of ['include', 'kernel', 'tools', 'boot', 'files']) {
      for (const f of readdirSync(join(dir, folder))) utimesSync(join(dir, folder, f), later, later);
    }
    const touched = await build();
    expect(touched.r.status).toBe(0);
    expect(touched.compiled).toEqual([]);
    expect(touched.ran).toEqual([]);
  }, 600_000);

  it('a guest that writes its disk leaves the image and the cache intact: the next build runs nothing', async () => {
    const image = join(out, 'tinyc-fs.img');
    const before = sha(image);
    const t = await runKilnAsync(['test', 'shell'], { cwd: dir, timeoutMs: 300_000 });
    expect(t.status, t.stderr + t.stdout).toBe(0);
    expect(sha(image)).toBe(before);
    const cas = join(dir, '.kiln/cache/cas');
    for (const sub of readdirSync(cas)) for (const f of readdirSync(join(cas, sub))) expect(sha(join(cas, sub, f))).toBe(f);
    const next = await build();
    expect(next.ran).toEqual([]);
    expect(events(next.r.stdout).find((e) => e.type === 'build-finish')!.counts).toMatchObject({ ran: 0, cached: 0 });
  }, 600_000);

  it('kiln run --gdb prints a gdb command that works (gdb -batch stops in kmain of the ELF32 kernel)', async () => {
    const run = spawn(process.execPath, [kilnBin, 'run', '--gdb', '47123', '--timeout', '120'], { cwd: dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    run.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    try {
      for (let i = 0; i < 600 && !/^ {2}gdb .*$/m.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
      const line = /^ {2}(gdb .*)$/m.exec(stderr)?.[1];
      expect(line, stderr).toBeDefined();
      expect(line).toContain("'set architecture i386'");
      const argv = shellWords(line!);
      const g = await toolAsync([argv[0]!, '-batch', ...argv.slice(1), '-ex', 'break kmain', '-ex', 'continue', '-ex', 'bt', '-ex', 'kill'], { cwd: dir, timeoutMs: 120_000 });
      expect(g.stdout + g.stderr).toMatch(/#0\s+kmain \(\) at .*kernel\/kmain\.c/);
      expect(g.stdout + g.stderr).not.toMatch(/packet reply is too long/);
    } finally {
      run.kill('SIGTERM');
    }
  }, 300_000);
});
