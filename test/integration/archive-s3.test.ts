/**
 * The archiver on S3 + KMS, with both clients behind the fault proxy in front of the emulator:
 * under 503 SlowDown, 500s, KMS throttling and dropped connections (some after the emulator already
 * stored the object) every appended event ends up in the log exactly once, every segment key has
 * exactly one version, and the log verifies clean against the KMS public key. Also: the archiver's
 * recovery from 412 (lost race, or a lost response) and 409, an outage that outlasts every retry,
 * and the COMPLIANCE retention stamped on each segment. The proxy's generator is seeded.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KmsSigner } from '../../src/adapters/kms-signer.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { Archiver, type ArchiverOptions, type StoredInfo } from '../../src/app/archiver.js';
import { verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { fromUtf8 } from '../../src/core/encoding.js';
import { AuditlockError, StorageError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import { segmentPrefix } from '../../src/core/layout.js';
import type { TrustedKey } from '../../src/core/note.js';
import { parseSegment } from '../../src/core/segment.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import {
  awsTarget,
  collect,
  createTestBucket,
  createTestKey,
  proxyableEndpoint,
  rejectionOf,
  scheduleTestKeyDeletion,
  TEST_RETENTION_DAYS,
  testKmsClient,
  testS3Client,
} from '../helpers/aws.js';
import { type FaultProxy, type FaultRule, startFaultProxy } from '../helpers/fault-proxy.js';
import { sampleEvent } from '../helpers/log-fixture.js';

const DAY_MS = 86_400_000;
const target = awsTarget();
const upstream = proxyableEndpoint();
const conditionalPut = { method: 'PUT', hasHeader: 'if-none-match' } as const;
/** Requests on segment objects only (not the bucket-level checks). */
const segmentPath = /\/seg\/\d{20}\.seg/;
const segmentOf = (log: string, seq: number) =>
  new RegExp(`/${log}/seg/${String(seq).padStart(20, '0')}\\.seg`);

type Retry = Parameters<NonNullable<ArchiverOptions['onRetry']>>[0];

