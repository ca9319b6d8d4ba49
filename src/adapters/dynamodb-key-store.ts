/**
 * {@link KeyStore} in a DynamoDB table: the production key store of sealed fields (docs/PRIVACY.md).
 * Mutable by design: erasure deletes items. Only wrapped keys are stored.
 *
 * Table: partition key `name` (string), no sort key. Item: `name`, `keyId` (string), `wrapped`
 * (binary), `v` (number, 1). Reads are strongly consistent, so an erasure is seen by the next
 * read. Creation is a conditional put (`attribute_not_exists(name)`): of concurrent creators one
 * wins and the others read its key. Destruction is a conditional delete on the key id, so a newer
 * key created meanwhile is never deleted.
 *
 * What a deleted item leaves behind is the table's backups: point-in-time recovery keeps it
 * restorable for its window (up to 35 days), on-demand backups until they are deleted, and
 * global-table replicas until the delete replicates. PRIVACY.md says how to schedule them.
 *
 * AWS API reference: DynamoDB GetItem (`ConsistentRead`), PutItem and DeleteItem
 * (`ConditionExpression`, `ConditionalCheckFailedException`, `ReturnValues: ALL_OLD`).
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { StorageError } from '../core/errors.js';
import { KEY_NAME, type KeyStore, type WrappedKey } from '../core/key-store.js';
import { KEY_ID } from '../core/sealed-entry.js';
import { awsErrorFacts, isTransientAwsError } from './aws-config.js';
import type { KeyStoreErrorCode } from './folder-key-store.js';

export class DynamoDbKeyStore implements KeyStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(options: { client: DynamoDBClient; table: string }) {
    this.#client = options.client;
    this.#table = options.table;
  }

  get location(): string {
    return `dynamodb:${this.#table}`;
  }

  async get(name: string): Promise<WrappedKey | undefined> {
    checkName(name);
    let item: Item | undefined;
    try {
      const out = await this.#client.send(
        new GetItemCommand({
          TableName: this.#table,
          Key: { name: { S: name } },
          ConsistentRead: true,
        }),
      );
      item = out.Item;
    } catch (err) {
      throw this.#classify(err, 'GetItem', name);
    }
    return item ? parseItem(item, name, this.location) : undefined;
  }

  async createIfAbsent(name: string, key: WrappedKey): Promise<WrappedKey> {
    checkName(name);
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            name: { S: name },
            keyId: { S: key.keyId },
            wrapped: { B: key.wrapped },
            v: { N: '1' },
          },
          ConditionExpression: 'attribute_not_exists(#n)',
          ExpressionAttributeNames: { '#n': 'name' },
        }),
      );
      return key;
    } catch (err) {
      if (awsErrorFacts(err).name !== 'ConditionalCheckFailedException')
        throw this.#classify(err, 'PutItem', name);
    }
    const existing = await this.get(name);
    if (existing) return existing;
    // Destroyed between the failed put and the read: the caller may retry.
    throw new StorageError<KeyStoreErrorCode>(
      'KEY_STORE_UNAVAILABLE',
      `${this.location}: key ${name} changed while it was being created; retry`,
      { retryable: true },
    );
  }

  async destroy(name: string, keyId: string): Promise<boolean> {
    checkName(name);
    try {
      const out = await this.#client.send(
        new DeleteItemCommand({
          TableName: this.#table,
          Key: { name: { S: name } },
          ConditionExpression: 'keyId = :k',
          ExpressionAttributeValues: { ':k': { S: keyId } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes !== undefined;
    } catch (err) {
      if (awsErrorFacts(err).name === 'ConditionalCheckFailedException') return false;
      throw this.#classify(err, 'DeleteItem', name);
    }
  }

  #classify(err: unknown, action: string, name: string): StorageError<KeyStoreErrorCode> {
    const { name: errName } = awsErrorFacts(err);
    return new StorageError<KeyStoreErrorCode>(
      'KEY_STORE_UNAVAILABLE',
      `${this.location}: dynamodb:${action} for key ${name} failed: ${errName || String(err)}`,
      { retryable: isTransientAwsError(err), cause: err },
    );
  }
}

function checkName(name: string): void {
  if (!KEY_NAME.test(name))
    throw new StorageError<KeyStoreErrorCode>(
      'KEY_NAME_INVALID',
      `expected a key name "pseudonym" or 64 hex digits, got ${JSON.stringify(name.slice(0, 80))}`,
      { retryable: false },
    );
}

type Item = Record<string, { S?: string; B?: Uint8Array; N?: string }>;

function parseItem(item: Item, name: string, location: string): WrappedKey {
  const keyId = item.keyId?.S;
  const wrapped = item.wrapped?.B;
  if (item.v?.N !== '1' || keyId === undefined || !KEY_ID.test(keyId) || wrapped === undefined)
    throw new StorageError<KeyStoreErrorCode>(
      'KEY_STORE_INVALID',
      `${location}: item ${name} is not a key item {name, keyId, wrapped, v: 1}`,
      { retryable: false },
    );
  return { keyId, wrapped };
}
