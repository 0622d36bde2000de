// `npm run faults`: the fault matrix against the real server process and PostgreSQL (tests/faults), with its table.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/faults/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    setupFiles: ['tests/support/temp-root.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    reporters: ['default', './tests/faults/matrix-reporter.ts'],
  },
});
