/**
 * Finding where an input stands from the log alone: the newest `cli` entry decides, segments are
 * read newest first through readTrustedSegment, and at most RESUME_LOOKBACK_SEGMENTS are read.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { findResumePoint, RESUME_LOOKBACK_SEGMENTS } from '../../src/app/resume.js';
import type { AuditlockError } from '../../src/core/errors.js';
import { formatInputDeliveryId, INPUT_CHAIN_START } from '../../src/core/input-delivery.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { type LogFixture, logFixture, makeKey, sampleEvent } from '../helpers/log-fixture.js';

/** Appends events with the given delivery ids (undefined: no delivery), one segment per `per`. */
async function append(fx: LogFixture, ids: (string | undefined)[], per = 1) {
  const archiver = await fx.open({ maxEvents: per });
  const stored: Promise<unknown>[] = [];
  for (const [i, id] of ids.entries())
    stored.push(
      (
        await archiver.submit(
          sampleEvent(i),
          id === undefined
            ? undefined
            : { source: id.startsWith('sqs:') ? 'sqs' : 'cli', id: id.replace(/^sqs:/, '') },
        )
      ).stored,
    );
  await archiver.close();
  await Promise.all(stored);
  return archiver.head.nextSeq - 1;
}

/** Reads of segment objects, counted. */
function counting(store: ObjectStore): { store: ObjectStore; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (prop === 'get' || prop === 'getVersion') reads++;
        return v.apply(target, args);
      };
    },
  });
  return { store: wrapped, reads: () => reads };
}

const chain = INPUT_CHAIN_START;
const find = (fx: LogFixture, headSeq: number, inputName: string, store = fx.store) =>
  findResumePoint({ store, log: 'main', headSeq, trustedKeys: [fx.key.trusted], inputName });

describe('findResumePoint', () => {
  it('finds the newest entry of the input, reading only the head', async () => {
    const fx = logFixture(new MemoryStore());
    const head = await append(
      fx,
      [1, 2, 3, 4, 5, 6].map((n) => formatInputDeliveryId('a.jsonl', n, chain)),
      2,
    );
    const { store, reads } = counting(fx.store);
    expect(await find(fx, head, 'a.jsonl', store)).toEqual({ line: 6, chain, seq: 2 });
    expect(reads()).toBe(1);
  });

  it('treats the input as new when the newest CLI entry is another input, or there is none', async () => {
    const fx = logFixture(new MemoryStore());
    expect(await find(fx, -1, 'a.jsonl')).toBeUndefined();
    const head = await append(fx, [
      formatInputDeliveryId('a.jsonl', 1, chain),
      formatInputDeliveryId('b.jsonl', 1, chain),
      'sqs:m-1',
    ]);
    expect(await find(fx, head, 'a.jsonl')).toBeUndefined();
    expect(await find(fx, head, 'b.jsonl')).toMatchObject({ line: 1, seq: 1 });
  });

  it(`reads at most ${RESUME_LOOKBACK_SEGMENTS} segments, then refuses (RESUME_POINT_UNKNOWN)`, async () => {
    const fx = logFixture(new MemoryStore());
    const ids = [
      formatInputDeliveryId('a.jsonl', 1, chain),
      ...Array(RESUME_LOOKBACK_SEGMENTS).fill(undefined),
    ];
    const head = await append(fx, ids);
    const { store, reads } = counting(fx.store);
    const err = await find(fx, head, 'a.jsonl', store).catch((e) => e);
    expect((err as AuditlockError).code).toBe('RESUME_POINT_UNKNOWN');
    expect(reads()).toBe(RESUME_LOOKBACK_SEGMENTS);
    // One segment less and the CLI entry is within reach.
    expect(await find(fx, head - 1, 'a.jsonl')).toMatchObject({ line: 1, seq: 0 });
  });

  it('refuses a legacy id without a chain (RESUME_UNVERIFIABLE)', async () => {
    const fx = logFixture(new MemoryStore());
    const head = await append(fx, ['a.jsonl:7']);
    const err = await find(fx, head, 'a.jsonl').catch((e) => e);
    expect((err as AuditlockError).code).toBe('RESUME_UNVERIFIABLE');
  });

  it('trusts only segments signed by a trusted key (SEGMENT_UNTRUSTED)', async () => {
    const fx = logFixture(new MemoryStore());
    const head = await append(fx, [formatInputDeliveryId('a.jsonl', 1, chain)]);
    const err = await findResumePoint({
      store: fx.store,
      log: 'main',
      headSeq: head,
      trustedKeys: [makeKey().trusted],
      inputName: 'a.jsonl',
    }).catch((e) => e);
    expect((err as AuditlockError).code).toBe('SEGMENT_UNTRUSTED');
  });
});
