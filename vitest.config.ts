import { configDefaults, defineConfig } from 'vitest/config'

/**
 * The fast tier, by directory: tests that need no PostgreSQL, Redis or browser (`npm run test:unit`).
 * Everything else (test/http, test/integration, test/e2e, test/browser) needs the local services.
 */
const unit = ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts']

/** Nothing listens on port 1: a unit test that reaches for the shared PostgreSQL or Redis fails at once. */
const nowhere = {
  TEST_DATABASE_ADMIN_URL: 'postgres://postgres@127.0.0.1:1/postgres',
  TEST_REDIS_URL: 'redis://127.0.0.1:1',
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each use their own database and queue prefix, so they may run in parallel;
    // two workers keep the two cores of the CI machine busy without starving PostgreSQL.
    maxWorkers: 2,
    projects: [
      // The unit files share each worker's module cache (no isolation): three times faster on a busy machine.
      // So a unit test restores what it changes (timers, process.env) and registers nothing globally.
      { extends: true, test: { name: 'unit', include: unit, env: nowhere, isolate: false } },
      {
        extends: true,
        test: { name: 'services', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...unit] },
      },
    ],
  },
})
