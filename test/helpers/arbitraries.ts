/**
 * fast-check arbitraries for audit events and log entries, shared by every suite that needs
 * realistic valid input. Every value they produce passes `parseEvent` / `decodeEntry` unchanged
 * (test/core/entry.test.ts proves it).
 */
import fc from 'fast-check';
import type { JsonObject } from '../../src/core/canonical-json.js';
import {
  type Delivery,
  type Entry,
  type EventEntry,
  makeEventEntry,
  makeQuarantineEntry,
  type QuarantineEntry,
} from '../../src/core/entry.js';
import { InputError } from '../../src/core/errors.js';
import {
  type AuditEvent,
  MAX_ID_LENGTH,
  MAX_LONG_TEXT,
  MAX_SHORT_TEXT,
  MAX_TEXT,
} from '../../src/core/event.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: replaced to keep generated text valid
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** Text the event schema accepts: any code point but C0 controls and DEL; 1..max units. */
export function cleanText(max: number): fc.Arbitrary<string> {
  return fc
    .string({
      unit: fc.oneof(
        fc.constantFrom('a', 'Z', '9', ' ', '"', '\\', 'é', 'Ω', '山', '😀'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      minLength: 1,
      maxLength: Math.min(max, 40),
    })
    .map((s) => s.replace(CONTROL, '·'))
    .filter((s) => s.length >= 1 && s.length <= max);
}

/** Visible ASCII, as `id` and `correlationId` require. */
export function token(max = MAX_ID_LENGTH): fc.Arbitrary<string> {
  const visible = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
  return fc.string({ unit: visible, minLength: 1, maxLength: Math.min(max, 40) });
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** RFC 3339 date-times with and without fractions, with `Z` or a numeric offset. */
export function rfc3339(): fc.Arbitrary<string> {
  return fc
    .record({
      date: fc.date({
        min: new Date('0001-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      }),
      fraction: fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
      zone: fc.oneof(
        fc.constant('Z'),
        fc
          .tuple(
            fc.constantFrom('+', '-'),
            fc.integer({ min: 0, max: 23 }),
            fc.integer({ min: 0, max: 59 }),
          )
          .map(([s, h, m]) => `${s}${pad(h)}:${pad(m)}`),
      ),
    })
    .map(({ date, fraction, zone }) => {
      const iso = date.toISOString().slice(0, 19);
      return `${iso}${fraction === undefined ? '' : `.${fraction}`}${zone}`;
    });
}

/**
 * A JSON object as `JSON.parse` would make it (so no -0), small enough for `detail`, and within
 * I-JSON (RFC 7493): integers written without an exponent stay within ±(2^53 − 1), as ingest
 * requires (src/core/strict-json.ts).
 */
export function detail(): fc.Arbitrary<JsonObject> {
  return fc
    .dictionary(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }).filter(withinIJson),
      { maxKeys: 6 },
    )
    .map((o) => JSON.parse(JSON.stringify(o)) as JsonObject);
}

/** Whether every number in `v` is one ingest keeps exactly. */
function withinIJson(v: unknown): boolean {
  if (typeof v === 'number')
    return !Number.isInteger(v) || Math.abs(v) <= Number.MAX_SAFE_INTEGER || Math.abs(v) >= 1e21;
  if (Array.isArray(v)) return v.every(withinIJson);
  if (v !== null && typeof v === 'object') return Object.values(v).every(withinIJson);
  return true;
}

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Drops `undefined` members, as an event parsed from JSON would have none. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A valid audit event, with every optional field sometimes present. */
export function auditEvent(): fc.Arbitrary<AuditEvent> {
  const actor = fc
    .record({
      id: cleanText(MAX_TEXT),
      type: opt(fc.constantFrom('user', 'role', 'service', 'system', 'anonymous' as const)),
      name: opt(cleanText(MAX_TEXT)),
      account: opt(cleanText(MAX_TEXT)),
      sessionId: opt(cleanText(MAX_TEXT)),
    })
    .map(compact);
  const resource = fc
    .record({
      type: cleanText(MAX_TEXT),
      id: cleanText(MAX_LONG_TEXT),
      name: opt(cleanText(MAX_LONG_TEXT)),
      account: opt(cleanText(MAX_TEXT)),
      region: opt(cleanText(MAX_SHORT_TEXT)),
    })
    .map(compact);
  const source = fc
    .record({
      ip: opt(fc.oneof(fc.ipV4(), fc.ipV6())),
      userAgent: opt(cleanText(MAX_LONG_TEXT)),
      host: opt(cleanText(MAX_TEXT)),
      region: opt(cleanText(MAX_SHORT_TEXT)),
      service: opt(cleanText(MAX_TEXT)),
    })
    .map(compact);
  const reason = fc
    .record({
      code: opt(cleanText(MAX_TEXT)),
      message: opt(cleanText(MAX_LONG_TEXT).map((s) => `${s}\n\tdetails`)),
    })
    .map(compact)
    .filter((r) => r.code !== undefined || r.message !== undefined);
  return fc
    .record({
      id: opt(token()),
      time: rfc3339(),
      action: cleanText(MAX_TEXT),
      category: opt(cleanText(MAX_SHORT_TEXT)),
      actor,
      resources: opt(fc.array(resource, { maxLength: 4 })),
      outcome: fc.constantFrom('success', 'failure', 'unknown' as const),
      reason: opt(reason),
      source: opt(source),
      correlationId: opt(token()),
      detail: opt(detail()),
    })
    .map((e) => compact(e) as AuditEvent);
}

/** Milliseconds the archiver may stamp: 1970 to 9999. */
export function receivedAtMs(): fc.Arbitrary<number> {
  return fc.integer({ min: 0, max: 253_402_300_799_999 });
}

export function delivery(): fc.Arbitrary<Delivery> {
  return fc
    .record({
      source: fc.constantFrom('sqs', 'kinesis', 'eventbridge', 'cloudwatch-logs', 'cli', 'api'),
      id: opt(cleanText(512)),
    })
    .map(compact);
}

export function eventEntry(): fc.Arbitrary<EventEntry> {
  return fc
    .tuple(auditEvent(), receivedAtMs(), opt(delivery()))
    .map(([event, ms, d]) => makeEventEntry(event, ms, d));
}

/** Quarantine entries for arbitrary bytes (sometimes past the 64 KiB cap) and coded errors. */
export function quarantineEntry(): fc.Arbitrary<QuarantineEntry> {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 100 }).map((s) => new TextEncoder().encode(s)),
    fc.integer({ min: 65_530, max: 70_000 }).map((n) => new Uint8Array(n).fill(0x61)),
  );
  const issue = fc.record({
    path: fc.string({ maxLength: 300 }),
    message: fc.string({ maxLength: 600 }),
  });
  const error = fc
    .record({
      code: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,20}$/),
      message: fc.string({ maxLength: 100 }),
      issues: fc.array(issue, { maxLength: 25 }),
    })
    .map(({ code, message, issues }) => new InputError(code, message, { issues }));
  return fc
    .tuple(bytes, error, receivedAtMs(), opt(delivery()))
    .map(([raw, err, ms, d]) => makeQuarantineEntry(raw, err, ms, d));
}

export function entry(): fc.Arbitrary<Entry> {
  return fc.oneof(
    { arbitrary: eventEntry(), weight: 3 },
    { arbitrary: quarantineEntry(), weight: 1 },
  );
}
