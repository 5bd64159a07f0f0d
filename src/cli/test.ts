/**
 * `kiln test`: boot, watch serial and QMP, judge; KTAP into test cases; a matrix over --arch with
 * -j QEMUs at once; JUnit XML and JSON. A thin layer over `runTests` (src/qemu).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../errors.js';
import { formatCommand } from '../util/process.js';
import { writeLastTest } from '../report/last-test.js';
import { mergeJUnit } from '../report/junit.js';
import type { QemuTestResult, QemuTestSpec } from '../qemu/index.js';
import { ALLOW_DEV_KEY_HELP } from './_project.js';
import { REMOTE_CACHE_HELP, REMOTE_CACHE_READ_ONLY_HELP, action, printJson } from './_shared.js';
import { formatResult } from './_test-result.js';
import {
  addMachineOptions,
  archesOf,
  machineNotes,
  machineOverrides,
  machineSpecFromFlags,
  seconds,
  type MachineFlags,
} from './_machine-flags.js';

interface TestFlags extends MachineFlags {
  name?: string;
  expect?: string[];
  fail?: string[];
  defaultFail?: boolean;
  ktap?: boolean;
  timeout?: string;
  idleTimeout?: string;
  jobs?: string;
  junit?: string;
  json?: boolean;
  dryRun?: boolean;
  serial?: boolean;
  send?: string[];
  key?: string[];
  script?: string;
  stepTimeout?: string;
  shard?: string;
  mergeJunit?: string;
  remoteCache?: string;
  remoteCacheReadOnly?: boolean;
}

/** `kiln test --merge-junit OUT a.xml b.xml`: one report from the shards' reports. */
function mergeJUnitFiles(out: string, inputs: string[]): void {
  if (inputs.length === 0) {
    throw new KilnError('CLI_MISSING_ARGUMENT', '--merge-junit: give the JUnit files to join after OUT', {
      hint: 'kiln test --merge-junit junit.xml shard-1.xml shard-2.xml',
      exitCode: 2,
    });
  }
  const reports = inputs.map((name) => {
    if (!existsSync(name))
      throw new KilnError('FILE_NOT_FOUND', `--merge-junit: ${name} does not exist`, {
        location: { file: name },
        exitCode: 2,
      });
    return { name, xml: readFileSync(name, 'utf8') };
  });
  const merged = mergeJUnit(reports);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, merged);
  const suites = (merged.match(/<testsuite\s/g) ?? []).length;
  process.stderr.write(`kiln: ${out}: ${suites} test suites from ${inputs.length} reports\n`);
}

/** --expect, --send and --key in the order given: with a --send or --key they form a script. */
type Typed = { kind: 'expect' | 'send' | 'key'; value: string };

/** A console script from the ordered --expect/--send/--key flags (escapes in --send: \n \r \t \e \xNN). */
async function scriptFromFlags(order: Typed[]): Promise<import('../qemu/index.js').ScriptStep[]> {
  const { guest, keyBytes, keyNames, parsePattern, unescapeText } = await import('../qemu/index.js');
  return order.map((t) => {
    if (t.kind === 'expect') return guest.expect(parsePattern(t.value));
    if (t.kind === 'send') return guest.send(unescapeText(t.value));
    if (!keyBytes(t.value))
      throw new KilnError('CLI_BAD_KEY', `--key: unknown key ${JSON.stringify(t.value)}`, {
        hint: `keys: ${keyNames().join(', ')}`,
        exitCode: 2,
      });
    return guest.key(t.value as import('../qemu/index.js').KeyName);
  });
}

