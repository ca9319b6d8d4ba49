import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    coverage: {
      provider: 'v8',
      include: ['src/**'],
      reporter: ['text-summary'],
      // A run with failing tests still says where coverage stands.
      reportOnFailure: true,
      // The CLI and the Lambda handler shells run in child processes (spawned CLI, imported
      // bundles), which in-process coverage cannot see; their tests are in test/cli and
      // test/lambda. Everything else is held to these floors.
      thresholds: {
        'src/core/**': { lines: 90, branches: 80, functions: 90 },
        'src/adapters/**': { lines: 85, branches: 75, functions: 85 },
        'src/sources/**': { lines: 90, branches: 85, functions: 90 },
        'src/app/**': { lines: 80, branches: 70, functions: 80 },
      },
    },
    globalSetup: ['test/global-setup.ts'],
  },
});
