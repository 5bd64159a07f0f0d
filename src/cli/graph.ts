/** `kiln graph`: the planned steps and their dependencies, as text, Graphviz dot or Mermaid. */
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import type { Graph } from '../graph/graph.js';
import { action, printJson } from './_shared.js';
import { type ProjectFlags, cachedProject, openProject, projectCommand } from './_project.js';

export function renderGraph(graph: Graph, format: string): string {
  const id = (name: string) => `"${name.replace(/"/g, '\\"')}"`;
  switch (format) {
    case 'dot':
      return [
        'digraph kiln {',
        '  rankdir=LR;',
        '  node [shape=box, fontname="monospace"];',
        ...graph.steps.map((s) => `  ${id(s.name)} [label="${s.name}\\n(${s.handle.kind.kind})"];`),
        ...graph.steps.flatMap((s) => s.deps.map((d) => `  ${id(d.name)} -> ${id(s.name)};`)),
        '}',
      ].join('\n');
    case 'mermaid': {
      const mid = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
      return [
        'graph LR',
        ...graph.steps.map((s) => `  ${mid(s.name)}["${s.name} (${s.handle.kind.kind})"]`),
        ...graph.steps.flatMap((s) => s.deps.map((d) => `  ${mid(d.name)} --> ${mid(s.name)}`)),
      ].join('\n');
    }
    default:
      return graph.steps
        .map((s) => {
          const deps = s.deps.length ? ` ← ${s.deps.map((d) => d.name).join(', ')}` : '';
          const outs = s.outputs.length ? `\n    → ${s.outputs.join(', ')}` : '';
          return `${s.name} (${s.handle.kind.kind})${deps}${outs}`;
        })
        .join('\n');
  }
}

export function registerGraph(program: Command): void {
  projectCommand(
    program
      .command('graph')
      .description('show the planned build graph')
      .option('-f, --format <format>', 'text | dot | mermaid | json', 'text')
      .option('--json', 'same as --format json (errors are JSON too)', false),
  ).action(
    action(async (flags: ProjectFlags & { format: string; json?: boolean }, cmd: Command) => {
      if (flags.json) flags.format = 'json';
      // The plan cache serves it when the config and what it read did not change (no config load).
      const { key, hit } = await cachedProject(flags, cmd.args);
      const graph = hit?.graph ?? (await openProject(flags, cmd.args, process.env, key)).graph;
      if (!['text', 'dot', 'mermaid', 'json'].includes(flags.format)) {
        throw new KilnError(
          'CLI_BAD_OPTION',
          `--format: expected text | dot | mermaid | json, got ${JSON.stringify(flags.format)}`,
          { exitCode: 2 },
        );
      }
      if (flags.format === 'json') {
        printJson({
          target: graph.target,
          steps: graph.steps.map((s) => ({
            name: s.name,
            kind: s.handle.kind.kind,
            configPath: s.configPath,
            deps: s.deps.map((d) => d.name),
            outputs: s.outputs,
          })),
        });
        return;
      }
      process.stdout.write(`${renderGraph(graph, flags.format)}\n`);
    }),
  );
}
