// Short-name generation, long-name validation and LFN checksums (fatgen103 "FAT Long Directory
// Entries", "Basis-Name Generation", "Numeric-Tail Generation").
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { assignShortNames, basisName, checkLongName, exactShortName, shortNameChecksum, writeLongEntries, LONG_CHAR_OFFSETS } from '../../../src/formats/fat/_names.js';
import { KilnError } from '../../../src/errors.js';

describe('short names', () => {
  test('8.3 names keep their name; all-lower-case parts set the NT case bits, no long entries', () => {
    expect(exactShortName('README.TXT')).toEqual({ raw: 'README  TXT', caseBits: 0, needsLong: false });
    expect(exactShortName('readme.txt')).toEqual({ raw: 'README  TXT', caseBits: 0x18, needsLong: false });
    expect(exactShortName('README.txt')).toEqual({ raw: 'README  TXT', caseBits: 0x10, needsLong: false });
    expect(exactShortName('boot')).toEqual({ raw: 'BOOT       ', caseBits: 0x08, needsLong: false });
    expect(exactShortName('Readme.txt')).toEqual({ raw: 'README  TXT', caseBits: 0, needsLong: true });
    expect(exactShortName('1234')).toEqual({ raw: '1234       ', caseBits: 0, needsLong: false });
  });
  test('names that are not 8.3 get no exact short name', () => {
    for (const n of ['toolongname.txt', 'a.b.c', 'x.long', '.hidden', 'has space', 'plus+.txt', 'é.txt', 'a.', 'straße']) expect(exactShortName(n)).toBeUndefined();
  });
  test('basis names: upper case, illegal characters to _, spaces and leading dots dropped, 8+3', () => {
    expect(basisName('A Long Name With Spaces.txt')).toEqual({ base: 'ALONGNAM', ext: 'TXT' });
    expect(basisName('.bashrc')).toEqual({ base: 'BASHRC', ext: '' });
    expect(basisName('ÜNICODE ☃.md')).toEqual({ base: '_NICODE_', ext: 'MD' });
    expect(basisName('a.b.c.longext')).toEqual({ base: 'ABC', ext: 'LON' });
    expect(basisName('x+y=z[1].tar.gz')).toEqual({ base: 'X_Y_Z_1_', ext: 'GZ' });
  });
  test('numeric tails count up without collisions, exact 8.3 names are never displaced', () => {
    const names = ['Long File Name One.txt', 'Long File Name Two.txt', 'LONGFI~1.TXT', 'Long File Name Three.txt'];
    const shorts = assignShortNames(names, 'd').map((s) => s.raw);
    expect(shorts).toEqual(['LONGFI~2TXT', 'LONGFI~3TXT', 'LONGFI~1TXT', 'LONGFI~4TXT']);
  });
  test('tails past ~9 shorten the base further', () => {
    const names = Array.from({ length: 12 }, (_, i) => `verylongname-${i}.dat`);
    const shorts = assignShortNames(names, '').map((s) => s.raw);
    expect(shorts[0]).toBe('VERYLO~1DAT');
    expect(shorts[9]).toBe('VERYL~10DAT');
    expect(new Set(shorts).size).toBe(12);
  });
  test('names equal apart from case are refused (FAT compares case-insensitively)', () => {
    expect(() => assignShortNames(['README', 'readme'], 'docs')).toThrow(KilnError);
    expect(() => assignShortNames(['Straße', 'STRASSE'], '')).toThrow(/differ only in case/);
  });
  test('property: short names in a directory are unique, valid and 11 bytes', () => {
    const nameArb = fc.string({ unit: fc.constantFrom(...'abcAB~.-_ +1é☃'), minLength: 1, maxLength: 20 })
      .filter((n) => !n.endsWith('.') && !n.endsWith(' ') && n !== '..' && n !== '.');
    fc.assert(fc.property(fc.uniqueArray(nameArb, { maxLength: 60, selector: (n) => n.toUpperCase() }), (names) => {
      const shorts = assignShortNames(names, 'd');
      expect(new Set(shorts.map((s) => s.raw)).size).toBe(names.length);
      for (const s of shorts) {
        expect(s.raw).toMatch(/^[A-Z0-9$%'\-_@~`!(){}^#&]{1,8} *[A-Z0-9$%'\-_@~`!(){}^#&]{0,3} *$/);
        expect(s.raw.length).toBe(11);
      }
    }), { numRuns: 300 });
  });
});

describe('long names', () => {
  test('illegal names are refused with the path and a hint', () => {
    for (const bad of ['a:b', 'what?', 'x*', 'pipe|', 'tab\there', 'trailing.', 'trailing ', 'a'.repeat(256), 'back\\slash', 'q"uote', 'lt<', '\ud800x']) {
      let error: unknown;
      try { checkLongName(bad, `dir/${bad}`); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(KilnError);
      expect((error as KilnError).code).toBe('FAT_NAME_INVALID');
      expect((error as KilnError).hint).toBeTruthy();
    }
    for (const ok of ['a+b,c;d=e[f]', 'Ünïcödé ☃ 😀.txt', ' leading space', 'a'.repeat(255), '.profile']) expect(() => checkLongName(ok, ok)).not.toThrow();
  });
  test('checksum known answers (computed independently)', () => {
    expect(shortNameChecksum('README  TXT')).toBe(115);
    expect(shortNameChecksum('ALONGN~1TXT')).toBe(66);
  });
  test('long entries: reverse order, 0x40 on the last, NUL then 0xFFFF padding, attr 0x0F', () => {
    const name = 'A Long Name With Spaces.txt'; // 27 units: 3 entries
    const buf = new Uint8Array(96);
    expect(writeLongEntries(buf, 0, name, 66)).toBe(96);
    expect([buf[0], buf[32], buf[64]]).toEqual([0x43, 0x02, 0x01]);
    for (const at of [0, 32, 64]) {
      expect(buf[at + 11]).toBe(0x0f);
      expect(buf[at + 13]).toBe(66);
      expect(buf[at + 26]! | buf[at + 27]!).toBe(0);
    }
    const unit = (entry: number, j: number): number => buf[entry * 32 + LONG_CHAR_OFFSETS[j]!]! | (buf[entry * 32 + LONG_CHAR_OFFSETS[j]! + 1]! << 8);
    expect(String.fromCharCode(...Array.from({ length: 13 }, (_, j) => unit(2, j)))).toBe(name.slice(0, 13));
    expect(unit(0, 0)).toBe('t'.charCodeAt(0));
    expect(unit(0, 1)).toBe(0);
    expect(unit(0, 2)).toBe(0xffff);
  });
});