export function registerTest(program: Command): void {
  const typed: Typed[] = [];
  const cmd = program
    .command('test')
    .description(
      'boot and judge: exit code AND serial expectations, fail patterns, triple faults (QMP), timeouts, KTAP; JUnit/JSON reports',
    )
    .usage(
      "[test names] [--option=value] (the project's tests) | --kernel FILE | --image FILE | --cdrom FILE --expect PATTERN... [options] [-- extra QEMU arguments]",
    )
    .argument('[qemu-args...]', 'extra QEMU arguments after --, appended as they are');
  addMachineOptions(cmd, { multiArch: true })
    .option('--name <name>', 'test name (default: the kernel or image file name)')
    .option(
      '--expect <pattern...>',
      'serial patterns that must appear in this order (text, or /regex/flags); with --send/--key they are script steps, in command-line order',
      (v: string, prev: string[] | undefined) => {
        typed.push({ kind: 'expect', value: v });
        return [...(prev ?? []), v];
      },
    )
    .option(
      '--send <text>',
      'type TEXT on serial0 (escapes: \\n \\r \\t \\e \\xNN); repeatable; --expect/--send/--key run in the order given',
      (v: string, prev: string[] | undefined) => {
        typed.push({ kind: 'send', value: v });
        return [...(prev ?? []), v];
      },
    )
    .option(
      '--key <name>',
      'press a key on serial0: ctrl-a..ctrl-z, enter, tab, backspace, escape, up, down, left, right, ...; repeatable',
      (v: string, prev: string[] | undefined) => {
        typed.push({ kind: 'key', value: v });
        return [...(prev ?? []), v];
      },
    )
    .option(
      '--script <file>',
      "console script: a .ts/.js module default-exporting [guest.expect(...), guest.send(...), ...], or a text file (lines: expect|send|key|capture [timeout=S] [on=|to=CONSOLE] [delay=MS] ARG); replaces the tests' own scripts",
    )
    .option('--step-timeout <seconds>', 'default seconds a script step waits (default: --timeout)')
    .option(
      '--fail <pattern...>',
      'patterns that fail the test at once (added to the defaults: /\\bpanic\\b/i, KERNEL PANIC, #GP, #PF, #DF, triple fault)',
    )
    .option('--no-default-fail', 'do not use the default fail patterns')
    .option('--ktap', 'parse KTAP from serial into test cases; a failing case fails the test', false)
    .option('--timeout <seconds>', 'overall deadline (default: 60, 120 with UEFI)')
    .option('--idle-timeout <seconds>', 'fail when the serial port is silent this long (default: off)')
    .option('-j, --jobs <n>', 'QEMU processes at once for a matrix (default: 1)')
    .option('--junit <file>', 'write a JUnit XML report')
    .option('--json', 'print results as JSON on stdout', false)
    .option('--dry-run', 'print the QEMU command line(s) and exit', false)
    .option('--serial', 'copy serial output to the terminal (with -j 1)')
    .option('--no-serial', 'write no serial.log (expectations still read the serial port)')
    .option(
      '-c, --config <file>',
      'without --kernel/--image/--cdrom: run the tests of this kiln.config.ts (default: found from here); test names and --option=value project options may follow',
    )
    .option('-p, --profile <name>', 'project profile (with a config)')
    .option('--build-dir <dir>', 'build folder (with a config; default: build/ next to the config)')
    .option('--allow-dev-key', ALLOW_DEV_KEY_HELP)
    .option('--remote-cache <url>', REMOTE_CACHE_HELP)
    .option('--remote-cache-read-only', REMOTE_CACHE_READ_ONLY_HELP)
    .option(
      '--shard <K/N>',
      "run part K of N of the project's tests × arches (balanced by the durations in last-test.json; --junit per shard)",
    )
    .option('--merge-junit <out>', 'join the JUnit files given as arguments (one per shard) into OUT, and run nothing')
    .allowUnknownOption(true)
    .action(
      action(async (qemuArgs: string[], flags: TestFlags) => {
        if (flags.mergeJunit !== undefined) return mergeJUnitFiles(flags.mergeJunit, qemuArgs);
        // The QEMU library loads only when the command runs, and only the modules a test needs
        // (not the barrel qemu/index.ts: gdb, boot consoles, run): kiln's start-up stays small.
        const [{ DEFAULT_FAIL_PATTERNS, parsePattern }, { buildQemuCommand }, harness, resolveModule, report] =
          await Promise.all([
            import('../qemu/serial.js'),
            import('../qemu/command.js'),
            import('../qemu/harness.js'),
            import('../qemu/resolve.js'),
            import('../qemu/report.js'),
          ]);
        const { resolveTestMachine, runTests } = harness;
        const { runFolderName } = resolveModule;
        const { testResultsToJUnit, testResultsToJson } = report;
        const arches = archesOf(flags);
        const base =
          flags.name ??
          (flags.kernel ?? flags.image?.[0] ?? flags.cdrom?.[0] ?? 'test')
            .split('/')
            .pop()!
            .replace(/\.[^.]+$/, '');
        const fail = [
          ...(flags.defaultFail === false ? [] : DEFAULT_FAIL_PATTERNS),
          ...(flags.fail ?? []).map(parsePattern),
        ];
        const timeout = seconds(flags.timeout, '--timeout');
        const idle = seconds(flags.idleTimeout, '--idle-timeout');
        const stepTimeout = seconds(flags.stepTimeout, '--step-timeout');
        // A --send or --key turns the typed flags into a script (after --script's steps).
        const interactive = typed.some((t) => t.kind !== 'expect');
        const fileSteps = flags.script ? await (await import('./_script-file.js')).loadScriptFile(flags.script) : [];
        const cliScript = [...fileSteps, ...(interactive ? await scriptFromFlags(typed) : [])];
        const plainExpect = interactive ? [] : (flags.expect ?? []);
        const scriptFields = {
          ...(cliScript.length ? { script: cliScript } : {}),
          ...(stepTimeout !== undefined ? { stepTimeout } : {}),
        };
        const jobs = flags.jobs === undefined ? 1 : Number(flags.jobs);
        if (!Number.isInteger(jobs) || jobs < 1)
          throw new KilnError(
            'CLI_BAD_NUMBER',
            `--jobs: expected a whole number >= 1, got ${JSON.stringify(flags.jobs)}`,
          );
        const projectMode = !flags.kernel && !flags.image?.length && !flags.cdrom?.length;
        if (flags.shard !== undefined && !projectMode) {
          throw new KilnError(
            'CLI_BAD_SHARD',
            "--shard splits a project's tests: it does not apply with --kernel, --image or --cdrom",
            { exitCode: 2 },
          );
        }
        const specs: QemuTestSpec[] = projectMode
          ? await (async () => {
              // The project's tests (kiln.config.ts), built first; CLI flags override the deadlines.
              const { projectTestSpecs } = await import('./_config-machine.js');
              const fromConfig = await projectTestSpecs(flags as never, qemuArgs);
              return fromConfig.map((t) => ({
                ...t,
                ...machineOverrides(flags, t.arch ?? 'x86_64'),
                fail: [
                  ...(t.fail ?? (flags.defaultFail === false ? [] : DEFAULT_FAIL_PATTERNS)),
                  ...(flags.fail ?? []).map(parsePattern),
                ],
                expect: [...(t.expect ?? []), ...plainExpect.map(parsePattern)],
                ...scriptFields,
                ...(flags.ktap ? { ktap: true } : {}),
                ...(timeout !== undefined ? { timeout } : {}),
                ...(idle !== undefined ? { idleTimeout: idle } : {}),
              }));
            })()
          : arches.map((arch) => {
              const machine = machineSpecFromFlags(flags, qemuArgs, arch);
              const logDir = machine.logDir ?? join('build', 'logs', 'tests', runFolderName(`${base}-${arch}`));
              return {
                ...machine,
                name: base,
                logDir: arches.length > 1 && machine.logDir ? join(machine.logDir, arch) : logDir,
                expect: plainExpect.map(parsePattern),
                ...scriptFields,
                fail,
                ktap: flags.ktap ?? false,
                ...(timeout !== undefined ? { timeout } : {}),
                ...(idle !== undefined ? { idleTimeout: idle } : {}),
              };
            });
        if (flags.dryRun) {
          for (const spec of specs)
            process.stdout.write(
              `${formatCommand(buildQemuCommand(await resolveTestMachine(spec, { dryRun: true })))}\n`,
            );
          process.stderr.write(
            'kiln: the VM starts paused (-S) and kiln resumes it over QMP (cont) once connected, so no event is missed; to run the line by hand, drop -S\n',
          );
          return;
        }
        const controller = new AbortController();
        const onSignal = () => controller.abort();
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        process.on('SIGHUP', onSignal); // the terminal closed
        try {
          let noted = false;
          const summary = await runTests(specs, {
            jobs,
            signal: controller.signal,
            ...(flags.serial && !flags.json ? { terminal: process.stderr } : {}),
            onStart: (machine) => {
              if (flags.json) return;
              if (!noted) process.stderr.write(`kiln: ${machine.accelNote}\n`);
              noted = true;
              process.stderr.write(
                `kiln: ${machine.name} [${machine.arch}]: ${machineNotes(machine).slice(1).join('; ')}\n`,
              );
            },
            onResult: (r) => {
              if (!flags.json) process.stderr.write(formatResult(r));
            },
          });
          if (projectMode && specs[0]?.logDir) recordLastTest(specs, summary.results, flags.shard);
          if (flags.junit) {
            mkdirSync(dirname(flags.junit), { recursive: true });
            writeFileSync(flags.junit, testResultsToJUnit(summary.results));
          }
          if (flags.json) printJson(testResultsToJson(summary.results));
          else
            process.stderr.write(
              `kiln: ${summary.passed} passed, ${summary.failed} failed (${(summary.durationMs / 1000).toFixed(1)} s)${flags.junit ? `; JUnit: ${flags.junit}` : ''}\n`,
            );
          process.exitCode = summary.failed ? 1 : 0;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          process.off('SIGHUP', onSignal);
        }
      }),
    );
}

