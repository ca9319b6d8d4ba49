/**
 * Size bounds that readers enforce before parsing, in a module that loads nothing: the
 * verification worker threads check entries against {@link MAX_ENTRY_BYTES} without loading the
 * event and entry schemas (zod; issue 14, docs/PERFORMANCE.md). event.ts and entry.ts export
 * these too, as part of the public API.
 */

/** Largest event, counted as the UTF-8 bytes of its RFC 8785 canonical form. */
export const MAX_EVENT_BYTES = 256 * 1024;

/** Largest stored entry: the largest event plus room for the envelope. Quarantine entries fit too. */
export const MAX_ENTRY_BYTES = MAX_EVENT_BYTES + 4 * 1024;
