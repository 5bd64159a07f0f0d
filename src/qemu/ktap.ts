/**
 * KTAP parser. Spec: Linux Documentation/dev-tools/ktap.rst (KTAP version 1): version line,
 * plan `1..N`, result lines `ok|not ok <n> [- ]<description> [# <directive> [reason]]`
 * (directives SKIP, TODO, XFAIL, TIMEOUT, ERROR), diagnostic lines `# ...`, `Bail out!`,
 * subtests indented by four spaces with their own version line and plan, closed by the parent's
 * result line; KUnit's `# Subtest: name` header and TAP 13/14 `TAP version` lines are accepted.
 * Lines that are not KTAP (other kernel output on the same console) are ignored, and a prefix
 * printed before `KTAP version` (a log timestamp) is removed from the lines that follow.
 */

export type KtapStatus = 'pass' | 'fail' | 'skip' | 'todo' | 'xfail' | 'error';

/** One test result line (`ok 1 name`), with its subtests and diagnostics. */
export interface KtapCase {
  /** Test number from the result line. */
  number: number;
  name: string;
  ok: boolean;
  directive?: 'SKIP' | 'TODO' | 'XFAIL' | 'TIMEOUT' | 'ERROR';
  directiveReason?: string;
  status: KtapStatus;
  /** Diagnostic lines printed since the previous result at this level (KUnit prints them before). */
  diagnostics: string[];
  /** The nested subtest this result closes, if any. */
  subtests?: KtapSuite;
  /** 1-based line number of the result line in the parsed text. */
  line: number;
}

/** A (sub)suite: its version line, plan and cases. */
export interface KtapSuite {
  version?: { name: 'KTAP' | 'TAP'; number: number };
  /** From `# Subtest: name`. */
  name?: string;
  plan?: { count: number; skipReason?: string };
  cases: KtapCase[];
  /** Diagnostics not followed by a result at this level. */
  diagnostics: string[];
  bailOut?: string;
}

/** A line `parseKtap` could not make sense of. */
export interface KtapProblem {
  line: number;
  message: string;
}

/** KTAP parsed from serial output: the root suite and the problems. */
export interface KtapDocument {
  /** A version line was found. */
  found: boolean;
  root: KtapSuite;
  problems: KtapProblem[];
}

/** A leaf test case with its suite path. */
export interface KtapFlatCase {
  /** Suite names and the case name, e.g. ['example', 'example_simple_test']. */
  path: string[];
  name: string;
  status: KtapStatus;
  directiveReason?: string;
  diagnostics: string[];
  line: number;
}

/** Counts over every leaf case of a KTAP document. */
export interface KtapSummary {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
  /** Problems: plan mismatches, missing results, bail-outs. */
  problems: string[];
  ok: boolean;
}

const VERSION = /^(KTAP|TAP) version (\d+)\s*$/;
const PLAN = /^1\.\.(\d+)(?:\s*#\s*(?:SKIP|skip)\S*\s*(.*))?\s*$/;
const RESULT = /^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*?)\s*$/;
const SUBTEST = /^#\s*Subtest:\s*(.*?)\s*$/;
const BAIL = /^Bail out!\s*(.*)$/;
const DIRECTIVES = ['SKIP', 'TODO', 'XFAIL', 'TIMEOUT', 'ERROR'] as const;

interface Frame {
  indent: number;
  suite: KtapSuite;
  pendingDiag: string[];
  pendingChild: KtapSuite | undefined;
}

function newSuite(): KtapSuite {
  return { cases: [], diagnostics: [] };
}

function splitDirective(rest: string): { name: string; directive?: KtapCase['directive']; reason?: string } {
  // The directive follows the last unescaped '#'.
  const m = /^(.*?)\s*(?<!\\)#\s*(\S+)\s*(.*)$/.exec(rest);
  if (m) {
    const word = m[2]!.toUpperCase();
    const d = DIRECTIVES.find((x) => word === x || (x === 'SKIP' && word.startsWith('SKIP')));
    if (d) return { name: m[1]!.trim(), directive: d, ...(m[3] ? { reason: m[3].trim() } : {}) };
  }
  return { name: rest.trim() };
}

function statusOf(ok: boolean, directive: KtapCase['directive']): KtapStatus {
  switch (directive) {
    case 'SKIP':
      return 'skip';
    case 'TODO':
      return 'todo';
    case 'XFAIL':
      return ok ? 'fail' : 'xfail';
    case 'TIMEOUT':
    case 'ERROR':
      return 'error';
    default:
      return ok ? 'pass' : 'fail';
  }
}

/**
 * Parses KTAP (or TAP) from serial text into a tree of suites and cases.
 * @example
 * const doc = parseKtap('KTAP version 1\n1..2\nok 1 boots\nnot ok 2 timer # TODO flaky\n');
 * doc.root.cases.map((c) => c.status); // ['pass', 'todo']
 */
