// kiln/audit: checksec-style facts of a real executable of this machine, then an audit of it
// against kiln's release policy for the userspace layer, printed as a table.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readElf } from 'kiln/elf';
import { RELEASE_POLICY, auditElf, collectFacts, policyFor, renderAuditTable } from 'kiln/audit';

const path = ['/bin/true', '/usr/bin/true', process.execPath].find((p) => existsSync(p));
const bytes = readFileSync(path);
const facts = collectFacts(readElf(bytes));
console.log(`${path}: ${facts.machine} ${facts.type} (${facts.linkage}), stack ${facts.stack}, relro ${facts.relro}, stack protector ${facts.stackProtector}`);

const report = await auditElf(bytes, { artifact: path, policy: policyFor(RELEASE_POLICY, 'userspace') });
assert.equal(typeof report.ok, 'boolean');
console.log(renderAuditTable([report]));
console.log(`verdict: ${report.ok ? 'passes' : 'fails'} the release userspace policy`);
