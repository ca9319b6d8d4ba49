/**
 * The bundled Lambda handlers (dist-lambda/<handler>/index.mjs, imported natively, one module
 * instance per simulated execution environment) against the AWS target: a bucket and KMS key made
 * by `bootstrap`, every request through the fault proxy. The proxy forwards conditional PUTs to one
 * key one at a time (moto's If-None-Match is not atomic; S3's is), and injects S3/KMS faults where a
 * test asks for them. Each test writes under its own prefix and verifies it against the KMS key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSource, mapEvent } from '../../src/sources/index.js';
import type { SourceKind } from '../../src/sources/types.js';
import {
  awsTarget,
  proxyableEndpoint,
  scheduleTestKeyDeletion,
  testKmsClient,
} from '../helpers/aws.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { type FaultProxy, type FaultRule, startFaultProxy } from '../helpers/fault-proxy.js';
import {
  type Archive,
  cloudWatchLogsEvent,
  duplicateIds,
  ensureBundles,
  eventBridgeEvent,
  eventJson,
  fakeContext,
  HANDLERS,
  kinesisEvent,
  kinesisSequenceNumber,
  type LambdaEnvironment,
  type LoggedEntry,
  loadEnvironment,
  type SqsMessage,
  setupArchive,
  sqsEvent,
  sqsMessages,
} from '../helpers/lambda.js';
import { sampleEvent } from '../helpers/log-fixture.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'lambda');
const fixtureFiles = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort();
const upstream = proxyableEndpoint();
/** The handler a fixture is for: its name is `<handler>.json` or `<handler>-<case>.json`. */
const kindOf = (file: string) =>
  [...HANDLERS]
    .sort((a, b) => b.length - a.length)
    .find((h) => file === `${h}.json` || file.startsWith(`${h}-`));
const segmentOf = (prefix: string, log: string, seq: number) =>
  new RegExp(`/${prefix}/${log}/seg/${String(seq).padStart(20, '0')}\\.seg`);
const kmsSign = /\.Sign$/;
const ids = (...xs: string[]) => ({
  batchItemFailures: xs.map((itemIdentifier) => ({ itemIdentifier })),
});
const deliveryIds = (entries: readonly LoggedEntry[]) =>
  entries.map((e) => e.deliveryId ?? '(none)').sort();
const redelivered = (ms: readonly SqsMessage[]) => ms.map((m) => ({ ...m, receiveCount: 2 }));

let archive: Archive;
let proxy: FaultProxy | undefined;
const savedEnv = new Map<string, string | undefined>();

function setEnv(name: string, value: string): void {
  if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
  process.env[name] = value;
}

/** Faults for the requests that follow (with a fresh request log). */
function inject(rules: readonly FaultRule[]): void {
  proxy?.setRules(rules);
  proxy?.clearLog();
}

/**
 * The `code` of the error `p` rejects with (fails the test if it resolves). The error is the
 * bundle's own AuditlockError class, not the one `src/` defines, so `instanceof` cannot be used.
 */
async function rejectionCode(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected the invocation to fail, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => (e as { code?: unknown }).code,
  );
}

async function expectClean(prefix: string): Promise<void> {
  const v = await archive.verify(prefix);
  expect(v.list).toEqual([]);
  expect(v.ok).toBe(true);
}

