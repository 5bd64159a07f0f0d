// The config bridge: kiln.config.ts `run` / `tests` sections → harness specs, checked against the
// config's own types (a TestConfig must be accepted as it is) and by booting one.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunConfig, TestConfig } from '../../src/config/types.js';
import { machineSpecFromConfig, runTests, testSpecsFromConfig } from '../../src/qemu/index.js';
import { tempDir } from '../_helpers.js';
import { buildA64Kernel, buildX86Kernel } from './_kernels.js';

const dir = tempDir('kiln-qemu-config-');

describe('from config', () => {
  it('maps a RunConfig (exit.success → successCode, image → disk, cdrom → CD-ROM)', () => {
    const run: RunConfig = {
      image: 'disk.img',
      cdrom: 'os.iso',
      firmware: 'uefi',
      memory: '1G',
      smp: 2,
      args: ['-d', 'guest_errors'],
      exit: { kind: 'isa-debug-exit', success: 0x10 },
    };
    const spec = machineSpecFromConfig(run, 'x86_64', { resolvePath: (p) => `/abs/${String(p)}`, logRoot: '/logs' });
    expect(spec).toEqual({
      arch: 'x86_64',
      disks: [
        { path: '/abs/disk.img', media: 'disk', snapshot: true },
        { path: '/abs/os.iso', media: 'cdrom' },
      ],
      firmware: 'uefi',
      memory: '1G',
      smp: 2,
      args: ['-d', 'guest_errors'],
      exit: { kind: 'isa-debug-exit', success: 0x10, successCode: 0x10 },
      logDir: '/logs',
    });
  });

  it('tests × arches inherit run, override it, and boot', async () => {
    const kernels = { x86_64: buildX86Kernel(join(dir, 'k'), 'ok'), aarch64: buildA64Kernel(join(dir, 'k'), 'ok') };
    const run: RunConfig = { kernel: 'kernel', timeout: 90, memory: '256M' };
    const tests: Record<string, TestConfig> = {
      hello: { expect: ['KILN-END'] },
      ktap: { kernel: 'other', ktap: true, arch: ['x86_64'], idleTimeout: 30 },
    };
    const specs = testSpecsFromConfig(tests, {
      arches: ['x86_64', 'aarch64'],
      run,
      logRoot: join(dir, 'logs'),
      resolvePath: (p, arch) =>
        p === 'kernel' ? kernels[arch as 'x86_64' | 'aarch64'] : buildX86Kernel(join(dir, 'k'), 'ktap'),
    });
    expect(specs.map((s) => `${s.name}/${s.arch}`)).toEqual(['hello/x86_64', 'hello/aarch64', 'ktap/x86_64']);
    expect(specs[1]).toMatchObject({
      kernel: kernels.aarch64,
      memory: '256M',
      timeout: 90,
      expect: ['KILN-END'],
      logDir: join(dir, 'logs', 'tests', 'hello-aarch64'),
    });
    expect(specs[2]).toMatchObject({ ktap: true, idleTimeout: 30, timeout: 90 });
    const summary = await runTests(
      specs.slice(0, 2).map((s) => ({ ...s, accel: 'tcg' as const })),
      { jobs: 2 },
    );
    expect(summary.results.map((r) => r.status)).toEqual(['passed', 'passed']);
  }, 120_000);
});
