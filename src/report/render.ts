/**
 * Renderers of a {@link StatusReport}: terminal text, Markdown (a PR comment), and one
 * self-contained HTML page (inline CSS, per-directory table, an inline SVG chart of the history).
 */
import type { HistoryEntry, StatusReport } from './status.js';

const ICON = { ok: '✅', warnings: '⚠️', errors: '❌', pending: '⏳' } as const;

function headline(r: StatusReport): string {
  const t = r.targets
    ? `${r.targets.built}/${r.targets.total} targets built (${r.targets.source === 'ninja-dry-run' ? 'Ninja' : '.ninja_log'})`
    : '';
  const s = `${r.steps.ok}/${r.steps.total} steps ok`;
  return `${r.ok ? 'green' : `${r.counts.blocking} blocking error${r.counts.blocking === 1 ? '' : 's'}`} · ${[s, t].filter(Boolean).join(' · ')} · ${r.counts.warnings} warning${r.counts.warnings === 1 ? '' : 's'}`;
}

/** `clang 14.0.6 · cmake 3.25.1 · ninja 1.11.1`: each tool with the version number from its --version line. */
function toolchainLine(r: StatusReport): string | undefined {
  if (!r.toolchain?.length) return undefined;
  return r.toolchain
    .map((t) => `${t.name} ${/\d+\.\d+(\.\d+)?/.exec(t.version ?? '')?.[0] ?? '(version unknown)'}`)
    .join(' · ');
}

/**
 * Plain terminal text.
 *
 * @example
 * process.stdout.write(renderText(report))
 */
export function renderText(r: StatusReport): string {
  const out: string[] = [];
  out.push(`kiln status: ${r.project} ${r.target} (build of ${new Date(r.buildTime).toISOString()})`);
  out.push(`  ${headline(r)}`);
  const tools = toolchainLine(r);
  if (tools) out.push(`  toolchain: ${tools}`);
  const bad = r.steps.list.filter((s) => s.status === 'failed' || s.status === 'skipped');
  for (const s of bad) out.push(`  step ${s.name} (${s.kind}): ${s.status}${s.message ? ` — ${s.message}` : ''}`);
  for (const s of r.targets?.byStep ?? [])
    if (s.notLinked.length) out.push(`  not linked yet (${s.step}): ${s.notLinked.join(', ')}`);
  if (r.classes.length) {
    out.push('', 'Blocking errors by cause:');
    for (const c of r.classes) {
      out.push(`  ${c.title} [${c.id}]: ${c.count}${c.followOn ? ` (+${c.followOn} follow-on)` : ''}`);
      for (const l of c.locations) out.push(`    at ${l}`);
      for (const f of c.fixes) out.push(`    fix: ${f}`);
    }
  }
  if (r.directories.length) {
    out.push('', 'Directories:');
    const w = Math.max(...r.directories.map((d) => d.dir.length));
    for (const d of r.directories) {
      const t = d.targets ? ` ${d.targets.built}/${d.targets.total} built` : '';
      out.push(
        `  ${d.status.padEnd(8)} ${d.dir.padEnd(w)}${t}${d.errors ? ` ${d.errors} error(s)` : ''}${d.warnings ? ` ${d.warnings} warning(s)` : ''}`,
      );
    }
  }
  if (r.changes) {
    out.push(
      '',
      `Since the build of ${new Date(r.changes.since).toISOString()}: ${r.changes.fixed.length} fixed, ${r.changes.new.length} new, ${r.changes.remaining} remaining`,
    );
    for (const e of r.changes.fixed) out.push(`  fixed: ${e.location} ${e.message} [${e.class}]`);
    for (const e of r.changes.new) out.push(`  new:   ${e.location} ${e.message} [${e.class}]`);
  }
  out.push(...fixHistoryText(r), ...lastBootText(r));
  out.push('', 'Next:');
  r.nextActions.forEach((a, i) => {
    out.push(`  ${i + 1}. ${a.title}`);
    if (a.command) out.push(`       $ ${a.command}`);
  });
  return `${out.join('\n')}\n`;
}

// Backticks stay (fix hints quote code); pipes would end a table cell, < > would be HTML.
const mdEscape = (s: string): string => s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Markdown for a pull-request comment.
 *
 * @example
 * writeFileSync('status.md', renderMarkdown(report))
 */
