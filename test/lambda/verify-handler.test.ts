/**
 * The scheduled verifier's bundle (dist-lambda/verify/index.mjs, imported natively, one module
 * instance per execution environment) against the AWS target, configured only through its
 * environment as Lambda runs it: the archive written by the bundled `direct` ingest handler into
 * a locked bucket, the verifier's state in a second locked bucket, the log key trusted through
 * KMS GetPublicKey (AUDITLOCK_LOG_KEY_IDS), a local Ed25519 witness key (the emulator has no
 * ECC_NIST_EDWARDS25519 keys), findings published to an SNS topic with an SQS queue subscribed.
 * The EMF metrics are read from what the bundle writes to standard output.
 *
 * Primary only: the emulator sets no `x-amz-replication-status`, so a replica opened by the
 * bundle from its environment would be REPLICA_STATUS_INVALID on every object; the replica
 * comparison is tested on memory stores (test/app/scheduled-verify.test.ts) and with the test
 * replicator (test/integration).
 */
import { generateKeyPairSync } from 'node:crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  type SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEd25519Signer } from '../../src/adapters/ed25519-key.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { createSnsClient } from '../../src/adapters/sns-notifier.js';
import type { ScheduledVerifyReport } from '../../src/app/scheduled-verify.js';
import { cosignerKey, verifyCosignature } from '../../src/core/cosignature.js';
import { fromUtf8 } from '../../src/core/encoding.js';
import { segmentKey } from '../../src/core/layout.js';
import { parseNote } from '../../src/core/note.js';
import { parseCosignedCheckpointKey } from '../../src/core/witness-check.js';
import {
  awsTarget,
  collect,
  createTestBucket,
  scheduleTestKeyDeletion,
  TEST_RETENTION_DAYS,
  testKmsClient,
  testS3Client,
} from '../helpers/aws.js';
import {
  type Archive,
  ensureBundles,
  fakeContext,
  type LambdaEnvironment,
  loadEnvironment,
  loadVerifierEnvironment,
  setupArchive,
} from '../helpers/lambda.js';
import { sampleEvent } from '../helpers/log-fixture.js';

const PREFIX = 'verified';
const LOG = 'default';
const WITNESS_NAME = 'verifier.it.auditlock.local/witness';
const NAMESPACE = 'auditlock-it-verifier';

type Emf = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
};

let archive: Archive;
let stateBucket: string;
let sns: SNSClient;
let sqs: SQSClient;
let topicArn: string;
let queueUrl: string;
const witness = generateKeyPairSync('ed25519');
const witnessPem = witness.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const savedEnv = new Map<string, string | undefined>();

function setEnv(name: string, value: string): void {
  if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
  process.env[name] = value;
}

/** The verifier's environment as deployed, with `over` replacing or removing variables. */
function verifierEnv(over: Record<string, string | undefined> = {}) {
  return {
    AUDITLOCK_PRIMARY_STORE: `s3://${archive.bucket}/${PREFIX}`,
    AUDITLOCK_STATE_STORE: `s3://${stateBucket}/verifier`,
    AUDITLOCK_STATE_RETENTION_DAYS: String(TEST_RETENTION_DAYS),
    AUDITLOCK_LOG_KEY_IDS: archive.keyArn,
    AUDITLOCK_WITNESS_PRIVATE_KEY_PEM: witnessPem,
    AUDITLOCK_WITNESS_NAME: WITNESS_NAME,
    AUDITLOCK_NOTIFY_TOPIC_ARN: topicArn,
    POWERTOOLS_SERVICE_NAME: 'auditlock-verifier',
    POWERTOOLS_METRICS_NAMESPACE: NAMESPACE,
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...over,
  };
}

/** Archives `count` events from `first` through a fresh execution environment of the ingest bundle. */
async function ingest(first: number, count: number): Promise<void> {
  const env = await loadEnvironment(
    'direct',
    archive.lambdaEnv(PREFIX, {
      AUDITLOCK_MAX_EVENTS: '3',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    }),
  );
  const events = Array.from({ length: count }, (_, i) => sampleEvent(first + i));
  expect(await env.invoke({ events })).toStrictEqual({
    archived: count,
    quarantined: 0,
    skippedRedeliveries: 0,
  });
}

/**
 * Invokes `env`, keeping what the bundle writes meanwhile: Powertools' Metrics writes EMF to
 * standard output and its Logger warnings and errors to standard error, each through its own
 * `Console` on the process's streams, as in Lambda (where both go to CloudWatch Logs).
 */
