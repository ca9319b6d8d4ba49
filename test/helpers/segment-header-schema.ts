/**
 * The zod schema that checked segment headers (docs/FORMAT.md §4.3) until parseSegment moved to
 * the hand-written src/core/segment-header.ts (issue 14: no zod in the verification workers).
 * Kept as the reference that test/core/segment-header.test.ts compares the hand-written check
 * with: a second, independent spelling of the same rules, in the schema language the event and
 * entry rules are written in. Nothing in src/ uses it.
 */
// Namespace import, as in src/core (the same API).
import * as z from 'zod';
import { BODY_ENCODINGS, type BodyEncoding } from '../../src/core/body-codec.js';
import { fromBase64 } from '../../src/core/encoding.js';
import { HASH_SIZE } from '../../src/core/hash.js';
import { MAX_SEGMENT_BYTES, MAX_SEGMENT_ENTRIES } from '../../src/core/segment-header.js';
import { parseTimestamp } from '../../src/core/timestamp.js';

const b64Hash = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/)
  .refine((s) => {
    try {
      return fromBase64(s).length === HASH_SIZE;
    } catch {
      return false;
    }
  }, 'not a canonical base64 SHA-256 hash');
const timestamp = z.string().refine((s) => {
  try {
    parseTimestamp(s);
    return true;
  } catch {
    return false;
  }
}, 'not an RFC 3339 UTC millisecond timestamp');
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const segmentHeaderSchema = z.strictObject({
  count: z.number().int().min(1).max(MAX_SEGMENT_ENTRIES),
  encoding: z.enum(BODY_ENCODINGS as [BodyEncoding, ...BodyEncoding[]]),
  firstIndex: count,
  firstReceivedAt: timestamp,
  frontierAfter: z.array(b64Hash).max(64),
  frontierBefore: z.array(b64Hash).max(64),
  lastReceivedAt: timestamp,
  length: z.number().int().nonnegative().max(MAX_SEGMENT_BYTES),
  rawLength: z.number().int().nonnegative().max(MAX_SEGMENT_BYTES),
});
