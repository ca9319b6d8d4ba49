/**
 * The event-parse worker threads' module graph (issue 14, ingest peak RSS): a worker loads zod and
 * the compiled schemas (~20 MiB of RSS per thread) only when a batch needs them, through the
 * `import()` in src/app/event-parse-pool.ts; nothing it imports statically may load zod.
 */
import { describe, expect, it } from 'vitest';
import { staticallyLoadedPackages } from '../helpers/static-imports.js';

describe('event-parse worker imports', () => {
  it('loads no zod statically from src/app/event-parse-pool.ts', () => {
    const packages = staticallyLoadedPackages('src/app/event-parse-pool.ts');
    // The chain through which zod would be reached, so a failure says which import to cut.
    expect(packages.get('zod')).toBeUndefined();
  });

  it('sees zod where it is imported (the walker finds what it must refuse)', () => {
    expect(staticallyLoadedPackages('src/core/event.ts').get('zod')).toEqual(['src/core/event.ts']);
  });
});
