/**
 * The audit gate: facts (facts.ts) checked against a policy (policy.ts), giving findings with
 * evidence. A finding of severity `error` fails the gate. Pure: takes bytes, returns data.
 */
import { KilnError } from '../errors.js';
import { readElf } from '../formats/elf/index.js';
import { DEFAULT_SIGN_SECTIONS, verifyElf, type SignSections } from '../sign/elf-sign.js';
import type { PublicKey } from '../sign/keys.js';
import { collectFacts, type ElfSecurityFacts } from './facts.js';
import type { AuditPolicy } from './policy.js';

/** Names of the rules, as printed. */
export type AuditRule =
  | 'elf'
  | 'wxorx'
  | 'nx-stack'
  | 'pie'
  | 'relro'
  | 'stack-protector'
  | 'fortify'
  | 'stripped'
  | 'debug-info'
  | 'entry'
  | 'load-address'
  | 'signature'
  | 'no-fpu'
  | 'stack-probes'
  | 'panic-abort'
  | 'cfi';

/** One line of the audit. */
export interface AuditFinding {
  rule: AuditRule;
  artifact: string;
  /** `pass`/`fail` against the policy; `unknown` when the file cannot tell; `info` when the policy has no such rule. */
  status: 'pass' | 'fail' | 'unknown' | 'info';
  /** `error` fails the gate; `warning` and `info` do not. */
  severity: 'error' | 'warning' | 'info';
  /** What was found in the file. */
  evidence: string;
  /** What the policy asked for (absent for info findings). */
  expected?: string;
}

/** The audit of one file. */
export interface AuditReport {
  artifact: string;
  /** Facts read from the file (absent when it is not an ELF file). */
  facts?: ElfSecurityFacts;
  findings: AuditFinding[];
  /** No finding of severity `error`. */
  ok: boolean;
}

/** Options of `auditElf`. */
export interface AuditOptions {
  /** Name shown in findings (a path). */
  artifact: string;
  policy: AuditPolicy;
  /** Public keys to check the signature with; without them only its presence is checked. */
  keys?: readonly PublicKey[];
  signSections?: Partial<SignSections>;
}

const hex = (v: bigint | undefined) => (v === undefined ? 'none' : `0x${v.toString(16)}`);

/**
 * Audits one ELF file against a policy.
 * @example
 * const report = await auditElf(bytes, { artifact: 'kernel.elf', policy: policyFor(RELEASE_POLICY, 'kernel') });
 * if (!report.ok) console.log(renderAuditTable([report]));
 */
