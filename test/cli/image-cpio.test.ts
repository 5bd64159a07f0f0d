import { mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln, tempDir, tool } from '../_helpers.js';

describe('kiln image cpio', () => {
  const dir = tempDir();
  const src = join(dir, 'initrd');
  mkdirSync(join(src, 'bin'), { recursive: true });
  mkdirSync(join(src, 'etc'));
  writeFileSync(join(src, 'init'), '#!/bin/sh\nexec /bin/sh\n');
  chmodSync(join(src, 'init'), 0o755);
  writeFileSync(join(src, 'etc/motd'), 'kozo\n');
  symlinkSync('../init', join(src, 'bin/sh'));

  it('writes an archive GNU cpio lists, reproducibly, and lists it as JSON', () => {
    const out = join(dir, 'a.cpio');
    const r = runKiln(['image', 'cpio', out, '--from', src, '--json'], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { ok: boolean; entries: number; size: number; format: string };
    expect(result).toMatchObject({ ok: true, entries: 5, format: 'newc' });
    expect(statSync(out).size).toBe(result.size);
    const t = tool(['cpio', '-itv', '--quiet', '-F', out]);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/^-rwxr-xr-x .* init$/m);
    expect(t.stdout).toMatch(/^lrwxrwxrwx .* bin\/sh -> \.\.\/init$/m);
    const again = join(dir, 'b.cpio');
    expect(runKiln(['image', 'cpio', again, '--from', src], { env: { SOURCE_DATE_EPOCH: '1700000000' } }).status).toBe(
      0,
    );
    expect(readFileSync(out).equals(readFileSync(again))).toBe(true);
    const ls = runKiln(['image', 'cpio', 'ls', out, '--json']);
    expect(ls.status, ls.stderr).toBe(0);
    const listing = JSON.parse(ls.stdout) as {
      format: string;
      entries: Array<{ path: string; kind: string; mtime: number; target?: string }>;
    };
    expect(listing.entries.map((e) => e.path)).toEqual(['bin', 'bin/sh', 'etc', 'etc/motd', 'init']);
    expect(listing.entries.every((e) => e.mtime === 1700000000)).toBe(true);
    const human = runKiln(['image', 'cpio', 'ls', out]);
    expect(human.stdout).toMatch(/bin\/sh -> \.\.\/init/);
  });

  it('writes the 070702 variant and extracts safely', () => {
    const out = join(dir, 'crc.cpio');
    expect(runKiln(['image', 'cpio', out, '--from', src, '--crc', '--epoch', '5']).status).toBe(0);
    expect(readFileSync(out).subarray(0, 6).toString()).toBe('070702');
    const x = join(dir, 'x');
    const r = runKiln(['image', 'cpio', 'extract', out, x, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      extracted: expect.arrayContaining(['init', 'etc/motd', 'bin/sh']),
    });
    expect(readFileSync(join(x, 'etc/motd'), 'utf8')).toBe('kozo\n');
    expect(readlinkSync(join(x, 'bin/sh'))).toBe('../init');
    expect(statSync(join(x, 'init')).mtimeMs).toBe(5000);
  });

  it('refuses an escaping archive and bad input with clear errors', () => {
    const evil = join(dir, 'evil.cpio');
    expect(runKiln(['image', 'cpio', evil, '--from', src, '--block-size', '4']).status).toBe(0);
    const bytes = readFileSync(evil);
    const at = bytes.indexOf('etc/motd');
    bytes.write('../../xx', at, 'latin1');
    writeFileSync(evil, bytes);
    const r = runKiln(['image', 'cpio', 'extract', evil, join(dir, 'y')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*"\.\.\/\.\.\/xx" contains "\.\."; refusing to extract it/m);
    expect(r.stderr).toMatch(/hint: /);
    const notCpio = join(dir, 'not.cpio');
    writeFileSync(notCpio, 'hello world, not an archive at all'.repeat(5));
    const ls = runKiln(['image', 'cpio', 'ls', notCpio]);
    expect(ls.status).toBe(1);
    expect(ls.stderr).toMatch(/error: .*offset 0x0 \(0\): cpio: no cpio header magic/);
    expect(runKiln(['image', 'cpio', join(dir, 'z.cpio')]).stderr).toMatch(/--from DIR is required/);
    const json = runKiln(['image', 'cpio', 'ls', notCpio, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'CPIO_BAD_MAGIC' } });
  });
});
