/**
 * The O(log n) time lookup (src/app/segment-search.ts): which segments a time range selects at
 * its boundaries and across gaps in time, what a range beyond the head gives, the request counts
 * it documents, and that a forged segment can only widen the selection.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { findStoredRange, findTimeRange, SegmentTimeReader } from '../../src/app/segment-search.js';
import { segmentKey } from '../../src/core/layout.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { forge } from '../helpers/forge.js';
import { type LogFixture, logFixture, makeKey, sampleEvent } from '../helpers/log-fixture.js';

const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);

/**
 * A log whose segment i holds 3 entries received at `starts[i]`, `+1`, `+2` ms (the fixture
 * clock steps 1 ms per read), sealed right after.
 */
async function timedLog(starts: readonly number[], fx: LogFixture = logFixture()) {
  const archiver = await fx.open({ maxEvents: 3 });
  let n = 0;
  for (const start of starts) {
    fx.clock.set(start);
    const stored: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) stored.push((await archiver.submit(sampleEvent(n++))).stored);
    await Promise.all(stored);
  }
  await archiver.close();
  return fx;
}

/** A store that counts the requests made to it. */
function counting(store: ObjectStore) {
  const counts = { get: 0, exists: 0 };
  const wrapped: ObjectStore = {
    location: store.location,
    putIfAbsent: (k, b, o) => store.putIfAbsent(k, b, o),
    get: (k, o) => {
      counts.get++;
      return store.get(k, o);
    },
    exists: (k) => {
      counts.exists++;
      return store.exists(k);
    },
    list: (p, o) => store.list(p, o),
  };
  return { store: wrapped, counts };
}

describe('findTimeRange', () => {
  // Segments at 0 s, 10 s, 20 s, then a gap, 100 s, 110 s.
  const starts = [0, 10_000, 20_000, 100_000, 110_000].map((s) => T0 + s);

  it('selects the segments whose receive times meet [from, to), inclusive start, exclusive end', async () => {
    // Prepare
    const fx = await timedLog(starts);
    const opts = { trustedKeys: [fx.key.trusted] };
    const range = (fromMs?: number, toMs?: number) =>
      findTimeRange(fx.store, 'main', { fromMs, toMs }, opts);

    // Act / Assess: exact boundaries
    expect(await range(T0 + 10_000, T0 + 20_000)).toMatchObject({ firstSeq: 1, lastSeq: 1 });
    // The last entry of segment 1 is at +10_002: a start there still selects it, one later not.
    expect(await range(T0 + 10_002, T0 + 20_001)).toMatchObject({ firstSeq: 1, lastSeq: 2 });
    expect(await range(T0 + 10_003, T0 + 20_001)).toMatchObject({ firstSeq: 2, lastSeq: 2 });
    // Open ends
    expect(await range(undefined, T0 + 10_000)).toMatchObject({ firstSeq: 0, lastSeq: 0 });
    expect(await range(T0 + 100_000, undefined)).toMatchObject({ firstSeq: 3, lastSeq: 4 });
    expect(await range()).toMatchObject({ firstSeq: 0, lastSeq: 4, empty: false });
    // A range inside the gap in time selects nothing
    expect(await range(T0 + 30_000, T0 + 90_000)).toMatchObject({ empty: true, firstSeq: 3 });
    // Beyond the head, before the first segment, and from >= to
    expect(await range(T0 + 200_000, T0 + 300_000)).toMatchObject({ empty: true, firstSeq: 5 });
    expect(await range(T0 - 5_000, T0)).toMatchObject({ empty: true });
    expect(await range(T0 + 10_000, T0 + 10_000)).toMatchObject({ empty: true });
  });

  it('reads at most 2·⌈log2(n+1)⌉ segments and probes at most 2·⌈log2(n+1)⌉+1 keys', async () => {
    // Prepare: 40 segments, one second apart
    const n = 40;
    const fx = await timedLog(Array.from({ length: n }, (_, i) => T0 + i * 1000));
    const { store, counts } = counting(fx.store);
    const bound = Math.ceil(Math.log2(n + 1));

    // Act
    const stored = await findStoredRange(store, 'main');
    const probes = counts.exists;
    const r = await findTimeRange(
      store,
      'main',
      { fromMs: T0 + 17_000, toMs: T0 + 23_500 },
      { trustedKeys: [fx.key.trusted], stored },
    );

    // Assess
    expect(stored).toEqual({ firstSeq: 0, headSeq: n - 1 });
    expect(probes).toBeLessThanOrEqual(2 * bound + 1);
    expect(r).toMatchObject({ firstSeq: 17, lastSeq: 23 });
    expect(r?.reads).toBe(counts.get);
    expect(counts.get).toBeLessThanOrEqual(2 * bound);
  });

  it('searches a range that starts mid-log (a bundle) from its first segment', async () => {
    // Prepare: copy segments 2..4 only
    const fx = await timedLog(starts);
    const bundle = new MemoryStore();
    for (let seq = 2; seq <= 4; seq++)
      await bundle.putIfAbsent(
        segmentKey('main', seq),
        (await fx.store.get(segmentKey('main', seq))) as Uint8Array,
      );

    // Act
    const r = await findTimeRange(
      bundle,
      'main',
      { fromMs: T0 + 15_000 },
      { trustedKeys: [fx.key.trusted], firstSeq: 2 },
    );

    // Assess
    expect(r).toMatchObject({ firstSeq: 2, lastSeq: 4, stored: { firstSeq: 2, headSeq: 4 } });
    expect(await findStoredRange(bundle, 'main')).toBeUndefined();
  });

  it('a forged segment is reported and only widens the selection', async () => {
    // Prepare: segment 2 re-signed by someone else's key
    const store = new MemoryStore();
    const fx = await timedLog(starts, logFixture(store));
    const key = segmentKey('main', 2);
    store.tamperReplace(
      key,
      await forge((await store.get(key)) as Uint8Array, { signers: [makeKey('mallory').signer] }),
    );
    const untrusted: number[] = [];
    const opts = { trustedKeys: [fx.key.trusted], onUntrusted: (s: number) => untrusted.push(s) };

    // Act: a range that, honestly, is segment 3 only
    const r = await findTimeRange(
      store,
      'main',
      { fromMs: T0 + 100_000, toMs: T0 + 105_000 },
      opts,
    );
    const reader = new SegmentTimeReader(store, 'main', opts);

    // Assess
    expect(untrusted).toContain(2);
    expect(r?.firstSeq).toBeLessThanOrEqual(3);
    expect(r?.lastSeq).toBe(3);
    expect(await reader.times(2)).toBeUndefined();
    expect(await reader.times(3)).toMatchObject({ seq: 3, firstReceivedAt: T0 + 100_000 });
  });
});
