/**
 * Ingest memory is bounded by the segment size (issue 14): `submit` waits while a full segment is
 * queued behind the one being stored, and buffered entries are held as bytes only, rebuilt from
 * them when a lost race restamps their receive time.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import type { Finding } from '../../src/core/findings.js';
import type { ObjectStore, PutOptions } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { logFixture, makeKey, sampleEvent } from '../helpers/log-fixture.js';

/** Every put waits until the test releases it. */
class GatedStore extends MemoryStore {
  puts = 0;
  #waiting: (() => void)[] = [];
  override async putIfAbsent(key: string, bytes: Uint8Array, o?: PutOptions) {
    this.puts++;
    await new Promise<void>((r) => this.#waiting.push(r));
    return super.putIfAbsent(key, bytes, o);
  }
  releaseAll(): void {
    for (const r of this.#waiting.splice(0)) r();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

async function storedEntries(store: ObjectStore): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const { key } of store.list('')) {
    const seg = parseSegment((await store.get(key)) as Uint8Array);
    for (const e of splitEntries(decodeBody(seg.body, seg.header.encoding, seg.header.rawLength)))
      out.push(JSON.parse(Buffer.from(e).toString('utf8')));
  }
  return out;
}

describe('Archiver memory bound', () => {
  it('submit waits while a full segment is queued behind the one being stored', async () => {
    const store = new GatedStore();
    const a = await logFixture(store).open({ maxEvents: 4 });
    const stored: Promise<unknown>[] = [];
    // Four fill the first segment, whose put stalls; four more fill the one queued behind it.
    for (let i = 0; i < 8; i++) stored.push((await a.submit(sampleEvent(i))).stored);
    await settle();
    expect(store.puts).toBe(1);
    let accepted = false;
    const ninth = a.submit(sampleEvent(8)).then((r) => {
      accepted = true;
      stored.push(r.stored);
    });
    await settle();
    expect(accepted).toBe(false);
    // The stalled put lands: the queued segment goes to the store and there is room again.
    store.releaseAll();
    await settle();
    await ninth;
    expect(accepted).toBe(true);
    const closing = a.close();
    for (let i = 0; i < 5; i++) {
      store.releaseAll();
      await settle();
    }
    await closing;
    await Promise.all(stored);
    expect((await storedEntries(store)).map((e) => (e.event as { id: string }).id)).toEqual(
      Array.from({ length: 9 }, (_, i) => `evt-${i}`),
    );
  });

  it('after a lost race the entries are rebuilt from their bytes with the new receive time only', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    const slow = logFixture(store, key);
    const fast = logFixture(store, key);
    const a = await slow.open({ maxEvents: 3 });
    const b = await fast.open({ maxEvents: 1 });
    // b stores segment 0 with a later receive time, while a still believes the log is empty.
    fast.clock.set(Date.UTC(2026, 10, 26, 9, 0, 0));
    await b.append(sampleEvent(100), { source: 'cli', id: 'b:1' });
    await b.close();
    const receipts = await Promise.all(
      [0, 1, 2].map((i) => a.append(sampleEvent(i), { source: 'cli', id: `a:${i}` })),
    );
    await a.close();
    expect(receipts.map((r) => r.seq)).toEqual([1, 1, 1]);
    const entries = await storedEntries(store);
    expect(entries.map((e) => e.receivedAt)).toEqual(Array(4).fill('2026-11-26T09:00:00.000Z'));
    // Everything but the receive time is what was submitted.
    expect(entries.slice(1)).toEqual(
      [0, 1, 2].map((i) => ({
        kind: 'event',
        receivedAt: '2026-11-26T09:00:00.000Z',
        event: JSON.parse(JSON.stringify(sampleEvent(i))),
        delivery: { source: 'cli', id: `a:${i}` },
      })),
    );
    const findings: Finding[] = [];
    const r = await verifyStore(store, {
      trustedKeys: [key.trusted],
      onFinding: (f) => findings.push(f),
    });
    expect(findings).toEqual([]);
    expect(r.logs[0]?.entries).toBe(4);
  });
});
