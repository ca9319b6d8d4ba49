import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Synthesis of both stacks (and the cdk-nag packs) takes tens of seconds on 2 busy cores.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
