/**
 * The deployment configuration: one typed, validated object from which every stack is built.
 * Invalid input fails synthesis with an {@link InfraConfigError} naming every bad field, so a
 * wrong account id or origin is caught before anything reaches CloudFormation.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { isValidOrigin, MAX_ORIGIN_BYTES } from './origin.js';

/** src/core/layout.ts LOG_NAME_RE: a log name is also an S3 key segment. */
const LOG_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const ACCOUNT_RE = /^[0-9]{12}$/;
// Commercial, GovCloud and China partitions' region names, e.g. eu-central-1, us-gov-west-1.
const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$/;
const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/;
const KMS_KEY_ARN_RE = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/mrk-[0-9a-f]{32}$/;
/** CloudWatch alarms evaluate at most one day of periods: two schedule periods must fit. */
const MAX_RATE_MINUTES = 720;
/** Deployment name: a prefix of every bucket, role and alias name (bucket names <= 63 bytes). */
const NAME_RE = /^[a-z][a-z0-9-]{1,18}[a-z0-9]$/;

const account = z.string().regex(ACCOUNT_RE, 'must be a 12-digit AWS account id');
const region = z.string().regex(REGION_RE, 'must be an AWS region name such as eu-central-1');
const logName = z.string().regex(LOG_NAME_RE, 'must match [a-z0-9][a-z0-9._-]{0,62}');

