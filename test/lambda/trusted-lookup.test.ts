/**
 * What the Lambda runtime reads back from the log to recognise redeliveries (SQS lookup, Kinesis
 * watermark and backward lookup) comes only from trusted segments: a segment forged by someone
 * who can write to the store must never make real records be skipped as "already archived"
 * (issue 7, defect 1). Also: a message twice in one SQS batch is archived once (issue 8, item 6),
 * and the trusted-keys and origin settings (AUDITLOCK_TRUSTED_KEYS, AUDITLOCK_ORIGIN_PREFIX).
 * Tampering replaces the real stored files of a folder store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { deliveriesIn } from '../../src/app/delivered.js';
import { verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { InputError, StorageError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import { formatVerifierKey } from '../../src/core/key-id.js';
import { segmentKey } from '../../src/core/layout.js';
import type { ObjectStore, PutOptions } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { readConfig } from '../../src/lambda/config.js';
import { IngestRuntime } from '../../src/lambda/runtime.js';
import type { SourceRecord } from '../../src/sources/types.js';
import { editEntry, forge, replaceStoredFile } from '../helpers/forge.js';
import { makeKey, sampleEvent, steppingClock, type TestKey } from '../helpers/log-fixture.js';

const silentLogger = new Logger({ logLevel: 'SILENT' });
const metrics = new Metrics({ namespace: 'test', serviceName: 'test' });
const plenty = () => 60_000;
const ORIGIN_PREFIX = 'audit.example.com/lambda-trust';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function folder(): Promise<{ root: string; store: FolderStore }> {
  const root = await mkdtemp(join(tmpdir(), 'al-lambda-trust-'));
  dirs.push(root);
  return { root, store: new FolderStore(root) };
}

function sqsRecord(id: string, n: number, receiveCount = 1): SourceRecord {
  return {
    itemIdentifier: id,
    lane: undefined,
    maybeRedelivered: receiveCount > 1,
    items: [{ ok: true, event: sampleEvent(n), delivery: { source: 'sqs', id } }],
  };
}

const kinesisId = (n: number) => String(1000 + n);
function kinesisRecord(n: number): SourceRecord {
  const id = kinesisId(n);
  return {
    itemIdentifier: id,
    lane: 'shardId-000000000000',
    maybeRedelivered: false,
    sequenceNumber: BigInt(id),
    items: [{ ok: true, event: sampleEvent(n), delivery: { source: 'kinesis', id } }],
  };
}

/** A store whose puts of segments holding a chosen text fail (as with AccessDenied). */
class FlakyStore implements ObjectStore {
  readonly location: string;
  failing: (bytes: string) => boolean = () => false;
  constructor(readonly inner: ObjectStore) {
    this.location = inner.location;
  }
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
    AUDITLOCK_STORE: 'folder',
    AUDITLOCK_PRIVATE_KEY_PEM: key.privateKeyPem,
    AUDITLOCK_ORIGIN_PREFIX: ORIGIN_PREFIX,
    AUDITLOCK_MAX_EVENTS: '3',
    AUDITLOCK_TIME_RESERVE_MS: '1000',
    AUDITLOCK_DEDUP_WINDOW_SECONDS: '86400',
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

type StoredEntry = { log: string; seq: number; delivery?: { id: string } };
async function entriesOf(store: ObjectStore): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  for await (const { key } of store.list('')) {
    const seg = parseSegment((await store.get(key)) as Uint8Array);
    for (const e of splitEntries(decodeBody(seg.body, seg.header.encoding, seg.header.rawLength)))
      out.push({
        log: key.split('/')[0] as string,
        seq: seg.checkpoint.seq,
        ...JSON.parse(Buffer.from(e).toString()),
      });
  }
  return out;
}

