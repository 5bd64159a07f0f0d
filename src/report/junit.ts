/**
 * JUnit XML for test results, in the shape Jenkins, GitLab and GitHub reporters read (the
 * de-facto schema of Ant's JUnit task: testsuites > testsuite > testcase with failure / skipped /
 * system-out children). XML 1.0 §2.2: characters outside the allowed set are dropped, and
 * markup characters escaped.
 */
import { KilnError } from '../errors.js';

/** One `<testcase>` of a JUnit XML report. */
export interface JUnitCase {
  name: string;
  classname: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Seconds. */
  time?: number;
  message?: string;
  details?: string;
}

/** One `<testsuite>` of a JUnit XML report. */
export interface JUnitSuite {
  name: string;
  cases: JUnitCase[];
  /** Seconds. */
  time?: number;
  /** Text for the suite's system-out (e.g. the serial tail). */
  systemOut?: string;
  properties?: Record<string, string>;
  timestamp?: string;
}

/**
 * Escapes text for XML content and attribute values.
 * @example xmlEscape('a<b & "c"') // 'a&lt;b &amp; &quot;c&quot;'
 */
export function xmlEscape(text: string): string {
  return (
    text
      .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // Parsers normalize whitespace in attributes and CR in text: keep them as character references.
      .replace(/\t/g, '&#9;')
      .replace(/\n/g, '&#10;')
      .replace(/\r/g, '&#13;')
  );
}

/**
 * Writes a JUnit XML document.
 * @example
 * writeFileSync('junit.xml', junitXml([{ name: 'hello.x86_64', cases: [{ name: 'boot', classname: 'hello', status: 'passed' }] }]));
 */