async function invokeCapturing(
  env: LambdaEnvironment<'verify'>,
  context: Context = fakeContext({ functionName: 'auditlock-verifier', timeoutMs: 300_000 }),
): Promise<{ outcome: PromiseSettledResult<unknown>; emf: Emf[]; stderr: string }> {
  const captured = { stdout: '', stderr: '' };
  const streams = (['stdout', 'stderr'] as const).map((name) => {
    const stream = process[name];
    const write = stream.write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }) as typeof stream.write;
    return () => {
      stream.write = write;
    };
  });
  let outcome: PromiseSettledResult<unknown>;
  try {
    outcome = await env.invoke({}, context).then(
      (value) => ({ status: 'fulfilled', value }) as const,
      (reason: unknown) => ({ status: 'rejected', reason }) as const,
    );
  } finally {
    for (const restore of streams) restore();
  }
  const emf = captured.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((o): o is Emf => typeof o._aws === 'object');
  return { outcome, emf, stderr: captured.stderr };
}

/** The report of a successful invocation (fails the test if it failed). */
function reportOf(outcome: PromiseSettledResult<unknown>): ScheduledVerifyReport {
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value as ScheduledVerifyReport;
}

/** The value of metric `name` in the EMF records, with the dimensions it was emitted with. */
function metric(emf: readonly Emf[], name: string, dims: Record<string, string> = {}) {
  const hits = emf.filter(
    (r) =>
      name in r &&
      r._aws.CloudWatchMetrics[0]?.Namespace === NAMESPACE &&
      Object.entries(dims).every(([k, v]) => r[k] === v),
  );
  expect(hits, `one EMF record of ${name}`).toHaveLength(1);
  const hit = hits[0] as Emf;
  return {
    value: hit[name],
    dimensions: hit._aws.CloudWatchMetrics[0]?.Dimensions.flat().sort(),
    service: hit.service,
  };
}

function stateStore(): S3Store {
  return new S3Store({
    client: testS3Client(),
    bucket: stateBucket,
    prefix: 'verifier',
    retention: { days: TEST_RETENTION_DAYS },
  });
}

/** The cosigned checkpoints in the state store, each checked against the witness's key. */
async function cosignedSizes(): Promise<number[]> {
  const state = stateStore();
  const key = cosignerKey(WITNESS_NAME, await LocalEd25519Signer.fromPem(witnessPem).publicKey());
  const sizes: number[] = [];
  for (const o of await collect(state.list(`${LOG}/witness/`))) {
    const parsed = parseCosignedCheckpointKey(o.key);
    expect(parsed, o.key).toBeDefined();
    const { text, signatures } = parseNote(fromUtf8((await state.get(o.key)) as Uint8Array));
    expect(signatures.some((s) => verifyCosignature(text, s, key))).toBe(true);
    // A checkpoint's second line is its tree size (C2SP tlog-checkpoint).
    expect(Number(text.split('\n')[1])).toBe(parsed?.treeSize);
    sizes.push(parsed?.treeSize as number);
  }
  return sizes.sort((a, b) => a - b);
}

/** Messages in the subscribed queue now, as SNS delivered them (its JSON envelope). */
async function receiveNotifications(): Promise<{ Subject?: string; Message: string }[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return (out.Messages ?? []).map(
    (m) => JSON.parse(m.Body as string) as { Subject?: string; Message: string },
  );
}

beforeAll(async () => {
  await ensureBundles();
  // Each module instance carries its own SDK copy, and each would warn about Node 20 once.
  setEnv('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true');
  archive = await setupArchive('verifier');
  stateBucket = await createTestBucket(testS3Client(), 'verifier-state');
  const region = awsTarget().region;
  sns = createSnsClient({ region });
  sqs = new SQSClient({ region });
  const topic = await sns.send(
    new CreateTopicCommand({ Name: `auditlock-it-findings-${Date.now()}` }),
  );
  topicArn = topic.TopicArn as string;
  const queue = await sqs.send(
    new CreateQueueCommand({ QueueName: `auditlock-it-findings-${Date.now()}` }),
  );
  queueUrl = queue.QueueUrl as string;
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attrs.Attributes?.QueueArn as string;
  // What SNS needs to deliver to the queue on AWS (the emulator does not check it).
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queueArn,
              Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
            },
          ],
        }),
      },
    }),
  );
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
});

afterAll(async () => {
  await Promise.allSettled([
    topicArn ? sns.send(new DeleteTopicCommand({ TopicArn: topicArn })) : undefined,
    queueUrl ? sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })) : undefined,
  ]);
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await scheduleTestKeyDeletion(testKmsClient());
});

