/**
 * Archiver options given as `undefined` (a JavaScript caller, a spread configuration) take their
 * defaults. Before, `encoding: undefined` won over the default and the archiver wrote segments its
 * own verifier refused (HEADER_INVALID), found by the incremental benchmark.
 */
import { describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/app/verify.js';
import { logFixture, sampleEvent } from '../helpers/log-fixture.js';

describe('options given as undefined', () => {
  it('take their defaults: segments written with encoding and limits undefined verify', async () => {
    const fx = logFixture();
    const archiver = await fx.open({
      encoding: undefined as never,
      maxEvents: undefined as never,
      maxBytes: undefined as never,
    });
    const stored: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) stored.push((await archiver.submit(sampleEvent(i))).stored);
    await archiver.close();
    await Promise.all(stored);
    const found: string[] = [];
    const result = await verifyStore(fx.store, {
      trustedKeys: [fx.key.trusted],
      onFinding: (f) => found.push(f.code),
    });
    expect(found).toEqual([]);
    expect(result.logs[0]?.entries).toBe(5);
  });
});
