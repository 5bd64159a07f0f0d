import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // QEMU boots and toolchain builds are slow under TCG on 2 cores: run files in parallel, tests inside a file in order.
    fileParallelism: true,
    // vitest's default is one worker per CPU minus one: a single worker on CI's 2 cores, where the load stayed
    // at 1.0-1.7 (tests wait on QEMU and compilers). Two workers keep both cores busy.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
