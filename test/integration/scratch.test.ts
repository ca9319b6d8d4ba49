import { describe, expect, it } from 'vitest';
import { S3Store } from '../../src/adapters/s3-store.js';
import { awsTarget, collect, createTestBucket, testS3Client } from '../helpers/aws.js';

describe('scratch', () => {
  it('works', async () => {
    console.log(process.env.AWS_ENDPOINT_URL, awsTarget());
    const s3 = testS3Client();
    const bucket = await createTestBucket(s3, 'scratch');
    const store = new S3Store({ client: s3, bucket, prefix: 'p', retention: { days: 1 } });
    console.log(await store.checkBucket());
    const r = await store.putIfAbsent('a/b', new Uint8Array([1, 2, 3]));
    console.log(r);
    console.log(await store.putIfAbsent('a/b', new Uint8Array([1, 2, 3])));
    console.log(await store.putIfAbsent('a/b', new Uint8Array([1, 2, 4])).catch((e) => e.code));
    console.log(await store.get('a/b'), await store.exists('a/b'), await store.exists('a/c'));
    console.log(await collect(store.list('')), await collect(store.listVersions('')));
    console.log(await store.describeVersion('a/b', r.versionId!));
    const bodies = Array.from({ length: 16 }, (_, i) => new TextEncoder().encode(`w${i}`));
    const out = await Promise.allSettled(bodies.map((b) => store.putIfAbsent('race', b)));
    console.log(out.map((o) => o.status === 'fulfilled' ? o.value.status : (o.reason as any).code));
    console.log((await collect(store.listVersions('race'))).length);
    expect(1).toBe(1);
  });
});