const sqsSource = z.strictObject({
  type: z.literal('sqs'),
  log: logName,
  fifo: z.boolean().default(false),
  batchSize: z.number().int().min(1).max(10_000).default(100),
  /** ScalingConfig.MaximumConcurrency: writers per log contend (docs/LAMBDA.md). */
  maxConcurrency: z.number().int().min(2).max(1000).default(2),
  /**
   * MaximumBatchingWindowInSeconds (standard queues): each invocation stores at least one segment
   * (one PUT, one Sign), so a longer window makes fewer, larger segments at low volume.
   */
  maxBatchingWindowSeconds: z.number().int().min(0).max(300).default(5),
});
const kinesisSource = z.strictObject({
  type: z.literal('kinesis'),
  log: logName,
  shards: z.number().int().min(1).max(500).default(1),
  batchSize: z.number().int().min(1).max(10_000).default(100),
});
const eventBridgeSource = z.strictObject({
  type: z.literal('eventbridge'),
  log: logName,
  eventBusName: z.string().min(1).max(256).default('default'),
  /** EventBridge `source` values the rule matches (at least one: no catch-all rule). */
  sources: z.array(z.string().min(1).max(256)).min(1),
});
const logsSource = z.strictObject({
  type: z.literal('cloudwatch-logs'),
  log: logName,
  logGroupNames: z.array(z.string().regex(/^[\w#/.-]{1,512}$/)).min(1),
  filterPattern: z.string().max(1024).default(''),
});
/**
 * The sealing configuration the ingest functions get as AUDITLOCK_SEAL_CONFIG (docs/FORMAT.md
 * §11.3). Its shape is checked here; the paths' rules (§11.1) are checked by the function at its
 * first invocation, as the CLI checks them (`auditlock ingest --seal`).
 */
const sealFieldPath = z.string().min(1).max(2048);
const sealConfig = z.strictObject({
  v: z.literal(1),
  subject: sealFieldPath.optional(),
  fields: z
    .array(z.strictObject({ path: sealFieldPath, subject: sealFieldPath.optional() }))
    .min(1)
    .max(64),
});
/** Lambda's environment holds 4 KiB in all: the sealing configuration gets at most half. */
export const MAX_SEAL_CONFIG_BYTES = 2048;

/** An S3 bucket name (S3 User Guide, "Bucket naming rules"), without dots for TLS. */
const BUCKET_NAME_RE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/**
 * Key prefix of the export: `/`-separated parts of URL-safe characters, no `*` or `?` (the role's
 * resource ARNs are built from it and must not gain a wildcard); empty for the bucket's root.
 */
const EXPORT_PREFIX_RE = /^([A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*)?$/;
/** src/lambda/export-config.ts AUDITLOCK_EXPORT_STATE_NAME (no `*` or `?` either). */
const EXPORT_STATE_NAME_RE = /^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,255}$/;
const ANY_KMS_KEY_ARN_RE = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/(mrk-)?[0-9a-f-]{32,36}$/;
/** The OCSF mapping travels in the Lambda environment (4 KiB in all): at most half of it. */
export const MAX_OCSF_MAPPING_BYTES = 2048;

/**
 * The scheduled OCSF export (src/lambda/handlers/export.ts, docs/DEPLOY.md "OCSF export"). Off
 * when absent. Its fields become the handler's AUDITLOCK_* variables (src/lambda/export-config.ts).
 */
const exportSection = z.strictObject({
  /** EventBridge Scheduler `rate(<n> minutes)`; two periods must fit a one-day alarm window. */
  rateMinutes: z.number().int().min(5).max(MAX_RATE_MINUTES).default(60),
  format: z.enum(['jsonl', 'parquet']).default('parquet'),
  /** Only these logs (AUDITLOCK_LOGS); empty: every log of the store. */
  logs: z.array(logName).default([]),
  /** AUDITLOCK_EXPORT_PREFIX: files and the state go under it. */
  prefix: z.string().max(256).regex(EXPORT_PREFIX_RE).default('ocsf'),
  stateName: z.string().regex(EXPORT_STATE_NAME_RE).default('.auditlock-export-state.json'),
  /** An existing bucket to export into (e.g. a Security Lake custom source's); default: one of ours. */
  bucketName: z.string().regex(BUCKET_NAME_RE).optional(),
  /** The existing bucket's SSE-KMS key, when it has one (the role gets GenerateDataKey/Decrypt via S3). */
  bucketKeyArn: z.string().regex(ANY_KMS_KEY_ARN_RE).optional(),
  /** Roles (primary account) that may decrypt the exports in the bucket we create. */
  readerRoleArns: z.array(z.string().regex(ROLE_ARN_RE)).default([]),
  /** Our bucket only: current versions expire after this many days (unset: kept). */
  expireDays: z.number().int().min(1).max(36_500).optional(),
  /** A mapping file's JSON object (docs/OCSF.md §3), checked by the function at its first run. */
  mapping: z.record(z.string(), z.unknown()).optional(),
  rowsPerFile: z.number().int().min(1).max(10_000_000).default(100_000),
  memoryMb: z.number().int().min(256).max(10_240).default(2048),
  timeoutSeconds: z.number().int().min(60).max(900).default(900),
  /** AUDITLOCK_TIME_RESERVE_MS: time kept to put the files and the state after the last segment. */
  timeReserveSeconds: z.number().int().min(10).max(450).default(60),
});

const source = z.discriminatedUnion('type', [
  sqsSource,
  kinesisSource,
  eventBridgeSource,
  logsSource,
]);

const witness = z.strictObject({
  name: z.string().min(1).max(64),
  url: z.url({ protocol: /^https$/ }),
  /** The witness's verifier key (vkey line): `<name>+<key id hex>+<base64 key>`. */
  vkey: z.string().regex(/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}$/),
});

const schema = z
  .strictObject({
    name: z.string().regex(NAME_RE, 'must be 3-20 characters of [a-z0-9-], starting with a letter'),
    primary: z.strictObject({ account, region }),
    replica: z.strictObject({
      account,
      region,
      /**
       * The primary signing key's ARN (a stack output, known after the primary's first deploy):
       * when set, the replica stack adds a multi-Region replica of it (GetPublicKey only).
       */
      signingKeyArn: z.string().regex(KMS_KEY_ARN_RE).optional(),
    }),
    /** COMPLIANCE retention of every segment, in days (the bucket default and the writers'). */
    retentionDays: z.number().int().min(1).max(36_500),
    /** Key prefix of the store inside the archive bucket: `s3://bucket/<prefix>/`. */
    storePrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/)
      .default('audit'),
    /** Each log's checkpoint origin is `<originPrefix>/<log>`. */
    originPrefix: z.string().refine(isValidOrigin, {
      message: `must be 1-${MAX_ORIGIN_BYTES} UTF-8 bytes with no whitespace, no '+' and no control characters`,
    }),
    ingest: z.array(source).min(1),
    /** How often the scheduled verifier runs (EventBridge Scheduler `rate(<n> minutes)`). */
    schedule: z
      .strictObject({ rateMinutes: z.number().int().min(5).max(MAX_RATE_MINUTES) })
      .default({ rateMinutes: 60 }),
    /** The scheduled verifier and witness in the replica Region (docs/DEPLOY.md "Verifier"). */
    verifier: z
      .strictObject({
        memoryMb: z.number().int().min(256).max(10_240).default(1024),
        timeoutSeconds: z.number().int().min(60).max(900).default(600),
        /** COMPLIANCE default retention of the state bucket (default: retentionDays). */
        stateRetentionDays: z.number().int().min(1).max(36_500).optional(),
        /**
         * The witness's signed-note key name (default `<originPrefix>/witness/verifier`: a log
         * name has no `/`, so it can never equal a log's origin `<originPrefix>/<log>`).
         */
        witnessName: z
          .string()
          .refine(isValidOrigin, {
            message: `must be 1-${MAX_ORIGIN_BYTES} UTF-8 bytes with no whitespace, no '+' and no control characters`,
          })
          .optional(),
        /** Alarm when the newest cosigned head is older than this many schedule periods. */
        staleHeadPeriods: z.number().int().min(2).max(24).default(3),
        /**
         * Primary ARNs of retired signing-key generations the verifier still trusts
         * (GetPublicKey in the primary Region), besides the current key.
         */
        retiredSigningKeyArns: z.array(z.string().regex(KMS_KEY_ARN_RE)).default([]),
      })
      .default({
        memoryMb: 1024,
        timeoutSeconds: 600,
        staleHeadPeriods: 3,
        retiredSigningKeyArns: [],
      }),
    alarmEmail: z.email(),
    witnesses: z.array(witness).default([]),
    /** The one role exempt from the bucket policy's legal-hold deny. */
    legalHoldRoleArn: z.string().regex(ROLE_ARN_RE).optional(),
    auditor: z
      .strictObject({
        /** Accounts whose principals may assume the auditor role (default: the primary account). */
        trustedAccounts: z.array(account).default([]),
        /** Required for assumption when set (confused-deputy protection for a third party). */
        externalId: z
          .string()
          .regex(/^[\w+=,.@:/-]{2,1224}$/)
          .optional(),
      })
      .default({ trustedAccounts: [] }),
    signingKey: z
      .strictObject({
        /** Bump to rotate: a new key takes the alias and kms:Sign; see docs/DEPLOY.md. */
        generation: z.number().int().min(1).max(99).default(1),
        /** Earlier generations kept for GetPublicKey only. */
        retiredGenerations: z.array(z.number().int().min(1).max(99)).default([]),
      })
      .default({ generation: 1, retiredGenerations: [] }),
    /**
     * Whether the writer's PutObject with lock headers needs s3:PutObjectRetention on this
     * account (docs/AWS.md "to confirm on a real account"). When true the ingest role alone is
     * exempt from the retention deny and may set COMPLIANCE retention of at most retentionDays+1.
     */
    ingestNeedsPutObjectRetention: z.boolean().default(false),
    /**
     * Sealed personal fields (docs/PRIVACY.md): a DynamoDB key table, a KMS key wrapping its
     * keys, the ingest functions' sealing variables and the eraser role. Off when absent.
     */
    sealing: z
      .strictObject({
        /** The sealing configuration (bin/app.ts also accepts a path to its JSON file). */
        config: sealConfig,
        /** The log erase-subject records erasures in (the eraser role may append to it only). */
        erasureLog: logName.default('privacy'),
        /**
         * Point-in-time recovery window of the key table, in days: an erased key stays
         * restorable this long (DynamoDB allows 1-35).
         */
        pitrDays: z.number().int().min(1).max(35).default(1),
        eraser: z
          .strictObject({
            /** Principals of the primary account that may assume the eraser role (default: any the account allows). */
            principalArns: z.array(z.string().regex(ROLE_ARN_RE)).default([]),
          })
          .default({ principalArns: [] }),
      })
      .optional(),
    /** The scheduled OCSF export in the primary Region (docs/DEPLOY.md "OCSF export"). */
    export: exportSection.optional(),
    lambda: z
      .strictObject({
        memoryMb: z.number().int().min(256).max(10_240).default(1024),
        timeoutSeconds: z.number().int().min(30).max(900).default(120),
        logRetentionDays: z.number().int().min(1).max(3653).default(365),
      })
      .default({ memoryMb: 1024, timeoutSeconds: 120, logRetentionDays: 365 }),
  })
  .superRefine((c, ctx) => {
    if (c.primary.region === c.replica.region)
      ctx.addIssue({
        code: 'custom',
        path: ['replica', 'region'],
        message: 'must differ from primary.region',
      });
    const seen = new Set<string>();
    c.ingest.forEach((s, i) => {
      if (seen.has(s.log))
        ctx.addIssue({
          code: 'custom',
          path: ['ingest', i, 'log'],
          message: `log ${s.log} is used twice`,
        });
      seen.add(s.log);
      if (!isValidOrigin(`${c.originPrefix}/${s.log}`))
        ctx.addIssue({
          code: 'custom',
          path: ['ingest', i, 'log'],
          message: `origin ${c.originPrefix}/${s.log} is longer than ${MAX_ORIGIN_BYTES} bytes`,
        });
    });
    const { generation, retiredGenerations } = c.signingKey;
    retiredGenerations.forEach((g, i) => {
      if (g >= generation || retiredGenerations.indexOf(g) !== i)
        ctx.addIssue({
          code: 'custom',
          path: ['signingKey', 'retiredGenerations', i],
          message: 'must be distinct and below signingKey.generation',
        });
    });
    const witnessName = c.verifier.witnessName;
    if (
      witnessName !== undefined &&
      c.ingest.some((s) => witnessName === `${c.originPrefix}/${s.log}`)
    )
      ctx.addIssue({
        code: 'custom',
        path: ['verifier', 'witnessName'],
        message: "must differ from every log's origin",
      });
    if (witnessName === undefined && !isValidOrigin(`${c.originPrefix}/witness/verifier`))
      ctx.addIssue({
        code: 'custom',
        path: ['originPrefix'],
        message: `the default witness name ${c.originPrefix}/witness/verifier is longer than ${MAX_ORIGIN_BYTES} bytes: set verifier.witnessName`,
      });
    if (c.export !== undefined) checkExport(c as DeploymentConfig, ctx);
    if (c.sealing !== undefined) checkSealing(c as DeploymentConfig, ctx);
    if (c.lambda.timeoutSeconds * 6 > 43_200)
      ctx.addIssue({
        code: 'custom',
        path: ['lambda', 'timeoutSeconds'],
        message: 'x6 exceeds the 12 h SQS visibility limit',
      });
  });

export type DeploymentConfig = z.infer<typeof schema>;
export type SealingConfig = NonNullable<DeploymentConfig['sealing']>;
export type ExportConfig = NonNullable<DeploymentConfig['export']>;

/** Cross-field rules of the `sealing` block. */
function checkSealing(c: DeploymentConfig, ctx: z.RefinementCtx): void {
  const s = c.sealing as SealingConfig;
  s.config.fields.forEach((f, i) => {
    if (f.subject === undefined && s.config.subject === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['sealing', 'config', 'fields', i],
        message: 'needs a subject path (its own or the top-level "subject")',
      });
  });
  if (Buffer.byteLength(JSON.stringify(s.config)) > MAX_SEAL_CONFIG_BYTES)
    ctx.addIssue({
      code: 'custom',
      path: ['sealing', 'config'],
      message: `is longer than ${MAX_SEAL_CONFIG_BYTES} bytes as JSON (it travels in the Lambda environment)`,
    });
  // Ingest logs write `<log>` and their lanes `<log>.<lane>`: the erasure log must be none of them.
  if (c.ingest.some((i) => s.erasureLog === i.log || s.erasureLog.startsWith(`${i.log}.`)))
    ctx.addIssue({
      code: 'custom',
      path: ['sealing', 'erasureLog'],
      message: 'must differ from every ingest log and its lanes (<log>.<lane>)',
    });
  if (c.ingestNeedsPutObjectRetention)
    ctx.addIssue({
      code: 'custom',
      path: ['sealing'],
      message:
        'cannot be combined with ingestNeedsPutObjectRetention yet: the bucket policy exempts only the ingest role from the retention deny, so the eraser could not record an erasure',
    });
}
/** Cross-field rules of the `export` block. */
function checkExport(c: DeploymentConfig, ctx: z.RefinementCtx): void {
  const e = c.export as ExportConfig;
  if (e.timeReserveSeconds * 2 > e.timeoutSeconds)
    ctx.addIssue({
      code: 'custom',
      path: ['export', 'timeReserveSeconds'],
      message: 'must be at most half of export.timeoutSeconds (the run needs time to export)',
    });
  if (e.bucketName === undefined) {
    if (e.bucketKeyArn !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['export', 'bucketKeyArn'],
        message: 'needs export.bucketName (the bucket the stack creates has its own key)',
      });
  } else {
    const ours = {
      readerRoleArns: e.readerRoleArns.length > 0,
      expireDays: e.expireDays !== undefined,
    };
    for (const [field, set] of Object.entries(ours))
      if (set)
        ctx.addIssue({
          code: 'custom',
          path: ['export', field],
          message: 'applies only to the bucket the stack creates (unset export.bucketName)',
        });
  }
  if (
    e.mapping !== undefined &&
    Buffer.byteLength(JSON.stringify(e.mapping)) > MAX_OCSF_MAPPING_BYTES
  )
    ctx.addIssue({
      code: 'custom',
      path: ['export', 'mapping'],
      message: `is longer than ${MAX_OCSF_MAPPING_BYTES} bytes as JSON (it travels in the Lambda environment)`,
    });
}
export type IngestSource = DeploymentConfig['ingest'][number];
export type Witness = z.infer<typeof witness>;