export function renderMarkdown(r: StatusReport): string {
  const out: string[] = [];
  out.push(`## ${r.ok ? '🟢' : '🔴'} ${r.project} ${r.target} build status`, '', `**${headline(r)}**`, '');
  if (toolchainLine(r)) out.push(`Toolchain: ${toolchainLine(r)}`, '');
  for (const s of r.targets?.byStep ?? [])
    if (s.notLinked.length)
      out.push(`Not linked yet (${s.step}): ${s.notLinked.map((x) => `\`${x}\``).join(', ')}`, '');
  if (r.classes.length) {
    out.push(
      '### Blocking errors by cause',
      '',
      '| cause | count | first locations | fix |',
      '| --- | ---: | --- | --- |',
    );
    for (const c of r.classes)
      out.push(
        `| ${mdEscape(c.title)} | ${c.count}${c.followOn ? ` (+${c.followOn})` : ''} | ${c.locations.map((l) => `\`${l}\``).join('<br>')} | ${mdEscape(c.fixes[0] ?? '')} |`,
      );
    out.push('');
  }
  if (r.directories.length) {
    out.push(
      '### Directories',
      '',
      '| directory | status | targets | errors | warnings |',
      '| --- | --- | --- | ---: | ---: |',
    );
    for (const d of r.directories)
      out.push(
        `| \`${d.dir}\` | ${ICON[d.status]} ${d.status} | ${d.targets ? `${d.targets.built}/${d.targets.total}` : ''} | ${d.errors} | ${d.warnings} |`,
      );
    out.push('');
  }
  if (r.changes) {
    out.push(
      '### Since the previous build',
      '',
      `${r.changes.fixed.length} fixed, ${r.changes.new.length} new, ${r.changes.remaining} remaining`,
      '',
    );
    for (const e of r.changes.fixed) out.push(`- ✅ fixed: \`${e.location}\` ${mdEscape(e.message)} (${e.class})`);
    for (const e of r.changes.new) out.push(`- 🆕 new: \`${e.location}\` ${mdEscape(e.message)} (${e.class})`);
    out.push('');
  }
  const extra = [...fixHistoryText(r), ...lastBootText(r)];
  if (extra.length) out.push('```', ...extra.filter((l, i) => i > 0 || l !== ''), '```', '');
  out.push('### Next actions', '');
  r.nextActions.forEach((a, i) => {
    out.push(`${i + 1}. ${mdEscape(a.title)}`);
    if (a.command) out.push('', '   ```sh', `   ${a.command}`, '   ```');
  });
  return `${out.join('\n')}\n`;
}

function limitsOf(m: { min?: number; max?: number; note?: string }): string {
  return [m.min !== undefined ? `min ${m.min}` : '', m.max !== undefined ? `max ${m.max}` : '', m.note ?? '']
    .filter(Boolean)
    .join(', ');
}

/** The commits since the previous report that touched the fixed files. */
function fixHistoryText(r: StatusReport): string[] {
  const h = r.fixHistory;
  if (!h) return [];
  const out = ['', `Fixes in git since ${new Date(h.since * 1000).toISOString()} (${h.files.join(', ')}):`];
  if (h.note) out.push(`  ${h.note}`);
  else if (h.commits.length === 0) out.push('  no commit touched these files yet (fixed in the working tree)');
  for (const c of h.commits)
    out.push(`  ${c.hash} ${c.date} ${c.subject}${c.files.length ? ` (${c.files.join(', ')})` : ''}`);
  return out;
}

/** The success criteria of the last `kiln test`. */
function lastBootText(r: StatusReport): string[] {
  const b = r.lastBoot;
  if (!b) return [];
  const out = ['', `Last boot (kiln test at ${new Date(b.time * 1000).toISOString()}):`];
  for (const t of b.results) {
    out.push(`  ${t.status === 'passed' ? 'PASS' : 'FAIL'} ${t.name} [${t.arch}]${t.reason ? `: ${t.reason}` : ''}`);
    for (const c of t.elf ?? []) out.push(`    ${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`);
    const matched = t.expectations.filter((e) => e.matched).length;
    out.push(
      `    ${matched === t.expectations.length ? 'ok  ' : 'FAIL'} serial: ${matched}/${t.expectations.length} expectations matched`,
    );
    for (const m of t.measurements) out.push(`    ${m.ok ? 'ok  ' : 'FAIL'} ${m.name}: ${m.value} (${limitsOf(m)})`);
  }
  return out;
}