beforeAll(async () => {
  await ensureBundles();
  if (upstream) {
    proxy = await startFaultProxy({
      upstream,
      serializeConditionalPuts: !awsTarget().atomicConditionalWrites,
      seed: 20_261_126,
    });
    // For the whole file: the SDK reads AWS_ENDPOINT_URL at a client's first request.
    setEnv('AWS_ENDPOINT_URL', proxy.url);
  }
  // Read by Powertools when a bundle is evaluated; quiet unless the caller asks otherwise.
  setEnv('POWERTOOLS_LOG_LEVEL', process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT');
  setEnv('POWERTOOLS_METRICS_DISABLED', process.env.POWERTOOLS_METRICS_DISABLED ?? 'true');
  // Each module instance carries its own SDK copy, and each would warn about Node 20 once.
  setEnv('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true');
  archive = await setupArchive('lambda');
});

afterAll(async () => {
  await proxy?.stop();
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await scheduleTestKeyDeletion(testKmsClient());
});

describe('every fixture through its bundled handler', () => {
  it('covers every handler', () => {
    expect(new Set(fixtureFiles.map(kindOf))).toEqual(new Set(HANDLERS));
  });

  it.each(fixtureFiles)(
    '%s: exact response, every item stored once, log verifies',
    async (file) => {
      // Prepare
      const kind = kindOf(file) as SourceKind;
      const event: unknown = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
      const detected = detectSource(event);
      if (detected !== undefined) expect(detected).toBe(kind);
      const items = mapEvent(kind, event).flatMap((r) => r.items);
      const ok = items.filter((i) => i.ok).length;
      const prefix = `fixtures/${file.replace(/\.json$/, '')}`;
      const env = await loadEnvironment(kind, archive.lambdaEnv(prefix));
      // Act
      const response = await env.invoke(event);
      // Assess: invalid input is quarantined in the log, never a failure.
      expect(response).toStrictEqual(
        kind === 'sqs' || kind === 'kinesis'
          ? { batchItemFailures: [] }
          : { archived: ok, quarantined: items.length - ok, skippedRedeliveries: 0 },
      );
      const entries = await archive.entries(prefix);
      const got = entries.map((e) => [e.kind, e.source, e.deliveryId, e.errorCode].join(' '));
      const want = items.map((i) =>
        [
          i.ok ? 'event' : 'quarantine',
          i.delivery.source,
          i.delivery.id,
          i.ok ? undefined : i.error.code,
        ].join(' '),
      );
      expect(got.sort()).toEqual(want.sort());
      // A fixture with no items (a CloudWatch Logs control message) stores nothing, and an empty
      // store is a finding (LOG_EMPTY) by design: there is nothing to verify then.
      if (items.length > 0) await expectClean(prefix);
    },
  );
});

describe.skipIf(upstream === undefined)('partial failure under injected S3 and KMS faults', () => {
  it('SQS: S3 refuses one segment → exactly its messages are reported; their redelivery completes the log', async () => {
    // Prepare: segments of 3; the second segment's PUT is refused once (AccessDenied, not retried).
    const prefix = 'fault-sqs';
    const env = archive.lambdaEnv(prefix, { AUDITLOCK_MAX_EVENTS: '3' });
    const messages = sqsMessages('fs', 10);
    inject([
      { fault: 'accessDenied', method: 'PUT', path: segmentOf(prefix, 'default', 1), count: 1 },
    ]);
    // Act
    const first = await (await loadEnvironment('sqs', env)).invoke(sqsEvent(messages));
    // Assess
    expect(proxy?.injected()).toEqual({ accessDenied: 1 });
    expect(first).toStrictEqual(ids('fs-3', 'fs-4', 'fs-5'));
    // Act: SQS redelivers those three (received twice now) to a new execution environment.
    inject([]);
    const again = redelivered(messages.slice(3, 6));
    const second = await (await loadEnvironment('sqs', env)).invoke(sqsEvent(again));
    // Assess: nothing lost, nothing twice.
    expect(second).toStrictEqual(ids());
    const entries = await archive.entries(prefix);
    expect(deliveryIds(entries)).toEqual(messages.map((m) => m.messageId).sort());
    expect(duplicateIds(entries)).toEqual([]);
    await expectClean(prefix);
  });

  it('Kinesis: KMS refuses one signature → exactly that segment’s records are reported; a retry from the first failed one completes the log', async () => {
    // Prepare: the second Sign request is refused (the first passes through a zero delay).
    const prefix = 'fault-kinesis';
    const env = archive.lambdaEnv(prefix, { AUDITLOCK_MAX_EVENTS: '3' });
    const records = Array.from({ length: 10 }, (_, i) => ({
      sequenceNumber: kinesisSequenceNumber(i),
      data: eventJson(100 + i),
    }));
    inject([
      { fault: 'delay', delayMs: 0, target: kmsSign, count: 1 },
      { fault: 'accessDenied', target: kmsSign, count: 1 },
    ]);
    // Act
    const first = await (await loadEnvironment('kinesis', env)).invoke(kinesisEvent(records));
    // Assess
    expect(proxy?.injected()).toEqual({ delay: 1, accessDenied: 1 });
    const failed = records.slice(3, 6).map((r) => r.sequenceNumber);
    expect(first).toStrictEqual(ids(...failed));
    // Act: Lambda retries the shard from the lowest failed sequence number, in a new environment.
    inject([]);
    const retry = kinesisEvent(records.slice(3));
    const second = await (await loadEnvironment('kinesis', env)).invoke(retry);
    // Assess
    expect(second).toStrictEqual(ids());
    const entries = await archive.entries(prefix);
    expect(deliveryIds(entries)).toEqual(records.map((r) => r.sequenceNumber).sort());
    expect(duplicateIds(entries)).toEqual([]);
    expect(new Set(entries.map((e) => e.log)).size).toBe(1);
    await expectClean(prefix);
  });

  it('SQS: a log that cannot be opened fails every record, after one attempt per invocation (not one per record)', async () => {
    // Prepare: the head lookup's first probe (HEAD of segment 0) is refused.
    const prefix = 'fault-open';
    const env = await loadEnvironment('sqs', archive.lambdaEnv(prefix));
    const messages = sqsMessages('fo', 5);
    inject([{ fault: 'accessDenied', method: 'HEAD', path: segmentOf(prefix, 'default', 0) }]);
    // Act
    const response = await env.invoke(sqsEvent(messages));
    // Assess
    expect(response).toStrictEqual(ids(...messages.map((m) => m.messageId)));
    expect(proxy?.injected()).toEqual({ accessDenied: 1 });
    inject([]);
    expect(await env.invoke(sqsEvent(redelivered(messages)))).toStrictEqual(ids());
    expect(deliveryIds(await archive.entries(prefix))).toEqual(messages.map((m) => m.messageId));
    await expectClean(prefix);
  });

  it('SQS: an unstored message without a messageId fails the whole batch (it cannot be named); the redelivery stores it and skips the rest', async () => {
    // Prepare: one entry per segment; the second segment (the message without an id) is refused.
    const prefix = 'fault-unnamed';
    const env = archive.lambdaEnv(prefix, { AUDITLOCK_MAX_EVENTS: '1' });
    const batch = (receiveCount: number) => {
      const e = sqsEvent([
        { messageId: 'un-0', body: eventJson(200), receiveCount },
        { messageId: 'un-1', body: eventJson(201), receiveCount },
      ]);
      delete (e.Records[1] as { messageId?: string }).messageId;
      return e;
    };
    inject([
      { fault: 'accessDenied', method: 'PUT', path: segmentOf(prefix, 'default', 1), count: 1 },
    ]);
    // Act
    const code = await rejectionCode((await loadEnvironment('sqs', env)).invoke(batch(1)));
    // Assess
    expect(code).toBe('BATCH_INCOMPLETE');
    inject([]);
    expect(await (await loadEnvironment('sqs', env)).invoke(batch(2))).toStrictEqual(ids());
    const entries = await archive.entries(prefix);
    expect(entries.map((e) => [e.kind, e.deliveryId, e.errorCode])).toEqual([
      ['event', 'un-0', undefined],
      ['quarantine', undefined, 'RECORD_INVALID'],
    ]);
    await expectClean(prefix);
  });
});

describe.skipIf(upstream === undefined)('metrics', () => {
  it('count only what was stored: a quarantined entry whose segment failed is a failed record, not a quarantined one', async () => {
    // Prepare: one entry per segment; the invalid message's segment (the second) is refused.
    const prefix = 'metrics';
    const env = await loadEnvironment('sqs', {
      ...archive.lambdaEnv(prefix, { AUDITLOCK_MAX_EVENTS: '1' }),
      POWERTOOLS_METRICS_DISABLED: 'false',
    });
    const event = sqsEvent([
      { messageId: 'mx-0', body: eventJson(400) },
      { messageId: 'mx-1', body: '{"not":"an event"}' },
      { messageId: 'mx-2', body: eventJson(401) },
    ]);
    inject([
      { fault: 'accessDenied', method: 'PUT', path: segmentOf(prefix, 'default', 1), count: 1 },
    ]);
    // Act: EMF documents are single JSON lines on stdout.
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    }) as typeof process.stdout.write;
    let response: unknown;
    try {
      response = await env.invoke(event);
    } finally {
      process.stdout.write = write;
    }
    // Assess
    expect(response).toStrictEqual(ids('mx-1'));
    const emf = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      EventsArchived: 2,
      RecordsQuarantined: 0,
      RecordsFailed: 1,
      RedeliveriesSkipped: 0,
    });
  });
});

