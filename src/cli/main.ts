/**
 * kiln's command line. Wires one file per command; no logic beyond argument handling.
 * Commands load lazily: only the module of the command being run is imported (all of them for
 * `kiln --help` or an unknown command), so start-up stays small.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { reportError, setGlobalOptions } from './_shared.js';
import { markPhase } from '../util/phases.js';

/** Adds a command to the program; `argv` lets a command with many subcommands load only the one being run. */
type Register = (program: Command, argv: string[]) => void | Promise<void>;
const NO_COMMANDS = '\0none';

/** Command name → its module's register function. Add one line per command file. */
const COMMANDS: Array<[string, () => Promise<Register>]> = [
  ['build', async () => (await import('./build.js')).registerBuild],
  ['run', async () => (await import('./run.js')).registerRun],
  ['dev', async () => (await import('./dev.js')).registerDev],
  ['test', async () => (await import('./test.js')).registerTest],
  ['graph', async () => (await import('./graph.js')).registerGraph],
  ['clean', async () => (await import('./clean.js')).registerClean],
  ['init', async () => (await import('./init.js')).registerInit],
  ['doctor', async () => (await import('./doctor.js')).registerDoctor],
  ['image', async () => (await import('./image.js')).registerImage],
  ['elf', async () => (await import('./elf.js')).registerElf],
  ['keygen', async () => (await import('./keygen.js')).registerKeygen],
  ['sign', async () => (await import('./sign.js')).registerSign],
  ['verify', async () => (await import('./verify.js')).registerVerify],
  ['audit', async () => (await import('./audit.js')).registerAudit],
  ['abi', async () => (await import('./abi.js')).registerAbi],
  ['status', async () => (await import('./status.js')).registerStatus],
  ['repro', async () => (await import('./repro.js')).registerRepro],
  ['flash', async () => (await import('./flash.js')).registerFlash],
  ['runner', async () => (await import('./runner.js')).registerRunner],
  // kiln:command-registrations (one ['name', async () => (await import('./file.js')).registerX] line per command; keep this marker)
];

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The command name in argv (the first word that is not an option), if any. */
function commandName(argv: string[]): string | undefined {
  for (const arg of argv) {
    if (arg === '--') return undefined;
    if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** Builds the program with the given commands (all of them by default). */
export async function createProgram(only?: string, argv: string[] = []): Promise<Command> {
  const { Command } = await import('commander');
  const program = new Command('kiln')
    .description('From OS sources to a signed, bootable, tested image.')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'show stack traces and debug output', false)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .enablePositionalOptions()
    .hook('preAction', (root) =>
      setGlobalOptions({ ...root.opts(), debug: root.opts().debug || process.env.KILN_DEBUG === '1' }),
    );
  program.exitOverride();
  const known = only !== undefined && COMMANDS.some(([name]) => name === only);
  for (const [name, load] of COMMANDS) {
    if (only === NO_COMMANDS || (known && name !== only)) continue;
    await (
      await load()
    )(program, argv);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  markPhase('load kiln', performance.nodeTiming.bootstrapComplete);
  // A no-op build served from the plan cache needs neither commander nor the other commands.
  if (argv[0] === 'build' && (await (await import('./build.js')).tryCachedBuild(argv.slice(1)))) return;
  const name = commandName(argv);
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (wantsHelp && name && ['build', 'run', 'test', 'dev', 'graph', 'status', 'repro'].includes(name)) {
    await (await import('./_project.js')).preloadForHelp(argv);
  }
  try {
    // --version needs no command at all.
    const started = performance.now();
    const program = await createProgram(
      (argv.includes('--version') || argv.includes('-V')) && !name ? NO_COMMANDS : name,
      argv,
    );
    markPhase('load command', started);
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    const { CommanderError } = await import('commander');
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help/version text).
      if (
        error.code !== 'commander.helpDisplayed' &&
        error.code !== 'commander.version' &&
        error.code !== 'commander.help'
      ) {
        process.exitCode = error.exitCode === 0 ? 0 : 2;
        // With --json, stdout still gets one JSON error (the text went to stderr).
        if (process.exitCode === 2 && argv.includes('--json')) {
          const message = error.message.replace(/^error: /, '');
          process.stdout.write(
            `${JSON.stringify({ ok: false, error: { code: 'CLI_USAGE', message, details: { commander: error.code } } })}\n`,
          );
        }
      }
      return;
    }
    reportError(error, { debug: argv.includes('--debug'), json: argv.includes('--json') });
  }
}
