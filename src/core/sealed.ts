/**
 * Sealing and opening event fields (docs/FORMAT.md §11): for each personal field, a commitment
 * `SHA-256(salt ‖ V)` and `salt ‖ V` encrypted with AES-256-GCM under the subject's data key,
 * where `V` is the RFC 8785 canonical JSON of the value. Pure: keys and random bytes come in as
 * arguments (the caller's key store and CSPRNG), so known-answer vectors can pin every byte.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  type KeyObject,
} from 'node:crypto';
import { canonicalize, type JsonObject, type JsonValue } from './canonical-json.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from './encoding.js';
import { InputError } from './errors.js';
import type { AuditEvent } from './event.js';
import { bytesEqual, sha256 } from './hash.js';
import type { SealConfig } from './sealed-config.js';
import {
  COMMITMENT_BYTES,
  NONCE_BYTES,
  SALT_BYTES,
  type SealedRecord,
  TAG_BYTES,
} from './sealed-entry.js';
import { valueAt, withoutValueAt, withValueAt } from './sealed-path.js';

export const DATA_KEY_BYTES = 32;
const MAX_SUBJECT_ID = 256;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A subject's data key and its id (§11.1 `key`). `secret` is the same key as a node:crypto
 * KeyObject: a cipher made from one costs about 4 µs instead of 24 µs from raw bytes
 * (bench/sealed.mjs), which is most of the cost of sealing a field.
 */
export type DataKey = {
  readonly keyId: string;
  readonly key: Uint8Array;
  readonly secret?: KeyObject | undefined;
};

/** `key` with its KeyObject (what SubjectKeys hands out). */
export function withSecret(keyId: string, key: Uint8Array): DataKey {
  return { keyId, key, secret: createSecretKey(key) };
}

/** Cryptographically secure random bytes (node:crypto randomBytes in production). */
export type RandomBytes = (n: number) => Uint8Array;

/**
 * The subject pseudonym of §11.1: HMAC-SHA-256(pseudonym key, UTF-8(subject id)), lower-case hex.
 * @throws InputError `SUBJECT_INVALID` for an id that is not 1–256 well-formed UTF-16 units
 */
export function pseudonymOf(pseudonymKey: Uint8Array, subjectId: string): string {
  if (subjectId.length === 0 || subjectId.length > MAX_SUBJECT_ID || LONE_SURROGATE.test(subjectId))
    throw new InputError(
      'SUBJECT_INVALID',
      `expected a subject id of 1-${MAX_SUBJECT_ID} well-formed characters, got ${subjectId.length} units`,
    );
  return createHmac('sha256', pseudonymKey).update(utf8(subjectId)).digest('hex');
}

/** §11.1 `A`: the associated data binding a ciphertext to its log, field, subject, key, commitment. */
export function associatedData(
  origin: string,
  r: Pick<SealedRecord, 'commitment' | 'field' | 'key' | 'subject'>,
): Uint8Array {
  return utf8(
    canonicalize({
      commitment: r.commitment,
      field: r.field,
      key: r.key,
      origin,
      subject: r.subject,
    }),
  );
}

/** §11.1 `H`: SHA-256(salt ‖ UTF-8(RFC 8785(value))). */
export function commitmentOf(salt: Uint8Array, value: JsonValue): Uint8Array {
  return sha256(salt, utf8(canonicalize(value)));
}