describe('redelivery', () => {
  it('the same SQS batch delivered twice (the second time received twice, in a new environment) is archived once', async () => {
    const prefix = 'redelivery';
    const env = archive.lambdaEnv(prefix);
    const messages = sqsMessages('rd', 6);
    const a = await loadEnvironment('sqs', env);
    expect(await a.invoke(sqsEvent(messages))).toStrictEqual(ids());
    // The response was lost: SQS redelivers the batch after the visibility timeout.
    expect(
      await (await loadEnvironment('sqs', env)).invoke(sqsEvent(redelivered(messages))),
    ).toEqual(ids());
    // And once more to the first, still warm environment.
    expect(await a.invoke(sqsEvent(redelivered(messages)))).toStrictEqual(ids());
    const entries = await archive.entries(prefix);
    expect(deliveryIds(entries)).toEqual(messages.map((m) => m.messageId).sort());
    expect(duplicateIds(entries)).toEqual([]);
    await expectClean(prefix);
  });

  it('a message twice in one redelivered SQS batch is archived once, and acknowledged for both', async () => {
    const prefix = 'redelivery-same-batch';
    const messages = sqsMessages('sb', 3);
    const batch = redelivered([messages[0], messages[1], messages[0], messages[2]] as SqsMessage[]);
    const env = await loadEnvironment('sqs', archive.lambdaEnv(prefix));
    expect(await env.invoke(sqsEvent(batch))).toStrictEqual(ids());
    const entries = await archive.entries(prefix);
    expect(deliveryIds(entries)).toEqual(messages.map((m) => m.messageId).sort());
    expect(duplicateIds(entries)).toEqual([]);
    await expectClean(prefix);
  });

  it('a warm environment recognises a redelivery another environment stored after its own last write', async () => {
    const prefix = 'redelivery-warm';
    const env = archive.lambdaEnv(prefix);
    const [a, b] = [await loadEnvironment('sqs', env), await loadEnvironment('sqs', env)];
    const fromA = sqsMessages('wa', 3);
    const fromB = sqsMessages('wb', 3);
    expect(await a.invoke(sqsEvent(fromA))).toStrictEqual(ids());
    expect(await b.invoke(sqsEvent(fromB))).toStrictEqual(ids());
    // B's response was lost; SQS hands one of its messages to A, whose view of the log is older.
    expect(await a.invoke(sqsEvent(redelivered(fromB.slice(1, 2))))).toStrictEqual(ids());
    const entries = await archive.entries(prefix);
    expect(deliveryIds(entries)).toEqual([...fromA, ...fromB].map((m) => m.messageId).sort());
    await expectClean(prefix);
  });
});