/** Replaces segment `seq` of `log` with its entries' delivery ids renamed, re-signed by mallory. */
async function forgeDeliveries(
  root: string,
  store: ObjectStore,
  log: string,
  seq: number,
  rename: (id: string) => string,
): Promise<void> {
  const key = segmentKey(log, seq);
  const forged = await forge((await store.get(key)) as Uint8Array, {
    entries: (es) =>
      es.map((e) =>
        editEntry(e, (x) => {
          const d = x.delivery as { source: string; id: string };
          return { ...x, delivery: { ...d, id: rename(d.id) } };
        }),
      ),
    signers: [makeKey('mallory').signer],
  });
  await replaceStoredFile(root, key, forged);
}

const ids = (rs: readonly SourceRecord[]) => rs.map((r) => r.itemIdentifier);

describe('redelivery lookups trust only verified segments', () => {
  it('SQS: a forged older segment listing new message ids does not make them count as archived', async () => {
    // Prepare: a1..a9 in segments 0..2; segment 1 is forged to claim x1..x3.
    const { root, store } = await folder();
    const key = makeKey();
    await runtime(store, key).process(
      'sqs',
      Array.from({ length: 9 }, (_, i) => sqsRecord(`a${i + 1}`, i + 1)),
      plenty,
    );
    const renames = new Map([
      ['a4', 'x1'],
      ['a5', 'x2'],
      ['a6', 'x3'],
    ]);
    await forgeDeliveries(root, store, 'default', 1, (id) => renames.get(id) ?? id);
    // Act: x1..x3 arrive received twice (their first delivery was never archived).
    const redelivered = ['x1', 'x2', 'x3'].map((id, i) => sqsRecord(id, 100 + i, 2));
    const result = await runtime(store, key).process('sqs', redelivered, plenty);
    // Assess
    expect(result.failed).toEqual([]);
    expect(result.skippedRedeliveries).toBe(0);
    const stored = (await entriesOf(store)).filter((e) => e.seq === 3).map((e) => e.delivery?.id);
    expect(stored).toEqual(['x1', 'x2', 'x3']);
  });

  it('Kinesis: a forged older segment does not make records of a retry count as archived', async () => {
    // Prepare: records 0..8, the segment holding 3..5 fails, so the head (watermark) is 1008.
    const { root, store: folderStore } = await folder();
    const store = new FlakyStore(folderStore);
    const key = makeKey();
    const records = Array.from({ length: 9 }, (_, i) => kinesisRecord(i));
    store.failing = (b) => b.includes(`"id":"${kinesisId(4)}"`);
    const first = await runtime(store, key).process('kinesis', records, plenty);
    expect(ids(first.failed)).toEqual([kinesisId(3), kinesisId(4), kinesisId(5)]);
    store.failing = () => false;
    // Segment 0 of the shard log is forged to claim the failed records 3..5.
    const log = (await entriesOf(folderStore))[0]?.log as string;
    await forgeDeliveries(root, folderStore, log, 0, (id) => String(Number(id) + 3));
    // Act: Lambda retries the shard from record 3, in a new environment.
    const retry = await runtime(store, key).process('kinesis', records.slice(3), plenty);
    // Assess: 6..8 are genuinely stored (segment 1), 3..5 are archived now, not skipped.
    expect(retry.failed).toEqual([]);
    expect(retry.skippedRedeliveries).toBe(3);
    const genuine = (await entriesOf(folderStore)).filter((e) => e.seq >= 1);
    expect(genuine.map((e) => e.delivery?.id).sort()).toEqual(
      [3, 4, 5, 6, 7, 8].map(kinesisId).sort(),
    );
  });

  it('Kinesis: a forged head cannot raise the watermark; the lane refuses to open and nothing is skipped', async () => {
    // Prepare: records 0..5 in segments 0..1; the head is forged to claim 6..8.
    const { root, store } = await folder();
    const key = makeKey();
    const records = Array.from({ length: 9 }, (_, i) => kinesisRecord(i));
    await runtime(store, key).process('kinesis', records.slice(0, 6), plenty);
    const log = (await entriesOf(store))[0]?.log as string;
    await forgeDeliveries(root, store, log, 1, (id) => String(Number(id) + 3));
    // Act
    const result = await runtime(store, key).process('kinesis', records.slice(6), plenty);
    // Assess: every record fails (Lambda retries them), none counted as already archived.
    expect(result.skippedRedeliveries).toBe(0);
    expect(ids(result.failed)).toEqual([6, 7, 8].map(kinesisId));
    expect(await store.exists(segmentKey(log, 2))).toBe(false);
  });
});

