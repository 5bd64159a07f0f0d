// Short-name generation, long-name validation and LFN checksums (fatgen103 "FAT Long Directory
// Entries", "Basis-Name Generation", "Numeric-Tail Generation").
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  assignShortNames,
  basisName,
  checkLongName,
  exactShortName,
  shortNameChecksum,
  writeLongEntries,
  LONG_CHAR_OFFSETS,
} from '../../../src/formats/fat/_names.js';
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
    for (const n of [
      'toolongname.txt',
      'a.b.c',
      'x.long',
      '.hidden',
      'has space',
      'plus+.txt',
      'é.txt',
      'a.',
      'straße',
    ])
      expect(exactShortName(n)).toBeUndefined();
  });
  test('basis names: upper case, illegal characters to _, spaces and leading dots dropped, 8+3', () => {
    expect(basisName('A Long Name With Spaces.txt')).toEqual({ base: 'ALONGNAM', ext: 'TXT' });
    expect(basisName('.bashrc')).toEqual({ base: 'BASHRC', ext: '' });
    expect(basisName('ÜNICODE ☃.md')).toEqual({ base: '_NICODE_', ext: 'MD' });
    expect(basisName('a.b.c.longext')).toEqual({ base: 'ABC', ext: 'LON' });
    expect(basisName('x+y=z[1].tar.gz')).toEqual({ base: 'X_Y_Z_1_', ext: 'GZ' });
  });
  test('property: basis names equal the spec steps applied one after another (the regex form)', () => {
    // fatgen103's steps as separate string passes: upper case, spaces out, leading dots out, split at
    // the last dot, embedded dots out, each other code point outside the short-name set to '_'.
    const reference = (name: string): { base: string; ext: string } => {
      const text = name.toUpperCase().replace(/ /g, '').replace(/^\.+/, '');
      const at = text.lastIndexOf('.');
      const clean = (part: string, limit: number): string =>
        part
          .replace(/\./g, '')
          .replace(/[^A-Z0-9$%'\-_@~`!(){}^#&]/gu, '_')
          .slice(0, limit);
      return {
        base: clean(at < 0 ? text : text.slice(0, at), 8) || '_',
        ext: clean(at < 0 ? '' : text.slice(at + 1), 3),
      };
    };
    const nameArb = fc.string({ unit: fc.constantFrom(...'abcXYZ09 ._-~+ßé☃😀\ud800'), minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(nameArb, (name) => {
        expect(basisName(name)).toEqual(reference(name));
      }),
      { numRuns: 2000 },
    );
  });
  test('numeric tails count up without collisions, exact 8.3 names are never displaced', () => {
    const names = ['Long File Name One.txt', 'Long File Name Two.txt', 'LONGFI~1.TXT', 'Long File Name Three.txt'];
    const shorts = assignShortNames(names, 'd').map((s) => s.raw);
    expect(shorts).toEqual(['LONGFI~2TXT', 'LONGFI~3TXT', 'LONGFI~1TXT', 'LONGFI~4TXT']);
  });
  test('property: tails are the lowest free ones, as trying ~1, ~2, ... for each name in turn gives', () => {
    const naive = (names: string[]): string[] => {
      const taken = new Set<string>();
      const out: string[] = [];
      names.forEach((name, i) => {
        const exact = exactShortName(name);
        if (exact && !taken.has(exact.raw)) taken.add((out[i] = exact.raw));
      });
      names.forEach((name, i) => {
        if (out[i]) return;
        const { base, ext } = basisName(name);
        for (let n = 1; ; n++) {
          const raw = `${base.slice(0, 8 - `~${n}`.length)}~${n}`.padEnd(8, ' ') + ext.padEnd(3, ' ');
          if (!taken.has(raw)) {
            taken.add((out[i] = raw));
            return;
          }
        }
      });
      return out;
    };
    // Many names sharing their first 5 or 6 characters, some exact 8.3 names among them.
    const nameArb = fc
      .tuple(
        fc.constantFrom('file_0', 'FILE_1', 'file_', 'longname', 'longnamx', 'ab', 'ABCDEF~1'),
        fc.integer({ min: 0, max: 999 }),
        fc.constantFrom('', '.bin', '.BIN', '.binary', '.c'),
      )
      .map(([stem, n, ext]) => `${stem}${n}${ext}`);
    fc.assert(
      fc.property(fc.uniqueArray(nameArb, { maxLength: 150, selector: (n) => n.toUpperCase() }), (names) => {
        expect(assignShortNames(names, 'd').map((s) => s.raw)).toEqual(naive(names));
      }),
      { numRuns: 300 },
    );
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
    const nameArb = fc
      .string({ unit: fc.constantFrom(...'abcAB~.-_ +1é☃'), minLength: 1, maxLength: 20 })
      .filter((n) => !n.endsWith('.') && !n.endsWith(' ') && n !== '..' && n !== '.');
    fc.assert(
      fc.property(fc.uniqueArray(nameArb, { maxLength: 60, selector: (n) => n.toUpperCase() }), (names) => {
        const shorts = assignShortNames(names, 'd');
        expect(new Set(shorts.map((s) => s.raw)).size).toBe(names.length);
        for (const s of shorts) {
          expect(s.raw).toMatch(/^[A-Z0-9$%'\-_@~`!(){}^#&]{1,8} *[A-Z0-9$%'\-_@~`!(){}^#&]{0,3} *$/);
          expect(s.raw.length).toBe(11);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('long names', () => {
  test('illegal names are refused with the path and a hint', () => {
    for (const bad of [
      'a:b',
      'what?',
      'x*',
      'pipe|',
      'tab\there',
      'trailing.',
      'trailing ',
      'a'.repeat(256),
      'back\\slash',
      'q"uote',
      'lt<',
      '\ud800x',
    ]) {
      let error: unknown;
      try {
        checkLongName(bad, `dir/${bad}`);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KilnError);
      expect((error as KilnError).code).toBe('FAT_NAME_INVALID');
      expect((error as KilnError).hint).toBeTruthy();
    }
    for (const ok of ['a+b,c;d=e[f]', 'Ünïcödé ☃ 😀.txt', ' leading space', 'a'.repeat(255), '.profile'])
      expect(() => checkLongName(ok, ok)).not.toThrow();
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
    const unit = (entry: number, j: number): number =>
      buf[entry * 32 + LONG_CHAR_OFFSETS[j]!]! | (buf[entry * 32 + LONG_CHAR_OFFSETS[j]! + 1]! << 8);
    expect(String.fromCharCode(...Array.from({ length: 13 }, (_, j) => unit(2, j)))).toBe(name.slice(0, 13));
    expect(unit(0, 0)).toBe('t'.charCodeAt(0));
    expect(unit(0, 1)).toBe(0);
    expect(unit(0, 2)).toBe(0xffff);
  });
  test('property: long entries hold each UTF-16 unit at its offset, then NUL, then 0xFFFF (any length, surrogates kept)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'aZ09 .~é☃😀'), minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 255 }),
        (name, sum) => {
          const count = Math.ceil(name.length / 13);
          const buf = new Uint8Array(count * 32 + 8).fill(0xaa);
          expect(writeLongEntries(buf, 4, name, sum)).toBe(count * 32);
          for (let k = 0; k < count; k++) {
            const at = 4 + k * 32;
            const ordinal = count - k;
            expect([buf[at], buf[at + 11], buf[at + 12], buf[at + 13], buf[at + 26], buf[at + 27]]).toEqual([
              ordinal | (k === 0 ? 0x40 : 0),
              0x0f,
              0,
              sum,
              0,
              0,
            ]);
            LONG_CHAR_OFFSETS.forEach((o, j) => {
              const index = (ordinal - 1) * 13 + j;
              const want = index < name.length ? name.charCodeAt(index) : index === name.length ? 0 : 0xffff;
              expect(buf[at + o]! | (buf[at + o + 1]! << 8)).toBe(want);
            });
          }
          expect([...buf.subarray(0, 4), ...buf.subarray(4 + count * 32)]).toEqual(new Array(8).fill(0xaa));
        },
      ),
      { numRuns: 500 },
    );
  });
});
