/**
 * Reading stored cosigned checkpoints on S3 (the emulator): a delete marker on a cosigned
 * checkpoint does not make it disappear for the verifier, so hiding the newest segments and their
 * cosignature together is still caught as LOG_TRUNCATED.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/adapters/s3-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { Archiver } from '../../src/app/archiver.js';
import { readTrustedSegment } from '../../src/app/trusted-segment.js';
import { readCosignedObjects, witnessedCheckpointsOf } from '../../src/app/witness-objects.js';
import { submitToWitness } from '../../src/app/witness-submit.js';
import { checkWitnessedLog } from '../../src/core/witness-check.js';
import { createTestBucket, TEST_RETENTION_DAYS, testS3Client } from '../helpers/aws.js';
import { makeKey, sampleEvent } from '../helpers/log-fixture.js';
import { LOG, logConfig, ORIGIN, testLog, testWitness } from './helpers.js';

describe('cosigned checkpoints on a versioned store', () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await createTestBucket(testS3Client(), 'witness');
  });

  it('a delete marker does not hide a cosignature: the rollback is still LOG_TRUNCATED', async () => {
    const store = new S3Store({
      client: testS3Client(),
      bucket,
      prefix: 'w',
      retention: { days: TEST_RETENTION_DAYS },
    });
    const key = makeKey();
    const archiver = await Archiver.open({
      store,
      signer: key.signer,
      clock: systemClock,
      log: LOG,
      origin: ORIGIN,
      maxEvents: 4,
    });
    const stored = [];
    for (let i = 0; i < 12; i++) stored.push((await archiver.submit(sampleEvent(i))).stored);
    await archiver.close();
    await Promise.all(stored);

    const log = testLog(key, store);
    const { witness, key: witnessKey } = await testWitness([logConfig(log)]);
    const trustedKeys = [log.trusted];
    const result = await submitToWitness({
      store,
      log: LOG,
      trustedKeys,
      client: witness,
      witnessKey,
    });
    expect(result).toMatchObject({ ok: true, treeSize: 12 });
    if (!result.ok) return;

    // Hide the cosigned checkpoint and the newest segment behind delete markers.
    const s3 = testS3Client();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `w/${result.key}` }));
    await s3.send(
      new DeleteObjectCommand({ Bucket: bucket, Key: `w/${LOG}/seg/00000000000000000002.seg` }),
    );
    expect(await store.get(result.key)).toBeUndefined();

    const read = await readCosignedObjects(store, LOG);
    expect(read.objects.map((o) => o.key)).toEqual([result.key]);
    const witnessed = await witnessedCheckpointsOf([store], {
      log: LOG,
      origin: ORIGIN,
      logKeys: trustedKeys,
      witnessKeys: [witnessKey],
    });
    expect(witnessed.findings).toEqual([]);
    // What a reader that trusts only current versions sees: two segments, eight entries.
    const visible = new Map<number, Uint8Array>();
    for (const seq of [0, 1]) {
      const s = await readTrustedSegment(store, LOG, seq, trustedKeys);
      visible.set(s.seg.checkpoint.treeSize, s.seg.checkpoint.root);
    }
    const check = checkWitnessedLog({
      log: LOG,
      witnessed: witnessed.checkpoints,
      quorum: 1,
      view: { size: 8, rootAt: (n) => visible.get(n) },
    });
    expect(check.findings.map((f) => f.code)).toEqual(['LOG_TRUNCATED']);
  });
});
