import { defineConfig } from 'vitest/config';

// Two projects: unit tests start at once (no PostgreSQL), the others get the PostgreSQL that global-setup finds.
export default defineConfig({
  test: {
    setupFiles: ['tests/support/temp-root.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real PostgreSQL and real child processes on a 2-core machine: keep the fan-out modest.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'],
          globalSetup: ['tests/support/global-setup.ts'],
        },
      },
    ],
  },
});