/** Seals one value: the stored record of §11.1. */
export function sealValue(
  value: JsonValue,
  field: string,
  subject: string,
  dataKey: DataKey,
  origin: string,
  random: RandomBytes,
): SealedRecord {
  // One call for both: salt first, then the nonce.
  const fresh = random(SALT_BYTES + NONCE_BYTES);
  const salt = fresh.subarray(0, SALT_BYTES);
  const nonce = fresh.subarray(SALT_BYTES);
  const v = utf8(canonicalize(value));
  const commitment = toBase64(sha256(salt, v));
  const head = { commitment, field, key: dataKey.keyId, subject };
  const cipher = createCipheriv('aes-256-gcm', dataKey.secret ?? dataKey.key, nonce, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(associatedData(origin, head));
  const body = Buffer.concat([cipher.update(salt), cipher.update(v), cipher.final()]);
  const tag = cipher.getAuthTag();
  return {
    ciphertext: toBase64(Buffer.concat([body, tag])),
    commitment,
    field,
    key: dataKey.keyId,
    nonce: toBase64(nonce),
    subject,
  };
}

/** What opening a record gave: the value and its salt, or why not (FORMAT.md §11.2). */
export type OpenedValue =
  | { readonly state: 'open'; readonly value: JsonValue; readonly salt: Uint8Array }
  | { readonly state: 'invalid'; readonly reason: string };

/** Opens one record with its data key (the caller matched `record.key` to `dataKey.keyId`). Never throws. */
export function openValue(record: SealedRecord, dataKey: DataKey, origin: string): OpenedValue {
  let plain: Uint8Array;
  try {
    const sealed = fromBase64(record.ciphertext);
    if (sealed.length < SALT_BYTES + 1 + TAG_BYTES)
      return { state: 'invalid', reason: 'ciphertext too short' };
    const nonce = fromBase64(record.nonce);
    const decipher = createDecipheriv('aes-256-gcm', dataKey.secret ?? dataKey.key, nonce, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(associatedData(origin, record));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    plain = Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return { state: 'invalid', reason: 'ciphertext does not decrypt under its key and context' };
  }
  const salt = plain.slice(0, SALT_BYTES);
  const v = plain.subarray(SALT_BYTES);
  const commitment = fromBase64(record.commitment);
  if (commitment.length !== COMMITMENT_BYTES || !bytesEqual(sha256(salt, v), commitment))
    return { state: 'invalid', reason: 'decrypted value does not match its commitment' };
  let value: JsonValue;
  try {
    const text = fromUtf8(v);
    value = JSON.parse(text) as JsonValue;
    if (canonicalize(value) !== text) return { state: 'invalid', reason: 'value not canonical' };
  } catch {
    return { state: 'invalid', reason: 'decrypted value is not canonical JSON' };
  }
  return { state: 'open', value, salt };
}

/**
 * One field to seal in one event: its path, value and subject id, and the subject's pseudonym
 * when the caller has computed it already (else sealFields does).
 */
export type FieldToSeal = {
  readonly path: string;
  readonly value: JsonValue;
  readonly subjectId: string;
  readonly subject?: string | undefined;
};

/**
 * The configured fields present in `event`, with their subject ids, in path order.
 * @throws InputError `SUBJECT_MISSING` when a present field's subject path holds no string
 */
export function fieldsToSeal(event: AuditEvent, config: SealConfig): FieldToSeal[] {
  const root = event as unknown as JsonObject;
  const out: FieldToSeal[] = [];
  for (const f of config.fields) {
    const value = valueAt(root, f.path);
    if (value === undefined) continue;
    const subjectId = valueAt(root, f.subject);
    if (typeof subjectId !== 'string')
      throw new InputError(
        'SUBJECT_MISSING',
        `sealed field ${f.path} is present but its subject path ${f.subject} holds no string; the event is not stored`,
        { issues: [{ path: f.subject, message: 'expected the data subject id (a string)' }] },
      );
    out.push({ path: f.path, value, subjectId });
  }
  return out;
}

/** The parts of a `sealed-event` entry: `P` and its records (§11.1). */
export type SealedParts = { readonly event: JsonObject; readonly sealed: SealedRecord[] };

/**
 * Seals `fields` (from {@link fieldsToSeal}) of `event`; `keyOf(pseudonym)` gives each subject's
 * current data key. Undefined when there is nothing to seal (the event stays a plain `event`).
 */
export function sealFields(
  event: AuditEvent,
  fields: readonly FieldToSeal[],
  pseudonymKey: Uint8Array,
  keyOf: (pseudonym: string) => DataKey,
  origin: string,
  random: RandomBytes,
): SealedParts | undefined {
  if (fields.length === 0) return undefined;
  let partial = event as unknown as JsonObject;
  const sealed: SealedRecord[] = [];
  const pseudonyms = new Map<string, string>();
  for (const f of fields) {
    const subject =
      f.subject ?? pseudonyms.get(f.subjectId) ?? pseudonymOf(pseudonymKey, f.subjectId);
    pseudonyms.set(f.subjectId, subject);
    sealed.push(sealValue(f.value, f.path, subject, keyOf(subject), origin, random));
    partial = withoutValueAt(partial, f.path);
  }
  return { event: partial, sealed };
}

/** A record's state for a reader (FORMAT.md §11.2). */
export type FieldState = 'open' | 'erased' | 'sealed' | 'invalid';

/** How a reader finds keys: the subject's current key, undefined if none, 'unavailable' without a store. */
export type KeyLookup = (subject: string) => DataKey | undefined | 'unavailable';

export type OpenedField = {
  readonly field: string;
  readonly state: FieldState;
  readonly subject: string;
  readonly commitment: string;
};

/**
 * Opens every record of a `sealed-event` entry: `event` is `P` with each open value put back,
 * `fields` the state of each record in stored order.
 */
export function openSealed(
  parts: SealedParts,
  origin: string,
  lookup: KeyLookup,
): { event: JsonObject; fields: OpenedField[]; salts: Map<string, Uint8Array> } {
  let event = parts.event;
  const fields: OpenedField[] = [];
  const salts = new Map<string, Uint8Array>();
  for (const r of parts.sealed) {
    const key = lookup(r.subject);
    let state: FieldState;
    if (key === 'unavailable') state = 'sealed';
    else if (key === undefined || key.keyId !== r.key) state = 'erased';
    else {
      const opened = openValue(r, key, origin);
      state = opened.state;
      if (opened.state === 'open') {
        event = withValueAt(event, r.field, opened.value);
        salts.set(r.field, opened.salt);
      }
    }
    fields.push({ field: r.field, state, subject: r.subject, commitment: r.commitment });
  }
  return { event, fields, salts };
}
