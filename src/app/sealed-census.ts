/**
 * What the sealed fields of a store are like, for `verify --keys` (docs/FORMAT.md §11.2): how
 * many are open, erased (their key destroyed: the intended result of an erasure, information and
 * never a finding) or invalid (the key exists but the record does not open: a finding,
 * `SEALED_FIELD_INVALID`, given to `onInvalid`). Reads every entry through searchEvents, so every
 * segment read is trusted first.
 */

import type { SealedEventEntry } from '../core/entry.js';
import type { Finding } from '../core/findings.js';
import type { TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { searchEvents } from './events.js';
import { openSealedEntry } from './open-sealed.js';
import type { SubjectKeys } from './subject-keys.js';

export type SealedCensus = {
  /** Entries of kind `sealed-event`. */
  readonly entries: number;
  readonly open: number;
  readonly erased: number;
  readonly invalid: number;
  /** Distinct subject pseudonyms whose fields are erased. */
  readonly erasedSubjects: number;
};

/**
 * Counts the states of every sealed field of the chosen logs.
 * @throws as searchEvents; StorageError from the key store or wrapper
 */
export async function censusSealed(
  store: ObjectStore,
  options: { trustedKeys: readonly TrustedKey[]; logs?: readonly string[]; bundle?: boolean },
  keys: SubjectKeys,
  onInvalid?: (finding: Finding) => void,
): Promise<SealedCensus> {
  let entries = 0;
  const counts = { open: 0, erased: 0, invalid: 0, sealed: 0 };
  const erasedSubjects = new Set<string>();
  await searchEvents(store, { ...options, filter: {} }, async (hit) => {
    if (hit.entry.kind !== 'sealed-event') return;
    entries++;
    const opened = await openSealedEntry(hit.entry as SealedEventEntry, hit.origin ?? '', keys);
    for (const f of opened.fields) {
      counts[f.state]++;
      if (f.state === 'erased') erasedSubjects.add(f.subject);
      if (f.state === 'invalid')
        onInvalid?.({
          code: 'SEALED_FIELD_INVALID',
          log: hit.log,
          seq: hit.seq,
          index: hit.index,
          detail: `sealed field ${f.field} of entry ${hit.index} of subject ${f.subject.slice(0, 16)}… does not open under the key the key store holds for it, or does not match its commitment`,
        });
    }
  });
  return {
    entries,
    open: counts.open,
    erased: counts.erased,
    invalid: counts.invalid,
    erasedSubjects: erasedSubjects.size,
  };
}
