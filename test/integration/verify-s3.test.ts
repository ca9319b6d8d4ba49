/**
 * The verifier on an Object Lock bucket, against what an attacker with S3 permissions (but no way
 * around COMPLIANCE retention) can do with plain SDK calls: shadow a segment with a second version,
 * hide one behind a delete marker, try to delete a locked version, drop a stray object under the
 * prefix, write a segment without retention. Each tampering is made on its own copy of a real
 * log (KMS-signed, written by the archiver) under its own prefix, and must produce exactly the
 * expected findings: the original version of a shadowed or hidden segment is still verified.
 */
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsSigner } from '../../src/adapters/kms-signer.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { Archiver } from '../../src/app/archiver.js';
import { verifyStore } from '../../src/app/verify.js';
import type { AuditlockError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import { segmentKey, segmentPrefix } from '../../src/core/layout.js';
import type { TrustedKey } from '../../src/core/note.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import {
  collect,
  createTestBucket,
  createTestKey,
  rejectionOf,
  scheduleTestKeyDeletion,
  TEST_RETENTION_DAYS,
  testKmsClient,
  testS3Client,
} from '../helpers/aws.js';
import { sampleEvent } from '../helpers/log-fixture.js';

const DAY_MS = 86_400_000;
const LOG = 'main';
const EVENTS = 40;
const PER_SEGMENT = 10;
const SEGMENTS = EVENTS / PER_SEGMENT;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('verifying an S3 log after tampering', () => {
  const s3: S3Client = testS3Client();
  let bucket: string;
  let signer: KmsSigner;
  let trusted: TrustedKey[];
  /** When the shared logs were written (all segments' LastModified are at or before this). */
  let writtenAt: number;

  const storeAt = (prefix: string) =>
    new S3Store({ client: s3, bucket, prefix, retention: { days: TEST_RETENTION_DAYS } });
  const fullKey = (prefix: string, seq: number) => `${prefix}/${segmentKey(LOG, seq)}`;

  /** Archives events `from..from+count-1` into `store`, 10 per segment. */
  async function archive(store: ObjectStore, from = 0, count = EVENTS): Promise<void> {
    const archiver = await Archiver.open({
      store,
      signer,
      clock: systemClock,
      log: LOG,
      origin: 'audit.example.com/it/verify-s3',
      maxEvents: PER_SEGMENT,
      maxAgeMs: 60_000,
    });
    const stored: Promise<unknown>[] = [];
    for (let i = from; i < from + count; i++)
      stored.push((await archiver.submit(sampleEvent(i))).stored);
    await archiver.close();
    await Promise.all(stored);
  }

  async function verify(prefix: string, options: { minRetentionDays?: number } = {}) {
    const findings: Finding[] = [];
    const result = await verifyStore(storeAt(prefix), {
      trustedKeys: trusted,
      ...options,
      onFinding: (f) => findings.push(f),
    });
    return { result, findings, log: result.logs[0] };
  }

  const codes = (findings: Finding[]) => findings.map((f) => [f.code, f.seq ?? f.key]);

  /** Only the versions of one segment key, newest first. */
  const versionsOf = async (prefix: string, seq: number) =>
    (await collect(storeAt(prefix).listVersions(segmentPrefix(LOG)))).filter(
      (v) => v.key === segmentKey(LOG, seq),
    );

  /** Bytes of segment `seq` with one byte of its body changed: a forgery without the key. */
  async function forged(prefix: string, seq: number): Promise<Uint8Array> {
    const bytes = (await storeAt(prefix).get(segmentKey(LOG, seq))) ?? new Uint8Array();
    const copy = Uint8Array.from(bytes);
    // The last ASCII digit of the body (inside the last entry) becomes another digit.
    const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;
    let at = copy.length - 1;
    while (at > 0 && !isDigit(copy[at])) at--;
    expect(at).toBeGreaterThan(copy.length - 500);
    copy[at] = 0x30 + (((copy[at] ?? 0x30) - 0x30 + 1) % 10);
    return copy;
  }

  beforeAll(async () => {
    bucket = await createTestBucket(s3, 'verify');
    const kms = testKmsClient();
    signer = new KmsSigner({ client: kms, keyId: await createTestKey(kms) });
    trusted = [{ spki: await signer.publicKey(), label: 'kms' }];
    const prefixes = ['clean', 'shadow', 'marker', 'locked', 'stray', 'head-marker'];
    await Promise.all(prefixes.map((p) => archive(storeAt(p))));
    writtenAt = Date.now();
  });

  afterAll(async () => {
    await scheduleTestKeyDeletion(testKmsClient());
  });

  it('verifies an untouched log with no findings, with and without the retention requirement', async () => {
    for (const minRetentionDays of [0, TEST_RETENTION_DAYS]) {
      const { findings, log } = await verify('clean', { minRetentionDays });
      expect(findings).toEqual([]);
      expect(log?.treeSize).toBe(EVENTS);
      expect(log?.segments).toBe(SEGMENTS);
    }
  });

  it('reports RETENTION_TOO_SHORT on every segment when more retention is required than written', async () => {
    const { findings } = await verify('clean', { minRetentionDays: TEST_RETENTION_DAYS + 1 });
    expect(codes(findings)).toEqual(
      Array.from({ length: SEGMENTS }, (_, seq) => ['RETENTION_TOO_SHORT', seq]),
    );
  });

  it('reports a second version (shadowing) and verifies the original one', async () => {
    // Prepare: versions of one key written within the same second share a LastModified (S3 and
    // the emulator keep whole seconds), so wait until the originals are in an earlier second.
    await sleep(Math.max(0, writtenAt + 1_100 - Date.now()));
    const bytes = await forged('shadow', 1);
    // Act: an unconditional PUT adds a version on top, even under COMPLIANCE.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: fullKey('shadow', 1), Body: bytes }));
    // Assess
    expect(await storeAt('shadow').get(segmentKey(LOG, 1))).toEqual(bytes); // what a reader sees
    const { findings, log } = await verify('shadow');
    expect(codes(findings)).toEqual([['OBJECT_SHADOWED', 1]]);
    expect(log?.treeSize).toBe(EVENTS);
  });

  it('verifies the original version when the shadow was written in the same second', async () => {
    // Prepare: upload a log's segments right after a second boundary, shadow one at once. On a
    // loaded machine the shadow can land in the next second; then try again on a fresh prefix
    // (at most 3 times) until the premise holds.
    const memory = new MemoryStore();
    await archive(memory);
    let prefix = '';
    let versions: Awaited<ReturnType<typeof versionsOf>> = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      prefix = `shadow-same-second-${attempt}`;
      const store = storeAt(prefix);
      await sleep(1_000 - (Date.now() % 1_000) + 20);
      for (let seq = 0; seq < SEGMENTS; seq++) {
        const key = segmentKey(LOG, seq);
        await store.putIfAbsent(key, (await memory.get(key)) ?? new Uint8Array());
      }
      const bytes = await forged(prefix, 1);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: fullKey(prefix, 1), Body: bytes }));
      versions = await versionsOf(prefix, 1);
      if (versions[0]?.lastModified?.getTime() === versions[1]?.lastModified?.getTime()) break;
    }
    expect(versions).toHaveLength(2);
    // The premise of this test: the two versions cannot be ordered by their LastModified.
    expect(versions[0]?.lastModified).toEqual(versions[1]?.lastModified);

    // Act
    const { findings } = await verify(prefix);

    // Assess
    // Regression: src/app/verify.ts describeVersions sorts a key's versions by LastModified (whole
    // seconds) with a stable sort over the listing, which is newest first, so on a tie the
    // *newest* (forged) version is the one verified: PAYLOAD_HASH_MISMATCH / ROOT_MISMATCH /
    // PREV_HASH_MISMATCH follow. It should break ties by listing order (last listed = oldest).
    expect(codes(findings)).toEqual([['OBJECT_SHADOWED', 1]]);
  });

  it('reports a delete marker and still verifies the hidden segment from its original version', async () => {
    // Act: a DeleteObject without a version id only adds a marker, even under COMPLIANCE.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: fullKey('marker', 2) }));
    // Assess
    expect(await storeAt('marker').get(segmentKey(LOG, 2))).toBeUndefined();
    const { findings, log } = await verify('marker');
    expect(codes(findings)).toEqual([['OBJECT_DELETE_MARKER', 2]]);
    expect(log?.treeSize).toBe(EVENTS);
    expect(log?.segments).toBe(SEGMENTS);
  });

  it('cannot delete a locked version: S3 refuses and the log still verifies clean', async () => {
    const [version] = await versionsOf('locked', 1);
    const err = await rejectionOf(
      s3.send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: fullKey('locked', 1),
          VersionId: version?.versionId,
        }),
      ),
    );
    expect((err as { name?: string }).name).toBe('AccessDenied');
    expect((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(
      403,
    );
    expect(await versionsOf('locked', 1)).toEqual([version]);
    expect((await verify('locked')).findings).toEqual([]);
  });

  it('reports objects under the prefix that are not segments', async () => {
    for (const key of [`${LOG}/notes.txt`, `${LOG}/seg/00000000000000000001.seg.bak`, 'x.json'])
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `stray/${key}`, Body: 'hi' }));
    const { findings, log } = await verify('stray');
    expect(codes(findings)).toEqual([
      ['UNEXPECTED_OBJECT', `${LOG}/notes.txt`],
      ['UNEXPECTED_OBJECT', `${LOG}/seg/00000000000000000001.seg.bak`],
      ['UNEXPECTED_OBJECT', 'x.json'],
    ]);
    expect(log?.treeSize).toBe(EVENTS);
  });

  it('reports a segment written without retention (RETENTION_MISSING)', async () => {
    // Prepare: a log copied into the bucket by hand, segment 1 without any lock headers. The test
    // bucket has Object Lock but no default retention, so nothing is applied behind our back.
    const memory = new MemoryStore();
    await archive(memory);
    for (let seq = 0; seq < SEGMENTS; seq++) {
      const body = (await memory.get(segmentKey(LOG, seq))) ?? new Uint8Array();
      const sealed = parseTimestamp(parseSegment(body).checkpoint.sealedAt);
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: fullKey('no-retention', seq),
          Body: body,
          IfNoneMatch: '*',
          ChecksumAlgorithm: 'SHA256',
          ...(seq === 1
            ? {}
            : {
                ObjectLockMode: 'COMPLIANCE',
                ObjectLockRetainUntilDate: new Date(sealed + TEST_RETENTION_DAYS * DAY_MS),
              }),
        }),
      );
    }
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: fullKey('no-retention', 1) }),
    );
    expect(head.ObjectLockMode).toBeUndefined();

    // Act
    const { findings, log } = await verify('no-retention');

    // Assess
    expect(codes(findings)).toEqual([['RETENTION_MISSING', 1]]);
    expect(log?.treeSize).toBe(EVENTS);
  });

  it('accepts retain-until dates kept in whole seconds (as S3 and LocalStack keep them)', async () => {
    // Prepare: a log copied in by hand, each segment retained until its seal time plus the
    // required days truncated to the whole second, as a store that keeps seconds reports it.
    const memory = new MemoryStore();
    await archive(memory);
    for (let seq = 0; seq < SEGMENTS; seq++) {
      const body = (await memory.get(segmentKey(LOG, seq))) ?? new Uint8Array();
      const sealed = parseTimestamp(parseSegment(body).checkpoint.sealedAt);
      const until = Math.floor((sealed + TEST_RETENTION_DAYS * DAY_MS) / 1000) * 1000;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: fullKey('whole-seconds', seq),
          Body: body,
          IfNoneMatch: '*',
          ChecksumAlgorithm: 'SHA256',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: new Date(until),
        }),
      );
    }
    // Act
    const { findings } = await verify('whole-seconds', { minRetentionDays: TEST_RETENTION_DAYS });
    const longer = await verify('whole-seconds', { minRetentionDays: TEST_RETENTION_DAYS + 1 });
    // Assess: the truncated second is enough; a day more is not.
    expect(findings).toEqual([]);
    expect(codes(longer.findings)).toEqual(
      Array.from({ length: SEGMENTS }, (_, seq) => ['RETENTION_TOO_SHORT', seq]),
    );
  });

  it('treats a key hidden by a delete marker as taken: the writer refuses to extend it, the verifier reports it', async () => {
    // Prepare: hide the head segment.
    const store = storeAt('head-marker');
    const head = segmentKey(LOG, SEGMENTS - 1);
    await s3.send(
      new DeleteObjectCommand({ Bucket: bucket, Key: fullKey('head-marker', SEGMENTS - 1) }),
    );
    // The emulator, like S3, answers HEAD of a hidden key with 404 and x-amz-delete-marker: true.
    const raw = await rejectionOf(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey('head-marker', SEGMENTS - 1) })),
    );
    expect(
      (raw as { $response?: { headers?: Record<string, string> } }).$response?.headers?.[
        'x-amz-delete-marker'
      ],
    ).toBe('true');
    expect(await store.get(head)).toBeUndefined();
    expect(await store.exists(head)).toBe(true);

    // Act: a new writer finds the head behind the marker; it only extends a head it verified,
    // and a head with a delete marker is not one (issue 7).
    const refused = await rejectionOf(archive(store, EVENTS, 2 * PER_SEGMENT));

    // Assess
    expect((refused as AuditlockError).code).toBe('SEGMENT_SHADOWED');
    const versions = await versionsOf('head-marker', SEGMENTS - 1);
    expect(versions.map((v) => v.isDeleteMarker)).toEqual([true, false]);
    expect(await store.exists(segmentKey(LOG, SEGMENTS))).toBe(false); // nothing written
    const { findings, log } = await verify('head-marker');
    // The hidden original is still verified; only the marker is reported.
    expect(codes(findings)).toEqual([['OBJECT_DELETE_MARKER', SEGMENTS - 1]]);
    expect(log?.treeSize).toBe(EVENTS);
    expect(log?.segments).toBe(SEGMENTS);
  });

  it('never writes a second version under a key hidden by a delete marker', async () => {
    // Prepare
    const store = storeAt('put-hidden');
    await store.putIfAbsent('main/seg/00000000000000000000.seg', new TextEncoder().encode('one'));
    await s3.send(
      new DeleteObjectCommand({
        Bucket: bucket,
        Key: 'put-hidden/main/seg/00000000000000000000.seg',
      }),
    );
    // Act
    const outcome = await store
      .putIfAbsent('main/seg/00000000000000000000.seg', new TextEncoder().encode('two'))
      .then(
        (r) => r.status,
        (err: unknown) => (err as AuditlockError).code,
      );
    // Assess
    // Regression: src/adapters/s3-store.ts putIfAbsent relies on If-None-Match: * answering 412 for a
    // hidden key, but the emulator (and, as far as the S3 docs say, S3: the condition looks at
    // the current version only) accepts the PUT when the current version is a delete marker, so
    // a second version shadows the original ('created'). The ObjectStore contract says such a
    // key counts as taken: expected OBJECT_EXISTS and no new version.
    expect(outcome).toBe('OBJECT_EXISTS');
    const versions = await collect(store.listVersions('main/'));
    expect(versions.filter((v) => !v.isDeleteMarker)).toHaveLength(1);
  });
});
