/**
 * Rotating the signing key mid-log, end to end with the real built CLI on S3 + KMS (the emulator):
 * bootstrap a bucket and key 1, ingest, create key 2 and move the alias to it (what the CDK stack
 * does on a new generation, docs/DEPLOY.md), ingest more under the same alias, pull the whole log
 * into a bundle, verify the bundle with no endpoint and no credentials, and write and check a
 * receipt on each side of the switch. A trusted key set without the new key reports its segments
 * as untrusted, and one whose window for the old key ends too early reports the old segments as
 * signed outside their window.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateKeyCommand, UpdateAliasCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  rememberTestKey,
  scheduleTestKeyDeletion,
  TEST_RETENTION_DAYS,
  testKmsClient,
  uniqueBucketName,
  uniqueKeyAlias,
} from '../helpers/aws.js';
import {
  EVENTS_FILE,
  OFFLINE_ENV,
  parseJsonOutput,
  readLines,
  runCli,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs('auditlock-rotation-');
const ORIGIN = 'test.auditlock.local/rotation';

type Finding = { code: string; seq?: number };
type VerifyJson = {
  ok: boolean;
  findings: Finding[];
  logs: { treeSize: number; segments: number; firstSeq: number; lastSeq: number }[];
};

describe('key rotation mid-log: ingest, pull, offline verify, receipts', () => {
  const kms = testKmsClient();
  const bucket = uniqueBucketName('rotation');
  const alias = uniqueKeyAlias('rotation');
  const store = `s3://${bucket}/prod`;
  let dir: string;
  let ids: string[];
  let rotation: string;

  beforeAll(async () => {
    dir = await tempDir();
    ids = (await readLines(EVENTS_FILE)).map((l) => (JSON.parse(l) as { id: string }).id);
  });
  afterAll(async () => {
    await scheduleTestKeyDeletion(kms);
  });

  const ingest = async (file: string, trust: string[]) => {
    const r = await runCli([
      'ingest',
      store,
      file,
      '--kms-key',
      alias,
      '--origin',
      ORIGIN,
      '--max-events',
      '500',
      '--retention-days',
      String(TEST_RETENTION_DAYS),
      ...trust,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    return parseJsonOutput<{ archived: number; treeSize: number; segments: number }>(r);
  };

  it('rotates between two ingests; the pulled bundle verifies offline and receipts on both sides check', async () => {
    // Prepare: key 1, and 2,000 events signed by it
    const lines = await readLines(EVENTS_FILE);
    const before = join(dir, 'before.jsonl');
    const after = join(dir, 'after.jsonl');
    await writeFile(before, `${lines.slice(0, 2000).join('\n')}\n`);
    await writeFile(after, `${lines.slice(2000).join('\n')}\n`);
    const oldPem = join(dir, 'old.pub.pem');
    const boot = await runCli([
      'bootstrap',
      '--bucket',
      bucket,
      '--key-alias',
      alias,
      '--retention-days',
      String(TEST_RETENTION_DAYS),
      '--pubkey-out',
      oldPem,
      '--json',
    ]);
    expect(boot.code, boot.stderr).toBe(0);
    rememberTestKey(parseJsonOutput<{ keyArn: string }>(boot).keyArn);
    expect(await ingest(before, [])).toMatchObject({ archived: 2000, treeSize: 2000 });

    // Act: rotate. A new key, the alias moved to it; its public key exported through the alias
    const created = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    const newArn = created.KeyMetadata?.Arn as string;
    rememberTestKey(newArn);
    rotation = new Date().toISOString();
    await kms.send(
      new UpdateAliasCommand({ AliasName: alias, TargetKeyId: created.KeyMetadata?.KeyId }),
    );
    const exported = await runCli(['pubkey', '--kms-key', alias]);
    expect(exported.code, exported.stderr).toBe(0);
    const newPem = join(dir, 'new.pub.pem');
    await writeFile(
      newPem,
      `${exported.stdout.split('-----END PUBLIC KEY-----\n')[0]}-----END PUBLIC KEY-----\n`,
    );
    const keys = join(dir, 'keys.json');
    await writeFile(
      keys,
      JSON.stringify({
        keys: [
          { publicKey: oldPem, notAfter: rotation },
          { publicKey: newPem, notBefore: rotation },
        ],
      }),
    );

    // Act: the writer, now signing with key 2, extends the head key 1 signed only when told to
    const refused = await runCli([
      'ingest',
      store,
      after,
      '--kms-key',
      alias,
      '--origin',
      ORIGIN,
      '--retention-days',
      String(TEST_RETENTION_DAYS),
    ]);
    const ingested = await ingest(after, ['--trusted-keys', keys]);

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/SEGMENT_UNTRUSTED/);
    expect(ingested).toMatchObject({ archived: 3000, treeSize: 5000 });

    // Act: pull everything, then verify the bundle as an auditor offline
    const bundle = join(dir, 'bundle');
    const pulled = await runCli(['pull', store, '--out', bundle, '--trusted-keys', keys, '--json']);
    expect(pulled.code, pulled.stderr).toBe(0);
    const offline = await runCli(['verify', bundle, '--bundle', '--trusted-keys', keys, '--json'], {
      env: OFFLINE_ENV,
    });

    // Assess
    const v = parseJsonOutput<VerifyJson>(offline);
    expect(offline.code, offline.stderr).toBe(0);
    expect(v).toMatchObject({ ok: true, findings: [] });
    expect(v.logs).toMatchObject([{ treeSize: 5000, segments: 10, firstSeq: 0, lastSeq: 9 }]);

    // Act: a receipt on each side of the switch, from the bundle, checked offline
    for (const index of [1500, 3500]) {
      const file = join(dir, `receipt-${index}.tlog-proof`);
      const made = await runCli(
        ['receipt', bundle, ids[index] as string, '--trusted-keys', keys, '--out', file],
        { env: OFFLINE_ENV },
      );
      expect(made.code, made.stderr).toBe(0);
      const checked = await runCli(['verify-receipt', file, '--trusted-keys', keys, '--json'], {
        env: OFFLINE_ENV,
      });
      expect(checked.code, checked.stderr).toBe(0);
      expect(parseJsonOutput(checked)).toMatchObject({
        valid: true,
        index,
        entry: { event: { id: ids[index] } },
      });
      // Each receipt needs its own side's key: the other key alone refuses it.
      const wrong = await runCli(
        ['verify-receipt', file, '--pubkey', index < 2000 ? newPem : oldPem, '--json'],
        { env: OFFLINE_ENV },
      );
      expect(wrong.code).toBe(1);
      expect(parseJsonOutput(wrong)).toMatchObject({ valid: false, code: 'SIGNATURE_UNTRUSTED' });
    }
  });

  it('an unknown key and a key outside its window have their own findings', async () => {
    // Prepare: the bundle of the first test
    const bundle = join(dir, 'bundle');
    const oldPem = join(dir, 'old.pub.pem');
    const newPem = join(dir, 'new.pub.pem');
    const early = join(dir, 'early.json');
    const firstSeal = new Date(Date.parse(rotation) - 3_600_000).toISOString();
    await writeFile(
      early,
      JSON.stringify({
        keys: [
          { publicKey: oldPem, notAfter: firstSeal },
          { publicKey: newPem, notBefore: rotation },
        ],
      }),
    );

    // Act
    const unknown = await runCli(['verify', bundle, '--bundle', '--pubkey', oldPem, '--json'], {
      env: OFFLINE_ENV,
    });
    const expired = await runCli(
      ['verify', bundle, '--bundle', '--trusted-keys', early, '--json'],
      {
        env: OFFLINE_ENV,
      },
    );

    // Assess: segments 0..3 hold events 0..1999 (key 1), 4..9 the rest (key 2)
    expect(unknown.code).toBe(1);
    const untrusted = parseJsonOutput<VerifyJson>(unknown).findings;
    expect(untrusted.filter((f) => f.code === 'SIGNATURE_UNTRUSTED').map((f) => f.seq)).toEqual([
      4, 5, 6, 7, 8, 9,
    ]);
    expect(expired.code).toBe(1);
    const outside = parseJsonOutput<VerifyJson>(expired).findings;
    expect(
      outside.filter((f) => f.code === 'KEY_NOT_VALID_AT_SEAL_TIME').map((f) => f.seq),
    ).toEqual([0, 1, 2, 3]);
  });
});
