/**
 * Log entries: what one Merkle leaf holds.
 *
 * Stored form. A leaf's data is the UTF-8 bytes of the RFC 8785 (JCS) canonical JSON of one entry
 * object, at most {@link MAX_ENTRY_BYTES} bytes; it never holds a raw line feed (0x0A). Every object
 * below is closed: no other members are allowed. `kind` selects the shape:
 *
 * - `{"kind":"event","receivedAt":T,"event":E,"delivery"?:D}`: an accepted audit event.
 *   `E` is the event exactly as validated by `auditEventSchema` in `event.ts`.
 * - `{"kind":"quarantine","receivedAt":T,"delivery"?:D,"error":{"code","message","issues"},"raw":R}`:
 *   input that failed validation, kept with its error instead of being dropped.
 *   `code` matches `[A-Z][A-Z0-9_]{0,63}`; `message` (≤ 2048 UTF-16 units) is informative only;
 *   `issues` lists at most 20 `{"path","message"}` (≤ 256 and ≤ 512 units), dotted field paths.
 *   `R = {"encoding","data","size","truncated","sha256"}` describes the input bytes: `data` holds
 *   the first min(size, 65536) bytes, as text (`"encoding":"utf8"`) exactly when those bytes are
 *   valid UTF-8 with no C0 control character other than TAB, LF, CR, otherwise as padded base64
 *   (`"base64"`); `size` is the full input length in bytes; `truncated` is `size > 65536`; `sha256`
 *   is the padded base64 SHA-256 of the full input.
 *
 * `T` (`receivedAt`): when the archiver received the input, UTC, exactly millisecond precision:
 * `YYYY-MM-DDTHH:MM:SS.sssZ`, years 1970–9999. `D` (`delivery`): `{"source","id"?}`, the transport
 * (`sqs`, `kinesis`, `eventbridge`, `cloudwatch-logs`, `cli`, `api`: `[a-z0-9][a-z0-9._-]{0,31}`)
 * and its record id (SQS messageId, Kinesis sequence number, `stdin:12`; ≤ 512 units, no control
 * characters), used to recognise redeliveries.
 *
 * - `{"kind":"sealed-event","receivedAt":T,"event":P,"sealed":[S…],"delivery"?:D}`: an event with
 *   sealed (encrypted, committed) personal fields, docs/FORMAT.md §11.
 *
 * A reader MUST reject bytes that are not exactly the canonical encoding of a valid entry
 * ({@link decodeEntry} does), so every entry has one byte form. There is no per-entry version:
 * new shapes get a new `kind`, and the event schema may only ever gain optional fields.
 */
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { canonicalize } from './canonical-json.js';
import { checkDelivery, DELIVERY_ID_TEXT, DELIVERY_SOURCE } from './delivery.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from './encoding.js';
import {
  MAX_ERROR_MESSAGE,
  MAX_ISSUE_MESSAGE,
  MAX_ISSUE_PATH,
  MAX_QUARANTINE_ISSUES,
  QUARANTINE_RAW_MAX,
  readableText,
  UNREADABLE,
} from './entry-encode.js';
import { InputError, IntegrityError } from './errors.js';
import { auditEventSchema, describeValue, issuesFromZod, messageFor, summarise } from './event.js';
import { LONE_SURROGATE } from './event-text.js';
import { sha256 } from './hash.js';
import { MAX_DELIVERY_ID_LENGTH, MAX_ENTRY_BYTES } from './limits.js';
import { partialEventSchema, sealedEntryProblem, sealedListSchema } from './sealed-entry.js';
import { formatTimestamp, parseTimestamp } from './timestamp.js';

export { MAX_QUARANTINE_ISSUES, QUARANTINE_RAW_MAX } from './entry-encode.js';
// The bound lives in limits.ts, which loads no zod (the verification workers read it).
export { MAX_ENTRY_BYTES } from './limits.js';

const wellFormed = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !LONE_SURROGATE.test(s), 'expected well-formed text, got an unpaired surrogate');

const receivedAt = z.string().refine(isTimestamp, {
  error: (iss) => `expected YYYY-MM-DDTHH:MM:SS.sssZ, got ${describeValue(iss.input)}`,
});

const deliverySchema = z.strictObject({
  source: z.string().regex(DELIVERY_SOURCE),
  id: z.string().max(MAX_DELIVERY_ID_LENGTH).regex(DELIVERY_ID_TEXT).optional(),
});

const eventEntrySchema = z.strictObject({
  kind: z.literal('event'),
  receivedAt,
  event: auditEventSchema,
  delivery: deliverySchema.optional(),
});

const rawSchema = z
  .strictObject({
    encoding: z.enum(['utf8', 'base64']),
    data: z.string(),
    size: z.int().min(0),
    truncated: z.boolean(),
    sha256: z.string(),
  })
  .superRefine((raw, ctx) => {
    // Runs after non-aborting issues too (z.compile refuses `when`), so check the types first.
    if (
      typeof raw.data !== 'string' ||
      typeof raw.size !== 'number' ||
      typeof raw.sha256 !== 'string'
    )
      return;
    const problem = checkRaw(raw);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: raw });
  });

const quarantineEntrySchema = z.strictObject({
  kind: z.literal('quarantine'),
  receivedAt,
  delivery: deliverySchema.optional(),
  error: z.strictObject({
    code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/),
    message: wellFormed(MAX_ERROR_MESSAGE),
    issues: z
      .array(
        z.strictObject({
          path: wellFormed(MAX_ISSUE_PATH),
          message: wellFormed(MAX_ISSUE_MESSAGE),
        }),
      )
      .max(MAX_QUARANTINE_ISSUES),
  }),
  raw: rawSchema,
});