describe('stored bytes reach no raw JSON.parse or BigInt', () => {
  it('Kinesis: a quarantined record whose id is no sequence number does not stop the shard log from opening', async () => {
    // Prepare: a malformed record (sequence number "abc") is quarantined with delivery id "abc".
    const { store } = await folder();
    const key = makeKey();
    const malformed: SourceRecord = {
      itemIdentifier: 'abc',
      lane: 'shardId-000000000000',
      maybeRedelivered: false,
      items: [
        {
          ok: false,
          raw: new TextEncoder().encode('{}'),
          error: new InputError('RECORD_INVALID', 'kinesis record abc: bad sequence number'),
          delivery: { source: 'kinesis', id: 'abc' },
        },
      ],
    };
    await runtime(store, key).process('kinesis', [kinesisRecord(0), malformed], plenty);
    // Act: a new environment opens the shard log (its watermark comes from the head).
    const result = await runtime(store, key).process('kinesis', [kinesisRecord(1)], plenty);
    // Assess
    expect(result.failed).toEqual([]);
    expect((await entriesOf(store)).map((e) => e.delivery?.id)).toEqual([
      kinesisId(0),
      'abc',
      kinesisId(1),
    ]);
  });

  it('an entry that is not JSON is a coded ENTRY_INVALID, not a SyntaxError', () => {
    const bad = [
      new TextEncoder().encode('{"delivery":'),
      new TextEncoder().encode('{"delivery":7}'),
    ];
    for (const e of bad)
      expect(() => deliveriesIn([e], 'segment 0')).toThrow(
        expect.objectContaining({ code: 'ENTRY_INVALID' }),
      );
    expect(
      deliveriesIn([new TextEncoder().encode('{"delivery":{"source":"sqs","id":"m"}}')], 's'),
    ).toEqual([{ source: 'sqs', id: 'm' }]);
  });
});

describe('one message twice in one SQS batch', () => {
  it('is archived once, and both records succeed', async () => {
    // Prepare
    const { store } = await folder();
    const key = makeKey();
    const batch = [sqsRecord('m1', 1, 2), sqsRecord('m1', 1, 2), sqsRecord('m2', 2)];
    // Act
    const result = await runtime(store, key).process('sqs', batch, plenty);
    // Assess
    expect(result.failed).toEqual([]);
    expect((await entriesOf(store)).map((e) => e.delivery?.id)).toEqual(['m1', 'm2']);
    const findings: Finding[] = [];
    await verifyStore(store, { trustedKeys: [key.trusted], onFinding: (f) => findings.push(f) });
    expect(findings).toEqual([]);
  });

  it('both records fail when the one copy archived could not be stored', async () => {
    // Prepare: m2 goes into a first segment with m0 and m1 (3 per segment), the copy of m2 later.
    const { store: folderStore } = await folder();
    const store = new FlakyStore(folderStore);
    const key = makeKey();
    store.failing = (b) => b.includes('"id":"m2"');
    const batch = ['m0', 'm1', 'm2', 'm3', 'm2', 'm4'].map((id, i) => sqsRecord(id, i));
    // Act
    const result = await runtime(store, key).process('sqs', batch, plenty);
    // Assess
    expect(ids(result.failed)).toEqual(['m0', 'm1', 'm2', 'm2']);
    expect((await entriesOf(folderStore)).map((e) => e.delivery?.id)).toEqual(['m3', 'm4']);
  });
});

