/**
 * The SDK's retries plus our write-once handling under injected faults: with 503 SlowDown, 500s,
 * KMS throttling, timeouts and dropped connections (some after the emulator already acted) on a
 * fraction of requests, every put and sign eventually succeeds, no key gets a second version, and
 * faults that outlast the retries surface as retryable StorageErrors. The fault proxy's generator
 * is seeded and the requests are sequential, so a run injects the same faults every time.
 */
import { verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsSigner } from '../../src/adapters/kms-signer.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { ConfigurationError, StorageError } from '../../src/core/errors.js';
import {
  collect,
  createTestBucket,
  createTestKey,
  proxyableEndpoint,
  rejectionOf,
  scheduleTestKeyDeletion,
  testKmsClient,
  testS3Client,
} from '../helpers/aws.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';

const upstream = proxyableEndpoint();
const bytes = (s: string) => new TextEncoder().encode(s);

function expectRetryable(err: unknown, code: string): void {
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).code).toBe(code);
  expect((err as StorageError).retryable).toBe(true);
}

// Needs a loopback emulator to put the proxy in front of; real AWS checks the signed Host header.
describe.skipIf(upstream === undefined)('under injected faults', () => {
  let proxy: FaultProxy;
  let bucket: string;
  let keyArn: string;

  beforeAll(async () => {
    proxy = await startFaultProxy({ upstream: upstream ?? '', seed: 20_240_917 });
    bucket = await createTestBucket(testS3Client(), 'faults');
    keyArn = await createTestKey(testKmsClient());
  });

  afterAll(async () => {
    await proxy.stop();
    await scheduleTestKeyDeletion(testKmsClient());
  });

  it('completes every put exactly once despite 503s, 500s and dropped connections', async () => {
    // Prepare
    const conditionalPut = { method: 'PUT', hasHeader: 'if-none-match' } as const;
    proxy.setRules([
      { ...conditionalPut, fault: 'slowDown', probability: 0.1 },
      { ...conditionalPut, fault: 'internalError', probability: 0.1 },
      { ...conditionalPut, fault: 'dropBeforeForward', probability: 0.1 },
      // The emulator stores the object but the answer is lost: the retry meets a 412.
      { ...conditionalPut, fault: 'dropAfterForward', probability: 0.1 },
      { method: 'GET', fault: 'slowDown', probability: 0.1 },
      { method: 'GET', fault: 'dropBeforeForward', probability: 0.05 },
    ]);
    proxy.clearLog();
    const client = testS3Client({ endpoint: proxy.url, maxAttempts: 8 });
    const store = new S3Store({ client, bucket, prefix: 'retry', retention: { days: 1 } });
    const keys = Array.from({ length: 30 }, (_, i) => `seg/${String(i).padStart(4, '0')}`);

    // Act
    const results = [];
    for (const key of keys) results.push(await store.putIfAbsent(key, bytes(`body ${key}`)));

    // Assess
    const injected = proxy.injected();
    expect(proxy.injectedTotal()).toBeGreaterThan(5);
    expect(injected.slowDown ?? 0).toBeGreaterThan(0);
    expect(injected.dropAfterForward ?? 0).toBeGreaterThan(0);
    // Each lost answer turned into an `identical` on the retry; nothing else did.
    expect(results.filter((r) => r.status === 'identical').length).toBeLessThanOrEqual(
      injected.dropAfterForward ?? 0,
    );
    proxy.setRules([]);
    const versions = await collect(store.listVersions(''));
    expect(versions.map((v) => v.key)).toEqual(keys);
    expect(versions.every((v) => v.isLatest && !v.isDeleteMarker)).toBe(true);
    for (const [i, key] of keys.entries()) {
      expect(versions[i]?.versionId).toBe(results[i]?.versionId);
      expect(await store.get(key)).toEqual(bytes(`body ${key}`));
    }
  });

  it('retries a request that hangs past the request timeout', async () => {
    proxy.setRules([{ method: 'PUT', fault: 'delay', delayMs: 1_500, count: 1 }]);
    proxy.clearLog();
    const client = testS3Client({ endpoint: proxy.url, requestTimeoutMs: 300 });
    const store = new S3Store({ client, bucket, prefix: 'slow', retention: { days: 1 } });
    await store.checkBucket();
    expect((await store.putIfAbsent('k', bytes('x'))).status).toBe('created');
    const [held, retry, ...more] = proxy.requests.filter((r) => r.method === 'PUT');
    expect(more).toEqual([]);
    expect(proxy.injected()).toEqual({ delay: 1 });
    // The SDK gave up on the held request and sent its retry before the proxy let go of it.
    expect(held?.fault).toBe('delay');
    expect(retry?.arrived).toBeLessThan(held?.forwarded ?? Number.POSITIVE_INFINITY);
    // Once the held original reaches the emulator it meets the retry's object: 412, no version.
    await proxy.idle();
    proxy.setRules([]);
    expect(held?.status).toBe(412);
    expect(await collect(store.listVersions(''))).toHaveLength(1);
  });

  it('signs every message despite throttling, 500s and dropped connections', async () => {
    proxy.setRules([
      { target: /\.(GetPublicKey|DescribeKey)$/, fault: 'throttling', count: 2 },
      { target: /\.Sign$/, fault: 'throttling', probability: 0.1 },
      { target: /\.Sign$/, fault: 'internalError', probability: 0.05 },
      { target: /\.Sign$/, fault: 'dropBeforeForward', probability: 0.05 },
    ]);
    proxy.clearLog();
    const signer = new KmsSigner({
      client: testKmsClient({ endpoint: proxy.url, maxAttempts: 8 }),
      keyId: keyArn,
    });
    const spki = {
      key: Buffer.from(await signer.publicKey()),
      format: 'der',
      type: 'spki',
    } as const;
    for (let i = 0; i < 20; i++) {
      const message = bytes(`checkpoint ${i}`);
      expect(verify('sha256', message, spki, await signer.sign(message))).toBe(true);
    }
    const injected = proxy.injected();
    expect(injected.throttling ?? 0).toBeGreaterThan(2);
    expect(proxy.injectedTotal()).toBeGreaterThan(4);
  });

  it('reports faults that outlast the retries as retryable errors', async () => {
    proxy.setRules([
      { method: 'PUT', fault: 'slowDown' },
      { method: 'GET', fault: 'dropBeforeForward' },
      { target: /\.Sign$/, fault: 'throttling' },
    ]);
    const s3 = testS3Client({ endpoint: proxy.url, maxAttempts: 2 });
    const store = new S3Store({ client: s3, bucket, prefix: 'down', retention: { days: 1 } });
    await store.checkBucket().catch(() => undefined);
    expectRetryable(await rejectionOf(store.putIfAbsent('k', bytes('x'))), 'STORE_UNAVAILABLE');
    expectRetryable(await rejectionOf(store.get('k')), 'STORE_UNAVAILABLE');
    const signer = new KmsSigner({
      client: testKmsClient({ endpoint: proxy.url, maxAttempts: 2 }),
      keyId: keyArn,
    });
    expectRetryable(await rejectionOf(signer.sign(bytes('x'))), 'SIGNER_UNAVAILABLE');
    proxy.setRules([]);
  });

  it('reports a denied S3 or KMS action as ACCESS_DENIED, without retrying it', async () => {
    proxy.setRules([
      { method: 'PUT', fault: 'accessDenied' },
      { method: 'HEAD', fault: 'accessDenied' },
      { target: /\.Sign$/, fault: 'accessDenied' },
    ]);
    proxy.clearLog();
    const store = new S3Store({
      client: testS3Client({ endpoint: proxy.url }),
      bucket,
      prefix: 'denied',
      retention: { days: 1 },
    });
    const denied = async (promise: Promise<unknown>) => {
      const err = await rejectionOf(promise);
      expect(err).toBeInstanceOf(ConfigurationError);
      return (err as ConfigurationError).code;
    };
    expect(await denied(store.putIfAbsent('k', bytes('x')))).toBe('ACCESS_DENIED');
    expect(await denied(store.exists('k'))).toBe('ACCESS_DENIED');
    const signer = new KmsSigner({ client: testKmsClient({ endpoint: proxy.url }), keyId: keyArn });
    expect(await denied(signer.sign(bytes('x')))).toBe('ACCESS_DENIED');
    expect(proxy.injected()).toEqual({ accessDenied: 3 });
    proxy.setRules([]);
  });
});
