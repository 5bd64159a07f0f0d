/**
 * kiln's own long flags on the commands that load a project, so a project option cannot take one
 * of their names: `kiln test --initrd=x` would go to kiln, and the build would quietly use the
 * option's default. The table is checked against the real commands in test/cli/names-flags.test.ts.
 */
import { relative } from 'node:path';
import { KilnError } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';

const BUILD_LIKE = ['build', 'run', 'test', 'dev', 'graph', 'status', 'repro'];
const QEMU = ['run', 'test'];

/** Flag name (without `--` / `--no-`) → the commands that have it. */
export const KILN_FLAGS: Readonly<Record<string, readonly string[]>> = {
  config: [...BUILD_LIKE, 'clean'],
  arch: BUILD_LIKE,
  profile: BUILD_LIKE,
  'build-dir': BUILD_LIKE,
  'allow-dev-key': BUILD_LIKE,
  jobs: ['build', 'test', 'dev'],
  'keep-going': ['build'],
  wait: ['build', 'clean'],
  force: ['build'],
  clean: ['build'],
  run: ['build'],
  serial: ['build', 'run', 'test', 'dev'],
  plain: ['build'],
  json: ['build', 'test', 'graph', 'status', 'repro'],
  trace: ['build'],
  kernel: QEMU,
  image: QEMU,
  cdrom: QEMU,
  'image-format': QEMU,
  machine: QEMU,
  cpu: QEMU,
  firmware: QEMU,
  'secure-boot': QEMU,
  bios: QEMU,
  'uefi-code': QEMU,
  'uefi-vars': QEMU,
  memory: QEMU,
  smp: QEMU,
  accel: QEMU,
  initrd: QEMU,
  append: QEMU,
  symbols: QEMU,
  device: QEMU,
  network: QEMU,
  exit: QEMU,
  'exit-code': QEMU,
  'log-dir': QEMU,
  qemu: QEMU,
  'qemu-debug': QEMU,
  gdb: ['run'],
  'dry-run': QEMU,
  timeout: QEMU,
  name: ['test'],
  expect: ['test'],
  send: ['test'],
  key: ['test'],
  script: ['test'],
  'step-timeout': ['test'],
  fail: ['test'],
  'default-fail': ['test'],
  ktap: ['test'],
  'idle-timeout': ['test'],
  junit: ['test'],
  format: ['graph'],
  cache: ['clean'],
  md: ['status'],
  html: ['status'],
  promote: ['status'],
  record: ['status'],
  keep: ['repro'],
  test: ['dev'],
  debounce: ['dev'],
  'remote-cache': ['build', 'run', 'test'],
  'remote-cache-read-only': ['build', 'run', 'test'],
  shard: ['test'],
  'merge-junit': ['test'],
  help: [...BUILD_LIKE, 'clean'],
  version: ['kiln'],
};

/**
 * Refuses a project option named like one of kiln's flags, naming both. `debug` is the one a project
 * may define: kiln then leaves `--debug` to the project (KILN_DEBUG=1 still gives stack traces).
 * @example checkOptionNames(await loadConfig()) // throws CONFIG_OPTION_COLLIDES for options: { initrd: ... }
 */
export function checkOptionNames(loaded: LoadedConfig): void {
  for (const name of Object.keys(loaded.config.options ?? {})) {
    const commands = KILN_FLAGS[name];
    if (!commands || name === 'debug') continue;
    const where = commands.map((c) => (c === 'kiln' ? 'kiln' : `kiln ${c}`)).join(', ');
    throw new KilnError(
      'CONFIG_OPTION_COLLIDES',
      `project option "${name}" has the name of kiln's own --${name} (${where}): there --${name}=... would go to kiln, and the build would use the option's default`,
      {
        location: { file: relative(process.cwd(), loaded.path) || loaded.path, configPath: `options.${name}` },
        hint: `rename the option (e.g. "${name}-file" or "project-${name}") and read t.options['<new name>'] in build()`,
        exitCode: 2,
      },
    );
  }
}
