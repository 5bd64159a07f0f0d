/** `kiln audit FILE...`: checksec as a gate; prints a table and exits 1 when a policy rule is violated. */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  AUDIT_LAYERS,
  auditElf,
  DEBUG_POLICY,
  parsePolicy,
  policyFor,
  RELEASE_POLICY,
  renderAuditTable,
  type AuditLayer,
  type AuditPolicySet,
  type AuditReport,
} from '../audit/index.js';
import { KilnError } from '../errors.js';
import { loadPublicKeyFile } from '../sign/index.js';
import { action, printJson } from './_shared.js';
import { addSectionOptions, collect, sectionsFrom, type SectionFlags } from './_options.js';

interface AuditFlags extends SectionFlags {
  policy: string;
  layer: string;
  key: string[];
  json?: boolean;
  all?: boolean;
}

async function loadPolicySet(name: string): Promise<AuditPolicySet> {
  if (name === 'release') return RELEASE_POLICY;
  if (name === 'debug') return DEBUG_POLICY;
  let text: string;
  try {
    text = await readFile(name, 'utf8');
  } catch {
    throw new KilnError(
      'AUDIT_POLICY_MISSING',
      `policy ${JSON.stringify(name)} is neither release, debug nor a readable JSON file`,
      { exitCode: 2, hint: 'use --policy release, --policy debug or --policy FILE.json' },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new KilnError('AUDIT_POLICY_INVALID', `not valid JSON: ${(error as Error).message}`, {
      location: { file: name },
      exitCode: 2,
    });
  }
  return parsePolicy(value, name);
}

function jsonSafe(report: AuditReport): unknown {
  return JSON.parse(
    JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value)),
  );
}

export function registerAudit(program: Command): void {
  const command = program
    .command('audit')
    .description(
      'check ELF files against a hardening policy (W^X, NX stack, PIE, RELRO, canary, fortify, stripped, debug info, entry, signature, FPU); exit 1 on violations',
    )
    .argument('<files...>', 'ELF files to audit')
    .option('--policy <name>', 'release | debug | a JSON policy file', 'release')
    .option('--layer <layer>', `which layer's rules: ${AUDIT_LAYERS.join(' | ')}`, 'userspace')
    .option('--key <file>', 'public key to check signatures with (repeatable)', collect, [])
    .option('--all', 'show every rule, not only violations and unknowns')
    .option('--json', 'print the reports as JSON');
  addSectionOptions(command).action(
    action(async (files: string[], flags: AuditFlags) => {
      if (!AUDIT_LAYERS.includes(flags.layer as AuditLayer)) {
        throw new KilnError('AUDIT_BAD_LAYER', `--layer ${JSON.stringify(flags.layer)} is not a layer`, {
          exitCode: 2,
          hint: `use one of: ${AUDIT_LAYERS.join(', ')}`,
        });
      }
      const set = await loadPolicySet(flags.policy);
      const policy = policyFor(set, flags.layer as AuditLayer);
      const keys = await Promise.all(flags.key.map((k) => loadPublicKeyFile(k)));
      const reports: AuditReport[] = [];
      for (const file of files) {
        const s = await stat(file).catch(() => undefined);
        if (s && !s.isFile())
          throw new KilnError(
            'AUDIT_NOT_A_FILE',
            `is ${s.isDirectory() ? 'a folder' : 'not a regular file'}, not an ELF file`,
            { location: { file }, hint: 'give the ELF files to audit (a shell glob such as dir/*.elf works)' },
          );
        reports.push(
          await auditElf(new Uint8Array(await readFile(file)), {
            artifact: file,
            policy,
            keys,
            signSections: sectionsFrom(flags),
          }),
        );
      }
      const ok = reports.every((r) => r.ok);
      process.exitCode = ok ? 0 : 1;
      if (flags.json) {
        printJson({ ok, policy: set.name, layer: flags.layer, reports: reports.map(jsonSafe) });
        return;
      }
      process.stdout.write(`policy ${set.name}, layer ${flags.layer}\n`);
      process.stdout.write(renderAuditTable(reports, { onlyProblems: !flags.all }));
    }),
  );
}
