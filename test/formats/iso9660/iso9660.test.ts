import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  mkdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
  symlinkSync,
  chmodSync,
  lstatSync,
  readdirSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { tempDir, tool } from '../../_helpers.js';

import { buildTree, treeFromDirectory, type FileTree } from '../../../src/formats/io/tree.js';
import { MemorySink } from '../../../src/formats/io/block-writer.js';
import { FileSource, MemorySource } from '../../../src/formats/io/block-source.js';
import { readU32 } from '../../../src/formats/io/bytes.js';
import { loadContent } from '../../../src/formats/io/content.js';
import {
  planIso,
  writeIso,
  writeIsoFile,
  readIso,
  isoToTree,
  extractIso,
  readIsoFileBytes,
  compareIdentifiers,
  isoIdentifier,
  jolietIdentifier,
  type IsoOptions,
} from '../../../src/formats/iso9660/index.js';
import { identifierSortKey } from '../../../src/formats/iso9660/names.js';

const dir = tempDir('kiln-iso-');

async function isoBytes(tree: FileTree, options: IsoOptions = {}): Promise<Uint8Array> {
  const plan = await planIso(tree, { epoch: 1_700_000_000, ...options });
  const sink = new MemorySink(plan.size);
  await writeIso(sink, plan);
  return sink.bytes;
}

/** Compares trees by path: kind, file bytes, symlink targets, modes, times. */
async function expectSameTree(actual: FileTree, expected: FileTree, epoch: number): Promise<void> {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [path, want] of expected) {
    const got = actual.get(path)!;
    expect(got.kind, path).toBe(want.kind);
    expect(got.mtime, path).toBe(want.mtime ?? epoch);
    if (want.mode !== undefined) expect(got.mode, path).toBe(want.mode);
    if (want.kind === 'file' && got.kind === 'file')
      expect(
        Buffer.from(await loadContent(got.content)).equals(Buffer.from(await loadContent(want.content))),
        path,
      ).toBe(true);
    if (want.kind === 'symlink' && got.kind === 'symlink') expect(got.target, path).toBe(want.target);
  }
}

const sampleSpec = {
  README: 'hello\n',
  'boot/grub/grub.cfg': 'set timeout=0\n',
  'a/b/c/d/e/f/g/h/i/j/deep.txt': 'deep',
  'Mixed Case & spaces, ünïcödé — and a name longer than sixty-four characters, for Joliet.txt': 'long',
  'same.txt': '1',
  'SAME.TXT': '2',
  'same.TXT': '3',
  'link-rel': { kind: 'symlink' as const, target: '../boot/grub/grub.cfg' },
  'link-abs': { kind: 'symlink' as const, target: '/etc/./passwd' },
  'link-long': {
    kind: 'symlink' as const,
    target: Array.from({ length: 40 }, (_, i) => `component-${i}-${'x'.repeat(60)}`).join('/'),
  },
  'dev/null': { kind: 'char' as const, major: 1, minor: 3, mode: 0o666 },
  'dev/sda': { kind: 'block' as const, major: 8, minor: 0, mode: 0o660 },
  'dev/big': { kind: 'char' as const, major: 4095, minor: 1048575, mode: 0o600 },
  fifo: { kind: 'fifo' as const, mode: 0o644 },
  empty: new Uint8Array(0),
  'bin/tool': {
    kind: 'file' as const,
    content: new Uint8Array(5000).fill(0x42),
    mode: 0o755,
    uid: 1000,
    gid: 100,
    mtime: 946684800,
  },
  [`${'n'.repeat(255)}`]: 'max name',
  'zeros.bin': new Uint8Array(3 * 4096),
};

