/**
 * Disclosures (docs/FORMAT.md §11.7): a sealed value and its salt, given to an auditor beside a
 * receipt of the entry, who checks `SHA-256(salt ‖ UTF-8(RFC 8785(value)))` against the entry's
 * commitment offline. No key is needed and no other field is revealed.
 *
 *     {"disclosures":[{"field":"actor.id","salt":"<base64, 32 bytes>","value":"alice"}],"v":1}
 */
import * as z from 'zod';
import { canonicalize, type JsonValue } from './canonical-json.js';
import { fromBase64, toBase64 } from './encoding.js';
import type { Entry } from './entry.js';
import { InputError, IntegrityError } from './errors.js';
import { bytesEqual } from './hash.js';
import { commitmentOf } from './sealed.js';
import { SALT_BYTES } from './sealed-entry.js';

/** Largest disclosure file read (64 sealed values of up to an entry's size each would not fit; none needs to). */
export const MAX_DISCLOSURE_BYTES = 1024 * 1024;

export type Disclosed = {
  readonly field: string;
  readonly salt: Uint8Array;
  readonly value: JsonValue;
};

const disclosureSchema = z.strictObject({
  v: z.literal(1),
  disclosures: z
    .array(z.strictObject({ field: z.string(), salt: z.string(), value: z.json() }))
    .min(1)
    .max(64),
});

/** The disclosure file's text: canonical JSON, fields in the order given, LF at the end. */
export function formatDisclosure(items: readonly Disclosed[]): string {
  return `${canonicalize({
    disclosures: items.map((d) => ({ field: d.field, salt: toBase64(d.salt), value: d.value })),
    v: 1,
  })}\n`;
}

/**
 * Checks every disclosure of `text` against the commitments of `entry` (from a verified receipt).
 * @returns the disclosed fields and values
 * @throws InputError `DISCLOSURE_INVALID` (not JSON of the shape above, a salt not 32 bytes of
 *   base64, a field the entry does not seal, or an entry that seals nothing); IntegrityError
 *   `DISCLOSURE_MISMATCH` (a value or salt that does not give the commitment)
 */
export function verifyDisclosure(
  entry: Entry,
  text: string,
): { field: string; value: JsonValue }[] {
  let parsed: z.output<typeof disclosureSchema>;
  try {
    parsed = disclosureSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new InputError('DISCLOSURE_INVALID', 'expected a disclosure file (FORMAT.md §11.7)', {
      cause,
    });
  }
  if (entry.kind !== 'sealed-event')
    throw new InputError(
      'DISCLOSURE_INVALID',
      `the entry is a ${entry.kind} entry: nothing in it is sealed`,
    );
  return parsed.disclosures.map((d) => {
    const record = entry.sealed.find((r) => r.field === d.field);
    if (!record)
      throw new InputError(
        'DISCLOSURE_INVALID',
        `the entry seals no field ${JSON.stringify(d.field)}`,
      );
    let salt: Uint8Array;
    try {
      salt = fromBase64(d.salt);
    } catch (cause) {
      throw new InputError('DISCLOSURE_INVALID', `${d.field}: salt is not canonical base64`, {
        cause,
      });
    }
    if (salt.length !== SALT_BYTES)
      throw new InputError(
        'DISCLOSURE_INVALID',
        `${d.field}: expected a ${SALT_BYTES}-byte salt, got ${salt.length}`,
      );
    const value = d.value as JsonValue;
    if (!bytesEqual(commitmentOf(salt, value), fromBase64(record.commitment)))
      throw new IntegrityError(
        'DISCLOSURE_MISMATCH',
        `${d.field}: the disclosed value and salt do not give the entry's commitment ${record.commitment}`,
      );
    return { field: d.field, value };
  });
}
