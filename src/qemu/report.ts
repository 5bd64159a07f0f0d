/**
 * Reports of test results: JUnit XML (one testsuite per test × arch: the boot case, then one
 * case per KTAP result) and JSON (RegExps as strings, exit codes decoded).
 */
import { junitXml, type JUnitSuite } from '../report/junit.js';
import type { QemuTestResult } from './harness.js';

/**
 * JUnit suites for test results (failure details: reason, registers, the last 30 serial lines).
 * @example writeFileSync('junit.xml', testResultsToJUnit(summary.results));
 */
export function testResultsToJUnit(results: QemuTestResult[]): string {
  const suites: JUnitSuite[] = results.map((r) => {
    const time = r.durationMs / 1000;
    const tail = `--- last ${r.serialTail.length} serial lines (${r.serialLog}) ---\n${r.serialTail.join('\n')}`;
    return {
      name: `${r.name} [${r.arch}]`,
      time,
      properties: {
        arch: r.arch,
        accel: r.accelNote,
        firmware: r.firmwareNote,
        ...(r.kernelNote ? { kernel: r.kernelNote } : {}),
        command: r.argv.join(' '),
      },
      cases: r.cases.map((c, i) => ({
        name: c.name,
        classname: c.classname,
        status: c.status,
        ...(i === 0 ? { time } : c.time !== undefined ? { time: c.time } : {}),
        ...(c.message ? { message: c.message } : {}),
        ...(i === 0 && c.status === 'failed'
          ? {
              details: [c.message, r.registers ? `--- info registers ---\n${r.registers}` : '', tail]
                .filter(Boolean)
                .join('\n'),
            }
          : c.details
            ? { details: c.details }
            : {}),
      })),
      systemOut: tail,
    };
  });
  return junitXml(suites, 'kiln test');
}

/**
 * A JSON-ready view of results.
 * @example printJson(testResultsToJson(summary.results));
 */
export function testResultsToJson(results: QemuTestResult[]): {
  ok: boolean;
  passed: number;
  failed: number;
  results: QemuTestResult[];
} {
  const passed = results.filter((r) => r.status === 'passed').length;
  return JSON.parse(
    JSON.stringify({ ok: passed === results.length, passed, failed: results.length - passed, results }),
  ) as { ok: boolean; passed: number; failed: number; results: QemuTestResult[] };
}
