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
  },
});
