/**
 * The audit event a producer sends: who did what, when, to which resource, with what outcome,
 * from where. Field names follow what CloudTrail and OCSF users expect:
 *
 *     { id?, time, action, category?,
 *       actor: { id, type?, name?, account?, sessionId? },
 *       resources?: [{ type, id, name?, account?, region? }],
 *       outcome, reason?: { code?, message? },
 *       source?: { ip?, userAgent?, host?, region?, service? },
 *       correlationId?, detail? }
 *
 * - `time`: RFC 3339 with a time zone, kept exactly as the producer wrote it.
 * - `outcome`: `success` | `failure` | `unknown`. `actor.type`: `user` | `role` | `service` |
 *   `system` | `anonymous`. `reason` needs `code` or `message` or both.
 * - `id`, `correlationId`: 1–128 visible ASCII characters. `source.ip`: IPv4 or IPv6 text.
 * - `detail`: any JSON object, at most 64 KiB canonical and 32 levels deep.
 * - The whole event is at most 256 KiB canonical (RFC 8785, UTF-8).
 *
 * Objects are strict: an unknown field is an error, never silently dropped. Text limits count
 * UTF-16 code units (JavaScript `length`). Text refuses C0 control characters, DEL and unpaired
 * surrogates (`reason.message` allows TAB, LF, CR), so what is stored is what a reader sees.
 */
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { canonicalize, type JsonObject } from './canonical-json.js';
import { describeValue, summarise } from './describe-value.js';
import { InputError, type InputIssue } from './errors.js';
import { acceptEvent } from './event-accept.js';
import { readEventLine } from './event-line.js';
import { checkDetail, sizeBound, utf8Length } from './event-size.js';
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

// The zod-free parts of the event rules, exported from here as they always were.
export { describeValue, summarise } from './describe-value.js';
export {
  acceptEvent,
  acceptOnlyEvent,
  type EventValidator,
  SchemaNeededError,
} from './event-accept.js';
export { daysInMonth, isIpv4, isIpv6, isRfc3339 } from './event-text.js';
export {
  MAX_DETAIL_BYTES,
  MAX_DETAIL_DEPTH,
  MAX_EVENT_BYTES,
  MAX_EVENT_LINE_LENGTH,
  MAX_ID_LENGTH,
  MAX_LONG_TEXT,
  MAX_RESOURCES,
  MAX_SHORT_TEXT,
  MAX_TEXT,
} from './limits.js';

const text = (max: number, pattern = CLEAN_TEXT) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(pattern, { error: (iss) => badCharacter(iss.input, pattern) });

const token = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(VISIBLE_ASCII, {
      error: (iss) => badCharacter(iss.input, VISIBLE_ASCII, 'visible ASCII (U+0021 to U+007E)'),
    });

const timestamp = z.string().refine(isRfc3339, {
  error: (iss) =>
    `expected an RFC 3339 timestamp with a time zone, e.g. 2026-11-26T08:16:35.123Z or 2026-11-26T09:16:35+01:00, got ${describeValue(iss.input)}`,
});

const ipAddress = z.string().refine((s) => isIpv4(s) || isIpv6(s), {
  error: (iss) => `expected an IPv4 or IPv6 address, got ${describeValue(iss.input)}`,
});

const detail = z.custom<JsonObject>().superRefine((value, ctx) => {
  for (const issue of checkDetail(value)) {
    // One path element holding the dotted sub-path: joined with '.' later, it reads the same.
    const path = issue.path === '' ? [] : [issue.path];
    ctx.addIssue({ code: 'custom', path, message: issue.message, input: value });
  }
});

const actorSchema = z.strictObject({
  id: text(MAX_TEXT),
  type: z.enum(['user', 'role', 'service', 'system', 'anonymous']).optional(),
  name: text(MAX_TEXT).optional(),
  /** Account or tenant the actor belongs to. */
  account: text(MAX_TEXT).optional(),
  sessionId: text(MAX_TEXT).optional(),
});

const resourceSchema = z.strictObject({
  type: text(MAX_TEXT),
  id: text(MAX_LONG_TEXT),
  name: text(MAX_LONG_TEXT).optional(),
  account: text(MAX_TEXT).optional(),
  region: text(MAX_SHORT_TEXT).optional(),
});

const sourceSchema = z.strictObject({
  ip: ipAddress.optional(),
  userAgent: text(MAX_LONG_TEXT).optional(),
  host: text(MAX_TEXT).optional(),
  region: text(MAX_SHORT_TEXT).optional(),
  service: text(MAX_TEXT).optional(),
});

const reasonSchema = z
  .strictObject({
    code: text(MAX_TEXT).optional(),
    message: text(MAX_LONG_TEXT, CLEAN_PROSE).optional(),
  })
  .refine((r) => r.code !== undefined || r.message !== undefined, {
    error: 'expected at least one of code, message; got neither',
  });

const eventShape = z
  .strictObject({
    id: token(MAX_ID_LENGTH).optional(),
    time: timestamp,
    action: text(MAX_TEXT),
    category: text(MAX_SHORT_TEXT).optional(),
    actor: actorSchema,
    resources: z.array(resourceSchema).max(MAX_RESOURCES).optional(),
    outcome: z.enum(['success', 'failure', 'unknown']),
    reason: reasonSchema.optional(),
    source: sourceSchema.optional(),
    correlationId: token(MAX_ID_LENGTH).optional(),
    detail: detail.optional(),
  })
  .superRefine((event, ctx) => {
    // Encoding the whole event only to measure it would double the cost of ingest; a cheap bound
    // settles almost every event, and the exact size is computed only when the bound is too big.
    if (MAX_DETAIL_BYTES + sizeBound(event, 'detail') <= MAX_EVENT_BYTES) return;
    let size: number;
    try {
      size = utf8Length(canonicalize(event));
    } catch {
      return; // `detail` is not JSON: its own check reports that
    }
    if (size > MAX_EVENT_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        input: event,
        message: `expected at most ${MAX_EVENT_BYTES} bytes canonically encoded, got ${size}`,
      });
    }
  });

