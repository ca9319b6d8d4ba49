/**
 * The verifier's per-entry check. The structural check (valid UTF-8 JSON object, known `kind`,
 * valid `receivedAt`) costs about one JSON.parse; `strict` adds full schema validation.
 */
import { decodeEntry, parseTimestamp } from './entry.js';

export type EntryCheck =
  | { readonly ok: true; readonly kind: 'event' | 'quarantine'; readonly receivedAt: number }
  | { readonly ok: false; readonly detail: string };

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Checks one stored entry; never throws. */
export function checkEntryBytes(bytes: Uint8Array, strict: boolean): EntryCheck {
  if (strict) {
    try {
      const entry = decodeEntry(bytes);
      return { ok: true, kind: entry.kind, receivedAt: parseTimestamp(entry.receivedAt) };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, detail: 'entry is not UTF-8 JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, detail: 'entry is not a JSON object' };
  const { kind, receivedAt } = value as { kind?: unknown; receivedAt?: unknown };
  if (kind !== 'event' && kind !== 'quarantine')
    return { ok: false, detail: `entry kind ${JSON.stringify(kind)} is not event or quarantine` };
  if (typeof receivedAt !== 'string') return { ok: false, detail: 'entry has no receivedAt' };
  try {
    return { ok: true, kind, receivedAt: parseTimestamp(receivedAt) };
  } catch {
    return {
      ok: false,
      detail: `entry receivedAt ${JSON.stringify(receivedAt)} is not a timestamp`,
    };
  }
}