/** Keeps what this `kiln test` proved for `kiln status` (build/logs/tests/last-test.json). */
function recordLastTest(specs: QemuTestSpec[], results: QemuTestResult[], shard: string | undefined): void {
  // A project test logs under <build>/logs/tests/<name>-<arch>: the record sits beside those folders.
  // A shard's record goes beside it: last-test.json is what every shard balances by, so no shard
  // may change it under the others (shard 2 would split differently from shard 1).
  const name = shard === undefined ? 'last-test.json' : `last-test.shard-${shard.replace('/', '-of-')}.json`;
  const file = join(dirname(specs[0]!.logDir!), name);
  writeLastTest(file, {
    version: 1,
    time: Math.floor(Date.now() / 1000),
    results: results.map((r) => {
      const spec = specs.find((s) => s.name === r.name && (s.arch ?? 'x86_64') === r.arch);
      return {
        name: r.name,
        arch: r.arch,
        status: r.status,
        ...(r.reason ? { reason: r.reason } : {}),
        durationMs: Math.round(r.durationMs),
        expectations: r.expectations,
        measurements: (r.measurements ?? []).map(({ line: _line, ...m }) => m),
        evidence: r.evidence,
        ...(spec?.kernel ? { kernel: resolve(spec.kernel) } : {}),
      };
    }),
  });
}