/**
 * zod schema of one audit event. Prefer {@link parseEvent}, which also reports coded errors.
 * Compiled ahead of time (`z.compile`): valid input takes generated code, measured 2.5–4x faster
 * on a 1 KB event; invalid input falls back to the ordinary parser, so issues are the same.
 */
export const auditEventSchema = z.compile(eventShape, { strict: true });

export type AuditEvent = z.output<typeof auditEventSchema>;
export type Actor = AuditEvent['actor'];
export type Resource = NonNullable<AuditEvent['resources']>[number];

const ALLOWED_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(auditEventSchema.shape),
  actor: Object.keys(actorSchema.shape),
  'resources.*': Object.keys(resourceSchema.shape),
  source: Object.keys(sourceSchema.shape),
  reason: ['code', 'message'],
};

/** Options of {@link parseEvent}. */
export type ParseEventOptions = {
  /**
   * Try the accept-only fast path (event-accept.ts) before zod (default true). The outcome is the
   * same either way (test/core/event-fast-path.test.ts); off is for tests and benchmarks.
   */
  readonly fastPath?: boolean;
};

/**
 * Validates one audit event.
 * @param location where the input came from, for the message, e.g. `line 12` or `record 7f3a`
 * @throws InputError `EVENT_INVALID` with every issue, each with a dotted `path` such as `actor.id`
 */
export function parseEvent(
  input: unknown,
  location?: string,
  options?: ParseEventOptions,
): AuditEvent {
  if (options?.fastPath !== false) {
    const event = acceptEvent(input);
    if (event !== undefined) return event;
  }
  const result = auditEventSchema.safeParse(input, { error: messageFor });
  if (result.success) return result.data;
  const issues = issuesFromZod(result.error.issues, ALLOWED_KEYS);
  throw new InputError('EVENT_INVALID', summarise('invalid audit event', issues, location), {
    location,
    issues,
  });
}

/**
 * Parses and validates one line of JSON Lines input. The length limit applies before parsing; the
 * JSON is read strictly (src/core/strict-json.ts: no duplicate member names, exact numbers).
 * @param lineNumber 1-based, used in the location `line N`
 * @throws InputError `EVENT_TOO_LARGE`, `JSON_INVALID`, `JSON_DUPLICATE_MEMBER`,
 *   `JSON_NUMBER_INEXACT` or `EVENT_INVALID`
 */
export function parseEventLine(line: string, lineNumber: number): AuditEvent {
  return readEventLine(line, lineNumber, parseEvent);
}

/**
 * Converts zod issues to dotted-path {@link InputIssue}s, one per unknown key.
 * @param allowedKeys per object path (`*` for array indices), to name the allowed keys
 */
export function issuesFromZod(
  zodIssues: readonly z.core.$ZodIssue[],
  allowedKeys: Record<string, readonly string[]> = {},
): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of zodIssues) {
    const path = issue.path.map(String);
    if (issue.code !== 'unrecognized_keys') {
      out.push({ path: path.join('.'), message: issue.message });
      continue;
    }
    const allowed = allowedKeys[path.map((p) => (/^\d+$/.test(p) ? '*' : p)).join('.')];
    const hint = allowed ? `; expected one of ${allowed.join(', ')}` : '';
    for (const key of issue.keys) {
      out.push({
        path: [...path, key].join('.'),
        message: `unknown field ${describeKey(key)}${hint}`,
      });
    }
  }
  return out;
}

/** Per-parse zod error map: says what was expected and what was got. */
export function messageFor(iss: z.core.$ZodRawIssue): string | undefined {
  const got = iss.input;
  switch (iss.code) {
    case 'invalid_type':
      return `expected ${iss.expected}, got ${got === undefined ? 'nothing (field missing)' : describeValue(got)}`;
    case 'too_big':
      return `expected at most ${iss.maximum} ${unit(iss.origin, iss.maximum)}, got ${sizeOf(got)}`;
    case 'too_small':
      return `expected at least ${iss.minimum} ${unit(iss.origin, iss.minimum)}, got ${sizeOf(got)}`;
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(got)}`;
    case 'invalid_format':
      return `expected text matching ${iss.pattern ?? iss.format}, got ${describeValue(got)}`;
    default:
      return undefined;
  }
}

function unit(origin: string, n: number | bigint): string {
  const noun = origin === 'string' ? 'character' : origin === 'array' ? 'item' : origin;
  return n === 1 ? noun : `${noun}s`;
}

function sizeOf(value: unknown): number | string {
  return typeof value === 'string' || Array.isArray(value) ? value.length : describeValue(value);
}

function describeKey(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

function badCharacter(
  input: unknown,
  pattern: RegExp,
  expected = 'text without control characters or unpaired surrogates',
): string {
  const s = String(input);
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    if (!pattern.test(ch)) {
      return `expected ${expected}, got U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${i}`;
    }
    if (cp > 0xffff) i++;
  }
  return `expected ${expected}`;
}
