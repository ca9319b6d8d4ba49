/**
 * DynamoDbKeyStore against the emulator: create-if-absent with one winner among concurrent
 * creators, strongly consistent reads, destroy only the named key id, a malformed item and a
 * missing table with codes; and SubjectKeys over it with the KMS wrapper (erasure seen at once).
 */
import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonConfig } from '../../src/adapters/aws-config.js';
import { DynamoDbKeyStore } from '../../src/adapters/dynamodb-key-store.js';
import { KmsKeyWrapper } from '../../src/adapters/kms-key-wrapper.js';
import { newKeyId, SubjectKeys } from '../../src/app/subject-keys.js';
import {
  awsTarget,
  createTestKey,
  scheduleTestKeyDeletion,
  testKmsClient,
} from '../helpers/aws.js';

const U = 'd'.repeat(64);
const key = () => ({ keyId: newKeyId(), wrapped: new Uint8Array(randomBytes(48)) });

describe.skipIf(!awsTarget().servesDynamoDb)('DynamoDbKeyStore', () => {
  const client = new DynamoDBClient(commonConfig({ maxAttempts: 2 }));
  const table = `auditlock-keys-${randomBytes(4).toString('hex')}`;
  let store: DynamoDbKeyStore;

  beforeAll(async () => {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    store = new DynamoDbKeyStore({ client, table });
  });
  afterAll(async () => {
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  });

  it('creates a key once: concurrent creators all get the winner', async () => {
    const got = await Promise.all(Array.from({ length: 6 }, () => store.createIfAbsent(U, key())));
    for (const g of got) expect(g.keyId).toBe(got[0]?.keyId);
    const read = await store.get(U);
    expect(read?.keyId).toBe(got[0]?.keyId);
    expect(Buffer.from(read?.wrapped ?? [])).toEqual(Buffer.from(got[0]?.wrapped ?? []));
  });

  it('destroys only the named key id', async () => {
    const name = 'e'.repeat(64);
    const k = await store.createIfAbsent(name, key());
    expect(await store.destroy(name, newKeyId())).toBe(false);
    expect((await store.get(name))?.keyId).toBe(k.keyId);
    expect(await store.destroy(name, k.keyId)).toBe(true);
    expect(await store.get(name)).toBeUndefined();
    expect(await store.destroy(name, k.keyId)).toBe(false);
  });

  it('refuses a malformed item, a bad name and a missing table with codes', async () => {
    const name = 'f'.repeat(64);
    await client.send(
      new PutItemCommand({ TableName: table, Item: { name: { S: name }, keyId: { S: 'x' } } }),
    );
    await expect(store.get(name)).rejects.toMatchObject({ code: 'KEY_STORE_INVALID' });
    await expect(store.get('pseudonym/../x')).rejects.toMatchObject({ code: 'KEY_NAME_INVALID' });
    const missing = new DynamoDbKeyStore({ client, table: `${table}-missing` });
    await expect(missing.get(U)).rejects.toMatchObject({
      code: 'KEY_STORE_UNAVAILABLE',
      retryable: false,
    });
  });

  it('serves SubjectKeys with a KMS wrapper: an erasure is seen by the next reader', async () => {
    const kms = testKmsClient();
    const keyArn = await createTestKey(kms, 'SYMMETRIC_DEFAULT');
    try {
      const wrapper = new KmsKeyWrapper({ client: kms, keyId: keyArn });
      const ddb = new DynamoDbKeyStore({ client, table });
      const writer = await SubjectKeys.open({ store: ddb, wrapper, create: true });
      const u = writer.pseudonymOf('alice@example.com');
      const k = await writer.sealingKey(u);
      const reader = await SubjectKeys.open({ store: ddb, wrapper });
      expect((await reader.readingKey(u))?.keyId).toBe(k.keyId);
      expect(await writer.erase(u)).toBe(k.keyId);
      const next = await SubjectKeys.open({ store: ddb, wrapper });
      expect(await next.readingKey(u)).toBeUndefined();
    } finally {
      await scheduleTestKeyDeletion(kms);
    }
  });
});
