/**
 * Building the mappers' output: items from a text payload or an array of events, rejected items
 * and records, delivery ids, and the guard that keeps a mapper from ever throwing. Nothing is
 * dropped: input that fails becomes a rejected item keeping its bytes and a coded InputError.
 */
import { utf8 } from '../core/encoding.js';
import type { Delivery } from '../core/entry.js';
import { AuditlockError, InputError, type InputIssue } from '../core/errors.js';
import {
  type AuditEvent,
  describeValue,
  MAX_EVENT_LINE_LENGTH,
  parseEvent,
  summarise,
} from '../core/event.js';
import { inputError, parseJson } from './decode.js';
import type { SourceItem, SourceRecord } from './types.js';

/** Where an item came from: the transport, its record id, and a location for messages. */
export type Origin = {
  /** `delivery.source`: `sqs`, `kinesis`, `eventbridge`, `cloudwatch-logs`, `api`. */
  readonly source: string;
  /** The transport's record id, or undefined if the record has none usable. */
  readonly id: string | undefined;
  /** For error messages, e.g. `sqs message 059f36b4…`. */
  readonly location: string;
};

// Mirrors `deliverySchema` in core/entry.ts: an id that fails it would make the entry unstorable.
// biome-ignore lint/suspicious/noControlCharactersInRegex: delivery ids refuse control characters
const DELIVERY_ID = /^[^\u0000-\u001f\u007f\uD800-\uDFFF]{1,512}$/u;
const JSON_SPACE = /^[ \t\n\r]*/;

/** True if `id` can be stored as `delivery.id` (1–512 characters, no control characters). */
export function isDeliveryId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= 512 && DELIVERY_ID.test(id);
}

/** `{ source, id }`, leaving out an id that could not be stored. */
export function deliveryOf(source: string, id: string | undefined): Delivery {
  return isDeliveryId(id) ? { source, id } : { source };
}

/** A rejected item keeping `raw`, the input as far as it could be decoded. */
export function rejectItem(raw: Uint8Array, error: InputError, origin: Origin): SourceItem {
  return { ok: false, raw, error, delivery: deliveryOf(origin.source, origin.id) };
}

/**
 * The bytes to keep for a value that failed validation: its JSON text. Values come from
 * `JSON.parse` (the Lambda runtime's or ours), so this cannot fail for real input; anything else
 * (a caller passing a cyclic object) is kept as its type name rather than thrown.
 */
export function rawOf(value: unknown): Uint8Array {
  try {
    return utf8(JSON.stringify(value) ?? String(value));
  } catch {
    return utf8(Object.prototype.toString.call(value));
  }
}

/** A plain object's members, or undefined for anything else (null, arrays, primitives). */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `value` if it is a string, else undefined. */
export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The items of one text payload (an SQS body, a Kinesis record, a log message): one audit event
 * JSON object, or, with `arrays`, a non-empty JSON array of them, each element one item whose
 * delivery id is `<id>#<index>`. Never throws: what fails becomes a rejected item.
 *
 * A single event longer than `MAX_EVENT_LINE_LENGTH` is refused before parsing, as JSON Lines
 * input is (`EVENT_TOO_LARGE`). An array is bounded by its transport (an SQS message is at most
 * 1 MiB); each element is then held to the event schema's own size limit.
 * @param raw the payload's bytes, if already at hand (the decoded Kinesis data); else UTF-8 of `text`
 */
export function itemsFromText(
  text: string,
  origin: Origin,
  options: { arrays: boolean; raw?: Uint8Array },
): SourceItem[] {
  const raw = () => options.raw ?? utf8(text);
  // JSON whitespace (RFC 8259 §2) may precede the array.
  const isArray = options.arrays && text[JSON_SPACE.exec(text)?.[0].length ?? 0] === '[';
  try {
    if (!isArray && text.length > MAX_EVENT_LINE_LENGTH) {
      const what = `expected at most ${MAX_EVENT_LINE_LENGTH} characters, got ${text.length}`;
      throw inputError('EVENT_TOO_LARGE', origin.location, what);
    }
    const value = parseJson(text, origin.location);
    if (options.arrays && Array.isArray(value)) return itemsFromArray(value, origin, '');
    return [acceptItem(parseEvent(value, origin.location), origin)];
  } catch (e) {
    return [rejectItem(raw(), asInputError(e, origin.location), origin)];
  }
}

