/**
 * The ingest runtime on an in-memory store: partial failures name exactly the unstored records,
 * redeliveries are not archived twice, invalid input is quarantined, the time budget defers work.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { InputError, StorageError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import type { ObjectStore, PutOptions } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { readConfig } from '../../src/lambda/config.js';
import { IngestRuntime } from '../../src/lambda/runtime.js';
import type { SourceKind, SourceRecord } from '../../src/sources/types.js';
import { makeKey, sampleEvent, steppingClock, type TestKey } from '../helpers/log-fixture.js';

const silentLogger = new Logger({ logLevel: 'SILENT' });
const metrics = new Metrics({ namespace: 'test', serviceName: 'test' });

function sqsRecord(
  id: string,
  n: number,
  opts: { receiveCount?: number; invalid?: boolean } = {},
): SourceRecord {
  const delivery = { source: 'sqs', id };
  return {
    itemIdentifier: id,
    lane: undefined,
    maybeRedelivered: (opts.receiveCount ?? 1) > 1,
    items: opts.invalid
      ? [
          {
            ok: false,
            raw: new TextEncoder().encode('{"oops":'),
            error: new InputError('JSON_INVALID', `record ${id}: bad JSON`),
            delivery,
          },
        ]
      : [{ ok: true, event: sampleEvent(n), delivery }],
  };
}

function kinesisRecord(seq: number): SourceRecord {
  const id = String(1000 + seq);
  return {
    itemIdentifier: id,
    lane: 'shardId-000000000000',
    maybeRedelivered: false,
    sequenceNumber: BigInt(id),
    items: [{ ok: true, event: sampleEvent(seq), delivery: { source: 'kinesis', id } }],
  };
}

/** A store whose puts of segments holding a chosen record fail (as with AccessDenied). */
class FlakyStore implements ObjectStore {
  readonly inner = new MemoryStore();
  readonly location = 'flaky:';
  failing: (bytes: string) => boolean = () => false;
  putIfAbsent(key: string, bytes: Uint8Array, o?: PutOptions) {
    if (this.failing(Buffer.from(bytes).toString()))
      return Promise.reject(new StorageError('STORE_FAILED', 'injected', { retryable: false }));
    return this.inner.putIfAbsent(key, bytes, o);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  exists(key: string) {
    return this.inner.exists(key);
  }
  list(prefix: string, o?: { startAfter?: string }) {
    return this.inner.list(prefix, o);
  }
}

function runtime(store: ObjectStore, key: TestKey, env: Record<string, string> = {}) {
  const config = readConfig({
    AUDITLOCK_STORE: 'memory',
    AUDITLOCK_PRIVATE_KEY_PEM: key.privateKeyPem,
    AUDITLOCK_ORIGIN_PREFIX: 'audit.example.com/lambda-test',
    AUDITLOCK_MAX_EVENTS: '3',
    AUDITLOCK_TIME_RESERVE_MS: '1000',
    ...env,
  });
  return new IngestRuntime({
    config,
    store,
    signer: key.signer,
    clock: steppingClock(),
    logger: silentLogger,
    metrics,
  });
}

async function entriesOf(
  store: ObjectStore,
): Promise<{ log: string; delivery?: { id: string }; kind: string }[]> {
  const out: { log: string; delivery?: { id: string }; kind: string }[] = [];
  for await (const { key } of store.list('')) {
    const seg = parseSegment((await store.get(key)) as Uint8Array);
    for (const e of splitEntries(decodeBody(seg.body, seg.header.encoding, seg.header.rawLength)))
      out.push({ log: key.split('/')[0] as string, ...JSON.parse(Buffer.from(e).toString()) });
  }
  return out;
}

async function clean(store: ObjectStore, key: TestKey): Promise<Finding[]> {
  const findings: Finding[] = [];
  await verifyStore(store, { trustedKeys: [key.trusted], onFinding: (f) => findings.push(f) });
  return findings;
}

const plenty = () => 60_000;
const ids = (rs: readonly SourceRecord[]) => rs.map((r) => r.itemIdentifier);

describe('IngestRuntime', () => {
  it('stores every record and quarantines invalid input in the same log', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    const records = [sqsRecord('m1', 1), sqsRecord('m2', 2, { invalid: true }), sqsRecord('m3', 3)];
    const result = await runtime(store, key).process('sqs', records, plenty);
    expect(result.failed).toEqual([]);
    expect(result).toMatchObject({ stored: 3, quarantined: 1 });
    expect((await entriesOf(store)).map((e) => [e.kind, e.delivery?.id])).toEqual([
      ['event', 'm1'],
      ['quarantine', 'm2'],
      ['event', 'm3'],
    ]);
    expect(await clean(store, key)).toEqual([]);
  });

  it('reports exactly the records whose segment could not be stored; their redelivery completes the log', async () => {
    const store = new FlakyStore();
    const key = makeKey();
    const rt = runtime(store, key);
    // Segments hold 3 entries: the one holding m5 (records m4-m6) cannot be stored.
    store.failing = (b) => b.includes('"id":"m5"');
    const records = Array.from({ length: 8 }, (_, i) => sqsRecord(`m${i + 1}`, i + 1));
    const first = await rt.process('sqs', records, plenty);
    expect(ids(first.failed)).toEqual(['m4', 'm5', 'm6']);
    store.failing = () => false;
    const again = first.failed.map((r) => ({ ...r, maybeRedelivered: true }));
    const second = await rt.process('sqs', again, plenty);
    expect(second.failed).toEqual([]);
    const delivered = (await entriesOf(store.inner)).map((e) => e.delivery?.id).sort();
    expect(delivered).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
    expect(await clean(store.inner, key)).toEqual([]);
  });

  it('does not archive an SQS redelivery twice, even in a new execution environment', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    const records = [sqsRecord('a', 1), sqsRecord('b', 2), sqsRecord('c', 3), sqsRecord('d', 4)];
    await runtime(store, key).process('sqs', records, plenty);
    // The response was lost: SQS redelivers the whole batch, received twice now.
    const redelivered = records.map((r) => ({ ...r, maybeRedelivered: true }));
    const fresh = runtime(store, key, { AUDITLOCK_DEDUP_WINDOW_SECONDS: '86400' });
    const result = await fresh.process('sqs', [...redelivered, sqsRecord('e', 5)], plenty);
    expect(result).toMatchObject({ skippedRedeliveries: 4, stored: 1 });
    expect((await entriesOf(store)).map((e) => e.delivery?.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a first delivery (ApproximateReceiveCount 1) is never looked up: no reads of old segments', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    await runtime(store, key).process('sqs', [sqsRecord('x', 1)], plenty);
    let gets = 0;
    const counting: ObjectStore = {
      ...store,
      location: 'c',
      putIfAbsent: (k, b, o) => store.putIfAbsent(k, b, o),
      get: (k) => {
        gets++;
        return store.get(k);
      },
      exists: (k) => store.exists(k),
      list: (p, o) => store.list(p, o),
    };
    const rt = runtime(counting, key);
    await rt.process('sqs', [sqsRecord('y', 2)], plenty);
    const before = gets;
    await rt.process('sqs', [sqsRecord('z', 3)], plenty);
    expect(gets).toBe(before);
  });

  it('Kinesis: a retry from the first failed record archives it and skips the ones already stored', async () => {
    const store = new FlakyStore();
    const key = makeKey();
    const records = Array.from({ length: 9 }, (_, i) => kinesisRecord(i));
    store.failing = (b) => b.includes('"id":"1004"');
    const first = await runtime(store, key).process('kinesis', records, plenty);
    expect(ids(first.failed)).toEqual(['1003', '1004', '1005']);
    store.failing = () => false;
    // Lambda retries the shard from the lowest failed sequence number: records 3..8 again, in a
    // new execution environment that knows nothing but the log.
    const retry = await runtime(store, key).process('kinesis', records.slice(3), plenty);
    expect(retry.failed).toEqual([]);
    expect(retry.skippedRedeliveries).toBe(3);
    const seen = (await entriesOf(store.inner)).map((e) => e.delivery?.id);
    expect([...seen].sort()).toEqual(records.map((r) => r.itemIdentifier).sort());
    expect(new Set((await entriesOf(store.inner)).map((e) => e.log)).size).toBe(1);
    expect(await clean(store.inner, key)).toEqual([]);
  });

  it('stops taking records when the time budget runs low and reports the rest as failures', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    let left = 6_000;
    const remaining = () => (left -= 1_500);
    const records = Array.from({ length: 6 }, (_, i) => sqsRecord(`t${i}`, i));
    const result = await runtime(store, key).process('sqs', records, remaining);
    expect(ids(result.failed)).toEqual(['t3', 't4', 't5']);
    expect(result.deferred).toBe(3);
    expect((await entriesOf(store)).map((e) => e.delivery?.id)).toEqual(['t0', 't1', 't2']);
  });

  it('puts each SQS FIFO message group (lane) in its own log with its own origin', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    const records = ['g1', 'g2', 'g1'].map((lane, i) => ({ ...sqsRecord(`f${i}`, i), lane }));
    await runtime(store, key).process('sqs', records, plenty);
    const logs = (await entriesOf(store)).map((e) => e.log);
    expect(logs).toEqual(['default.g1', 'default.g1', 'default.g2']);
    expect(await clean(store, key)).toEqual([]);
  });

  it('concurrent invocations on one log (separate environments) give one linear log', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    const envs = [0, 1, 2, 3].map(() => runtime(store, key));
    const results = await Promise.all(
      envs.map((rt, n) =>
        rt.process(
          'sqs',
          Array.from({ length: 10 }, (_, i) => sqsRecord(`c${n}-${i}`, n * 100 + i)),
          plenty,
        ),
      ),
    );
    expect(results.flatMap((r) => r.failed)).toEqual([]);
    const seen = (await entriesOf(store)).map((e) => e.delivery?.id);
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    expect(await clean(store, key)).toEqual([]);
  });
});

void (null as unknown as SourceKind);
