/**
 * Replica comparison on the emulator: two Object Lock buckets stand for the two regions, the test
 * replicator (test/helpers/replicator.ts) copies bytes and retention for real and supplies the
 * replication status S3 would set. Each case writes a real signed log to its own prefix of the
 * primary bucket, replicates it with one fault, and must produce exactly the expected findings.
 */
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { Archiver } from '../../src/app/archiver.js';
import { type VerifyWithReplicaOptions, verifyWithReplica } from '../../src/app/replica.js';
import type { Finding } from '../../src/core/findings.js';
import { segmentKey } from '../../src/core/layout.js';
import type { LogPosition } from '../../src/core/log-verifier.js';
import { RTC_WINDOW_MS } from '../../src/core/replica-compare.js';
import { createTestBucket, TEST_RETENTION_DAYS, testS3Client } from '../helpers/aws.js';
import {
  logFixture,
  makeKey,
  sampleEvent,
  type TestKey,
  writeLog,
} from '../helpers/log-fixture.js';
import { type ReplicationFault, TestReplicator } from '../helpers/replicator.js';

const LOG = 'main';
const SEGMENTS = 4;
const PER_SEGMENT = 5;

describe('comparing a primary with its replica on S3', () => {
  const s3: S3Client = testS3Client();
  let primaryBucket: string;
  let replicaBucket: string;
  let key: TestKey;

  const storeAt = (bucket: string, prefix: string) =>
    new S3Store({ client: s3, bucket, prefix, retention: { days: TEST_RETENTION_DAYS } });

  /** A log of SEGMENTS segments in the primary under `prefix`, and its replicator. */
  async function setUp(prefix: string) {
    const source = storeAt(primaryBucket, prefix);
    const destination = storeAt(replicaBucket, prefix);
    const archiver = await Archiver.open({
      store: source,
      signer: key.signer,
      clock: systemClock,
      log: LOG,
      origin: `audit.example.com/it/replica/${prefix}`,
      maxEvents: PER_SEGMENT,
      maxAgeMs: 60_000,
    });
    const stored: Promise<unknown>[] = [];
    for (let i = 0; i < SEGMENTS * PER_SEGMENT; i++)
      stored.push((await archiver.submit(sampleEvent(i))).stored);
    await archiver.close();
    await Promise.all(stored);
    const replicator = new TestReplicator({ client: s3, source, destination });
    return { source, destination, replicator };
  }

  type Setup = Awaited<ReturnType<typeof setUp>>;

  async function compare(
    { source, destination, replicator }: Setup,
    opts: Partial<VerifyWithReplicaOptions> = {},
  ) {
    const found: Record<
      'primary' | 'replica' | 'comparison',
      [string, number | string | undefined][]
    > = { primary: [], replica: [], comparison: [] };
    const result = await verifyWithReplica(replicator.view(source), replicator.view(destination), {
      trustedKeys: [key.trusted],
      ...opts,
      onFinding: (f: Finding, from) => found[from].push([f.code, f.seq ?? f.key]),
    });
    return { result, found, log: result.comparison.logs[0] };
  }

  const faults = (entries: [number, ReplicationFault][]) =>
    new Map(entries.map(([seq, fault]) => [segmentKey(LOG, seq), fault]));

  beforeAll(async () => {
    [primaryBucket, replicaBucket] = await Promise.all([
      createTestBucket(s3, 'replica-primary'),
      createTestBucket(s3, 'replica-replica'),
    ]);
    key = makeKey('replica-it');
  });

  it('finds nothing when every segment is replicated, and agrees through the last one', async () => {
    const setup = await setUp('clean');
    expect(await setup.replicator.replicate()).toBe(SEGMENTS);
    const { result, found, log } = await compare(setup);
    expect(found).toEqual({ primary: [], replica: [], comparison: [] });
    expect(result.ok).toBe(true);
    expect(result.replica.logs[0]?.treeSize).toBe(SEGMENTS * PER_SEGMENT);
    expect(log).toMatchObject({
      log: LOG,
      segments: SEGMENTS,
      agreedThrough: SEGMENTS - 1,
      pending: 0,
    });
  });

  it('reports REPLICA_STATUS_INVALID on every replica without the status S3 sets (the emulator sets none)', async () => {
    const setup = await setUp('no-status');
    await setup.replicator.replicate();
    const version = (await firstVersion(setup.destination, 0)) as string;
    expect(
      (await setup.destination.describeVersion(segmentKey(LOG, 0), version))?.replicationStatus,
    ).toBeUndefined();
    // The raw stores, without the replicator's view: bytes and retention agree, statuses do not.
    const found: [string, number | undefined][] = [];
    const result = await verifyWithReplica(setup.source, setup.destination, {
      trustedKeys: [key.trusted],
      onFinding: (f, from) => {
        if (from === 'comparison') found.push([f.code, f.seq]);
      },
    });
    expect(found).toEqual(
      Array.from({ length: SEGMENTS }, (_, seq) => ['REPLICA_STATUS_INVALID', seq]),
    );
    expect(result.primary.ok && result.replica.ok).toBe(true);
    expect(result.ok).toBe(false);
  });

  it('compares two stores without versions by presence and bytes only', async () => {
    const fixture = logFixture();
    await writeLog(fixture, SEGMENTS * PER_SEGMENT, PER_SEGMENT);
    const copy = new MemoryStore();
    for await (const o of fixture.store.list('')) {
      const bytes = (await fixture.store.get(o.key)) as Uint8Array;
      if (o.key === segmentKey(LOG, 1)) continue; // lost
      if (o.key === segmentKey(LOG, 2))
        bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0x01; // other bytes
      await copy.putIfAbsent(o.key, bytes);
    }
    await copy.putIfAbsent(segmentKey('other', 0), new Uint8Array([1, 2, 3])); // only in the copy
    const result = await verifyWithReplica(fixture.store, copy, {
      trustedKeys: [fixture.key.trusted],
    });
    expect(result.comparison.findings.map((f) => [f.code, f.log, f.seq])).toEqual([
      ['REPLICA_MISSING', LOG, 1],
      ['REPLICA_MISMATCH', LOG, 2],
      ['REPLICA_AHEAD', 'other', 0],
    ]);
    expect(result.comparison.logs.map((l) => [l.log, l.agreedThrough])).toEqual([
      [LOG, 0],
      ['other', undefined],
    ]);
    // A size the primary must reach, applied to the replica too unless the replica's options say otherwise.
    const last = segmentKey(LOG, SEGMENTS - 1);
    const shorter = new MemoryStore();
    for await (const o of fixture.store.list(''))
      if (o.key !== last)
        await shorter.putIfAbsent(o.key, (await fixture.store.get(o.key)) as Uint8Array);
    const replicaCodes = async (opts: Partial<VerifyWithReplicaOptions>) => {
      const found: string[] = [];
      await verifyWithReplica(fixture.store, shorter, {
        trustedKeys: [fixture.key.trusted],
        expectSize: SEGMENTS * PER_SEGMENT,
        ...opts,
        onFinding: (f, from) => {
          if (from === 'replica') found.push(f.code);
        },
      });
      return found;
    };
    expect(await replicaCodes({})).toEqual(['LOG_TRUNCATED']);
    expect(await replicaCodes({ replicaOptions: { expectSize: undefined } })).toEqual([]);
  });

  it('does not call ahead a segment written to the primary after the primary was verified', async () => {
    const fixture = logFixture();
    await writeLog(fixture, SEGMENTS * PER_SEGMENT, PER_SEGMENT);
    const last = segmentKey(LOG, SEGMENTS - 1);
    const lastBytes = (await fixture.store.get(last)) as Uint8Array;
    const run = async (writeLate: boolean) => {
      const primary = new MemoryStore();
      const replica = new MemoryStore();
      for await (const o of fixture.store.list('')) {
        const bytes = (await fixture.store.get(o.key)) as Uint8Array;
        if (o.key !== last) await primary.putIfAbsent(o.key, bytes);
        await replica.putIfAbsent(o.key, bytes);
      }
      let written = false;
      return verifyWithReplica(primary, replica, {
        trustedKeys: [fixture.key.trusted],
        onSegment: (_s, side) => {
          // The writer appends once the primary's listing is over (the replica is read next).
          if (side === 'replica' && writeLate && !written) {
            written = true;
            // MemoryStore stores before its first await: the key exists when this returns.
            void primary.putIfAbsent(last, lastBytes);
          }
        },
      });
    };
    const late = await run(true);
    expect(late.comparison.findings).toEqual([]);
    expect(late.comparison.logs[0]?.agreedThrough).toBe(SEGMENTS - 2);
    const rolledBack = await run(false);
    expect(rolledBack.comparison.findings.map((f) => [f.code, f.seq])).toEqual([
      ['REPLICA_AHEAD', SEGMENTS - 1],
    ]);
  });

  it('compares only what both runs reached when a time budget stops them', async () => {
    const fixture = logFixture();
    await writeLog(fixture, SEGMENTS * PER_SEGMENT, PER_SEGMENT);
    const copy = new MemoryStore();
    for await (const o of fixture.store.list(''))
      await copy.putIfAbsent(o.key, (await fixture.store.get(o.key)) as Uint8Array);
    // The budget runs out after two primary segments: the replica run stops at once.
    let verified = 0;
    const result = await verifyWithReplica(fixture.store, copy, {
      trustedKeys: [fixture.key.trusted],
      onSegment: () => verified++,
      shouldStop: () => verified >= 2,
    });
    expect(result.complete).toBe(false);
    expect(result.primary.logs[0]?.lastSeq).toBe(1);
    expect(result.comparison.findings).toEqual([]); // not REPLICA_MISSING for segments 0 and 1
    expect(result.comparison.logs).toEqual([]);
  });

  it('reports REPLICA_MISSING for a segment the replica lost although the source says COMPLETED', async () => {
    const setup = await setUp('missing');
    await setup.replicator.replicate(faults([[2, { kind: 'skip' }]]));
    const { result, found, log } = await compare(setup);
    expect(found.comparison).toEqual([['REPLICA_MISSING', 2]]);
    expect(found.primary).toEqual([]);
    expect(found.replica).toEqual([['SEQUENCE_GAP', 3]]); // the replica on its own has a gap
    expect(result.ok).toBe(false);
    expect(log?.agreedThrough).toBe(1);
  });

  it('reports REPLICA_MISMATCH for a replica holding other bytes (one digit changed)', async () => {
    const setup = await setUp('mismatch');
    const original = await setup.source.get(segmentKey(LOG, 1));
    const forged = Uint8Array.from(original ?? []);
    const at = forged.lastIndexOf(0x0a, forged.length - 2) + 10; // inside the last entry
    forged[at] = (forged[at] ?? 0) ^ 0x01;
    await setup.replicator.replicate(faults([[1, { kind: 'bytes', bytes: forged }]]));
    // The bytes really stored in the replica bucket are the forged ones.
    expect(await setup.destination.get(segmentKey(LOG, 1))).toEqual(forged);
    const { found, log } = await compare(setup);
    expect(found.comparison).toEqual([['REPLICA_MISMATCH', 1]]);
    expect(found.primary).toEqual([]);
    expect(found.replica.length).toBeGreaterThan(0); // the replica's own verification sees it too
    expect(log?.agreedThrough).toBe(0);
  });

  it('reports REPLICA_RETENTION_MISMATCH for a replica retained a minute less', async () => {
    const setup = await setUp('retention');
    const meta = await setup.source.describeVersion(
      segmentKey(LOG, 3),
      (await firstVersion(setup.source, 3)) as string,
    );
    const shorter = new Date((meta?.retainUntil?.getTime() ?? 0) - 60_000);
    await setup.replicator.replicate(faults([[3, { kind: 'retainUntil', retainUntil: shorter }]]));
    // The emulator really keeps the shorter date on the replica.
    const replicaMeta = await setup.destination.describeVersion(
      segmentKey(LOG, 3),
      (await firstVersion(setup.destination, 3)) as string,
    );
    expect(replicaMeta?.retainUntil?.getTime()).toBe(shorter.getTime());
    const { found, log } = await compare(setup);
    expect(found).toEqual({
      primary: [],
      replica: [],
      comparison: [['REPLICA_RETENTION_MISMATCH', 3]],
    });
    expect(log?.agreedThrough).toBe(2);
  });

  it('treats a PENDING segment as pending within the RTC window and as REPLICA_LAG beyond it, until it is copied', async () => {
    const setup = await setUp('lag');
    await setup.replicator.replicate(faults([[3, { kind: 'pending' }]]));
    // Within the window: no finding, but agreement stops before it and its age is the lag.
    const within = await compare(setup);
    expect(within.found.comparison).toEqual([]);
    expect(within.log).toMatchObject({ agreedThrough: 2, pending: 1 });
    expect(within.log?.maxLagMs).toBeLessThan(RTC_WINDOW_MS);
    // The same state seen 20 minutes later: over the window.
    const later = Date.now() + 20 * 60_000;
    const beyond = await compare(setup, { now: () => later });
    expect(beyond.found.comparison).toEqual([['REPLICA_LAG', 3]]);
    expect(beyond.log).toMatchObject({ agreedThrough: 2, pending: 0 });
    // Replication catches up: clean.
    expect(await setup.replicator.replicate()).toBe(1);
    const caught = await compare(setup, { now: () => later });
    expect(caught.found.comparison).toEqual([]);
    expect(caught.log?.agreedThrough).toBe(SEGMENTS - 1);
  });

  it('reports REPLICA_FAILED for a source whose replication failed', async () => {
    const setup = await setUp('failed');
    await setup.replicator.replicate(faults([[3, { kind: 'failed' }]]));
    const { found, log } = await compare(setup);
    expect(found).toEqual({ primary: [], replica: [], comparison: [['REPLICA_FAILED', 3]] });
    expect(log?.agreedThrough).toBe(2);
  });

  it('reports REPLICA_AHEAD when the primary is rolled back (its newest segment hidden by a delete marker)', async () => {
    const setup = await setUp('ahead');
    await setup.replicator.replicate();
    // Act: a plain DeleteObject adds a delete marker, even under COMPLIANCE; not replicated.
    await s3.send(
      new DeleteObjectCommand({ Bucket: primaryBucket, Key: `ahead/${segmentKey(LOG, 3)}` }),
    );
    expect(await setup.source.get(segmentKey(LOG, 3))).toBeUndefined(); // what a reader sees
    const { found, log } = await compare(setup);
    expect(found).toEqual({
      primary: [['OBJECT_DELETE_MARKER', 3]],
      replica: [],
      comparison: [['REPLICA_AHEAD', 3]],
    });
    expect(log?.agreedThrough).toBe(2);
  });

  it('compares only the range after the starts given, in both stores', async () => {
    const setup = await setUp('incremental');
    await setup.replicator.replicate(faults([[0, { kind: 'skip' }]]));
    // A full run sees the lost segment 0; keep the primary's position after segment 1.
    const positions = new Map<number, LogPosition>();
    const full = await verifyWithReplica(
      setup.replicator.view(setup.source),
      setup.replicator.view(setup.destination),
      {
        trustedKeys: [key.trusted],
        onSegment: (s, side) => {
          if (side === 'primary' && s.position) positions.set(s.seq, s.position);
        },
      },
    );
    expect(full.comparison.findings.map((f) => [f.code, f.seq])).toEqual([['REPLICA_MISSING', 0]]);
    const starts = new Map([[LOG, positions.get(1) as LogPosition]]);
    const { found, log } = await compare(setup, { starts });
    expect(found).toEqual({ primary: [], replica: [], comparison: [] });
    expect(log).toMatchObject({ segments: 2, agreedThrough: SEGMENTS - 1 });
  });
});

/** The one version id of segment `seq` in `store`. */
async function firstVersion(store: S3Store, seq: number): Promise<string | undefined> {
  for await (const v of store.listVersions(segmentKey(LOG, seq))) return v.versionId;
  return undefined;
}
