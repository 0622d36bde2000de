import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/faults/**', '**/node_modules/**'],
    globalSetup: ['tests/support/global-setup.ts'],
    setupFiles: ['tests/support/temp-root.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real PostgreSQL and real child processes on a 2-core machine: keep the fan-out modest.
    maxWorkers: 2,
  },
});
