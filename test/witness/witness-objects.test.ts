/**
 * Reading stored cosigned checkpoints on S3 (the emulator): a delete marker on a cosigned
 * checkpoint does not make it disappear for the verifier, so hiding the newest segments and their
 * cosignature together is still caught as LOG_TRUNCATED by verify with the bucket's cosignatures.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { Archiver } from '../../src/app/archiver.js';
import { verifyStore } from '../../src/app/verify.js';
import { readCosignedObjects, witnessedCheckpointsOf } from '../../src/app/witness-objects.js';
import { submitToWitness } from '../../src/app/witness-submit.js';
import type { Finding } from '../../src/core/findings.js';
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
    // A copy of what the bucket shows as current (two segments, eight entries), verified with
    // the cosignatures read from the bucket itself: the hidden cosignature still counts.
    const current = new MemoryStore();
    for (const seq of [0, 1, 2]) {
      const bytes = await store.get(`${LOG}/seg/${String(seq).padStart(20, '0')}.seg`);
      if (bytes)
        await current.putIfAbsent(`${LOG}/seg/${String(seq).padStart(20, '0')}.seg`, bytes);
    }
    const findings: Finding[] = [];
    await verifyStore(current, {
      trustedKeys,
      witness: { keys: [witnessKey], stores: [store] },
      onFinding: (f) => findings.push(f),
    });
    expect(findings.map((f) => f.code)).toEqual(['LOG_TRUNCATED']);
  });
});