export async function auditElf(bytes: Uint8Array, options: AuditOptions): Promise<AuditReport> {
  const { artifact, policy } = options;
  const findings: AuditFinding[] = [];
  let facts: ElfSecurityFacts;
  try {
    facts = collectFacts(readElf(bytes));
  } catch (error) {
    const evidence = error instanceof KilnError ? error.toLine() : String(error);
    return {
      artifact,
      findings: [{ rule: 'elf', artifact, status: 'fail', severity: 'error', evidence, expected: 'an ELF file' }],
      ok: false,
    };
  }
  const unknownSeverity: AuditFinding['severity'] = policy.strictUnknown ? 'error' : 'warning';
  /** Adds a finding: `want` undefined = info; `ok` undefined = unknown. */
  const add = (rule: AuditRule, want: string | undefined, ok: boolean | undefined, evidence: string) => {
    if (want === undefined) findings.push({ rule, artifact, status: 'info', severity: 'info', evidence });
    else if (ok === undefined)
      findings.push({ rule, artifact, status: 'unknown', severity: unknownSeverity, evidence, expected: want });
    else
      findings.push({
        rule,
        artifact,
        status: ok ? 'pass' : 'fail',
        severity: ok ? 'info' : 'error',
        evidence,
        expected: want,
      });
  };
  const on = (flag: boolean | undefined, text: string) => (flag ? text : undefined);

  const loadsText = facts.loads.map((l) => `#${l.index} ${l.flags}`).join(', ') || 'no PT_LOAD';
  add(
    'wxorx',
    on(policy.wxorx, 'no writable+executable segment'),
    facts.writableExecutable.length === 0,
    facts.writableExecutable.length
      ? `RWX segment(s) ${facts.writableExecutable.map((i) => `#${i}`).join(', ')} (${loadsText})`
      : `segments: ${loadsText}`,
  );

  add(
    'nx-stack',
    on(policy.nxStack, 'PT_GNU_STACK without X'),
    facts.stack === 'rw',
    facts.stack === 'missing'
      ? 'no PT_GNU_STACK (the loader makes the stack executable)'
      : `PT_GNU_STACK ${facts.stack.toUpperCase()}`,
  );

  if (facts.linkage !== 'relocatable') {
    const isPie = facts.linkage === 'pie' || facts.linkage === 'static-pie';
    const want =
      policy.pie === 'required' ? 'PIE' : policy.pie === 'forbidden' ? 'fixed-address executable' : undefined;
    add(
      'pie',
      want,
      policy.pie === 'required' ? isPie : !isPie && facts.linkage !== 'shared-object',
      `${facts.type}, ${facts.linkage}${facts.interpreter ? `, interpreter ${facts.interpreter}` : ''}`,
    );
  }

  if (policy.relro && policy.relro !== 'any') {
    const ok = policy.relro === 'full' ? facts.relro === 'full' : facts.relro !== 'none';
    add(
      'relro',
      `${policy.relro} RELRO`,
      ok,
      `${facts.relro} RELRO (PT_GNU_RELRO ${facts.relro === 'none' ? 'absent' : 'present'}, BIND_NOW ${facts.bindNow ? 'set' : 'not set'})`,
    );
  } else add('relro', undefined, undefined, `${facts.relro} RELRO`);

  const spEvidence =
    facts.stackProtector === 'yes'
      ? `references ${facts.stackProtectorSymbols.join(', ')}`
      : facts.stackProtector === 'no'
        ? 'no __stack_chk_fail / __stack_chk_guard reference'
        : 'no symbols to look at (stripped and static)';
  add(
    'stack-protector',
    on(policy.stackProtector, 'stack protector'),
    facts.stackProtector === 'unknown' ? undefined : facts.stackProtector === 'yes',
    spEvidence,
  );

  {
    const evidence = facts.fortified.length
      ? `fortified: ${facts.fortified.join(', ')}${facts.fortifiable.length ? `; unfortified: ${facts.fortifiable.join(', ')}` : ''}`
      : facts.fortifiable.length
        ? `calls ${facts.fortifiable.join(', ')} without __*_chk variants`
        : facts.stripped && !facts.hasDynamicSymbols
          ? 'no symbols to look at'
          : 'no fortifiable libc calls';
    const ok =
      facts.fortified.length > 0
        ? true
        : facts.fortifiable.length > 0
          ? false
          : facts.stripped && !facts.hasDynamicSymbols
            ? undefined
            : true;
    add('fortify', on(policy.fortify, '_FORTIFY_SOURCE'), ok, evidence);
  }

  add(
    'stripped',
    policy.stripped === undefined ? undefined : policy.stripped ? 'stripped' : 'symbols kept',
    facts.stripped === policy.stripped,
    facts.stripped ? 'no .symtab' : '.symtab present',
  );

  {
    const has = facts.debugSections.length > 0;
    const evidence = `${has ? `DWARF: ${facts.debugSections.slice(0, 4).join(', ')}${facts.debugSections.length > 4 ? ', ...' : ''}` : 'no DWARF sections'}${facts.debugLink ? `; .gnu_debuglink -> ${facts.debugLink}` : ''}`;
    const mode = policy.debugInfo;
    const ok =
      mode === 'required'
        ? has
        : mode === 'forbidden'
          ? !has
          : mode === 'separate'
            ? !has && facts.debugLink !== undefined
            : true;
    add(
      'debug-info',
      mode && mode !== 'any'
        ? {
            required: 'DWARF in the file',
            forbidden: 'no DWARF in the file',
            separate: 'DWARF split out (.gnu_debuglink)',
          }[mode]
        : undefined,
      ok,
      evidence,
    );
  }

  {
    const problems: string[] = [];
    if (facts.entryInExecutableSegment === false)
      problems.push(`entry ${hex(facts.entry)} is not inside an executable PT_LOAD`);
    if (facts.badSegments.length)
      problems.push(
        `PT_LOAD ${facts.badSegments.map((i) => `#${i}`).join(', ')} extend(s) past the file or have filesz > memsz`,
      );
    const evidence = problems.length
      ? problems.join('; ')
      : facts.entryInExecutableSegment === undefined
        ? 'no entry point (object or library)'
        : `entry ${hex(facts.entry)} in an executable PT_LOAD`;
    add(
      'entry',
      on(policy.entryInSegment, 'entry in an executable segment, segments inside the file'),
      problems.length === 0,
      evidence,
    );
  }
  add(
    'load-address',
    undefined,
    undefined,
    `load address ${hex(facts.loadAddress)} (virtual ${hex(facts.loadVirtualAddress)})`,
  );

  {
    const sections = { ...DEFAULT_SIGN_SECTIONS, ...options.signSections };
    const present = facts.sectionNames.includes(sections.signature) && facts.sectionNames.includes(sections.manifest);
    let ok: boolean | undefined = present;
    let evidence = present
      ? `${sections.signature} and ${sections.manifest} present`
      : `no ${sections.signature}/${sections.manifest} section`;
    if (present && options.keys && options.keys.length) {
      const result = await verifyElf(bytes, options.keys, { sections });
      ok = result.ok;
      evidence = result.ok ? result.message : `invalid: ${result.message}`;
    } else if (present && policy.requireSignature) {
      evidence += ' (not verified: no public key given)';
    }
    add('signature', on(policy.requireSignature, 'signed (and valid with the given keys)'), ok, evidence);
  }

  add(
    'no-fpu',
    on(policy.noFpu, 'no FPU/SIMD use'),
    facts.fpu.status === 'unknown' ? undefined : facts.fpu.status === 'none',
    facts.fpu.evidence,
  );
  add(
    'stack-probes',
    on(policy.stackProbes, 'stack probes'),
    facts.stackProbes === 'unknown' ? undefined : facts.stackProbes === 'yes',
    facts.stackProbes === 'unknown'
      ? 'no symbols to look at'
      : facts.stackProbes === 'yes'
        ? 'a stack-probe helper is referenced'
        : 'no stack-probe helper referenced',
  );
  add(
    'panic-abort',
    on(policy.panicAbort, 'no unwinding runtime'),
    facts.unwinding === 'unknown' ? undefined : facts.unwinding === 'no',
    facts.unwinding === 'unknown'
      ? 'no symbols to look at'
      : facts.unwinding === 'yes'
        ? 'references an unwinder (_Unwind_Resume / a personality routine)'
        : 'no unwinder referenced',
  );
  add(
    'cfi',
    undefined,
    undefined,
    facts.cfiFeatures.length ? `GNU property: ${facts.cfiFeatures.join(', ')}` : 'no IBT/SHSTK/BTI/PAC property',
  );

  return { artifact, facts, findings, ok: !findings.some((f) => f.severity === 'error') };
}
