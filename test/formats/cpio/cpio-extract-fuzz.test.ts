// Property: whatever names and symlinks an archive holds ('..', absolute paths, links pointing out,
// links through links, duplicates), extractCpio never creates or changes anything outside the
// target folder; it either extracts or refuses with a FormatError.
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, writeFileSync, readFileSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractCpio } from '../../../src/formats/cpio/index.js';
import { FormatError } from '../../../src/errors.js';
import { tempDir } from '../../_helpers.js';
import { rawCpio as rawArchive } from '../io/_hostile.js';

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    out.push(full);
    const st = lstatSync(full);
    if (st.isDirectory() && !st.isSymbolicLink()) out.push(...walk(full));
  }
  return out;
}

describe('cpio extraction never escapes its folder', () => {
  it('holds for hostile random archives', async () => {
    const root = realpathSync(tempDir());
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim'), 'original');
    const segment = fc.constantFrom('a', 'b', 'ln', '..', '.', '', 'outside', 'victim', '...');
    const name = fc
      .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 4 }))
      .map(([abs, segs]) => (abs ? '/' : '') + segs.join('/'))
      .filter((n) => n.length > 0 && n !== 'TRAILER!!!');
    const target = fc.oneof(
      fc.constant(outside),
      fc.constant(join(outside, 'victim')),
      fc.constant('../outside'),
      fc.constant('../../outside/victim'),
      fc.constant('/'),
      fc.constant('a'),
      fc.constant('ln'),
    );
    const entry = fc.oneof(
      fc.record({ name, kind: fc.constant('file' as const), data: fc.constant('pwned') }),
      fc.record({ name, kind: fc.constant('dir' as const), data: fc.constant('') }),
      fc.record({ name, kind: fc.constant('symlink' as const), data: target }),
    );
    let n = 0;
    let extracted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        async (entries, stripAbsolute, overwrite) => {
          const dest = join(root, `x${n++}`);
          try {
            await extractCpio(rawArchive(entries), dest, { stripAbsolute, overwrite });
            extracted++;
          } catch (error) {
            if (!(error instanceof FormatError)) throw error;
          }
          expect(readdirSync(outside)).toEqual(['victim']);
          expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('original');
          // A refused archive is refused before anything is created (the folder may not exist).
          for (const p of existsSync(dest) ? walk(dest) : []) {
            const rel = relative(dest, p);
            expect(rel === '..' || rel.startsWith('../') || isAbsolute(rel)).toBe(false);
          }
          expect(readdirSync(root).filter((f) => !/^x\d+$/.test(f))).toEqual(['outside']);
        },
      ),
      { numRuns: Number(process.env.KILN_FUZZ_RUNS ? Math.min(Number(process.env.KILN_FUZZ_RUNS), 3000) : 400) },
    );
    expect(extracted).toBeGreaterThan(0);
  }, 120_000);
});