describe('ISO9660 writer and reader', () => {
  it('round-trips a tree with Rock Ridge names, modes, times, symlinks (CE areas), devices', async () => {
    const tree = buildTree(sampleSpec);
    const bytes = await isoBytes(tree);
    const source = new MemorySource(bytes);
    const iso = await readIso(source);
    expect(iso.namespace).toBe('rockridge');
    expect(iso.rockRidgeId).toBe('IEEE_P1282');
    expect(iso.joliet).toBe(true);
    expect(iso.jolietLevel).toBe(3);
    expect(iso.volumeSize).toBe(bytes.length);
    const back = await isoToTree(source, iso);
    await expectSameTree(back, tree, 1_700_000_000);
    const devices = iso.entries.filter((e) => e.kind === 'char' || e.kind === 'block').map((e) => [e.path, e.device]);
    expect(devices).toEqual(
      expect.arrayContaining([
        ['dev/null', { major: 1, minor: 3 }],
        ['dev/sda', { major: 8, minor: 0 }],
        ['dev/big', { major: 4095, minor: 1048575 }],
      ]),
    );
    expect(iso.entries.find((e) => e.path === 'bin/tool')).toMatchObject({
      uid: 1000,
      gid: 100,
      mode: 0o755,
      mtime: 946684800,
    });
  });

  it('Joliet and plain ISO9660 namespaces hold every file and directory, with mangled unique names', async () => {
    const tree = buildTree(sampleSpec);
    const source = new MemorySource(await isoBytes(tree));
    const regular = [...tree.values()].filter((e) => e.kind === 'file' || e.kind === 'dir').length;
    const joliet = await readIso(source, { namespace: 'joliet' });
    expect(joliet.entries.length).toBe(regular);
    expect(joliet.entries.map((e) => e.path)).toContain('boot/grub/grub.cfg');
    const long = joliet.entries.find((e) => e.path.startsWith('Mixed Case'))!;
    expect(long.path.length).toBe(64);
    expect(long.path.endsWith('.txt')).toBe(true);
    const plain = await readIso(source, { namespace: 'iso9660' });
    const names = plain.entries.filter((e) => !e.path.includes('/')).map((e) => e.path);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[A-Z0-9_]+(\.[A-Z0-9_]*)?$/);
    expect(names.filter((n) => n.startsWith('SAME'))).toHaveLength(3);
    // Two long names equal in their first 64 characters stay distinct in Joliet.
    const twins = await readIso(
      new MemorySource(
        await isoBytes(buildTree({ [`${'x'.repeat(70)}-a.txt`]: 'a', [`${'x'.repeat(70)}-b.txt`]: 'b' })),
      ),
      { namespace: 'joliet' },
    );
    const twinNames = twins.entries.map((e) => e.path);
    expect(new Set(twinNames).size).toBe(2);
    for (const n of twinNames) expect(n.length).toBeLessThanOrEqual(64);
    expect(twinNames.some((n) => n.endsWith('~1.txt'))).toBe(true);
    // Content reached through all three namespaces is the same.
    const rr = await readIso(source);
    const a = rr.entries.find((e) => e.path === 'boot/grub/grub.cfg')!;
    const b = plain.entries.find((e) => e.path === 'BOOT/GRUB/GRUB.CFG')!;
    expect(await readIsoFileBytes(source, b)).toEqual(await readIsoFileBytes(source, a));
  });

  it('orders directory records as ECMA-119 9.3 says', async () => {
    const names = ['b', 'a.b', 'a_', 'A.Z', 'a0.b', 'ab', 'a', 'z.1', 'z', 'Z.0', 'B_'];
    const bytes = await isoBytes(buildTree(Object.fromEntries(names.map((n) => [`d/${n}`, n]))), {
      rockRidge: false,
      joliet: false,
    });
    const iso = await readIso(new MemorySource(bytes), { namespace: 'iso9660' });
    // Read the raw identifiers of directory d in on-disk order.
    const d = iso.entries.find((e) => e.path === 'D')!;
    expect(d.kind).toBe('dir');
    const pvdRoot = readU32(bytes, 16 * 2048 + 156 + 2, true);
    const rootRec = bytes.subarray(pvdRoot * 2048, pvdRoot * 2048 + 2048);
    let at = rootRec[0]! + rootRec[rootRec[0]!]!; // skip . and ..
    const dLba = readU32(rootRec, at + 2, true);
    const rec = bytes.subarray(dLba * 2048, dLba * 2048 + 2048);
    const ids: string[] = [];
    at = 0;
    while (rec[at]) {
      const len = rec[at]!;
      const id = Buffer.from(rec.subarray(at + 33, at + 33 + rec[at + 32]!)).toString('latin1');
      if (id !== '\0' && id !== '\x01') ids.push(id);
      at += len;
    }
    expect(ids).toHaveLength(names.length);
    expect([...ids].sort(compareIdentifiers)).toEqual(ids);
    expect(ids[0]).toBe('A.;1');
  });

  it('orders by precomputed sort keys exactly as compareIdentifiers does, for the identifiers the writer makes (fast-check)', () => {
    // Names with spaces, dots, semicolons and non-Latin characters, made into ISO9660 (every level) and Joliet identifiers.
    const name = fc.string({
      unit: fc.constantFrom('a', 'B', 'z', '0', '_', '.', ' ', ';', '1', 'é', 'Ω', '😀', '\u00a0'),
      maxLength: 12,
    });
    const identifier = fc.oneof(
      fc
        .tuple(name, fc.boolean(), fc.constantFrom<1 | 2 | 3>(1, 2, 3))
        .map(([n, isDir, level]) => isoIdentifier(n, isDir, level)),
      name.map((n) => jolietIdentifier(n)),
      // Other version numbers than the writer's 1, up to ECMA-119's 32767.
      fc
        .tuple(name, fc.integer({ min: 0, max: 32767 }))
        .map(([n, version]) => isoIdentifier(n, false, 3).replace(/;1$/, `;${version}`)),
    );
    fc.assert(
      fc.property(fc.array(identifier, { maxLength: 30 }), (ids) => {
        const byCompare = [...ids].sort(compareIdentifiers);
        const byKey = [...ids].sort((a, b) => {
          const x = identifierSortKey(a);
          const y = identifierSortKey(b);
          return x < y ? -1 : x > y ? 1 : 0;
        });
        expect(byKey).toEqual(byCompare);
        for (const a of ids)
          for (const b of ids)
            expect(Math.sign(compareIdentifiers(a, b))).toBe(
              identifierSortKey(a) < identifierSortKey(b) ? -1 : identifierSortKey(a) > identifierSortKey(b) ? 1 : 0,
            );
      }),
      { numRuns: 300 },
    );
  });

  it('writes the M path table as the big-endian twin of the L path table (ECMA-119 9.4)', async () => {
    const bytes = await isoBytes(buildTree(sampleSpec));
    const pvd = 16 * 2048;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = view.getUint32(pvd + 132, true);
    expect(view.getUint32(pvd + 136, false)).toBe(size);
    const parse = (lba: number, le: boolean) => {
      const out: Array<[string, number, number]> = [];
      for (let at = lba * 2048; at < lba * 2048 + size;) {
        const len = bytes[at]!;
        out.push([
          Buffer.from(bytes.subarray(at + 8, at + 8 + len)).toString('latin1'),
          view.getUint32(at + 2, le),
          view.getUint16(at + 6, le),
        ]);
        at += 8 + len + (len & 1);
      }
      return out;
    };
    const l = parse(view.getUint32(pvd + 140, true), true);
    const m = parse(view.getUint32(pvd + 148, false), false);
    expect(m).toEqual(l);
    expect(l[0]).toEqual(['\0', view.getUint32(pvd + 156 + 2, true), 1]);
    // Ordered by level, then parent number, then identifier.
    const depth = (i: number): number => (i === 0 ? 0 : 1 + depth(l[i]![2] - 1));
    for (let i = 2; i < l.length; i++) {
      const a = l[i - 1]!;
      const b = l[i]!;
      expect(
        depth(i - 1) < depth(i) ||
          (depth(i - 1) === depth(i) && (a[2] < b[2] || (a[2] === b[2] && compareIdentifiers(a[0], b[0]) < 0))),
      ).toBe(true);
    }
  });

  it('follows the interchange levels: 8.3 names at level 1, 30 characters at level 2', async () => {
    expect(isoIdentifier('kernel-image.elf64', false, 1)).toBe('KERNEL_I.ELF;1');
    expect(isoIdentifier('a-very-long-directory-name-here', true, 1)).toBe('A_VERY_L');
    expect(isoIdentifier('a-very-long-file-name-for-level-two.txt', false, 2)).toBe(
      'A_VERY_LONG_FILE_NAME_FOR_L.TXT;1',
    );
    const tree = buildTree({ 'kernel-image.elf64': 'x', 'kernel-image.elf32': 'y', 'some-directory/x': 'z' });
    const iso = await readIso(new MemorySource(await isoBytes(tree, { level: 1 })), { namespace: 'iso9660' });
    expect(iso.entries.map((e) => e.path).sort()).toEqual(['KERNEL_1.ELF', 'KERNEL_I.ELF', 'SOME_DIR', 'SOME_DIR/X']);
  });

  it('names the problem for a missing boot image and bad volume ids', async () => {
    const tree = buildTree({ a: 'x' });
    await expect(
      planIso(tree, { boot: { entries: [{ platform: 'bios', image: 'boot/missing.img' }] } }),
    ).rejects.toMatchObject({ code: 'ISO_BOOT_IMAGE_MISSING' });
    await expect(planIso(tree, { volumeId: 'no spaces allowed' })).rejects.toMatchObject({
      code: 'ISO_BAD_IDENTIFIER',
    });
    await expect(planIso(tree, { volumeId: 'X'.repeat(33) })).rejects.toMatchObject({ code: 'ISO_BAD_IDENTIFIER' });
  });

  it('is reproducible: the same tree and epoch give bit-identical images; another epoch does not', async () => {
    const tree = buildTree(sampleSpec);
    const a = await isoBytes(tree);
    const b = await isoBytes(buildTree(sampleSpec));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const c = await isoBytes(tree, { epoch: 1_700_000_001 });
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
    const plan = await planIso(tree, { epoch: 1_700_000_000 });
    expect(plan.volumeId).toMatch(/^KILN_[0-9A-F]{8}$/);
    expect(plan.uuid).toBe('2023-11-14-22-13-20-00');
  });

  it('writes the same bytes whatever the emission buffer size (directories, continuation areas, files and boot images across flushes)', async () => {
    // Host files (read straight into the buffer) and in-memory ones, larger than the small buffers.
    const big = join(dir, 'stream-big.bin');
    writeFileSync(
      big,
      new Uint8Array(70_000).map((_, i) => i * 7),
    );
    const spec: Record<string, unknown> = {
      ...sampleSpec,
      'boot/boot.img': new Uint8Array(6000).fill(0x90),
      'big.bin': { kind: 'file', path: big, size: 70_000 },
      'big2.bin': new Uint8Array(9000).fill(3),
    };
    for (let i = 0; i < 300; i++) spec[`many/file-with-a-rather-long-name-${i}.txt`] = `${i}`;
    const tree = buildTree(spec as Parameters<typeof buildTree>[0]);
    const options: IsoOptions = {
      epoch: 1_700_000_000,
      hybrid: true,
      boot: {
        entries: [
          { platform: 'bios', image: 'boot/boot.img', bootInfoTable: true },
          { platform: 'efi', image: new Uint8Array(4096).fill(7) },
        ],
      },
    };
    const plan = await planIso(tree, options);
    const write = async (bufferBytes?: number) => {
      const sink = new MemorySink(plan.size);
      await writeIso(sink, plan, bufferBytes === undefined ? {} : { bufferBytes });
      return Buffer.from(sink.bytes);
    };
    const reference = await write();
    const source = new MemorySource(reference);
    const entry = (await readIso(source)).entries.find((e) => e.path === 'big.bin')!;
    expect(Buffer.from(await readIsoFileBytes(source, entry)).equals(readFileSync(big))).toBe(true);
    expect(plan.internal.dirs.some((d) => d.isoSize > 2048)).toBe(true); // a directory of several sectors
    for (const bufferBytes of [2048, 6144, 10_001, 65_536])
      expect((await write(bufferBytes)).equals(reference), `buffer ${bufferBytes}`).toBe(true);
    await expect(writeIso(new MemorySink(plan.size), plan, { bufferBytes: 100 })).rejects.toThrow(RangeError);
  });

  it('round-trips random trees (fast-check)', async () => {
    const name = fc
      .stringMatching(/^[a-zA-Z0-9 ._~+-]{1,40}$|^[\u00e0-\u00ff\u4e00-\u4e10]{1,10}$/)
      .filter((n) => n !== '.' && n !== '..');
    type Node =
      | { kind: 'file'; data: Uint8Array; mode: number; mtime: number }
      | { kind: 'symlink'; target: string }
      | { kind: 'dir'; children: Record<string, Node> };
    const leaf = fc.oneof(
      fc.record({
        kind: fc.constant('file' as const),
        data: fc.uint8Array({ maxLength: 5000 }),
        mode: fc.integer({ min: 0, max: 0o7777 }),
        mtime: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      }),
      fc.record({
        kind: fc.constant('symlink' as const),
        target: fc.stringMatching(/^\/?([a-z.]{1,30}\/){0,5}[a-z]{1,20}$/),
      }),
    );
    const node: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ kind: fc.constant('dir' as const), children: fc.dictionary(name, tie('node'), { maxKeys: 6 }) }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(name, node, { minKeys: 1, maxKeys: 8 }),
        fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>,
        async (root, level) => {
          const spec: Array<[string, never]> = [];
          const walk = (children: Record<string, Node>, prefix: string) => {
            for (const [n, v] of Object.entries(children)) {
              const path = prefix + n;
              if (v.kind === 'dir') {
                spec.push([path, { kind: 'dir', mode: 0o755 } as never]);
                walk(v.children, `${path}/`);
              } else if (v.kind === 'file')
                spec.push([path, { kind: 'file', content: v.data, mode: v.mode, mtime: v.mtime } as never]);
              else spec.push([path, { kind: 'symlink', target: v.target } as never]);
            }
          };
          walk(root, '');
          const tree = buildTree(spec);
          const source = new MemorySource(await isoBytes(tree, { level }));
          const iso = await readIso(source);
          await expectSameTree(await isoToTree(source, iso), tree, 1_700_000_000);
          const joliet = await readIso(source, { namespace: 'joliet' });
          expect(joliet.entries.length).toBe([...tree.values()].filter((e) => e.kind !== 'symlink').length);
          const plain = await readIso(source, { namespace: 'iso9660' });
          expect(plain.entries.length).toBe(tree.size);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});

describe('ISO9660 against xorriso and isoinfo', () => {
  function makeHostTree(root: string): void {
    mkdirSync(join(root, 'boot/grub'), { recursive: true });
    mkdirSync(join(root, 'usr/share/doc/kiln'), { recursive: true });
    mkdirSync(join(root, 'empty-dir'));
    writeFileSync(join(root, 'boot/grub/grub.cfg'), 'set timeout=0\n');
    writeFileSync(join(root, 'boot/kernel.elf'), Buffer.alloc(300_000, 0x7f));
    writeFileSync(join(root, 'README.md'), '# kiln\n');
    writeFileSync(join(root, 'usr/share/doc/kiln/Long file name with spaces and ünïcödé.txt'), 'text');
    for (let i = 0; i < 150; i++)
      writeFileSync(
        join(root, 'usr/share/doc/kiln', `file-${String(i).padStart(3, '0')}.dat`),
        Buffer.alloc(i * 97, i),
      );
    writeFileSync(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(root, 'run.sh'), 0o755);
    symlinkSync('boot/kernel.elf', join(root, 'vmlinuz'));
    symlinkSync('/absolute/target', join(root, 'abs-link'));
    const t = new Date(1_600_000_000 * 1000);
    utimesSync(join(root, 'README.md'), t, t);
  }

  it('xorriso lists the same tree, extracts files equal to the inputs; isoinfo sees Joliet, Rock Ridge and the path table', async () => {
    const src = join(dir, 'host-tree');
    makeHostTree(src);
    const out = join(dir, 'host.iso');
    const tree = await treeFromDirectory(src);
    await writeIsoFile(out, tree, { epoch: 1_700_000_000, volumeId: 'KILN_TEST' });

    const find = tool(['xorriso', '-indev', out, '-find', '/']);
    expect(find.status).toBe(0);
    const listed = find.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/^'\/?|'$/g, ''))
      .filter((l) => l !== '')
      .sort();
    expect(listed).toEqual([...tree.keys()].sort());
    expect(find.stderr).not.toMatch(/FAILURE|SORRY|WARNING/);

    const extracted = join(dir, 'xorriso-out');
    const x = tool(['xorriso', '-osirrox', 'on', '-indev', out, '-extract', '/', extracted]);
    expect(x.status, x.stderr).toBe(0);
    const compare = (rel: string) => {
      for (const name of readdirSync(join(src, rel))) {
        const a = join(src, rel, name);
        const b = join(extracted, rel, name);
        const sa = lstatSync(a);
        const sb = lstatSync(b);
        if (sa.isSymbolicLink()) expect(readlinkSync(b)).toBe(readlinkSync(a));
        else if (sa.isDirectory()) compare(join(rel, name));
        else {
          expect(readFileSync(b).equals(readFileSync(a)), b).toBe(true);
          expect(sb.mode & 0o777).toBe(sa.mode & 0o777);
        }
      }
    };
    compare('');
    // treeFromDirectory leaves times unset on purpose (reproducible images): they are the epoch.
    expect(Math.floor(lstatSync(join(extracted, 'README.md')).mtimeMs / 1000)).toBe(1_700_000_000);

    const info = tool(['isoinfo', '-d', '-i', out]);
    expect(info.stdout).toMatch(/Volume id: KILN_TEST/);
    expect(info.stdout).toMatch(/Joliet with UCS level 3 found/);
    expect(info.stdout).toMatch(/Rock Ridge signatures version 1 found/);
    expect(info.stdout).toMatch(/Logical block size is: 2048/);
    const joliet = tool(['isoinfo', '-J', '-f', '-i', out]);
    expect(joliet.stdout).toMatch(/\/usr\/share\/doc\/kiln\/Long file name with spaces and .+\.txt/); // isoinfo prints Latin-1
    const rr = tool(['isoinfo', '-R', '-l', '-i', out]);
    expect(rr.stdout).toMatch(/-rwxr-xr-x .* run\.sh/);
    expect(rr.stdout).toMatch(/lrwxrwxrwx .* vmlinuz -> boot\/kernel\.elf/);
    const pt = tool(['isoinfo', '-p', '-i', out]);
    const ptNames = pt.stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[3])
      .filter(Boolean);
    expect(ptNames).toEqual(
      ['BOOT', 'EMPTY_DI', 'USR', 'GRUB', 'SHARE', 'DOC', 'KILN'].map((n) => (n === 'EMPTY_DI' ? 'EMPTY_DIR' : n)),
    );
  });

  it('kiln extracts safely what it wrote (and refuses to overwrite)', async () => {
    const src = join(dir, 'host-tree-2');
    makeHostTree(src);
    const out = join(dir, 'host2.iso');
    await writeIsoFile(out, await treeFromDirectory(src));
    const source = await FileSource.open(out);
    try {
      const iso = await readIso(source);
      const dest = join(dir, 'kiln-out');
      const r = await extractIso(source, iso, dest);
      expect(r.symlinks).toBe(2);
      expect(readFileSync(join(dest, 'boot/kernel.elf')).equals(readFileSync(join(src, 'boot/kernel.elf')))).toBe(true);
      expect(readlinkSync(join(dest, 'abs-link'))).toBe('/absolute/target');
      await expect(extractIso(source, iso, dest)).rejects.toThrow(/EEXIST|exists/);
    } finally {
      await source.close();
    }
  });

  it('reads an image made by xorriso -as mkisofs -R -J', async () => {
    const src = join(dir, 'host-tree-3');
    makeHostTree(src);
    const out = join(dir, 'xorriso.iso');
    const r = tool(['xorriso', '-as', 'mkisofs', '-quiet', '-R', '-J', '-o', out, src]);
    expect(r.status, r.stderr).toBe(0);
    const source = await FileSource.open(out);
    try {
      const iso = await readIso(source);
      expect(iso.namespace).toBe('rockridge');
      const back = await isoToTree(source, iso);
      const host = await treeFromDirectory(src);
      expect([...back.keys()].sort()).toEqual([...host.keys()].sort());
      const kernel = back.get('boot/kernel.elf')!;
      expect(
        kernel.kind === 'file' &&
          Buffer.from(await loadContent(kernel.content)).equals(readFileSync(join(src, 'boot/kernel.elf'))),
      ).toBe(true);
      const joliet = await readIso(source, { namespace: 'joliet' });
      expect(joliet.entries.map((e) => e.path)).toContain(
        'usr/share/doc/kiln/Long file name with spaces and ünïcödé.txt',
      );
    } finally {
      await source.close();
    }
  });
});

