/** `kiln repro`: build the target twice under reprotest-style variations and compare every output. */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import type { Difference } from '../repro/diff.js';
import { reproduce, type ReproBuild, type ReproReport } from '../repro/twice.js';
import { action, printJson } from './_shared.js';
import { type ProjectFlags, openProject, projectCommand } from './_project.js';

interface ReproFlags extends ProjectFlags {
  json?: boolean;
  keep?: boolean;
}

/** The arguments both builds get: the target flags and the project options, config relative to the copy. */
function forwardedArgs(flags: ReproFlags, rest: string[], configRel: string): string[] {
  return [
    '--config',
    configRel,
    ...(flags.arch ? ['--arch', flags.arch] : []),
    ...(flags.profile ? ['--profile', flags.profile] : []),
    ...(flags.allowDevKey ? ['--allow-dev-key'] : []),
    ...rest,
  ];
}

function renderDifference(d: Difference): string[] {
  const lines = [`    ${d.where.join(' › ')}: ${d.what}`];
  for (const s of d.onlyA ?? []) lines.push(`      A: ${JSON.stringify(s)}`);
  for (const s of d.onlyB ?? []) lines.push(`      B: ${JSON.stringify(s)}`);
  return lines;
}

function renderFailure(build: ReproBuild): string {
  const f = build.failure;
  if (!f) return `build ${build.variation.label} failed: ${build.stderr.trim().split('\n').slice(-5).join('\n  ')}`;
  return [
    `build ${build.variation.label} failed in step "${f.step}": ${f.info.message}`,
    ...f.info.tail.slice(-10).map((l) => `  ${l}`),
  ].join('\n');
}

function renderReport(report: ReproReport): string {
  const lines: string[] = [];
  for (const b of report.builds) {
    const env = Object.entries(b.variation.env)
      .map(([k, v]) => `${k}=${v ?? '(unset)'}`)
      .join(' ');
    lines.push(`build ${b.variation.label}: ${b.variation.dir} (umask ${b.variation.umask}, ${env})`);
  }
  const failed = report.builds.find((b) => !b.ok);
  if (failed) return [...lines, renderFailure(failed)].join('\n');
  for (const o of report.outputs) {
    if (o.identical) {
      lines.push(`  identical  ${o.file} (${o.step})`);
      continue;
    }
    if (o.followsFrom) {
      lines.push(
        `  DIFFERS    ${o.file} (${o.step}): follows from "${o.followsFrom}"; first difference: ${o.differences[0]!.where.slice(1).join(' › ') || 'bytes'}`,
      );
      continue;
    }
    lines.push(`  DIFFERS    ${o.file} (${o.step})`);
    for (const d of o.differences) lines.push(...renderDifference(d));
    if (o.note) lines.push(`    note: ${o.note}`);
  }
  const differing = report.outputs.filter((o) => !o.identical).length;
  lines.push(
    differing === 0
      ? `kiln repro: ${report.target}: all ${report.outputs.length} outputs are bit-identical`
      : `kiln repro: ${report.target}: ${differing} of ${report.outputs.length} outputs differ`,
  );
  return lines.join('\n');
}

function toJson(report: ReproReport): unknown {
  return {
    ok: report.ok,
    target: report.target,
    builds: report.builds.map((b) => ({
      label: b.variation.label,
      dir: b.variation.dir,
      umask: b.variation.umask,
      env: b.variation.env,
      ok: b.ok,
      ...(b.failure ? { failure: b.failure } : {}),
    })),
    outputs: report.outputs,
  };
}

export function registerRepro(program: Command): void {
  projectCommand(
    program
      .command('repro')
      .description(
        'build the target twice in two temporary folders (different paths, umask, locale, time zone, SOURCE_DATE_EPOCH) and compare every output',
      )
      .argument('[steps...]', 'only these steps (and what they need)')
      .option('--json', 'print the comparison as JSON', false)
      .option('--keep', 'keep the two temporary copies (their paths are printed)', false),
  ).action(
    action(async (_steps: string[], flags: ReproFlags, cmd: Command) => {
      if (flags.buildDir) {
        throw new KilnError('REPRO_BUILD_DIR', '--build-dir cannot be used with kiln repro', {
          hint: 'each of the two builds uses the build/ folder of its own copy',
          exitCode: 2,
        });
      }
      const project = await openProject(flags, cmd.args);
      const projectDir = project.graph.projectDir;
      const configRel = relative(projectDir, project.loaded.path);
      if (configRel.startsWith('..')) {
        throw new KilnError(
          'REPRO_CONFIG_OUTSIDE',
          `the config ${project.loaded.path} is outside the project folder ${projectDir}`,
          { exitCode: 2 },
        );
      }
      const progress = flags.json ? undefined : (line: string) => process.stderr.write(`kiln repro: ${line}\n`);
      const report = await reproduce({
        projectDir,
        buildArgs: forwardedArgs(flags, cmd.args, configRel),
        keep: flags.keep ?? false,
        ...(progress ? { onProgress: progress } : {}),
      });
      if (flags.json) printJson(toJson(report));
      else process.stdout.write(`${renderReport(report)}\n`);
      if (!report.ok) process.exitCode = 1;
    }),
  );
}