describe.skipIf(upstream === undefined)('warm environment', () => {
  it('a warm environment builds its runtime once (one KMS public-key fetch for many invocations)', async () => {
    const prefix = 'warm';
    const env = await loadEnvironment('sqs', archive.lambdaEnv(prefix));
    inject([]);
    for (let n = 0; n < 3; n++) await env.invoke(sqsEvent(sqsMessages(`w${n}`, 2)));
    const targets = (proxy as FaultProxy).requests
      .map((r) => r.target)
      .filter((t) => t !== undefined);
    expect(targets.filter((t) => t.endsWith('.GetPublicKey'))).toHaveLength(1);
    expect(targets.filter((t) => t.endsWith('.Sign'))).toHaveLength(3);
  });
});

describe('time budget', () => {
  it('stops taking records when the remaining time drops below the reserve; the rest are reported and a retry stores them', async () => {
    const prefix = 'budget';
    const env = archive.lambdaEnv(prefix, { AUDITLOCK_TIME_RESERVE_MS: '10000' });
    const messages = sqsMessages('tb', 8);
    // Plenty of time for the first three records, then 9 s left: below the 10 s reserve.
    let checks = 0;
    const context = fakeContext({ remaining: () => (++checks <= 3 ? 60_000 : 9_000) });
    const first = await (await loadEnvironment('sqs', env)).invoke(sqsEvent(messages), context);
    expect(first).toStrictEqual(ids(...messages.slice(3).map((m) => m.messageId)));
    expect(deliveryIds(await archive.entries(prefix))).toEqual(['tb-0', 'tb-1', 'tb-2']);
    const again = redelivered(messages.slice(3));
    expect(await (await loadEnvironment('sqs', env)).invoke(sqsEvent(again))).toStrictEqual(ids());
    const entries = await archive.entries(prefix);
    expect(deliveryIds(entries)).toEqual(messages.map((m) => m.messageId).sort());
    expect(duplicateIds(entries)).toEqual([]);
    await expectClean(prefix);
  });
});

