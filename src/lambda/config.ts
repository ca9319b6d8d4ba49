/**
 * Lambda configuration, from environment variables, validated once per execution environment.
 * A wrong setting fails the first invocation with a ConfigurationError naming the variable.
 */
import { createPublicKey } from 'node:crypto';
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { DEFAULTS } from '../app/archiver.js';
import { assertOrigin, MAX_ORIGIN_BYTES } from '../core/checkpoint.js';
import { fromBase64 } from '../core/encoding.js';
import { AuditlockError, ConfigurationError } from '../core/errors.js';
import { assertP256Spki, parseVerifierKey } from '../core/key-id.js';
import { LOG_NAME_RE } from '../core/layout.js';
import type { TrustedKey } from '../core/note.js';
import { parseSealConfig, type SealConfig } from '../core/sealed-config.js';

/** Longest log name (LOG_NAME_RE): lane logs are `<AUDITLOCK_LOG>.<lane>` up to this length. */
const MAX_LOG_NAME = 63;

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
  /**
   * Origin prefix; each log's origin is `<prefix>/<log name>`. Must be unique to this deployment,
   * and `<prefix>/<log name>` a valid origin (checkpoint.ts isValidOrigin) for every log name.
   */
  AUDITLOCK_ORIGIN_PREFIX: z.string().min(1),
  /**
   * Public keys, besides the signing key, whose signature on a log's head lets this deployment
   * continue it (key rotation: the previous key). SPKI PEM blocks and/or C2SP vkey lines.
   */
  AUDITLOCK_TRUSTED_KEYS: z.string().optional(),
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
  /**
   * Sealed fields (docs/FORMAT.md §11, docs/PRIVACY.md): the sealing configuration as JSON text,
   * the DynamoDB key table and the KMS key that wraps its keys. All three or none.
   */
  AUDITLOCK_SEAL_CONFIG: z.string().min(1).optional(),
  AUDITLOCK_KEY_TABLE: z.string().min(1).optional(),
  AUDITLOCK_KEY_WRAP_KMS_KEY_ID: z.string().min(1).optional(),
});

export type LambdaConfig = z.infer<typeof schema> & {
  /** AUDITLOCK_TRUSTED_KEYS, parsed (empty when unset). */
  readonly trustedKeys: readonly TrustedKey[];
  /** AUDITLOCK_SEAL_CONFIG, parsed; undefined: nothing is sealed. */
  readonly sealConfig?: SealConfig | undefined;
};

/**
 * Reads and checks the configuration.
 * @throws ConfigurationError `LAMBDA_CONFIG_INVALID` naming every bad variable (an origin prefix
 *   that would give an invalid origin, an unreadable trusted key included)
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
  checkOriginPrefix(c.AUDITLOCK_ORIGIN_PREFIX, c.AUDITLOCK_LOG);
  return {
    ...c,
    trustedKeys: parseTrustedKeys(c.AUDITLOCK_TRUSTED_KEYS ?? ''),
    sealConfig: readSealConfig(c),
  };
}

/** The sealing settings: all three variables or none, the configuration valid (§11.3). */
function readSealConfig(c: z.infer<typeof schema>): SealConfig | undefined {
  const set = [c.AUDITLOCK_SEAL_CONFIG, c.AUDITLOCK_KEY_TABLE, c.AUDITLOCK_KEY_WRAP_KMS_KEY_ID];
  if (set.every((v) => v === undefined)) return undefined;
  if (set.some((v) => v === undefined))
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      'invalid Lambda configuration: set all of AUDITLOCK_SEAL_CONFIG, AUDITLOCK_KEY_TABLE and AUDITLOCK_KEY_WRAP_KMS_KEY_ID, or none',
    );
  try {
    return parseSealConfig(JSON.parse(c.AUDITLOCK_SEAL_CONFIG as string));
  } catch (cause) {
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      `invalid Lambda configuration: AUDITLOCK_SEAL_CONFIG: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/**
 * Every origin this deployment can sign under is `<prefix>/<log name>`: check the base log's, and
 * that the longest lane log name still fits, so a bad prefix fails here and not at a first write.
 */
function checkOriginPrefix(prefix: string, log: string): void {
  const longest = `${prefix}/${'x'.repeat(MAX_LOG_NAME)}`;
  try {
    assertOrigin(`${prefix}/${log}`);
    assertOrigin(longest);
  } catch (cause) {
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      `invalid Lambda configuration: AUDITLOCK_ORIGIN_PREFIX ${JSON.stringify(prefix)} does not give valid origins: "<prefix>/<log name>" must have no whitespace, '+' or control characters and at most ${MAX_ORIGIN_BYTES} UTF-8 bytes for log names up to ${MAX_LOG_NAME} characters`,
      { cause },
    );
  }
}

const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/g;

/**
 * AUDITLOCK_TRUSTED_KEYS: SPKI PEM blocks (`PUBLIC KEY`) and C2SP vkey lines, separated by white
 * space. A vkey's name must be the signed-note key name, which for auditlock is the log's origin.
 * @throws ConfigurationError `LAMBDA_CONFIG_INVALID` naming the bad entry
 */
export function parseTrustedKeys(text: string): TrustedKey[] {
  const bad = (what: string, cause?: unknown): never => {
    const why = cause instanceof AuditlockError ? ` (${cause.code}: ${cause.message})` : '';
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      `invalid Lambda configuration: AUDITLOCK_TRUSTED_KEYS: ${what}${why}`,
      { cause },
    );
  };
  const keys: TrustedKey[] = [];
  for (const [n, m] of [...text.matchAll(PEM_BLOCK_RE)].entries()) {
    if (m[1] !== 'PUBLIC KEY') bad(`PEM block ${n + 1} is ${m[1]}, expected PUBLIC KEY`);
    let spki: Uint8Array;
    try {
      spki = fromBase64((m[2] ?? '').replace(/\s+/g, ''));
      assertP256Spki(spki);
      // The structure check does not place the point on the curve; node:crypto does.
      createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    } catch (cause) {
      return bad(`PEM block ${n + 1} is not a P-256 public key`, cause);
    }
    keys.push({ spki, label: `AUDITLOCK_TRUSTED_KEYS PEM ${n + 1}` });
  }
  const rest = text.replace(PEM_BLOCK_RE, ' ').split(/\s+/).filter(Boolean);
  for (const word of rest) {
    try {
      const { name, spki } = parseVerifierKey(word);
      keys.push({ spki, name, label: `AUDITLOCK_TRUSTED_KEYS ${name}` });
    } catch (cause) {
      bad(
        `${JSON.stringify(word.length > 40 ? `${word.slice(0, 40)}…` : word)} is neither a PUBLIC KEY PEM block nor a vkey`,
        cause,
      );
    }
  }
  return keys;
}
