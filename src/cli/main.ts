/**
 * kiln's command line. Wires one file per command; no logic beyond argument handling.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { reportError, setGlobalOptions } from './_shared.js';
import { registerBuild } from './build.js';
import { registerGraph } from './graph.js';
import { registerClean } from './clean.js';
import { registerInit } from './init.js';
import { registerDoctor } from './doctor.js';
import { preloadForHelp } from './_project.js';
import { registerImage } from './image.js';
// kiln:command-imports (one import per command file; keep this marker)
import { registerElf } from './elf.js';
import { registerRun } from './run.js';
import { registerTest } from './test.js';
import { registerKeygen } from './keygen.js';
import { registerSign } from './sign.js';
import { registerVerify } from './verify.js';
import { registerAudit } from './audit.js';
import { registerAbi } from './abi.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function createProgram(): Command {
  const program = new Command('kiln')
    .description('From OS sources to a signed, bootable, tested image.')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'show stack traces and debug output', false)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .enablePositionalOptions()
    .hook('preAction', (root) => setGlobalOptions({ ...root.opts(), debug: root.opts().debug || process.env.KILN_DEBUG === '1' }));
  program.exitOverride();
  registerBuild(program);
  registerGraph(program);
  registerClean(program);
  registerInit(program);
  registerDoctor(program);
  registerImage(program);
  // kiln:command-registrations (one register call per command file; keep this marker)
  registerElf(program);
  registerRun(program);
  registerTest(program);
  registerKeygen(program);
  registerSign(program);
  registerVerify(program);
  registerAudit(program);
  registerAbi(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await preloadForHelp(argv);
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help/version text).
      if (error.code !== 'commander.helpDisplayed' && error.code !== 'commander.version' && error.code !== 'commander.help') {
        process.exitCode = error.exitCode === 0 ? 0 : 2;
      }
      return;
    }
    reportError(error, { debug: argv.includes('--debug'), json: argv.includes('--json') });
  }
}
