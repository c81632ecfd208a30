import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each use their own database and queue prefix, so they may run in parallel;
    // two workers keep the two cores of the CI machine busy without starving PostgreSQL.
    maxWorkers: 2,
  },
})