/** The closed list of configuration error codes. */
export const INFRA_CONFIG_CODES = ['INFRA_CONFIG_INVALID'] as const;
export type InfraConfigCode = (typeof INFRA_CONFIG_CODES)[number];

/** A configuration that cannot be deployed; `fields` names every bad field (dotted paths). */
export class InfraConfigError extends Error {
  readonly code: InfraConfigCode = 'INFRA_CONFIG_INVALID';
  readonly fields: readonly string[];
  constructor(fields: readonly string[], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InfraConfigError';
    this.fields = fields;
  }
}

/**
 * Validates a configuration object (parsed JSON) and applies the defaults.
 * @throws InfraConfigError `INFRA_CONFIG_INVALID` naming every bad field
 */
export function parseConfig(input: unknown): DeploymentConfig {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    path: i.path.join('.') || '(root)',
    message: i.message,
  }));
  const fields = [...new Set(issues.map((i) => i.path))];
  throw new InfraConfigError(
    fields,
    `invalid deployment configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { cause: parsed.error },
  );
}

/**
 * Reads and validates a configuration file. A string `sealing.config` is the path of the sealing
 * configuration's JSON file, a string `export.mapping` that of an OCSF mapping file, both
 * relative to the configuration file.
 * @throws InfraConfigError `INFRA_CONFIG_INVALID`; the file system's or JSON.parse's errors
 */
export function readConfigFile(path: string): DeploymentConfig {
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof raw?.sealing?.config === 'string')
    raw.sealing.config = JSON.parse(
      readFileSync(resolve(dirname(path), raw.sealing.config), 'utf8'),
    );
  if (typeof raw?.export?.mapping === 'string')
    raw.export.mapping = JSON.parse(
      readFileSync(resolve(dirname(path), raw.export.mapping), 'utf8'),
    );
  return parseConfig(raw);
}
