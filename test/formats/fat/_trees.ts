// Random trees for FAT property tests: long, unicode and colliding names, sizes from 0 to ~70 KB.
import fc from 'fast-check';
import { buildTree, type FileTree } from '../../../src/formats/io/tree.js';

/** Deterministic bytes (with zero runs, to exercise sparse writing). */
export function bytesFor(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (i >> 12) % 3 === 2 ? 0 : x & 0xff;
  }
  return out;
}

const namePool = [
  'readme.txt',
  'README.md',
  'Makefile',
  'a',
  'B',
  'kernel.elf',
  'BOOTX64.EFI',
  'grub.cfg',
  'LONGFI~1.TXT',
  'Long File Name One.txt',
  'Long File Name Two.txt',
  'Long File Name Three.txt',
  'long file name four.TXT',
  'ÜNICODE ☃.md',
  'emoji 😀 name.bin',
  '日本語のファイル名.txt',
  '.hidden',
  'x.tar.gz',
  'with space',
  'plus+sign=ok[1]',
  'Mixed.Case',
  'UPPER.TXT',
  'lower.txt',
  'MiXeD',
  'a'.repeat(200),
  'name.with.many.dots.ext',
  'trailing~9',
  'ext.LONGEXT',
];

export const nameArb = fc.oneof(
  fc.constantFrom(...namePool),
  fc
    .string({ unit: fc.constantFrom(...'abcXYZ019 ._-~+é☃'), minLength: 1, maxLength: 40 })
    .filter((n) => !/[. ]$/.test(n) && n !== '.' && n !== '..'),
);

export interface TreeCase {
  tree: FileTree;
  files: Map<string, Uint8Array>;
}

/** A random tree: up to `maxFiles` files in up to 3 levels of directories, names unique per directory ignoring case. */
export function treeArb(maxFiles = 25, maxSize = 70_000): fc.Arbitrary<TreeCase> {
  return fc
    .array(
      fc.record({
        dirs: fc.array(nameArb, { maxLength: 2 }),
        name: nameArb,
        size: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: maxSize })),
        isDir: fc.boolean(),
      }),
      { maxLength: maxFiles },
    )
    .map((items) => {
      const keys = new Map<string, 'file' | 'dir'>();
      const files = new Map<string, Uint8Array>();
      const spec: Record<string, Uint8Array | { kind: 'dir' }> = {};
      items.forEach((item, i) => {
        const parts = [...item.dirs, item.name];
        // every prefix must be (or become) a directory; the leaf must be new
        for (let k = 0; k < parts.length; k++) {
          const key = parts
            .slice(0, k + 1)
            .join('/')
            .toUpperCase();
          const kind = keys.get(key);
          if (k < parts.length - 1 ? kind === 'file' : kind !== undefined) return;
        }
        for (let k = 0; k < parts.length - 1; k++)
          keys.set(
            parts
              .slice(0, k + 1)
              .join('/')
              .toUpperCase(),
            'dir',
          );
        const path = parts.join('/');
        if (item.isDir && item.size % 3 === 0) {
          keys.set(path.toUpperCase(), 'dir');
          spec[path] = { kind: 'dir' };
        } else {
          keys.set(path.toUpperCase(), 'file');
          const data = bytesFor(item.size, i + 1);
          files.set(path, data);
          spec[path] = data;
        }
      });
      // Directories implied by files must use the spelling of their first use.
      const canonical = new Map<string, string>();
      const fix = (path: string): string =>
        path
          .split('/')
          .map((_, k, parts) => {
            const prefix = parts.slice(0, k + 1).join('/');
            const key = prefix.toUpperCase();
            if (!canonical.has(key)) canonical.set(key, prefix);
            return canonical.get(key)!.split('/')[k]!;
          })
          .join('/');
      const fixedSpec: Record<string, Uint8Array | { kind: 'dir' }> = {};
      const fixedFiles = new Map<string, Uint8Array>();
      for (const [p, v] of Object.entries(spec)) fixedSpec[fix(p)] = v;
      for (const [p, v] of files) fixedFiles.set(fix(p), v);
      return { tree: buildTree(fixedSpec), files: fixedFiles };
    });
}
