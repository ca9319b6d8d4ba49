/**
 * Direct invocation → source records: a caller (a test, a script, another function via `Invoke`)
 * sends `{ "events": [...] }` or a bare JSON array of audit events.
 */
import type { InputIssue } from '../core/errors.js';
import { summarise } from '../core/event.js';
import { inputError } from './decode.js';
import { asObject, expected, guard, itemsFromArray, type Origin, rejectedRecord } from './items.js';
import type { SourceRecord } from './types.js';

/** What a direct invocation carries. Elements are validated, so any values may be passed. */
export type DirectEvent = { readonly events: readonly unknown[] } | readonly unknown[];

/**
 * One record holding one item per event, in order (`itemIdentifier` undefined: a synchronous
 * caller sees the error, an asynchronous invocation is retried whole). Delivery:
 * `{ source: 'api', id }`, `id` being the event's own `id`, or its index in the array when it has
 * none (or is rejected).
 *
 * Never throws: an element that is not an audit event is a rejected item (`EVENT_INVALID`, the
 * element's JSON kept); an empty array, a payload that is neither an array nor `{ events: [...] }`,
 * or one with other members, is one rejected item (`EVENT_INVALID`, `PAYLOAD_INVALID`) keeping
 * that input.
 */
export function mapDirectInvocation(event: DirectEvent): SourceRecord[] {
  const origin: Origin = { source: 'api', id: undefined, location: 'direct invocation' };
  return [
    guard(
      () => readPayload(event, origin),
      (e) => rejectedRecord(event, e, origin),
      origin.location,
    ),
  ];
}

function readPayload(payload: unknown, origin: Origin): SourceRecord {
  const record = { itemIdentifier: undefined, lane: undefined, maybeRedelivered: false };
  const idFor = (event: { id?: string | undefined }, index: number) => event.id ?? String(index);
  if (Array.isArray(payload)) {
    return { ...record, items: itemsFromArray(payload, origin, '', idFor) };
  }
  const object = asObject(payload);
  if (object !== undefined && Array.isArray(object.events) && Object.keys(object).length === 1) {
    return { ...record, items: itemsFromArray(object.events, origin, 'events', idFor) };
  }
  const issues: InputIssue[] = [];
  if (object === undefined) {
    issues.push(expected('', 'an array of events or { events: [...] }', payload));
  } else {
    if (!Array.isArray(object.events)) {
      issues.push(expected('events', 'an array of events', object.events));
    }
    for (const key of Object.keys(object)) {
      if (key !== 'events') issues.push({ path: key, message: 'unknown field; expected events' });
    }
  }
  const error = payloadInvalid(origin.location, issues);
  return rejectedRecord(payload, error, origin);
}

function payloadInvalid(location: string, issues: readonly InputIssue[]) {
  const what = summarise('expected an array of events or { events: [...] }', issues);
  return inputError('PAYLOAD_INVALID', location, what, issues);
}
