/**
 * The CLI's sealed-field options (docs/FORMAT.md §11, docs/PRIVACY.md): `--keys DIR|dynamodb:TABLE`
 * (a folder key store, or a DynamoDB table with partition key `name`), `--wrap-key FILE|kms:KEY` (the key-encryption key: a local key file, or an AWS KMS key
 * id, alias or ARN), and for writers `--seal CONFIG` (the sealing configuration).
 *
 * The key stores, subject keys and the configuration's parser are loaded only when an option
 * needs them: they reach zod (sealed-entry and sealed-config schemas), which is ~40 ms of the
 * start-up of every `verify` and `ingest` run that gives none of these options (issue 14).
 */
import { readFile } from 'node:fs/promises';
import { LocalKeyWrapper } from '../adapters/local-key-wrapper.js';
import type { SubjectKeys } from '../app/subject-keys.js';
import { ConfigurationError } from '../core/errors.js';
import type { KeyStore, KeyWrapper } from '../core/key-store.js';
import type { SealConfig } from '../core/sealed-config.js';
import { type OptionSpec, type Parsed, stringOption } from './args.js';
import { UsageError } from './cli-error.js';

export const KEY_OPTIONS: Record<string, OptionSpec> = {
  keys: {
    type: 'string',
    value: 'DIR',
    help: 'key store of sealed fields: a folder made by keys-init, or dynamodb:<table>',
  },
  'wrap-key': {
    type: 'string',
    value: 'FILE|kms:KEY',
    help: "the key store's wrapping key: a local key file, or kms:<KMS key id, alias or ARN>",
  },
};

export const SEAL_OPTION: Record<string, OptionSpec> = {
  seal: {
    type: 'string',
    value: 'CONFIG',
    help: 'seal the personal fields this JSON file names (FORMAT.md §11.3); needs --keys, --wrap-key',
  },
};

/** The wrapper `spec` names. */
export async function openWrapper(spec: string): Promise<KeyWrapper> {
  if (spec.startsWith('kms:')) {
    const keyId = spec.slice(4);
    if (!keyId) throw new UsageError('--wrap-key kms: needs a KMS key id, alias or ARN');
    // Loaded only when used: the AWS SDK stays out of local runs.
    const [{ createKmsClient }, { KmsKeyWrapper }] = await Promise.all([
      import('../adapters/aws-config.js'),
      import('../adapters/kms-key-wrapper.js'),
    ]);
    return new KmsKeyWrapper({ client: createKmsClient(), keyId });
  }
  return LocalKeyWrapper.fromFile(spec);
}

/**
 * The subject keys `--keys`/`--wrap-key` name, or undefined when neither is given.
 * @throws UsageError for one without the other; StorageError `KEY_STORE_UNAVAILABLE`,
 *   `PSEUDONYM_KEY_MISSING`; ConfigurationError `WRAP_KEY_INVALID`
 */
export async function subjectKeysOf(p: Parsed, command: string): Promise<SubjectKeys | undefined> {
  const dir = stringOption(p, 'keys');
  const wrap = stringOption(p, 'wrap-key');
  if (dir === undefined && wrap === undefined) return undefined;
  if (dir === undefined || wrap === undefined)
    throw new UsageError(`${command}: --keys and --wrap-key go together`);
  const store = await openKeyStore(dir);
  const wrapper = await openWrapper(wrap);
  const { SubjectKeys } = await import('../app/subject-keys.js');
  return SubjectKeys.open({ store, wrapper });
}

/** The key store `spec` names: `dynamodb:<table>`, or a folder (which must exist). */
export async function openKeyStore(
  spec: string,
  options: { create?: boolean } = {},
): Promise<KeyStore> {
  if (spec.startsWith('dynamodb:')) {
    const table = spec.slice('dynamodb:'.length);
    if (!table) throw new UsageError('--keys dynamodb: needs a table name');
    const [{ commonConfig }, { DynamoDbKeyStore }, { DynamoDBClient }] = await Promise.all([
      import('../adapters/aws-config.js'),
      import('../adapters/dynamodb-key-store.js'),
      import('@aws-sdk/client-dynamodb'),
    ]);
    return new DynamoDbKeyStore({ client: new DynamoDBClient(commonConfig({})), table });
  }
  const { FolderKeyStore } = await import('../adapters/folder-key-store.js');
  return options.create ? FolderKeyStore.create(spec) : FolderKeyStore.open(spec);
}

/**
 * Reads a sealing configuration file.
 * @throws ConfigurationError `SEAL_CONFIG_UNREADABLE`; InputError `SEAL_CONFIG_INVALID`, `SEAL_PATH_INVALID`
 */
export async function loadSealConfig(path: string): Promise<SealConfig> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new ConfigurationError(
      'SEAL_CONFIG_UNREADABLE',
      `cannot read the sealing configuration ${path} as JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  const { parseSealConfig } = await import('../core/sealed-config.js');
  return parseSealConfig(value);
}