describe('concurrency', () => {
  it('4 environments invoked in parallel on one log give one linear log with every message once', async () => {
    const prefix = 'concurrent';
    const env = archive.lambdaEnv(prefix, { AUDITLOCK_MAX_EVENTS: '4' });
    const envs: LambdaEnvironment[] = [];
    for (let n = 0; n < 4; n++) envs.push(await loadEnvironment('sqs', env));
    const batches = envs.map((_, n) => sqsMessages(`c${n}`, 20, n * 100));
    inject([]);
    const responses = await Promise.all(envs.map((e, n) => e.invoke(sqsEvent(batches[n] ?? []))));
    expect(responses).toStrictEqual(envs.map(() => ids()));
    const entries = await archive.entries(prefix);
    expect(new Set(entries.map((e) => e.log))).toEqual(new Set(['default']));
    expect(deliveryIds(entries)).toEqual(
      batches
        .flat()
        .map((m) => m.messageId)
        .sort(),
    );
    const v = await archive.verify(prefix);
    expect(v.list).toEqual([]);
    expect(v.logs.map((l) => [l.log, l.entries])).toEqual([['default', 80]]);
  });
});

describe.skipIf(upstream === undefined)(
  'asynchronous sources: a failure fails the invocation',
  () => {
    it('EventBridge: S3 refuses the segment → the invocation throws; Lambda’s retry archives the event once', async () => {
      const prefix = 'async-eventbridge';
      const env = archive.lambdaEnv(prefix);
      const event = eventBridgeEvent('5f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b', sampleEvent(300));
      inject([{ fault: 'accessDenied', method: 'PUT', path: /\/seg\// }]);
      const code = await rejectionCode((await loadEnvironment('eventbridge', env)).invoke(event));
      expect(code).toBe('BATCH_INCOMPLETE');
      inject([]);
      const retried = await (await loadEnvironment('eventbridge', env)).invoke(event);
      expect(retried).toStrictEqual({ archived: 1, quarantined: 0, skippedRedeliveries: 0 });
      const entries = await archive.entries(prefix);
      expect(entries.map((e) => [e.kind, e.source, e.deliveryId])).toEqual([
        ['event', 'eventbridge', event.id],
      ]);
      await expectClean(prefix);
    });

    it('CloudWatch Logs: KMS refuses to sign → the invocation throws; the retry in the same environment archives the batch', async () => {
      const prefix = 'async-cwl';
      const env = await loadEnvironment('cloudwatch-logs', archive.lambdaEnv(prefix));
      const event = cloudWatchLogsEvent([
        { id: '36622316099697884706540976068822859012661220141643890001', message: eventJson(310) },
        { id: '36622316099697884706540976068822859012661220141643890002', message: 'not json' },
        { id: '36622316099697884706540976068822859012661220141643890003', message: eventJson(311) },
      ]);
      inject([{ fault: 'accessDenied', target: kmsSign }]);
      expect(await rejectionCode(env.invoke(event))).toBe('BATCH_INCOMPLETE');
      inject([]);
      expect(await env.invoke(event)).toStrictEqual({
        archived: 2,
        quarantined: 1,
        skippedRedeliveries: 0,
      });
      const entries = await archive.entries(prefix);
      expect(entries.map((e) => [e.kind, e.errorCode])).toEqual([
        ['event', undefined],
        ['quarantine', 'JSON_INVALID'],
        ['event', undefined],
      ]);
      await expectClean(prefix);
    });

    it('direct: KMS unreachable while the runtime is built → the invocation throws; the next one rebuilds it and succeeds', async () => {
      const prefix = 'async-direct';
      const env = await loadEnvironment('direct', archive.lambdaEnv(prefix));
      const event = { events: [sampleEvent(320), sampleEvent(321), { action: 42 }] };
      inject([{ fault: 'accessDenied', target: /\.GetPublicKey$/ }]);
      expect(await rejectionCode(env.invoke(event))).toBe('ACCESS_DENIED');
      expect(await archive.entries(prefix)).toEqual([]);
      inject([]);
      expect(await env.invoke(event)).toStrictEqual({
        archived: 2,
        quarantined: 1,
        skippedRedeliveries: 0,
      });
      await expectClean(prefix);
    });
  },
);
