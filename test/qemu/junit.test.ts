// JUnit writer: a round trip through kiln's reader, and Python's XML parser (the reference) reads
// the same counts, names and messages, including hostile text (markup, control bytes, emoji).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { junitXml, readJUnit, type JUnitSuite } from '../../src/report/junit.js';

function pythonRead(xml: string): {
  suites: {
    name: string;
    tests: string;
    failures: string;
    skipped: string;
    cases: { name: string; classname: string; failure: string | null; skipped: string | null }[];
  }[];
} {
  const script = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
out = []
for s in root.findall('testsuite'):
    cases = []
    for c in s.findall('testcase'):
        f = c.find('failure'); k = c.find('skipped')
        cases.append({'name': c.get('name'), 'classname': c.get('classname'), 'failure': None if f is None else f.get('message'), 'skipped': None if k is None else k.get('message')})
    out.append({'name': s.get('name'), 'tests': s.get('tests'), 'failures': s.get('failures'), 'skipped': s.get('skipped'), 'cases': cases})
print(json.dumps({'suites': out}))
`;
  const r = spawnSync('python3', ['-c', script], { input: xml, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const clean = (s: string) => s.replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '');

describe('junitXml', () => {
  it("writes counts, failures and skips that Python's XML parser reads back", () => {
    const suites: JUnitSuite[] = [
      {
        name: 'ktap [x86_64]',
        time: 1.5,
        properties: { accel: 'accel: tcg' },
        cases: [
          {
            name: 'boot',
            classname: 'ktap.x86_64',
            status: 'failed',
            message: 'KTAP: 1 of 6 cases failed <&>"\'',
            details: 'EAX=0\x01\x1b[0m',
          },
          {
            name: 'memory.huge_pages',
            classname: 'ktap.x86_64.ktap',
            status: 'skipped',
            message: 'SKIP no huge pages',
          },
          { name: 'boot_sanity', classname: 'ktap.x86_64.ktap', status: 'passed' },
        ],
        systemOut: 'serial ✓ 🔥',
      },
    ];
    const xml = junitXml(suites);
    const py = pythonRead(xml);
    expect(py.suites[0]).toMatchObject({ name: 'ktap [x86_64]', tests: '3', failures: '1', skipped: '1' });
    expect(py.suites[0]!.cases[0]).toMatchObject({ name: 'boot', failure: 'KTAP: 1 of 6 cases failed <&>"\'' });
    expect(py.suites[0]!.cases[1]).toMatchObject({ skipped: 'SKIP no huge pages' });
    const back = readJUnit(xml);
    expect(back[0]!.cases.map((c) => c.status)).toEqual(['failed', 'skipped', 'passed']);
    expect(back[0]!.cases[0]!.details).toBe('EAX=0[0m');
    expect(back[0]!.systemOut).toBe('serial ✓ 🔥');
  });

  it('property: any names and messages survive the writer (Python and readJUnit agree)', () => {
    const kase = fc.record({
      name: fc.string({ unit: 'binary' }),
      classname: fc.string(),
      status: fc.constantFrom('passed' as const, 'failed' as const, 'skipped' as const),
      message: fc.string({ unit: 'binary' }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.string({ unit: 'binary' }), cases: fc.array(kase, { maxLength: 4 }) }), {
          minLength: 1,
          maxLength: 3,
        }),
        (suites) => {
          const xml = junitXml(suites);
          const back = readJUnit(xml);
          expect(back.map((s) => s.name)).toEqual(suites.map((s) => clean(s.name)));
          back.forEach((s, i) => {
            expect(s.cases.map((c) => [c.name, c.classname, c.status])).toEqual(
              suites[i]!.cases.map((c) => [clean(c.name), clean(c.classname), c.status]),
            );
          });
        },
      ),
      { numRuns: 200 },
    );
    // One Python check over a batch of generated documents (spawning per run would be slow).
    const sample = fc.sample(
      fc.array(fc.record({ name: fc.string({ unit: 'binary' }), cases: fc.array(kase, { maxLength: 3 }) }), {
        minLength: 1,
        maxLength: 2,
      }),
      6,
    );
    for (const suites of sample) {
      const py = pythonRead(junitXml(suites));
      expect(py.suites.map((s) => s.name)).toEqual(suites.map((s) => clean(s.name)));
      py.suites.forEach((s, i) =>
        expect(s.cases.map((c) => c.name)).toEqual(suites[i]!.cases.map((c) => clean(c.name))),
      );
    }
  });
});
