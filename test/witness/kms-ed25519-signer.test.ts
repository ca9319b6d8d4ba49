/**
 * The KMS Ed25519 witness signer. moto (5.2.x) has no ECC_NIST_EDWARDS25519 key spec
 * (../shared/AWS-NOTES.md), so the contract part runs only with AUDITLOCK_TEST_TARGET=aws; the
 * limit checks that need no KMS at all run everywhere.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { KmsEd25519Signer } from '../../src/adapters/kms-ed25519-signer.js';
import { cosign, cosignerKey, verifyCosignature } from '../../src/core/cosignature.js';
import {
  awsTarget,
  createTestKey,
  rememberTestKey,
  scheduleTestKeyDeletion,
  testKmsClient,
} from '../helpers/aws.js';

const CHECKPOINT = 'example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

describe('KMS Ed25519 signer limits (no request made)', () => {
  // An endpoint nothing listens on: a request would fail with a network error, not these codes.
  const client = new KMSClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
  });
  const signer = new KmsEd25519Signer({ client, keyId: 'alias/none' });

  it('refuses messages over 4,096 bytes and empty ones before calling KMS', async () => {
    await expect(signer.sign(new Uint8Array(4097))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    await expect(signer.sign(new Uint8Array(0))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
  });
});

describe('KMS Ed25519 signer against the emulator (which has P-256 keys only)', () => {
  const kms = testKmsClient();
  afterAll(async () => {
    await scheduleTestKeyDeletion(kms);
  });

  it('refuses a P-256 key (before signing anything) and names a missing key', async () => {
    const signer = new KmsEd25519Signer({ client: kms, keyId: await createTestKey(kms) });
    await expect(signer.publicKey()).rejects.toMatchObject({ code: 'KEY_UNSUPPORTED' });
    await expect(signer.sign(new Uint8Array(10))).rejects.toMatchObject({
      code: 'KEY_UNSUPPORTED',
    });
    const missing = new KmsEd25519Signer({ client: kms, keyId: 'alias/auditlock-no-such-key' });
    await expect(missing.publicKey()).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  });
});

const realAws = awsTarget().kind === 'aws';

// Skipped unless AUDITLOCK_TEST_TARGET=aws: moto and LocalStack's free tier lack this key spec.
describe.skipIf(!realAws)('KMS Ed25519 signer against real AWS KMS', () => {
  const kms = realAws ? testKmsClient() : undefined;
  afterAll(async () => {
    if (kms) await scheduleTestKeyDeletion(kms);
  });

  it('cosigns with ED25519_SHA_512 / RAW; the cosignature verifies with the raw public key', async () => {
    const client = kms as KMSClient;
    const out = await client.send(
      new CreateKeyCommand({
        KeySpec: 'ECC_NIST_EDWARDS25519',
        KeyUsage: 'SIGN_VERIFY',
        Description: 'auditlock witness test',
      }),
    );
    const arn = out.KeyMetadata?.Arn as string;
    rememberTestKey(arn);
    const signer = new KmsEd25519Signer({ client, keyId: arn });
    const pub = await signer.publicKey();
    expect(pub.length).toBe(32);
    const key = cosignerKey('witness.example/kms', pub);
    const sig = await cosign(CHECKPOINT, key, signer, 1_700_000_000);
    expect(verifyCosignature(CHECKPOINT, sig, key)).toBe(true);
  });
});
