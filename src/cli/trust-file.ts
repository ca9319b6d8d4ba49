/**
 * The trusted-keys file of `--trusted-keys` (JSON:
 * `{"keys":[{"publicKey": "<PEM or vkey or path>", "label"?, "notBefore"?, "notAfter"?}]}`), read
 * by keys.ts. Its own module because its schema is zod, loaded only when such a file is given
 * (issue 14: zod is ~40 ms of a CLI run's start-up).
 */
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { ConfigurationError } from '../core/errors.js';

/**
 * A validity bound: RFC 3339 with an explicit offset, a real calendar date (no Feb 30: Date.parse
 * would roll it over), within what a JS Date holds.
 */
const boundSchema = z.iso
  .datetime({ offset: true })
  .refine((t) => isRealDate(t), 'not a real calendar date and time');

const trustFileSchema = z.strictObject({
  keys: z
    .array(
      z.strictObject({
        publicKey: z.string().min(1),
        label: z.string().optional(),
        notBefore: boundSchema.optional(),
        notAfter: boundSchema.optional(),
      }),
    )
    .min(1),
});

/** A trusted-keys file as parsed (bounds still RFC 3339 text). */
export type TrustFile = z.infer<typeof trustFileSchema>;

/** Whether the date and time fields of an RFC 3339 timestamp exist on the calendar. */
function isRealDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text);
  if (!m || Number.isNaN(Date.parse(text))) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

/** `keys[1].notAfter`: a zod issue path in the notation of the file's JSON. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

function trustFileError(file: string, why: string, cause?: unknown): ConfigurationError {
  return new ConfigurationError(
    'TRUST_FILE_INVALID',
    `${JSON.stringify(file)} is not a valid trusted-keys file: ${why}`,
    { cause },
  );
}

/**
 * Parses a trusted-keys file's text.
 * @throws ConfigurationError `TRUST_FILE_INVALID` naming the first bad fields (`keys[1].notAfter`)
 */
export function parseTrustFile(file: string, text: string): TrustFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw trustFileError(file, 'not JSON', cause);
  }
  const parsed = trustFileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${fieldPath(i.path)}: ${i.message}`);
    throw trustFileError(file, issues.join('; '), parsed.error);
  }
  for (const [i, k] of parsed.data.keys.entries())
    if (k.notBefore && k.notAfter && Date.parse(k.notBefore) > Date.parse(k.notAfter))
      throw trustFileError(file, `keys[${i}]: notBefore is after notAfter`);
  return parsed.data;
}
