// kiln/report: parse a compiler's and a linker's output into diagnostics and classify them as
// `kiln status` does (what went wrong, whether it blocks, how to fix it).
import assert from 'node:assert/strict';
import { classify, parseDiagnostics } from 'kiln/report';

const output = [
  "kernel/fs/log.c:12:19: error: redefinition of 'log' as different kind of symbol",
  "kernel/main.c:40:3: warning: implicit declaration of function 'kalloc' [-Wimplicit-function-declaration]",
].join('\n');
const diagnostics = [
  ...parseDiagnostics(output, { compiler: 'clang' }),
  ...parseDiagnostics('ld.lld: error: undefined symbol: kalloc\n>>> referenced by main.c\n', { compiler: 'clang' }),
];
assert.ok(diagnostics.length >= 3);
for (const d of diagnostics) {
  const c = classify(d);
  console.log(`${d.severity} ${d.file ?? d.tool}${d.line ? `:${d.line}` : ''} [${c.id}] ${c.title}`);
}
assert.equal(classify(diagnostics.find((d) => d.tool === 'ld')).id, 'undefined-reference');