/** An event with sealed fields (docs/FORMAT.md §11.1; shapes and rules in sealed-entry.ts). */
const sealedEventEntrySchema = z
  .strictObject({
    kind: z.literal('sealed-event'),
    receivedAt,
    event: partialEventSchema,
    sealed: sealedListSchema,
    delivery: deliverySchema.optional(),
  })
  .superRefine((entry, ctx) => {
    if (!Array.isArray(entry.sealed) || typeof entry.event !== 'object') return;
    const problem = sealedEntryProblem(entry.event, entry.sealed);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: entry });
  });

/** zod schema of one stored entry (compiled, as `auditEventSchema` is). */
export const entrySchema = z.compile(
  z.discriminatedUnion('kind', [eventEntrySchema, quarantineEntrySchema, sealedEventEntrySchema]),
  { strict: true },
);

export type Entry = z.output<typeof entrySchema>;
export type EventEntry = z.output<typeof eventEntrySchema>;
export type QuarantineEntry = z.output<typeof quarantineEntrySchema>;
export type SealedEventEntry = z.output<typeof sealedEventEntrySchema>;
export type Delivery = z.output<typeof deliverySchema>;

// Making and encoding entries needs no schema: entry-encode.ts and delivery.ts load no zod, so the
// thread that seals ingest's entries does without it (issue 14).
export { checkDelivery } from './delivery.js';
export { encodeEntry, makeEventEntry, makeQuarantineEntry } from './entry-encode.js';

/**
 * An entry for an event with sealed fields, from the parts sealFields made (src/core/sealed.ts).
 * Refuses parts a strict reader would refuse (docs/FORMAT.md §11.1), so none is ever stored.
 * @throws InputError `SEALED_FORM_INVALID`, `DELIVERY_INVALID`, `TIMESTAMP_INVALID`
 */
export function makeSealedEventEntry(
  parts: Pick<SealedEventEntry, 'event' | 'sealed'>,
  receivedAtMs: number,
  delivery?: Delivery,
): SealedEventEntry {
  const problem = sealedEntryProblem(parts.event, parts.sealed);
  if (problem)
    throw new InputError('SEALED_FORM_INVALID', `cannot store the sealed event: ${problem}`);
  const entry: SealedEventEntry = {
    kind: 'sealed-event',
    receivedAt: formatTimestamp(receivedAtMs),
    event: parts.event,
    sealed: parts.sealed,
  };
  if (delivery !== undefined) entry.delivery = checkDelivery(delivery);
  return entry;
}

/**
 * Parses stored entry bytes, which may be hostile: strict UTF-8, JSON, schema, canonical form.
 * @param location for the message, e.g. `segment 42 leaf 7`
 * @throws IntegrityError `ENTRY_INVALID`
 */
export function decodeEntry(bytes: Uint8Array, location?: string): Entry {
  const fail = (what: string, cause?: unknown): never => {
    throw new IntegrityError('ENTRY_INVALID', `${location ? `${location}: ` : ''}${what}`, {
      cause,
    });
  };
  if (bytes.length > MAX_ENTRY_BYTES) {
    fail(`expected at most ${MAX_ENTRY_BYTES} bytes, got ${bytes.length}`);
  }
  let text = '';
  let value: unknown;
  try {
    text = fromUtf8(bytes);
    value = JSON.parse(text);
  } catch (cause) {
    fail(
      `expected UTF-8 JSON, got ${cause instanceof Error ? cause.message : String(cause)}`,
      cause,
    );
  }
  const result = entrySchema.safeParse(value, { error: messageFor });
  if (!result.success) {
    const issues = issuesFromZod(result.error.issues);
    return fail(
      summarise('invalid entry', issues),
      new InputError('ENTRY_INVALID', 'invalid entry', { issues }),
    );
  }
  if (canonicalize(result.data) !== text) fail('expected the RFC 8785 canonical form of the entry');
  return result.data;
}

function isTimestamp(text: string): boolean {
  try {
    parseTimestamp(text);
    return true;
  } catch {
    return false;
  }
}

/** Why `raw` is not exactly what {@link describeRaw} makes for some input, or undefined. */
function checkRaw(raw: QuarantineEntry['raw']): string | undefined {
  let kept: Uint8Array;
  if (raw.encoding === 'utf8') {
    if (LONE_SURROGATE.test(raw.data) || UNREADABLE.test(raw.data)) {
      return 'expected utf8 data without C0 controls other than TAB, LF, CR';
    }
    kept = utf8(raw.data);
  } else {
    try {
      kept = fromBase64(raw.data);
    } catch {
      return 'expected canonical padded base64 data';
    }
    if (readableText(kept) !== undefined) return 'expected utf8 encoding for readable data';
  }
  if (kept.length !== Math.min(raw.size, QUARANTINE_RAW_MAX)) {
    return `expected ${Math.min(raw.size, QUARANTINE_RAW_MAX)} data bytes for size ${raw.size}, got ${kept.length}`;
  }
  if (raw.truncated !== raw.size > QUARANTINE_RAW_MAX)
    return 'expected truncated to be size > 65536';
  let digest: Uint8Array;
  try {
    digest = fromBase64(raw.sha256);
  } catch {
    return 'expected sha256 in canonical padded base64';
  }
  if (digest.length !== 32) return `expected a 32-byte sha256, got ${digest.length} bytes`;
  if (!raw.truncated && toBase64(sha256(kept)) !== raw.sha256) return 'sha256 does not match data';
  return undefined;
}