const html = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * An inline SVG line chart: targets built (share of total) and blocking errors over the history.
 *
 * @example
 * progressChart(history.reports) // '<svg ...>...</svg>'
 */
export function progressChart(history: HistoryEntry[], width = 640, height = 200): string {
  const pad = 30;
  const pts = history.slice(-50);
  if (pts.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img"><text x="10" y="20">no history yet</text></svg>`;
  const maxErr = Math.max(1, ...pts.map((p) => p.blocking));
  const x = (i: number): number =>
    pad + (pts.length === 1 ? (width - 2 * pad) / 2 : (i * (width - 2 * pad)) / (pts.length - 1));
  const yShare = (p: HistoryEntry): number => height - pad - (p.total ? p.built / p.total : 0) * (height - 2 * pad);
  const yErr = (p: HistoryEntry): number => height - pad - (p.blocking / maxErr) * (height - 2 * pad);
  const line = (f: (p: HistoryEntry) => number): string =>
    pts.map((p, i) => `${x(i).toFixed(1)},${f(p).toFixed(1)}`).join(' ');
  const dots = pts
    .map(
      (p, i) =>
        `<circle cx="${x(i).toFixed(1)}" cy="${yShare(p).toFixed(1)}" r="3" fill="#2e7d32"><title>${html(new Date(p.buildTime).toISOString())}: ${p.built}/${p.total} built, ${p.blocking} blocking</title></circle>`,
    )
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="build progress">`,
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#999"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#999"/>`,
    `<text x="2" y="${pad}" font-size="10">100%</text><text x="2" y="${height - pad}" font-size="10">0</text>`,
    `<polyline fill="none" stroke="#2e7d32" stroke-width="2" points="${line(yShare)}"/>`,
    `<polyline fill="none" stroke="#c62828" stroke-width="2" stroke-dasharray="4 3" points="${line(yErr)}"/>`,
    dots,
    `<text x="${pad + 5}" y="${height - 8}" font-size="11" fill="#2e7d32">targets built (share)</text>`,
    `<text x="${pad + 170}" y="${height - 8}" font-size="11" fill="#c62828">blocking errors (max ${maxErr})</text>`,
    '</svg>',
  ].join('');
}

/** A status mark drawn as inline SVG (emoji need fonts a CI machine may lack), with its word for readers. */
function mark(status: 'ok' | 'warnings' | 'errors' | 'pending'): string {
  const shapes: Record<typeof status, string> = {
    ok: '<circle cx="7" cy="7" r="6" fill="#2e7d32"/><path d="M3.5 7.2l2.3 2.3 4.7-4.9" stroke="#fff" stroke-width="1.8" fill="none"/>',
    warnings:
      '<path d="M7 1l6 11.5H1z" fill="#ef6c00"/><rect x="6.2" y="4.5" width="1.6" height="4.5" fill="#fff"/><rect x="6.2" y="10" width="1.6" height="1.5" fill="#fff"/>',
    errors:
      '<circle cx="7" cy="7" r="6" fill="#c62828"/><path d="M4.3 4.3l5.4 5.4M9.7 4.3l-5.4 5.4" stroke="#fff" stroke-width="1.8"/>',
    pending:
      '<circle cx="7" cy="7" r="5.2" fill="none" stroke="#757575" stroke-width="1.6"/><path d="M7 3.8V7l2.2 1.6" stroke="#757575" stroke-width="1.4" fill="none"/>',
  };
  return `<svg class="mark" width="14" height="14" viewBox="0 0 14 14" role="img" aria-label="${status}">${shapes[status]}</svg>`;
}

function fixHistoryHtml(r: StatusReport): string {
  const h = r.fixHistory;
  if (!h) return '';
  const rows = h.commits
    .map(
      (c) =>
        `<tr><td><code>${html(c.hash)}</code></td><td>${html(c.date)}</td><td>${html(c.subject)}</td><td>${c.files.map((f) => `<code>${html(f)}</code>`).join('<br>')}</td></tr>`,
    )
    .join('');
  const empty = h.note ?? 'no commit touched these files yet (fixed in the working tree)';
  return `<h2>Fixes in git since the previous report</h2>${rows ? `<table id="fixes"><tr><th>commit</th><th>date</th><th>subject</th><th>fixed files</th></tr>${rows}</table>` : `<p>${html(empty)}</p>`}`;
}

