/** `kiln status`: the build status report of the last `kiln build` (run it with --keep-going first). */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { action } from './_shared.js';
import { type ProjectFlags, openProject, projectCommand } from './_project.js';
import type { ClassifyPolicy } from '../report/classify.js';

export interface StatusFlags extends ProjectFlags {
  md?: boolean;
  json?: boolean;
  html?: string;
  record?: boolean;
  promote?: string[];
}

export function registerStatus(program: Command): void {
  projectCommand(
    program
      .command('status')
      .description(
        'report the last build: targets built of total, errors by cause with the fix, per-directory status, changes since the previous report, next actions',
      )
      .option('--md', 'print Markdown (for a pull-request comment)', false)
      .option('--json', 'print the report as JSON', false)
      .option(
        '--html <file>',
        'also write a self-contained HTML page (per-directory table, progress chart over past builds)',
      )
      .option(
        '--promote <flag...>',
        'treat these warning flags as blocking (e.g. -Wimplicit-function-declaration, or * for all)',
      )
      .option('--no-record', 'do not add this report to build/<target>/.kiln/status-history.json'),
  ).action(
    action(async (flags: StatusFlags, cmd: Command) => {
      const { loaded, graph } = await openProject(flags, cmd.args);
      const { bootCriteria, buildStatus, fixHistory, readHistory, renderHtml, renderMarkdown, renderText } =
        await import('../report/index.js');
      // Project rules and promoted warnings from the config's `report` section, once the config
      // schema has one (ClassifyPolicy: { rules?, promoteWarnings? }); --promote adds to it.
      const fromConfig: ClassifyPolicy = loaded.config.report ?? {};
      const policy: ClassifyPolicy = {
        ...(fromConfig.rules ? { rules: fromConfig.rules } : {}),
        promoteWarnings: [...(fromConfig.promoteWarnings ?? []), ...(flags.promote ?? [])],
      };
      const report = await buildStatus({
        project: loaded.config.name,
        projectDir: graph.projectDir,
        buildDir: graph.buildDir,
        record: flags.record ?? true,
        policy,
      });
      // The seed's report: the git history of what was fixed, and what the last boot proved.
      const fixes = report.changes ? fixHistory(graph.projectDir, report.changes) : undefined;
      if (fixes) report.fixHistory = fixes;
      const boot = bootCriteria(graph.buildRoot);
      if (boot) report.lastBoot = boot;
      if (flags.html) writeFileSync(resolve(flags.html), renderHtml(report, readHistory(graph.buildDir).reports));
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
      else if (flags.md) process.stdout.write(renderMarkdown(report));
      else process.stdout.write(renderText(report));
      // Like a linter: a report with blocking errors exits 1, so CI can gate on it.
      if (!report.ok) process.exitCode = 1;
    }),
  );
}
