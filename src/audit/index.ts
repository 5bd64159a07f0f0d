/**
 * kiln/audit: checksec as a release gate. Reads an ELF file's security facts (W^X, NX stack,
 * PIE, RELRO, stack protector, fortify, symbols, debug info, entry point, signature, FPU use)
 * and checks them against per-layer policies. Pure: no process is spawned. See README.md.
 */
export { auditElf } from './audit.js';
export type { AuditFinding, AuditOptions, AuditReport, AuditRule } from './audit.js';
export { collectFacts, FORTIFIABLE_FUNCTIONS } from './facts.js';
export type { ElfSecurityFacts, Linkage, LoadSegmentFact } from './facts.js';
export { AUDIT_LAYERS, DEBUG_POLICY, RELEASE_POLICY, parsePolicy, policyFor } from './policy.js';
export type { AuditLayer, AuditPolicy, AuditPolicySet } from './policy.js';
export { renderAuditTable } from './render.js';
