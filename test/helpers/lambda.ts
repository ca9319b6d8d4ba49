/**
 * Helpers for tests of the bundled Lambda handlers (`dist-lambda/<handler>/index.mjs`):
 * - {@link ensureBundles} builds the bundles once (reused while newer than every input);
 * - {@link loadEnvironment} imports a *fresh module instance* of a bundle, natively (not through
 *   Vitest's transform), which is a separate warm runtime: a new Lambda execution environment;
 * - {@link fakeContext} is a Lambda `Context` with a deadline;
 * - event builders in the shapes AWS sends (SQS, Kinesis, EventBridge, CloudWatch Logs, direct);
 * - {@link setupArchive} bootstraps a locked bucket + KMS key per test file, and reads back,
 *   verifies and counts what the handlers stored under a prefix.
 *
 * The handler reads its configuration (AUDITLOCK_*) when an environment's runtime is built, on its
 * first invocation, synchronously: {@link LambdaEnvironment.invoke} applies per-environment
 * variables around that call. The SDK resolves `AWS_ENDPOINT_URL` lazily, at its first request, so
 * the endpoint is set for a whole test file instead (see test/lambda/e2e.test.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Context } from 'aws-lambda';
import { lambdaContext } from '../../scripts/invoke.mjs';
import { bootstrap } from '../../src/adapters/aws-bootstrap.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { type VerifyStoreResult, verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { fromUtf8 } from '../../src/core/encoding.js';
import type { Finding } from '../../src/core/findings.js';
import { parseSegment } from '../../src/core/segment.js';
import type { SourceKind } from '../../src/sources/types.js';
import {
  awsTarget,
  rememberTestKey,
  TEST_RETENTION_DAYS,
  testKmsClient,
  testS3Client,
  uniqueBucketName,
  uniqueKeyAlias,
} from './aws.js';
import { REPO_ROOT } from './cli.js';
import { sampleEvent } from './log-fixture.js';

export const BUNDLE_DIR = join(REPO_ROOT, 'dist-lambda');
export const HANDLERS: readonly SourceKind[] = [
  'sqs',
  'kinesis',
  'eventbridge',
  'cloudwatch-logs',
  'direct',
];

/** The scheduled verifier's bundle (`src/lambda/handlers/verify.ts`): not an ingest handler. */
export const VERIFY_HANDLER = 'verify';

/** Where the bundle of `name` is. */
export function bundlePath(name: SourceKind | typeof VERIFY_HANDLER): string {
  return join(BUNDLE_DIR, name, 'index.mjs');
}

// ---------------------------------------------------------------------------------------------
// Building

/** Newest modification time under `path` (files only), in ms. */
function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** True if every bundle exists and is newer than src/, the bundle script and the lock file. */
export function bundlesFresh(): boolean {
  const inputs = Math.max(
    newestMtime(join(REPO_ROOT, 'src')),
    newestMtime(join(REPO_ROOT, 'scripts', 'bundle.mjs')),
    newestMtime(join(REPO_ROOT, 'package-lock.json')),
  );
  const bundles: (SourceKind | typeof VERIFY_HANDLER)[] = [...HANDLERS, VERIFY_HANDLER];
  return bundles.every(
    (h) => existsSync(bundlePath(h)) && statSync(bundlePath(h)).mtimeMs > inputs,
  );
}

const LOCK = join(REPO_ROOT, '.tmp', 'bundle.lock');
let built: Promise<void> | undefined;

/**
 * Runs `node scripts/bundle.mjs` unless the bundles are fresh; once per test process. Test files
 * run in parallel workers, so the build is serialised by a lock folder under `.tmp/`.
 */
export function ensureBundles(): Promise<void> {
  built ??= (async () => {
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        mkdirSync(LOCK);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
        // A lock older than two minutes was left by a killed run.
        const since = statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
        if (Date.now() - since > 120_000) rmSync(LOCK, { recursive: true, force: true });
        else if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
        else await new Promise((r) => setTimeout(r, 200));
      }
    }
    try {
      if (!bundlesFresh())
        await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'scripts', 'bundle.mjs')], {
          cwd: REPO_ROOT,
        });
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  })();
  return built;
}

// ---------------------------------------------------------------------------------------------
// Execution environments

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Node's own `import()`, bypassing Vitest's module transform: the bundle runs exactly as Lambda
 * runs it, and each query string gives a separate module instance. A dynamic import in code that
 * Vitest evaluates has no native loader behind it, so it lives in a tiny CommonJS file.
 */
const nativeImport: (url: string) => Promise<{ handler?: unknown }> = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'auditlock-native-import-'));
  const file = join(dir, 'native-import.cjs');
  writeFileSync(file, 'module.exports = (url) => import(url);\n');
  return createRequire(import.meta.url)(file);
})();

let environments = 0;

