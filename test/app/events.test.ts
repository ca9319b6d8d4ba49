/**
 * searchEvents on real logs in a folder store: filters, receive-time bounds at segment
 * boundaries, empty results, a tampered segment in the range, and a bundle starting mid-log.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { searchEvents } from '../../src/app/events.js';
import { type EventFilter, type EventHit, parseInstant } from '../../src/core/event-filter.js';
import { segmentKey } from '../../src/core/layout.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import { logFixture, writeLog } from '../helpers/log-fixture.js';

let dir: string;
let store: FolderStore;
let fx: ReturnType<typeof logFixture>;
let all: EventHit[];

async function search(filter: EventFilter, extra: { bundle?: boolean; s?: FolderStore } = {}) {
  const hits: EventHit[] = [];
  const summaries = await searchEvents(
    extra.s ?? store,
    { trustedKeys: [fx.key.trusted], filter, bundle: extra.bundle },
    (h) => {
      hits.push(h);
    },
  );
  return { hits, summaries };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-events-'));
  store = new FolderStore(join(dir, 'store'));
  await store.openForWriting();
  fx = logFixture(store);
  await writeLog(fx, 40, 5); // segments 0..7, 5 entries each
  all = (await search({})).hits;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const iso = (ms: number) => new Date(ms).toISOString();
const at = (h: EventHit) => parseTimestamp(h.entry.receivedAt);

describe('searchEvents', () => {
  it('without filters streams every entry in leaf order, each with its log, index and segment', () => {
    expect(all.map((h) => h.index)).toEqual([...Array(40).keys()]);
    for (const h of all) {
      expect(h.log).toBe('main');
      expect(h.seq).toBe(Math.floor(h.index / 5));
      expect(h.key).toBe(segmentKey('main', h.seq));
    }
  });

  it('each field filter, and combinations', async () => {
    const ids = (hits: EventHit[]) =>
      hits.map((h) => (h.entry.kind === 'event' ? h.entry.event.id : undefined));
    const expected = (pred: (i: number) => boolean) =>
      [...Array(40).keys()].filter(pred).map((i) => `evt-${i}`);
    expect(ids((await search({ actors: ['user-3'] })).hits)).toEqual(expected((i) => i % 7 === 3));
    expect(ids((await search({ actions: ['iam:CreateUser'] })).hits)).toEqual(
      expected((i) => i % 3 === 0),
    );
    expect(ids((await search({ outcomes: ['failure'] })).hits)).toEqual(
      expected((i) => i % 11 === 0),
    );
    expect(ids((await search({ resources: ['arn:aws:iam::123456789012:user/u12'] })).hits)).toEqual(
      ['evt-12'],
    );
    expect((await search({ resources: ['aws:iam:user'] })).hits).toHaveLength(40);
    expect(ids((await search({ actors: ['user-0'], actions: ['iam:CreateUser'] })).hits)).toEqual(
      expected((i) => i % 7 === 0 && i % 3 === 0),
    );
  });

  it('an empty result is no hits, the log still summarised', async () => {
    const { hits, summaries } = await search({ actors: ['nobody'] });
    expect(hits).toEqual([]);
    expect(summaries).toMatchObject([{ log: 'main', hits: 0, entries: 40 }]);
  });

  it('receive-time bounds at segment boundaries read only the segments in range', async () => {
    // Segment 3 holds indexes 15..19, segment 5 holds 25..29.
    const from = at(all[15] as EventHit);
    const to = at(all[25] as EventHit);
    const { hits, summaries } = await search({
      received: { from: parseInstant(iso(from)), to: parseInstant(iso(to)) },
    });
    expect(hits.map((h) => h.index)).toEqual([...Array(10).keys()].map((i) => i + 15));
    expect(summaries[0]).toMatchObject({ firstSeq: 3, lastSeq: 4, segmentsRead: 2 });
    expect(summaries[0]?.searchReads).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(9)));
    // One millisecond either way moves the boundary by one entry.
    const shifted = await search({
      received: { from: parseInstant(iso(from + 1)), to: parseInstant(iso(to + 1)) },
    });
    expect(shifted.hits.map((h) => h.index)).toEqual([...Array(10).keys()].map((i) => i + 16));
  });

  it('a range after the head, or before the first entry, selects nothing', async () => {
    const last = at(all[39] as EventHit);
    const after = await search({ received: { from: parseInstant(iso(last + 1)) } });
    expect(after.hits).toEqual([]);
    expect(after.summaries[0]).toMatchObject({ segmentsRead: 0 });
    const before = await search({ received: { to: parseInstant(iso(at(all[0] as EventHit))) } });
    expect(before.hits).toEqual([]);
  });

  it('a tampered segment in the range is an error naming it; none of its entries is handed out', async () => {
    const key = segmentKey('main', 4);
    const path = join(dir, 'store', ...key.split('/'));
    const original = await readFile(path);
    const bytes = Buffer.from(original);
    // Change one byte of the body (last byte before the final newline).
    const i = bytes.length - 2;
    bytes[i] = bytes[i] === 0x41 ? 0x42 : 0x41;
    await rm(path);
    await writeFile(path, bytes);
    try {
      const hits: EventHit[] = [];
      const err = await searchEvents(store, { trustedKeys: [fx.key.trusted], filter: {} }, (h) => {
        hits.push(h);
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: expect.stringMatching(/^SEGMENT_/) });
      expect(String((err as Error).message)).toContain(key);
      expect(Math.max(...hits.map((h) => h.seq))).toBe(3);
      // A range after it hands out none of its entries either way: the O(log n) lookup may probe
      // the tampered segment (then the search stops, naming it) or step over it.
      const from = at(all[30] as EventHit);
      const later: EventHit[] = [];
      const outcome = await searchEvents(
        store,
        { trustedKeys: [fx.key.trusted], filter: { received: { from: parseInstant(iso(from)) } } },
        (h) => {
          later.push(h);
        },
      ).catch((e: unknown) => e);
      if (outcome instanceof Error) expect(outcome.message).toContain(key);
      else expect(later.map((h) => h.index)[0]).toBe(30);
      expect(later.some((h) => h.seq === 4)).toBe(false);
    } finally {
      await rm(path);
      await writeFile(path, original);
    }
  });

  it('a bundle starts where bundle.json says', async () => {
    const bundleDir = join(dir, 'bundle');
    const bundle = new FolderStore(bundleDir);
    await bundle.openForWriting();
    for (let seq = 2; seq <= 5; seq++) {
      const key = segmentKey('main', seq);
      const bytes = (await store.get(key)) as Uint8Array;
      await bundle.putIfAbsent(key, bytes);
    }
    const manifest = {
      createdAt: '2026-11-26T09:00:00.000Z',
      format: 'auditlock-bundle/1',
      logs: { main: { firstSeq: 2, lastSeq: 5, origin: 'audit.example.com/test/main' } },
      source: 'test',
    };
    await writeFile(join(bundleDir, 'bundle.json'), JSON.stringify(manifest));
    const { hits, summaries } = await search({}, { bundle: true, s: bundle });
    expect(hits.map((h) => h.index)).toEqual([...Array(20).keys()].map((i) => i + 10));
    expect(summaries[0]?.stored).toEqual({ firstSeq: 2, headSeq: 5 });
    // Without --bundle the folder has no segment 0: no log with segments.
    expect((await search({}, { s: bundle })).summaries[0]?.stored).toBeUndefined();
  });
});