describe('random trees against xorriso', () => {
  it('xorriso lists exactly the tree kiln wrote, for random names and levels (fast-check)', async () => {
    const name = fc
      .stringMatching(/^[a-zA-Z0-9 ._~+-]{1,60}$|^[\u00e0-\u00ff\u4e00-\u4e10]{1,12}$/)
      .filter((n) => n !== '.' && n !== '..');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.array(name, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')),
          { minLength: 1, maxLength: 25 },
        ),
        fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>,
        async (paths, level) => {
          let tree;
          try {
            tree = buildTree(paths.map((p, i) => [p, `file ${i}`] as [string, string]));
          } catch {
            return; // a path is both a file and a parent directory: not a tree
          }
          const out = join(dir, `random-${run++}.iso`);
          await writeIsoFile(out, tree, { level });
          const find = tool(['xorriso', '-indev', out, '-find', '/']);
          expect(find.status).toBe(0);
          const listed = find.stdout
            .trim()
            .split('\n')
            .map((l) => l.replace(/^'\/?|'$/g, '').replace(/'\\''/g, "'"))
            .filter((l) => l !== '')
            .sort();
          expect(listed).toEqual([...tree.keys()].sort());
        },
      ),
      { numRuns: 40 },
    );
    expect(run).toBeGreaterThan(30); // most random path sets are trees
  }, 60_000);
});

