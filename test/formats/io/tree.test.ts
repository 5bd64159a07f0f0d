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
