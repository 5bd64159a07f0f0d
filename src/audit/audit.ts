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
  const checks: Array<Check | undefined> = [
    wxorxCheck(facts, policy),
    nxStackCheck(facts, policy),
    pieCheck(facts, policy),
    relroCheck(facts, policy),
    stackProtectorCheck(facts, policy),
    fortifyCheck(facts, policy),
    strippedCheck(facts, policy),
    debugInfoCheck(facts, policy),
    entryCheck(facts, policy),
    { rule: 'load-address', want: undefined, ok: undefined, evidence: loadAddressText(facts) },
    await signatureCheck(bytes, facts, options),
    noFpuCheck(facts, policy),
    stackProbesCheck(facts, policy),
    panicAbortCheck(facts, policy),
    cfiCheck(facts),
  ];
  const unknownSeverity: AuditFinding['severity'] = policy.strictUnknown ? 'error' : 'warning';
  const findings = checks.flatMap((c) => (c ? [findingOf(c, artifact, unknownSeverity)] : []));
  return { artifact, facts, findings, ok: !findings.some((f) => f.severity === 'error') };
}

/** One rule's result: `want` undefined = info only; `ok` undefined = cannot tell. */
interface Check {
  rule: AuditRule;
  want: string | undefined;
  ok: boolean | undefined;
  evidence: string;
}

function findingOf(c: Check, artifact: string, unknownSeverity: AuditFinding['severity']): AuditFinding {
  const { rule, want, ok, evidence } = c;
  if (want === undefined) return { rule, artifact, status: 'info', severity: 'info', evidence };
  if (ok === undefined)
    return { rule, artifact, status: 'unknown', severity: unknownSeverity, evidence, expected: want };
  return { rule, artifact, status: ok ? 'pass' : 'fail', severity: ok ? 'info' : 'error', evidence, expected: want };
}

/** `text` when the policy asks for the rule, else undefined (the finding is info only). */
const on = (flag: boolean | undefined, text: string) => (flag ? text : undefined);

function wxorxCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  const loadsText = facts.loads.map((l) => `#${l.index} ${l.flags}`).join(', ') || 'no PT_LOAD';
  return {
    rule: 'wxorx',
    want: on(policy.wxorx, 'no writable+executable segment'),
    ok: facts.writableExecutable.length === 0,
    evidence: facts.writableExecutable.length
      ? `RWX segment(s) ${facts.writableExecutable.map((i) => `#${i}`).join(', ')} (${loadsText})`
      : `segments: ${loadsText}`,
  };
}

function nxStackCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  return {
    rule: 'nx-stack',
    want: on(policy.nxStack, 'PT_GNU_STACK without X'),
    ok: facts.stack === 'rw',
    evidence:
      facts.stack === 'missing'
        ? 'no PT_GNU_STACK (the loader makes the stack executable)'
        : `PT_GNU_STACK ${facts.stack.toUpperCase()}`,
  };
}

/** None for a relocatable object. */
function pieCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check | undefined {
  if (facts.linkage === 'relocatable') return undefined;
  const isPie = facts.linkage === 'pie' || facts.linkage === 'static-pie';
  return {
    rule: 'pie',
    want: policy.pie === 'required' ? 'PIE' : policy.pie === 'forbidden' ? 'fixed-address executable' : undefined,
    ok: policy.pie === 'required' ? isPie : !isPie && facts.linkage !== 'shared-object',
    evidence: `${facts.type}, ${facts.linkage}${facts.interpreter ? `, interpreter ${facts.interpreter}` : ''}`,
  };
}

function relroCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  if (!policy.relro || policy.relro === 'any')
    return { rule: 'relro', want: undefined, ok: undefined, evidence: `${facts.relro} RELRO` };
  return {
    rule: 'relro',
    want: `${policy.relro} RELRO`,
    ok: policy.relro === 'full' ? facts.relro === 'full' : facts.relro !== 'none',
    evidence: `${facts.relro} RELRO (PT_GNU_RELRO ${facts.relro === 'none' ? 'absent' : 'present'}, BIND_NOW ${facts.bindNow ? 'set' : 'not set'})`,
  };
}

function stackProtectorCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  return {
    rule: 'stack-protector',
    want: on(policy.stackProtector, 'stack protector'),
    ok: facts.stackProtector === 'unknown' ? undefined : facts.stackProtector === 'yes',
    evidence:
      facts.stackProtector === 'yes'
        ? `references ${facts.stackProtectorSymbols.join(', ')}`
        : facts.stackProtector === 'no'
          ? 'no __stack_chk_fail / __stack_chk_guard reference'
          : 'no symbols to look at (stripped and static)',
  };
}

function fortifyCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  const noSymbols = facts.stripped && !facts.hasDynamicSymbols;
  const evidence = facts.fortified.length
    ? `fortified: ${facts.fortified.join(', ')}${facts.fortifiable.length ? `; unfortified: ${facts.fortifiable.join(', ')}` : ''}`
    : facts.fortifiable.length
      ? `calls ${facts.fortifiable.join(', ')} without __*_chk variants`
      : noSymbols
        ? 'no symbols to look at'
        : 'no fortifiable libc calls';
  const ok = facts.fortified.length > 0 ? true : facts.fortifiable.length > 0 ? false : noSymbols ? undefined : true;
  return { rule: 'fortify', want: on(policy.fortify, '_FORTIFY_SOURCE'), ok, evidence };
}

function strippedCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  return {
    rule: 'stripped',
    want: policy.stripped === undefined ? undefined : policy.stripped ? 'stripped' : 'symbols kept',
    ok: facts.stripped === policy.stripped,
    evidence: facts.stripped ? 'no .symtab' : '.symtab present',
  };
}

const DEBUG_INFO_WANT = {
  required: 'DWARF in the file',
  forbidden: 'no DWARF in the file',
  separate: 'DWARF split out (.gnu_debuglink)',
};

function debugInfoCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
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
  return { rule: 'debug-info', want: mode && mode !== 'any' ? DEBUG_INFO_WANT[mode] : undefined, ok, evidence };
}

function entryCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
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
  return {
    rule: 'entry',
    want: on(policy.entryInSegment, 'entry in an executable segment, segments inside the file'),
    ok: problems.length === 0,
    evidence,
  };
}

function loadAddressText(facts: ElfSecurityFacts): string {
  return `load address ${hex(facts.loadAddress)} (virtual ${hex(facts.loadVirtualAddress)})`;
}

/** The signature sections are there; with keys, the signature verifies. */
async function signatureCheck(bytes: Uint8Array, facts: ElfSecurityFacts, options: AuditOptions): Promise<Check> {
  const { policy } = options;
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
  return {
    rule: 'signature',
    want: on(policy.requireSignature, 'signed (and valid with the given keys)'),
    ok,
    evidence,
  };
}

function noFpuCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  return {
    rule: 'no-fpu',
    want: on(policy.noFpu, 'no FPU/SIMD use'),
    ok: facts.fpu.status === 'unknown' ? undefined : facts.fpu.status === 'none',
    evidence: facts.fpu.evidence,
  };
}

function stackProbesCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  return {
    rule: 'stack-probes',
    want: on(policy.stackProbes, 'stack probes'),
    ok: facts.stackProbes === 'unknown' ? undefined : facts.stackProbes === 'yes',
    evidence:
      facts.stackProbes === 'unknown'
        ? 'no symbols to look at'
        : facts.stackProbes === 'yes'
          ? 'a stack-probe helper is referenced'
          : 'no stack-probe helper referenced',
  };
}

function panicAbortCheck(facts: ElfSecurityFacts, policy: AuditPolicy): Check {
  return {
    rule: 'panic-abort',
    want: on(policy.panicAbort, 'no unwinding runtime'),
    ok: facts.unwinding === 'unknown' ? undefined : facts.unwinding === 'no',
    evidence:
      facts.unwinding === 'unknown'
        ? 'no symbols to look at'
        : facts.unwinding === 'yes'
          ? 'references an unwinder (_Unwind_Resume / a personality routine)'
          : 'no unwinder referenced',
  };
}

function cfiCheck(facts: ElfSecurityFacts): Check {
  return {
    rule: 'cfi',
    want: undefined,
    ok: undefined,
    evidence: facts.cfiFeatures.length
      ? `GNU property: ${facts.cfiFeatures.join(', ')}`
      : 'no IBT/SHSTK/BTI/PAC property',
  };
}
