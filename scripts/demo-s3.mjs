#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CLI,
  check,
  DemoFailure,
  flipOneDigit,
  ROOT,
  auditlock as runCli,
  say,
  stepper,
} from './lib/narrate.mjs';

const LOG = 'default';
const PREFIX = 'prod';
const ORIGIN = 'demo.auditlock.local/s3';
const MAX_EVENTS = 500;
const RETENTION_DAYS = 1;
/** Segment the attacker shadows with a forged version, and segment hidden by a delete marker. */
const SHADOWED_SEQ = 3;
const HIDDEN_SEQ = 7;
const { values: opts } = parseArgs({
  options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (opts.help) {
  process.stdout.write(
    'Usage: node scripts/demo-s3.mjs [--out DIR]   (default: demo-s3-output/, wiped first)\n' +
      'Uses AWS_ENDPOINT_URL if set, else starts moto (scripts/moto.mjs).\n',
  );
  process.exit(0);
}
quietSdkNodeWarning();
const OUT = resolve(ROOT, opts.out ?? 'demo-s3-output');
const shown = (path) => {
  const rel = relative(ROOT, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
};
const paths = {
  publicKey: join(OUT, 'signing-key.pub.pem'),
  events: join(ROOT, 'examples', 'events.jsonl'),
};
const suffix = randomBytes(4).toString('hex');
const bucket = `auditlock-demo-${suffix}`;
const keyAlias = `alias/auditlock-demo-${suffix}`;
const store = `s3://${bucket}/${PREFIX}`;
const objectKey = (seq) => `${PREFIX}/${LOG}/seg/${String(seq).padStart(20, '0')}.seg`;

const heading = stepper(7);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The emulator to use: AWS_ENDPOINT_URL if set, else a moto started (and later stopped) here. */
async function startEmulator() {
  const given = process.env.AWS_ENDPOINT_URL;
  if (given) {
    say(`  Using the endpoint in AWS_ENDPOINT_URL: ${given}`);
    const env = { ...process.env, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' };
    return { endpoint: given, env, stop: async () => {} };
  }
  const { applyMotoEnv, ensureMoto, startMoto } = await import('./moto.mjs');
  const started = Date.now();
  const { version, installed } = await ensureMoto();
  if (installed) say(`  Installed moto ${version} into .venv/ (${seconds(started)}).`);
  const moto = await startMoto();
  say(`  Started moto ${version} (an S3 + KMS emulator) at ${moto.endpoint}.`);
  const env = applyMotoEnv({ ...process.env }, moto.endpoint);
  return { endpoint: moto.endpoint, env, stop: moto.stop };
}

async function demo(emulator) {
  const { env } = emulator;
  const {
    S3Client,
    DeleteObjectCommand,
    GetObjectCommand,
    HeadObjectCommand,
    ListObjectVersionsCommand,
    PutObjectCommand,
  } = await import('@aws-sdk/client-s3');
  // The attacker: plain SDK calls with s3:PutObject and s3:DeleteObject* on the bucket.
  const s3 = new S3Client({
    region: env.AWS_REGION,
    endpoint: emulator.endpoint,
    forcePathStyle: true,
    credentials: env.AWS_ACCESS_KEY_ID
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
          sessionToken: env.AWS_SESSION_TOKEN,
        }
      : undefined,
  });

  heading('Create an Object Lock bucket and a KMS signing key');
  say(
    '  COMPLIANCE retention: no one, root included, can delete a segment version before it ends.',
  );
  say('  The key is an ECC_NIST_P256 KMS key: the private key never leaves KMS.');
  await auditlock(env, [
    'bootstrap',
    '--bucket',
    bucket,
    '--key-alias',
    keyAlias,
    '--retention-days',
    String(RETENTION_DAYS),
    '--pubkey-out',
    shown(paths.publicKey),
  ]);
  check(existsSync(paths.publicKey), `bootstrap did not write ${shown(paths.publicKey)}`);

  heading(`Archive ${shown(paths.events)} (5,000 audit events) into ${store}`);
  say(
    `  Segments of at most ${MAX_EVENTS} events, each signed by KMS and written with If-None-Match.`,
  );
  await auditlock(env, [
    'ingest',
    store,
    shown(paths.events),
    '--kms-key',
    keyAlias,
    '--origin',
    ORIGIN,
    '--max-events',
    String(MAX_EVENTS),
    '--retention-days',
    String(RETENTION_DAYS),
  ]);
  const ingestedAt = Date.now();

  heading('Verify with only the public key');
  say(
    '  Also checks every version of every key, and that each is locked (COMPLIANCE) long enough.',
  );
  await auditlock(env, [
    'verify',
    store,
    '--pubkey',
    shown(paths.publicKey),
    '--min-retention-days',
    String(RETENTION_DAYS),
  ]);

  heading('Attacker: delete a locked segment version');
  const listed = await s3.send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: objectKey(SHADOWED_SEQ) }),
  );
  const original = listed.Versions?.find((v) => v.Key === objectKey(SHADOWED_SEQ));
  check(original?.VersionId, `no version of ${objectKey(SHADOWED_SEQ)} listed`);
  say(`  DeleteObject s3://${bucket}/${objectKey(SHADOWED_SEQ)} versionId=${original.VersionId}`);
  try {
    await s3.send(
      new DeleteObjectCommand({
        Bucket: bucket,
        Key: objectKey(SHADOWED_SEQ),
        VersionId: original.VersionId,
      }),
    );
    throw new DemoFailure('S3 deleted a version under COMPLIANCE retention');
  } catch (err) {
    if (err instanceof DemoFailure) throw err;
    const status = err?.$metadata?.httpStatusCode;
    say(`    S3 refused: ${err?.name} (HTTP ${status}): ${err?.message}`);
    check(
      err?.name === 'AccessDenied' && status === 403,
      `expected AccessDenied, got ${err?.name}`,
    );
  }

  heading('Attacker: what Object Lock does not stop');
  // Versions of a key are ordered by LastModified, which S3 keeps in whole seconds: make sure the
  // forgery lands in a later second than the original (see the report on same-second ties).
  await sleep(Math.max(0, ingestedAt + 1_100 - Date.now()));
  const current = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: objectKey(SHADOWED_SEQ) }),
  );
  const bytes = Buffer.from(await current.Body.transformToByteArray());
  const change = flipOneDigit(bytes, SHADOWED_SEQ);
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: objectKey(SHADOWED_SEQ), Body: bytes }),
  );
  say(
    `  PutObject without If-None-Match on segment ${SHADOWED_SEQ}: a forged second version on top, in which event`,
  );
  say(`  ${change.id} came from ${change.after} (was ${change.before}).`);
  const seen = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: objectKey(SHADOWED_SEQ) }),
  );
  const seenBytes = Buffer.from(await seen.Body.transformToByteArray());
  check(seenBytes.equals(bytes), 'a plain GET should now return the forged version');
  say('    A plain GET of the key now returns the forged bytes.');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(HIDDEN_SEQ) }));
  say(`  DeleteObject without a version id on segment ${HIDDEN_SEQ}: a delete marker hides it.`);
  const hidden = await s3
    .send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(HIDDEN_SEQ) }))
    .then(
      () => undefined,
      (err) => err?.$metadata?.httpStatusCode,
    );
  check(hidden === 404, `HEAD of the hidden segment answered ${hidden ?? 200}, expected 404`);
  say('    A plain HEAD of the key now answers 404.');

  heading('Verify again: both are caught, and the originals still verify');
  const verifyArgs = ['verify', store, '--pubkey', shown(paths.publicKey)];
  await auditlock(env, verifyArgs, { expect: 1 });
  say('  Checking the finding codes with --json:');
  const { stdout } = await auditlock(env, [...verifyArgs, '--json'], { expect: 1, quiet: true });
  const report = JSON.parse(stdout);
  const expected = [
    ['OBJECT_SHADOWED', SHADOWED_SEQ, 'a second version on top; the original (oldest) is verified'],
    ['OBJECT_DELETE_MARKER', HIDDEN_SEQ, 'a delete marker hides it; its version is verified'],
  ];
  for (const [code, seq, meaning] of expected) {
    const found = report.findings.some((f) => f.code === code && f.seq === seq);
    say(`    ${found ? 'found  ' : 'MISSING'} ${code} at segment ${seq}: ${meaning}`);
    check(found, `expected finding ${code} at segment ${seq}`);
  }
  const others = report.findings.filter(
    (f) => !expected.some(([code, seq]) => f.code === code && f.seq === seq),
  );
  check(
    others.length === 0,
    `unexpected findings: ${others.map((f) => `${f.code}@${f.seq ?? f.key}`).join(', ')}`,
  );
  const size = report.logs[0]?.treeSize;
  check(size === 5000, `expected all 5,000 events verified, got tree size ${size}`);
  say('    Nothing else: all 5,000 events still verify from the original versions.');
}

