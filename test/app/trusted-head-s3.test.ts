/**
 * On S3 with Object Lock, anyone with `s3:PutObject` can add a version on top of the head, and
 * anyone with `s3:DeleteObject` can add a delete marker (../shared/AWS-NOTES.md): the writer must
 * refuse both instead of chaining to the current (forged) version or guessing which is real, and
 * the redelivery lookup and `prove` must not use such a segment. Runs against the emulator, with
 * the system clock (retention runs from the seal time and must end in the future).
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/adapters/s3-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { findDelivered } from '../../src/app/delivered.js';
import { proveEntry } from '../../src/app/prove.js';
import type { IntegrityError } from '../../src/core/errors.js';
import { segmentKey } from '../../src/core/layout.js';
import { createTestBucket, TEST_RETENTION_DAYS, testS3Client } from '../helpers/aws.js';
import { editEntry, forge } from '../helpers/forge.js';
import { logFixture, makeKey, sampleEvent, writeLog } from '../helpers/log-fixture.js';

const LOG = 'main';

describe('S3: shadow versions and delete markers never steer the writer', () => {
  const s3: S3Client = testS3Client();
  let bucket: string;
  const storeAt = (prefix: string) =>
    new S3Store({ client: s3, bucket, prefix, retention: { days: TEST_RETENTION_DAYS } });

  beforeAll(async () => {
    bucket = await createTestBucket(s3, 'trusted-head');
  });

  /** A log of 30 events (segments 0..2) under a fresh prefix. */
  async function s3Log() {
    const prefix = `p-${randomBytes(4).toString('hex')}`;
    const store = storeAt(prefix);
    const fx = logFixture(store);
    await writeLog(fx, 30, 10, 0, { clock: systemClock });
    return { prefix, store, fx, fullKey: (seq: number) => `${prefix}/${segmentKey(LOG, seq)}` };
  }

  /** Segment `seq` with its entries' actor changed, re-signed by a key nobody trusts. */
  async function forgedCopy(store: S3Store, seq: number): Promise<Uint8Array> {
    return forge((await store.get(segmentKey(LOG, seq))) as Uint8Array, {
      entries: (es) =>
        es.map((e) =>
          editEntry(e, (x) => ({
            ...x,
            event: { ...(x.event as object), actor: { id: 'mallory', type: 'user' } },
          })),
        ),
      signers: [makeKey('mallory').signer],
    });
  }

  it('refuses a head with a second version put on top (SEGMENT_SHADOWED); nothing is written', async () => {
    // Prepare: an unconditional PUT adds a version on top, even under COMPLIANCE.
    const { store, fx, fullKey } = await s3Log();
    const forged = await forgedCopy(store, 2);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: fullKey(2), Body: forged }));
    expect(await store.get(segmentKey(LOG, 2))).toEqual(forged); // what a plain reader sees
    // Act
    const err = await fx.open({ maxEvents: 1, clock: systemClock }).then(
      async (a) => {
        await a.append(sampleEvent(99));
        await a.close();
      },
      (e: unknown) => e,
    );
    // Assess
    expect((err as IntegrityError | undefined)?.code).toBe('SEGMENT_SHADOWED');
    expect(await store.exists(segmentKey(LOG, 3))).toBe(false);
  });

  it('refuses a head hidden by a delete marker (SEGMENT_SHADOWED); nothing is written', async () => {
    // Prepare: a DeleteObject without a version id only adds a marker, even under COMPLIANCE.
    const { store, fx, fullKey } = await s3Log();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: fullKey(2) }));
    // Act
    const err = await fx.open({ clock: systemClock }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess
    expect((err as IntegrityError | undefined)?.code).toBe('SEGMENT_SHADOWED');
    expect(await store.exists(segmentKey(LOG, 3))).toBe(false);
  });

  it('the redelivery lookup ignores a shadowed segment, and prove refuses it', async () => {
    // Prepare: segment 1 (evt-10..19) gets a forged version on top.
    const { store, fx, fullKey } = await s3Log();
    const forged = await forgedCopy(store, 1);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: fullKey(1), Body: forged }));
    const untrusted: string[] = [];
    // Act: writeLog's entries have no delivery, so look for ids nobody stored; the lookup must
    // still read past segment 1 without trusting it, and report it.
    const found = await findDelivered(store, LOG, 2, 'sqs', new Set(['none']), 0, {
      trustedKeys: [fx.key.trusted],
      onUntrusted: (seq, e) => untrusted.push(`${seq}:${e.code}`),
    });
    const proving = await proveEntry(store, LOG, { index: 15 }, { trustedKeys: [fx.key.trusted] })
      .then(() => undefined)
      .catch((e: unknown) => e);
    // Assess
    expect([...found]).toEqual([]);
    expect(untrusted).toContain('1:SEGMENT_SHADOWED');
    expect((proving as IntegrityError | undefined)?.code).toBe('SEGMENT_SHADOWED');
  });
});
