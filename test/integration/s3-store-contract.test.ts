/**
 * S3Store against the shared ObjectStore contract, in a fresh Object Lock bucket (one per run,
 * a fresh prefix per test). On moto, requests go through the fault proxy with
 * `serializeConditionalPuts`: moto's If-None-Match check is not atomic under concurrent requests
 * while AWS's is, and the contract's concurrency cases test S3Store's handling of the answers
 * (one 201, the rest 412), not the emulator. See docs/AWS.md, "Emulator gaps".
 */
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { S3Store } from '../../src/adapters/s3-store.js';
import { describeStoreContract } from '../adapters/store-contract.js';
import { awsTarget, createTestBucket, TEST_RETENTION_DAYS, testS3Client } from '../helpers/aws.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';

let setup: Promise<{ bucket: string; client: ReturnType<typeof testS3Client> }> | undefined;
let proxy: FaultProxy | undefined;

function sharedBucket() {
  setup ??= (async () => {
    const target = awsTarget();
    if (!target.atomicConditionalWrites && target.endpoint !== undefined) {
      proxy = await startFaultProxy({ upstream: target.endpoint, serializeConditionalPuts: true });
    }
    const client = testS3Client(proxy ? { endpoint: proxy.url } : {});
    return { bucket: await createTestBucket(client, 'contract'), client };
  })();
  return setup;
}

afterAll(async () => {
  await proxy?.stop();
});

describeStoreContract('S3Store (Object Lock bucket)', async () => {
  const { bucket, client } = await sharedBucket();
  const prefix = `t-${randomBytes(6).toString('hex')}`;
  const store = new S3Store({ client, bucket, prefix, retention: { days: TEST_RETENTION_DAYS } });
  return { store };
});