describe('dist-lambda/verify/index.mjs end to end', () => {
  it('verifies and cosigns, then reads only new segments, then reports a hidden segment to SNS and cosigns nothing', async () => {
    // Prepare: 7 events in segments of 3 (0–2, 3–5, 6).
    await ingest(0, 7);

    // Act: the first scheduled run, in a new execution environment.
    const first = await invokeCapturing(await loadVerifierEnvironment(verifierEnv()));
    // Assess
    const r1 = reportOf(first.outcome);
    expect(r1).toMatchObject({ ok: true, complete: true, findings: 0, segmentsRead: 3 });
    expect(r1.notified).toBe(false);
    expect(r1.logs).toMatchObject([
      {
        log: LOG,
        segmentsRead: 3,
        to: 7,
        findings: 0,
        witness: { ok: true, treeSize: 7, stored: 'created' },
      },
    ]);
    expect(r1.bytesRead).toBeGreaterThan(0);
    expect(await collect(stateStore().list(`verify-state/${LOG}/`))).toHaveLength(1);
    expect(await cosignedSizes()).toEqual([7]);
    // The alarms (infra/src/alarms.ts) watch the metric with the function's service dimension.
    expect(metric(first.emf, 'FindingsTotal')).toEqual({
      value: 0,
      dimensions: ['service'],
      service: 'auditlock-verifier',
    });
    expect(metric(first.emf, 'SegmentsVerified').value).toBe(3);
    expect(metric(first.emf, 'BytesVerified').value).toBe(r1.bytesRead);
    expect(metric(first.emf, 'RunIncomplete').value).toBe(0);
    expect(metric(first.emf, 'SecondsSinceCosignedHead').value).toBe(
      r1.logs[0]?.secondsSinceCosigned,
    );
    expect(first.emf.some((r) => 'Findings' in r)).toBe(false);
    expect(await receiveNotifications()).toEqual([]);

    // Prepare: 4 more events (segments 3–5, 6).
    await ingest(7, 4);
    // Act: the next run, in another new execution environment.
    const second = await invokeCapturing(await loadVerifierEnvironment(verifierEnv()));
    // Assess: only the two new segments are read; the new head is cosigned.
    const r2 = reportOf(second.outcome);
    expect(r2).toMatchObject({ ok: true, findings: 0, segmentsRead: 2 });
    expect(r2.logs).toMatchObject([
      { log: LOG, segmentsRead: 2, from: 7, to: 11, witness: { ok: true, treeSize: 11 } },
    ]);
    expect(await cosignedSizes()).toEqual([7, 11]);
    expect(metric(second.emf, 'SegmentsVerified').value).toBe(2);
    expect(metric(second.emf, 'FindingsTotal').value).toBe(0);

    // Prepare: hide the newest segment behind a delete marker (DeleteObject without a version
    // id, which Object Lock allows even in COMPLIANCE mode): the log looks 3 events shorter.
    const hidden = `${PREFIX}/${segmentKey(LOG, 4)}`;
    await testS3Client().send(new DeleteObjectCommand({ Bucket: archive.bucket, Key: hidden }));
    // Act
    const third = await invokeCapturing(await loadVerifierEnvironment(verifierEnv()));
    // Assess: reported, published, counted, and nothing cosigned.
    const r3 = reportOf(third.outcome);
    expect(r3.ok).toBe(false);
    expect(r3.findingsByCode.OBJECT_DELETE_MARKER).toBeGreaterThan(0);
    expect(r3.notified).toBe(true);
    expect(r3.logs[0]?.witness).toBeUndefined();
    expect(await cosignedSizes()).toEqual([7, 11]);
    const total = metric(third.emf, 'FindingsTotal');
    expect(total.value).toBe(r3.findings);
    expect(total.value).toBeGreaterThan(0);
    expect(metric(third.emf, 'Findings', { Code: 'OBJECT_DELETE_MARKER' })).toEqual({
      value: r3.findingsByCode.OBJECT_DELETE_MARKER,
      dimensions: ['Code', 'service'],
      service: 'auditlock-verifier',
    });
    const messages = await receiveNotifications();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Subject).toBe(
      `auditlock: ${r3.findings} finding(s) in s3://${archive.bucket}/${PREFIX}/`,
    );
    expect(messages[0]?.Message).toContain('OBJECT_DELETE_MARKER');
    expect(messages[0]?.Message).toContain(segmentKey(LOG, 4));
    // Each finding is in the function's structured log too.
    expect(third.stderr).toMatch(/"message":"finding".*"code":"OBJECT_DELETE_MARKER"/);
  });

  it('a configuration error names the variable and fails the invocation', async () => {
    // Prepare
    const env = await loadVerifierEnvironment(
      verifierEnv({ AUDITLOCK_STATE_STORE: 's3://Not_A_Bucket/verifier' }),
    );
    // Act
    const { outcome, stderr } = await invokeCapturing(env);
    // Assess
    expect(outcome.status).toBe('rejected');
    const err = (outcome as PromiseRejectedResult).reason as { code?: string; message?: string };
    expect(err.code).toBe('LAMBDA_CONFIG_INVALID');
    expect(err.message).toContain('AUDITLOCK_STATE_STORE');
    expect(stderr).toMatch(/"message":"verification failed".*"code":"LAMBDA_CONFIG_INVALID"/);
  });
});
