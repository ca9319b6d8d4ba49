/**
 * One origin rule: any origin the writer accepts gives a log that verifies. Origins come from
 * fast-check (arbitrary Unicode, spaces, '+', dashes, controls, astral characters, long ones);
 * each one the writer accepts is used to archive a few events, and the real verifier must then
 * report no finding; each one it refuses is refused with ORIGIN_INVALID before anything is stored.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyStore } from '../../src/app/verify.js';
import { isValidOrigin } from '../../src/core/checkpoint.js';
import { AuditlockError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import { logFixture, makeKey, sampleEvent } from '../helpers/log-fixture.js';

const key = makeKey();

/** Origins near the rule's edges: valid-looking text with one odd character spliced in. */
const origin = fc.oneof(
  fc.string({ unit: 'binary', minLength: 0, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
  fc
    .tuple(
      fc.stringMatching(/^[a-z0-9.-]{1,30}\/[a-z0-9/-]{0,20}$/),
      fc.constantFrom(
        '',
        ' ',
        '+',
        '— ',
        '\n',
        '\u001b',
        '\u0085',
        '\u00a0',
        '\u2028',
        '😀',
        'é',
        '\t',
      ),
      fc.nat(40),
    )
    .map(([base, odd, at]) => base.slice(0, at) + odd + base.slice(at)),
);

describe('origins', () => {
  it('any origin the writer accepts gives a log that verifies; any other is refused first', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(origin, async (o) => {
        const store = new MemoryStore();
        const fx = logFixture(store, key);
        const opened = await fx.open({ origin: o, maxEvents: 2 }).catch((e: unknown) => e);
        if (opened instanceof AuditlockError) {
          expect(opened.code).toBe('ORIGIN_INVALID');
          expect(isValidOrigin(o)).toBe(false);
          const stored: unknown[] = [];
          for await (const info of store.list('')) stored.push(info);
          expect(stored).toEqual([]);
          return;
        }
        if (!(opened && typeof opened === 'object' && 'submit' in opened)) throw opened;
        accepted++;
        const archiver = opened as Awaited<ReturnType<typeof fx.open>>;
        for (let i = 0; i < 3; i++) await archiver.submit(sampleEvent(i));
        await archiver.close();
        const findings: Finding[] = [];
        const result = await verifyStore(store, {
          trustedKeys: [key.trusted],
          onFinding: (f) => findings.push(f),
        });
        expect(findings).toEqual([]);
        expect(result.logs[0]).toMatchObject({ entries: 3 });
      }),
      { numRuns: 150 },
    );
    // The generator must exercise both sides of the rule.
    expect(accepted).toBeGreaterThan(10);
  });
});