describe('Lambda trust and origin settings', () => {
  it('AUDITLOCK_TRUSTED_KEYS lets a new key continue a log the previous key signed (rotation)', async () => {
    // Prepare
    const { store } = await folder();
    const oldKey = makeKey('old');
    const newKey = makeKey('new');
    await runtime(store, oldKey).process('sqs', [sqsRecord('r1', 1)], plenty);
    // Act
    const refused = await runtime(store, newKey).process('sqs', [sqsRecord('r2', 2)], plenty);
    const trusted = formatVerifierKey(`${ORIGIN_PREFIX}/default`, oldKey.spki);
    const rotated = await runtime(store, newKey, { AUDITLOCK_TRUSTED_KEYS: trusted }).process(
      'sqs',
      [sqsRecord('r2', 2)],
      plenty,
    );
    // Assess
    expect(ids(refused.failed)).toEqual(['r2']);
    expect(rotated.failed).toEqual([]);
    expect((await entriesOf(store)).map((e) => e.delivery?.id)).toEqual(['r1', 'r2']);
    const findings: Finding[] = [];
    await verifyStore(store, {
      trustedKeys: [oldKey.trusted, newKey.trusted],
      onFinding: (f) => findings.push(f),
    });
    expect(findings).toEqual([]);
  });

  it('AUDITLOCK_TRUSTED_KEYS takes PEM blocks and vkey lines; anything else fails configuration', () => {
    const key = makeKey();
    const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(key.spki).toString('base64')}\n-----END PUBLIC KEY-----`;
    const vkey = formatVerifierKey('audit.example.com/x', makeKey().spki);
    const base = {
      AUDITLOCK_STORE: 'folder',
      AUDITLOCK_PRIVATE_KEY_PEM: key.privateKeyPem,
      AUDITLOCK_ORIGIN_PREFIX: ORIGIN_PREFIX,
    };
    const config = readConfig({ ...base, AUDITLOCK_TRUSTED_KEYS: `${pem}\n${vkey}\n` });
    expect(config.trustedKeys.map((k) => k.name)).toEqual([undefined, 'audit.example.com/x']);
    for (const bad of ['not-a-key', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'])
      expect(() => readConfig({ ...base, AUDITLOCK_TRUSTED_KEYS: bad })).toThrow(
        expect.objectContaining({ code: 'LAMBDA_CONFIG_INVALID' }),
      );
  });

  it.each([
    ['a space', 'audit.example.com/with space'],
    ['a plus', 'audit+example.com'],
    ['a newline', 'audit.example.com/x\nforged line'],
    ['too long with the longest log name', `audit.example.com/${'p'.repeat(200)}`],
  ])('an origin prefix with %s fails configuration loudly', (_what, prefix) => {
    const key = makeKey();
    expect(() =>
      readConfig({
        AUDITLOCK_STORE: 'folder',
        AUDITLOCK_PRIVATE_KEY_PEM: key.privateKeyPem,
        AUDITLOCK_ORIGIN_PREFIX: prefix,
      }),
    ).toThrow(expect.objectContaining({ code: 'LAMBDA_CONFIG_INVALID' }));
  });

  it('a log that cannot be opened because its head is untrusted is reported as such', async () => {
    const { store } = await folder();
    await runtime(store, makeKey('a')).process('sqs', [sqsRecord('r1', 1)], plenty);
    const errors: unknown[] = [];
    const logger = new Logger({ logLevel: 'SILENT' });
    logger.error = ((_msg: string, extra: { error?: unknown }) => {
      errors.push(extra?.error);
    }) as Logger['error'];
    const other = makeKey('b');
    const rt = new IngestRuntime({
      config: readConfig({
        AUDITLOCK_STORE: 'folder',
        AUDITLOCK_PRIVATE_KEY_PEM: other.privateKeyPem,
        AUDITLOCK_ORIGIN_PREFIX: ORIGIN_PREFIX,
      }),
      store,
      signer: other.signer,
      clock: steppingClock(),
      logger,
      metrics,
    });
    const result = await rt.process('sqs', [sqsRecord('r2', 2)], plenty);
    expect(ids(result.failed)).toEqual(['r2']);
    expect(errors).toContainEqual(expect.objectContaining({ code: 'SEGMENT_UNTRUSTED' }));
  });
});