export function junitXml(suites: JUnitSuite[], name = 'kiln'): string {
  const count = (s: JUnitSuite, st: JUnitCase['status']) => s.cases.filter((c) => c.status === st).length;
  const total = suites.reduce((n, s) => n + s.cases.length, 0);
  const failures = suites.reduce((n, s) => n + count(s, 'failed'), 0);
  const skipped = suites.reduce((n, s) => n + count(s, 'skipped'), 0);
  const time = suites.reduce((n, s) => n + (s.time ?? 0), 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites name="${xmlEscape(name)}" tests="${total}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">`,
  );
  for (const s of suites) {
    out.push(
      `  <testsuite name="${xmlEscape(s.name)}" tests="${s.cases.length}" failures="${count(s, 'failed')}" errors="0" skipped="${count(s, 'skipped')}" time="${(s.time ?? 0).toFixed(3)}"${s.timestamp ? ` timestamp="${xmlEscape(s.timestamp)}"` : ''}>`,
    );
    if (s.properties && Object.keys(s.properties).length) {
      out.push('    <properties>');
      for (const [k, v] of Object.entries(s.properties))
        out.push(`      <property name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`);
      out.push('    </properties>');
    }
    for (const c of s.cases) {
      const open = `    <testcase name="${xmlEscape(c.name)}" classname="${xmlEscape(c.classname)}" time="${(c.time ?? 0).toFixed(3)}"`;
      if (c.status === 'passed' && !c.details) {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      if (c.status === 'failed')
        out.push(
          `      <failure message="${xmlEscape(c.message ?? 'failed')}" type="failure">${xmlEscape(c.details ?? c.message ?? '')}</failure>`,
        );
      else if (c.status === 'skipped') out.push(`      <skipped message="${xmlEscape(c.message ?? 'skipped')}"/>`);
      if (c.details && c.status !== 'failed') out.push(`      <system-out>${xmlEscape(c.details)}</system-out>`);
      out.push('    </testcase>');
    }
    if (s.systemOut) out.push(`    <system-out>${xmlEscape(s.systemOut)}</system-out>`);
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

/**
 * A minimal reader for JUnit XML written by `junitXml` (tests and tools use it to check reports).
 * @example readJUnit(readFileSync('junit.xml', 'utf8'))[0].cases[0].status // 'passed'
 */
export function readJUnit(xml: string): JUnitSuite[] {
  const unescape = (t: string) =>
    t
      .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  const attr = (tag: string, name: string): string | undefined => {
    const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
    return m ? unescape(m[1]!) : undefined;
  };
  const suites: JUnitSuite[] = [];
  const suiteRe = /<testsuite\s[^>]*>([\s\S]*?)<\/testsuite>/g;
  for (const sm of xml.matchAll(suiteRe)) {
    const tag = /<testsuite\s[^>]*>/.exec(sm[0])![0];
    const suite: JUnitSuite = { name: attr(tag, 'name') ?? '', cases: [], time: Number(attr(tag, 'time') ?? 0) };
    const caseRe = /<testcase\s[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g;
    for (const cm of sm[1]!.matchAll(caseRe)) {
      const ctag = /<testcase\s[^>]*?\/?>/.exec(cm[0])![0];
      const body = cm[1] ?? '';
      const failure = /<failure\s[^>]*?(?:\/>|>([\s\S]*?)<\/failure>)/.exec(body);
      const skipped = /<skipped\s[^>]*?\/?>/.exec(body);
      const c: JUnitCase = {
        name: attr(ctag, 'name') ?? '',
        classname: attr(ctag, 'classname') ?? '',
        status: failure ? 'failed' : skipped ? 'skipped' : 'passed',
        time: Number(attr(ctag, 'time') ?? 0),
      };
      const message = failure ? attr(failure[0], 'message') : skipped ? attr(skipped[0], 'message') : undefined;
      if (message !== undefined) c.message = message;
      if (failure?.[1]) c.details = unescape(failure[1]);
      suite.cases.push(c);
    }
    const out = /<system-out>([\s\S]*?)<\/system-out>\s*$/.exec(sm[1]!);
    if (out) suite.systemOut = unescape(out[1]!);
    suites.push(suite);
  }
  return suites;
}

/**
 * Joins JUnit reports (one per `kiln test --shard K/N`) into one: every `<testsuite>` element kept
 * as written, the totals of `<testsuites>` summed. A suite found in two reports ran twice: refused.
 * @example mergeJUnit([readFileSync('shard-1.xml', 'utf8'), readFileSync('shard-2.xml', 'utf8')])
 */
export function mergeJUnit(reports: Array<{ name: string; xml: string }>): string {
  const seen = new Map<string, string>();
  const blocks: string[] = [];
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  let time = 0;
  for (const { name, xml } of reports) {
    const suites = readJUnit(xml);
    const raw = [...xml.matchAll(/<testsuite\s[^>]*>[\s\S]*?<\/testsuite>/g)].map((m) => m[0]);
    if (raw.length !== suites.length || (suites.length === 0 && !/<testsuites[\s>]/.test(xml))) {
      throw new KilnError('JUNIT_UNREADABLE', `${name}: not a JUnit report kiln can read`, {
        location: { file: name },
        hint: 'pass the files written by kiln test --junit',
        exitCode: 2,
      });
    }
    suites.forEach((suite, i) => {
      const other = seen.get(suite.name);
      if (other !== undefined) {
        throw new KilnError(
          'JUNIT_DUPLICATE',
          `test suite "${suite.name}" is in ${other} and in ${name}: it ran in two shards`,
          {
            location: { file: name },
            hint: 'every shard must see the same tests and the same last-test.json (or none)',
            exitCode: 1,
          },
        );
      }
      seen.set(suite.name, name);
      blocks.push(`  ${raw[i]!.trimStart()}`);
      tests += suite.cases.length;
      failures += suite.cases.filter((c) => c.status === 'failed').length;
      skipped += suite.cases.filter((c) => c.status === 'skipped').length;
      time += suite.time ?? 0;
    });
  }
  const head = `<testsuites name="kiln" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${head}\n${blocks.join('\n')}\n</testsuites>\n`;
}