export function parseKtap(text: string): KtapDocument {
  const raw = text.split('\n');
  const problems: KtapProblem[] = [];
  const root = newSuite();
  let found = false;
  let prefix: RegExp | undefined;
  let stack: Frame[] = [];
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i]!.replace(/\r$/, '').replace(/\t/g, '        ');
    if (!found) {
      const at = line.search(/(KTAP|TAP) version \d+\s*$/);
      if (at < 0) continue;
      // What precedes the version line (minus its indentation) is a log prefix.
      const before = line.slice(0, at).replace(/\s+$/, '');
      if (before) {
        // `[    0.123456] ` timestamps change from line to line: match any bracketed prefix.
        prefix = /^\[[^\]]*\]$/.test(before)
          ? /^\[[^\]]*\]/
          : new RegExp(`^${before.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
      }
      found = true;
      line = line.slice(before.length);
      const indent = line.length - line.trimStart().length;
      stack = [{ indent, suite: root, pendingDiag: [], pendingChild: undefined }];
    } else if (prefix) {
      const m = prefix.exec(line);
      if (!m) continue;
      line = line.slice(m[0].length);
    }
    const body = line.trimStart();
    if (!body) continue;
    const indent = line.length - body.length;
    const isVersion = VERSION.exec(body);
    const isPlan = PLAN.exec(body);
    const isResult = RESULT.exec(body);
    const isSubtest = SUBTEST.exec(body);
    const isBail = BAIL.exec(body);
    const isDiag = !isSubtest && body.startsWith('#');
    if (!isVersion && !isPlan && !isResult && !isSubtest && !isBail && !isDiag) continue; // not KTAP
    // Close deeper frames: they become the pending subtest of their parent.
    while (stack.length > 1 && indent < stack[stack.length - 1]!.indent) {
      const child = stack.pop()!;
      child.suite.diagnostics.push(...child.pendingDiag);
      closeDanglingChild(child, problems, i + 1);
      stack[stack.length - 1]!.pendingChild = child.suite;
    }
    let top = stack[stack.length - 1]!;
    if (indent > top.indent) {
      if (isDiag && !top.pendingChild && stack.length === 1 && indent - top.indent < 2) {
        /* a diagnostic with odd spacing at this level */
      } else {
        const frame: Frame = { indent, suite: newSuite(), pendingDiag: [], pendingChild: undefined };
        if (top.pendingChild) {
          // A second subtest started before the first one's result line.
          problems.push({
            line: i + 1,
            message: `subtest${top.pendingChild.name ? ` "${top.pendingChild.name}"` : ''} has no result line`,
          });
          top.suite.cases.push(missingResultCase(top.pendingChild, top.suite.cases.length + 1, i + 1));
          top.pendingChild = undefined;
        }
        stack.push(frame);
        top = frame;
      }
    }
    const suite = top.suite;
    if (isVersion) {
      if (suite.version || suite.cases.length)
        problems.push({ line: i + 1, message: 'version line in the middle of a suite' });
      else suite.version = { name: isVersion[1] as 'KTAP' | 'TAP', number: Number(isVersion[2]) };
    } else if (isSubtest) {
      suite.name = isSubtest[1]!;
    } else if (isPlan) {
      if (suite.plan) problems.push({ line: i + 1, message: 'second plan line' });
      else suite.plan = { count: Number(isPlan[1]), ...(isPlan[2] ? { skipReason: isPlan[2] } : {}) };
    } else if (isBail) {
      suite.bailOut = isBail[1] ?? '';
    } else if (isDiag) {
      top.pendingDiag.push(body.replace(/^#\s?/, ''));
    } else if (isResult) {
      const ok = isResult[1] === 'ok';
      const number = isResult[2] !== undefined ? Number(isResult[2]) : suite.cases.length + 1;
      const { name, directive, reason } = splitDirective(isResult[3] ?? '');
      const c: KtapCase = {
        number,
        name: name || top.pendingChild?.name || `test ${number}`,
        ok,
        status: statusOf(ok, directive),
        diagnostics: top.pendingDiag,
        line: i + 1,
      };
      if (directive) c.directive = directive;
      if (reason) c.directiveReason = reason;
      if (top.pendingChild) {
        c.subtests = top.pendingChild;
        top.pendingChild = undefined;
      }
      top.pendingDiag = [];
      if (number !== suite.cases.length + 1)
        problems.push({ line: i + 1, message: `test number ${number}, expected ${suite.cases.length + 1}` });
      suite.cases.push(c);
    }
  }
  // End of text: close everything.
  while (stack.length > 1) {
    const child = stack.pop()!;
    child.suite.diagnostics.push(...child.pendingDiag);
    closeDanglingChild(child, problems, raw.length);
    const parent = stack[stack.length - 1]!;
    if (parent.pendingChild)
      parent.suite.cases.push(missingResultCase(parent.pendingChild, parent.suite.cases.length + 1, raw.length));
    parent.pendingChild = child.suite;
  }
  if (stack[0]) {
    const top = stack[0];
    if (top.pendingChild) {
      problems.push({
        line: raw.length,
        message: `subtest${top.pendingChild.name ? ` "${top.pendingChild.name}"` : ''} has no result line (did the kernel stop?)`,
      });
      root.cases.push(missingResultCase(top.pendingChild, root.cases.length + 1, raw.length));
    }
    root.diagnostics.push(...top.pendingDiag);
  }
  return { found, root, problems };
}

function closeDanglingChild(frame: Frame, problems: KtapProblem[], line: number): void {
  if (frame.pendingChild) {
    problems.push({
      line,
      message: `subtest${frame.pendingChild.name ? ` "${frame.pendingChild.name}"` : ''} has no result line`,
    });
    frame.suite.cases.push(missingResultCase(frame.pendingChild, frame.suite.cases.length + 1, line));
    frame.pendingChild = undefined;
  }
}

function missingResultCase(suite: KtapSuite, number: number, line: number): KtapCase {
  return {
    number,
    name: suite.name ?? `test ${number}`,
    ok: false,
    status: 'error',
    diagnostics: ['no result line (the kernel stopped or crashed inside this subtest)'],
    subtests: suite,
    line,
  };
}

/**
 * Leaf cases with their suite path; a case with subtests is replaced by its subtests, except
 * that a failing parent with all-passing children is kept (the suite itself failed).
 * @example flattenKtap(parseKtap(text)).filter((c) => c.status === 'fail')
 */
export function flattenKtap(doc: KtapDocument): KtapFlatCase[] {
  const out: KtapFlatCase[] = [];
  const walk = (suite: KtapSuite, path: string[]): void => {
    for (const c of suite.cases) {
      const here = [...path, c.name];
      if (c.subtests && c.subtests.cases.length > 0) {
        const before = out.length;
        walk(c.subtests, here);
        const childFailed = out.slice(before).some((x) => x.status === 'fail' || x.status === 'error');
        if ((c.status === 'fail' || c.status === 'error') && !childFailed) out.push(flat(c, here));
        if (c.subtests.plan && c.subtests.plan.count > c.subtests.cases.length) {
          for (let n = c.subtests.cases.length + 1; n <= c.subtests.plan.count; n++) {
            out.push({
              path: [...here, `test ${n}`],
              name: `test ${n}`,
              status: 'error',
              diagnostics: [`planned ${c.subtests.plan.count} tests, only ${c.subtests.cases.length} reported`],
              line: c.line,
            });
          }
        }
      } else out.push(flat(c, here));
    }
  };
  walk(doc.root, []);
  if (doc.root.plan && doc.root.plan.count > doc.root.cases.length) {
    for (let n = doc.root.cases.length + 1; n <= doc.root.plan.count; n++) {
      out.push({
        path: [`test ${n}`],
        name: `test ${n}`,
        status: 'error',
        diagnostics: [
          `planned ${doc.root.plan.count} tests, only ${doc.root.cases.length} reported (the kernel stopped early?)`,
        ],
        line: 0,
      });
    }
  }
  return out;
}

function flat(c: KtapCase, path: string[]): KtapFlatCase {
  return {
    path,
    name: c.name,
    status: c.status,
    ...(c.directiveReason ? { directiveReason: c.directiveReason } : {}),
    diagnostics: c.diagnostics,
    line: c.line,
  };
}

/**
 * Counts over the leaf cases, plus plan mismatches and bail-outs.
 * @example summarizeKtap(parseKtap(serial)).ok
 */
export function summarizeKtap(doc: KtapDocument): KtapSummary {
  const cases = flattenKtap(doc);
  const problems: string[] = [];
  if (!doc.found) problems.push('no KTAP version line found');
  const checkPlans = (suite: KtapSuite, where: string): void => {
    if (suite.plan && suite.plan.count !== suite.cases.length)
      problems.push(`${where}: planned ${suite.plan.count}, got ${suite.cases.length} results`);
    if (suite.bailOut !== undefined) problems.push(`${where}: Bail out! ${suite.bailOut}`);
    for (const c of suite.cases) if (c.subtests) checkPlans(c.subtests, `${where}/${c.name}`);
  };
  if (doc.found) checkPlans(doc.root, 'KTAP');
  const count = (s: KtapStatus[]) => cases.filter((c) => s.includes(c.status)).length;
  const passed = count(['pass', 'xfail']);
  const failed = count(['fail', 'error']);
  const skipped = count(['skip']);
  const todo = count(['todo']);
  return {
    total: cases.length,
    passed,
    failed,
    skipped,
    todo,
    problems,
    ok: doc.found && failed === 0 && problems.length === 0,
  };
}
