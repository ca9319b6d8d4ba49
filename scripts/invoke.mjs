#!/usr/bin/env node
/**
 * Runs one bundled Lambda handler locally on an event file, the way Lambda would, then verifies
 * what it archived; or runs the scheduled verifier's bundle on a freshly written archive.
 *
 *   node scripts/invoke.mjs <event.json> [--handler sqs|kinesis|eventbridge|cloudwatch-logs|direct]
 *                           [--timeout-ms N]
 *   node scripts/invoke.mjs [<event.json>] --handler verify [--timeout-ms N]
 *
 * 1. The handler is the one `--handler` names, else the one the event's shape says
 *    (`detectSource`, dist/sources/index.js).
 * 2. Without AWS_ENDPOINT_URL, moto is installed if needed (scripts/moto.mjs) and started on a free
 *    loopback port for this run; with it (LocalStack, a running moto), that endpoint is used.
 * 3. The bucket and key are bootstrapped (Object Lock, COMPLIANCE; KMS ECC_NIST_P256), idempotently:
 *    AUDITLOCK_INVOKE_BUCKET (default auditlock-local), AUDITLOCK_INVOKE_PREFIX (lambda),
 *    AUDITLOCK_INVOKE_KEY_ALIAS (alias/auditlock-local), AUDITLOCK_RETENTION_DAYS (1).
 * 4. The Lambda variables are set (AUDITLOCK_STORE, AUDITLOCK_KMS_KEY_ID, AUDITLOCK_ORIGIN_PREFIX
 *    unless given; any other AUDITLOCK_* or POWERTOOLS_* you set passes through), the bundle
 *    dist-lambda/<handler>/index.mjs is imported and invoked with a Lambda-like context whose
 *    remaining time counts down from --timeout-ms (default 60000).
 * 5. The response is printed, then `auditlock pubkey` exports the KMS public key and
 *    `auditlock verify` checks the store with it.
 *
 * With `--handler verify` (the scheduled verifier, dist-lambda/verify/index.mjs; the event file is
 * optional, as EventBridge Scheduler's payload is not read), steps 4 and 5 are instead:
 * 4. AUDITLOCK_INVOKE_EVENTS (default 5) sample events are archived into the store through the
 *    `direct` bundle; the verifier's state bucket is bootstrapped like the archive
 *    (AUDITLOCK_INVOKE_STATE_BUCKET, default `<bucket>-state`, under `verifier/`); unless
 *    AUDITLOCK_WITNESS_KMS_KEY_ID or AUDITLOCK_WITNESS_PRIVATE_KEY_PEM is set, a fresh Ed25519
 *    witness key is generated for this run (the emulators have no ECC_NIST_EDWARDS25519 keys).
 * 5. The verifier's variables are set (AUDITLOCK_PRIMARY_STORE, AUDITLOCK_STATE_STORE,
 *    AUDITLOCK_LOG_KEY_IDS = the key alias, AUDITLOCK_WITNESS_NAME `invoke.auditlock.local/witness`,
 *    AUDITLOCK_STATE_RETENTION_DAYS, unless given; others such as AUDITLOCK_NOTIFY_TOPIC_ARN pass
 *    through), the bundle is invoked and its report printed. Repeated runs against one endpoint
 *    append events and verify incrementally from the state the earlier runs left.
 *
 * Exit status: 0 the invocation succeeded (no batch item failures) and the store verifies clean
 * (for `verify`: the report is ok); 1 the invocation failed, timed out or reported failures, or
 * verify found something; 2 usage or setup error. Needs `npm run build` (dist/) and
 * `npm run bundle` (dist-lambda/); `npm run invoke` does both.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { applyMotoEnv, ensureMoto, startMoto } from './moto.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HANDLERS = ['sqs', 'kinesis', 'eventbridge', 'cloudwatch-logs', 'direct'];
/** The scheduled verifier: not an ingest handler, and its event file is optional. */
const VERIFY = 'verify';
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const USAGE = [
  'usage: node scripts/invoke.mjs <event.json> [--handler sqs|kinesis|eventbridge|cloudwatch-logs|direct] [--timeout-ms N]',
  '       node scripts/invoke.mjs [<event.json>] --handler verify [--timeout-ms N]',
].join('\n');

