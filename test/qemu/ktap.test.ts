// KTAP parser: the examples of Documentation/dev-tools/ktap.rst, KUnit-style output with log
// prefixes and interleaved console noise, crashes mid-suite, and properties over generated trees.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { flattenKtap, parseKtap, summarizeKtap } from '../../src/qemu/index.js';
import { KTAP_TEXT } from './_kernels.js';

describe('parseKtap', () => {
  it('parses the nested example of the KTAP spec', () => {
    const text = [
      'KTAP version 1',
      '1..1',
      '  KTAP version 1',
      '  1..1',
      '    KTAP version 1',
      '    1..1',
      '    not ok 1 test_1',
      '  ok 1 test_2',
      'ok 1 test_3',
    ].join('\n');
    const doc = parseKtap(text);
    expect(doc.found).toBe(true);
    expect(doc.problems).toEqual([]);
    const top = doc.root.cases[0]!;
    expect(top).toMatchObject({ name: 'test_3', ok: true, status: 'pass' });
    expect(top.subtests!.cases[0]).toMatchObject({ name: 'test_2', ok: true });
    expect(top.subtests!.cases[0]!.subtests!.cases[0]).toMatchObject({ name: 'test_1', ok: false, status: 'fail' });
    // The leaf failed although its parents said ok: the leaf is what is reported.
    expect(flattenKtap(doc).map((c) => [c.path.join('.'), c.status])).toEqual([['test_3.test_2.test_1', 'fail']]);
  });

  it("KUnit output: # Subtest names, diagnostics before results, SKIP/TODO directives, the kernels' text", () => {
    const doc = parseKtap(['some boot noise', 'SeaBIOS (version 1.16)', ...KTAP_TEXT, 'KILN-END'].join('\r\n'));
    expect(doc.problems).toEqual([]);
    const flat = flattenKtap(doc);
    expect(flat.map((c) => `${c.path.join('.')}=${c.status}`)).toEqual([
      'boot_sanity=pass',
      'memory.alloc_page=pass',
      'memory.free_page=fail',
      'memory.huge_pages=skip',
      'timer=skip',
      'scheduler=todo',
    ]);
    expect(flat[2]!.diagnostics).toEqual(['free_page: EXPECTATION FAILED at mm.c:42']);
    expect(flat[3]!.directiveReason).toBe('no huge pages under TCG');
    expect(doc.root.cases[1]!.subtests!.name).toBe('memory');
    expect(summarizeKtap(doc)).toMatchObject({
      total: 6,
      passed: 2,
      failed: 1,
      skipped: 2,
      todo: 1,
      ok: false,
      problems: [],
    });
  });

  it('strips a dmesg timestamp prefix and ignores interleaved console lines', () => {
    const text = [
      '[    0.100000] KTAP version 1',
      '[    0.100001] 1..2',
      '[    0.100002] random driver message',
      '[    0.100003]     KTAP version 1',
      '[    0.100004]     # Subtest: list',
      '[    0.100005]     1..1',
      '[    0.100006]     ok 1 - list_add',
      '[    0.100007] ok 1 list',
      'unprefixed noise: ok 7 not a result',
      '[    0.100008] ok 2 - hash # SKIP disabled',
    ].join('\n');
    const doc = parseKtap(text);
    expect(flattenKtap(doc).map((c) => `${c.path.join('.')}=${c.status}`)).toEqual(['list.list_add=pass', 'hash=skip']);
    expect(summarizeKtap(doc)).toMatchObject({ ok: true, problems: [] });
  });

  it('a kernel that stops inside a suite: missing results are errors and plans do not match', () => {
    const doc = parseKtap(
      [
        'KTAP version 1',
        '1..3',
        'ok 1 a',
        '    KTAP version 1',
        '    # Subtest: b',
        '    1..4',
        '    ok 1 b1',
        'PANIC: oops',
      ].join('\n'),
    );
    const s = summarizeKtap(doc);
    expect(s.ok).toBe(false);
    const flat = flattenKtap(doc).map((c) => `${c.path.join('.')}=${c.status}`);
    expect(flat).toContain('a=pass');
    expect(flat).toContain('b.b1=pass');
    expect(flat.filter((x) => x.endsWith('=error')).length).toBeGreaterThanOrEqual(3); // b2..b4 and the top-level test 3
    expect(s.problems.join('\n')).toMatch(/planned 3, got 2/);
    expect(doc.problems.map((p) => p.message).join('\n')).toMatch(/no result line/);
  });

  it('TAP 13 lines, Bail out!, XFAIL, no KTAP at all', () => {
    const doc = parseKtap('TAP version 13\n1..2\nnot ok 1 x # XFAIL known\nBail out! disk on fire\n');
    expect(doc.root.version).toEqual({ name: 'TAP', number: 13 });
    expect(flattenKtap(doc)[0]!.status).toBe('xfail');
    expect(summarizeKtap(doc).problems.join()).toMatch(/Bail out! disk on fire/);
    const none = parseKtap('hello\nworld\n');
    expect(none.found).toBe(false);
    expect(summarizeKtap(none)).toMatchObject({ ok: false, total: 0, problems: ['no KTAP version line found'] });
  });

  type Node = { name: string; status: 'pass' | 'fail' | 'skip' | 'todo'; children: Node[] };
  const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
  const leaf = fc.record({
    name,
    status: fc.constantFrom('pass' as const, 'fail' as const, 'skip' as const, 'todo' as const),
    children: fc.constant([] as Node[]),
  });
  const { tree } = fc.letrec<{ tree: Node[]; node: Node }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ name, status: fc.constantFrom('pass' as const, 'fail' as const), children: tie('tree') }),
    ),
    tree: fc.array(tie('node'), { minLength: 1, maxLength: 4 }),
  }));
  function render(nodes: Node[], depth: number, out: string[]): void {
    const pad = '    '.repeat(depth);
    out.push(`${pad}KTAP version 1`, `${pad}1..${nodes.length}`);
    nodes.forEach((n, i) => {
      if (n.children.length) {
        out.push(`${pad}    # Subtest: ${n.name}`);
        render(n.children, depth + 1, out);
      }
      const ok = n.status === 'pass' || n.status === 'skip' ? 'ok' : 'not ok';
      const dir = n.status === 'skip' ? ' # SKIP why' : n.status === 'todo' ? ' # TODO later' : '';
      out.push(`${pad}${ok} ${i + 1} ${n.name}${dir}`);
    });
  }
  function leaves(nodes: Node[], path: string[], out: string[]): void {
    for (const n of nodes) {
      if (n.children.length) {
        const before = out.length;
        leaves(n.children, [...path, n.name], out);
        if (n.status === 'fail' && !out.slice(before).some((x) => x.endsWith('=fail')))
          out.push(`${[...path, n.name].join('.')}=fail`);
      } else out.push(`${[...path, n.name].join('.')}=${n.status}`);
    }
  }

  it('property: rendering a generated tree and parsing it gives back every leaf and status', () => {
    fc.assert(
      fc.property(tree, (nodes) => {
        const lines: string[] = [];
        render(nodes, 0, lines);
        const doc = parseKtap(lines.join('\n'));
        expect(doc.problems).toEqual([]);
        const expected: string[] = [];
        leaves(nodes, [], expected);
        expect(flattenKtap(doc).map((c) => `${c.path.join('.')}=${c.status}`)).toEqual(expected);
        expect(summarizeKtap(doc).problems).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('fuzz: mutated KTAP never throws', () => {
    const base = KTAP_TEXT.join('\n');
    const runs = Number(process.env.KILN_FUZZ_RUNS ?? 50000);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.nat({ max: base.length }),
            text: fc.constantFrom(
              ' ',
              '    ',
              '\n',
              '#',
              'ok 9 ',
              'not ok',
              '1..',
              'KTAP version 1',
              '# Subtest: z',
              'x',
              '',
            ),
            del: fc.nat({ max: 8 }),
          }),
          { maxLength: 6 },
        ),
        (edits) => {
          let t = base;
          for (const e of edits) t = t.slice(0, e.at) + e.text + t.slice(e.at + e.del);
          const doc = parseKtap(t);
          summarizeKtap(doc);
          flattenKtap(doc);
        },
      ),
      { numRuns: runs },
    );
  });
});
