/**
 * Configuration of the scheduled OCSF export Lambda (src/lambda/handlers/export.ts), from its
 * environment. Trusted log keys as for the verifier: KMS key ids (GetPublicKey) and/or PEM/vkey.
 */
import * as z from 'zod';
import { ConfigurationError } from '../core/errors.js';
import { LOG_NAME_RE } from '../core/layout.js';
import type { TrustedKey } from '../core/note.js';
import { DEFAULT_OCSF_CONFIG, type OcsfConfig, parseOcsfConfig } from '../core/ocsf-config.js';
import { parseTrustedKeys } from './config.js';

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
  /** The archive: `s3://bucket[/prefix]`. */
  AUDITLOCK_ARCHIVE_STORE: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, {
    message: 'an S3 store is s3://<bucket>[/<prefix>]',
  }),
  /** Where files and the state go (e.g. a Security Lake custom source location's bucket). */
  AUDITLOCK_EXPORT_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
  AUDITLOCK_EXPORT_PREFIX: z.string().max(512).default(''),
  AUDITLOCK_EXPORT_FORMAT: z.enum(['jsonl', 'parquet']).default('parquet'),
  /** Name of the state object under the prefix. */
  AUDITLOCK_EXPORT_STATE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,255}$/)
    .default('.auditlock-export-state.json'),
  /** A mapping file's JSON text (docs/OCSF.md §3); default rules without it. */
  AUDITLOCK_OCSF_MAPPING: z.string().optional(),
  AUDITLOCK_LOG_KEY_IDS: list,
  AUDITLOCK_TRUSTED_KEYS: z.string().optional(),
  AUDITLOCK_LOGS: list.refine((names) => names.every((n) => LOG_NAME_RE.test(n)), {
    message: 'each log name must match [a-z0-9][a-z0-9._-]{0,62}',
  }),
  AUDITLOCK_ROWS_PER_FILE: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  /** Stop after the current segment when less than this much time is left (ms). */
  AUDITLOCK_TIME_RESERVE_MS: z.coerce.number().int().min(0).max(900_000).default(60_000),
});

export type ExportConfig = Omit<
  z.infer<typeof schema>,
  'AUDITLOCK_TRUSTED_KEYS' | 'AUDITLOCK_OCSF_MAPPING'
> & {
  readonly trustedKeys: readonly TrustedKey[];
  readonly mapping: OcsfConfig;
};

/**
 * Reads and checks the configuration.
 * @throws ConfigurationError `LAMBDA_CONFIG_INVALID` naming every bad variable;
 *   `OCSF_MAPPING_INVALID` for a bad AUDITLOCK_OCSF_MAPPING
 */
export function readExportConfig(env: NodeJS.ProcessEnv = process.env): ExportConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      `invalid export configuration: ${problems}`,
    );
  }
  const { AUDITLOCK_TRUSTED_KEYS, AUDITLOCK_OCSF_MAPPING, ...c } = parsed.data;
  const trustedKeys = parseTrustedKeys(AUDITLOCK_TRUSTED_KEYS ?? '');
  if (trustedKeys.length === 0 && c.AUDITLOCK_LOG_KEY_IDS.length === 0)
    throw new ConfigurationError(
      'LAMBDA_CONFIG_INVALID',
      'invalid export configuration: no trusted log key: set AUDITLOCK_LOG_KEY_IDS and/or AUDITLOCK_TRUSTED_KEYS',
    );
  const mapping =
    AUDITLOCK_OCSF_MAPPING === undefined
      ? DEFAULT_OCSF_CONFIG
      : parseOcsfConfig(AUDITLOCK_OCSF_MAPPING, 'AUDITLOCK_OCSF_MAPPING');
  return { ...c, trustedKeys, mapping };
}