/** One simulated execution environment: a module instance of a bundle, with its own warm state. */
export type LambdaEnvironment<Name extends string = SourceKind> = {
  readonly id: number;
  readonly name: Name;
  /**
   * Invokes the handler. `env` (default: the environment's) is applied to `process.env` for the
   * synchronous start of the call, when a first invocation reads its configuration.
   */
  invoke(event: unknown, context?: Context): Promise<unknown>;
};

/**
 * Imports a fresh instance of the bundle `name`.
 * @param env variables this environment's runtime is built with (AUDITLOCK_*, POWERTOOLS_*)
 */
export function loadEnvironment(
  name: SourceKind,
  env: Record<string, string | undefined> = {},
): Promise<LambdaEnvironment> {
  return loadBundle(name, env);
}

/** Imports a fresh instance of the scheduled verifier's bundle, as {@link loadEnvironment} does. */
export function loadVerifierEnvironment(
  env: Record<string, string | undefined> = {},
): Promise<LambdaEnvironment<typeof VERIFY_HANDLER>> {
  return loadBundle(VERIFY_HANDLER, env);
}

async function loadBundle<Name extends SourceKind | typeof VERIFY_HANDLER>(
  name: Name,
  env: Record<string, string | undefined>,
): Promise<LambdaEnvironment<Name>> {
  const id = ++environments;
  const url = `${pathToFileURL(bundlePath(name)).href}?env=${id}`;
  // Powertools' Logger and Metrics read their settings when the module is evaluated.
  const mod = await withEnvAsync(env, () => nativeImport(url));
  if (typeof mod.handler !== 'function') throw new Error(`${url} exports no handler function`);
  const handler = mod.handler as Handler;
  return {
    id,
    name,
    invoke: (event, context = fakeContext()) => withEnv(env, () => handler(event, context)),
  };
}

/** Calls `fn` with `env` applied to `process.env`, restoring it as soon as `fn` returns. */
export function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(env)) {
    saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

async function withEnvAsync<T>(
  env: Record<string, string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(env)) {
    saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/**
 * A Lambda `Context` as the Node.js runtime builds it. `getRemainingTimeInMillis` counts down to a
 * deadline `timeoutMs` from now, unless `remaining` replaces it (time-budget tests).
 */
export function fakeContext(
  options: { functionName?: string; timeoutMs?: number; remaining?: () => number } = {},
): Context {
  const context = lambdaContext(
    options.functionName ?? 'auditlock-archiver',
    options.timeoutMs ?? 60_000,
    awsTargetRegion(),
  );
  if (options.remaining) context.getRemainingTimeInMillis = options.remaining;
  return context;
}

function awsTargetRegion(): string {
  try {
    return awsTarget().region;
  } catch {
    return process.env.AWS_REGION ?? 'us-east-1';
  }
}

// ---------------------------------------------------------------------------------------------
// Events, in the shapes AWS sends them

/** JSON text of a valid audit event, distinct per `i`. */
export function eventJson(i: number): string {
  return JSON.stringify(sampleEvent(i));
}

export type SqsMessage = {
  readonly messageId: string;
  readonly body: string;
  /** ApproximateReceiveCount (default 1). */
  readonly receiveCount?: number;
  /** FIFO queues only. */
  readonly groupId?: string;
};

/** An SQS event source mapping's event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). */
export function sqsEvent(messages: readonly SqsMessage[], options: { fifo?: boolean } = {}) {
  const queue = `arn:aws:sqs:us-east-1:123456789012:audit-events${options.fifo ? '.fifo' : ''}`;
  return {
    Records: messages.map((m) => ({
      messageId: m.messageId,
      receiptHandle: `AQEB${randomBytes(24).toString('base64')}`,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount ?? 1),
        SentTimestamp: '1793492699000',
        SenderId: 'AROA3EXAMPLEROLEID123:audit-producer',
        ApproximateFirstReceiveTimestamp: '1793492699007',
        ...(m.groupId ? { MessageGroupId: m.groupId, SequenceNumber: '1' } : {}),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queue,
      awsRegion: 'us-east-1',
    })),
  };
}

/** `count` SQS messages `<prefix>-<i>`, each one audit event. */
export function sqsMessages(prefix: string, count: number, first = 0): SqsMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    messageId: `${prefix}-${first + i}`,
    body: eventJson(first + i),
  }));
}

/** A realistic 56-digit Kinesis sequence number, increasing with `i`. */
export function kinesisSequenceNumber(i: number): string {
  return (
    49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n +
    BigInt(i) * 2n ** 20n
  ).toString();
}

/** A Kinesis event source mapping's event (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html). */
export function kinesisEvent(
  records: readonly { sequenceNumber: string; data: string }[],
  shardId = 'shardId-000000000000',
) {
  return {
    Records: records.map((r) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'tenant-1',
        sequenceNumber: r.sequenceNumber,
        data: Buffer.from(r.data).toString('base64'),
        approximateArrivalTimestamp: 1_793_492_699.123,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${r.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/auditlock-archiver',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/audit-events',
    })),
  };
}

