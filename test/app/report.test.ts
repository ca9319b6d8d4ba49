/**
 * The report model (app/report.ts): built from a real verification of logs the archiver wrote
 * over several UTC days, with a segment across midnight, two signing keys (rotation), retention
 * metadata from a versioned store, and stored bytes tampered with.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { buildReport, groupFindings, type ReportOptions } from '../../src/app/report.js';
import { segmentFacts, utcDay } from '../../src/app/report-segments.js';
import { toBase64 } from '../../src/core/encoding.js';
import { FINDING_CODES } from '../../src/core/findings.js';
import { sha256 } from '../../src/core/hash.js';
import { segmentKey } from '../../src/core/layout.js';
import type {
  ObjectStore,
  ObjectVersion,
  VersionedObjectStore,
  VersionMetadata,
} from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { logFixture, makeKey, type TestKey, writeLog } from '../helpers/log-fixture.js';

const DAY = 86_400_000;
const DAY1 = Date.UTC(2026, 10, 24, 9, 0, 0);
const NOW = () => Date.UTC(2026, 11, 1);

/**
 * Log `main`: 20 entries on 24 Nov (2 segments), 30 on 25 Nov (3 segments), then one segment of
 * 20 entries received from 10 ms before midnight 26/27 Nov on (sealed on the 27th).
 */
async function multiDayLog(store: ObjectStore = new MemoryStore(), key: TestKey = makeKey()) {
  const fx = logFixture(store, key);
  fx.clock.set(DAY1);
  await writeLog(fx, 20, 10, 0);
  fx.clock.set(DAY1 + DAY);
  await writeLog(fx, 30, 10, 20);
  fx.clock.set(Date.UTC(2026, 10, 27) - 10);
  await writeLog(fx, 20, 20, 50);
  return { store, key, fx };
}

/** A copy of `store` with `change` applied to the bytes of `key`. */
async function tampered(
  store: ObjectStore,
  key: string,
  change: (b: Uint8Array) => Uint8Array,
): Promise<MemoryStore> {
  const copy = new MemoryStore();
  for await (const o of store.list('')) {
    const bytes = (await store.get(o.key)) as Uint8Array;
    await copy.putIfAbsent(o.key, o.key === key ? change(bytes.slice()) : bytes);
  }
  return copy;
}

function opts(key: TestKey, extra: Partial<ReportOptions> = {}): ReportOptions {
  return { trustedKeys: [key.trusted], now: NOW, ...extra };
}