describe('ISO9660 against libarchive (bsdtar)', () => {
  it('bsdtar lists and extracts the same tree (Rock Ridge names, symlinks) and reads the Joliet-only image too', async () => {
    const tree = buildTree({
      'boot/grub/grub.cfg': 'set timeout=0\n',
      'a/b/c/d/e/f/g/h/i/j/deep.txt': 'deep',
      'Mixed Case name ünïcödé.txt': 'u',
      [`${'n'.repeat(200)}.bin`]: new Uint8Array(70_000).fill(3),
      link: { kind: 'symlink', target: 'boot/grub/grub.cfg' },
    });
    const out = join(dir, 'bsdtar.iso');
    await writeIsoFile(out, tree, { epoch: 1_700_000_000 });
    const list = tool(['bsdtar', '-tf', out]);
    expect(list.status, list.stderr).toBe(0);
    const listed = list.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/\/$/, ''))
      .filter((l) => l !== '.')
      .sort();
    expect(listed).toEqual([...tree.keys()].sort());
    const x = join(dir, 'bsdtar-out');
    mkdirSync(x);
    const r = tool(['bsdtar', '-xf', out, '-C', x]);
    expect(r.status, r.stderr).toBe(0);
    for (const [path, e] of tree) {
      if (e.kind === 'file')
        expect(readFileSync(join(x, path)).equals(Buffer.from(await loadContent(e.content))), path).toBe(true);
      if (e.kind === 'symlink') expect(readlinkSync(join(x, path))).toBe(e.target);
    }
    const jolietOnly = join(dir, 'joliet-only.iso');
    await writeIsoFile(jolietOnly, tree, { rockRidge: false });
    const j = tool(['bsdtar', '-tf', jolietOnly]);
    expect(j.stdout).toContain('Mixed Case name ünïcödé.txt');
    expect(j.stdout).toContain('a/b/c/d/e/f/g/h/i/j/deep.txt');
  });
});
