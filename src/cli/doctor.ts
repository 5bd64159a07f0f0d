/** `kiln doctor`: what the project (or kiln in general) needs, what is missing, and the fix. */
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { planGraph } from '../graph/plan.js';
import { dirname } from 'node:path';
import { ALL_TOOLS, runDoctor } from '../toolchain/doctor.js';
import { type ToolchainPin, findToolchainPin } from '../toolchain/rust-target.js';
import { DEBIAN_PACKAGES } from '../toolchain/tools.js';
import { action, printJson } from './_shared.js';
import { green, red } from './_reporters.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the tools the project needs (versions, firmware, Rust routes) and say how to fix what is missing',
    )
    .option(
      '-c, --config <file>',
      'the kiln.config.ts to check (default: found from here; without one, every tool kiln knows)',
    )
    .option('--all', "check every tool kiln knows, not only the project's", false)
    .option('--fix', 'install what is missing (Debian/Ubuntu, as root)', false)
    .option('--json', 'print the checks as JSON', false)
    .action(
      action(async (flags: { config?: string; all: boolean; fix: boolean; json: boolean }) => {
        const tools: Record<string, string> = {};
        let project: string | undefined;
        let pin: ToolchainPin | undefined;
        if (!flags.all) {
          try {
            const loaded = await loadConfig(flags.config);
            project = loaded.config.name;
            pin = findToolchainPin(dirname(loaded.path), dirname(loaded.path));
            const arches = Array.isArray(loaded.config.arch) ? loaded.config.arch : [loaded.config.arch ?? 'x86_64'];
            for (const arch of arches) {
              const graph = await planGraph(loaded, { arch });
              for (const s of graph.steps)
                for (const t of s.declaration.tools ?? [])
                  tools[t.split('/').pop()!] = `step ${s.name} (${s.handle.kind.kind})`;
              for (const s of graph.steps) if (s.handle.kind.kind.startsWith('zig')) tools.zig = `step ${s.name}`;
              if (graph.project.run || graph.project.tests) tools[`qemu-system-${arch}`] = 'kiln run / kiln test';
              // Debian's gdb debugs the host's arch only; another arch needs gdb-multiarch (or a cross gdb).
              if ((graph.project.run || graph.project.tests) && arch === 'aarch64')
                tools['gdb-multiarch'] = 'kiln run --gdb on aarch64 (the host gdb debugs x86 only)';
            }
          } catch (error) {
            if (flags.config) throw error;
          }
        }
        if (Object.keys(tools).length === 0) Object.assign(tools, ALL_TOOLS);
        let checks = await runDoctor(tools, process.env, pin);
        const missing = checks.filter((c) => !c.ok);
        if (flags.fix && missing.length) {
          const packages = [
            ...new Set(
              missing.map((c) => DEBIAN_PACKAGES[c.name]).filter((p): p is string => !!p && !p.startsWith('zig')),
            ),
          ];
          if (packages.length && process.getuid?.() === 0) {
            process.stderr.write(`kiln doctor: apt-get install -y ${packages.join(' ')}\n`);
            spawnSync('apt-get', ['install', '-y', '-qq', ...packages], {
              stdio: 'inherit',
              env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
            });
            checks = await runDoctor(tools, process.env, pin);
          } else if (packages.length) {
            process.stderr.write(
              `kiln doctor: --fix installs packages as root; run: sudo apt-get install -y ${packages.join(' ')}\n`,
            );
          }
        }
        if (flags.json) {
          printJson({ project, ok: checks.every((c) => c.ok), checks });
        } else {
          if (project) process.stdout.write(`kiln doctor: ${project}\n`);
          for (const c of checks) {
            process.stdout.write(
              `${c.ok ? green('ok     ') : red('MISSING')} ${c.name}${c.version ? ` — ${c.version}` : c.found ? ` — ${c.found}` : ''}\n`,
            );
            if (!c.ok) process.stdout.write(`        needed for: ${c.needed}\n        fix: ${c.fix}\n`);
          }
        }
        if (checks.some((c) => !c.ok)) process.exitCode = 1;
      }),
    );
}
