/**
 * Size limits of the archive format (docs/FORMAT.md §3): an event, its fields, an input line, a
 * stored entry. Apart from the schemas (zod) so that worker threads, which only measure or accept,
 * need not load them; event.ts and entry.ts re-export what they always exported.
 */

/** Largest event, counted as the UTF-8 bytes of its RFC 8785 canonical form. */
export const MAX_EVENT_BYTES = 256 * 1024;
/** Largest `detail`, counted as the UTF-8 bytes of its canonical form. */
export const MAX_DETAIL_BYTES = 64 * 1024;
/** Deepest nesting of arrays/objects inside `detail` (the `detail` object itself is depth 1). */
export const MAX_DETAIL_DEPTH = 32;
export const MAX_RESOURCES = 100;
/** `id` and `correlationId`: visible ASCII only, so lookups never depend on Unicode normalisation. */
export const MAX_ID_LENGTH = 128;
/** `category`, regions. */
export const MAX_SHORT_TEXT = 64;
/** Names, identifiers, actions, accounts, hosts, services, reason codes. */
export const MAX_TEXT = 256;
/** `resources[].id` (ARNs reach 2048), `resources[].name`, `source.userAgent`, `reason.message`. */
export const MAX_LONG_TEXT = 2048;
/**
 * `parseEventLine` (event.ts) refuses longer lines (in UTF-16 code units) before parsing. Twice the event
 * limit leaves room for whitespace and `\uXXXX` escapes (Python's `json.dumps` escapes non-ASCII).
 */
export const MAX_EVENT_LINE_LENGTH = 2 * MAX_EVENT_BYTES;

/** Largest stored entry: the largest event plus room for the envelope. Quarantine entries fit too. */
export const MAX_ENTRY_BYTES = MAX_EVENT_BYTES + 4 * 1024;

/** Longest `delivery.id` of an entry, in UTF-16 code units. */
export const MAX_DELIVERY_ID_LENGTH = 512;
