/**
 * Plain-text table of audit findings (what `kiln audit` prints). No colours: the CLI decides.
 */
import type { AuditFinding, AuditReport } from './audit.js';

const MARK: Record<AuditFinding['status'], string> = { pass: 'pass', fail: 'FAIL', unknown: '?', info: '-' };

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/**
 * Renders reports as a table: artifact, rule, result, expected, evidence. `onlyProblems` keeps
 * failing and unknown rows.
 * @example
 * process.stdout.write(renderAuditTable(reports));
 */
export function renderAuditTable(
  reports: readonly AuditReport[],
  options: { onlyProblems?: boolean; evidenceWidth?: number } = {},
): string {
  const rows: string[][] = [['ARTIFACT', 'RULE', 'RESULT', 'EXPECTED', 'EVIDENCE']];
  for (const report of reports) {
    for (const f of report.findings) {
      if (options.onlyProblems && (f.status === 'pass' || f.status === 'info')) continue;
      rows.push([
        report.artifact,
        f.rule,
        MARK[f.status] + (f.severity === 'warning' && f.status === 'unknown' ? ' (warn)' : ''),
        f.expected ?? '',
        clip(f.evidence, options.evidenceWidth ?? 100),
      ]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const failed = reports.filter((r) => !r.ok).length;
  const errors = reports.reduce((n, r) => n + r.findings.filter((f) => f.severity === 'error').length, 0);
  lines.push('');
  lines.push(
    failed ? `${errors} violation(s) in ${failed} of ${reports.length} file(s)` : `${reports.length} file(s) pass`,
  );
  return `${lines.join('\n')}\n`;
}
