// `kiln elf ...` through the built CLI: output read back with readelf/objcopy and kiln's reader.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDebugLink, readElf, findSection } from '../../../src/formats/elf/index.js';
import { runKiln, tempDir, tool } from '../../_helpers.js';
import { fixture } from './_fixtures.js';
import { clean } from './_oracle.js';

const dir = tempDir('kiln-elf-cli-');

describe('kiln elf', () => {
  it('info prints the load address, entry segment, PVH entry and multiboot2 header; --json matches the reader', () => {
    const f = fixture('pvh-kernel');
    const r = runKiln(['elf', 'info', f.path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('load address     0x100000');
    expect(r.stdout).toMatch(/entry point\s+0x[0-9a-f]+ in segment \d+ \(LOAD R E\), section \.text/);
    expect(r.stdout).toContain('PVH entry');
    expect(r.stdout).toContain('multiboot2 header at file offset 0x1000');
    expect(r.stdout).toContain('.debug_info');
    const j = runKiln(['elf', 'info', f.path, '--json']);
    expect(j.status, j.stderr).toBe(0);
    const info = JSON.parse(j.stdout);
    const elf = readElf(f.bytes);
    expect(info).toMatchObject({
      ok: true,
      class: 64,
      endian: 'little',
      machine: 'x86_64',
      type: 'EXEC',
      loadAddress: '0x100000',
      entry: `0x${elf.entry.toString(16)}`,
      buildId: elf.buildId,
    });
    expect(info.sections.map((s: { name: string; size: number }) => [s.name, s.size])).toEqual(
      elf.sections.map((s) => [s.name, s.size]),
    );
    expect(info.segments[elf.entrySegment!].sections).toContain('.text');
    // Big-endian too.
    const be = JSON.parse(runKiln(['elf', 'info', fixture('ppc64-exe').path, '--json']).stdout);
    expect([be.endian, be.machine]).toEqual(['big', 'ppc64']);
  });

  it('strip writes a runnable stripped file and a debug file linked by name', () => {
    const f = fixture('x86_64-static');
    const out = join(dir, 'app');
    const dbg = join(dir, 'app.debug');
    const r = runKiln(['elf', 'strip', f.path, '-o', out, '--debug-file', dbg]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('.debug_info');
    expect(statSync(out).mode & 0o111).not.toBe(0);
    expect(tool([out]).stdout).toBe(f.runs!.stdout);
    clean(['readelf', '-a', '--wide', out]);
    expect(readDebugLink(new Uint8Array(readFileSync(out)))?.name).toBe('app.debug');
    expect(clean(['readelf', '--debug-dump=info', dbg])).toContain('DW_TAG_compile_unit');
    // --debug-only keeps symbols; no debug file means no link.
    const out2 = join(dir, 'app2');
    expect(runKiln(['elf', 'strip', f.path, '-o', out2, '--debug-only']).status).toBe(0);
    const e2 = readElf(new Uint8Array(readFileSync(out2)));
    expect(e2.symbols.some((s) => s.name === 'add')).toBe(true);
    expect(findSection(e2, '.gnu_debuglink')).toBeUndefined();
  });

  it('objcopy writes what objcopy -O binary writes and prints the load address', () => {
    const f = fixture('pvh-kernel');
    const out = join(dir, 'kernel.bin');
    const r = runKiln(['elf', 'objcopy', f.path, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('load address 0x100000');
    expect(tool(['objcopy', '-O', 'binary', f.path, join(dir, 'ref.bin')]).status).toBe(0);
    expect(readFileSync(out).equals(readFileSync(join(dir, 'ref.bin')))).toBe(true);
  });

  it('add-section adds, --replace replaces in place', () => {
    const f = fixture('pvh-kernel');
    const data = join(dir, 'manifest.bin');
    writeFileSync(data, 'manifest v1');
    const out = join(dir, 'k.elf');
    expect(
      runKiln(['elf', 'add-section', f.path, '--name', '.kiln.manifest', '--file', data, '--align', '8', '-o', out])
        .status,
    ).toBe(0);
    expect(clean(['readelf', '-S', '--wide', out])).toContain('.kiln.manifest');
    writeFileSync(data, 'manifest v2');
    const out2 = join(dir, 'k2.elf');
    expect(
      runKiln(['elf', 'add-section', out, '--name', '.kiln.manifest', '--file', data, '--replace', '-o', out2]).status,
    ).toBe(0);
    const a = readFileSync(out);
    const b = readFileSync(out2);
    let diff = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
    expect([a.length === b.length, diff]).toEqual([true, 1]);
    // Adding it again without --replace is refused with a hint.
    const again = runKiln(['elf', 'add-section', out, '--name', '.kiln.manifest', '--file', data, '-o', out2]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(again.stderr).toContain('hint:');
  });

  it('build-id reads and sets', () => {
    const f = fixture('aarch64-exe');
    const r = runKiln(['elf', 'build-id', f.path]);
    expect(r.stdout.trim()).toBe(readElf(f.bytes).buildId);
    const out = join(dir, 'a.elf');
    const id = 'aa'.repeat(20);
    expect(runKiln(['elf', 'build-id', f.path, '--set', id, '-o', out]).stdout.trim()).toBe(id);
    expect(clean(['readelf', '-n', '--wide', out])).toContain(`Build ID: ${id}`);
    const bad = runKiln(['elf', 'build-id', f.path, '--set', 'xyz']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--set');
  });

  it('errors name the file and offset and leave no output behind', () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, 'not an elf file at all, just text');
    const r = runKiln(['elf', 'strip', junk, '-o', join(dir, 'never')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error: .*junk\.bin: offset 0x0.*no ELF magic/);
    expect(r.stderr).toContain('hint:');
    expect(existsSync(join(dir, 'never'))).toBe(false);
    const j = runKiln(['elf', 'info', junk, '--json']);
    expect(j.stdout, j.stderr).not.toBe('');
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'ELF_BAD_MAGIC' } });
    expect(runKiln(['elf', 'objcopy', fixture('pvh-kernel').path]).stderr).toContain('-o OUT is required');
  });
});
