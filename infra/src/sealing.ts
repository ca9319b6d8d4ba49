/**
 * Sealed personal fields (docs/PRIVACY.md, docs/FORMAT.md §11.4), built only when `sealing` is
 * configured: the DynamoDB key store of subject keys, the KMS key that wraps them, the ingest
 * functions' sealing variables and the operator's eraser role. Grants follow what the code calls
 * (src/adapters/dynamodb-key-store.ts, kms-key-wrapper.ts, src/app/subject-keys.ts,
 * erase-subject.ts):
 * - ingest seals: GetItem (strongly consistent) and PutItem (conditional create) on the table,
 *   GenerateDataKey and Decrypt on the wrapping key. No DeleteItem: ingest cannot erase.
 * - eraser erases: GetItem and DeleteItem (conditional on the key id) on the table, Decrypt of the
 *   pseudonym key only (to compute the subject's pseudonym; it never unwraps a subject's key),
 *   and appending the erasure record to its own log (erase-subject writes it with the log's
 *   signing key, like a writer).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import {
  AccountPrincipal,
  AccountRootPrincipal,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Alias, type Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { DeploymentConfig, SealingConfig } from './config.js';
import { dataKey, type KeyUse } from './keys.js';
import type { Names } from './names.js';
import { INGEST_BUCKET_ACTIONS, INGEST_OBJECT_ACTIONS } from './roles.js';

/** The adapter's only key attribute (partition key `name`, no sort key). */
export const KEY_TABLE_PARTITION_KEY = 'name';
/** DynamoDB actions of each role on the key table (tests assert exactly these). */
export const INGEST_KEY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem'] as const;
export const ERASER_KEY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:DeleteItem'] as const;
/** The encryption context keys the KMS wrapper always sends (FORMAT.md §11.4). */
export const WRAP_CONTEXT_KEYS = ['auditlock:subject', 'auditlock:key'] as const;
/** src/core/key-store.ts PSEUDONYM_KEY_NAME: the deployment's pseudonym key's name. */
export const PSEUDONYM_KEY_NAME = 'pseudonym';

/**
 * Wrapping-key calls must carry exactly the wrapper's context keys (both present, no others);
 * with `subject`, the subject must be that name.
 */
export function wrapContextCondition(subject?: string): Record<string, unknown> {
  const [subjectKey, idKey] = WRAP_CONTEXT_KEYS;
  return {
    Null: {
      [`kms:EncryptionContext:${subjectKey}`]: 'false',
      [`kms:EncryptionContext:${idKey}`]: 'false',
    },
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [...WRAP_CONTEXT_KEYS] },
    ...(subject === undefined
      ? {}
      : { StringEquals: { [`kms:EncryptionContext:${subjectKey}`]: subject } }),
  };
}

/**
 * The operator's eraser role: assumable from the primary account (by the configured principals
 * only, when listed). Its key-store and key grants are added by {@link subjectKeyStore}; its
 * signing and archive-key grants by the primary stack, beside the ingest role's.
 */
export function eraserRole(scope: Construct, c: DeploymentConfig, n: Names): Role {
  const s = c.sealing as SealingConfig;
  const arns = s.eraser.principalArns;
  const role = new Role(scope, 'EraserRole', {
    roleName: n.eraserRole,
    assumedBy: new AccountPrincipal(c.primary.account).withConditions(
      arns.length > 0 ? { ArnEquals: { 'aws:PrincipalArn': arns } } : {},
    ),
    description:
      'auditlock eraser: destroys subject keys and appends the erasure records to its own log',
  });
  const bucketArn = n.bucketArn(n.archiveBucket);
  const logObjects = `${bucketArn}/${c.storePrefix}/${s.erasureLog}/*`;
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'AppendErasureRecordsWriteOnce',
      actions: ['s3:PutObject'],
      resources: [logObjects],
      conditions: {
        Null: { 's3:if-none-match': 'false' },
        StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' },
      },
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReadErasureLog',
      actions: [...INGEST_OBJECT_ACTIONS],
      resources: [logObjects],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ListAndCheckBucket',
      actions: [...INGEST_BUCKET_ACTIONS],
      resources: [bucketArn],
    }),
  );
  return role;
}

export type SubjectKeyStore = {
  readonly table: Table;
  readonly wrapKey: Key;
  readonly tableKey: Key;
  /** The ingest functions' sealing variables (src/lambda/config.ts). */
  readonly environment: Record<string, string>;
};

