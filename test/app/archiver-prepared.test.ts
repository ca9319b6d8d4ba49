/**
 * Entries a caller made itself (ingest makes them on its parse threads, core/event-batch.ts):
 * `nextReceivedAt` gives out receive times in the log's order, `submitPrepared` stores the bytes
 * with the leaf hash given, and an entry whose time was overtaken by a later one is re-encoded
 * with the later time, so receive times never go backwards in the log and its tree still matches
 * its entries. A run of entries is one submission: acknowledged once all of it is stored.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { PreparedEntries } from '../../src/app/archiver.js';
import { verifyStore } from '../../src/app/verify.js';
import { fromUtf8 } from '../../src/core/encoding.js';
import { encodeEntry, makeEventEntry } from '../../src/core/entry.js';
import { hasCode, StorageError } from '../../src/core/errors.js';
import { makeLineBatch } from '../../src/core/event-batch.js';
import { segmentPrefix } from '../../src/core/layout.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { parseSegment, segmentEntries } from '../../src/core/segment.js';
import { formatTimestamp } from '../../src/core/timestamp.js';
import { logFixture, sampleEvent, withPut } from '../helpers/log-fixture.js';

/** Entries as a parse thread hands them over: one buffer, their ends, their leaf hashes. */
function prepared(entries: readonly Uint8Array[]): PreparedEntries {
  const { bytes, ends } = makeLineBatch(entries.map((content, i) => ({ number: i + 1, content })));
  const leaves = new Uint8Array(32 * entries.length);
  for (const [i, e] of entries.entries()) leaves.set(hashLeaf(e), 32 * i);
  return { bytes, ends, leaves };
}

/** The entries stored in the fixture's log, in order, as text. */
async function storedEntries(fx: ReturnType<typeof logFixture>): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of fx.store.list(segmentPrefix('main'))) keys.push(key);
  const out: string[] = [];
  for (const key of keys.sort())
    for (const e of segmentEntries(parseSegment((await fx.store.get(key)) as Uint8Array)))
      out.push(fromUtf8(e));
  return out;
}

