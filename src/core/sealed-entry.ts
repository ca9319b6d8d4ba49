/**
 * The stored shape of a `sealed-event` entry's parts (docs/FORMAT.md §11.1): the sealed records
 * and the rules tying them to the partial event `P`. Everything here needs no key; whether a
 * ciphertext decrypts is a reader's question (sealed.ts), not a verifier's.
 */
import * as z from 'zod';
import type { JsonObject } from './canonical-json.js';
import { fromBase64 } from './encoding.js';
import { acceptEvent, auditEventSchema } from './event.js';
import { compareCodeUnits, MAX_SEALED_FIELDS } from './sealed-config.js';
import { isSealablePath, parentExists, standInFor, valueAt, withValueAt } from './sealed-path.js';

export const SALT_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const COMMITMENT_BYTES = 32;
/** A key id: unpadded base64url of 16 bytes, its 4 spare bits zero (canonical). */
export const KEY_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;
/** A subject pseudonym: HMAC-SHA-256 in lower-case hex. */
export const PSEUDONYM = /^[0-9a-f]{64}$/;

export const sealedRecordSchema = z.strictObject({
  ciphertext: z.string(),
  commitment: z.string(),
  field: z.string().refine(isSealablePath, 'expected a sealable field path (FORMAT.md §11.1)'),
  key: z.string().regex(KEY_ID),
  nonce: z.string(),
  subject: z.string().regex(PSEUDONYM),
});

export type SealedRecord = z.output<typeof sealedRecordSchema>;

export const sealedListSchema = z.array(sealedRecordSchema).min(1).max(MAX_SEALED_FIELDS);

/** `P`: any JSON object (§11.1 checks it through its stand-ins). */
export const partialEventSchema = z.custom<JsonObject>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'expected an object',
);

/** Length in bytes of canonical padded base64 `text`, or -1 if it is not that. */
function base64Length(text: string): number {
  try {
    return fromBase64(text).length;
  } catch {
    return -1;
  }
}

/** Why a record's encoded members are not of §11.1's lengths, or undefined. */
function recordProblem(r: SealedRecord): string | undefined {
  if (base64Length(r.commitment) !== COMMITMENT_BYTES)
    return `${r.field}: expected a 32-byte base64 commitment`;
  if (base64Length(r.nonce) !== NONCE_BYTES) return `${r.field}: expected a 12-byte base64 nonce`;
  // Salt, at least one value byte, tag.
  if (base64Length(r.ciphertext) < SALT_BYTES + 1 + TAG_BYTES)
    return `${r.field}: expected a base64 ciphertext of at least ${SALT_BYTES + 1 + TAG_BYTES} bytes`;
  return undefined;
}

/**
 * Why `event` and `sealed` are not a valid pair of §11.1 (order, paths, stand-ins), or undefined.
 * Never throws.
 */
export function sealedEntryProblem(
  event: JsonObject,
  sealed: readonly SealedRecord[],
): string | undefined {
  let withStandIns = event;
  for (let i = 0; i < sealed.length; i++) {
    const r = sealed[i] as SealedRecord;
    const problem = recordProblem(r);
    if (problem) return problem;
    const prev = sealed[i - 1];
    if (prev && compareCodeUnits(prev.field, r.field) >= 0)
      return `sealed records not in ascending field order at ${r.field}`;
    if (sealed.some((o) => r.field.startsWith(`${o.field}.`)))
      return `sealed field ${r.field} lies inside another sealed field`;
    if (valueAt(event, r.field) !== undefined)
      return `sealed field ${r.field} is also present in the event`;
    if (!parentExists(event, r.field)) return `sealed field ${r.field} has no parent object`;
    withStandIns = withValueAt(withStandIns, r.field, standInFor(r.field));
  }
  // The accept-only fast path first (event.ts), as parseEvent does; zod decides the rest.
  if (acceptEvent(withStandIns) !== undefined) return undefined;
  const result = auditEventSchema.safeParse(withStandIns);
  if (!result.success)
    return `the event with stand-ins for its sealed fields is not a valid event: ${result.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ')}`;
  return undefined;
}
