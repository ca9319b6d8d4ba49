/**
 * The batcher inside the archiver: when segments are sealed, backpressure, monotonic receive times,
 * and what a failed store does to the appends waiting on it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { hasCode, StorageError } from '../../src/core/errors.js';
import type { ObjectStore, PutOptions } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import { logFixture, sampleEvent, withPut } from '../helpers/log-fixture.js';

async function segmentSizes(store: ObjectStore): Promise<number[]> {
  const sizes: number[] = [];
  for await (const { key } of store.list(''))
    sizes.push(parseSegment((await store.get(key)) as Uint8Array).header.count);
  return sizes;
}

/** A store whose puts wait until released, to hold segments "in flight". */
class GatedStore extends MemoryStore {
  #open: Promise<void>;
  release!: () => void;
  puts = 0;
  /** Resolves when the first put is waiting at the gate. */
  readonly entered: Promise<void>;
  #enter!: () => void;
  constructor() {
    super();
    this.#open = new Promise((r) => {
      this.release = r;
    });
    this.entered = new Promise((r) => {
      this.#enter = r;
    });
  }
  override async putIfAbsent(key: string, bytes: Uint8Array, o?: PutOptions) {
    this.puts++;
    this.#enter();
    await this.#open;
    return super.putIfAbsent(key, bytes, o);
  }
}

describe('Archiver batching', () => {
  it('seals when maxEvents is reached, and the rest on close', async () => {
    const store = new MemoryStore();
    const a = await logFixture(store).open({ maxEvents: 4, maxAgeMs: 60_000 });
    const stored = await Promise.all(
      Array.from({ length: 10 }, (_, i) => a.submit(sampleEvent(i))),
    );
    await a.close();
    await Promise.all(stored.map((s) => s.stored));
    expect(await segmentSizes(store)).toEqual([4, 4, 2]);
  });

  it('seals when maxBytes is reached', async () => {
    const store = new MemoryStore();
    const a = await logFixture(store).open({ maxEvents: 1000, maxBytes: 2048, maxAgeMs: 60_000 });
    const receipts = [];
    for (let i = 0; i < 12; i++) receipts.push((await a.submit(sampleEvent(i))).stored);
    await a.close();
    await Promise.all(receipts);
    const sizes = await segmentSizes(store);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(12);
    expect(sizes.length).toBeGreaterThan(2);
    for await (const { key } of store.list('')) {
      const seg = parseSegment((await store.get(key)) as Uint8Array);
      // A segment exceeds maxBytes only when a single entry does.
      expect(seg.header.rawLength <= 2048 || seg.header.count === 1).toBe(true);
    }
  });

  it('seals a partial segment once its oldest entry waited maxAgeMs', async () => {
    const store = new MemoryStore();
    const a = await logFixture(store).open({ maxEvents: 1000, maxAgeMs: 20 });
    const receipt = await a.append(sampleEvent(1)); // resolves only after the age limit sealed it
    expect(receipt).toMatchObject({ seq: 0, index: 0, treeSize: 1 });
    expect(await segmentSizes(store)).toEqual([1]);
    await a.close();
  });

  it('applies backpressure: submit waits while maxBufferedBytes are in flight', async () => {
    const store = new GatedStore();
    // Room for one entry at a time: the second must wait until the first is stored.
    const a = await logFixture(store).open({ maxEvents: 1, maxBufferedBytes: 1, maxAgeMs: 60_000 });
    const first = await a.submit(sampleEvent(1));
    const order: string[] = [];
    const pending = a.submit(sampleEvent(2)).then((h) => {
      order.push('second submitted');
      return h;
    });
    // The first put is now blocked in the store; only releasing it can make room.
    await store.entered;
    expect(store.puts).toBe(1);
    order.push('released');
    store.release();
    await first.stored;
    await (await pending).stored;
    expect(order).toEqual(['released', 'second submitted']);
    await a.close();
  });

  it('receive times never go backwards, even when the clock does', async () => {
    const store = new MemoryStore();
    const times = [5_000, 4_000, 6_000, 1_000];
    const clock = { now: () => Date.UTC(2026, 0, 1) + (times.shift() ?? 7_000) };
    const a = await logFixture(store).open({ clock, maxEvents: 10, maxAgeMs: 60_000 });
    const receipts = [];
    for (let i = 0; i < 4; i++) receipts.push((await a.submit(sampleEvent(i))).stored);
    await a.close();
    await Promise.all(receipts);
    const seg = parseSegment((await store.get('main/seg/00000000000000000000.seg')) as Uint8Array);
    const received = splitEntries(
      decodeBody(seg.body, seg.header.encoding, seg.header.rawLength),
    ).map((e) =>
      parseTimestamp((JSON.parse(Buffer.from(e).toString()) as { receivedAt: string }).receivedAt),
    );
    expect(received).toEqual([...received].sort((x, y) => x - y));
    expect(parseTimestamp(seg.checkpoint.sealedAt)).toBeGreaterThanOrEqual(received[3] as number);
  });

  it('a failed store rejects exactly the appends of that segment; later appends work', async () => {
    const inner = new MemoryStore();
    let fail = true;
    const store = withPut(inner, (k, b, o) =>
      fail
        ? Promise.reject(new StorageError('STORE_FAILED', 'boom', { retryable: false }))
        : inner.putIfAbsent(k, b, o),
    );
    const a = await logFixture(inner).open({ store, maxEvents: 2, maxAgeMs: 60_000 });
    const failed = await Promise.allSettled([a.append(sampleEvent(1)), a.append(sampleEvent(2))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(hasCode((failed[0] as PromiseRejectedResult).reason, 'STORE_FAILED')).toBe(true);
    fail = false;
    const ok = await Promise.all([a.append(sampleEvent(3)), a.append(sampleEvent(4))]);
    expect(ok.map((r) => r.index)).toEqual([0, 1]);
    await a.close();
  });

  it('refuses appends after close', async () => {
    const a = await logFixture().open();
    await a.close();
    await expect(a.append(sampleEvent(1))).rejects.toSatisfy((e) => hasCode(e, 'ARCHIVER_CLOSED'));
  });
});
