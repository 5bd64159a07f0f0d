/**
 * kiln's QEMU harness: machine profiles, firmware discovery, accelerator probe, kernel protocol
 * detection, command lines, QMP, `runMachine` (kiln run), `runQemuTest` / `runTests` (kiln test),
 * KTAP parsing and reports.
 * @example
 * import { runQemuTest } from 'kiln/qemu';
 * const r = await runQemuTest({ name: 'boot', kernel: 'kernel.elf', expect: ['KILN-END'] });
 */
export type * from './types.js';
export { buildQemuCommand, escapeOpt, gdbInstructions, serialArgs } from './command.js';
export { chooseGdb, gdbSupports, type GdbChoice } from './gdb.js';
export { BOARDS, findBoard, boardsOf, checkBoard, type BoardProfile, type BoardChoices } from './boards.js';
export {
  resolveMachine,
  detectDiskFormat,
  runFolderName,
  MACHINE_PROFILES,
  DEFAULT_SUCCESS_CODE,
  type ResolveOptions,
} from './resolve.js';
export { resolveFirmware, FIRMWARE_CANDIDATES, type FirmwareRequest } from './firmware.js';
export { chooseAccel, probeKvm, probeBiosImage, type AccelChoice } from './accel.js';
/** PATH search (util/which.ts), kept under its library name. */
export { findExecutable as findInPath } from '../util/which.js';
export { inspectKernel } from './kernel.js';
export { QmpClient, type QmpEvent } from './qmp.js';
export { startQemu, qemuErrorLines, type QemuProcess, type QemuExit, type StartOptions } from './launch.js';
export {
  stripAnsi,
  parsePattern,
  patternMatches,
  describePattern,
  SerialLines,
  PatternTracker,
  DEFAULT_FAIL_PATTERNS,
  type SerialPattern,
  type ExpectPattern,
} from './serial.js';
export {
  parseKtap,
  flattenKtap,
  summarizeKtap,
  type KtapDocument,
  type KtapSuite,
  type KtapCase,
  type KtapFlatCase,
  type KtapSummary,
  type KtapStatus,
  type KtapProblem,
} from './ktap.js';
export { runMachine, type RunMachineOptions, type RunMachineResult } from './run.js';
export {
  runQemuTest,
  runTests,
  testMatrix,
  resolveTestMachine,
  decodeGuestExit,
  describeCommand,
  type QemuTestSpec,
  type QemuTestResult,
  type TestCaseResult,
  type TestRunOptions,
  type TestSummary,
  type FailureKind,
} from './harness.js';
export { testResultsToJUnit, testResultsToJson } from './report.js';
export {
  ConsoleBuffer,
  ConsoleSession,
  ConsoleError,
  keyBytes,
  keyNames,
  unescapeText,
  describeSent,
  CONSOLE_NAMES,
  type ConsoleFailure,
  type ConsoleMatch,
  type ConsoleChannel,
  type ExpectOptions,
  type SendOptions,
  type KeyName,
} from './console.js';
export { bootConsole, type BootConsoleOptions, type GuestConsole, type ConsoleExitResult } from './boot-console.js';
export {
  guest,
  runScript,
  parseScriptText,
  describeStep,
  consolesOf,
  type ScriptStep,
  type ExpectStep,
  type CaptureStep,
  type SendStep,
  type KeyStep,
  type Captured,
  type StepResult,
  type ScriptResult,
  type RunScriptOptions,
} from './script.js';
export { junitXml, readJUnit, xmlEscape, type JUnitCase, type JUnitSuite } from '../report/junit.js';
export {
  machineSpecFromConfig,
  testSpecsFromConfig,
  type RunSectionLike,
  type TestSectionLike,
  type ExitLike,
  type FromConfigOptions,
} from './from-config.js';
export { DRIVE_INTERFACES, DRIVE_INTERFACE_NAMES, driveArgv, type DriveRow } from './drives.js';
export { silentBootCauses, silentBootMessage } from './silent.js';
export type { DriveLike } from './from-config.js';
