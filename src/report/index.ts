/**
 * kiln's build reports: compiler/linker diagnostics, their causes, the status report of the last
 * build (with history), its renderers, and JUnit output for test runs.
 *
 * @example
 * import { buildStatus, renderMarkdown } from 'kiln/report';
 * const md = renderMarkdown(await buildStatus({ project: 'exov6', projectDir, buildDir }));
 */
export {
  parseDiagnostics,
  dedupeDiagnostics,
  relativizeDiagnostics,
  diagnosticKey,
  formatLocation,
} from './diagnostics.js';
export type { Diagnostic, DiagnosticTool, Severity, ParseOptions } from './diagnostics.js';
export { classify, classRule, CLASS_RULES, LIBC_NAMES } from './classify.js';
export type { ClassRule, Classification, ClassifyPolicy } from './classify.js';
export { parseBuildNinja, parseNinjaLog, ninjaProgress, sourceOfObject } from './ninja.js';
export type { NinjaEdge, NinjaLogEntry, NinjaProgress } from './ninja.js';
export { buildStatus, readHistory, diffEntries } from './status.js';
export { readLastBuild } from './last-build.js';
export type {
  StatusReport,
  StatusOptions,
  StatusHistory,
  HistoryEntry,
  ChangeEntry,
  ClassSummary,
  DirectoryStatus,
  ReportDiagnostic,
} from './status.js';
export type { LastBuild, LastBuildStep } from './last-build.js';
export { renderText, renderMarkdown, renderHtml, progressChart } from './render.js';
export { junitXml, readJUnit, xmlEscape } from './junit.js';
export type { JUnitCase, JUnitSuite } from './junit.js';
export { findDefinitions } from './status.js';
export { bootCriteria, fixHistory } from './criteria.js';
export type { BootCriteria, FixCommit, FixHistory } from './criteria.js';
export { elfChecks, lastTestPath, readLastTest, writeLastTest } from './last-test.js';
export type { ElfCheck, LastTest, LastTestResult } from './last-test.js';
