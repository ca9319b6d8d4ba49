/**
 * Entries a caller made itself (ingest makes them on its parse threads, core/event-batch.ts):
 * `nextReceivedAt` gives out receive times in the log's order, `submitPrepared` stores the bytes
 * with the leaf hash given, and an entry whose time was overtaken by a later one is re-encoded
 * with the later time, so receive times never go backwards in the log and its tree still matches
 * its entries.
 */
import { describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/app/verify.js';
import { fromUtf8 } from '../../src/core/encoding.js';
import { encodeEntry, makeEventEntry } from '../../src/core/entry.js';
import { segmentPrefix } from '../../src/core/layout.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { parseSegment, segmentEntries } from '../../src/core/segment.js';
import { formatTimestamp } from '../../src/core/timestamp.js';
import { logFixture, sampleEvent } from '../helpers/log-fixture.js';

/** The receive times of the entries stored in the fixture's log, in order. */
async function storedTimes(fx: ReturnType<typeof logFixture>): Promise<string[]> {
  const times: string[] = [];
  const keys: string[] = [];
  for await (const { key } of fx.store.list(segmentPrefix('main'))) keys.push(key);
  for (const key of keys.sort()) {
    const bytes = (await fx.store.get(key)) as Uint8Array;
    for (const e of segmentEntries(parseSegment(bytes)))
      times.push((JSON.parse(fromUtf8(e)) as { receivedAt: string }).receivedAt);
  }
  return times;
}

async function clean(fx: ReturnType<typeof logFixture>): Promise<string[]> {
  const found: string[] = [];
  await verifyStore(fx.store, {
    trustedKeys: [fx.key.trusted],
    onFinding: (f) => found.push(f.code),
  });
  return found;
}

describe('prepared entries', () => {
  it('are stored as given, with the time nextReceivedAt gave out, and verify', async () => {
    const fx = logFixture();
    const archiver = await fx.open({ maxEvents: 3 });
    const t = archiver.nextReceivedAt();
    const stored: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      const bytes = encodeEntry(makeEventEntry(sampleEvent(i), t));
      stored.push((await archiver.submitPrepared(bytes, hashLeaf(bytes), t)).stored);
    }
    await archiver.close();
    await Promise.all(stored);
    expect(await clean(fx)).toEqual([]);
    expect(await storedTimes(fx)).toEqual(Array(5).fill(formatTimestamp(t)));
  });

  it('keep their own times when given out ahead and enqueued in order (no re-encoding)', async () => {
    // Ingest reserves a time for each batch as it is read, several batches ahead of enqueueing.
    const fx = logFixture();
    const archiver = await fx.open({ maxEvents: 10 });
    const times = [archiver.nextReceivedAt(), archiver.nextReceivedAt(), archiver.nextReceivedAt()];
    const stored: Promise<unknown>[] = [];
    for (const [i, t] of times.entries()) {
      const bytes = encodeEntry(makeEventEntry(sampleEvent(i), t));
      stored.push((await archiver.submitPrepared(bytes, hashLeaf(bytes), t)).stored);
    }
    await archiver.close();
    await Promise.all(stored);
    expect(await storedTimes(fx)).toEqual(times.map(formatTimestamp));
    expect(await clean(fx)).toEqual([]);
  });

  it('never go back in time: one overtaken by a later entry takes its time, and the tree matches', async () => {
    const fx = logFixture();
    const archiver = await fx.open({ maxEvents: 10 });
    const early = archiver.nextReceivedAt();
    const late = archiver.nextReceivedAt();
    expect(late).toBeGreaterThan(early);
    const stored: Promise<unknown>[] = [];
    const lateBytes = encodeEntry(makeEventEntry(sampleEvent(0), late));
    stored.push((await archiver.submitPrepared(lateBytes, hashLeaf(lateBytes), late)).stored);
    // Made with the earlier time but enqueued after: its bytes and leaf hash are no longer right.
    const earlyBytes = encodeEntry(makeEventEntry(sampleEvent(1), early));
    stored.push((await archiver.submitPrepared(earlyBytes, hashLeaf(earlyBytes), early)).stored);
    await archiver.close();
    await Promise.all(stored);
    expect(await storedTimes(fx)).toEqual([formatTimestamp(late), formatTimestamp(late)]);
    expect(await clean(fx)).toEqual([]);
  });
});
