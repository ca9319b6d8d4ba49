/**
 * The accept-only fast path of event validation. zod's compiled validator costs ~6 µs per 1 KB event, mostly in generic
 * machinery; the checks below are the same rules written out by hand. They only ever *accept*:
 * anything they cannot vouch for (an unknown or `undefined` member, a non-plain object, a failed
 * rule, a size bound too close to the limit) returns undefined and the caller runs zod, which
 * decides and words the issues. So errors are zod's, and an accepted event is what zod returns:
 * fresh objects for the schema's objects and array, `detail` by reference (as `z.custom` does).
 * test/core/event-fast-path.test.ts checks this differentially against zod.
 *
 * Kept because it pays end to end (issue 14, item 5): `auditlock ingest` of 50,000 ~1 KB events,
 * whole processes, 5 interleaved pairs on 2 loaded cores, with and without it: CPU 0.85x
 * (0.81-1.01) with it, about 8 µs less per event; wall too noisy to call (1.02x, 0.66-1.28).
 *
 * zod-free, so a thread that parses events loads the schema only once an event needs it
 * (src/app/event-parse-pool.ts): {@link acceptOnlyEvent} is the validator of such a thread.
 */
import type { AuditEvent } from './event.js';
import { checkDetail, sizeBound } from './event-size.js';
import { CLEAN_PROSE, CLEAN_TEXT, isIpv4, isIpv6, isRfc3339, VISIBLE_ASCII } from './event-text.js';
import {
  MAX_DETAIL_BYTES,
  MAX_EVENT_BYTES,
  MAX_ID_LENGTH,
  MAX_LONG_TEXT,
  MAX_RESOURCES,
  MAX_SHORT_TEXT,
  MAX_TEXT,
} from './limits.js';

/**
 * Validates one decoded event (`parseEvent` of event.ts, or {@link acceptOnlyEvent}).
 * @param location where the input came from, for messages, e.g. `line 12`
 * @throws InputError `EVENT_INVALID` for an invalid event
 */
export type EventValidator = (value: unknown, location: string) => AuditEvent;

/**
 * Thrown by {@link acceptOnlyEvent} for a value the fast path cannot vouch for: not a verdict on
 * the input, so not an InputError (parseEventBatch passes it on instead of rejecting the line);
 * the caller runs the full schema on the same input.
 */
export class SchemaNeededError extends Error {
  constructor(location: string) {
    super(`${location}: only the full event schema can decide this value`);
    this.name = 'SchemaNeededError';
  }
}

/**
 * The event {@link acceptEvent} accepts, as parseEvent would return it.
 * @throws SchemaNeededError when the fast path does not accept `value` (valid or not)
 */
export const acceptOnlyEvent: EventValidator = (value, location) => {
  const event = acceptEvent(value);
  if (event === undefined) throw new SchemaNeededError(location);
  return event;
};

type Plain = Record<string, unknown>;

/** A plain object (what JSON.parse makes), or undefined. */
function plain(value: unknown): Plain | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.getPrototypeOf(value) === Object.prototype ? (value as Plain) : undefined;
}

function isText(value: unknown, max: number, pattern = CLEAN_TEXT): value is string {
  return (
    typeof value === 'string' && value.length >= 1 && value.length <= max && pattern.test(value)
  );
}

function isToken(value: unknown): value is string {
  return isText(value, MAX_ID_LENGTH, VISIBLE_ASCII);
}

const ACTOR_TYPES = new Set(['user', 'role', 'service', 'system', 'anonymous']);
const OUTCOMES = new Set(['success', 'failure', 'unknown']);

/**
 * The event zod would return for `input`, when the hand-written checks can vouch for it;
 * undefined when zod must decide. Never accepts what zod refuses.
 */
