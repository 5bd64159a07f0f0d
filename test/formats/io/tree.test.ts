import { describe, expect, it } from 'vitest';
import { buildTree, childrenOf, sortedPaths } from '../../../src/formats/io/tree.js';
import { KilnError } from '../../../src/errors.js';

describe('buildTree', () => {
  it('normalizes paths and adds parent directories', () => {
    const tree = buildTree({ '/EFI/BOOT/BOOTX64.EFI': new Uint8Array([1, 2]), 'boot//cmdline': 'quiet' });
    expect(sortedPaths(tree)).toEqual(['EFI', 'EFI/BOOT', 'EFI/BOOT/BOOTX64.EFI', 'boot', 'boot/cmdline']);
    expect(tree.get('EFI')?.kind).toBe('dir');
    expect(childrenOf(tree, '')).toEqual(['EFI', 'boot']);
  });
  it('refuses .. and duplicates', () => {
    expect(() => buildTree({ '../etc/passwd': 'x' })).toThrow(KilnError);
    expect(() => buildTree({ '/a': 'x', 'a/': 'y' })).toThrow(/given twice/);
    expect(() => buildTree({ a: 'x', 'a/b': 'y' })).toThrow(/needs it to be a directory/);
  });
});

describe('treeFromDirectorySync and sortedPaths', () => {
  it('reads a folder in parent-first, sibling-sorted order, the order sortedPaths gives any tree', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { treeFromDirectorySync } = await import('../../../src/formats/io/tree.js');
    const root = mkdtempSync(join(tmpdir(), 'kiln-tree-'));
    try {
      for (const d of ['b', 'a/z', 'a.b', 'A']) mkdirSync(join(root, d), { recursive: true });
      for (const f of ['a/z/f', 'a/y', 'a.b/c', 'b/x', 'top', 'A/é']) writeFileSync(join(root, f), f);
      symlinkSync('top', join(root, 'link'));
      const tree = treeFromDirectorySync(root);
      const expected = ['A', 'A/é', 'a', 'a/y', 'a/z', 'a/z/f', 'a.b', 'a.b/c', 'b', 'b/x', 'link', 'top'];
      expect([...tree.keys()]).toEqual(expected);
      expect(sortedPaths(tree)).toEqual(expected);
      expect(tree.get('link')).toMatchObject({ kind: 'symlink', target: 'top' });
      expect(tree.get('a/z/f')).toMatchObject({ kind: 'file', content: { kind: 'file', size: 5 } });
      // The same entries inserted in another order sort to the same list.
      const shuffled = new Map([...tree].reverse());
      expect(sortedPaths(shuffled)).toEqual(expected);
      expect(
        sortedPaths(
          buildTree(Object.fromEntries([...shuffled].filter(([, e]) => e.kind === 'file').map(([p]) => [p, 'x']))),
        ),
      ).toEqual(expected.filter((p) => p !== 'link'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