/**
 * One item per element of `values`, each validated as an audit event; an empty array is one
 * rejected item. Delivery ids are `<id>#<index>`, or `idFor(event, index)` when given.
 * @param path the array's dotted path in the payload, for issues (`''` or `events`)
 */
export function itemsFromArray(
  values: readonly unknown[],
  origin: Origin,
  path: string,
  idFor: (event: { id?: string | undefined }, index: number) => string | undefined = (_, i) =>
    origin.id === undefined ? undefined : `${origin.id}#${i}`,
): SourceItem[] {
  if (values.length === 0) {
    const what = 'expected an audit event or a non-empty array of them, got an empty array';
    const error = inputError('EVENT_INVALID', origin.location, what, [{ path, message: what }]);
    return [rejectItem(rawOf(values), error, origin)];
  }
  return values.map((value, i) => {
    const location = `${origin.location} item ${i}`;
    try {
      const event = parseEvent(value, location);
      return acceptItem(event, { ...origin, id: idFor(event, i), location });
    } catch (e) {
      const at = { ...origin, id: idFor({}, i), location };
      return rejectItem(rawOf(value), asInputError(e, location), at);
    }
  });
}

function acceptItem(event: AuditEvent, origin: Origin): SourceItem {
  return { ok: true, event, delivery: deliveryOf(origin.source, origin.id) };
}

/**
 * `e` as an InputError. Anything else thrown while reading a record is a bug or an input shape
 * nobody foresaw; it becomes `RECORD_UNREADABLE` (cause kept) so one record cannot stop a batch.
 */
export function asInputError(e: unknown, location: string): InputError {
  if (e instanceof InputError) return e;
  const code = e instanceof AuditlockError ? e.code : 'RECORD_UNREADABLE';
  const detail = e instanceof Error ? e.message : String(e);
  return inputError(code, location, `could not read the record: ${detail}`, undefined, e);
}

/**
 * Runs `read` for one record; if it throws anyway, `onError` turns the error into a record with
 * one rejected item (the mappers' last line of defence: they never throw for bad input).
 */
export function guard<T>(read: () => T, onError: (error: InputError) => T, location: string): T {
  try {
    return read();
  } catch (e) {
    return onError(asInputError(e, location));
  }
}

/**
 * Maps `event.Records` one by one. An event without a `Records` array becomes one record holding
 * one rejected item (`PAYLOAD_INVALID`); a record whose mapping throws anyway becomes a record
 * holding one rejected item with the record's JSON.
 */
export function mapRecords(
  event: unknown,
  source: string,
  mapOne: (record: unknown, index: number) => SourceRecord,
): SourceRecord[] {
  const records = asObject(event)?.Records;
  if (!Array.isArray(records)) {
    const what = `expected Records to be an array, got ${describeValue(records)}`;
    const location = `${source} event`;
    const error = inputError('PAYLOAD_INVALID', location, what, [
      { path: 'Records', message: what },
    ]);
    return [rejectedRecord(event, error, { source, id: undefined, location })];
  }
  return records.map((record, i) => {
    const location = `${source} record ${i}`;
    return guard(
      () => mapOne(record, i),
      (error) => rejectedRecord(record, error, { source, id: undefined, location }),
      location,
    );
  });
}

/** A record holding one rejected item: `value` as JSON, with `error`. */
export function rejectedRecord(value: unknown, error: InputError, origin: Origin): SourceRecord {
  return {
    itemIdentifier: undefined,
    lane: undefined,
    maybeRedelivered: false,
    items: [rejectItem(rawOf(value), error, origin)],
  };
}

/** `RECORD_INVALID`: the transport's own fields are missing or malformed. */
export function recordInvalid(location: string, issues: readonly InputIssue[]): InputError {
  return new InputError('RECORD_INVALID', summarise('invalid record', issues, location), {
    location,
    issues,
  });
}

/** An issue saying what `path` should have held and what it held. */
export function expected(path: string, what: string, got: unknown): InputIssue {
  return {
    path,
    message: `expected ${what}, got ${got === undefined ? 'nothing (field missing)' : describeValue(got)}`,
  };
}
