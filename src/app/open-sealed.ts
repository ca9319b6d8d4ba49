/**
 * Reading sealed entries (docs/FORMAT.md §11.2): each sealed record of an entry opened with the
 * key store, or shown as `erased`, `sealed` (no key store given) or `invalid`.
 */
import type { JsonObject } from '../core/canonical-json.js';
import type { SealedEventEntry } from '../core/entry.js';
import type { OpenedView } from '../core/event-filter.js';
import { type DataKey, type OpenedField, openSealed } from '../core/sealed.js';
import type { SubjectKeys } from './subject-keys.js';

export type OpenedEntry = OpenedView & {
  readonly event: JsonObject;
  readonly fields: readonly OpenedField[];
  /** Salts of the open fields, by path (for disclosure). */
  readonly salts: ReadonlyMap<string, Uint8Array>;
};

/**
 * Opens `entry`'s sealed fields; `keys` undefined means no key store (every field `sealed`).
 * @throws StorageError from the key store or wrapper (a store that cannot answer is not "erased")
 */
export async function openSealedEntry(
  entry: SealedEventEntry,
  origin: string,
  keys: SubjectKeys | undefined,
): Promise<OpenedEntry> {
  const found = new Map<string, DataKey | undefined>();
  if (keys)
    for (const r of entry.sealed)
      if (!found.has(r.subject)) found.set(r.subject, await keys.readingKey(r.subject));
  return openSealed(entry, origin, (u) => (keys ? found.get(u) : 'unavailable'));
}