// The proxy needs a loopback emulator; real AWS checks the signed Host header.
describe.skipIf(upstream === undefined)('Archiver on S3 + KMS', () => {
  let proxy: FaultProxy;
  let bucket: string;
  let keyArn: string;
  let trusted: TrustedKey[];

  beforeAll(async () => {
    proxy = await startFaultProxy({ upstream: upstream ?? '', seed: 20_261_126 });
    bucket = await createTestBucket(testS3Client(), 'archive');
    keyArn = await createTestKey(testKmsClient());
    const spki = await new KmsSigner({ client: testKmsClient(), keyId: keyArn }).publicKey();
    trusted = [{ spki, label: keyArn }];
  });

  // A failed test must not leave its faults to the next one.
  afterEach(() => proxy?.setRules([]));

  afterAll(async () => {
    await proxy?.stop();
    await scheduleTestKeyDeletion(testKmsClient());
  });

  /** A store and signer whose requests all go through the proxy. */
  function proxied(options: { maxAttempts?: number; conflictBackoffMs?: number } = {}) {
    const { maxAttempts, conflictBackoffMs } = options;
    const store = new S3Store({
      client: testS3Client({ endpoint: proxy.url, ...(maxAttempts ? { maxAttempts } : {}) }),
      bucket,
      prefix: 'audit',
      retention: { days: TEST_RETENTION_DAYS },
      ...(conflictBackoffMs === undefined ? {} : { conflictBackoffMs }),
    });
    const signer = new KmsSigner({
      client: testKmsClient({ endpoint: proxy.url, ...(maxAttempts ? { maxAttempts } : {}) }),
      keyId: keyArn,
    });
    return { store, signer };
  }

  /** The same bucket and prefix, straight to the emulator: what an auditor sees. */
  function direct(): S3Store {
    return new S3Store({
      client: testS3Client(),
      bucket,
      prefix: 'audit',
      retention: { days: TEST_RETENTION_DAYS },
    });
  }

  /** An archiver on `log` that records what it stored and every retry. */
  async function openArchiver(
    log: string,
    parts: ReturnType<typeof proxied>,
    overrides: Partial<ArchiverOptions> = {},
  ) {
    const stored: StoredInfo[] = [];
    const retries: Retry[] = [];
    // The signer's key check (DescribeKey + GetPublicKey, in parallel) runs before any fault rule,
    // so the seeded faults hit the same sequential requests on every run.
    await parts.signer.publicKey();
    const archiver = await Archiver.open({
      ...parts,
      clock: systemClock,
      log,
      origin: `audit.example.com/it/${log}`,
      maxEvents: 10,
      maxAgeMs: 60_000,
      retryBaseMs: 20,
      onStored: (s) => stored.push(s),
      onRetry: (r) => retries.push(r),
      ...overrides,
    });
    return { archiver, stored, retries };
  }

  /**
   * Submits events `from..from+count-1` and returns their `stored` promises. Each is marked as
   * handled at once (a rejection is asserted later, not reported as unhandled).
   */
  async function submitAll(archiver: Archiver, from: number, count: number) {
    const receipts: Promise<unknown>[] = [];
    for (let i = from; i < from + count; i++) {
      const { stored } = await archiver.submit(sampleEvent(i));
      stored.catch(() => undefined);
      receipts.push(stored);
    }
    return receipts;
  }

  async function verifyLog(log: string) {
    const findings: Finding[] = [];
    const result = await verifyStore(direct(), {
      trustedKeys: trusted,
      logs: [log],
      minRetentionDays: TEST_RETENTION_DAYS,
      onFinding: (f) => findings.push(f),
    });
    return { result, findings, log: result.logs[0] };
  }

  /** The event id of every entry of `log`, in log order, read from the current versions. */
  async function storedEventIds(log: string): Promise<string[]> {
    const store = direct();
    const ids: string[] = [];
    for await (const { key } of store.list(segmentPrefix(log))) {
      const seg = parseSegment((await store.get(key)) ?? new Uint8Array());
      const body = decodeBody(seg.body, seg.header.encoding, seg.header.rawLength);
      for (const leaf of splitEntries(body))
        ids.push((JSON.parse(fromUtf8(leaf)) as { event: { id: string } }).event.id);
    }
    return ids;
  }

  /** Versions per key under `log`: every key MUST have exactly one, and no delete marker. */
  async function versionCounts(log: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const v of await collect(direct().listVersions(segmentPrefix(log)))) {
      expect(v.isDeleteMarker).toBe(false);
      counts.set(v.key, (counts.get(v.key) ?? 0) + 1);
    }
    return counts;
  }

  const ids = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => `evt-${from + i}`);

  it('stores every event exactly once despite 503s, 500s, throttling and lost responses', async () => {
    // Prepare
    const parts = proxied();
    const { archiver, stored, retries } = await openArchiver('faults', parts);
    const rules: FaultRule[] = [
      { ...conditionalPut, fault: 'slowDown', probability: 0.08 },
      { ...conditionalPut, fault: 'internalError', probability: 0.08 },
      { ...conditionalPut, fault: 'dropBeforeForward', probability: 0.06 },
      // The emulator stores the segment, the answer is lost: the retry meets a 412 and reads back.
      { ...conditionalPut, fault: 'dropAfterForward', probability: 0.1 },
      { method: 'GET', path: segmentPath, fault: 'slowDown', probability: 0.1 },
      { method: 'GET', path: segmentPath, fault: 'dropBeforeForward', probability: 0.05 },
      { method: 'HEAD', path: segmentPath, fault: 'internalError', probability: 0.1 },
      { target: /\.Sign$/, fault: 'throttling', probability: 0.1 },
      { target: /\.Sign$/, fault: 'internalError', probability: 0.05 },
      { target: /\.Sign$/, fault: 'dropBeforeForward', probability: 0.04 },
      // KMS signed, the signature is lost: the retry gets another (ECDSA is randomised).
      { target: /\.Sign$/, fault: 'dropAfterForward', probability: 0.04 },
    ];
    proxy.setRules(rules, 5);
    proxy.clearLog();
    const count = 300;

    // Act
    const receipts = await submitAll(archiver, 0, count);
    await archiver.close();
    const settled = await Promise.allSettled(receipts);
    const injected = proxy.injected();
    proxy.setRules([]);

    // Assess
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    expect(proxy.injectedTotal()).toBeGreaterThan(10);
    for (const kind of ['slowDown', 'throttling', 'dropAfterForward'] as const)
      expect(injected[kind] ?? 0, kind).toBeGreaterThan(0);
    const lostPutAnswers = proxy.requests.filter(
      (r) => r.method === 'PUT' && r.fault === 'dropAfterForward',
    ).length;
    expect(lostPutAnswers).toBeGreaterThan(0);
    // A lost answer to a PUT that landed is recognised by reading back: `identical`, not resealed.
    const identical = stored.filter((s) => s.status === 'identical').length;
    expect(identical).toBeGreaterThan(0);
    expect(identical).toBeLessThanOrEqual(lostPutAnswers);
    expect(retries.filter((r) => r.reason === 'lost-race')).toEqual([]);

    const { result, findings, log } = await verifyLog('faults');
    expect(findings).toEqual([]);
    expect(result.ok).toBe(true);
    expect(log?.treeSize).toBe(count);
    expect(log?.segments).toBe(count / 10);
    expect(await storedEventIds('faults')).toEqual(ids(0, count));
    const versions = await versionCounts('faults');
    expect(versions.size).toBe(count / 10);
    expect([...versions.values()].every((n) => n === 1)).toBe(true);
  });

  it('after an injected 412 for an absent key, puts again at the same place', async () => {
    // Prepare: S3 claims segment 1 exists, but nothing is there.
    const { archiver, stored, retries } = await openArchiver('race-absent', proxied());
    proxy.setRules([
      {
        ...conditionalPut,
        path: segmentOf('race-absent', 1),
        fault: 'preconditionFailed',
        count: 1,
      },
    ]);
    proxy.clearLog();

    // Act
    const receipts = await submitAll(archiver, 0, 30);
    await archiver.close();
    await Promise.all(receipts);

    // Assess
    expect(proxy.injected()).toEqual({ preconditionFailed: 1 });
    proxy.setRules([]);
    // The store itself sees that nothing (not even a delete marker) is there and puts again.
    expect(retries).toEqual([]);
    expect(stored.map((s) => [s.seq, s.status])).toEqual([
      [0, 'created'],
      [1, 'created'],
      [2, 'created'],
    ]);
    const { findings, log } = await verifyLog('race-absent');
    expect(findings).toEqual([]);
    expect(log?.treeSize).toBe(30);
    expect(await storedEventIds('race-absent')).toEqual(ids(0, 30));
    expect([...(await versionCounts('race-absent')).values()]).toEqual([1, 1, 1]);
  });

  it('after a lost answer to a PUT that landed, the real 412 reads back identical bytes', async () => {
    const { archiver, stored, retries } = await openArchiver('race-present', proxied());
    proxy.setRules([
      {
        ...conditionalPut,
        path: segmentOf('race-present', 1),
        fault: 'dropAfterForward',
        count: 1,
      },
    ]);
    proxy.clearLog();

    const receipts = await submitAll(archiver, 0, 30);
    await archiver.close();
    await Promise.all(receipts);

    expect(proxy.injected()).toEqual({ dropAfterForward: 1 });
    proxy.setRules([]);
    expect(stored.map((s) => [s.seq, s.status])).toEqual([
      [0, 'created'],
      [1, 'identical'],
      [2, 'created'],
    ]);
    expect(retries).toEqual([]);
    expect((await verifyLog('race-present')).findings).toEqual([]);
    expect(await storedEventIds('race-present')).toEqual(ids(0, 30));
    expect([...(await versionCounts('race-present')).values()]).toEqual([1, 1, 1]);
  });

  it('loses a real race to another writer, rereads the head and reseals after the winner', async () => {
    // Prepare: both writers see an empty log.
    const a = await openArchiver('two-writers', proxied());
    const b = await openArchiver('two-writers', proxied());
    proxy.setRules([]);

    // Act: B stores segment 0 first; A's put of its own segment 0 meets a real 412.
    await Promise.all([...(await submitAll(b.archiver, 0, 10)), b.archiver.close()]);
    const receipts = await submitAll(a.archiver, 10, 10);
    await a.archiver.close();
    await Promise.all(receipts);

    // Assess
    expect(a.retries.map((r) => [r.reason, r.seq])).toEqual([['lost-race', 0]]);
    expect(a.stored.map((s) => [s.seq, s.treeSize])).toEqual([[1, 20]]);
    const { findings, log } = await verifyLog('two-writers');
    expect(findings).toEqual([]);
    expect(log?.treeSize).toBe(20);
    expect(await storedEventIds('two-writers')).toEqual(ids(0, 20));
    expect([...(await versionCounts('two-writers')).values()]).toEqual([1, 1]);
  });

  it('has concurrent writers of one log race for each segment: all events once, one version per key', async () => {
    // Prepare: three writers that all saw the empty log, so all three seal a segment 0. Their
    // three PUTs of it are held at a proxy until all have arrived and then sent together, so they
    // race at the target. Where its If-None-Match is not atomic (moto) the proxy then passes
    // them one at a time, standing in for S3's atomicity; elsewhere (LocalStack, AWS) they race
    // for real.
    const racing = await startFaultProxy({
      upstream: upstream ?? '',
      serializeConditionalPuts: !target.atomicConditionalWrites,
      rules: [{ ...conditionalPut, path: segmentOf('racing', 0), fault: 'gather', count: 3 }],
    });
    const writer = () => ({
      store: new S3Store({
        client: testS3Client({ endpoint: racing.url }),
        bucket,
        prefix: 'audit',
        retention: { days: TEST_RETENTION_DAYS },
      }),
      signer: new KmsSigner({ client: testKmsClient({ endpoint: racing.url }), keyId: keyArn }),
    });
    const writers = await Promise.all([0, 1, 2].map(() => openArchiver('racing', writer())));

    // Act: 30 events each, submitted and stored concurrently.
    try {
      await Promise.all(
        writers.map(async ({ archiver }, w) => {
          const receipts = await submitAll(archiver, w * 100, 30);
          await archiver.close();
          await Promise.all(receipts);
        }),
      );
    } finally {
      await racing.stop();
    }

    // Assess: the three segment-0 PUTs were in flight together; the target let one win, and
    // each loser met a real 412, reread the head and resealed its entries after the winner's.
    const seg0 = racing.requests.filter((r) => r.fault === 'gather');
    expect(seg0.map((r) => r.status).sort()).toEqual([200, 412, 412]);
    const lost = writers.flatMap((w) => w.retries).filter((r) => r.reason === 'lost-race');
    expect(lost.filter((r) => r.seq === 0)).toHaveLength(2);
    const { findings, log } = await verifyLog('racing');
    expect(findings).toEqual([]);
    expect(log?.treeSize).toBe(90);
    expect((await storedEventIds('racing')).sort()).toEqual(
      [...ids(0, 30), ...ids(100, 30), ...ids(200, 30)].sort(),
    );
    const versions = await versionCounts('racing');
    expect(versions.size).toBe(9);
    expect([...versions.values()].every((n) => n === 1)).toBe(true);
  });

  it('retries 409 ConditionalRequestConflict in the store, then in the archiver', async () => {
    // Prepare: 2 conflicts on segment 0 (the store's own retries absorb them), 7 on segment 1
    // (1 + 5 store retries fail: WRITE_CONFLICT, retryable; the archiver's retry gets through).
    const { archiver, stored, retries } = await openArchiver(
      'conflict',
      proxied({ conflictBackoffMs: 2 }),
    );
    proxy.setRules([
      { ...conditionalPut, path: segmentOf('conflict', 0), fault: 'conditionalConflict', count: 2 },
      { ...conditionalPut, path: segmentOf('conflict', 1), fault: 'conditionalConflict', count: 7 },
    ]);
    proxy.clearLog();

    // Act
    const receipts = await submitAll(archiver, 0, 20);
    await archiver.close();
    await Promise.all(receipts);

    // Assess
    expect(proxy.injected()).toEqual({ conditionalConflict: 9 });
    proxy.setRules([]);
    expect(retries.map((r) => [r.reason, r.seq, (r.error as StorageError).code])).toEqual([
      ['retryable-error', 1, 'WRITE_CONFLICT'],
    ]);
    expect(stored.map((s) => s.status)).toEqual(['created', 'created']);
    expect((await verifyLog('conflict')).findings).toEqual([]);
    expect([...(await versionCounts('conflict')).values()]).toEqual([1, 1]);
  });

  it('rejects appends when a fault outlasts every retry, loses nothing acknowledged, and goes on', async () => {
    // Prepare: few attempts everywhere, so an outage outlasts them quickly.
    const parts = proxied({ maxAttempts: 2 });
    const { archiver } = await openArchiver('outage', parts, { retryAttempts: 2, retryBaseMs: 5 });
    const expectRetryable = (settled: PromiseSettledResult<unknown>[], code: string) => {
      for (const s of settled) {
        expect(s.status).toBe('rejected');
        const err = (s as PromiseRejectedResult).reason;
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).code).toBe(code);
        expect((err as StorageError).retryable).toBe(true);
      }
    };
    proxy.setRules([]);
    const acked = await submitAll(archiver, 0, 20);
    await archiver.flush();
    await Promise.all(acked);

    // Act 1: S3 answers every PUT with 503.
    proxy.setRules([{ ...conditionalPut, fault: 'slowDown' }]);
    const s3Down = await submitAll(archiver, 20, 10);
    await archiver.flush();
    expectRetryable(await Promise.allSettled(s3Down), 'STORE_UNAVAILABLE');

    // Act 2: KMS throttles every Sign.
    proxy.setRules([{ target: /\.Sign$/, fault: 'throttling' }]);
    const kmsDown = await submitAll(archiver, 30, 10);
    await archiver.flush();
    expectRetryable(await Promise.allSettled(kmsDown), 'SIGNER_UNAVAILABLE');

    // Act 3: the first PUT lands but its answer is lost, every later PUT gets 503: the retry's
    // HEAD finds the segment and reads it back identical, so the append is acknowledged.
    proxy.setRules([
      { ...conditionalPut, fault: 'dropAfterForward', count: 1 },
      { ...conditionalPut, fault: 'slowDown' },
    ]);
    const ambiguous = await submitAll(archiver, 40, 10);
    await archiver.flush();
    expect((await Promise.allSettled(ambiguous)).map((r) => r.status)).toEqual(
      Array(10).fill('fulfilled'),
    );

    // Act 4: the outage ends; the next append rereads the head and continues after it.
    proxy.setRules([]);
    const later = await submitAll(archiver, 50, 10);
    await archiver.close();
    await Promise.all(later);

    // Assess: every acknowledged event is there once; rejected ones only where the put landed.
    const { findings, log } = await verifyLog('outage');
    expect(findings).toEqual([]);
    expect(log?.treeSize).toBe(40);
    expect(await storedEventIds('outage')).toEqual([...ids(0, 20), ...ids(40, 10), ...ids(50, 10)]);
    expect([...(await versionCounts('outage')).values()]).toEqual([1, 1, 1, 1]);
  });

  it('locks each segment in COMPLIANCE mode until its seal time plus the retention period', async () => {
    // Prepare: KMS is slow for one segment, so its put happens well after its seal time.
    const { archiver } = await openArchiver('retention', proxied());
    proxy.setRules([{ target: /\.Sign$/, fault: 'delay', delayMs: 2_500, count: 1 }]);
    proxy.clearLog();

    // Act
    const receipts = await submitAll(archiver, 0, 30);
    await archiver.close();
    await Promise.all(receipts);

    // Assess
    expect(proxy.injected()).toEqual({ delay: 1 });
    proxy.setRules([]);
    const s3 = testS3Client();
    const versions = await collect(direct().listVersions(segmentPrefix('retention')));
    expect(versions).toHaveLength(3);
    for (const v of versions) {
      const seg = parseSegment((await direct().getVersion(v.key, v.versionId)) ?? new Uint8Array());
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: `audit/${v.key}`, VersionId: v.versionId }),
      );
      expect(head.ObjectLockMode, v.key).toBe('COMPLIANCE');
      const expected = parseTimestamp(seg.checkpoint.sealedAt) + TEST_RETENTION_DAYS * DAY_MS;
      // Regression: src/app/archiver.ts #store calls store.putIfAbsent(key, bytes) without
      // { sealedAt }, so S3Store retains until put time + period instead of seal time + period
      // (PutOptions contract); the segment whose Sign was delayed is ~2.5 s off.
      expect(
        Math.abs((head.ObjectLockRetainUntilDate?.getTime() ?? 0) - expected),
        `${v.key}: retain-until ${head.ObjectLockRetainUntilDate?.toISOString()}, sealed ${seg.checkpoint.sealedAt}`,
      ).toBeLessThanOrEqual(1_000);
    }
  });

  it('rejects appends with ACCESS_DENIED when the bucket check is denied, and writes nothing', async () => {
    const parts = proxied({ maxAttempts: 2 });
    proxy.setRules([{ method: 'GET', path: /\?versioning/, fault: 'accessDenied' }]);
    const { archiver } = await openArchiver('denied', parts);
    const [receipt] = await submitAll(archiver, 0, 1);
    await archiver.flush();
    const err = await rejectionOf(receipt as Promise<unknown>);
    proxy.setRules([]);
    expect(err).toBeInstanceOf(AuditlockError);
    expect((err as AuditlockError).code).toBe('ACCESS_DENIED');
    expect(await collect(direct().listVersions(segmentPrefix('denied')))).toEqual([]);
  });
});