describe('buildReport', () => {
  it('gives a clean verdict and a timeline of segments and entries per UTC day', async () => {
    // Prepare
    const { store, key } = await multiDayLog();
    // Act
    const r = await buildReport(store, opts(key));
    // Assess
    expect(r.ok).toBe(true);
    expect(r.findings).toBe(0);
    expect(r.groups).toEqual([]);
    expect(r.generatedAt).toBe(NOW());
    const [log] = r.logs;
    expect(log?.summary).toMatchObject({ log: 'main', segments: 6, entries: 70 });
    expect(log?.days.map((d) => [d.day, d.segments, d.firstSeq, d.lastSeq])).toEqual([
      ['2026-11-24', 2, 0, 1],
      ['2026-11-25', 3, 2, 4],
      ['2026-11-26', 0, undefined, undefined],
      ['2026-11-27', 1, 5, 5],
    ]);
    // The stepping clock reads 1 ms per event and per seal: 20 events from 10 ms before midnight
    // are split by their own receive times, read back from the entries.
    const entries = Object.fromEntries(log?.days.map((d) => [d.day, d.entries]) ?? []);
    expect(entries['2026-11-24']).toBe(20);
    expect(entries['2026-11-25']).toBe(30);
    expect(entries['2026-11-26']).toBeGreaterThan(0);
    expect((entries['2026-11-26'] ?? 0) + (entries['2026-11-27'] ?? 0)).toBe(20);
    expect(log?.undated).toEqual({ segments: 0, findings: 0 });
    expect(r.keys).toEqual([
      expect.objectContaining({ label: 'test', signed: 6, outsideWindow: 0, invalid: 0 }),
    ]);
    expect(r.keys[0]?.firstSealedAt).toBeGreaterThanOrEqual(DAY1);
    expect(r.retention).toMatchObject({ withMetadata: 0, withoutMetadata: 6 });
    expect(r.witness).toBeUndefined();
    expect(r.replica).toBeUndefined();
  });

  it('counts a midnight segment entry by entry, as its entries say', async () => {
    const { store } = await multiDayLog();
    const bytes = (await store.get(segmentKey('main', 5))) as Uint8Array;
    const facts = segmentFacts(bytes, []);
    const seg = parseSegment(bytes);
    // Independently: the header's first receive time and the count before midnight.
    const first = Date.parse(seg.header.firstReceivedAt);
    const beforeMidnight = Date.UTC(2026, 10, 27) - first;
    expect(utcDay(first)).toBe('2026-11-26');
    expect(facts?.entriesByDay.get('2026-11-26')).toBeGreaterThan(0);
    expect(facts?.entriesByDay.get('2026-11-26')).toBeLessThanOrEqual(beforeMidnight);
    expect(facts?.signatures).toEqual([
      expect.objectContaining({ status: 'unknown', keyName: seg.checkpoint.origin }),
    ]);
    expect(segmentFacts(new Uint8Array([1, 2, 3]), [])).toBeUndefined();
  });

  it('groups the findings of tampered bytes by code, with meaning, location and day', async () => {
    const { store, key } = await multiDayLog();
    const k = segmentKey('main', 3);
    // One byte of segment 3's body (its last byte) changed.
    const bad = await tampered(store, k, (b) => {
      b[b.length - 2] = (b[b.length - 2] as number) ^ 0x01;
      return b;
    });
    const r = await buildReport(bad, opts(key));
    expect(r.ok).toBe(false);
    expect(r.findings).toBeGreaterThan(0);
    const codes = r.groups.map((g) => g.code);
    expect(codes).toContain('PAYLOAD_HASH_MISMATCH');
    for (const g of r.groups) expect(g.meaning).toBe(FINDING_CODES[g.code]);
    expect(r.groups.flatMap((g) => g.findings).length).toBe(r.findings);
    const payload = r.groups.find((g) => g.code === 'PAYLOAD_HASH_MISMATCH');
    expect(payload?.findings[0]).toMatchObject({ log: 'main', seq: 3, key: k });
    // Segment 4 no longer links to it (its prev hash is of the original bytes).
    const all = r.groups.flatMap((g) => g.findings);
    expect(all.filter((f) => f.seq === 4).map((f) => f.code)).toEqual(['PREV_HASH_MISMATCH']);
    expect(all.every((f) => f.seq === 3 || f.seq === 4)).toBe(true);
    // Both were sealed on 25 Nov: that day carries every finding, no other day any.
    const days = r.logs[0]?.days ?? [];
    expect(days.find((d) => d.day === '2026-11-25')?.findings).toBe(r.findings);
    expect(days.filter((d) => d.day !== '2026-11-25').every((d) => d.findings === 0)).toBe(true);
  });

  it('puts a segment that does not parse apart, with its findings', async () => {
    const { store, key } = await multiDayLog();
    const bad = await tampered(store, segmentKey('main', 1), () => new Uint8Array([0x78, 0x0a]));
    const r = await buildReport(bad, opts(key));
    expect(r.groups.map((g) => g.code)).toContain('SEGMENT_MALFORMED');
    const log = r.logs[0];
    expect(log?.undated.segments).toBe(1);
    expect(log?.undated.findings).toBeGreaterThanOrEqual(1);
    expect(log?.days.find((d) => d.day === '2026-11-24')?.segments).toBe(1);
  });

  it('shows which key signed which segments across a rotation, and one outside its window', async () => {
    const store = new MemoryStore();
    const a = makeKey('key-a');
    const b = makeKey('key-b');
    const fx = logFixture(store, a);
    fx.clock.set(DAY1);
    await writeLog(fx, 20, 10, 0);
    const fxB = logFixture(store, b);
    fxB.clock.set(DAY1 + DAY);
    await writeLog(fxB, 30, 10, 20, { trustedKeys: [a.trusted, b.trusted] });
    const rotation = DAY1 + DAY - 1000;
    const windowed = [
      { ...a.trusted, notAfter: rotation },
      { ...b.trusted, notBefore: rotation },
    ];
    const clean = await buildReport(store, { trustedKeys: windowed, now: NOW });
    expect(clean.ok).toBe(true);
    expect(
      clean.keys.map((k) => [k.label, k.signed, k.outsideWindow, k.notBefore, k.notAfter]),
    ).toEqual([
      ['key-a', 2, 0, undefined, rotation],
      ['key-b', 3, 0, rotation, undefined],
    ]);
    expect(clean.keys[0]?.lastSealedAt).toBeLessThan(rotation);
    expect(clean.keys[1]?.firstSealedAt).toBeGreaterThan(rotation);

    // Key a's window closed before it signed: its segments are KEY_NOT_VALID_AT_SEAL_TIME.
    const early = [{ ...a.trusted, notAfter: DAY1 - 1 }, windowed[1] as (typeof windowed)[1]];
    const r = await buildReport(store, { trustedKeys: early, now: NOW });
    expect(r.ok).toBe(false);
    expect(r.groups.map((g) => g.code)).toContain('KEY_NOT_VALID_AT_SEAL_TIME');
    expect(r.keys[0]).toMatchObject({ signed: 0, outsideWindow: 2 });

    // Only key b trusted: key a's lines are from an unknown key.
    const onlyB = await buildReport(store, { trustedKeys: [b.trusted], now: NOW });
    expect(onlyB.unknownKeys).toEqual([expect.objectContaining({ lines: 2 })]);
  });

  it('gives the retention horizon a versioned store reports', async () => {
    const { store, key } = await multiDayLog();
    const until = (seq: number) => new Date(Date.UTC(2033, 0, 1) + seq * DAY);
    const r = await buildReport(versioned(store as MemoryStore, until), opts(key));
    expect(r.ok).toBe(true);
    expect(r.retention).toEqual({
      withMetadata: 6,
      withoutMetadata: 0,
      modes: { COMPLIANCE: 6 },
      legalHolds: 0,
      earliest: until(0).getTime(),
      latest: until(5).getTime(),
    });
  });

  it('lists groups in the order of FINDING_CODES', () => {
    const g = groupFindings([
      { code: 'ROOT_MISMATCH', detail: 'x' },
      { code: 'SEGMENT_MALFORMED', detail: 'y' },
      { code: 'ROOT_MISMATCH', detail: 'z' },
    ]);
    expect(g.map((x) => [x.code, x.findings.length])).toEqual([
      ['SEGMENT_MALFORMED', 1],
      ['ROOT_MISMATCH', 2],
    ]);
  });
});

/** `inner` as a versioned store: one version per key, COMPLIANCE until `until(seq)`. */
function versioned(inner: MemoryStore, until: (seq: number) => Date): VersionedObjectStore {
  return {
    location: inner.location,
    putIfAbsent: (k, b, o) => inner.putIfAbsent(k, b, o),
    get: (k, o) => inner.get(k, o),
    exists: (k) => inner.exists(k),
    list: (p, o) => inner.list(p, o),
    async *listVersions(prefix, options) {
      for await (const o of inner.list(prefix, options)) {
        const v: ObjectVersion = {
          key: o.key,
          versionId: 'v1',
          isLatest: true,
          isDeleteMarker: false,
          size: o.size,
          lastModified: undefined,
        };
        yield v;
      }
    },
    getVersion: (k, _v, o) => inner.get(k, o),
    async describeVersion(k): Promise<VersionMetadata | undefined> {
      const bytes = (await inner.get(k)) as Uint8Array;
      return {
        lockMode: 'COMPLIANCE',
        retainUntil: until(Number(/(\d+)\.seg$/.exec(k)?.[1])),
        legalHold: false,
        checksumSha256: toBase64(sha256(bytes)),
        replicationStatus: undefined,
      };
    },
  };
}
