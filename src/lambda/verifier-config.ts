/**
 * Configuration of the scheduled verifier Lambda (`handlers/verify.ts`), from environment
 * variables, validated once per execution environment. A wrong setting fails the first invocation
 * with a ConfigurationError naming every bad variable. docs/DEPLOY.md lists them for operators.
 */
import * as z from 'zod';
import { ConfigurationError } from '../core/errors.js';
import { LOG_NAME_RE } from '../core/layout.js';
import type { TrustedKey } from '../core/note.js';
import { parseTrustedKeys } from './config.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const store = z
  .string()
  .min(1)
  .refine(
    (s) => !s.startsWith('s3://') || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(s),
    {
      message: 'an S3 store is s3://<bucket>[/<prefix>]',
    },
  );
const list = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

const schema = z.object({
  /** The archive in the primary region: `s3://bucket[/prefix]` (a folder path for local runs). */
  AUDITLOCK_PRIMARY_STORE: store,
  /** Region of the primary bucket (default: the SDK's, i.e. the Lambda's own region). */
  AUDITLOCK_PRIMARY_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
    .optional(),
  /** The replica (this region). Without it only the primary is verified. */
  AUDITLOCK_REPLICA_STORE: store.optional(),
  /**
   * The verifier's own write-once store: its state (`verify-state/`), the witness's state
   * (`witness-state/`) and the cosigned checkpoints (`<log>/witness/`).
   */
  AUDITLOCK_STATE_STORE: store,
  /** KMS key ids or ARNs of the log signing keys, whose public keys are trusted (GetPublicKey). */
  AUDITLOCK_LOG_KEY_IDS: list,
  /** Further trusted log keys: SPKI PEM blocks and/or vkey lines (as for the ingest Lambdas). */
  AUDITLOCK_TRUSTED_KEYS: z.string().optional(),
  /** The witness key in KMS (ECC_NIST_EDWARDS25519, SIGN_VERIFY). */
  AUDITLOCK_WITNESS_KMS_KEY_ID: z.string().min(1).optional(),
  /** Local runs and tests only: an Ed25519 private key (PKCS#8 PEM) instead of KMS. */
  AUDITLOCK_WITNESS_PRIVATE_KEY_PEM: z.string().min(1).optional(),
  /** The witness's name: its signed-note key name, in every cosignature line and vkey. */
  AUDITLOCK_WITNESS_NAME: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s+]+$/, 'no whitespace or "+"'),
  /** Findings go to this SNS topic; without it they are only logged and counted. */
  AUDITLOCK_NOTIFY_TOPIC_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/)
    .optional(),
  /** Only these logs (comma-separated); default every log of the primary. */
  AUDITLOCK_LOGS: list.refine((names) => names.every((n) => LOG_NAME_RE.test(n)), {
    message: 'each log name must match [a-z0-9][a-z0-9._-]{0,62}',
  }),
  /** COMPLIANCE retention (days) of the records the verifier writes to its state store. */
  AUDITLOCK_STATE_RETENTION_DAYS: int(1, 36_500).default(2557),
  /** Every segment must be locked at least this many days after its seal time. */
  AUDITLOCK_RETENTION_DAYS: int(0, 36_500).default(0),
  /** Replication Time Control window: older PENDING or missing replicas are findings. */
  AUDITLOCK_RTC_WINDOW_SECONDS: int(1, 86_400).default(900),
  /** Stop starting new segments when less than this much time is left (ms). */
  AUDITLOCK_TIME_RESERVE_MS: int(0, 900_000).default(30_000),
  /** Parallel downloads per store. */
  AUDITLOCK_CONCURRENCY: int(1, 256).default(16),
});

export type VerifierConfig = Omit<z.infer<typeof schema>, 'AUDITLOCK_TRUSTED_KEYS'> & {
  /** AUDITLOCK_TRUSTED_KEYS, parsed (the KMS keys are added when the runtime starts). */
  readonly trustedKeys: readonly TrustedKey[];
};

/**
 * Reads and checks the configuration.
 * @throws ConfigurationError `LAMBDA_CONFIG_INVALID` naming every bad variable
 */
export function readVerifierConfig(env: NodeJS.ProcessEnv = process.env): VerifierConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      `invalid verifier configuration: ${problems}`,
    );
  }
  const { AUDITLOCK_TRUSTED_KEYS, ...c } = parsed.data;
  const bad = (why: string): never => {
    throw new ConfigurationError('LAMBDA_CONFIG_INVALID', `invalid verifier configuration: ${why}`);
  };
  if (!c.AUDITLOCK_WITNESS_KMS_KEY_ID === !c.AUDITLOCK_WITNESS_PRIVATE_KEY_PEM)
    bad('set exactly one of AUDITLOCK_WITNESS_KMS_KEY_ID and AUDITLOCK_WITNESS_PRIVATE_KEY_PEM');
  const trustedKeys = parseTrustedKeys(AUDITLOCK_TRUSTED_KEYS ?? '');
  if (trustedKeys.length === 0 && c.AUDITLOCK_LOG_KEY_IDS.length === 0)
    bad('no trusted log key: set AUDITLOCK_LOG_KEY_IDS and/or AUDITLOCK_TRUSTED_KEYS');
  return { ...c, trustedKeys };
}
