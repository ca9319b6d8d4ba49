/**
 * The age limit seals what has waited, and only that: one slow put (a stalled fsync, a descheduled
 * process, a long GC) must not switch the archiver into sealing partial segments for ever after
 * (issue 14). Timers are injected (fake `setTimeout` and `performance`), puts are gated by the
 * test, so every step is deterministic.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { ObjectStore, PutOptions } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { logFixture, sampleEvent } from '../helpers/log-fixture.js';

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

/** Lets every pending promise chain run (real macrotasks; only timers are faked). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

async function segmentSizes(store: ObjectStore): Promise<number[]> {
  const sizes: number[] = [];
  for await (const { key } of store.list(''))
    sizes.push(parseSegment((await store.get(key)) as Uint8Array).header.count);
  return sizes;
}

describe('Archiver age limit', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('after an age-triggered seal with a stalled put, later segments are full again', async () => {
    // Prepare: a log with 4 entries per segment and a 1 s age limit.
    const store = new GatedStore();
    const a = await logFixture(store).open({ maxEvents: 4, maxAgeMs: 1000 });
    const stored: Promise<unknown>[] = [];
    stored.push((await a.submit(sampleEvent(0))).stored);
    // Act: the age limit fires; its put stalls while the producer keeps feeding, one event per
    // put, as the CLI does.
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(store.puts).toBe(1);
    for (let i = 1; i <= 12; i++) {
      stored.push((await a.submit(sampleEvent(i))).stored);
      store.releaseAll();
      await settle();
    }
    const closing = a.close();
    for (let i = 0; i < 10; i++) {
      store.releaseAll();
      await settle();
    }
    await closing;
    await Promise.all(stored);
    // Assess: one partial segment for the aged entry, then full ones.
    expect(await segmentSizes(store)).toEqual([1, 4, 4, 4]);
  });

  it('an age-triggered seal takes only what was buffered when the timer fired', async () => {
    const store = new GatedStore();
    const a = await logFixture(store).open({ maxEvents: 10, maxAgeMs: 1000 });
    const stored: Promise<unknown>[] = [];
    stored.push((await a.submit(sampleEvent(0))).stored);
    stored.push((await a.submit(sampleEvent(1))).stored);
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    // Three more arrive while the aged batch is being stored.
    for (let i = 2; i < 5; i++) stored.push((await a.submit(sampleEvent(i))).stored);
    store.releaseAll();
    await settle();
    // The three are not sealed yet: they have not waited 1 s and do not fill a segment.
    expect(store.puts).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    store.releaseAll();
    await settle();
    await a.close();
    await Promise.all(stored);
    expect(await segmentSizes(store)).toEqual([2, 3]);
  });
});
