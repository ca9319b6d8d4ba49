/**
 * Lambda configuration, from environment variables, validated once per execution environment.
 * A wrong setting fails the first invocation with a ConfigurationError naming the variable.
 */
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { DEFAULTS } from '../app/archiver.js';
import { ConfigurationError } from '../core/errors.js';
import { LOG_NAME_RE } from '../core/layout.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  /** Where segments go: `s3://bucket/prefix`. (A folder path works for local runs.) */
  AUDITLOCK_STORE: z.string().min(1),
  /** KMS key id, alias or ARN (ECC_NIST_P256, SIGN_VERIFY). */
  AUDITLOCK_KMS_KEY_ID: z.string().min(1).optional(),
  /** Local runs and tests only: a PEM private key instead of KMS. */
  AUDITLOCK_PRIVATE_KEY_PEM: z.string().min(1).optional(),
  /** Base log name; lanes append `.<lane>`. */
  AUDITLOCK_LOG: z.string().regex(LOG_NAME_RE).default('default'),
  /** Origin prefix; each log's origin is `<prefix>/<log name>`. Must be unique to this deployment. */
  AUDITLOCK_ORIGIN_PREFIX: z
    .string()
    .min(1)
    .regex(/^[^\s+]+$/),
  /**
   * `source`: one log per source lane (Kinesis shard, SQS FIFO message group), hashed into
   * AUDITLOCK_LANE_COUNT lanes when set. `single`: everything into one log (Kinesis still uses one
   * log per shard, which its redelivery check relies on).
   */
  AUDITLOCK_LANE_MODE: z.enum(['source', 'single']).default('source'),
  AUDITLOCK_LANE_COUNT: int(1, 1024).optional(),
  AUDITLOCK_RETENTION_DAYS: int(1, 36_500).default(2557),
  AUDITLOCK_MAX_EVENTS: int(1, 1_000_000).default(DEFAULTS.maxEvents),
  AUDITLOCK_MAX_BYTES: int(1024, 32 * 1024 * 1024).default(DEFAULTS.maxBytes),
  /** Stop taking new records when less than this much time is left (ms). */
  AUDITLOCK_TIME_RESERVE_MS: int(0, 900_000).default(10_000),
  /** How far back to look for an SQS message received more than once (seconds). */
  AUDITLOCK_DEDUP_WINDOW_SECONDS: int(0, 14 * 86_400).default(3600),
  AUDITLOCK_COMPRESS: z.enum(['identity', 'gzip']).default('identity'),
});

export type LambdaConfig = z.infer<typeof schema>;

/**
 * Reads and checks the configuration.
 * @throws ConfigurationError `LAMBDA_CONFIG_INVALID` naming every bad variable
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      `invalid Lambda configuration: ${problems}`,
    );
  }
  const c = parsed.data;
  if (!c.AUDITLOCK_KMS_KEY_ID === !c.AUDITLOCK_PRIVATE_KEY_PEM)
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      'set exactly one of AUDITLOCK_KMS_KEY_ID and AUDITLOCK_PRIVATE_KEY_PEM',
    );
  return c;
}