/** The key table, its encryption key and the wrapping key, with the two roles' grants. */
export function subjectKeyStore(
  scope: Construct,
  c: DeploymentConfig,
  n: Names,
  roles: { ingest: Role; eraser: Role },
): SubjectKeyStore {
  const s = c.sealing as SealingConfig;
  const { ingest, eraser } = roles;

  // One symmetric key wraps every subject's data key and the pseudonym key.
  const wrapKey = dataKey(scope, 'SubjectKeyWrapKey', 'auditlock: wraps the subject data keys', [
    {
      sid: 'IngestWrapsSubjectKeys',
      principal: ingest,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      conditions: wrapContextCondition(),
    },
    {
      sid: 'EraserUnwrapsPseudonymKey',
      principal: eraser,
      actions: ['kms:Decrypt'],
      conditions: wrapContextCondition(PSEUDONYM_KEY_NAME),
    },
  ]);
  new Alias(scope, 'SubjectKeyWrapKeyAlias', {
    aliasName: n.subjectKeyWrapAlias,
    targetKey: wrapKey,
  });
  ingest.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'WrapSubjectKeys',
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [wrapKey.keyArn],
      conditions: wrapContextCondition(),
    }),
  );
  eraser.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'UnwrapPseudonymKey',
      actions: ['kms:Decrypt'],
      resources: [wrapKey.keyArn],
      conditions: wrapContextCondition(PSEUDONYM_KEY_NAME),
    }),
  );

  // The table's own encryption at rest. DynamoDB uses it for the callers and creates a grant when
  // the table is created (Developer Guide, "Key policy for a customer managed key").
  const region = c.primary.region;
  const viaDynamoDb = {
    StringEquals: {
      'kms:ViaService': `dynamodb.${region}.amazonaws.com`,
      'kms:CallerAccount': c.primary.account,
    },
  };
  const tableUse = (sid: string, principal: Role): KeyUse => ({
    sid,
    principal,
    actions: [
      'kms:Encrypt',
      'kms:Decrypt',
      'kms:ReEncryptFrom',
      'kms:ReEncryptTo',
      'kms:GenerateDataKey',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:DescribeKey',
    ],
    conditions: viaDynamoDb,
  });
  const tableKey = dataKey(
    scope,
    'SubjectKeyTableKey',
    'auditlock: encryption at rest of the subject key table',
    [
      tableUse('IngestUsesTableViaDynamoDb', ingest),
      tableUse('EraserUsesTableViaDynamoDb', eraser),
      {
        // The deploying principal (CloudFormation) creates the table: DynamoDB's own grant.
        sid: 'TableCreationGrantViaDynamoDb',
        principal: new AccountRootPrincipal(),
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        conditions: {
          ...viaDynamoDb,
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      },
      {
        sid: 'DynamoDbDescribesKey',
        principal: new ServicePrincipal('dynamodb.amazonaws.com'),
        actions: ['kms:DescribeKey'],
      },
    ],
  );
  new Alias(scope, 'SubjectKeyTableKeyAlias', {
    aliasName: n.keyTableDataKeyAlias,
    targetKey: tableKey,
  });

  const table = new Table(scope, 'SubjectKeyTable', {
    tableName: n.keyTable,
    partitionKey: { name: KEY_TABLE_PARTITION_KEY, type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    encryption: TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: tableKey,
    deletionProtection: true,
    // PITR keeps a deleted (erased) key restorable for its window: the shortest DynamoDB allows
    // by default (docs/DEPLOY.md "Sealed fields", PRIVACY.md "Key copies").
    pointInTimeRecoverySpecification: {
      pointInTimeRecoveryEnabled: true,
      recoveryPeriodInDays: s.pitrDays,
    },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  ingest.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'SubjectKeyStoreReadCreate',
      actions: [...INGEST_KEY_TABLE_ACTIONS],
      resources: [table.tableArn],
    }),
  );
  eraser.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'SubjectKeyStoreReadDestroy',
      actions: [...ERASER_KEY_TABLE_ACTIONS],
      resources: [table.tableArn],
    }),
  );

  return {
    table,
    wrapKey,
    tableKey,
    environment: {
      AUDITLOCK_SEAL_CONFIG: JSON.stringify(s.config),
      AUDITLOCK_KEY_TABLE: n.keyTable,
      AUDITLOCK_KEY_WRAP_KMS_KEY_ID: wrapKey.keyArn,
    },
  };
}