/** An EventBridge rule target's event whose `detail` is an audit event. */
export function eventBridgeEvent(id: string, detail: unknown) {
  return {
    version: '0',
    id,
    'detail-type': 'Audit Event',
    source: 'com.example.payments',
    account: '123456789012',
    time: '2026-11-26T08:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

/** A CloudWatch Logs subscription event: base64 of gzip of the batch JSON. */
export function cloudWatchLogsEvent(messages: readonly { id: string; message: string }[]) {
  const batch = {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: '/aws/lambda/payments-api',
    logStream: '2026/11/26/[$LATEST]8f3c1e0d6b2a4f7e9c5d3b1a0e8f6d4c',
    subscriptionFilters: ['auditlock-archiver'],
    logEvents: messages.map((m, i) => ({
      id: m.id,
      timestamp: 1_793_492_683_001 + i,
      message: m.message,
    })),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(batch)).toString('base64') } };
}

// ---------------------------------------------------------------------------------------------
// The archive: bucket + key, reading back, verifying

/** One stored entry, as read back from the segments (no signature checks: verify for those). */
export type LoggedEntry = {
  readonly log: string;
  readonly seq: number;
  readonly kind: 'event' | 'quarantine';
  readonly source: string | undefined;
  readonly deliveryId: string | undefined;
  readonly errorCode: string | undefined;
};

export type Archive = {
  readonly bucket: string;
  readonly keyArn: string;
  readonly spki: Uint8Array;
  /** The Lambda variables for a store under `prefix` (retention: the test retention). */
  lambdaEnv(prefix: string, extra?: Record<string, string>): Record<string, string>;
  /** A store on `prefix`, straight to the target (what an auditor sees). */
  store(prefix: string): S3Store;
  /** Every entry under `prefix`, logs in key order, entries in log order. */
  entries(prefix: string): Promise<LoggedEntry[]>;
  /** Verifies everything under `prefix` against the KMS public key. */
  verify(prefix: string): Promise<VerifyStoreResult & { list: Finding[] }>;
};

/**
 * Bootstraps an Object Lock bucket (COMPLIANCE, test retention) and a KMS signing key, as
 * `auditlock bootstrap` does; the key is remembered for `scheduleTestKeyDeletion`.
 */
export async function setupArchive(label: string): Promise<Archive> {
  const s3 = testS3Client();
  const result = await bootstrap({
    s3,
    kms: testKmsClient(),
    bucket: uniqueBucketName(label),
    region: await s3.config.region(),
    retentionDays: TEST_RETENTION_DAYS,
    keyAlias: uniqueKeyAlias(label),
  });
  rememberTestKey(result.keyArn);
  const store = (prefix: string) =>
    new S3Store({
      client: testS3Client(),
      bucket: result.bucket,
      prefix,
      retention: { days: TEST_RETENTION_DAYS },
    });
  return {
    bucket: result.bucket,
    keyArn: result.keyArn,
    spki: result.publicKeySpki,
    lambdaEnv: (prefix, extra = {}) => ({
      AUDITLOCK_STORE: `s3://${result.bucket}/${prefix}`,
      AUDITLOCK_KMS_KEY_ID: result.keyAlias,
      AUDITLOCK_ORIGIN_PREFIX: `it.auditlock.local/${prefix}`,
      AUDITLOCK_RETENTION_DAYS: String(TEST_RETENTION_DAYS),
      ...extra,
    }),
    store,
    entries: (prefix) => readEntries(store(prefix)),
    verify: async (prefix) => {
      const list: Finding[] = [];
      const trustedKeys = [{ spki: result.publicKeySpki, label: result.keyAlias }];
      const r = await verifyStore(store(prefix), { trustedKeys, onFinding: (f) => list.push(f) });
      return { ...r, list };
    },
  };
}

async function readEntries(store: S3Store): Promise<LoggedEntry[]> {
  const out: LoggedEntry[] = [];
  for await (const { key } of store.list('')) {
    const bytes = await store.get(key);
    if (!bytes) throw new Error(`${key} listed but not readable`);
    const seg = parseSegment(bytes);
    for (const leaf of splitEntries(
      decodeBody(seg.body, seg.header.encoding, seg.header.rawLength),
    )) {
      const e = JSON.parse(fromUtf8(leaf)) as {
        kind: 'event' | 'quarantine';
        delivery?: { source: string; id?: string };
        error?: { code: string };
      };
      out.push({
        log: key.split('/')[0] as string,
        seq: seg.checkpoint.seq,
        kind: e.kind,
        source: e.delivery?.source,
        deliveryId: e.delivery?.id,
        errorCode: e.error?.code,
      });
    }
  }
  return out;
}

/** Delivery ids of `entries` that appear more than once. */
export function duplicateIds(entries: readonly LoggedEntry[]): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const e of entries) {
    if (e.deliveryId === undefined) continue;
    const k = `${e.source}:${e.deliveryId}`;
    if (seen.has(k)) dups.add(k);
    seen.add(k);
  }
  return [...dups];
}
