/**
 * KmsKeyWrapper against the emulator: GenerateDataKey and Decrypt with the encryption context, a
 * wrapped key refused under another context, an unreachable KMS retryable; and a whole erasure
 * with a folder key store wrapped by KMS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsClient } from '../../src/adapters/aws-config.js';
import { FolderKeyStore } from '../../src/adapters/folder-key-store.js';
import { KmsKeyWrapper } from '../../src/adapters/kms-key-wrapper.js';
import { newKeyId, SubjectKeys } from '../../src/app/subject-keys.js';
import { createTestKey, scheduleTestKeyDeletion, testKmsClient } from '../helpers/aws.js';

describe('KmsKeyWrapper', () => {
  const kms = testKmsClient();
  let keyArn: string;
  let dir: string;

  beforeAll(async () => {
    keyArn = await createTestKey(kms, 'SYMMETRIC_DEFAULT');
    dir = await mkdtemp(join(tmpdir(), 'auditlock-kms-keys-'));
  });
  afterAll(async () => {
    await scheduleTestKeyDeletion(kms);
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a 32-byte key and unwraps it only under its own context', async () => {
    const w = new KmsKeyWrapper({ client: kms, keyId: keyArn });
    const ctx = { name: 'c'.repeat(64), keyId: newKeyId() };
    const { plaintext, wrapped } = await w.generate(ctx);
    expect(plaintext.length).toBe(32);
    expect(Buffer.from(wrapped).includes(Buffer.from(plaintext))).toBe(false);
    expect(Buffer.from(await w.unwrap(wrapped, ctx))).toEqual(Buffer.from(plaintext));
    await expect(w.unwrap(wrapped, { ...ctx, keyId: newKeyId() })).rejects.toMatchObject({
      code: 'KEY_UNWRAP_FAILED',
      retryable: false,
    });
  });

  it('reports an unreachable KMS as retryable', async () => {
    // Credentials come from the environment the suite sets for the emulator.
    const dead = createKmsClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      maxAttempts: 1,
    });
    const w = new KmsKeyWrapper({ client: dead, keyId: keyArn });
    await expect(w.generate({ name: 'pseudonym', keyId: newKeyId() })).rejects.toMatchObject({
      code: 'KMS_UNAVAILABLE',
      retryable: true,
    });
  });

  it('serves SubjectKeys: seal key created, read back by a new instance, erased', async () => {
    const store = await FolderKeyStore.create(join(dir, 'keys'));
    const wrapper = new KmsKeyWrapper({ client: kms, keyId: keyArn });
    const keys = await SubjectKeys.open({ store, wrapper, create: true });
    const u = keys.pseudonymOf('alice@example.com');
    const k = await keys.sealingKey(u);
    const reader = await SubjectKeys.open({ store, wrapper });
    expect(await reader.readingKey(u)).toEqual(k);
    expect(await keys.erase(u)).toBe(k.keyId);
    const later = await SubjectKeys.open({ store, wrapper });
    expect(await later.readingKey(u)).toBeUndefined();
  });
});