class UsageError extends Error {}

/**
 * A Lambda `Context` as the Node.js runtime builds it, its remaining time counting down to a
 * deadline `timeoutMs` from now.
 */
export function lambdaContext(functionName, timeoutMs, region = 'us-east-1') {
  const deadline = Date.now() + timeoutMs;
  const legacy = () => {
    throw new Error('callback-style completion is not used by async handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: legacy,
    fail: legacy,
    succeed: legacy,
  };
}

function parse(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        handler: { type: 'string' },
        'timeout-ms': { type: 'string', default: '60000' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  const verify = values.handler === VERIFY;
  if (positionals.length > 1 || (positionals.length === 0 && !verify))
    throw new UsageError(
      verify ? 'expected at most one event file' : 'expected exactly one event file',
    );
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 900_000)
    throw new UsageError(
      `--timeout-ms must be 1..900000 (Lambda's limit), got ${values['timeout-ms']}`,
    );
  if (values.handler !== undefined && !verify && !HANDLERS.includes(values.handler))
    throw new UsageError(
      `--handler must be one of ${[...HANDLERS, VERIFY].join(', ')}, got ${values.handler}`,
    );
  return { file: positionals[0], handler: values.handler, timeoutMs };
}

function requireBuilt(paths, how) {
  for (const p of paths)
    if (!existsSync(p))
      throw new UsageError(`${p} does not exist: run ${how} first (or npm run invoke)`);
}

/** Without AWS_ENDPOINT_URL: a moto for this run, and the environment pointing at it. */
async function chooseTarget() {
  process.env.AWS_REGION ??= process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (process.env.AWS_ENDPOINT_URL)
    return { endpoint: process.env.AWS_ENDPOINT_URL, stop: async () => {} };
  log('AWS_ENDPOINT_URL is not set: starting moto (installing it on first use)');
  await ensureMoto();
  const moto = await startMoto();
  applyMotoEnv(process.env, moto.endpoint);
  return { endpoint: `${moto.endpoint} (moto, stopped at exit)`, stop: moto.stop };
}

/** Newest modification time of the files under `path`, in ms. */
function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/**
 * Runs the built CLI, its output going to ours (`quiet`: kept, and printed only if it fails).
 * Resolves with its exit status.
 */
function cli(args, { quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (b) => {
      output += b;
    });
    child.stderr?.on('data', (b) => {
      output += b;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const status = code ?? (signal ? 128 : 1);
      if (quiet && status !== 0) process.stderr.write(output);
      resolve(status);
    });
  });
}

function log(message) {
  process.stderr.write(`invoke: ${message}\n`);
}

function heading(text) {
  process.stdout.write(`\n── ${text} ${'─'.repeat(Math.max(3, 76 - text.length))}\n`);
}

