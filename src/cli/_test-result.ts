/** One test result for humans (stderr): `kiln test` and `kiln dev --test`. */
import type { QemuTestResult } from '../qemu/index.js';

/** Human report of one result (stderr). */
export function formatResult(r: QemuTestResult): string {
  const time = `${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.status === 'passed') {
    const ktap = r.ktap ? `, KTAP ${r.ktap.passed} passed / ${r.ktap.skipped} skipped / ${r.ktap.todo} todo` : '';
    return `PASS ${r.name} [${r.arch}] (${time}${ktap}): ${r.evidence.join('; ')}\n`;
  }
  const lines = [`FAIL ${r.name} [${r.arch}] (${time}): ${r.reason}`];
  if (r.ktap)
    for (const c of r.ktap.cases.filter((x) => x.status === 'fail' || x.status === 'error'))
      lines.push(`  not ok ${c.path.join('.')}${c.diagnostics.length ? `: ${c.diagnostics.join(' | ')}` : ''}`);
  if (r.registers)
    lines.push(
      '  registers (info registers):',
      ...r.registers
        .trimEnd()
        .split('\n')
        .slice(0, 24)
        .map((l) => `    ${l.trimEnd()}`),
    );
  if (r.stderrTail.length) lines.push('  QEMU stderr:', ...r.stderrTail.map((l) => `    ${l}`));
  const failedStep = r.script?.steps.find((st) => st.status === 'failed');
  // A step on another console: its own last lines (serial0's follow anyway).
  const on = failedStep?.tail ? /\bon (serial1|virtcon|monitor)$/.exec(failedStep.step)?.[1] : undefined;
  if (on)
    lines.push(`  last ${failedStep!.tail!.length} lines of ${on}:`, ...failedStep!.tail!.map((l) => `    | ${l}`));
  lines.push(`  last ${r.serialTail.length} serial lines (${r.serialLog}):`, ...r.serialTail.map((l) => `    | ${l}`));
  return `${lines.join('\n')}\n`;
}