export function acceptEvent(input: unknown): AuditEvent | undefined {
  const o = plain(input);
  if (o === undefined) return undefined;
  const out: Plain = {};
  let required = 0;
  for (const key in o) {
    const v = o[key];
    switch (key) {
      case 'id':
      case 'correlationId':
        if (!isToken(v)) return undefined;
        out[key] = v;
        break;
      case 'time':
        if (typeof v !== 'string' || !isRfc3339(v)) return undefined;
        out.time = v;
        required++;
        break;
      case 'action':
        if (!isText(v, MAX_TEXT)) return undefined;
        out.action = v;
        required++;
        break;
      case 'category':
        if (!isText(v, MAX_SHORT_TEXT)) return undefined;
        out.category = v;
        break;
      case 'actor': {
        const actor = acceptActor(v);
        if (actor === undefined) return undefined;
        out.actor = actor;
        required++;
        break;
      }
      case 'resources': {
        if (!Array.isArray(v) || v.length > MAX_RESOURCES) return undefined;
        const list: Plain[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const r = acceptResource(v[i]);
          if (r === undefined) return undefined;
          list[i] = r;
        }
        out.resources = list;
        break;
      }
      case 'outcome':
        if (typeof v !== 'string' || !OUTCOMES.has(v)) return undefined;
        out.outcome = v;
        required++;
        break;
      case 'reason': {
        const reason = acceptReason(v);
        if (reason === undefined) return undefined;
        out.reason = reason;
        break;
      }
      case 'source': {
        const source = acceptSource(v);
        if (source === undefined) return undefined;
        out.source = source;
        break;
      }
      case 'detail':
        if (plain(v) === undefined || checkDetail(v).length > 0) return undefined;
        out.detail = v;
        break;
      default:
        return undefined;
    }
  }
  if (required !== 4) return undefined;
  // The whole-event limit, as the schema's refinement bounds it; near the limit, zod decides.
  if (MAX_DETAIL_BYTES + sizeBound(out, 'detail') > MAX_EVENT_BYTES) return undefined;
  return out as AuditEvent;
}

type Check = (value: unknown) => boolean;
const textCheck =
  (max: number, pattern = CLEAN_TEXT): Check =>
  (v) =>
    isText(v, max, pattern);

/**
 * A copy of `value` when it is a plain object whose every member has a check that passes and
 * whose `required` members are present; else undefined (zod decides).
 */
function acceptFlat(
  value: unknown,
  fields: ReadonlyMap<string, Check>,
  required: readonly string[] = [],
): Plain | undefined {
  const o = plain(value);
  if (o === undefined) return undefined;
  const out: Plain = {};
  for (const key in o) {
    const v = o[key];
    const check = fields.get(key);
    if (check === undefined || !check(v)) return undefined;
    out[key] = v;
  }
  for (const key of required) if (out[key] === undefined) return undefined;
  return out;
}

const ACTOR_FIELDS = new Map<string, Check>([
  ['id', textCheck(MAX_TEXT)],
  ['name', textCheck(MAX_TEXT)],
  ['account', textCheck(MAX_TEXT)],
  ['sessionId', textCheck(MAX_TEXT)],
  ['type', (v) => typeof v === 'string' && ACTOR_TYPES.has(v)],
]);
const RESOURCE_FIELDS = new Map<string, Check>([
  ['type', textCheck(MAX_TEXT)],
  ['id', textCheck(MAX_LONG_TEXT)],
  ['name', textCheck(MAX_LONG_TEXT)],
  ['account', textCheck(MAX_TEXT)],
  ['region', textCheck(MAX_SHORT_TEXT)],
]);
const REASON_FIELDS = new Map<string, Check>([
  ['code', textCheck(MAX_TEXT)],
  ['message', textCheck(MAX_LONG_TEXT, CLEAN_PROSE)],
]);
const SOURCE_FIELDS = new Map<string, Check>([
  ['ip', (v) => typeof v === 'string' && (isIpv4(v) || isIpv6(v))],
  ['userAgent', textCheck(MAX_LONG_TEXT)],
  ['host', textCheck(MAX_TEXT)],
  ['service', textCheck(MAX_TEXT)],
  ['region', textCheck(MAX_SHORT_TEXT)],
]);

function acceptActor(value: unknown): Plain | undefined {
  return acceptFlat(value, ACTOR_FIELDS, ['id']);
}

function acceptResource(value: unknown): Plain | undefined {
  return acceptFlat(value, RESOURCE_FIELDS, ['type', 'id']);
}

function acceptReason(value: unknown): Plain | undefined {
  const out = acceptFlat(value, REASON_FIELDS);
  // The schema's refinement: at least one of code, message.
  return out && (out.code !== undefined || out.message !== undefined) ? out : undefined;
}

function acceptSource(value: unknown): Plain | undefined {
  return acceptFlat(value, SOURCE_FIELDS);
}
