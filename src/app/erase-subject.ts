/**
 * Erasure of a data subject by key destruction (docs/FORMAT.md §11.6): destroy the subject's
 * current data key in the key store, then append an ordinary event recording who asked, when and
 * under which legal basis, carrying the subject's pseudonym and the destroyed key's id but no
 * personal data of the subject. Nothing stored before changes; every segment, proof and receipt
 * still verifies, and readers show the subject's sealed fields as erased.
 *
 * Order: the key is destroyed first and the record written after. If the record cannot be
 * written the erasure has still happened, and the error says so (`ERASURE_NOT_RECORDED`, with the
 * pseudonym and key id, for an operator to record by hand); recording first would leave a log
 * that claims an erasure that may never have happened.
 */
import { AuditlockError, InputError } from '../core/errors.js';
import { type AuditEvent, parseEvent } from '../core/event.js';
import type { Clock } from '../core/ports.js';
import type { Archiver, Receipt } from './archiver.js';
import type { SubjectKeys } from './subject-keys.js';

/** The action of the event that records an erasure. */
export const ERASURE_ACTION = 'auditlock.subject.erased';

export type EraseSubjectOptions = {
  readonly keys: SubjectKeys;
  /** The subject id, as the sealing configuration's subject path holds it. */
  readonly subjectId: string;
  /** Who asked (the operator's account id). */
  readonly requestedBy: string;
  /** The legal basis, e.g. `GDPR Art. 17(1)(a)`. */
  readonly legalBasis: string;
  readonly reason?: string | undefined;
  /** Where the record goes. */
  readonly archiver: Archiver;
  readonly clock: Clock;
};

export type Erasure = {
  readonly pseudonym: string;
  readonly keyId: string;
  readonly erasedAt: string;
  readonly event: AuditEvent;
  readonly receipt: Receipt;
};

/**
 * Destroys the subject's key and records it.
 * @throws InputError `SUBJECT_UNKNOWN` when the key store has no key for the subject (nothing is
 *   destroyed or recorded), `SUBJECT_INVALID`, `EVENT_INVALID` (a requester or basis the event
 *   schema refuses, checked before anything is destroyed); AuditlockError `ERASURE_NOT_RECORDED`;
 *   StorageError from the key store
 */
export async function eraseSubject(opts: EraseSubjectOptions): Promise<Erasure> {
  const pseudonym = opts.keys.pseudonymOf(opts.subjectId);
  // Check the record's fields before destroying anything (the key id is filled in after).
  const draft = (keyId: string, at: number) =>
    parseEvent({
      time: new Date(at).toISOString(),
      action: ERASURE_ACTION,
      category: 'privacy',
      actor: { id: opts.requestedBy, type: 'user' },
      outcome: 'success',
      detail: {
        subject: pseudonym,
        key: keyId,
        legalBasis: opts.legalBasis,
        ...(opts.reason === undefined ? {} : { reason: opts.reason }),
      },
    });
  draft('-', opts.clock.now());
  const keyId = await opts.keys.erase(pseudonym);
  if (keyId === undefined)
    throw new InputError(
      'SUBJECT_UNKNOWN',
      `key store ${opts.keys.location} has no key for this subject (pseudonym ${pseudonym}): nothing to erase, nothing recorded`,
    );
  const at = opts.clock.now();
  const event = draft(keyId, at);
  try {
    // Stored now, not when the segment would fill or age: the caller waits for this one event.
    const { stored } = await opts.archiver.submit(event);
    await opts.archiver.flush();
    const receipt = await stored;
    return { pseudonym, keyId, erasedAt: event.time, event, receipt };
  } catch (cause) {
    throw new AuditlockError(
      'ERASURE_NOT_RECORDED',
      `the key ${keyId} of subject ${pseudonym} was destroyed at ${event.time}, but recording it failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}