function seconds(since) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** The SDK's Node 20 support notice is not news to a demo viewer (the CLI hides it too). */
function quietSdkNodeWarning() {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name === 'NodeVersionSupportWarning' || w.message.startsWith('NodeVersionSupportWarning'))
      return;
    for (const l of listeners) l(w);
  });
}

const started = Date.now();
let emulator;
try {
  check(existsSync(CLI), `${CLI} is missing: build first (npm run build)`);
  check(existsSync(join(ROOT, 'examples', 'events.jsonl')), 'examples/events.jsonl is missing');
  say('auditlock on S3 + KMS: demo');
  say('============================');
  say(`Output in ${shown(OUT)}/ (wiped first). Each $ command below is the real CLI.`);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  heading('Start an S3 + KMS emulator');
  emulator = await startEmulator();
  await demo(emulator);
  say();
  say(
    `Demo complete (${seconds(started)}): the log verified clean, S3 refused to delete a locked version, and the`,
  );
  say('verifier caught the shadowing version and the delete marker (exit 1) while still verifying');
  say('every event from the original versions.');
} catch (err) {
  say();
  if (err instanceof DemoFailure) say(`DEMO FAILED: ${err.message}`);
  else say(`DEMO FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await emulator?.stop();
}

function auditlock(env, args, options = {}) {
  return runCli(args, { ...options, env });
}
