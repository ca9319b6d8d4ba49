/**
 * Replica comparison rules (FORMAT.md §5.2), one by one, on hand-made records: presence, bytes,
 * lock, replication status, the RTC window, and where agreement stops.
 */
import { describe, expect, it } from 'vitest';
import { FINDING_CODES } from '../../src/core/findings.js';
import { segmentKey } from '../../src/core/layout.js';
import {
  compareReplica,
  type ReplicaRecord,
  RTC_WINDOW_MS,
} from '../../src/core/replica-compare.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const RETAIN = NOW + 86_400_000;
const MIN = 60_000;

/** Segment `seq` of `log` as S3 shows it on the source side after replication. */
function source(seq: number, over: Partial<ReplicaRecord> = {}, log = 'main'): ReplicaRecord {
  return {
    log,
    seq,
    key: segmentKey(log, seq),
    versionId: `v${seq}`,
    hash: new Uint8Array(32).fill(seq + 1),
    size: 1000 + seq,
    hasMetadata: true,
    lockMode: 'COMPLIANCE',
    retainUntil: RETAIN,
    legalHold: false,
    replicationStatus: 'COMPLETED',
    lastModified: NOW - 60 * MIN,
    hidden: false,
    ...over,
  };
}

/** The replica of `source(seq)`. */
function replicaOf(seq: number, over: Partial<ReplicaRecord> = {}, log = 'main'): ReplicaRecord {
  return source(seq, { replicationStatus: 'REPLICA', versionId: `r${seq}`, ...over }, log);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const compare = (p: ReplicaRecord[], r: ReplicaRecord[], rtcWindowMs?: number) =>
  compareReplica(p, r, { now: NOW, rtcWindowMs });
const codes = (c: ReturnType<typeof compare>) => c.findings.map((f) => [f.code, f.seq]);

describe('compareReplica', () => {
  it('finds nothing when every segment is replicated, and agrees through the last one', () => {
    const c = compare(
      range(4).map((s) => source(s)),
      range(4).map((s) => replicaOf(s)),
    );
    expect(c.findings).toEqual([]);
    expect(c.logs).toEqual([
      { log: 'main', segments: 4, agreedThrough: 3, pending: 0, maxLagMs: 0 },
    ]);
  });

  it('accepts COMPLETE as well as COMPLETED, in any case', () => {
    const p = [
      source(0, { replicationStatus: 'COMPLETE' }),
      source(1, { replicationStatus: 'completed' }),
    ];
    const c = compare(p, [replicaOf(0), replicaOf(1)]);
    expect(c.findings).toEqual([]);
    expect(c.logs[0]?.agreedThrough).toBe(1);
  });

  it('reports REPLICA_MISSING for a completed segment absent from the replica, and agreement stops before it', () => {
    const c = compare(
      range(4).map((s) => source(s)),
      [replicaOf(0), replicaOf(2), replicaOf(3)],
    );
    expect(codes(c)).toEqual([['REPLICA_MISSING', 1]]);
    expect(c.findings[0]?.key).toBe(segmentKey('main', 1));
    expect(c.logs[0]?.agreedThrough).toBe(0);
  });

  it('reports REPLICA_MISSING for a segment hidden by a delete marker in the replica', () => {
    const c = compare([source(0), source(1)], [replicaOf(0), replicaOf(1, { hidden: true })]);
    expect(codes(c)).toEqual([['REPLICA_MISSING', 1]]);
    expect(c.logs[0]?.agreedThrough).toBe(0);
  });

  it('reports REPLICA_MISMATCH for other bytes of the same size, and for another size', () => {
    const c = compare(
      [source(0), source(1), source(2)],
      [
        replicaOf(0),
        replicaOf(1, { hash: new Uint8Array(32).fill(99) }),
        replicaOf(2, { size: 5 }),
      ],
    );
    expect(codes(c)).toEqual([
      ['REPLICA_MISMATCH', 1],
      ['REPLICA_MISMATCH', 2],
    ]);
    expect(c.logs[0]?.agreedThrough).toBe(0);
  });

  it('does not agree on a segment whose bytes could not be read on one side, without a finding of its own', () => {
    const c = compare([source(0), source(1, { hash: undefined })], [replicaOf(0), replicaOf(1)]);
    expect(c.findings).toEqual([]);
    expect(c.logs[0]?.agreedThrough).toBe(0);
  });

  it('reports REPLICA_RETENTION_MISMATCH for another mode, an earlier retain-until, none, or a lost legal hold', () => {
    const c = compare(
      range(5).map((s) => source(s, s === 4 ? { legalHold: true } : {})),
      [
        replicaOf(0, { lockMode: 'GOVERNANCE' }),
        replicaOf(1, { retainUntil: RETAIN - 1000 }),
        replicaOf(2, { lockMode: undefined, retainUntil: undefined }),
        replicaOf(3, { retainUntil: RETAIN + 86_400_000 }), // longer is fine
        replicaOf(4, { legalHold: false }),
      ],
    );
    expect(codes(c)).toEqual([
      ['REPLICA_RETENTION_MISMATCH', 0],
      ['REPLICA_RETENTION_MISMATCH', 1],
      ['REPLICA_RETENTION_MISMATCH', 2], // mode
      ['REPLICA_RETENTION_MISMATCH', 2], // retain-until
      ['REPLICA_RETENTION_MISMATCH', 4],
    ]);
    expect(c.logs[0]?.agreedThrough).toBeUndefined();
  });

  it('compares retain-until at whole seconds, as S3 keeps it', () => {
    const p = [source(0, { retainUntil: RETAIN + 400 })];
    expect(compare(p, [replicaOf(0, { retainUntil: RETAIN })]).findings).toEqual([]);
    expect(codes(compare(p, [replicaOf(0, { retainUntil: RETAIN - 1 })]))).toEqual([
      ['REPLICA_RETENTION_MISMATCH', 0],
    ]);
  });

  it('treats a PENDING segment within the window as pending: no finding, agreement stops, its age is the lag', () => {
    const p = [
      source(0),
      source(1, { replicationStatus: 'PENDING', lastModified: NOW - 5 * MIN }),
      source(2, { replicationStatus: 'PENDING', lastModified: NOW - 1 * MIN }),
    ];
    const c = compare(p, [replicaOf(0)]);
    expect(c.findings).toEqual([]);
    expect(c.logs[0]).toEqual({
      log: 'main',
      segments: 3,
      agreedThrough: 0,
      pending: 2,
      maxLagMs: 5 * MIN,
    });
  });

  it('reports REPLICA_LAG for a segment PENDING longer than the window, not also REPLICA_MISSING', () => {
    const p = [
      source(0, { replicationStatus: 'PENDING', lastModified: NOW - RTC_WINDOW_MS }), // at the edge
      source(1, { replicationStatus: 'PENDING', lastModified: NOW - RTC_WINDOW_MS - 1 }),
      source(2, { replicationStatus: 'PENDING', lastModified: undefined }),
    ];
    const c = compare(p, []);
    expect(codes(c)).toEqual([
      ['REPLICA_LAG', 1],
      ['REPLICA_LAG', 2],
    ]);
    expect(c.logs[0]?.pending).toBe(1);
    expect(c.logs[0]?.maxLagMs).toBe(RTC_WINDOW_MS);
  });

  it('measures the window given instead of the default', () => {
    const p = [source(0, { replicationStatus: 'PENDING', lastModified: NOW - 2 * MIN })];
    expect(codes(compare(p, [], MIN))).toEqual([['REPLICA_LAG', 0]]);
    expect(codes(compare(p, []))).toEqual([]);
  });

  it('accepts a PENDING source whose replica is already there (the status is updated after the copy)', () => {
    const c = compare(
      [source(0, { replicationStatus: 'PENDING', lastModified: NOW - 60 * MIN })],
      [replicaOf(0)],
    );
    expect(c.findings).toEqual([]);
    expect(c.logs[0]?.agreedThrough).toBe(0);
    expect(c.logs[0]?.pending).toBe(0);
  });

  it('reports REPLICA_FAILED for a FAILED source, present in the replica or not, and nothing more', () => {
    const c = compare(
      [source(0, { replicationStatus: 'FAILED' }), source(1, { replicationStatus: 'FAILED' })],
      [replicaOf(0)],
    );
    expect(codes(c)).toEqual([
      ['REPLICA_FAILED', 0],
      ['REPLICA_FAILED', 1],
    ]);
    expect(c.logs[0]?.agreedThrough).toBeUndefined();
  });

  it('reports REPLICA_STATUS_INVALID for a replica not written by replication and for a replica in the primary', () => {
    const c = compare(
      [
        source(0),
        source(1, { replicationStatus: 'REPLICA' }),
        source(2, { replicationStatus: 'DONE' }),
      ],
      [replicaOf(0, { replicationStatus: undefined }), replicaOf(1), replicaOf(2)],
    );
    expect(codes(c)).toEqual([
      ['REPLICA_STATUS_INVALID', 0],
      ['REPLICA_STATUS_INVALID', 1],
      ['REPLICA_STATUS_INVALID', 2],
    ]);
  });

  it('reports REPLICA_MISSING for a source without a replication status that is not in the replica', () => {
    const c = compare([source(0, { replicationStatus: undefined })], []);
    expect(codes(c)).toEqual([['REPLICA_MISSING', 0]]);
  });

  it('reports a missing replica of a source whose status S3 does not define as invalid too', () => {
    const c = compare(
      [source(0, { replicationStatus: 'REPLICA' }), source(1, { replicationStatus: 'DONE' })],
      [],
    );
    expect(codes(c)).toEqual([
      ['REPLICA_STATUS_INVALID', 0],
      ['REPLICA_MISSING', 0],
      ['REPLICA_STATUS_INVALID', 1],
      ['REPLICA_MISSING', 1],
    ]);
  });

  it('reports REPLICA_AHEAD for a segment only the replica has, and for one hidden in the primary only', () => {
    const c = compare(
      [source(0), source(1, { hidden: true })],
      [replicaOf(0), replicaOf(1), replicaOf(2)],
    );
    expect(codes(c)).toEqual([
      ['REPLICA_AHEAD', 1],
      ['REPLICA_AHEAD', 2],
    ]);
    expect(c.logs[0]?.agreedThrough).toBe(0);
  });

  it('does not call ahead what the primary got after it was listed, nor agree on it', () => {
    const late = new Set([segmentKey('main', 1)]);
    const c = compareReplica([source(0)], [replicaOf(0), replicaOf(1)], {
      now: NOW,
      lateInPrimary: late,
    });
    expect(c.findings).toEqual([]);
    expect(c.logs[0]?.agreedThrough).toBe(0);
  });

  it('reports a log only the replica has as ahead, segment by segment', () => {
    const c = compare(
      [source(0)],
      [replicaOf(0), replicaOf(0, {}, 'other'), replicaOf(1, {}, 'other')],
    );
    expect(c.findings.map((f) => [f.code, f.log, f.seq])).toEqual([
      ['REPLICA_AHEAD', 'other', 0],
      ['REPLICA_AHEAD', 'other', 1],
    ]);
    expect(c.logs.map((l) => [l.log, l.agreedThrough])).toEqual([
      ['main', 0],
      ['other', undefined],
    ]);
  });

  it('compares presence and bytes only when a side has no metadata (folder stores)', () => {
    const bare = (r: ReplicaRecord): ReplicaRecord => ({
      ...r,
      hasMetadata: false,
      lockMode: undefined,
      retainUntil: undefined,
      replicationStatus: undefined,
      lastModified: undefined,
    });
    const p = range(3).map((s) => bare(source(s)));
    expect(
      compare(
        p,
        range(3).map((s) => bare(replicaOf(s))),
      ).findings,
    ).toEqual([]);
    // An S3 primary against a folder copy: lock and status are not compared either.
    expect(
      compare(
        range(3).map((s) => source(s, { replicationStatus: undefined })),
        p.slice(),
      ).findings,
    ).toEqual([]);
    const c = compare(p, [bare(replicaOf(0)), bare(replicaOf(2, { hash: new Uint8Array(32) }))]);
    expect(codes(c)).toEqual([
      ['REPLICA_MISSING', 1],
      ['REPLICA_MISMATCH', 2],
    ]);
  });

  it('stops agreement at a sequence number missing from both stores', () => {
    const c = compare([source(0), source(2)], [replicaOf(0), replicaOf(2)]);
    expect(c.findings).toEqual([]);
    expect(c.logs[0]?.agreedThrough).toBe(0);
  });

  it('counts agreement from the first segment compared (an incremental range)', () => {
    const c = compare([source(7), source(8)], [replicaOf(7), replicaOf(8)]);
    expect(c.logs[0]?.agreedThrough).toBe(8);
  });

  it('refuses records of a log out of order', () => {
    expect(() => compare([source(1), source(0)], [])).toThrow(RangeError);
    expect(() => compare([], [replicaOf(0), replicaOf(0)])).toThrow(RangeError);
  });

  it('emits only REPLICA_* codes, each a documented finding code', () => {
    const c = compare(
      [
        source(0, { replicationStatus: 'FAILED' }),
        source(1),
        source(2, { replicationStatus: 'PENDING', lastModified: 0 }),
      ],
      [replicaOf(0, { size: 1 }), replicaOf(3)],
    );
    expect(c.findings.length).toBeGreaterThan(3);
    for (const f of c.findings) {
      expect(f.code).toMatch(/^REPLICA_/);
      expect(Object.hasOwn(FINDING_CODES, f.code)).toBe(true);
    }
  });
});