async function main(argv) {
  const args = parse(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const dist = (p) => join(ROOT, 'dist', p);
  requireBuilt(
    [dist('sources/index.js'), dist('adapters/aws-bootstrap.js'), CLI],
    '`npm run build`',
  );
  // EventBridge Scheduler's default payload for a Lambda target is an empty object.
  let event = {};
  if (args.file !== undefined) {
    try {
      event = JSON.parse(readFileSync(args.file, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read ${args.file} as JSON: ${err.message}`);
    }
  }
  const { detectSource } = await import(pathToFileURL(dist('sources/index.js')).href);
  const kind = args.handler ?? detectSource(event);
  if (kind === undefined)
    throw new UsageError(`cannot tell which source sent ${args.file}; pass --handler`);
  const bundle = join(ROOT, 'dist-lambda', kind, 'index.mjs');
  const direct = join(ROOT, 'dist-lambda', 'direct', 'index.mjs');
  requireBuilt(kind === VERIFY ? [bundle, direct] : [bundle], '`npm run bundle`');
  if (statSync(bundle).mtimeMs < newestMtime(join(ROOT, 'src')))
    log(`warning: ${bundle} is older than src/: run npm run bundle for current code`);

  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const target = await chooseTarget();
  const scratch = mkdtempSync(join(tmpdir(), 'auditlock-invoke-'));
  try {
    const { createS3Client, createKmsClient } = await import(
      pathToFileURL(dist('adapters/aws-config.js')).href
    );
    const { bootstrap } = await import(pathToFileURL(dist('adapters/aws-bootstrap.js')).href);
    const bucket = process.env.AUDITLOCK_INVOKE_BUCKET ?? 'auditlock-local';
    const prefix = process.env.AUDITLOCK_INVOKE_PREFIX ?? 'lambda';
    const retentionDays = Number(process.env.AUDITLOCK_RETENTION_DAYS ?? '1');
    const s3 = createS3Client();
    const region = await s3.config.region();
    const keyAlias = process.env.AUDITLOCK_INVOKE_KEY_ALIAS ?? 'alias/auditlock-local';
    /** A locked bucket (COMPLIANCE default retention) and the signing key, idempotently. */
    const bootstrapBucket = (name) =>
      bootstrap({ s3, kms: createKmsClient(), bucket: name, region, retentionDays, keyAlias });
    const setup = await bootstrapBucket(bucket);
    const store = `s3://${bucket}/${prefix}`;
    Object.assign(process.env, {
      AUDITLOCK_STORE: store,
      AUDITLOCK_KMS_KEY_ID: setup.keyAlias,
      AUDITLOCK_RETENTION_DAYS: String(retentionDays),
    });
    process.env.AUDITLOCK_ORIGIN_PREFIX ??= `invoke.auditlock.local/${bucket}/${prefix}`;
    delete process.env.AUDITLOCK_PRIVATE_KEY_PEM;
    log(`handler ${kind} (dist-lambda/${kind}/index.mjs), endpoint ${target.endpoint}`);
    if (kind === VERIFY)
      return await runVerifier({ bundle, direct, event, setup, store, bootstrapBucket, args });
    log(`store ${store}, key ${setup.keyAlias} (${setup.keyArn}), timeout ${args.timeoutMs} ms`);
    const outcome = await invokeBundle(bundle, kind, event, args.timeoutMs);
    let ok;
    if (outcome.timedOut) return 1;
    if (outcome.error) ok = false;
    else ok = !(outcome.response?.batchItemFailures?.length > 0);

    heading(`verify ${store}`);
    const pem = join(scratch, 'pubkey.pem');
    if ((await cli(['pubkey', '--kms-key', setup.keyAlias, '--out', pem], { quiet: true })) !== 0)
      throw new Error('auditlock pubkey failed');
    const verified = await cli(['verify', store, '--pubkey', pem]);
    return ok && verified === 0 ? 0 : verified === 2 ? 2 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await target.stop();
  }
}

/**
 * Acts like Lambda: imports the bundle (init), invokes it with a context counting down to the
 * timeout, and prints the response or error. Resolves with `{ response }`, `{ error }` or
 * `{ timedOut: true }`.
 */
async function invokeBundle(bundle, kind, event, timeoutMs) {
  const started = performance.now();
  const { handler } = await import(pathToFileURL(bundle).href);
  const initMs = performance.now() - started;
  const context = lambdaContext(`auditlock-${kind}`, timeoutMs, process.env.AWS_REGION);
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
  });
  const invokedAt = performance.now();
  const outcome = await Promise.race([
    handler(event, context).then(
      (response) => ({ response }),
      (error) => ({ error }),
    ),
    timedOut,
  ]);
  clearTimeout(timer);
  const ms = (performance.now() - invokedAt).toFixed(0);
  if (outcome.timedOut) {
    heading(`response (${kind})`);
    process.stdout.write(`Task timed out after ${timeoutMs} ms\n`);
  } else if (outcome.error) {
    const e = outcome.error;
    heading(`error (${kind}, init ${initMs.toFixed(0)} ms, invocation ${ms} ms)`);
    process.stdout.write(
      `${JSON.stringify({ errorType: e?.name, code: e?.code, errorMessage: e?.message }, null, 2)}\n`,
    );
  } else {
    heading(`response (${kind}, init ${initMs.toFixed(0)} ms, invocation ${ms} ms)`);
    process.stdout.write(`${JSON.stringify(outcome.response, null, 2)}\n`);
  }
  return outcome;
}

/** A valid audit event (docs/FORMAT.md), distinct per call. */
function sampleEvent(i) {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    action: 'invoke.sample',
    actor: { id: 'scripts/invoke.mjs', type: 'service' },
    outcome: 'success',
    detail: { n: i },
  };
}

/**
 * `--handler verify`: archives sample events through the direct bundle, bootstraps the state
 * bucket and a witness key, and invokes the verifier's bundle. Resolves with the exit status.
 */
async function runVerifier({ bundle, direct, event, setup, store, bootstrapBucket, args }) {
  const count = Number(process.env.AUDITLOCK_INVOKE_EVENTS ?? '5');
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000)
    throw new UsageError(`AUDITLOCK_INVOKE_EVENTS must be 1..10000, got ${count}`);
  const { handler: ingest } = await import(pathToFileURL(direct).href);
  const events = Array.from({ length: count }, (_, i) => sampleEvent(i));
  const ingested = await ingest(
    { events },
    lambdaContext('auditlock-direct', args.timeoutMs, process.env.AWS_REGION),
  );
  if (ingested?.archived !== count)
    throw new Error(`the direct handler archived ${JSON.stringify(ingested)}, not ${count} events`);
  log(`archived ${count} sample event(s) into ${store} through dist-lambda/direct/index.mjs`);

  const stateBucket =
    process.env.AUDITLOCK_INVOKE_STATE_BUCKET ?? `${setup.bucket}-state`.slice(0, 63);
  await bootstrapBucket(stateBucket);
  if (!process.env.AUDITLOCK_WITNESS_KMS_KEY_ID && !process.env.AUDITLOCK_WITNESS_PRIVATE_KEY_PEM) {
    process.env.AUDITLOCK_WITNESS_PRIVATE_KEY_PEM = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    log('witness: a fresh Ed25519 key for this run (AUDITLOCK_WITNESS_PRIVATE_KEY_PEM)');
  }
  process.env.AUDITLOCK_PRIMARY_STORE ??= store;
  process.env.AUDITLOCK_STATE_STORE ??= `s3://${stateBucket}/verifier`;
  process.env.AUDITLOCK_LOG_KEY_IDS ??= setup.keyAlias;
  process.env.AUDITLOCK_WITNESS_NAME ??= 'invoke.auditlock.local/witness';
  process.env.AUDITLOCK_STATE_RETENTION_DAYS ??= String(setup.retentionDays);
  log(
    `primary ${process.env.AUDITLOCK_PRIMARY_STORE}, state ${process.env.AUDITLOCK_STATE_STORE}, log key ${process.env.AUDITLOCK_LOG_KEY_IDS}, timeout ${args.timeoutMs} ms`,
  );
  const outcome = await invokeBundle(bundle, VERIFY, event, args.timeoutMs);
  return outcome.response?.ok === true ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // A handler that timed out may still hold the event loop open, as Lambda would freeze it.
      setTimeout(() => process.exit(code), 2_000).unref();
    },
    (err) => {
      if (err instanceof UsageError) console.error(`invoke: ${err.message}\n${USAGE}`);
      else console.error(`invoke: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? err}`);
      process.exitCode = 2;
    },
  );
}
