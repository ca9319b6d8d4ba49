/**
 * What a verification worker thread loads (issue 14): zod is most of a worker's start-up CPU and
 * heap (docs/PERFORMANCE.md, "zod in the workers"), and a worker needs it only for `--strict`
 * checks, which load it when the first strict job comes (verify-worker.ts). So the worker's
 * module graph must not reach zod through static imports.
 */
import { describe, expect, it } from 'vitest';
import { staticallyLoadedPackages } from '../helpers/static-imports.js';

describe('the verification worker module graph', () => {
  it('src/app/verify-worker.ts loads no zod statically', () => {
    const chain = staticallyLoadedPackages('src/app/verify-worker.ts').get('zod');
    // The chain of modules through which zod is reached, on failure.
    expect(chain?.join(' -> ')).toBeUndefined();
  });
});
