/**
 * Sealing on the way in (docs/FORMAT.md §11): the configured personal fields of each event are
 * sealed under their subjects' data keys before the entry is enqueued, so the archiver never
 * holds their plaintext. If the key store or the KMS fails, the call throws and nothing of the
 * event is enqueued: plaintext is never written in place of a sealed field.
 */

import { randomBytes } from 'node:crypto';
import type { Delivery } from '../core/entry.js';
import { makeSealedEventEntry } from '../core/entry.js';
import type { AuditEvent } from '../core/event.js';
import {
  type DataKey,
  type FieldToSeal,
  fieldsToSeal,
  type RandomBytes,
  sealFields,
} from '../core/sealed.js';
import type { SealConfig } from '../core/sealed-config.js';
import type { Archiver, Receipt } from './archiver.js';
import type { SubjectKeys } from './subject-keys.js';

/** Submits one validated event, sealed when the configuration says so. */
export type SealingSubmit = (
  event: AuditEvent,
  delivery?: Delivery,
) => Promise<{ stored: Promise<Receipt> }>;

/**
 * node:crypto randomBytes drawn 4 KiB at a time: one call per sealed field (44 bytes) was ~4% of
 * a sealed ingest's CPU in a profile of bench/sealed.mjs. Every byte is handed out once.
 */
function pooledRandom(poolBytes = 4096): RandomBytes {
  let pool = new Uint8Array(0);
  let at = 0;
  return (n) => {
    if (n > poolBytes) return new Uint8Array(randomBytes(n));
    if (at + n > pool.length) {
      pool = new Uint8Array(randomBytes(poolBytes));
      at = 0;
    }
    at += n;
    return pool.slice(at - n, at);
  };
}

/**
 * A submit function that seals `config`'s fields of each event with `keys` and enqueues it on
 * `archiver`; events with no configured field present go in as plain `event` entries.
 * @returns a function that throws InputError `SUBJECT_MISSING`, `SUBJECT_INVALID`,
 *   `SEALED_FORM_INVALID`, `ENTRY_TOO_LARGE` (the event is not stored) or StorageError from the
 *   key store or wrapper (`KEY_STORE_UNAVAILABLE`, `KMS_UNAVAILABLE`…)
 */
export function sealingSubmit(
  archiver: Archiver,
  config: SealConfig,
  keys: SubjectKeys,
  random: RandomBytes = pooledRandom(),
): SealingSubmit {
  return async (event, delivery) => {
    const found = fieldsToSeal(event, config);
    if (found.length === 0) return archiver.submit(event, delivery);
    // One pseudonym and one key lookup per subject of the event, not per field.
    const byPseudonym = new Map<string, DataKey>();
    const bySubjectId = new Map<string, string>();
    const fields: FieldToSeal[] = [];
    for (const f of found) {
      const u = bySubjectId.get(f.subjectId) ?? keys.pseudonymOf(f.subjectId);
      bySubjectId.set(f.subjectId, u);
      if (!byPseudonym.has(u)) byPseudonym.set(u, await keys.sealingKey(u));
      fields.push({ ...f, subject: u });
    }
    const parts = sealFields(
      event,
      fields,
      keys.pseudonymKey,
      (u) => byPseudonym.get(u) as DataKey,
      archiver.head.origin,
      random,
    );
    if (!parts) return archiver.submit(event, delivery);
    return archiver.submitEntry((t) => makeSealedEventEntry(parts, t, delivery));
  };
}
