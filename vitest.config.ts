import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Concurrency tests pin a worker thread each; two cores, so run files one at a time.
    fileParallelism: false,
  },
});