/** The receive times of the entries stored in the fixture's log, in order. */
async function storedTimes(fx: ReturnType<typeof logFixture>): Promise<string[]> {
  return (await storedEntries(fx)).map((e) => (JSON.parse(e) as { receivedAt: string }).receivedAt);
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
      stored.push((await archiver.submitPrepared(prepared([bytes]), t)).stored);
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
      stored.push((await archiver.submitPrepared(prepared([bytes]), t)).stored);
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
    stored.push((await archiver.submitPrepared(prepared([lateBytes]), late)).stored);
    // Made with the earlier time but enqueued after: its bytes and leaf hash are no longer right.
    const earlyBytes = encodeEntry(makeEventEntry(sampleEvent(1), early));
    stored.push((await archiver.submitPrepared(prepared([earlyBytes]), early)).stored);
    await archiver.close();
    await Promise.all(stored);
    expect(await storedTimes(fx)).toEqual([formatTimestamp(late), formatTimestamp(late)]);
    expect(await clean(fx)).toEqual([]);
  });

  it('a run is one submission: acknowledged with its last receipt once every segment of it is stored', async () => {
    const fx = logFixture();
    const archiver = await fx.open({ maxEvents: 3 });
    const t = archiver.nextReceivedAt();
    const entries = Array.from({ length: 9 }, (_, i) =>
      encodeEntry(makeEventEntry(sampleEvent(i), t)),
    );
    const all = prepared(entries);
    // Lines 1-7 of the batch as one run (three segments' worth: 3 + 3 + 1), then line 8 alone.
    const run = await archiver.submitPrepared(all, t, 1, 8);
    let acknowledged = false;
    void run.stored.then(() => {
      acknowledged = true;
    });
    // Two full segments get stored; the run's seventh entry waits in the buffer (age limit 60 s).
    for (let i = 0; i < 200 && archiver.head.nextSeq < 2; i++)
      await new Promise<void>((r) => setImmediate(r));
    expect(archiver.head.nextSeq).toBe(2);
    expect(acknowledged).toBe(false);
    const single = await archiver.submitPrepared(all, t, 8);
    await archiver.close();
    expect(await run.stored).toEqual({ log: 'main', seq: 2, index: 6, treeSize: 8 });
    expect(await single.stored).toEqual({ log: 'main', seq: 2, index: 7, treeSize: 8 });
    expect(await clean(fx)).toEqual([]);
    const times = await storedTimes(fx);
    expect(times).toEqual(Array(8).fill(formatTimestamp(t)));
  });

  it('a run is refused as a whole when any of its segments cannot be stored', async () => {
    const inner = new MemoryStore();
    let puts = 0;
    // The second put fails for good: the run's first segment is stored, its second is not.
    const store = withPut(inner, (k, b, o) =>
      ++puts === 2
        ? Promise.reject(new StorageError('STORE_FAILED', 'boom', { retryable: false }))
        : inner.putIfAbsent(k, b, o),
    );
    const archiver = await logFixture(inner).open({ store, maxEvents: 2 });
    const t = archiver.nextReceivedAt();
    const entries = Array.from({ length: 4 }, (_, i) =>
      encodeEntry(makeEventEntry(sampleEvent(i), t)),
    );
    const run = await archiver.submitPrepared(prepared(entries), t);
    const outcome = run.stored.then(
      () => 'stored',
      (e: unknown) => e,
    );
    await archiver.close();
    expect(hasCode(await outcome, 'STORE_FAILED')).toBe(true);
    expect(puts).toBe(2);
    // Failed or stored, the archiver holds none of the run's bytes any more.
    await run.released;
  });

  it("releases a run's buffers once every segment of it is built, before its put settles", async () => {
    const inner = new MemoryStore();
    let puts = 0;
    let open: (() => void) | undefined;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    // The second segment's put waits at the gate.
    const store = withPut(inner, async (k, b, o) => {
      if (++puts === 2) await gate;
      return inner.putIfAbsent(k, b, o);
    });
    const fx = logFixture(inner);
    const archiver = await fx.open({ store, maxEvents: 2 });
    const t = archiver.nextReceivedAt();
    const entries = Array.from({ length: 4 }, (_, i) =>
      encodeEntry(makeEventEntry(sampleEvent(i), t)),
    );
    const batch = prepared(entries);
    const run = await archiver.submitPrepared(batch, t);
    let acknowledged = false;
    void run.stored.then(() => {
      acknowledged = true;
    });
    // Both segments are built; the second one's put is held, yet the buffers are the caller's.
    await run.released;
    for (let i = 0; i < 200 && puts < 2; i++) await new Promise<void>((r) => setImmediate(r));
    expect(puts).toBe(2);
    expect(archiver.head.nextSeq).toBe(1);
    expect(acknowledged).toBe(false);
    // What the caller does with its buffers from now on cannot reach the log.
    batch.bytes.fill(0x58);
    batch.leaves.fill(0);
    (open as () => void)();
    expect(await run.stored).toEqual({ log: 'main', seq: 1, index: 3, treeSize: 4 });
    await archiver.close();
    expect(await clean(fx)).toEqual([]);
    expect(await storedEntries(fx)).toEqual(entries.map(fromUtf8));
  });

  it.each(['identity', 'gzip'] as const)(
    'seals a run again from its own segment (%s) after a lost race, its buffers let go',
    async (encoding) => {
      const inner = new MemoryStore();
      const fx = logFixture(inner);
      const rival = await fx.open({ maxEvents: 1 });
      let open: (() => void) | undefined;
      const gate = new Promise<void>((r) => {
        open = r;
      });
      // The first put waits at the gate; meanwhile another writer stores segment 0.
      let puts = 0;
      const store = withPut(inner, async (k, b, o) => {
        if (++puts === 1) await gate;
        return inner.putIfAbsent(k, b, o);
      });
      const races: string[] = [];
      const archiver = await fx.open({
        store,
        maxEvents: 3,
        encoding,
        onRetry: (r) => races.push(r.reason),
      });
      const t = archiver.nextReceivedAt();
      const entries = Array.from({ length: 3 }, (_, i) =>
        encodeEntry(makeEventEntry(sampleEvent(i), t)),
      );
      const batch = prepared(entries);
      const run = await archiver.submitPrepared(batch, t);
      await run.released;
      batch.bytes.fill(0x58);
      batch.leaves.fill(0);
      await rival.append(sampleEvent(100));
      await rival.close();
      (open as () => void)();
      expect(await run.stored).toEqual({ log: 'main', seq: 1, index: 3, treeSize: 4 });
      await archiver.close();
      expect(races).toEqual(['lost-race']);
      expect(await clean(fx)).toEqual([]);
      const stored = await storedEntries(fx);
      expect(stored).toHaveLength(4);
      // The run's own entries, in order, after the rival's (their receive time raised if needed).
      const ids = stored.map((e) => (JSON.parse(e) as { event: { id: string } }).event.id);
      expect(ids).toEqual(
        [sampleEvent(100), ...[0, 1, 2].map((i) => sampleEvent(i))].map((e) => e.id),
      );
    },
  );

  it('refuses an empty or out-of-range run', async () => {
    const archiver = await logFixture().open();
    const one = prepared([encodeEntry(makeEventEntry(sampleEvent(0), 1))]);
    await expect(archiver.submitPrepared(one, 1, 1, 1)).rejects.toThrow(RangeError);
    await expect(archiver.submitPrepared(one, 1, 0, 2)).rejects.toThrow(RangeError);
    await archiver.close();
  });

  it('builds each segment in the buffer of the one before, and every stored object is its own', async () => {
    const inner = new MemoryStore();
    const buffers: ArrayBufferLike[] = [];
    // MemoryStore copies what it is given, as the ObjectStore contract asks of every store.
    const store = withPut(inner, (k, b, o) => {
      buffers.push(b.buffer);
      return inner.putIfAbsent(k, b, o);
    });
    const fx = logFixture(inner);
    const archiver = await fx.open({ store, maxEvents: 4 });
    const t = archiver.nextReceivedAt();
    const entries = Array.from({ length: 32 }, (_, i) =>
      encodeEntry(makeEventEntry(sampleEvent(i), t)),
    );
    const run = await archiver.submitPrepared(prepared(entries), t);
    await archiver.close();
    await run.stored;
    expect(buffers).toHaveLength(8);
    // A segment is built in the last one's buffer, unless it needs a larger one (which then serves).
    for (let i = 1; i < buffers.length; i++) {
      const [before, now] = [buffers[i - 1] as ArrayBufferLike, buffers[i] as ArrayBufferLike];
      if (now !== before) expect(now.byteLength).toBeGreaterThan(before.byteLength);
    }
    expect(new Set(buffers).size).toBeLessThan(buffers.length);
    // Building segment k + 1 where segment k was built changed nothing that was stored.
    expect(await clean(fx)).toEqual([]);
    expect(await storedTimes(fx)).toHaveLength(32);
  });
});