function lastBootHtml(r: StatusReport): string {
  const b = r.lastBoot;
  if (!b) return '';
  const rows = b.results.flatMap((t) => {
    const matched = t.expectations.filter((e) => e.matched).length;
    const lines: Array<[boolean, string, string]> = [
      [t.status === 'passed', `boot ${t.name} [${t.arch}]`, t.status === 'passed' ? 'passed' : (t.reason ?? 'failed')],
      ...(t.elf ?? []).map((c): [boolean, string, string] => [c.ok, c.check, c.detail]),
      [matched === t.expectations.length, 'serial', `${matched}/${t.expectations.length} expectations matched`],
      ...t.measurements.map((m): [boolean, string, string] => [m.ok, m.name, `${m.value} (${limitsOf(m)})`]),
    ];
    return lines.map(
      ([ok, what, detail]) =>
        `<tr class="${ok ? 'ok' : 'errors'}"><td>${mark(ok ? 'ok' : 'errors')} ${ok ? 'ok' : 'failed'}</td><td>${html(what)}</td><td>${html(detail)}</td></tr>`,
    );
  });
  return `<h2>Success criteria of the last boot</h2><p>kiln test at ${html(new Date(b.time * 1000).toISOString())}</p><table id="last-boot"><tr><th>result</th><th>criterion</th><th>detail</th></tr>${rows.join('')}</table>`;
}

/**
 * One self-contained HTML page (no external assets).
 *
 * @example
 * writeFileSync('status.html', renderHtml(report, readHistory(buildDir).reports))
 */
export function renderHtml(r: StatusReport, history: HistoryEntry[]): string {
  const rows = r.directories
    .map(
      (d) =>
        `<tr class="${d.status}"><td><code>${html(d.dir)}</code></td><td>${mark(d.status)} ${d.status}</td><td>${d.targets ? `${d.targets.built}/${d.targets.total}` : ''}</td><td>${d.errors}</td><td>${d.warnings}</td></tr>`,
    )
    .join('\n');
  const causes = r.classes
    .map(
      (c) =>
        `<tr><td>${html(c.title)}<br><small>${html(c.explanation)}</small></td><td>${c.count}</td><td>${c.locations.map((l) => `<code>${html(l)}</code>`).join('<br>')}</td><td>${c.fixes.map(html).join('<br>')}</td></tr>`,
    )
    .join('\n');
  const changes = r.changes
    ? `<h2>Since the previous build</h2><p>${r.changes.fixed.length} fixed, ${r.changes.new.length} new, ${r.changes.remaining} remaining</p><ul>${r.changes.fixed.map((e) => `<li class="fixed">fixed: <code>${html(e.location)}</code> ${html(e.message)}</li>`).join('')}${r.changes.new.map((e) => `<li class="new">new: <code>${html(e.location)}</code> ${html(e.message)}</li>`).join('')}</ul>`
    : '';
  const actions = r.nextActions
    .map((a) => `<li>${html(a.title)}${a.command ? `<pre>${html(a.command)}</pre>` : ''}</li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(r.project)} ${html(r.target)} build status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
svg.mark{vertical-align:-2px}tr.errors td:nth-child(2){color:#c62828}tr.warnings td:nth-child(2){color:#ef6c00}tr.ok td:nth-child(2){color:#2e7d32}
.fixed{color:#2e7d32}.new{color:#c62828}pre{background:#f4f4f4;padding:4px}
</style></head><body>
<h1>${mark(r.ok ? 'ok' : 'errors')} ${html(r.project)} ${html(r.target)}</h1>
<p><strong>${html(headline(r))}</strong><br>build of ${html(new Date(r.buildTime).toISOString())}${toolchainLine(r) ? `<br>toolchain: ${html(toolchainLine(r)!)}` : ''}</p>
<h2>Progress over builds</h2>
${progressChart(history)}
${causes ? `<h2>Blocking errors by cause</h2><table><tr><th>cause</th><th>count</th><th>first locations</th><th>fix</th></tr>\n${causes}</table>` : ''}
<h2>Directories</h2>
<table id="directories"><tr><th>directory</th><th>status</th><th>targets</th><th>errors</th><th>warnings</th></tr>
${rows}
</table>
${changes}
${fixHistoryHtml(r)}
${lastBootHtml(r)}
<h2>Next actions</h2><ol>${actions}</ol>
</body></html>
`;
}
