// Quarantine: test files that hang intermittently, kept out of `npm test` and CI until the cause is found (an open
// finding each, docs/development.md). `npm run test:alone` runs them.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/integration/pitr-faults.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    setupFiles: ['tests/support/temp-root.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    maxWorkers: 1,
  },
});
